/* nccl_loader.c — dlopen NCCL at run time (see nccl_loader.h). */
#include "nccl_loader.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *lf_nccl_version_str(int code, char *buf, size_t cap) {
    if (code <= 0) snprintf(buf, cap, "?");
    else if (code >= 10000) snprintf(buf, cap, "%d.%d.%d", code / 10000, (code / 100) % 100, code % 100);
    else snprintf(buf, cap, "%d.%d.%d", code / 1000, (code / 100) % 10, code % 100);
    return buf;
}

#ifndef LINFER_HAVE_CUDA
lf_status lf_nccl_open(unsigned flags, lf_nccl **out) {
    (void)flags;
    if (out) *out = NULL;
    return lf_fail(LINFER_ERR_UNSUPPORTED, "NCCL: this linfer was built without CUDA (nvcc not found at build time)");
}
void lf_nccl_close(lf_nccl *n) { (void)n; }
const char *lf_nccl_lib_path(const lf_nccl *n) { (void)n; return ""; }
int lf_nccl_version(const lf_nccl *n) { (void)n; return 0; }
#else
#include <dlfcn.h>
#include <link.h>

const char *lf_nccl_lib_path(const lf_nccl *n) { return n ? n->path : ""; }
int lf_nccl_version(const lf_nccl *n) { return n ? n->version : 0; }
void lf_nccl_close(lf_nccl *n) { free(n); }

/* Append "what (why)" to the list of tried candidates. */
static void tried_add(char *tried, size_t cap, const char *what, const char *why) {
    size_t l = strlen(tried);
    if (l + 1 >= cap) return;
    snprintf(tried + l, cap - l, "%s%s (%s)", l ? ", " : "", what, why);
}

#define SYM(field, name, required)                                                              \
    do {                                                                                        \
        void *p_ = dlsym(h, name);                                                              \
        if (!p_ && (required)) { missing = name; goto fail; }                                   \
        memcpy(&n->field, &p_, sizeof p_); /* object pointer -> function pointer, POSIX-style */ \
    } while (0)

/* dlopen one candidate and resolve the symbols; on failure writes the reason into why. */
static lf_nccl *try_open(const char *file, char *why, size_t cap) {
    dlerror();
    void *h = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(why, cap, "%s", e ? e : "dlopen failed");
        return NULL;
    }
    lf_nccl *n = calloc(1, sizeof *n);
    if (!n) { dlclose(h); snprintf(why, cap, "out of memory"); return NULL; }
    const char *missing = NULL;
    SYM(GetVersion, "ncclGetVersion", 1);
    SYM(GetErrorString, "ncclGetErrorString", 1);
    SYM(CommInitAll, "ncclCommInitAll", 1);
    SYM(CommDestroy, "ncclCommDestroy", 1);
    SYM(CommAbort, "ncclCommAbort", 0);
    SYM(AllReduce, "ncclAllReduce", 1);
    SYM(GroupStart, "ncclGroupStart", 1);
    SYM(GroupEnd, "ncclGroupEnd", 1);
    SYM(GetUniqueId, "ncclGetUniqueId", 1);
    SYM(CommInitRank, "ncclCommInitRank", 1);
    SYM(CommGetAsyncError, "ncclCommGetAsyncError", 0);
    SYM(AllGather, "ncclAllGather", 1);
    SYM(Broadcast, "ncclBroadcast", 1);
    SYM(Send, "ncclSend", 1);
    SYM(Recv, "ncclRecv", 1);
    SYM(CommSplit, "ncclCommSplit", 0);
    n->handle = h;
    snprintf(n->path, sizeof n->path, "%s", file);
    struct link_map *lm = NULL;
    if (dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0 && lm && lm->l_name && lm->l_name[0])
        snprintf(n->path, sizeof n->path, "%s", lm->l_name);
    int v = 0;
    if (n->GetVersion(&v) != ncclSuccess) v = 0;
    n->version = v;
    return n;
fail:
    snprintf(why, cap, "%s: no symbol %s", file, missing);
    free(n);
    dlclose(h);
    return NULL;
}
#undef SYM

/* Folder of the Python package nvidia-nccl ("" when python3 or the package is missing). */
static void python_nccl_dir(char *dir, size_t cap) {
    dir[0] = 0;
    FILE *p = popen("python3 -c 'import nvidia.nccl as m; print(list(m.__path__)[0])' 2>/dev/null", "r");
    if (!p) return;
    char line[1024];
    if (fgets(line, sizeof line, p)) {
        size_t l = strlen(line);
        while (l && (line[l - 1] == '\n' || line[l - 1] == '\r' || line[l - 1] == ' ')) line[--l] = 0;
        snprintf(dir, cap, "%s", line);
    }
    int st = pclose(p);
    if (st != 0) dir[0] = 0;
}

lf_status lf_nccl_open(unsigned flags, lf_nccl **out) {
    if (!out) return lf_fail(LINFER_ERR_INVALID_ARG, "lf_nccl_open: out is NULL");
    *out = NULL;
    char tried[900] = "", why[512];
    lf_nccl *n = NULL;

    const char *env = getenv("LINFER_NCCL_LIB");
    if (env && *env) {
        if ((n = try_open(env, why, sizeof why))) goto ok;
        char what[600];
        snprintf(what, sizeof what, "$LINFER_NCCL_LIB=%s", env);
        tried_add(tried, sizeof tried, what, why);
    } else {
        tried_add(tried, sizeof tried, "$LINFER_NCCL_LIB", "unset");
    }

    static const char *const names[] = {"libnccl.so.2", "libnccl.so"};
    for (int i = 0; i < 2; i++) {
        if (flags & LF_NCCL_SKIP_SYSTEM) { tried_add(tried, sizeof tried, names[i], "skipped"); continue; }
        if ((n = try_open(names[i], why, sizeof why))) goto ok;
        tried_add(tried, sizeof tried, names[i], why);
    }

    if (flags & LF_NCCL_SKIP_PYTHON) {
        tried_add(tried, sizeof tried, "python3 nvidia.nccl", "skipped");
    } else {
        char dir[600], file[700];
        python_nccl_dir(dir, sizeof dir);
        if (!dir[0]) {
            tried_add(tried, sizeof tried, "python3 nvidia.nccl", "python3 or the package nvidia-nccl not found");
        } else {
            snprintf(file, sizeof file, "%s/lib/libnccl.so.2", dir);
            if ((n = try_open(file, why, sizeof why))) goto ok;
            tried_add(tried, sizeof tried, "python3 nvidia.nccl", why);
        }
    }
    return lf_fail(LINFER_ERR_UNSUPPORTED, "NCCL not found: tried %s", tried);
ok:
    *out = n;
    return LINFER_OK;
}
#endif
