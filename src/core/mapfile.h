/* mapfile.h — read-only memory mapping of a whole file, with errors that name the file. */
#ifndef LF_MAPFILE_H
#define LF_MAPFILE_H
#include <stddef.h>
#include <stdint.h>
#include "error.h"

typedef struct {
    const uint8_t *data; /* NULL for an empty file */
    size_t size;
    char *path;
} lf_mapped_file;

/* Refuses directories, missing and unreadable files with LINFER_ERR_IO. */
lf_status lf_map_file(const char *path, lf_mapped_file *out);
void lf_unmap_file(lf_mapped_file *f);
/* Read a whole (small) file into a NUL-terminated malloc'd buffer; max_bytes bounds it. */
lf_status lf_read_file(const char *path, size_t max_bytes, char **out, size_t *len);
int lf_path_is_dir(const char *path);
int lf_path_exists(const char *path);
#endif
