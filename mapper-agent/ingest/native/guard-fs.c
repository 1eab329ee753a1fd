/*
 * Descriptor-relative file primitives for the ingest agent (mapper-agent/ingest/safe-file.ts), one
 * JS->C crossing each where Node needs several: openat + fstat + the checks + pread of the first
 * block; fchown + fchmod; getdents64 in batches. A batch's files are opened, and its changes applied,
 * in one crossing too (openFiles, applyAll; statFiles for the names a pass looks at first): a crossing per file and call costs user time (1M files
 * opened, fstat'ed, fchmod'ed and closed, in interleaved runs here: 3.6-4.9 s of user time from
 * Node one call at a time, 2.6-3.5 s batched, 2.0-2.4 s for the same loop in C; kernel time the
 * same). Plain N-API (node_api.h), no state between calls
 * (safe in worker threads). Every safety rule is the caller's contract and is kept here too:
 *  - a child is opened with openat(dirfd, name, O_RDONLY|O_NOFOLLOW|O_NONBLOCK|O_NOCTTY[|O_DIRECTORY]),
 *    and a name with '/' (or empty, ".", "..", a NUL) is refused before any system call;
 *  - fstat on the new descriptor; a file must be regular with st_nlink == 1, a directory a directory,
 *    otherwise the descriptor is closed here and nothing is returned;
 *  - changes only through a descriptor (fchown, fchmod).
 * Errors are returned as numbers (errno values), never thrown: the TypeScript wrapper maps them to
 * the same Refused reasons and Node-style errors as the pure-JS path.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <node_api.h>

/* What index.ts checks: a build from another version of this file is not used (2: readDir's directoriesOnly; 3: openFiles, applyAll; 4: statFiles). */
#define GUARD_FS_VERSION 4

/* statOut slots (keep in step with native/index.ts) */
enum { S_DEV, S_INO, S_MODE, S_NLINK, S_UID, S_GID, S_SIZE, S_MTIME_MS, S_CTIME_MS, S_ERRNO, S_PHASE, S_READ, S_SLOTS };
/* phases of a failed openAt */
enum { PHASE_OK = 0, PHASE_OPEN = 1, PHASE_FSTAT = 2, PHASE_REJECTED = 3, PHASE_NAME = 4 };
/* openAt flags */
enum { F_DIRECTORY = 1, F_PATH = 2 };

#define CHECK(call) do { if ((call) != napi_ok) return NULL; } while (0)

static napi_value int_(napi_env env, int32_t v) {
  napi_value out;
  if (napi_create_int32(env, v, &out) != napi_ok) return NULL;
  return out;
}

/* Milliseconds as Node computes Stats#mtimeMs: sec * 1e3 + nsec / 1e6 (same doubles). */
static double ms(struct timespec t) { return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6; }

static void fill(double *out, const struct stat *st) {
  out[S_DEV] = (double)st->st_dev;
  out[S_INO] = (double)st->st_ino;
  out[S_MODE] = (double)st->st_mode;
  out[S_NLINK] = (double)st->st_nlink;
  out[S_UID] = (double)st->st_uid;
  out[S_GID] = (double)st->st_gid;
  out[S_SIZE] = (double)st->st_size;
  out[S_MTIME_MS] = ms(st->st_mtim);
  out[S_CTIME_MS] = ms(st->st_ctim);
}

/* The call's arguments: `max` of them in argv (*argc given), or false with a TypeError (`usage`) when fewer than `min`. */
static bool args(napi_env env, napi_callback_info info, size_t min, size_t max, napi_value *argv, size_t *argc, const char *usage) {
  *argc = max;
  if (napi_get_cb_info(env, info, argc, argv, NULL, NULL) != napi_ok) return false;
  if (*argc < min) {
    napi_throw_type_error(env, NULL, usage);
    return false;
  }
  return true;
}

/*
 * A typed array argument of `type` with at least `min` elements: its data and length, or false
 * with a TypeError (`expected` says what was wanted) thrown.
 */
static bool typed(napi_env env, napi_value v, napi_typedarray_type type, size_t min, void **data, size_t *len, const char *expected) {
  bool is = false;
  napi_typedarray_type t;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is || napi_get_typedarray_info(env, v, &t, len, data, NULL, NULL) != napi_ok || t != type || *len < min) {
    napi_throw_type_error(env, NULL, expected);
    return false;
  }
  return true;
}

