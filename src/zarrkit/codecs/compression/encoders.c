/* Encoders for the loop that encodes chunks and writes them to files in one call
   (zarrkit_encode_files of zarrkit/storage/writefiles.c): one signature for every format,
   its settings in a context. The libraries' functions are numcodecs' (its blosc and zstd
   modules export them), passed in as pointers: the bytes are numcodecs' (zarr-python's),
   and no headers or libraries are needed to build this. Built by hatch_build.py into
   _encoders.so, loaded with ctypes (see encoders.py beside this file). */
#include <stddef.h>

/* c-blosc 1's blosc_compress_ctx and the settings numcodecs' Blosc.encode calls it with
   (its own threads off: nthreads 1). */
struct blosc_encoder {
    int (*compress)(int clevel, int doshuffle, size_t typesize, size_t nbytes, const void *src,
                    void *dest, size_t destsize, const char *compressor, size_t blocksize,
                    int numinternalthreads);
    int clevel;
    int shuffle;
    size_t typesize;
    const char *cname;
    size_t blocksize;
};

long zarrkit_blosc_encode(const void *context, const char *src, size_t size, char *dst,
                          size_t capacity) {
    const struct blosc_encoder *e = context;
    int got = e->compress(e->clevel, e->shuffle, e->typesize, size, src, dst, capacity, e->cname,
                          e->blocksize, 1);
    return got > 0 ? (long)got : -1;
}

/* libzstd's ZSTD_compress2 on a thread's context, its level and checksum set as numcodecs'
   Zstd.encode sets them on the context it makes for each call. */
struct zstd_encoder {
    size_t (*compress)(void *cctx, void *dst, size_t capacity, const void *src, size_t size);
    unsigned (*is_error)(size_t code);
    void *cctx;
};

long zarrkit_zstd_encode(const void *context, const char *src, size_t size, char *dst,
                         size_t capacity) {
    const struct zstd_encoder *e = context;
    size_t got = e->compress(e->cctx, dst, capacity, src, size);
    return e->is_error(got) ? -1 : (long)got;
}
