/* table.h — rows × columns of strings and numbers, rendered as aligned terminal text, CSV,
 * JSON or Markdown. Generic: roofline, bench and profile all print through it.
 *
 *   const char *cols[] = {"op", "time_ms"};
 *   lf_table *t = lf_table_new(2, cols);
 *   lf_table_row(t); lf_table_str(t, "qkv"); lf_table_num(t, 0.123, 3);
 *   lf_table_write(t, stdout, LF_FMT_TABLE);
 *   lf_table_free(t);
 *
 * Cells are filled left to right after lf_table_row(); cells not filled print empty (JSON null).
 * Failures while filling (out of memory, too many cells) are remembered and returned by
 * lf_table_write, so callers need not check every call. Numbers keep their full value for JSON;
 * text, CSV and Markdown show them with the precision given when the cell was added. */
#ifndef LF_PERF_TABLE_H
#define LF_PERF_TABLE_H
#include <stdio.h>
#include "../core/error.h"

typedef enum { LF_FMT_TABLE = 0, LF_FMT_CSV, LF_FMT_JSON, LF_FMT_MD } lf_table_format;
/* "table" (or "text"), "csv", "json", "md" (or "markdown"). */
lf_status lf_table_format_parse(const char *s, lf_table_format *out);
const char *lf_table_format_name(lf_table_format f);

typedef struct lf_table lf_table;

lf_table *lf_table_new(int ncols, const char *const *names);   /* NULL if out of memory */
void lf_table_free(lf_table *t);
void lf_table_set_title(lf_table *t, const char *title);       /* text and Markdown only */

void lf_table_row(lf_table *t);
void lf_table_str(lf_table *t, const char *s);                 /* NULL -> empty cell */
void lf_table_strf(lf_table *t, const char *fmt, ...) LF_PRINTF(2, 3);
/* prec >= 0: fixed decimals ("%.{prec}f"); prec < 0: -prec significant digits ("%.{-prec}g").
 * NaN or infinity -> empty cell (JSON null). */
void lf_table_num(lf_table *t, double v, int prec);
void lf_table_int(lf_table *t, long long v);
void lf_table_empty(lf_table *t);

int lf_table_nrows(const lf_table *t);
int lf_table_ncols(const lf_table *t);
/* Text of a cell as the terminal form shows it ("" if empty or out of range). */
const char *lf_table_cell(const lf_table *t, int row, int col);
/* Numeric value of a cell (NaN for strings and empty cells). */
double lf_table_value(const lf_table *t, int row, int col);

/* The whole table in one format. JSON: an array of objects keyed by column name. */
lf_status lf_table_write(const lf_table *t, FILE *f, lf_table_format fmt);
/* JSON object of several tables: {"key0": [...], "key1": [...]}. */
lf_status lf_table_write_json_object(FILE *f, int n, const char *const *keys, const lf_table *const *tables);
/* A JSON string literal with escapes (for callers composing their own JSON around tables). */
void lf_json_string(FILE *f, const char *s);

/* One CSV field: quoted (with "" for ") when it has a comma, quote, newline or edge spaces. */
void lf_csv_field(FILE *f, const char *s);
#endif
