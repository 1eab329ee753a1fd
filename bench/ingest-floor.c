/*
 * The floor of an ingest done with the agent's own system calls (bench/ingest.ts), to tell what
 * the calls cost from what the agent adds on top: walk a tree with getdents64 on each directory's
 * descriptor and, for every regular file, openat(O_NOFOLLOW) relative to its directory, fstat
 * (regular file, one link), pread the first 2880-byte block (a FITS header), fstat before the
 * change, fchown, fchmod, fstat after it (what a header seal records), as the agent does
 * (mapper-agent/ingest/native/guard-fs.c; strace -c of an ingest: 3 fstat, 1 openat, 1 pread, 1 fchown,
 * 1 fchmod per file); descriptors closed together with close_range every 256 files, as the agent
 * closes a batch. No header parsing, decision or journal: only the calls.
 * Usage: ingest-floor DIR UID GID MODE(octal)  -> prints files=N failures=N seconds=S
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "tree-walk.h"

#define BATCH 256

static long files, failures;
static uid_t uid;
static gid_t gid;
static mode_t mode;
static int lowest = -1, highest = -1, open_now;

static void close_batch(void) {
  if (open_now) syscall(SYS_close_range, (unsigned)lowest, (unsigned)highest, 0u);
  lowest = highest = -1;
  open_now = 0;
}

static void one_file(int dir, const char *name) {
  char block[2880];
  struct stat st;
  int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) { failures++; return; }
  if (lowest < 0 || fd < lowest) lowest = fd;
  if (fd > highest) highest = fd;
  open_now++;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1 &&
      pread(fd, block, sizeof block, 0) == (ssize_t)sizeof block && memcmp(block, "SIMPLE  =", 9) == 0 &&
      fstat(fd, &st) == 0 && fchown(fd, uid, gid) == 0 && fchmod(fd, mode) == 0 && fstat(fd, &st) == 0)
    files++;
  else
    failures++;
  if (open_now == BATCH) close_batch();
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: ingest-floor DIR UID GID MODE\n");
    return 2;
  }
  uid = (uid_t)atol(argv[2]);
  gid = (gid_t)atol(argv[3]);
  mode = (mode_t)strtol(argv[4], NULL, 8);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int top = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (top < 0) {
    perror(argv[1]);
    return 1;
  }
  walk_tree(top, one_file, close_batch); /* a directory's files are a batch of their own */
  close_batch();
  close(top);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("files=%ld failures=%ld seconds=%.6f\n", files, failures, (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
  return failures ? 1 : 0;
}
