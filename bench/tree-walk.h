/*
 * The walk of bench/lift-ref.c and bench/ingest-floor.c, as the agent walks: getdents64 on each
 * directory's descriptor, subdirectories opened O_NOFOLLOW relative to it, "." and ".." skipped.
 * Calls on_file(dir, name) for each regular file and on_directory_end() when a directory's own
 * files are done and before a subdirectory's begin.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

struct linux_dirent64 { unsigned long d_ino; long d_off; unsigned short d_reclen; unsigned char d_type; char d_name[]; };

static void walk_tree(int dir, void (*on_file)(int dir, const char *name), void (*on_directory_end)(void)) {
  char buf[32768] __attribute__((aligned(8)));
  long n;
  while ((n = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0) {
    for (long off = 0; off < n;) {
      struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
      off += d->d_reclen;
      const char *nm = d->d_name;
      if (nm[0] == '.' && (nm[1] == 0 || (nm[1] == '.' && nm[2] == 0))) continue;
      if (d->d_type == DT_DIR) {
        on_directory_end();
        int sub = openat(dir, nm, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub >= 0) {
          walk_tree(sub, on_file, on_directory_end);
          on_directory_end();
          close(sub);
        }
      } else if (d->d_type == DT_REG) {
        on_file(dir, nm);
      }
    }
  }
}
