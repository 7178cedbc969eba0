/* table.c — one table, four renderings (terminal text, CSV, JSON, Markdown). */
#include "table.h"
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    char *text;      /* NULL = empty cell */
    double value;    /* NaN unless numeric */
    int is_num;
    int is_int;
    long long ivalue;
} cell;

struct lf_table {
    int ncols;
    char **names;
    char *title;
    cell *cells;     /* nrows * ncols */
    int nrows, cap_rows;
    int cur;         /* next column of the last row */
    lf_status err;
    char errmsg[160];
};

static const char *const fmt_names[] = {"table", "csv", "json", "md"};

lf_status lf_table_format_parse(const char *s, lf_table_format *out) {
    if (s) {
        for (int i = 0; i < 4; i++)
            if (strcasecmp(s, fmt_names[i]) == 0) { *out = (lf_table_format)i; return LINFER_OK; }
        if (strcasecmp(s, "text") == 0) { *out = LF_FMT_TABLE; return LINFER_OK; }
        if (strcasecmp(s, "markdown") == 0) { *out = LF_FMT_MD; return LINFER_OK; }
    }
    return lf_fail(LINFER_ERR_INVALID_ARG, "unknown format '%s' (known: table, csv, json, md)", s ? s : "");
}

const char *lf_table_format_name(lf_table_format f) {
    return (f >= 0 && f <= LF_FMT_MD) ? fmt_names[f] : "?";
}

