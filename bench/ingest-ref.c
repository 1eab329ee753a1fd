/*
 * Reference for the ingest benchmark: the per-file work the agent does, in plain C.
 * Reads NUL-separated paths from a file; for each: open(O_RDONLY|O_NOFOLLOW|O_NONBLOCK), fstat,
 * read one 2880-byte FITS block, fchown, fchmod, close. Prints "files=N seconds=S".
 * Usage: ingest-ref LISTFILE UID GID MODE(octal)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 5) { fprintf(stderr, "usage: %s LISTFILE UID GID MODE\n", argv[0]); return 2; }
  uid_t uid = (uid_t)atol(argv[2]);
  gid_t gid = (gid_t)atol(argv[3]);
  mode_t mode = (mode_t)strtol(argv[4], NULL, 8);
  FILE *list = fopen(argv[1], "r");
  if (!list) { perror(argv[1]); return 1; }
  char *line = NULL; size_t cap = 0; ssize_t len;
  char block[2880];
  long files = 0, failures = 0;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  while ((len = getdelim(&line, &cap, '\0', list)) > 0) {
    int fd = open(line, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) { failures++; continue; }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1 &&
        read(fd, block, sizeof block) == (ssize_t)sizeof block && memcmp(block, "SIMPLE  =", 9) == 0) {
      if (fchown(fd, uid, gid) != 0 || fchmod(fd, mode) != 0) failures++;
      else files++;
    } else {
      failures++;
    }
    close(fd);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("files=%ld failures=%ld seconds=%.6f\n", files, failures, (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
  free(line);
  fclose(list);
  return failures ? 1 : 0;
}
