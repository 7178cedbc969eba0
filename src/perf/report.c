/* report.c — `linfer report`: results (bench, roofline, profile JSON) → one self-contained HTML
 * page. Reading and classifying the files, the chart data, gnuplot as a child process on a
 * generated script (SVG, embedded base64), and the tables. See report.h for the charts. */
#include "report.h"
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "profile.h"

extern char **environ;

static const char *const kind_names[] = {"bench", "roofline", "profile"};
const char *lf_result_kind_name(lf_result_kind k) { return (unsigned)k < 3 ? kind_names[k] : "?"; }

/* ---- JSON helpers -------------------------------------------------------------------------------- */
static const cJSON *jget(const cJSON *o, const char *k) { return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL; }
static double jnum(const cJSON *o, const char *k) {
    const cJSON *v = jget(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}
static const char *jstr(const cJSON *o, const char *k) {
    const cJSON *v = jget(o, k);
    return cJSON_IsString(v) && v->valuestring ? v->valuestring : "";
}

/* ---- loading ----------------------------------------------------------------------------------- */
static const char *recipe_of(const cJSON *j) {
    const cJSON *meta = jget(j, "meta"), *r = jget(meta, "recipe");
    if (!r) r = jget(j, "recipe");
    if (!r) r = jget(cJSON_GetArrayItem(jget(j, "points"), 0), "recipe");
    if (cJSON_IsString(r) && r->valuestring) return r->valuestring;
    if (cJSON_IsObject(r)) return jstr(r, "name");
    return "";
}

lf_status lf_result_load(const char *path, lf_result *out) {
    memset(out, 0, sizeof *out);
    struct stat st;
    if (stat(path, &st) != 0) return lf_fail(LINFER_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) return lf_fail(LINFER_ERR_IO, "%s: is a directory, not a result file", path);
    FILE *f = fopen(path, "rb");
    if (!f) return lf_fail(LINFER_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) { fclose(f); return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "%s: out of memory for %zu bytes", path, cap); }
    for (size_t r; (r = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += r;
        if (n == cap) {
            char *nb = realloc(buf, 2 * cap + 1);
            if (!nb) { free(buf); fclose(f); return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "%s: out of memory", path); }
            buf = nb;
            cap *= 2;
        }
    }
    int rerr = ferror(f);
    fclose(f);
    if (rerr) { free(buf); return lf_fail(LINFER_ERR_IO, "%s: read error", path); }
    buf[n] = 0;
    size_t ws = strspn(buf, " \t\r\n");
    if (ws == n) { free(buf); return lf_fail(LINFER_ERR_FORMAT, "%s: empty file, not a JSON result", path); }
    cJSON *j = cJSON_ParseWithLength(buf, n);
    if (!j) {
        const char *e = cJSON_GetErrorPtr();
        long off = e && e >= buf && e <= buf + n ? (long)(e - buf) : -1;
        free(buf);
        return lf_fail(LINFER_ERR_FORMAT, "%s: not JSON (parse error near byte %ld)", path, off);
    }
    free(buf);
    lf_status s = LINFER_OK;
    const cJSON *kind = jget(j, "kind"), *pts = jget(j, "points");
    const cJSON *p0 = cJSON_IsArray(pts) ? cJSON_GetArrayItem(pts, 0) : cJSON_IsArray(j) ? cJSON_GetArrayItem(j, 0) : NULL;
    if (cJSON_IsString(kind)) {
        const char *k = kind->valuestring;
        if (!strcmp(k, "profile")) {
            out->kind = LF_RESULT_PROFILE;
            if (!cJSON_IsArray(jget(j, "phases"))) s = lf_fail(LINFER_ERR_FORMAT, "%s: a profile result without a \"phases\" array", path);
        } else if (!strcmp(k, "bench")) out->kind = LF_RESULT_BENCH;
        else if (!strcmp(k, "roofline")) out->kind = LF_RESULT_ROOFLINE;
        else s = lf_fail(LINFER_ERR_FORMAT, "%s: unknown result kind '%s' (known: bench, roofline, profile)", path, k);
    } else if (cJSON_IsObject(j) && cJSON_IsArray(pts) && (jget(p0, "tpot_mean_ms") || (!p0 && !jget(j, "meta")))) {
        out->kind = LF_RESULT_ROOFLINE;   /* roofline --format json --per-op: {"points": [...], "ops": [...]} */
    } else if (cJSON_IsObject(j) && cJSON_IsArray(pts) && (jget(p0, "ttft_ms") || !p0)) {
        out->kind = LF_RESULT_BENCH;      /* bench --json: {"meta": {...}, "points": [...]} */
    } else if (cJSON_IsArray(j) && (jget(p0, "tpot_mean_ms") || (jget(p0, "gpu") && jget(p0, "ttft_ms")))) {
        out->kind = LF_RESULT_ROOFLINE;   /* roofline --format json: [...] */
    } else {
        s = lf_fail(LINFER_ERR_FORMAT, "%s: unknown result kind: not the JSON of linfer bench --json, roofline --format json or "
                    "profile --json", path);
    }
    if (s) { cJSON_Delete(j); return s; }
    if (cJSON_IsArray(j)) {   /* normalise a bare roofline points array to {"points": [...]} */
        cJSON *o = cJSON_CreateObject();
        if (!o) { cJSON_Delete(j); return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "%s: out of memory", path); }
        cJSON_AddItemToObject(o, "points", j);
        j = o;
    }
    out->json = j;
    snprintf(out->recipe, sizeof out->recipe, "%s", recipe_of(j));
    out->path = strdup(path);
    if (!out->path) { lf_result_free(out); return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "%s: out of memory", path); }
    return LINFER_OK;
}

void lf_result_free(lf_result *r) {
    if (!r) return;
    cJSON_Delete(r->json);
    free(r->path);
    memset(r, 0, sizeof *r);
}

void lf_report_default_opts(lf_report_opts *o) {
    memset(o, 0, sizeof *o);
    o->title = "linfer report";
    o->width = 960;
    o->height = 420;
}

/* ---- chart model ------------------------------------------------------------------------------- */
enum { ST_LINES, ST_DASHED, ST_POINTS, ST_LABELED, ST_PRED };   /* ST_PRED: dashed with its own key entry */
typedef struct { double x, y; char lab[40]; } cpt;
typedef struct { char title[192]; int style, color, n, cap; cpt *p; } series;
#define MAX_SERIES 24
#define MAX_BARS 24
typedef struct {
    char title[160], xlabel[80], ylabel[80];
    int logx, logy;
    series s[MAX_SERIES];
    int ns;
    char funcs[512];                       /* more plot items ("x title 'y = x'") */
    char key[64];                          /* "set key" placement (default "below") */
    char pre[1024];                        /* commands before plot */
    int stacked, nrows;                    /* stacked bars: rows are bars, columns the categories */
    char rowlab[MAX_BARS][48];
    double val[MAX_BARS][LF_PROF_NCAT];
} panel;
typedef struct {
    char id[48], title[200], caption[700];
    panel p[2];
    int np;
} chart;

static chart *chart_new(const char *id, const char *title) {
    chart *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    snprintf(c->id, sizeof c->id, "%s", id);
    snprintf(c->title, sizeof c->title, "%s", title);
    return c;
}

static void chart_free(chart *c) {
    if (!c) return;
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < c->p[i].ns; k++) free(c->p[i].s[k].p);
    free(c);
}