static char *dupstr(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static void set_err(lf_table *t, lf_status s, const char *msg) {
    if (t->err == LINFER_OK) {
        t->err = s;
        snprintf(t->errmsg, sizeof t->errmsg, "%s", msg);
    }
}

lf_table *lf_table_new(int ncols, const char *const *names) {
    if (ncols <= 0) return NULL;
    lf_table *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->ncols = ncols;
    t->names = calloc((size_t)ncols, sizeof *t->names);
    if (!t->names) { free(t); return NULL; }
    for (int i = 0; i < ncols; i++) {
        t->names[i] = dupstr(names && names[i] ? names[i] : "");
        if (!t->names[i]) { lf_table_free(t); return NULL; }
    }
    t->cur = ncols;
    return t;
}

void lf_table_free(lf_table *t) {
    if (!t) return;
    for (int i = 0; i < t->ncols; i++) free(t->names ? t->names[i] : NULL);
    free(t->names);
    for (long i = 0; i < (long)t->nrows * t->ncols; i++) free(t->cells[i].text);
    free(t->cells);
    free(t->title);
    free(t);
}

void lf_table_set_title(lf_table *t, const char *title) {
    if (!t) return;
    free(t->title);
    t->title = title ? dupstr(title) : NULL;
    if (title && !t->title) set_err(t, LINFER_ERR_OUT_OF_MEMORY, "table: out of memory");
}

void lf_table_row(lf_table *t) {
    if (!t) return;
    if (t->nrows == t->cap_rows) {
        int nc = t->cap_rows ? t->cap_rows * 2 : 16;
        cell *c = realloc(t->cells, (size_t)nc * (size_t)t->ncols * sizeof *c);
        if (!c) { set_err(t, LINFER_ERR_OUT_OF_MEMORY, "table: out of memory"); t->cur = t->ncols; return; }
        t->cells = c;
        t->cap_rows = nc;
    }
    cell *row = t->cells + (size_t)t->nrows * t->ncols;
    for (int i = 0; i < t->ncols; i++) { row[i].text = NULL; row[i].value = NAN; row[i].is_num = 0; row[i].is_int = 0; row[i].ivalue = 0; }
    t->nrows++;
    t->cur = 0;
}

static cell *next_cell(lf_table *t) {
    if (!t) return NULL;
    if (t->nrows == 0 || t->cur >= t->ncols) {
        set_err(t, LINFER_ERR_INTERNAL, "table: more cells than columns (or no lf_table_row)");
        return NULL;
    }
    return &t->cells[(size_t)(t->nrows - 1) * t->ncols + t->cur++];
}

void lf_table_str(lf_table *t, const char *s) {
    cell *c = next_cell(t);
    if (!c || !s) return;
    c->text = dupstr(s);
    if (!c->text) set_err(t, LINFER_ERR_OUT_OF_MEMORY, "table: out of memory");
}

void lf_table_strf(lf_table *t, const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    lf_table_str(t, buf);
}

void lf_table_num(lf_table *t, double v, int prec) {
    cell *c = next_cell(t);
    if (!c || !isfinite(v)) return;
    char buf[64];
    if (prec >= 0) snprintf(buf, sizeof buf, "%.*f", prec > 17 ? 17 : prec, v);
    else snprintf(buf, sizeof buf, "%.*g", -prec > 17 ? 17 : -prec, v);
    c->text = dupstr(buf);
    if (!c->text) { set_err(t, LINFER_ERR_OUT_OF_MEMORY, "table: out of memory"); return; }
    c->is_num = 1;
    c->value = v;
}

void lf_table_int(lf_table *t, long long v) {
    cell *c = next_cell(t);
    if (!c) return;
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", v);
    c->text = dupstr(buf);
    if (!c->text) { set_err(t, LINFER_ERR_OUT_OF_MEMORY, "table: out of memory"); return; }
    c->is_num = c->is_int = 1;
    c->ivalue = v;
    c->value = (double)v;
}

void lf_table_empty(lf_table *t) { (void)next_cell(t); }

int lf_table_nrows(const lf_table *t) { return t ? t->nrows : 0; }
int lf_table_ncols(const lf_table *t) { return t ? t->ncols : 0; }

static const cell *get(const lf_table *t, int r, int c) {
    if (!t || r < 0 || r >= t->nrows || c < 0 || c >= t->ncols) return NULL;
    return &t->cells[(size_t)r * t->ncols + c];
}

const char *lf_table_cell(const lf_table *t, int row, int col) {
    const cell *c = get(t, row, col);
    return c && c->text ? c->text : "";
}

double lf_table_value(const lf_table *t, int row, int col) {
    const cell *c = get(t, row, col);
    return c && c->is_num ? c->value : NAN;
}

/* Display width in code points (UTF-8 continuation bytes do not count). */
static int width(const char *s) {
    int w = 0;
    for (; *s; s++) w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

static int col_numeric(const lf_table *t, int c) {
    int any = 0;
    for (int r = 0; r < t->nrows; r++) {
        const cell *x = get(t, r, c);
        if (!x->text) continue;
        if (!x->is_num) return 0;
        any = 1;
    }
    return any;
}

/* Writes cells of one line; spaces are held back until something follows them, so lines carry
 * no trailing blanks. */
typedef struct { FILE *f; int pending; } line_out;

static void lo_space(line_out *o, int n) { if (n > 0) o->pending += n; }
static void lo_text(line_out *o, const char *s) {
    if (!*s) return;
    for (; o->pending > 0; o->pending--) fputc(' ', o->f);
    fputs(s, o->f);
}
static void lo_end(line_out *o) { o->pending = 0; fputc('\n', o->f); }

static void write_text(const lf_table *t, FILE *f) {
    int *w = calloc((size_t)t->ncols, sizeof *w), *num = calloc((size_t)t->ncols, sizeof *num);
    if (!w || !num) { free(w); free(num); return; }
    for (int c = 0; c < t->ncols; c++) {
        w[c] = width(t->names[c]);
        num[c] = col_numeric(t, c);
        for (int r = 0; r < t->nrows; r++) {
            int cw = width(lf_table_cell(t, r, c));
            if (cw > w[c]) w[c] = cw;
        }
    }
    line_out o = {f, 0};
    if (t->title) fprintf(f, "%s\n", t->title);
    for (int r = -2; r < t->nrows; r++) {
        for (int c = 0; c < t->ncols; c++) {
            if (c) lo_space(&o, 2);
            if (r == -1) {
                for (int i = 0; i < w[c]; i++) lo_text(&o, "-");
                continue;
            }
            const char *s = r == -2 ? t->names[c] : lf_table_cell(t, r, c);
            int p = w[c] - width(s);
            if (num[c]) lo_space(&o, p);
            lo_text(&o, s);
            if (!num[c]) lo_space(&o, p);
        }
        lo_end(&o);
    }
    free(w);
    free(num);
}

void lf_csv_field(FILE *f, const char *s) {
    int quote = s[0] == ' ' || (s[0] && s[strlen(s) - 1] == ' ') || strpbrk(s, ",\"\r\n") != NULL;
    if (!quote) { fputs(s, f); return; }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void write_csv(const lf_table *t, FILE *f) {
    for (int c = 0; c < t->ncols; c++) { if (c) fputc(',', f); lf_csv_field(f, t->names[c]); }
    fputc('\n', f);
    for (int r = 0; r < t->nrows; r++) {
        for (int c = 0; c < t->ncols; c++) {
            if (c) fputc(',', f);
            const cell *x = get(t, r, c);
            if (x->is_num && !x->is_int) fprintf(f, "%.10g", x->value);   /* full precision for tools */
            else lf_csv_field(f, lf_table_cell(t, r, c));
        }
        fputc('\n', f);
    }
}

void lf_json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20) fprintf(f, "\\u%04x", *p);
            else fputc(*p, f);
        }
    }
    fputc('"', f);
}

