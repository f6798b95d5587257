/* The loops of a batch of zstd or blosc chunks, decoded one after another in one call
   without the GIL.

   Decoding a 4 KiB chunk takes a few microseconds; the Python steps around each one (a
   call, the codec's checks, a view, two hand-offs of the GIL) add as much again or more,
   under the GIL the other read workers wait for (see zstd_batch.py and blosc_batch.py
   beside this file). The libraries' functions are numcodecs' (its zstd and blosc modules
   export them), passed in as pointers: no headers or libraries are needed to build this,
   and no Python API is used here. Built by hatch_build.py into _decode_batch.so, loaded
   with ctypes. */
#include <stddef.h>

/* Decode src (size bytes) into dst (exactly nbytes) with the library's functions api and
   context ctx; 1 if it was done, 0 if not (left to the caller's checked path). */
typedef int (*decode_one)(const void *api, void *ctx, const char *src, size_t size, char *dst,
                          size_t nbytes);

/* Decode chunks srcs[0..n) (sizes[i] bytes; NULL: none, skipped) into dst, nbytes apart.
   failed[i] is set to 1 for each chunk that one did not decode, else 0. Returns how many
   failed. */
static int decode_many(decode_one one, const void *api, void *ctx, int n,
                       const char *const *srcs, const long *sizes, char *dst, long nbytes,
                       unsigned char *failed) {
    int count = 0;
    for (int i = 0; i < n; i++) {
        failed[i] = srcs[i] != NULL && !one(api, ctx, srcs[i], (size_t)sizes[i],
                                            dst + (size_t)i * nbytes, (size_t)nbytes);
        count += failed[i];
    }
    return count;
}

/* The stable libzstd functions the zstd loop calls (zstd.h, 1.4 and later). */
struct zstd_api {
    size_t (*decompress)(void *dctx, void *dst, size_t capacity, const void *src, size_t size);
    unsigned long long (*content_size)(const void *src, size_t size);
    size_t (*frame_size)(const void *src, size_t size);
    unsigned (*is_error)(size_t code);
};

/* Whether src is exactly one frame whose header gives nbytes of content and which decodes
   into exactly that. Also called by readfiles.c's loop, which decodes files as it reads. */
int zarrkit_zstd_decode_one(const void *api_, void *dctx, const char *src, size_t size, char *dst,
                    size_t nbytes) {
    const struct zstd_api *api = api_;
    if (api->content_size(src, size) != nbytes) return 0;
    size_t frame = api->frame_size(src, size);
    if (api->is_error(frame) || frame != size) return 0;
    size_t got = api->decompress(dctx, dst, nbytes, src, size);
    return !api->is_error(got) && got == nbytes;
}

int zarrkit_zstd_decode_many(const struct zstd_api *api, void *dctx, int n,
                             const char *const *srcs, const long *sizes, char *dst,
                             long nbytes, unsigned char *failed) {
    return decode_many(zarrkit_zstd_decode_one, api, dctx, n, srcs, sizes, dst, nbytes, failed);
}

/* The c-blosc 1 function the blosc loop calls (blosc.h): decode into dest (destsize bytes)
   on this thread alone (nthreads 1); the decoded size, or 0 or less on failure. */
struct blosc_api {
    int (*decompress)(const void *src, void *dest, size_t destsize, int nthreads);
};

/* Blosc's 16-byte header: 4 bytes of version and flags, then the decoded size, the block
   size and the compressed size, 32-bit little-endian. */
#define BLOSC_HEADER 16

static size_t u32le(const char *at) {
    const unsigned char *b = (const unsigned char *)at;
    return (size_t)b[0] | (size_t)b[1] << 8 | (size_t)b[2] << 16 | (size_t)b[3] << 24;
}

/* Whether src's header says nbytes decoded from exactly size bytes (blosc itself trusts
   it), and it decodes into exactly that. Also called by readfiles.c's loop. */
int zarrkit_blosc_decode_one(const void *api_, void *unused, const char *src, size_t size, char *dst,
                     size_t nbytes) {
    const struct blosc_api *api = api_;
    (void)unused;
    if (size < BLOSC_HEADER || u32le(src + 4) != nbytes || u32le(src + 12) != size) return 0;
    return api->decompress(src, dst, nbytes, 1) == (long)nbytes;
}

int zarrkit_blosc_decode_many(const struct blosc_api *api, int n, const char *const *srcs,
                              const long *sizes, char *dst, long nbytes, unsigned char *failed) {
    return decode_many(zarrkit_blosc_decode_one, api, NULL, n, srcs, sizes, dst, nbytes, failed);
}