static panel *panel_add(chart *c, const char *title, const char *xl, const char *yl, int logx, int logy) {
    panel *p = &c->p[c->np++];
    snprintf(p->title, sizeof p->title, "%s", title);
    snprintf(p->xlabel, sizeof p->xlabel, "%s", xl);
    snprintf(p->ylabel, sizeof p->ylabel, "%s", yl);
    p->logx = logx;
    p->logy = logy;
    return p;
}

/* the series of this title and style (made on first use; NULL when the panel is full) */
static series *panel_series(panel *p, const char *title, int style, int color) {
    for (int i = 0; i < p->ns; i++)
        if (p->s[i].style == style && !strcmp(p->s[i].title, title)) return &p->s[i];
    if (p->ns == MAX_SERIES) return NULL;
    series *s = &p->s[p->ns++];
    snprintf(s->title, sizeof s->title, "%s", title);
    s->style = style;
    s->color = color;
    return s;
}

/* returns 0 on out of memory */
static int series_add(series *s, double x, double y, const char *lab) {
    if (!s || !isfinite(x) || !isfinite(y)) return 1;
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 16;
        cpt *n = realloc(s->p, sizeof *n * (size_t)cap);
        if (!n) return 0;
        s->p = n;
        s->cap = cap;
    }
    cpt *q = &s->p[s->n++];
    q->x = x;
    q->y = y;
    snprintf(q->lab, sizeof q->lab, "%s", lab ? lab : "");
    return 1;
}

static int cmp_cpt(const void *a, const void *b) {
    const cpt *x = a, *y = b;
    return x->x < y->x ? -1 : x->x > y->x;
}

/* ---- gnuplot ----------------------------------------------------------------------------------- */
typedef struct {
    const lf_report_opts *o;
    char dir[1024];
    int gnuplot_missing;
} render_ctx;

/* a gnuplot single-quoted string ('' for a quote) */
static void gq(FILE *f, const char *s) {
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'') fputc('\'', f);
        if (*s == '\n') { fputc(' ', f); continue; }
        fputc(*s, f);
    }
    fputc('\'', f);
}

static int usable(const panel *p, const cpt *q) { return (!p->logx || q->x > 0) && (!p->logy || q->y > 0); }

static char *read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t cap = 0;
    *n = 0;
    for (;;) {
        if (*n + 4096 + 1 > cap) {
            size_t nc = cap ? 2 * cap : 65536;
            char *nb = realloc(buf, nc);
            if (!nb) { free(buf); fclose(f); return NULL; }
            buf = nb;
            cap = nc;
        }
        size_t r = fread(buf + *n, 1, cap - *n - 1, f);
        if (!r) break;
        *n += r;
    }
    fclose(f);
    if (buf) buf[*n] = 0;
    return buf;
}

static int run_gnuplot(render_ctx *rc, const char *script, const char *errfile, char *note, size_t cap) {
    const char *prog = rc->o->gnuplot && *rc->o->gnuplot ? rc->o->gnuplot : getenv("LINFER_GNUPLOT");
    if (!prog || !*prog) prog = "gnuplot";
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, errfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    char *argv[] = {(char *)prog, (char *)script, NULL};
    pid_t pid;
    int e = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (e) {
        if (e == ENOENT) rc->gnuplot_missing = 1;
        snprintf(note, cap, "gnuplot not run (%s: %s; install gnuplot-nox)", prog, strerror(e));
        return 0;
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) { snprintf(note, cap, "gnuplot: waitpid: %s", strerror(errno)); return 0; }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 127) {
        rc->gnuplot_missing = 1;
        snprintf(note, cap, "gnuplot not found (%s; install gnuplot-nox)", prog);
        return 0;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        size_t n;
        char *err = read_file(errfile, &n);
        char line[200] = "";
        if (err) {
            /* the first line that says something */
            char *p = err;
            while (*p) {
                size_t l = strcspn(p, "\n");
                if (l > 1 && strspn(p, " ^\t") < l) { snprintf(line, sizeof line, "%.*s", (int)(l < 190 ? l : 190), p); break; }
                p += l + (p[l] ? 1 : 0);
            }
            free(err);
        }
        snprintf(note, cap, "gnuplot failed (%s %d)%s%s", WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st),
                 line[0] ? ": " : "", line);
        return 0;
    }
    return 1;
}