/* The statOut argument (Float64Array of S_SLOTS), or NULL with a TypeError thrown. */
static double *stat_out(napi_env env, napi_value v) {
  void *data;
  size_t len;
  return typed(env, v, napi_float64_array, S_SLOTS, &data, &len, "statOut must be a Float64Array of 12") ? data : NULL;
}

/* A whole name as napi gave it: not empty, shorter than PATH_MAX, no NUL inside. */
static bool whole_name(const char *name, size_t len) { return len > 0 && len < PATH_MAX && strlen(name) == len; }

/* One path component: a whole name without '/', not "." or "..". */
static bool plain_name(const char *name, size_t len) {
  return whole_name(name, len) && !strchr(name, '/') && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/* The names argument of the batch calls: an array and its length, or false with a TypeError thrown. */
static bool names_arg(napi_env env, napi_value v, uint32_t *n) {
  bool isArray = false;
  if (napi_is_array(env, v, &isArray) != napi_ok || !isArray || napi_get_array_length(env, v, n) != napi_ok) {
    napi_throw_type_error(env, NULL, "names must be an array of strings");
    return false;
  }
  return true;
}

/* A batch call's arguments: the four every one starts with (dirFd, names, statOut, one number a name), and the rest as given. */
struct batch {
  napi_value argv[6];
  size_t argc;
  int32_t dirfd;
  uint32_t n;
  double *out;
  int32_t *ints;
};

/*
 * Read a batch call's arguments (4 to `max`; `usage` names them): dirFd, names (n of them), statOut
 * (S_SLOTS numbers a name) and an Int32Array of one number a name (`ints`, described by
 * `intsExpected`); false with a TypeError thrown.
 */
static bool batch_args(napi_env env, napi_callback_info info, size_t max, const char *usage, const char *intsExpected, struct batch *b) {
  size_t len;
  if (!args(env, info, 4, max, b->argv, &b->argc, usage)) return false;
  if (napi_get_value_int32(env, b->argv[0], &b->dirfd) != napi_ok) {
    napi_throw_type_error(env, NULL, "dirFd must be a number");
    return false;
  }
  return names_arg(env, b->argv[1], &b->n)
    && typed(env, b->argv[2], napi_float64_array, (size_t)b->n * S_SLOTS, (void **)&b->out, &len, "statOut must be a Float64Array of 12 per name")
    && typed(env, b->argv[3], napi_int32_array, b->n, (void **)&b->ints, &len, intsExpected);
}

/* names[i] into buf (NUL-terminated, its length in *len): 1, or 0 when it is not a string, or -1 on a napi error. */
static int name_at(napi_env env, napi_value names, uint32_t i, char *buf, size_t size, size_t *len) {
  napi_value v;
  napi_valuetype t;
  if (napi_get_element(env, names, i, &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok) return -1;
  if (t != napi_string) return 0;
  return napi_get_value_string_utf8(env, v, buf, size, len) == napi_ok ? 1 : -1;
}

/*
 * One file or directory opened as openAt describes (below); `name` is NUL-terminated, `len` its length.
 * Returns the descriptor, or -1 with out[S_PHASE] and out[S_ERRNO] set.
 */
static int open_one(int dirfd, const char *name, size_t len, int flags, double *out, char *rbuf, size_t rlen) {
  out[S_PHASE] = PHASE_NAME;
  out[S_ERRNO] = 0;
  out[S_READ] = 0;
  if ((flags & F_PATH) ? !(whole_name(name, len) && name[0] == '/') : !plain_name(name, len)) return -1;
  if (flags & F_PATH) dirfd = AT_FDCWD;

  int oflags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | ((flags & F_DIRECTORY) ? O_DIRECTORY : 0);
  int fd;
  do fd = openat(dirfd, name, oflags); while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    out[S_PHASE] = PHASE_OPEN;
    out[S_ERRNO] = errno;
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    out[S_PHASE] = PHASE_FSTAT;
    out[S_ERRNO] = errno;
    close(fd);
    return -1;
  }
  fill(out, &st);
  int accepted = (flags & F_DIRECTORY) ? S_ISDIR(st.st_mode) : (S_ISREG(st.st_mode) && st.st_nlink == 1);
  if (!accepted) {
    out[S_PHASE] = PHASE_REJECTED;
    close(fd);
    return -1;
  }
  out[S_PHASE] = PHASE_OK;
  if (rbuf && !(flags & F_DIRECTORY)) {
    size_t got = 0;
    while (got < rlen) {
      ssize_t n = pread(fd, rbuf + got, rlen - got, (off_t)got);
      if (n < 0) {
        if (errno == EINTR) continue;
        out[S_READ] = -(double)errno;
        return fd;
      }
      if (n == 0) break;
      got += (size_t)n;
    }
    out[S_READ] = (double)got;
  }
  return fd;
}

/* An optional Buffer argument: its data and length, or NULL data for undefined/null; false on a napi error. */
static bool optional_buffer(napi_env env, napi_value v, char **data, size_t *len) {
  napi_valuetype t;
  *data = NULL;
  *len = 0;
  if (napi_typeof(env, v, &t) != napi_ok) return false;
  return t == napi_undefined || t == napi_null || napi_get_buffer_info(env, v, (void **)data, len) == napi_ok;
}

/*
 * openAt(dirFd, name, flags, statOut: Float64Array(S_SLOTS), readBuf?: Buffer) -> fd | -1
 * flags: F_DIRECTORY opens a directory; F_PATH (a data root only) takes an absolute path from the
 * working directory instead of one name. With readBuf (files only), the file's first bytes are read
 * into it (pread from offset 0 until full or end of file): statOut[S_READ] = bytes read, or -errno
 * (the descriptor stays open; the caller reports the read error where it would have read).
 * On -1: statOut[S_PHASE] says where it failed and statOut[S_ERRNO] why; for PHASE_REJECTED the
 * stat fields describe what was found (the descriptor is already closed).
 */
static napi_value OpenAt(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[5];
  if (!args(env, info, 4, 5, argv, &argc, "openAt(dirFd, name, flags, statOut[, readBuf])")) return NULL;
  int32_t dirfd, flags;
  CHECK(napi_get_value_int32(env, argv[0], &dirfd));
  CHECK(napi_get_value_int32(env, argv[2], &flags));
  double *out = stat_out(env, argv[3]);
  if (!out) return NULL;
  char *rbuf = NULL;
  size_t rlen = 0;
  if (argc >= 5 && !optional_buffer(env, argv[4], &rbuf, &rlen)) return NULL;
  char name[PATH_MAX + 1];
  size_t len;
  CHECK(napi_get_value_string_utf8(env, argv[1], name, sizeof name, &len));
  return int_(env, open_one(dirfd, name, len, flags, out, rbuf, rlen));
}

/*
 * openFiles(dirFd, names: string[], statOut: Float64Array(n * S_SLOTS), fds: Int32Array(n)[, readBuf: Buffer, block]) -> n
 * openAt(dirFd, names[i], FILE, ...) for each of the n = names.length files, in one call (see the
 * file comment: a crossing per file costs user time): fds[i] and statOut[i * S_SLOTS ..]
 * are what openAt would return and report for names[i]; with readBuf, file i's first bytes are read
 * into readBuf[i * block .. (i + 1) * block). The caller owns every descriptor returned.
 */
static napi_value OpenFiles(napi_env env, napi_callback_info info) {
  struct batch b;
  if (!batch_args(env, info, 6, "openFiles(dirFd, names, statOut, fds[, readBuf, block])", "fds must be an Int32Array of one per name", &b)) return NULL;
  char *rbuf = NULL;
  size_t rlen = 0;
  uint32_t block = 0;
  if (b.argc >= 5 && !optional_buffer(env, b.argv[4], &rbuf, &rlen)) return NULL;
  if (rbuf) {
    if (b.argc < 6 || napi_get_value_uint32(env, b.argv[5], &block) != napi_ok || block == 0 || (size_t)block * b.n > rlen) {
      napi_throw_type_error(env, NULL, "readBuf must hold block bytes per name");
      return NULL;
    }
  }
  char name[PATH_MAX + 1];
  for (uint32_t i = 0; i < b.n; i++) {
    size_t len;
    int got = name_at(env, b.argv[1], i, name, sizeof name, &len);
    if (got < 0) return NULL;
    if (got == 0) len = 0; /* not a string: refused as a name that is not one plain name */
    b.ints[i] = open_one(b.dirfd, got ? name : "", len, 0, b.out + (size_t)i * S_SLOTS, rbuf ? rbuf + (size_t)i * block : NULL, block);
  }
  return int_(env, (int32_t)b.n);
}

/* fstatat(dirfd, name, AT_SYMLINK_NOFOLLOW) into out: 0, or -errno (-EINVAL for a name that is not one plain name, before any call). */
static int stat_one(int dirfd, const char *name, size_t len, double *out) {
  if (!plain_name(name, len)) return -EINVAL;
  struct stat st;
  int r;
  do r = fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW); while (r != 0 && errno == EINTR);
  if (r != 0) return -errno;
  fill(out, &st);
  return 0;
}