static void write_json_array(const lf_table *t, FILE *f, const char *indent) {
    fputc('[', f);
    for (int r = 0; r < t->nrows; r++) {
        fprintf(f, "%s\n%s  {", r ? "," : "", indent);
        for (int c = 0; c < t->ncols; c++) {
            const cell *x = get(t, r, c);
            if (c) fputs(", ", f);
            lf_json_string(f, t->names[c]);
            fputs(": ", f);
            if (!x->text) fputs("null", f);
            else if (x->is_int) fprintf(f, "%lld", x->ivalue);
            else if (x->is_num) fprintf(f, "%.10g", x->value);
            else lf_json_string(f, x->text);
        }
        fputc('}', f);
    }
    if (t->nrows) fprintf(f, "\n%s", indent);
    fputc(']', f);
}

static void md_cell(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '|') fputs("\\|", f);
        else if (*s == '\n') fputc(' ', f);
        else fputc(*s, f);
    }
}

static void write_md(const lf_table *t, FILE *f) {
    if (t->title) fprintf(f, "**%s**\n\n", t->title);
    fputc('|', f);
    for (int c = 0; c < t->ncols; c++) { fputc(' ', f); md_cell(f, t->names[c]); fputs(" |", f); }
    fputs("\n|", f);
    for (int c = 0; c < t->ncols; c++) fputs(col_numeric(t, c) ? "---:|" : "---|", f);
    fputc('\n', f);
    for (int r = 0; r < t->nrows; r++) {
        fputc('|', f);
        for (int c = 0; c < t->ncols; c++) { fputc(' ', f); md_cell(f, lf_table_cell(t, r, c)); fputs(" |", f); }
        fputc('\n', f);
    }
}

static lf_status check(const lf_table *t) {
    if (!t) return lf_fail(LINFER_ERR_INVALID_ARG, "table: NULL");
    if (t->err != LINFER_OK) return lf_fail(t->err, "%s", t->errmsg);
    return LINFER_OK;
}

lf_status lf_table_write(const lf_table *t, FILE *f, lf_table_format fmt) {
    LF_TRY(check(t));
    switch (fmt) {
    case LF_FMT_TABLE: write_text(t, f); break;
    case LF_FMT_CSV: write_csv(t, f); break;
    case LF_FMT_JSON: write_json_array(t, f, ""); fputc('\n', f); break;
    case LF_FMT_MD: write_md(t, f); break;
    default: return lf_fail(LINFER_ERR_INVALID_ARG, "table: unknown format %d", (int)fmt);
    }
    if (ferror(f)) return lf_fail(LINFER_ERR_IO, "table: write failed");
    return LINFER_OK;
}

lf_status lf_table_write_json_object(FILE *f, int n, const char *const *keys, const lf_table *const *tables) {
    for (int i = 0; i < n; i++) LF_TRY(check(tables[i]));
    fputc('{', f);
    for (int i = 0; i < n; i++) {
        fprintf(f, "%s\n  ", i ? "," : "");
        lf_json_string(f, keys[i]);
        fputs(": ", f);
        write_json_array(tables[i], f, "  ");
    }
    fputs("\n}\n", f);
    if (ferror(f)) return lf_fail(LINFER_ERR_IO, "table: write failed");
    return LINFER_OK;
}