/* Render c with gnuplot; *svg gets the SVG text (malloc'd). 0 with a note when it cannot. */
static int render(render_ctx *rc, chart *c, char **svg, size_t *svg_n, char *note, size_t cap) {
    *svg = NULL;
    if (rc->gnuplot_missing) { snprintf(note, cap, "gnuplot not found (install gnuplot-nox)"); return 0; }
    /* drop empty series and panels */
    int np = 0;
    for (int i = 0; i < c->np; i++) {
        panel *p = &c->p[i];
        int ns = 0;
        for (int k = 0; k < p->ns; k++) {
            int use = 0;
            for (int j = 0; j < p->s[k].n; j++) use += usable(p, &p->s[k].p[j]);
            if (use) p->s[ns++] = p->s[k];
            else free(p->s[k].p);
        }
        p->ns = ns;
        if ((p->stacked && p->nrows) || (!p->stacked && ns)) {
            if (np != i) c->p[np] = *p;
            np++;
        }
    }
    for (int i = np; i < c->np; i++) c->p[i].ns = 0;   /* moved or freed */
    c->np = np;
    if (!np) { snprintf(note, cap, "no data for it in the results given"); return 0; }
    char path[1200], script[1200], out[1200], errf[1200];
    snprintf(script, sizeof script, "%s/%s.gp", rc->dir, c->id);
    snprintf(out, sizeof out, "%s/%s.svg", rc->dir, c->id);
    snprintf(errf, sizeof errf, "%s/%s.err", rc->dir, c->id);
    FILE *g = fopen(script, "w");
    if (!g) { snprintf(note, cap, "%s: cannot write: %s", script, strerror(errno)); return 0; }
    fprintf(g, "set terminal svg size %d,%d noenhanced font 'Sans,11' background '#ffffff'\nset output ", rc->o->width, rc->o->height);
    gq(g, out);
    fputc('\n', g);
    fprintf(g, "set encoding utf8\nset samples 400\n");
    if (np > 1) fprintf(g, "set multiplot layout 1,%d\n", np);
    for (int i = 0; i < np; i++) {
        panel *p = &c->p[i];
        fprintf(g, "unset logscale\nset autoscale\nset grid\nset title ");
        gq(g, p->title);
        fprintf(g, "\nset xlabel ");
        gq(g, p->xlabel);
        fprintf(g, "\nset ylabel ");
        gq(g, p->ylabel);
        fputc('\n', g);
        if (p->logx == 2) fprintf(g, "set logscale x 2\nset autoscale xfix\nset offsets graph 0.04, graph 0.04, graph 0.05, 0\n");
        else if (p->logx) fprintf(g, "set logscale x\n");
        if (p->logy) fprintf(g, "set logscale y\n");
        if (p->pre[0]) fprintf(g, "%s\n", p->pre);
        if (p->stacked) {
            int used[LF_PROF_NCAT] = {0}, nc = 0;
            for (int r = 0; r < p->nrows; r++)
                for (int k = 0; k < LF_PROF_NCAT; k++) if (p->val[r][k] != 0 && isfinite(p->val[r][k])) used[k] = 1;
            snprintf(path, sizeof path, "%s/%s-p%d.dat", rc->dir, c->id, i);
            FILE *d = fopen(path, "w");
            if (!d) { fclose(g); snprintf(note, cap, "%s: cannot write: %s", path, strerror(errno)); return 0; }
            fprintf(d, "bar");
            for (int k = 0; k < LF_PROF_NCAT; k++) if (used[k]) { fprintf(d, " \"%s\"", lf_profile_cat_name(k)); nc++; }
            fputc('\n', d);
            for (int r = 0; r < p->nrows; r++) {
                fprintf(d, "\"%s\"", p->rowlab[r]);
                for (int k = 0; k < LF_PROF_NCAT; k++) if (used[k]) fprintf(d, " %.6g", isfinite(p->val[r][k]) ? p->val[r][k] : 0.0);
                fputc('\n', d);
            }
            fclose(d);
            if (!nc) nc = 1;
            /* one fixed colour per category, the same in every chart */
            static const char *const cat_color[LF_PROF_NCAT] = {"#8c564b", "#bcbd22", "#1f77b4", "#17becf", "#d62728", "#aec7e8", "#9467bd",
                                                                 "#2ca02c", "#ff7f0e", "#98df8a", "#e377c2", "#7f7f7f", "#ffbb78", "#d9d9d9"};
            fprintf(g, "COLS = \"");
            for (int k = 0; k < LF_PROF_NCAT; k++) if (used[k]) fprintf(g, "%s ", cat_color[k]);
            fprintf(g, "\"\n");
            fprintf(g, "set style data histograms\nset style histogram rowstacked\nset style fill solid 0.9 border -1\nset boxwidth 0.75\n"
                       "set yrange [0:*]\nset xtics rotate by -35 font ',8'\nset bmargin 6\nset key outside right top vertical font ',9'\n"
                       "plot for [i=2:%d] ", nc + 1);
            gq(g, path);
            fprintf(g, " using i:xtic(1) title columnheader(i) lc rgb word(COLS, i-1)\n");
            continue;
        }
        fprintf(g, "set offsets 0, 0, 0, 0\n");
        if (p->logx == 2) fprintf(g, "set offsets graph 0.04, graph 0.04, graph 0.05, 0\n");
        fprintf(g, "set key %s font ',9'\nplot ", p->key[0] ? p->key : "below");
        int first = 1, dashed = 0;
        for (int k = 0; k < p->ns; k++) {
            series *s = &p->s[k];
            if (s->style == ST_LINES || s->style == ST_DASHED || s->style == ST_PRED) qsort(s->p, (size_t)s->n, sizeof s->p[0], cmp_cpt);
            snprintf(path, sizeof path, "%s/%s-p%d-s%d.dat", rc->dir, c->id, i, k);
            FILE *d = fopen(path, "w");
            if (!d) { fclose(g); snprintf(note, cap, "%s: cannot write: %s", path, strerror(errno)); return 0; }
            for (int j = 0; j < s->n; j++) {
                if (!usable(p, &s->p[j])) continue;
                fprintf(d, "%.9g %.9g \"", s->p[j].x, s->p[j].y);
                for (const char *q = s->p[j].lab; *q; q++) fputc(*q == '"' ? '\'' : *q, d);
                fprintf(d, "\"\n");
            }
            fclose(d);
            if (!first) fprintf(g, ", \\\n     ");
            first = 0;
            gq(g, path);
            int lc = 1 + (s->color % 8);
            switch (s->style) {
            case ST_LINES: fprintf(g, " using 1:2 with linespoints lt %d lw 2 pt 7 ps 0.6 title ", lc); break;
            case ST_DASHED: fprintf(g, " using 1:2 with linespoints lt %d lw 1.5 dt 2 pt 6 ps 0.6 notitle", lc); dashed = 1; break;
            case ST_PRED: fprintf(g, " using 1:2 with linespoints lt %d lw 2 dt 3 pt 4 ps 0.7 title ", lc); break;
            case ST_POINTS: fprintf(g, " using 1:2 with points lt %d pt 7 ps 0.8 title ", lc); break;
            default: fprintf(g, " using 1:2 with points lt %d pt 7 ps 0.9 title ", lc); break;
            }
            if (s->style != ST_DASHED) gq(g, s->title);
            if (s->style == ST_LABELED) {
                fprintf(g, ", \\\n     ");
                gq(g, path);
                fprintf(g, " using 1:2:3 with labels offset char 0.6,0.5 left font ',8' tc lt %d notitle", lc);
            }
        }
        if (dashed) fprintf(g, ", \\\n     keyentry with lines dt 2 lw 1.5 lc rgb 'gray40' title 'dashed: roofline prediction'");
        if (p->funcs[0]) fprintf(g, ", \\\n     %s", p->funcs);
        fputc('\n', g);
    }
    if (np > 1) fprintf(g, "unset multiplot\n");
    int werr = ferror(g);
    if (fclose(g) != 0 || werr) { snprintf(note, cap, "%s: write failed", script); return 0; }
    if (!run_gnuplot(rc, script, errf, note, cap)) return 0;
    char *t = read_file(out, svg_n);
    char *sv = t ? strstr(t, "<svg") : NULL;
    if (!sv) { free(t); snprintf(note, cap, "gnuplot wrote no SVG to %s", out); return 0; }
    memmove(t, sv, strlen(sv) + 1);   /* drop the XML prolog and DOCTYPE */
    *svg_n = strlen(t);
    *svg = t;
    return 1;
}

/* ---- bench points -------------------------------------------------------------------------------- */
typedef struct {
    int file, cpu;
    const char *recipe, *model;   /* model: the result's meta.model ("" when absent) */
    double batch, in, out, tp;
    double ttft, tpot, e2e, otoks, rss, gpumem, pttft, ptpot, pe2e, pmem;
} bpoint;

static int is_ok(const cJSON *p) {
    const char *s = jstr(p, "state");
    return !*s || !strcmp(s, "ok");
}

/* every ok point of the bench results that feed recipe key (NULL: all bench results) */
static bpoint *bench_points(const lf_result *res, int n, const char *key, int *np) {
    int any = 0, cnt = 0;
    for (int i = 0; i < n && key; i++)
        if (res[i].kind == LF_RESULT_BENCH && !strcmp(res[i].recipe, key)) any = 1;
    for (int pass = 0; pass < 2; pass++) {
        bpoint *v = pass ? calloc((size_t)(cnt ? cnt : 1), sizeof *v) : NULL;
        if (pass && !v) { *np = -1; return NULL; }
        int k = 0;
        for (int i = 0; i < n; i++) {
            if (res[i].kind != LF_RESULT_BENCH) continue;
            if (key && (any ? strcmp(res[i].recipe, key) : res[i].recipe[0] != 0)) continue;
            const cJSON *meta = jget(res[i].json, "meta"), *pts = jget(res[i].json, "points"), *p;
            int cpu = !strcmp(jstr(meta, "device"), "cpu");
            cJSON_ArrayForEach(p, pts) {
                if (!is_ok(p)) continue;
                if (pass) {
                    bpoint *b = &v[k];
                    b->file = i;
                    b->cpu = cpu;
                    b->recipe = res[i].recipe;
                    b->model = jstr(meta, "model");
                    b->batch = jnum(p, "batch");
                    b->in = jnum(p, "in");
                    b->out = jnum(p, "out");
                    b->tp = jnum(p, "tp");
                    if (!isfinite(b->tp)) b->tp = 1;
                    b->ttft = jnum(p, "ttft_ms");
                    b->tpot = jnum(p, "tpot_ms");
                    b->e2e = jnum(p, "e2e_ms");
                    b->otoks = jnum(p, "out_tok_s");
                    b->rss = jnum(p, "peak_rss_gib");
                    b->gpumem = jnum(p, "gpu_mem_gib");
                    b->pttft = jnum(p, "pred_ttft_ms");
                    b->ptpot = jnum(p, "pred_tpot_ms");
                    b->pe2e = jnum(p, "pred_e2e_ms");
                    b->pmem = jnum(p, "pred_mem_gib");
                }
                k++;
            }
        }
        if (pass) { *np = k; return v; }
        cnt = k;
    }
    return NULL;
}

