/* fuzz_model_load.c — lf_model_load, the top-level entry point, on a fuzzed model: an HF directory
 * (config.json, generation_config.json, tokenizer_config.json, tokenizer.json, model.safetensors
 * or shards + model.safetensors.index.json: load_hf.c) or a GGUF file (load_gguf.c). Besides the
 * parsers the other targets cover, this reaches the loaders' own reading of the index, the
 * generation/tokenizer configs, tensor binding and shape checks.
 *
 * Input: byte 0 flags (bit 0 load_tokenizer, bit 1 load <dir>/model.gguf instead of the
 * directory), then entries [name index: 1 byte][length: u32 LE][bytes]; the name index picks from
 * fuzz_names[] (mod its size), a length past the end takes the rest. The files are written to a
 * private directory ($TMPDIR or /tmp, linfer-fuzz-model-<pid>, emptied for every input, removed
 * at exit; ones left by crashed runs are removed at the next start).
 * A model that loads is queried (linfer_model_get_info) and freed. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "fuzz_common.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

static const char *const fuzz_names[] = {
    "config.json", "generation_config.json", "tokenizer_config.json", "tokenizer.json", "model.safetensors",
    "model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
    "a.st", "a-much-longer-shard-file-name-than-the-directory-path.safetensors", "model.gguf",
};
#define FUZZ_N_NAMES (sizeof fuzz_names / sizeof fuzz_names[0])

static char fuzz_dir[512];

static void clean_dir_at(const char *dir) {
    char p[1024];
    for (size_t i = 0; i < FUZZ_N_NAMES; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, fuzz_names[i]);
        unlink(p);
    }
}
static void clean_dir(void) { clean_dir_at(fuzz_dir); }

static void remove_dir(void) {
    if (!fuzz_dir[0]) return;
    clean_dir();
    rmdir(fuzz_dir);
}

/* The directory is $TMPDIR/linfer-fuzz-model-<pid>; a crashed run cannot remove its own, so
 * remove those of processes that no longer exist. */
static void remove_stale_dirs(const char *tmp) {
    DIR *d = opendir(tmp);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        long pid;
        char rest;
        if (sscanf(e->d_name, "linfer-fuzz-model-%ld%c", &pid, &rest) != 1 || pid <= 0) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", tmp, e->d_name);
        clean_dir_at(p);
        rmdir(p);
    }
    closedir(d);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp) tmp = "/tmp";
    remove_stale_dirs(tmp);
    snprintf(fuzz_dir, sizeof fuzz_dir, "%s/linfer-fuzz-model-%ld", tmp, (long)getpid());
    if (mkdir(fuzz_dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "fuzz_model_load: mkdir(%s): %s\n", fuzz_dir, strerror(errno));
        abort();
    }
    atexit(remove_dir);
    return 0;
}

static void write_file(const char *name, const uint8_t *p, size_t n) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", fuzz_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) { fprintf(stderr, "fuzz_model_load: %s: %s\n", path, strerror(errno)); abort(); }
    if (n && fwrite(p, 1, n, f) != n) { fprintf(stderr, "fuzz_model_load: short write to %s\n", path); abort(); }
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    clean_dir();
    unsigned flags = data[0];
    size_t pos = 1;
    while (pos < size) {
        const char *name = fuzz_names[data[pos] % FUZZ_N_NAMES];
        pos++;
        uint32_t len = 0;
        size_t k = size - pos < 4 ? size - pos : 4;
        memcpy(&len, data + pos, k);
        pos += k;
        size_t n = len < size - pos ? len : size - pos;
        write_file(name, data + pos, n);
        pos += n;
    }
    char path[1024];
    if (flags & 2) snprintf(path, sizeof path, "%s/model.gguf", fuzz_dir);
    else snprintf(path, sizeof path, "%s", fuzz_dir);
    lf_model *m = (lf_model *)0x1;
    lf_status s = lf_model_load(path, flags & 1, &m);
    fuzz_report("model_load", s);
    if (s != LINFER_OK) {
        FUZZ_CHECK(m == NULL, "failed load returned a model");
        return 0;
    }
    FUZZ_CHECK(m != NULL, "load OK without a model");
    FUZZ_CHECK(lf_config_validate(&m->cfg, "fuzz") == LINFER_OK, "loaded config fails validation");
    linfer_model_info info;
    FUZZ_CHECK(linfer_model_get_info(m, &info) == LINFER_OK, "get_info failed");
    /* the bound weights lie inside the mapped files */
    const lf_tensor_src *t = &m->w.tok_embd;
    FUZZ_CHECK(t->data != NULL && t->n_dims >= 1, "no token embedding");
    int inside = 0;
    for (int i = 0; i < m->n_maps; i++)
        inside |= m->maps[i].data && fuzz_inside(t->data, t->nbytes, m->maps[i].data, m->maps[i].size);
    FUZZ_CHECK(inside, "token embedding outside the mapped files");
    fuzz_touch(t->data, (size_t)t->nbytes);
    if (m->tok) {
        int32_t *ids = NULL;
        size_t n = 0;
        if (lf_tokenizer_encode(m->tok, "Hello world", 11, 1, 1, &ids, &n) == LINFER_OK) free(ids);
    }
    lf_model_free(m);
    return 0;
}
