/* The loops of LocalStore's writes of many files, each in one call without the GIL.

   Each value is written to a new temporary file beside its path, which is then renamed
   over the path, as LocalStore._set does; Python's os.open, os.write, os.close and
   os.replace each release and take back the GIL, four hand-offs a chunk that the other
   write workers wait for (see zarrkit/storage/native.py). zarrkit_encode_files also makes
   each value: it copies a chunk out of the array being written and encodes it, with an
   encoder passed in as a pointer (zarrkit/codecs/compression/encoders.c), so a chunk costs
   no Python work and no new memory. Built by hatch_build.py into _writefiles.so, loaded
   with ctypes (no Python API here); without it LocalStore writes file by file in Python. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

/* Write size bytes of data to the new file temp (which must not exist), then rename it over
   path. Returns 0, or the errno of the step that failed (the temporary file then removed,
   the path untouched). */
static int write_file(const char *temp, const char *path, const char *data, long size) {
    int fd, error = 0;
    do {
        fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return errno;
    for (long at = 0; at < size;) {
        long wrote = (long)write(fd, data + at, (size_t)(size - at));
        if (wrote < 0 && errno == EINTR) continue;
        if (wrote < 0) {
            error = errno;
            break;
        }
        at += wrote;
    }
    if (close(fd) < 0 && !error && errno != EINTR) error = errno;
    if (!error && rename(temp, path) < 0) error = errno;
    if (error) unlink(temp);
    return error;
}

/* Write data[i] (sizes[i] bytes) to a new file temps[i], then rename it over paths[i], for
   i in [0, n). errors[i]: 0, or the errno of the step that failed. Returns how many
   failed. */
int zarrkit_write_files(int n, const char **temps, const char **paths,
                        const char *const *data, const long *sizes, int *errors) {
    int failed = 0;
    for (int i = 0; i < n; i++) {
        errors[i] = write_file(temps[i], paths[i], data[i], sizes[i]);
        failed += errors[i] != 0;
    }
    return failed;
}

/* An encoder (encoders.c): src (size bytes) encoded into dst (capacity bytes) with the
   settings context holds; the encoded size, or -1 where it could not. */
typedef long (*encoder)(const void *context, const char *src, size_t size, char *dst,
                        size_t capacity);

/* The elements of a chunk as they lie in the array written: ndim axes of shape[k]
   elements, strides[k] bytes apart (any, zero and negative included), itemsize bytes
   each. */
struct layout {
    int ndim;
    const long *shape;
    const long *strides;
    long itemsize;
};

/* Copy the chunk whose first element is at src, laid out as l says, into dst in C order;
   where the last axis is contiguous, a row at a time. */
static void gather(const struct layout *l, const char *src, char *dst) {
    int last = l->ndim - 1;
    long rows = 1, index[32] = {0};
    for (int k = 0; k < last; k++) rows *= l->shape[k];
    int contiguous = l->strides[last] == l->itemsize;
    long row = l->shape[last] * l->itemsize;
    for (long r = 0; r < rows; r++) {
        if (contiguous) {
            memcpy(dst, src, (size_t)row);
        } else {
            for (long j = 0; j < l->shape[last]; j++)
                memcpy(dst + j * l->itemsize, src + j * l->strides[last], (size_t)l->itemsize);
        }
        dst += row;
        for (int k = last - 1; k >= 0; k--) { /* the next row: carry like an odometer */
            src += l->strides[k];
            if (++index[k] < l->shape[k]) break;
            src -= l->strides[k] * l->shape[k];
            index[k] = 0;
        }
    }
}

/* For each chunk i in [0, n): copy it from sources[i] (laid out as l says; scratch NULL:
   its nbytes lie there contiguous already, in C order) into scratch, encode it into dest
   (capacity bytes) with encode and context (encode NULL: stored as it is), and write the
   result to a new file temps[i] renamed over paths[i]. errors[i]: 0, the errno of the file
   step that failed, or -1 where the encoder failed (left to the caller's checked path).
   Returns how many failed. l->ndim is at most 32, and at least 1. */
int zarrkit_encode_files(int n, const char *const *sources, const struct layout *l,
                         long nbytes, char *scratch, encoder encode, const void *context,
                         char *dest, long capacity, const char **temps, const char **paths,
                         int *errors) {
    int failed = 0;
    for (int i = 0; i < n; i++) {
        const char *chunk = sources[i];
        if (scratch != NULL) {
            gather(l, chunk, scratch);
            chunk = scratch;
        }
        const char *data = chunk;
        long size = nbytes;
        if (encode != NULL) {
            size = encode(context, chunk, (size_t)nbytes, dest, (size_t)capacity);
            data = dest;
        }
        errors[i] = size < 0 ? -1 : write_file(temps[i], paths[i], data, size);
        failed += errors[i] != 0;
    }
    return failed;
}