static int n_distinct(const bpoint *v, int n, size_t off) {
    double seen[64];
    int ns = 0;
    for (int i = 0; i < n; i++) {
        double x = *(const double *)((const char *)&v[i] + off);
        int found = 0;
        for (int k = 0; k < ns; k++) if (seen[k] == x) found = 1;
        if (!found && ns < 64) seen[ns++] = x;
    }
    return ns;
}

typedef enum { K_IN, K_OUT, K_TP, K_INOUT } group_key;

static void group_label(const bpoint *b, group_key k, int with_inout, int with_out, int with_in, int with_model, char *buf, size_t cap) {
    /* several models in one chart: each line named by its model too */
    const int o = with_model ? snprintf(buf, cap, "%s ", b->model) : 0;
    if (o < 0 || (size_t)o >= cap) return;
    buf += o;
    cap -= (size_t)o;
    switch (k) {
    case K_IN: snprintf(buf, cap, with_out ? "in=%.0f out=%.0f" : "in=%.0f", b->in, b->out); break;
    case K_OUT: snprintf(buf, cap, with_in ? "out=%.0f in=%.0f" : "out=%.0f", b->out, b->in); break;
    case K_TP: snprintf(buf, cap, with_inout ? "tp=%.0f in=%.0f out=%.0f" : "tp=%.0f", b->tp, b->in, b->out); break;
    case K_INOUT: snprintf(buf, cap, "in=%.0f out=%.0f", b->in, b->out); break;
    }
}

/* lines vs batch: measured (solid) and predicted (dashed, same colour) of one metric per group */
static int add_lines(panel *p, const bpoint *v, int n, group_key k, size_t off_meas, size_t off_pred, int only_cpu_pred) {
    int with_out = n_distinct(v, n, offsetof(bpoint, out)) > 1, with_in = n_distinct(v, n, offsetof(bpoint, in)) > 1;
    int with_inout = with_out || with_in, with_model = 0;
    for (int i = 1; i < n; i++) with_model |= strcmp(v[i].model, v[0].model) != 0;
    char lab[160], labp[180];
    for (int i = 0; i < n; i++) {
        group_label(&v[i], k, with_inout, with_out, with_in, with_model, lab, sizeof lab);
        int color = 0;
        for (int s = 0; s < p->ns; s++) if (p->s[s].style == ST_LINES) color++;
        series *m = panel_series(p, lab, ST_LINES, color);
        if (m && !series_add(m, v[i].batch, *(const double *)((const char *)&v[i] + off_meas), NULL)) return 0;
        if (off_pred && (only_cpu_pred < 0 || only_cpu_pred == v[i].cpu)) {
            snprintf(labp, sizeof labp, "%s predicted", lab);
            series *q = panel_series(p, labp, ST_DASHED, m ? m->color : 0);
            double y = *(const double *)((const char *)&v[i] + off_pred);
            if (off_pred == offsetof(bpoint, pe2e) && off_meas == offsetof(bpoint, otoks)) y = v[i].batch * v[i].out / (y * 1e-3);
            if (q && !series_add(q, v[i].batch, y, NULL)) return 0;
        }
    }
    return 1;
}

typedef struct {
    render_ctx rc;
    FILE *html;
    lf_report_summary *sum;
    int oom;
} page;

static void html_esc(FILE *f, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void base64(FILE *f, const unsigned char *d, size_t n) {
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)d[i] << 16 | (i + 1 < n ? (unsigned)d[i + 1] << 8 : 0) | (i + 2 < n ? d[i + 2] : 0);
        fputc(t[v >> 18 & 63], f);
        fputc(t[v >> 12 & 63], f);
        fputc(i + 1 < n ? t[v >> 6 & 63] : '=', f);
        fputc(i + 2 < n ? t[v & 63] : '=', f);
    }
}

static void record(page *pg, const char *id, int ok, const char *note) {
    lf_report_summary *s = pg->sum;
    if (s->n == LF_REPORT_MAX_ITEMS) return;
    snprintf(s->id[s->n], sizeof s->id[0], "%s", id);
    s->ok[s->n] = ok;
    snprintf(s->note[s->n], sizeof s->note[0], "%s", note ? note : "");
    s->n_ok += ok;
    s->n++;
}

static void skip(page *pg, const char *id, const char *title, const char *why) {
    fprintf(pg->html, "<section class=\"chart skipped\" id=\"skip-%s\"><h3>", id);
    html_esc(pg->html, title);
    fprintf(pg->html, "</h3><p class=\"note\">skipped: ");
    html_esc(pg->html, why);
    fprintf(pg->html, "</p></section>\n");
    record(pg, id, 0, why);
}

/* render and embed c (freed here); a chart that cannot be drawn becomes a note */
static void emit(page *pg, chart *c) {
    if (!c) { pg->oom = 1; return; }
    char note[256] = "";
    char *svg = NULL;
    size_t n = 0;
    if (!render(&pg->rc, c, &svg, &n, note, sizeof note)) {
        skip(pg, c->id, c->title, note);
        chart_free(c);
        return;
    }
    fprintf(pg->html, "<section class=\"chart\"><h3>");
    html_esc(pg->html, c->title);
    fprintf(pg->html, "</h3>\n<figure id=\"chart-%s\"><img class=\"chart\" alt=\"", c->id);
    html_esc(pg->html, c->title);
    fprintf(pg->html, "\" width=\"%d\" height=\"%d\" src=\"data:image/svg+xml;base64,", pg->rc.o->width, pg->rc.o->height);
    base64(pg->html, (const unsigned char *)svg, n);
    fprintf(pg->html, "\">\n<figcaption>");
    html_esc(pg->html, c->caption);
    fprintf(pg->html, "</figcaption></figure></section>\n");
    free(svg);
    record(pg, c->id, 1, NULL);
    chart_free(c);
}

