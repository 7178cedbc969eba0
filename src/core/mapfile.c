/* mapfile.c — mmap/read helpers used by every loader. */
#define _POSIX_C_SOURCE 200809L
#include "mapfile.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int lf_path_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}
int lf_path_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static lf_status open_regular(const char *path, int *fd_out, size_t *size_out) {
    struct stat st;
    if (stat(path, &st) != 0) return lf_fail(LINFER_ERR_IO, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) return lf_fail(LINFER_ERR_IO, "%s: is a directory, expected a file", path);
    if (!S_ISREG(st.st_mode)) return lf_fail(LINFER_ERR_IO, "%s: not a regular file", path);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return lf_fail(LINFER_ERR_IO, "%s: %s", path, strerror(errno));
    *fd_out = fd;
    *size_out = (size_t)st.st_size;
    return LINFER_OK;
}

lf_status lf_map_file(const char *path, lf_mapped_file *out) {
    memset(out, 0, sizeof *out);
    int fd;
    size_t size;
    LF_TRY(open_regular(path, &fd, &size));
    out->path = strdup(path);
    out->size = size;
    if (size > 0) {
        void *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            close(fd);
            free(out->path);
            out->path = NULL;
            return lf_fail(LINFER_ERR_IO, "%s: mmap failed: %s", path, strerror(e));
        }
        out->data = (const uint8_t *)p;
    }
    close(fd);
    return LINFER_OK;
}

void lf_unmap_file(lf_mapped_file *f) {
    if (f->data) munmap((void *)f->data, f->size);
    free(f->path);
    memset(f, 0, sizeof *f);
}

lf_status lf_read_file(const char *path, size_t max_bytes, char **out, size_t *len) {
    int fd;
    size_t size;
    *out = NULL;
    LF_TRY(open_regular(path, &fd, &size));
    if (size > max_bytes) {
        close(fd);
        return lf_fail(LINFER_ERR_FORMAT, "%s: %zu bytes, more than the limit of %zu", path, size, max_bytes);
    }
    char *buf = malloc(size + 1);
    if (!buf) { close(fd); return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes", path, size); }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) { free(buf); close(fd); return lf_fail(LINFER_ERR_IO, "%s: short read", path); }
        got += (size_t)r;
    }
    close(fd);
    buf[size] = 0;
    *out = buf;
    if (len) *len = size;
    return LINFER_OK;
}