/*
 * statAt(dirFd, name, statOut) -> 0 or -errno: fstatat(dirFd, name, AT_SYMLINK_NOFOLLOW), one
 * plain name (else -EINVAL). Only to decide that a file need not be opened at all; what is
 * changed is always opened and checked again (openAt).
 */
static napi_value StatAt(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[3];
  if (!args(env, info, 3, 3, argv, &argc, "statAt(dirFd, name, statOut)")) return NULL;
  int32_t dirfd;
  CHECK(napi_get_value_int32(env, argv[0], &dirfd));
  double *out = stat_out(env, argv[2]);
  if (!out) return NULL;
  char name[PATH_MAX + 1];
  size_t len;
  CHECK(napi_get_value_string_utf8(env, argv[1], name, sizeof name, &len));
  return int_(env, stat_one(dirfd, name, len, out));
}

/*
 * statFiles(dirFd, names: string[], statOut: Float64Array(n * S_SLOTS), results: Int32Array(n)) -> n
 * statAt for each name in one call: results[i] is what statAt returns for names[i] (-EINVAL for
 * an element that is not a string), statOut[i * S_SLOTS ..] its status.
 */
static napi_value StatFiles(napi_env env, napi_callback_info info) {
  struct batch b;
  if (!batch_args(env, info, 4, "statFiles(dirFd, names, statOut, results)", "results must be an Int32Array of one per name", &b)) return NULL;
  char name[PATH_MAX + 1];
  for (uint32_t i = 0; i < b.n; i++) {
    size_t len;
    int got = name_at(env, b.argv[1], i, name, sizeof name, &len);
    if (got < 0) return NULL;
    b.ints[i] = got ? stat_one(b.dirfd, name, len, b.out + (size_t)i * S_SLOTS) : -EINVAL;
  }
  return int_(env, (int32_t)b.n);
}