/* exp1..exp4 from bench points */
static void exp_chart(page *pg, const lf_result *res, int n, int which) {
    static const char *const ids[] = {"exp1", "exp2", "exp3", "exp4"};
    static const char *const titles[] = {
        "exp1: latency vs batch, one line per input length", "exp2: latency vs batch, one line per output length",
        "exp3: latency and throughput vs batch, one line per TP", "exp4: peak GPU and host memory vs batch"};
    const char *id = ids[which];
    int np;
    bpoint *v = bench_points(res, n, id, &np);
    if (np < 0) { pg->oom = 1; return; }
    char why[256];
    int any_recipe = 0, have_bench = 0;
    for (int i = 0; i < n; i++)
        if (res[i].kind == LF_RESULT_BENCH) { have_bench = 1; any_recipe |= res[i].recipe[0] != 0; }
    int nb = n_distinct(v, np, offsetof(bpoint, batch));
    if (!have_bench) snprintf(why, sizeof why, "needs linfer bench --json results");
    else if (!np && any_recipe) snprintf(why, sizeof why, "no ok bench points of recipe %s (nor results without a recipe)", id);
    else if (!np) snprintf(why, sizeof why, "no ok bench points");
    else if (nb < 2) snprintf(why, sizeof why, "needs bench points at 2 or more batch sizes (have %d)", nb);
    else why[0] = 0;
    if (why[0]) { skip(pg, id, titles[which], why); free(v); return; }
    chart *c = chart_new(id, titles[which]);
    if (!c) { free(v); pg->oom = 1; return; }
    int ok = 1;
    panel *a, *b;
    switch (which) {
    case 0:
        a = panel_add(c, "TTFT", "batch", "TTFT (ms)", 2, 0);
        b = panel_add(c, "end-to-end latency", "batch", "E2E (ms)", 2, 0);
        ok = add_lines(a, v, np, K_IN, offsetof(bpoint, ttft), offsetof(bpoint, pttft), -1) &&
             add_lines(b, v, np, K_IN, offsetof(bpoint, e2e), offsetof(bpoint, pe2e), -1);
        snprintf(c->caption, sizeof c->caption, "Measured (solid) and roofline-predicted (dashed) TTFT and end-to-end latency of every "
                 "bench point, one line per input length; x: batch (log2).");
        break;
    case 1:
        a = panel_add(c, "TPOT", "batch", "TPOT (ms)", 2, 0);
        b = panel_add(c, "end-to-end latency", "batch", "E2E (ms)", 2, 0);
        ok = add_lines(a, v, np, K_OUT, offsetof(bpoint, tpot), offsetof(bpoint, ptpot), -1) &&
             add_lines(b, v, np, K_OUT, offsetof(bpoint, e2e), offsetof(bpoint, pe2e), -1);
        snprintf(c->caption, sizeof c->caption, "Measured (solid) and predicted (dashed) time per output token and end-to-end latency, "
                 "one line per output length.");
        break;
    case 2:
        a = panel_add(c, "end-to-end latency", "batch", "E2E (ms)", 2, 0);
        b = panel_add(c, "throughput", "batch", "output tok/s", 2, 0);
        ok = add_lines(a, v, np, K_TP, offsetof(bpoint, e2e), offsetof(bpoint, pe2e), -1) &&
             add_lines(b, v, np, K_TP, offsetof(bpoint, otoks), offsetof(bpoint, pe2e), -1);
        snprintf(c->caption, sizeof c->caption, "End-to-end latency and output tokens per second (batch x out / E2E) per tensor-parallel "
                 "size; a point without a tp field counts as TP 1. Dashed: roofline.");
        break;
    default:
        a = panel_add(c, "peak GPU memory", "batch", "GiB", 2, 0);
        b = panel_add(c, "peak host memory (RSS)", "batch", "GiB", 2, 0);
        ok = add_lines(a, v, np, K_INOUT, offsetof(bpoint, gpumem), offsetof(bpoint, pmem), 0) &&
             add_lines(b, v, np, K_INOUT, offsetof(bpoint, rss), offsetof(bpoint, pmem), 1);
        snprintf(c->caption, sizeof c->caption, "Peak memory per point: GPU memory in use (device-wide) and the host's peak RSS; dashed: "
                 "the roofline's memory (weights + KV cache + activations + workspace; on the CPU it is host memory).");
        break;
    }
    free(v);
    /* bench --recipe exp3/exp4: the roofline for every TP asked (meta.recipe_table), dashed per TP */
    for (int i = 0; i < n && ok && which >= 2; i++) {
        if (res[i].kind != LF_RESULT_BENCH || strcmp(res[i].recipe, id)) continue;
        const cJSON *row;
        cJSON_ArrayForEach(row, jget(jget(res[i].json, "meta"), "recipe_table")) {
            double tp = jnum(row, "tp"), bt = jnum(row, "batch");
            if (!isfinite(tp) || !isfinite(bt)) continue;
            char lab[96];
            snprintf(lab, sizeof lab, "tp=%.0f in=%.0f out=%.0f roofline", tp, jnum(row, "in"), jnum(row, "out"));
            int color = 4 + (int)tp;
            if (which == 2) {
                ok = series_add(panel_series(a, lab, ST_PRED, color), bt, jnum(row, "pred_e2e_ms"), NULL) &&
                     series_add(panel_series(b, lab, ST_PRED, color), bt, jnum(row, "pred_tok_s"), NULL);
            } else {
                ok = series_add(panel_series(a, lab, ST_PRED, color), bt, jnum(row, "pred_mem_gib_per_gpu"), NULL);
            }
            if (!ok) break;
        }
    }
    if (!ok) { chart_free(c); pg->oom = 1; return; }
    emit(pg, c);
}

/* measured vs predicted for every point and profiled op */
static void pred_chart(page *pg, const lf_result *res, int n) {
    chart *c = chart_new("pred", "measured vs predicted (every point)");
    if (!c) { pg->oom = 1; return; }
    panel *p = panel_add(c, "measured vs roofline", "predicted (ms)", "measured (ms)", 1, 1);
    int np, ok = 1;
    bpoint *v = bench_points(res, n, NULL, &np);
    if (np < 0) { chart_free(c); pg->oom = 1; return; }
    series *st = panel_series(p, "TTFT", ST_POINTS, 0), *sp = panel_series(p, "TPOT", ST_POINTS, 1), *se = panel_series(p, "E2E", ST_POINTS, 2);
    for (int i = 0; i < np && ok; i++)
        ok = series_add(st, v[i].pttft, v[i].ttft, NULL) && series_add(sp, v[i].ptpot, v[i].tpot, NULL) && series_add(se, v[i].pe2e, v[i].e2e, NULL);
    free(v);
    for (int i = 0; i < n && ok; i++) {
        if (res[i].kind != LF_RESULT_PROFILE) continue;
        char t[96];
        snprintf(t, sizeof t, "profile #%d ops (phase totals)", i + 1);
        series *so = panel_series(p, t, ST_POINTS, 3 + i);
        const cJSON *ph, *op;
        cJSON_ArrayForEach(ph, jget(res[i].json, "phases")) cJSON_ArrayForEach(op, jget(ph, "ops")) {
            if (!strcmp(jstr(op, "op"), "other")) continue;
            if (!(ok = series_add(so, jnum(op, "pred_ms"), jnum(op, "ms"), NULL))) break;
        }
    }
    if (!ok) { chart_free(c); pg->oom = 1; return; }
    snprintf(p->funcs, sizeof p->funcs, "x with lines lc rgb 'black' dt 2 title 'y = x'");
    snprintf(p->key, sizeof p->key, "top left");
    snprintf(c->caption, sizeof c->caption, "Every bench point (TTFT, TPOT, E2E) and every op category of every profile (its total time "
             "in a phase) at (predicted, measured), log-log. On the dashed line the roofline is exact; above it the run is slower than "
             "the ceilings allow.");
    emit(pg, c);
}

