/*
 * The floor of a lift done the way the agent must do it (bench/ingest.ts): walk a tree with
 * getdents64 on each directory's descriptor and, for every regular file, openat(O_NOFOLLOW) relative
 * to its directory, fstat the descriptor (regular file, one link), fchmod it adding o+r, close.
 * `chmod -R o+r` needs two system calls per file (fstatat, fchmodat on the name); a change made
 * through a verified descriptor needs four. No journal, no header, no decision: only those calls.
 * Usage: lift-ref DIR  -> prints files=N seconds=S
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct linux_dirent64 { unsigned long d_ino; long d_off; unsigned short d_reclen; unsigned char d_type; char d_name[]; };

static long files;

static void walk(int dir) {
  char buf[32768] __attribute__((aligned(8)));
  long n;
  while ((n = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0) {
    for (long off = 0; off < n;) {
      struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
      off += d->d_reclen;
      const char *nm = d->d_name;
      if (nm[0] == '.' && (nm[1] == 0 || (nm[1] == '.' && nm[2] == 0))) continue;
      if (d->d_type == DT_DIR) {
        int sub = openat(dir, nm, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        if (sub >= 0) {
          walk(sub);
          close(sub);
        }
      } else if (d->d_type == DT_REG) {
        int fd = openat(dir, nm, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
        if (fd < 0) continue;
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1) {
          fchmod(fd, (st.st_mode & 07777) | 0004);
          files++;
        }
        close(fd);
      }
    }
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: lift-ref DIR\n");
    return 2;
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int top = open(argv[1], O_RDONLY | O_DIRECTORY);
  if (top < 0) {
    perror(argv[1]);
    return 1;
  }
  walk(top);
  close(top);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("files=%ld seconds=%.6f\n", files, (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
  return 0;
}