/* The status a change is checked against: size, mtime and ctime (ms, as Node computes them). */
static void stamp(double *out, const struct stat *st) {
  out[0] = (double)st->st_size;
  out[1] = ms(st->st_mtim);
  out[2] = ms(st->st_ctim);
}

/* fchown (when asked) and fchmod through fd, with the status before and after into stamps when given; 0 or Apply's negative codes. */
static int apply_one(int fd, uint32_t uid, uint32_t gid, uint32_t mode, bool doChown, double *stamps) {
  struct stat st;
  if (stamps) {
    if (fstat(fd, &st) != 0) return -(errno * 4 + 3);
    stamp(stamps, &st);
  }
  if (doChown && fchown(fd, (uid_t)uid, (gid_t)gid) != 0) return -(errno * 4 + 1);
  if (fchmod(fd, (mode_t)(mode & 07777)) != 0) return -(errno * 4 + 2);
  if (stamps) {
    if (fstat(fd, &st) != 0) return -(errno * 4 + 3);
    stamp(stamps + 3, &st);
  }
  return 0;
}

/*
 * apply(fd, uid, gid, mode, chown[, stamps: Float64Array(6)]) -> 0, or -(errno * 4 + 1) when fchown
 * failed, -(errno * 4 + 2) when fchmod failed, -(errno * 4 + 3) when an fstat failed.
 * With stamps, the descriptor's status just before the change goes to stamps[0..2] and just after
 * it to stamps[3..5] (size, mtime ms, ctime ms each): what a header seal is recorded from.
 */
static napi_value Apply(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[6];
  if (!args(env, info, 5, 6, argv, &argc, "apply(fd, uid, gid, mode, chown[, stamps])")) return NULL;
  int32_t fd;
  uint32_t uid, gid, mode;
  bool doChown;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_value_uint32(env, argv[1], &uid));
  CHECK(napi_get_value_uint32(env, argv[2], &gid));
  CHECK(napi_get_value_uint32(env, argv[3], &mode));
  CHECK(napi_get_value_bool(env, argv[4], &doChown));
  double *stamps = NULL;
  if (argc >= 6) {
    napi_valuetype vt;
    CHECK(napi_typeof(env, argv[5], &vt));
    size_t n;
    if (vt != napi_undefined && !typed(env, argv[5], napi_float64_array, 6, (void **)&stamps, &n, "stamps must be a Float64Array of 6")) return NULL;
  }
  return int_(env, apply_one(fd, uid, gid, mode, doChown, stamps));
}