/* one roofline chart per profile: intensity vs achieved FLOP/s, roofs, ops placed */
static void roofline_chart(page *pg, const lf_result *r, int idx) {
    char id[48], title[200];
    snprintf(id, sizeof id, "roofline-%d", idx + 1);
    const cJSON *meta = jget(r->json, "meta");
    snprintf(title, sizeof title, "roofline of profile #%d (%s, %s, batch %.0f, in %.0f, out %.0f)", idx + 1, jstr(meta, "model"),
             jstr(meta, "device"), jnum(meta, "batch"), jnum(meta, "in"), jnum(meta, "out"));
    double bw = jnum(meta, "ceiling_bw_Bps") / 1e9, pk = jnum(meta, "ceiling_flops") / 1e9;
    if (!(bw > 0) || !(pk > 0)) { skip(pg, id, title, "the profile has no ceilings (it was run with --hw none)"); return; }
    chart *c = chart_new(id, title);
    if (!c) { pg->oom = 1; return; }
    panel *p = panel_add(c, "ops of each phase on the roofline", "arithmetic intensity (FLOP/byte)", "achieved GFLOP/s", 1, 1);
    double xmin = pk / bw, xmax = pk / bw, ymin = pk;
    const cJSON *ph, *op;
    int color = 0, ok = 1;
    cJSON_ArrayForEach(ph, jget(r->json, "phases")) {
        series *s = panel_series(p, jstr(ph, "phase"), ST_LABELED, color++);
        cJSON_ArrayForEach(op, jget(ph, "ops")) {
            double x = jnum(op, "intensity"), y = jnum(op, "achieved_GFLOPps");
            if (!(x > 0) || !(y > 0)) continue;
            if (!(ok = series_add(s, x, y, jstr(op, "category")))) break;
            xmin = fmin(xmin, x);
            xmax = fmax(xmax, x);
            ymin = fmin(ymin, y);
        }
        if (!ok) break;
    }
    if (!ok) { chart_free(c); pg->oom = 1; return; }
    snprintf(p->pre, sizeof p->pre, "BW = %.9g\nPK = %.9g\nroof(x) = x*BW < PK ? x*BW : PK\nset xrange [%.6g:%.6g]\nset yrange [%.6g:%.6g]\n"
             "", bw, pk, xmin / 4, xmax * 4, ymin / 4, pk * 3);
    snprintf(p->key, sizeof p->key, "bottom right");
    snprintf(p->funcs, sizeof p->funcs, "roof(x) with lines lw 2 lc rgb 'black' title 'roof: %.3g GB/s, %.4g GFLOP/s'", bw, pk);
    snprintf(c->caption, sizeof c->caption, "Each op category of each phase at (FLOPs / bytes of the roofline model, FLOPs / measured "
             "time). The roof is min(intensity x %.3g GB/s, %.4g GFLOP/s) from the profile's ceilings (%s); the distance below it is the "
             "op's inefficiency.", bw, pk, jstr(meta, "hw"));
    emit(pg, c);
}

static int cat_of_op(const char *name) {
    for (int k = 0; k < LF_OP_COUNT; k++) if (!strcmp(name, lf_op_name((lf_op)k))) return k;
    for (int k = 0; k < LF_PROF_NCAT; k++) if (!strcmp(name, lf_profile_cat_name(k))) return k;
    return -1;
}

/* per-op share, stacked: prefill and decode side by side */
static void share_chart(page *pg, const lf_result *res, int n) {
    chart *c = chart_new("op-share", "per-op share of the step time (measured: profiles; predicted: roofline, per TP)");
    if (!c) { pg->oom = 1; return; }
    panel *pp = panel_add(c, "prefill", "", "share of the step (%)", 0, 0), *pd = panel_add(c, "decode", "", "share of the step (%)", 0, 0);
    pp->stacked = pd->stacked = 1;
    for (int i = 0; i < n; i++) {
        const cJSON *ph, *op;
        if (res[i].kind == LF_RESULT_PROFILE) {
            double tp = jnum(jget(res[i].json, "meta"), "tp");
            cJSON_ArrayForEach(ph, jget(res[i].json, "phases")) {
                const char *name = jstr(ph, "phase");
                panel *p = !strcmp(name, "prefill") ? pp : pd;
                double step = jnum(ph, "step_ms");
                if (p->nrows == MAX_BARS || !(step > 0)) continue;
                int r = p->nrows++;
                snprintf(p->rowlab[r], sizeof p->rowlab[r], "#%d %s tp%.0f", i + 1, !strncmp(name, "decode_", 7) ? name + 7 : name,
                         isfinite(tp) ? tp : 1);
                cJSON_ArrayForEach(op, jget(ph, "ops")) {
                    int k = cat_of_op(jstr(op, "category"));
                    if (k >= 0) p->val[r][k] = 100 * jnum(op, "ms") / step;
                }
            }
        } else if (res[i].kind == LF_RESULT_ROOFLINE) {
            /* the first (batch, in, out) of each TP */
            const cJSON *ops = jget(res[i].json, "ops");
            double seen_tp[16];
            int nseen = 0;
            cJSON_ArrayForEach(op, ops) {
                double tp = jnum(op, "tp");
                int known = 0;
                for (int k = 0; k < nseen; k++) if (seen_tp[k] == tp) known = 1;
                if (known || nseen == 16) continue;
                seen_tp[nseen++] = tp;
                double b = jnum(op, "batch"), in = jnum(op, "in"), out = jnum(op, "out");
                static const char *const phases[] = {"prefill", "decode_first", "decode_last"};
                for (int f = 0; f < 3; f++) {
                    panel *p = f ? pd : pp;
                    if (p->nrows == MAX_BARS) continue;
                    int r = p->nrows, any = 0;
                    memset(p->val[r], 0, sizeof p->val[r]);
                    const cJSON *o2;
                    cJSON_ArrayForEach(o2, ops) {
                        if (jnum(o2, "tp") != tp || jnum(o2, "batch") != b || jnum(o2, "in") != in || jnum(o2, "out") != out ||
                            strcmp(jstr(o2, "phase"), phases[f]))
                            continue;
                        int k = cat_of_op(jstr(o2, "op"));
                        if (k >= 0) { p->val[r][k] = jnum(o2, "share_pct"); any = 1; }
                    }
                    if (!any) continue;
                    snprintf(p->rowlab[r], sizeof p->rowlab[r], "#%d pred %s tp%.0f", i + 1, f ? phases[f] + 7 : "prefill", tp);
                    p->nrows++;
                }
            }
        }
    }
    snprintf(c->caption, sizeof c->caption, "Share of each op category in the step time, stacked to 100%%. '#k' is the k-th result file; "
             "profiles are measured (other/host-gaps = step time not inside any category), roofline bars are predicted for the first "
             "(batch, in, out) of each TP of a roofline --per-op result.");
    emit(pg, c);
}

/* ---- tables ----------------------------------------------------------------------------------- */
static void cell_num(FILE *f, double v) {
    if (!isfinite(v)) return;
    if (v == floor(v) && fabs(v) < 1e15) fprintf(f, "%.0f", v);
    else fprintf(f, "%.4g", v);
}

static void cell(FILE *f, const cJSON *v) {
    fputs("<td>", f);
    if (cJSON_IsNumber(v)) cell_num(f, v->valuedouble);
    else if (cJSON_IsString(v)) html_esc(f, v->valuestring);
    else if (cJSON_IsBool(v)) fputs(cJSON_IsTrue(v) ? "true" : "false", f);
    fputs("</td>", f);
}

/* rows: objects from several files; columns: "#" (the file), extra (a fixed first column), then
 * the union of the keys in order of first appearance */
typedef struct { int file; const cJSON *o; const char *extra; } trow;

