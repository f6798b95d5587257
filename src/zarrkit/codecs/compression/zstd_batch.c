/* The loop of a batch of zstd chunks, decoded one after another in one call without the GIL.

   Decoding a 4 KiB chunk takes about 8 us; the Python steps around each one (a call, new
   bytes, a copy, two hand-offs of the GIL) add about a third, under the GIL the other read
   workers wait for (see zarrkit/codecs/compression/zstd_batch.py). libzstd's functions are
   numcodecs' (its zstd module exports them), passed in as pointers: no zstd headers or
   library are needed to build this, and no Python API is used here. Built by
   hatch_build.py into _zstd_batch.so, loaded with ctypes. */
#include <stddef.h>

/* The stable libzstd functions the loop calls (zstd.h, 1.4 and later). */
struct zstd_api {
    size_t (*decompress)(void *dctx, void *dst, size_t capacity, const void *src, size_t size);
    unsigned long long (*content_size)(const void *src, size_t size);
    size_t (*frame_size)(const void *src, size_t size);
    unsigned (*is_error)(size_t code);
};

/* Whether src (size bytes) is exactly one frame whose header gives nbytes of content and
   which decodes into exactly that, written to dst. */
static int decoded(const struct zstd_api *api, void *dctx, const char *src, size_t size,
                   char *dst, size_t nbytes) {
    if (api->content_size(src, size) != nbytes) return 0;
    size_t frame = api->frame_size(src, size);
    if (api->is_error(frame) || frame != size) return 0;
    size_t got = api->decompress(dctx, dst, nbytes, src, size);
    return !api->is_error(got) && got == nbytes;
}

/* Decode chunks srcs[0..n) (sizes[i] bytes; NULL: none, skipped) into dst, nbytes apart.
   failed[i] is set to 1 for each chunk this strict loop did not decode (the caller's
   checked path decodes it or says what is wrong), else 0. Returns how many failed. */
int zarrkit_zstd_decode_many(const struct zstd_api *api, void *dctx, int n,
                             const char *const *srcs, const long *sizes, char *dst,
                             long nbytes, unsigned char *failed) {
    int count = 0;
    for (int i = 0; i < n; i++) {
        failed[i] = srcs[i] != NULL &&
                    !decoded(api, dctx, srcs[i], (size_t)sizes[i], dst + (size_t)i * nbytes,
                             (size_t)nbytes);
        count += failed[i];
    }
    return count;
}