/* applyAll's plan: four numbers a change */
enum { P_UID, P_GID, P_MODE, P_FLAGS, P_SLOTS };
enum { P_CHOWN = 1, P_WATCHED = 2 };

/*
 * applyAll(fds: Int32Array(n), plan: Uint32Array(n * 4), stamps: Float64Array(n * 6), results: Int32Array(n)) -> n
 * apply() for each descriptor in one call: plan[i * 4 ..] = uid, gid, mode, flags (1: chown, 2: the
 * status before and after into stamps[i * 6 ..]); results[i] is what apply would return. A failed
 * change does not stop the others (each is journaled on its own).
 */
static napi_value ApplyAll(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[4];
  if (!args(env, info, 4, 4, argv, &argc, "applyAll(fds, plan, stamps, results)")) return NULL;
  int32_t *fds, *results;
  uint32_t *plan;
  double *stamps;
  size_t n, len;
  if (!typed(env, argv[0], napi_int32_array, 0, (void **)&fds, &n, "fds must be an Int32Array")) return NULL;
  if (!typed(env, argv[1], napi_uint32_array, n * P_SLOTS, (void **)&plan, &len, "plan must be a Uint32Array of 4 per descriptor")) return NULL;
  if (!typed(env, argv[2], napi_float64_array, n * 6, (void **)&stamps, &len, "stamps must be a Float64Array of 6 per descriptor")) return NULL;
  if (!typed(env, argv[3], napi_int32_array, n, (void **)&results, &len, "results must be an Int32Array of one per descriptor")) return NULL;
  for (size_t i = 0; i < n; i++) {
    const uint32_t *p = plan + i * P_SLOTS;
    results[i] = apply_one(fds[i], p[P_UID], p[P_GID], p[P_MODE], (p[P_FLAGS] & P_CHOWN) != 0, (p[P_FLAGS] & P_WATCHED) ? stamps + i * 6 : NULL);
  }
  return int_(env, (int32_t)n);
}

/* readAt(fd, buf) -> bytes read from offset 0 (until buf is full or end of file), or -errno. */
static napi_value ReadAt(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[2];
  if (!args(env, info, 2, 2, argv, &argc, "readAt(fd, buf)")) return NULL;
  int32_t fd;
  char *buf;
  size_t len;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_buffer_info(env, argv[1], (void **)&buf, &len));
  size_t got = 0;
  while (got < len) {
    ssize_t n = pread(fd, buf + got, len - got, (off_t)got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return int_(env, -errno);
    }
    if (n == 0) break;
    got += (size_t)n;
  }
  return int_(env, (int32_t)got);
}

/* close(fd) -> 0 or -errno (EINTR is not retried: Linux has closed the descriptor anyway). */
static napi_value Close(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[1];
  int32_t fd;
  if (!args(env, info, 1, 1, argv, &argc, "close(fd)")) return NULL;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
    napi_throw_type_error(env, NULL, "close(fd)");
    return NULL;
  }
  return int_(env, close(fd) == 0 ? 0 : -errno);
}

static int by_value(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

/*
 * closeAll(fds: Int32Array) -> 0, or -errno of the first failure (every descriptor is closed
 * regardless). A batch's descriptors were opened one after another, so they are mostly
 * consecutive numbers: each run of consecutive descriptors that are all in `fds` is closed with one
 * close_range(2) (Linux 5.9; close(2) one by one where it is missing); nothing outside `fds` is
 * ever in a range.
 */
static napi_value CloseAll(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[1];
  int *fds;
  size_t n;
  if (!args(env, info, 1, 1, argv, &argc, "closeAll(fds: Int32Array)") || !typed(env, argv[0], napi_int32_array, 0, (void **)&fds, &n, "closeAll(fds: Int32Array)")) return NULL;
  qsort(fds, n, sizeof *fds, by_value);
  int first = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && fds[j + 1] == fds[j] + 1) j++;
    int r = 0;
    if (j > i) {
      r = (int)syscall(SYS_close_range, (unsigned)fds[i], (unsigned)fds[j], 0);
      if (r != 0 && errno == ENOSYS) {
        r = 0;
        for (size_t k = i; k <= j; k++)
          if (close(fds[k]) != 0 && r == 0) r = -1;
      }
    } else {
      r = close(fds[i]);
    }
    if (r != 0 && first == 0) first = -errno;
    i = j + 1;
    while (i < n && fds[i] == fds[i - 1]) i++; /* a descriptor listed twice is closed once */
  }
  return int_(env, first);
}