static int generic_table(FILE *f, const trow *rows, int n, const char *extra_name) {
    const char **keys = NULL;
    int nk = 0, cap = 0;
    for (int i = 0; i < n; i++) {
        const cJSON *k;
        cJSON_ArrayForEach(k, rows[i].o) {
            if (cJSON_IsObject(k) || cJSON_IsArray(k) || !k->string) continue;
            int found = 0;
            for (int j = 0; j < nk && !found; j++) found = !strcmp(keys[j], k->string);
            if (found) continue;
            if (nk == cap) {
                cap = cap ? 2 * cap : 32;
                const char **nkeys = realloc(keys, sizeof *keys * (size_t)cap);
                if (!nkeys) { free(keys); return 0; }
                keys = nkeys;
            }
            keys[nk++] = k->string;
        }
    }
    fputs("<div class=\"tw\"><table><thead><tr><th>#</th>", f);
    if (extra_name) { fputs("<th>", f); html_esc(f, extra_name); fputs("</th>", f); }
    for (int j = 0; j < nk; j++) { fputs("<th>", f); html_esc(f, keys[j]); fputs("</th>", f); }
    fputs("</tr></thead><tbody>\n", f);
    for (int i = 0; i < n; i++) {
        fprintf(f, "<tr><td>%d</td>", rows[i].file + 1);
        if (extra_name) { fputs("<td>", f); html_esc(f, rows[i].extra); fputs("</td>", f); }
        for (int j = 0; j < nk; j++) cell(f, jget(rows[i].o, keys[j]));
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table></div>\n", f);
    free(keys);
    return 1;
}

/* the rows of key arr of every result of a kind (NULL rows: none) */
static trow *collect(const lf_result *res, int n, lf_result_kind kind, const char *arr, int *nr) {
    int cnt = 0;
    for (int i = 0; i < n; i++)
        if (res[i].kind == kind) cnt += cJSON_GetArraySize(jget(res[i].json, arr));
    *nr = 0;
    if (!cnt) return NULL;
    trow *r = calloc((size_t)cnt, sizeof *r);
    if (!r) { *nr = -1; return NULL; }
    for (int i = 0; i < n; i++) {
        if (res[i].kind != kind) continue;
        const cJSON *o;
        cJSON_ArrayForEach(o, jget(res[i].json, arr)) if (cJSON_IsObject(o)) r[(*nr)++] = (trow){i, o, NULL};
    }
    return r;
}

static void ds_table(page *pg, const lf_result *res, int n) {
    int any = 0;
    for (int i = 0; i < n; i++) any |= res[i].kind == LF_RESULT_BENCH && !strcmp(res[i].recipe, "ds-table");
    if (!any) return;
    FILE *f = pg->html;
    fputs("<section class=\"chart\" id=\"chart-ds-table\"><h3>ds-table: latency and throughput per configuration</h3>\n<div class=\"tw\"><table>"
          "<thead><tr><th>#</th><th>model</th><th>device</th><th>dtype</th><th>tp</th><th>batch</th><th>in</th><th>out</th><th>TTFT ms</th>"
          "<th>TPOT ms</th><th>E2E ms</th><th>out tok/s</th><th>total tok/s</th><th>pred E2E ms</th><th>eff TPOT</th></tr></thead><tbody>\n", f);
    for (int i = 0; i < n; i++) {
        if (res[i].kind != LF_RESULT_BENCH || strcmp(res[i].recipe, "ds-table")) continue;
        const cJSON *meta = jget(res[i].json, "meta"), *p;
        cJSON_ArrayForEach(p, jget(res[i].json, "points")) {
            fprintf(f, "<tr><td>%d</td><td>", i + 1);
            html_esc(f, *jstr(p, "model") ? jstr(p, "model") : jstr(meta, "model"));
            fputs("</td><td>", f);
            html_esc(f, jstr(meta, "device_name"));
            fputs("</td>", f);
            cell(f, jget(p, "dtype"));
            double tp = jnum(p, "tp");
            fputs("<td>", f);
            cell_num(f, isfinite(tp) ? tp : 1);
            fputs("</td>", f);
            static const char *const k[] = {"batch", "in", "out", "ttft_ms", "tpot_ms", "e2e_ms", "out_tok_s", "total_tok_s", "pred_e2e_ms", "eff_tpot"};
            for (size_t j = 0; j < sizeof k / sizeof k[0]; j++) cell(f, jget(p, k[j]));
            fputs("</tr>\n", f);
        }
    }
    fputs("</tbody></table></div></section>\n", f);
    record(pg, "ds-table", 1, NULL);
}

/* bench --recipe: the seed's conclusions checked against the points */
static void conclusions(page *pg, const lf_result *res, int n) {
    FILE *f = pg->html;
    int any = 0;
    for (int i = 0; i < n; i++) {
        const cJSON *meta = jget(res[i].json, "meta"), *c;
        if (res[i].kind != LF_RESULT_BENCH || !res[i].recipe[0]) continue;
        if (!any++) fputs("<h2 id=\"conclusions\">Recipe conclusions</h2>\n", f);
        fprintf(f, "<p>#%d recipe <b>", i + 1);
        html_esc(f, res[i].recipe);
        fputs("</b>: ", f);
        html_esc(f, jstr(meta, "recipe_title"));
        if (*jstr(meta, "recipe_source")) { fputs(" (", f); html_esc(f, jstr(meta, "recipe_source")); fputs(")", f); }
        if (*jstr(meta, "recipe_skipped")) { fputs(". ", f); html_esc(f, jstr(meta, "recipe_skipped")); }
        fputs("</p>\n<ul>\n", f);
        cJSON_ArrayForEach(c, jget(meta, "conclusions")) {
            const char *v = jstr(c, "verdict");
            fprintf(f, "<li class=\"%s\"><b>", !strcmp(v, "AGREES") ? "agree" : !strcmp(v, "DISAGREES") ? "disagree" : "inconclusive");
            html_esc(f, v);
            fputs("</b>: ", f);
            html_esc(f, *jstr(c, "text") ? jstr(c, "text") : jstr(c, "claim"));
            fputs("</li>\n", f);
        }
        fputs("</ul>\n", f);
        int nr = cJSON_GetArraySize(jget(meta, "recipe_table"));
        if (nr > 0) {
            trow *rows = calloc((size_t)nr, sizeof *rows);
            if (!rows) { pg->oom = 1; return; }
            int k = 0;
            cJSON_ArrayForEach(c, jget(meta, "recipe_table")) if (cJSON_IsObject(c)) rows[k++] = (trow){i, c, NULL};
            fprintf(f, "<details><summary>recipe table (%d rows)</summary>\n", k);
            if (!generic_table(f, rows, k, NULL)) pg->oom = 1;
            fputs("</details>\n", f);
            free(rows);
        }
    }
}

static void tables(page *pg, const lf_result *res, int n) {
    FILE *f = pg->html;
    conclusions(pg, res, n);
    if (pg->oom) return;
    fputs("<h2 id=\"sources\">Results</h2>\n<div class=\"tw\"><table><thead><tr><th>#</th><th>file</th><th>kind</th><th>recipe</th><th>model</th>"
          "<th>device</th><th>date</th><th>commit</th><th>ceilings</th><th>command</th></tr></thead><tbody>\n", f);
    for (int i = 0; i < n; i++) {
        const cJSON *meta = jget(res[i].json, "meta"), *p0 = cJSON_GetArrayItem(jget(res[i].json, "points"), 0);
        const char *v[] = {res[i].path, lf_result_kind_name(res[i].kind), res[i].recipe,
                           *jstr(meta, "model") ? jstr(meta, "model") : jstr(p0, "model"),
                           *jstr(meta, "device_name") ? jstr(meta, "device_name") : jstr(p0, "gpu"), jstr(meta, "date"),
                           jstr(meta, "git_commit"), *jstr(meta, "calibration") ? jstr(meta, "calibration") : jstr(meta, "hw"),
                           jstr(meta, "command")};
        fprintf(f, "<tr><td>%d</td>", i + 1);
        for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) { fputs("<td>", f); html_esc(f, v[k]); fputs("</td>", f); }
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table></div>\n", f);
    static const struct { lf_result_kind kind; const char *arr, *title, *id; int fold; } t[] = {
        {LF_RESULT_BENCH, "points", "Bench points (measured, with the roofline prediction beside each)", "table-bench", 0},
        {LF_RESULT_ROOFLINE, "points", "Roofline points (predicted)", "table-roofline", 0},
        {LF_RESULT_ROOFLINE, "ops", "Roofline per-op rows", "table-roofline-ops", 1}};
    for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
        int nr;
        trow *rows = collect(res, n, t[k].kind, t[k].arr, &nr);
        if (nr < 0) { pg->oom = 1; return; }
        if (!nr) continue;
        fprintf(f, "<h2 id=\"%s\">%s</h2>\n", t[k].id, t[k].title);
        if (t[k].fold) fprintf(f, "<details><summary>%d rows</summary>\n", nr);
        if (!generic_table(f, rows, nr, NULL)) pg->oom = 1;
        if (t[k].fold) fputs("</details>\n", f);
        free(rows);
    }
    /* profiles: one row per phase and category, sorted by lost time as profile wrote them */
    int nr = 0;
    for (int i = 0; i < n; i++) {
        if (res[i].kind != LF_RESULT_PROFILE) continue;
        const cJSON *ph;
        cJSON_ArrayForEach(ph, jget(res[i].json, "phases")) nr += cJSON_GetArraySize(jget(ph, "ops"));
    }
    if (!nr) return;
    trow *rows = calloc((size_t)nr, sizeof *rows);
    if (!rows) { pg->oom = 1; return; }
    int k = 0;
    fputs("<h2 id=\"table-profile\">Profiles (per phase, sorted by lost time)</h2>\n", f);
    for (int i = 0; i < n; i++) {
        if (res[i].kind != LF_RESULT_PROFILE) continue;
        const cJSON *meta = jget(res[i].json, "meta"), *ph, *op;
        fprintf(f, "<p>#%d: TPOT profiled ", i + 1);
        cell_num(f, round(jnum(meta, "tpot_profiled_ms") * 1e3) / 1e3);
        fputs(" ms, un-profiled ", f);
        cell_num(f, round(jnum(meta, "tpot_unprofiled_ms") * 1e3) / 1e3);
        fputs(" ms (profiling overhead ", f);
        cell_num(f, round(jnum(meta, "profiling_overhead_pct") * 10) / 10);
        fputs("%)</p>\n", f);
        cJSON_ArrayForEach(ph, jget(res[i].json, "phases")) cJSON_ArrayForEach(op, jget(ph, "ops")) rows[k++] = (trow){i, op, jstr(ph, "phase")};
    }
    if (!generic_table(f, rows, k, "phase")) pg->oom = 1;
    free(rows);
}

