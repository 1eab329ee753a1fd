/*
 * The floor of a lift done the way the agent must do it (bench/ingest.ts): walk a tree with
 * getdents64 on each directory's descriptor and, for every regular file, openat(O_NOFOLLOW) relative
 * to its directory, fstat the descriptor (regular file, one link), fchmod it adding o+r, close.
 * `chmod -R o+r` needs two system calls per file (fstatat, fchmodat on the name); a change made
 * through a verified descriptor needs four. No journal, no header, no decision: only those calls.
 * Usage: lift-ref DIR  -> prints files=N seconds=S
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "tree-walk.h"

static long files;

static void lift_one(int dir, const char *nm) {
  int fd = openat(dir, nm, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return;
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1) {
    fchmod(fd, (st.st_mode & 07777) | 0004);
    files++;
  }
  close(fd);
}

static void nothing(void) {}

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
  walk_tree(top, lift_one, nothing);
  close(top);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("files=%ld seconds=%.6f\n", files, (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
  return 0;
}