struct linux_dirent64 {
  ino64_t d_ino;
  off64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

#define DIR_BUF 32768
#define MIN_TYPES (DIR_BUF / 19 + 1) /* the smallest record is 19 bytes + a 1-char name, 8-aligned: 24 */

/*
 * readDir(fd, types: Uint8Array(>= MIN_TYPES), directoriesOnly?: boolean) -> string[] | -errno
 * The next names of the directory open on fd (getdents64 on that descriptor, so it reads from the
 * descriptor's position: the caller lists a descriptor it holds only once), without "." and "..";
 * types[i] is names[i]'s DT_* type. A DT_UNKNOWN entry (some file systems) is resolved with
 * fstatat(AT_SYMLINK_NOFOLLOW); if that fails it stays DT_UNKNOWN (the caller treats it as not a
 * regular file). With directoriesOnly, only DT_DIR entries are returned (the worker pool's list of
 * directories: no string is made for the files). An empty array: the end of the directory.
 */
static napi_value ReadDir(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[3];
  if (!args(env, info, 2, 3, argv, &argc, "readDir(fd, types, directoriesOnly?)")) return NULL;
  int32_t fd;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  unsigned char *types;
  size_t cap;
  if (!typed(env, argv[1], napi_uint8_array, MIN_TYPES, (void **)&types, &cap, "types must be a Uint8Array of at least 1725")) return NULL;
  bool directoriesOnly = false;
  if (argc > 2 && napi_get_value_bool(env, argv[2], &directoriesOnly) != napi_ok) {
    napi_throw_type_error(env, NULL, "directoriesOnly must be a boolean");
    return NULL;
  }
  char buf[DIR_BUF] __attribute__((aligned(8)));
  napi_value names;
  CHECK(napi_create_array(env, &names));
  uint32_t count = 0;
  while (count == 0) {
    long n;
    do n = syscall(SYS_getdents64, fd, buf, sizeof buf); while (n < 0 && errno == EINTR);
    if (n < 0) return int_(env, -errno);
    if (n == 0) break;
    for (long off = 0; off < n;) {
      struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
      off += d->d_reclen;
      const char *nm = d->d_name;
      if (nm[0] == '.' && (nm[1] == 0 || (nm[1] == '.' && nm[2] == 0))) continue;
      unsigned char type = d->d_type;
      if (type == DT_UNKNOWN) {
        struct stat st;
        if (fstatat(fd, nm, &st, AT_SYMLINK_NOFOLLOW) == 0) type = IFTODT(st.st_mode);
      }
      if (directoriesOnly && type != DT_DIR) continue;
      napi_value s;
      CHECK(napi_create_string_utf8(env, nm, NAPI_AUTO_LENGTH, &s));
      CHECK(napi_set_element(env, names, count, s));
      types[count++] = type;
    }
  }
  return names;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_property_descriptor props[] = {
    { "openAt", NULL, OpenAt, NULL, NULL, NULL, napi_enumerable, NULL },
    { "openFiles", NULL, OpenFiles, NULL, NULL, NULL, napi_enumerable, NULL },
    { "apply", NULL, Apply, NULL, NULL, NULL, napi_enumerable, NULL },
    { "applyAll", NULL, ApplyAll, NULL, NULL, NULL, napi_enumerable, NULL },
    { "statAt", NULL, StatAt, NULL, NULL, NULL, napi_enumerable, NULL },
    { "statFiles", NULL, StatFiles, NULL, NULL, NULL, napi_enumerable, NULL },
    { "readAt", NULL, ReadAt, NULL, NULL, NULL, napi_enumerable, NULL },
    { "close", NULL, Close, NULL, NULL, NULL, napi_enumerable, NULL },
    { "closeAll", NULL, CloseAll, NULL, NULL, NULL, napi_enumerable, NULL },
    { "readDir", NULL, ReadDir, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  napi_value v;
  if (napi_create_uint32(env, S_SLOTS, &v) == napi_ok) napi_set_named_property(env, exports, "statSlots", v);
  if (napi_create_uint32(env, GUARD_FS_VERSION, &v) == napi_ok) napi_set_named_property(env, exports, "version", v);
  return exports;
}