/* ---- the page ----------------------------------------------------------------------------------- */
static void remove_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[1400];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

lf_status lf_report_write(const char *html_path, const lf_result *res, int n, const lf_report_opts *o_in, lf_report_summary *sum) {
    memset(sum, 0, sizeof *sum);
    if (!html_path || (n > 0 && !res) || n < 0) return lf_fail(LINFER_ERR_INVALID_ARG, "report: no output path or no results");
    lf_report_opts o;
    if (o_in) o = *o_in;
    else lf_report_default_opts(&o);
    if (o.width < 200 || o.height < 150) return lf_fail(LINFER_ERR_INVALID_ARG, "report: chart size %dx%d (at least 200x150)", o.width, o.height);
    page pg = {0};
    pg.sum = sum;
    pg.rc.o = &o;
    int tmp = !o.keep_dir;
    if (tmp) {
        const char *td = getenv("TMPDIR");
        snprintf(pg.rc.dir, sizeof pg.rc.dir, "%s/linfer-report-XXXXXX", td && *td ? td : "/tmp");
        if (!mkdtemp(pg.rc.dir)) return lf_fail(LINFER_ERR_IO, "%s: cannot make a temporary directory: %s", pg.rc.dir, strerror(errno));
    } else {
        snprintf(pg.rc.dir, sizeof pg.rc.dir, "%s", o.keep_dir);
        if (mkdir(pg.rc.dir, 0755) != 0 && errno != EEXIST) return lf_fail(LINFER_ERR_IO, "%s: cannot make the directory: %s", pg.rc.dir, strerror(errno));
    }
    char *buf = NULL;
    size_t len = 0;
    pg.html = open_memstream(&buf, &len);
    if (!pg.html) { if (tmp) remove_dir(pg.rc.dir); return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "report: out of memory"); }
    FILE *f = pg.html;
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>", f);
    html_esc(f, o.title);
    fputs("</title>\n<style>body{font-family:sans-serif;margin:1.5em;color:#222;background:#fff}h1{font-size:1.5em}h2{font-size:1.2em;"
          "margin-top:1.6em}h3{font-size:1.05em;margin:1.2em 0 .3em}img.chart{max-width:100%;height:auto;border:1px solid #ddd}"
          "figure{margin:0}figcaption{font-size:.85em;color:#555;max-width:960px}.note{color:#a40;font-style:italic}"
          ".tw{overflow-x:auto}table{border-collapse:collapse;font-size:.8em}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right;"
          "white-space:nowrap}th{background:#f0f0f0}li.agree b{color:#070}li.disagree b{color:#b00}li.inconclusive b{color:#777}</style></head><body>\n<h1>", f);
    html_esc(f, o.title);
    fprintf(f, "</h1>\n<p>%d result file%s: ", n, n == 1 ? "" : "s");
    for (int i = 0; i < n; i++) {
        fprintf(f, "%s#%d ", i ? ", " : "", i + 1);
        html_esc(f, res[i].path);
        fprintf(f, " (%s%s%s)", lf_result_kind_name(res[i].kind), res[i].recipe[0] ? ", recipe " : "", res[i].recipe);
    }
    fputs(". Charts by gnuplot (SVG, embedded); tables of every point below.</p>\n<h2 id=\"charts\">Charts</h2>\n", f);
    for (int w = 0; w < 4 && !pg.oom; w++) exp_chart(&pg, res, n, w);
    if (!pg.oom) ds_table(&pg, res, n);
    if (!pg.oom) pred_chart(&pg, res, n);
    int nprof = 0;
    for (int i = 0; i < n && !pg.oom; i++)
        if (res[i].kind == LF_RESULT_PROFILE) { roofline_chart(&pg, &res[i], i); nprof++; }
    if (!nprof && !pg.oom) skip(&pg, "roofline", "roofline chart (ops placed on it)", "needs a linfer profile --json result");
    if (!pg.oom) share_chart(&pg, res, n);
    if (!pg.oom) tables(&pg, res, n);
    fputs("</body></html>\n", f);
    int ferr = ferror(f);
    fclose(f);
    if (tmp) remove_dir(pg.rc.dir);
    if (pg.oom || ferr) { free(buf); return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "report: out of memory building %s", html_path); }
    lf_status s = lf_write_file_atomic(html_path, buf, len);
    free(buf);
    return s;
}
