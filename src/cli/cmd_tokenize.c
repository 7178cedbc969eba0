/* cmd_tokenize.c — `linfer tokenize`: text → ids (space-separated), or ids → text with --decode.
 * -m takes a model (GGUF / HF directory) or a bare tokenizer.json. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "common.h"
#include "linfer.h"
#include "core/error.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

static void usage(FILE *f) {
    fprintf(f, "usage: linfer tokenize [-m MODEL|tokenizer.json] [--special] [--bos] [--decode] TEXT|-\n"
               "  prints token ids space-separated; '-' reads the text from stdin\n"
               "  --special   recognise special-token text (e.g. <|im_start|>) in the input\n"
               "  --bos       prepend BOS when the tokenizer uses one\n"
               "  --decode    the input is space-separated ids: print their text\n");
}

static char *read_all(FILE *f, size_t *len) {
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n < 2) { char *nb = realloc(buf, cap *= 2); if (!nb) { free(buf); return NULL; } buf = nb; }
    }
    if (buf) buf[n] = 0;
    *len = n;
    return buf;
}

static int has_suffix(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

int cmd_tokenize(int argc, char **argv) {
    static const struct option opts[] = {{"model", required_argument, 0, 'm'}, {"special", no_argument, 0, 's'},
                                         {"bos", no_argument, 0, 'b'}, {"decode", no_argument, 0, 'd'},
                                         {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *path = cli_default_model();
    int special = 0, bos = 0, decode = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': path = optarg; break;
        case 's': special = 1; break;
        case 'b': bos = 1; break;
        case 'd': decode = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 1) { usage(stderr); return 2; }
    const char *arg = argv[optind];
    size_t len = 0;
    char *text = !strcmp(arg, "-") ? read_all(stdin, &len) : strdup(arg);
    if (!text) { fprintf(stderr, "linfer: cannot read input\n"); return 1; }
    if (strcmp(arg, "-")) len = strlen(text);
    lf_tokenizer *tok = NULL;
    lf_model *model = NULL;
    lf_status s;
    if (has_suffix(path, ".json")) s = lf_tokenizer_load_json(path, &tok);
    else {
        s = lf_model_load(path, 1, &model);
        if (!s && !model->tok) s = lf_fail(LINFER_ERR_INVALID_ARG, "%s: model has no tokenizer", path);
        if (!s) tok = model->tok;
    }
    int rc = 0;
    if (s) { rc = cli_fail(s); goto done; }
    if (decode) {
        size_t cap = 64, n = 0;
        int32_t *ids = malloc(sizeof(int32_t) * cap);
        char *p = text, *end;
        while (ids) {
            while (*p == ' ' || *p == '\n' || *p == '\t' || *p == ',') p++;
            if (!*p) break;
            long v = strtol(p, &end, 10);
            if (end == p) { fprintf(stderr, "linfer: --decode expects integers, got '%.20s'\n", p); free(ids); rc = 2; goto done; }
            if (n == cap) { int32_t *ni = realloc(ids, sizeof(int32_t) * (cap *= 2)); if (!ni) break; ids = ni; }
            ids[n++] = (int32_t)v;
            p = end;
        }
        char *out = NULL;
        s = lf_tokenizer_decode(tok, ids, n, special, &out);
        free(ids);
        if (s) { rc = cli_fail(s); goto done; }
        printf("%s\n", out);
        free(out);
    } else {
        int32_t *ids = NULL;
        size_t n = 0;
        s = lf_tokenizer_encode(tok, text, len, bos, special, &ids, &n);
        if (s) { rc = cli_fail(s); goto done; }
        for (size_t i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
        printf("\n");
        free(ids);
    }
done:
    if (model) lf_model_free(model);
    else if (tok) lf_tokenizer_free(tok);
    free(text);
    return rc;
}
