/* The loop of LocalStore.set_many over many files, in one call without the GIL.

   Each value is written to a new temporary file beside its path, which is then renamed
   over the path, as LocalStore._set does; Python's os.open, os.write, os.close and
   os.replace each release and take back the GIL, four hand-offs a chunk that the other
   write workers wait for (see zarrkit/storage/native.py). Built by hatch_build.py into
   _writefiles.so, loaded with ctypes (no Python API here); without it LocalStore writes
   file by file in Python. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

/* Write data[i] (sizes[i] bytes) to a new file temps[i] (which must not exist), then rename
   it over paths[i], for i in [0, n). errors[i]: 0, or the errno of the step that failed
   (the temporary file then removed, the path untouched). Returns how many failed. */
int zarrkit_write_files(int n, const char **temps, const char **paths,
                        const char *const *data, const long *sizes, int *errors) {
    int failed = 0;
    for (int i = 0; i < n; i++) {
        int fd, error = 0;
        do {
            fd = open(temps[i], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        } while (fd < 0 && errno == EINTR);
        if (fd < 0) {
            errors[i] = errno;
            failed++;
            continue;
        }
        for (long at = 0; at < sizes[i];) {
            long wrote = (long)write(fd, data[i] + at, (size_t)(sizes[i] - at));
            if (wrote < 0 && errno == EINTR) continue;
            if (wrote < 0) {
                error = errno;
                break;
            }
            at += wrote;
        }
        if (close(fd) < 0 && !error && errno != EINTR) error = errno;
        if (!error && rename(temps[i], paths[i]) < 0) error = errno;
        if (error) {
            unlink(temps[i]);
            failed++;
        }
        errors[i] = error;
    }
    return failed;
}
