/* The loop of LocalStore.get_many over small files, in one call without the GIL.

   Python's os.open, os.read and os.close each release and take back the GIL, and with
   two read workers the hand-offs cost more than the system calls (see
   zarrkit/storage/native.py). Built by hatch_build.py into _readfiles.so, loaded with
   ctypes (no Python API here); without it LocalStore reads file by file in Python.

   zarrkit_read_decoded goes on to decode each file as it is read, with a decoder of
   decode_batch.c passed in as a pointer, straight into its place. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

/* Open path (relative to directory dir, or AT_FDCWD) to read, again if a signal interrupts. */
static int open_reading(int dir, const char *path, int flags) {
    int fd;
    do {
        fd = openat(dir, path, O_RDONLY | O_CLOEXEC | flags);
    } while (fd < 0 && errno == EINTR);
    return fd;
}

/* Read fd into buf until its end or cap bytes: how many, or -errno. */
static long read_all(int fd, char *buf, long cap) {
    long at = 0;
    while (at < cap) {
        long got = (long)read(fd, buf + at, (size_t)(cap - at));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return -errno;
        if (got == 0) break;
        at += got;
    }
    return at;
}

/* Read files paths[0..n) one after another into buf (capacity cap), each packed after the
   last, at most `each` bytes of each, while at least `each` bytes of buf are left, and up to
   the first that fills `each` (it may hold more: the caller reads it, and the files after
   it, by their size). sizes[i]: the bytes read, or -errno. Returns how many files were
   read. */
int zarrkit_read_files(int n, const char **paths, char *buf, long cap, long each,
                       long *sizes) {
    long at = 0;
    for (int i = 0; i < n; i++) {
        if (cap - at < each) return i;
        int fd = open_reading(AT_FDCWD, paths[i], 0);
        if (fd < 0) {
            sizes[i] = -errno;
            continue;
        }
        long got = read_all(fd, buf + at, each);
        sizes[i] = got;
        close(fd);
        if (got > 0) at += got;
        if (got == each) return i + 1;
    }
    return n;
}

/* decode_batch.c's zarrkit_zstd_decode_one or zarrkit_blosc_decode_one: decode src (size
   bytes) into dst (exactly nbytes); 1 if it was done, 0 if not. */
typedef int (*decode_one)(const void *api, void *ctx, const char *src, size_t size, char *dst,
                          size_t nbytes);

/* Whether file fd holds a value decoded into dst (exactly nbytes): read into buf (cap bytes)
   and decoded there; or, without a decoder, read straight into dst (stored as they are). */
static int read_one(int fd, char *buf, long cap, decode_one decode, const void *api, void *ctx,
                    char *dst, long nbytes, long *error) {
    *error = 0;
    if (decode == NULL) {
        char extra;
        long got = read_all(fd, dst, nbytes);
        long more = got == nbytes ? read_all(fd, &extra, 1) : 0;
        *error = got < 0 ? got : more < 0 ? more : 0;
        return got == nbytes && more == 0;
    }
    long got = read_all(fd, buf, cap);
    *error = got < 0 ? got : 0;
    return got >= 0 && got < cap && decode(api, ctx, buf, (size_t)got, dst, (size_t)nbytes);
}

/* Read the files of names (n paths relative to directory root, each ended by a NUL) and
   decode each into dst, nbytes apart, through buf (cap bytes). status[i]: 0 decoded; 1 not
   (larger than buf, or not one the decoder takes), left to the caller's checked path; or
   -errno where opening or reading it failed. Returns how many are not 0, or -errno where
   root cannot be opened. */
int zarrkit_read_decoded(const char *root, int n, const char *names, char *buf, long cap,
                         decode_one decode, const void *api, void *ctx, char *dst, long nbytes,
                         long *status) {
    int dir = open_reading(AT_FDCWD, root, O_DIRECTORY);
    if (dir < 0) return -errno;
    int left = 0;
    for (int i = 0; i < n; i++, names += strlen(names) + 1) {
        int fd = open_reading(dir, names, 0);
        long error = fd < 0 ? -errno : 0;
        int done = 0;
        if (fd >= 0) {
            done = read_one(fd, buf, cap, decode, api, ctx, dst + (size_t)i * nbytes, nbytes,
                            &error);
            close(fd);
        }
        status[i] = done ? 0 : error ? error : 1;
        left += !done;
    }
    close(dir);
    return left;
}
