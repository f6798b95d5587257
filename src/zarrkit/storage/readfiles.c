/* The loop of LocalStore.get_many over small files, in one call without the GIL.

   Python's os.open, os.read and os.close each release and take back the GIL, and with
   two read workers the hand-offs cost more than the system calls (see
   zarrkit/storage/native.py). Built by hatch_build.py into _readfiles.so, loaded with
   ctypes (no Python API here); without it LocalStore reads file by file in Python. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

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
        int fd;
        do {
            fd = open(paths[i], O_RDONLY | O_CLOEXEC);
        } while (fd < 0 && errno == EINTR);
        if (fd < 0) {
            sizes[i] = -errno;
            continue;
        }
        long got;
        do {
            got = (long)read(fd, buf + at, (size_t)each);
        } while (got < 0 && errno == EINTR);
        sizes[i] = got < 0 ? -errno : got;
        close(fd);
        if (got > 0) at += got;
        if (got == each) return i + 1;
    }
    return n;
}
