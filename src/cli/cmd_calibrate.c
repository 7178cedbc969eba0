/* cmd_calibrate.c — `linfer calibrate`: measure the ceilings of the GPU(s) (or the CPU), print
 * "ceiling, measured, datasheet, ratio", and cache them per device for `linfer roofline --gpu
 * measured` and `linfer bench` (fp8 GEMM: `linfer roofline --gpu measured --dtype fp8`; the engine
 * itself has no fp8 path, the figure is a ceiling only). With 2 or more GPUs, GPU 0's calibration
 * also gets the NCCL all-reduce latency and bus bandwidth for every GPU count 2, 4, 8 present (and
 * the count present), each with its per-size table. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"
#include "common.h"
#include "linfer.h"
#include "core/error.h"
#include "engine/gpu_query.h"
#include "perf/calibrate.h"
#include "perf/presets.h"
#include "perf/table.h"

static void usage(FILE *f) {
    char path[1024], cpath[1024];
    lf_calib_path(0, 0, path, sizeof path);
    lf_calib_path(1, 0, cpath, sizeof cpath);
    fprintf(f,
            "usage: linfer calibrate [--gpu N | --all-gpus | --cpu] [options]\n"
            "Measures this machine's ceilings and caches them per device; `linfer roofline --gpu measured` and\n"
            "`linfer bench` use them as measured ceilings (the datasheet figures stay beside them).\n"
            "GPU: HBM read bandwidth (read-only reduction over a buffer >= 32x L2, 16-byte loads), device-to-device\n"
            "copy bandwidth (cudaMemcpy, read + write bytes), cuBLAS GEMM fp16/bf16 (cublasGemmEx 8192^3, random\n"
            "data), fp8 GEMM on compute capability >= 8.9 (cublasLtMatmul 8192^3, E4M3 inputs, bf16 output, TN;\n"
            "older GPUs: \"not measured\"), kernel-launch overhead (empty kernels back to back, CUDA-graph replay,\n"
            "launch + sync), each the median of repetitions timed with CUDA events after warm-up.\n"
            "NCCL all-reduce (2 or more GPUs, with GPU 0's calibration): for every GPU count 2, 4, 8 present (and the\n"
            "count present), one process drives GPUs 0..n-1; fp16 sums of 2 KiB to 256 MiB, per size time, algBW and\n"
            "busBW = algBW x 2(n-1)/n; latency = time of 2 KiB, busBW = best at >= 64 MiB. NCCL is loaded at run time:\n"
            "$LINFER_NCCL_LIB, libnccl.so.2, libnccl.so, then the Python package nvidia-nccl; NCCL_NVLS_ENABLE=0 unless\n"
            "set. Without NCCL the rest is still measured and a note says what was tried. Over the same GPUs: the engine's\n"
            "one-shot all-reduce kernel (peer memory, fp32, in a CUDA graph) at 32 KiB, 128 KiB and 512 KiB, which the\n"
            "roofline uses for small messages (decode steps) where it beats the NCCL figures.\n"
            "CPU (--cpu): memory read bandwidth (all threads) and OpenBLAS sgemm GFLOP/s.\n"
            "  --gpu N          GPU index to measure (default 0)\n"
            "  --all-gpus       measure every GPU, one cache file each\n"
            "  --cpu            measure the CPU instead of a GPU\n"
            "  --quick          smaller buffers and GEMMs, fewer repetitions (a few seconds)\n"
            "  --reps R         timed repetitions per figure, median reported (default 15)\n"
            "  --warmup W       untimed repetitions first (default 3)\n"
            "  --calib FILE     cache file to write/read (one device only). Defaults: GPU 0: %s\n"
            "                   ($LINFER_CALIB overrides it), GPU i: ...-gpu<i>.txt, CPU: %s\n"
            "  --no-save        measure and print, do not write the cache\n"
            "  --no-nccl        skip the NCCL all-reduce measurement (the cache then has no all-reduce figures)\n"
            "  --show           print the cached calibration instead of measuring\n"
            "  --format F       table (default), csv, json or md\n"
            "Without a GPU (and without --cpu): a one-line error, exit 1.\n",
            path, cpath);
}

#ifdef LINFER_HAVE_CUDA
/* NCCL all-reduce over GPUs 0..n-1 for every GPU count to measure, into r->ar[]; what could not be
 * measured, and why, into r->ar_note. */
static void measure_allreduce(lf_calib_result *r, const lf_calib_opts *co, int present) {
    r->ar_note[0] = 0;
    if (present < 2) {
        snprintf(r->ar_note, sizeof r->ar_note, "%d GPU present, nothing to measure", present);
        return;
    }
    int counts[LF_HW_AR_MAX_GPUS];
    int nc = lf_allreduce_gpu_counts(present, counts, LF_HW_AR_MAX_GPUS);
    for (int i = 0; i < nc; i++) {
        int n = counts[i];
        fprintf(stderr, "linfer: measuring NCCL all-reduce over GPUs 0..%d...\n", n - 1);
        lf_allreduce_calib a;
        lf_status s = lf_calibrate_allreduce(n, co, &a);
        if (s == LINFER_OK) {
            r->ar[n] = a;
            r->allreduce_measured = 1;
            continue;
        }
        size_t l = strlen(r->ar_note);
        if (s == LINFER_ERR_UNSUPPORTED) {   /* NCCL not found (or no CUDA): no other count can do better */
            snprintf(r->ar_note + l, sizeof r->ar_note - l, "%snot measured: %s", l ? "; " : "", linfer_last_error());
            break;
        }
        snprintf(r->ar_note + l, sizeof r->ar_note - l, "%s%d GPUs not measured: %s", l ? "; " : "", n, linfer_last_error());
    }
    if (present > LF_HW_AR_MAX_GPUS) {
        size_t l = strlen(r->ar_note);
        snprintf(r->ar_note + l, sizeof r->ar_note - l, "%s%d GPUs present: counts above %d are not measured", l ? "; " : "",
                 present, LF_HW_AR_MAX_GPUS);
    }
}
#endif

static void print_result(const lf_calib_result *r, const char *path, lf_table_format fmt, int saved) {
    lf_hw ds;
    int have_ds = 0;
    if (!r->is_cpu) {
        have_ds = lf_hw_lookup(r->name, &ds) == LINFER_OK;
        if (!have_ds) lf_clear_error();
    }
    lf_table *t = lf_calib_table(r, have_ds ? &ds : NULL);
    if (!t) { fprintf(stderr, "linfer: out of memory\n"); return; }
    char title[512], date[64] = "?";
    time_t when = (time_t)r->date;
    struct tm tm;
    if (r->date > 0 && gmtime_r(&when, &tm)) strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", &tm);
    if (r->is_cpu)
        snprintf(title, sizeof title, "%s, measured %s", r->name, date);
    else {
        char cc[32] = "";
        if (r->cc_major > 0) snprintf(cc, sizeof cc, ", CC %d.%d", r->cc_major, r->cc_minor);
        snprintf(title, sizeof title, "GPU %d: %s (%d SMs, L2 %.0f MiB%s), driver API %d.%d, CUDA runtime %d.%d, measured %s%s%s",
                 r->device_index, r->name, r->sm_count, r->l2_bytes / 1048576.0, cc, r->driver_version / 1000, (r->driver_version % 1000) / 10,
                 r->runtime_version / 1000, (r->runtime_version % 1000) / 10, date, have_ds ? "; datasheet: preset " : "; no datasheet preset",
                 have_ds ? ds.name : "");
    }
    lf_table_set_title(t, title);
    lf_status s = lf_table_write(t, stdout, fmt);
    lf_table_free(t);
    if (s) cli_fail(s);
    /* NCCL all-reduce: one table per GPU count measured, then what was not measured */
    for (int n = 2; n <= LF_HW_AR_MAX_GPUS && !r->is_cpu; n++) {
        if (r->ar[n].n_gpus != n || r->ar[n].n_sizes == 0) continue;
        lf_table *at = lf_allreduce_table(&r->ar[n]);
        if (!at) { fprintf(stderr, "linfer: out of memory\n"); return; }
        if (fmt == LF_FMT_TABLE) printf("\n");
        s = lf_table_write(at, stdout, fmt);
        lf_table_free(at);
        if (s) cli_fail(s);
        if (fmt != LF_FMT_TABLE) continue;
        printf("all-reduce over %d GPUs: latency %.2f us (smallest message), busBW %.1f GB/s (best >= 64 MiB)", n,
               r->ar[n].latency_s * 1e6, r->ar[n].busbw_best / 1e9);
        if (have_ds) {   /* what the roofline assumes without the measurement */
            lf_hw d = ds;
            d.use_measured = 0;
            char link[96];
            if (d.nvlink_bw > 0 && n <= d.nvlink_gpus)
                snprintf(link, sizeof link, "NVLink %.0f GB/s both directions / 2", d.nvlink_bw / 1e9);
            else
                snprintf(link, sizeof link, "PCIe Gen%d x16 per direction", d.pcie_gen);
            printf("; %s assumes %.2f us and %.1f GB/s (%s)", d.name, lf_hw_eff_ar_latency(&d, n) * 1e6, lf_hw_eff_busbw(&d, n) / 1e9,
                   link);
        }
        printf("\n");
    }
    if (r->ar_note[0] && !r->is_cpu) {
        /* machine-readable formats keep stdout to the tables */
        FILE *nf = fmt == LF_FMT_CSV || fmt == LF_FMT_JSON ? stderr : stdout;
        fprintf(nf, "%sNCCL all-reduce: %s\n", fmt == LF_FMT_TABLE ? "\n" : "", r->ar_note);
    }
    if (fmt == LF_FMT_TABLE) {
        if (saved) printf("saved to %s\n", path);
        else if (path) printf("(from %s)\n", path);
    }
}

int cmd_calibrate(int argc, char **argv) {
    enum { O_GPU = 300, O_ALL, O_CPU, O_QUICK, O_REPS, O_WARMUP, O_CALIB, O_NOSAVE, O_SHOW, O_FORMAT, O_NONCCL };
    static const struct option opts[] = {
        {"gpu", required_argument, 0, O_GPU}, {"all-gpus", no_argument, 0, O_ALL}, {"cpu", no_argument, 0, O_CPU},
        {"quick", no_argument, 0, O_QUICK}, {"reps", required_argument, 0, O_REPS}, {"warmup", required_argument, 0, O_WARMUP},
        {"calib", required_argument, 0, O_CALIB}, {"no-save", no_argument, 0, O_NOSAVE}, {"show", no_argument, 0, O_SHOW},
        {"format", required_argument, 0, O_FORMAT}, {"no-nccl", no_argument, 0, O_NONCCL}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int gpu = 0, all = 0, cpu = 0, nosave = 0, show = 0, no_nccl = 0;
    const char *calib = NULL;
    lf_calib_opts co;
    lf_calib_default_opts(&co);
    lf_table_format fmt = LF_FMT_TABLE;
    long lv;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_GPU: if (!cli_parse_int("--gpu", optarg, 0, 63, &lv)) return 2; gpu = (int)lv; break;
        case O_ALL: all = 1; break;
        case O_CPU: cpu = 1; break;
        case O_QUICK: co.quick = 1; break;
        case O_REPS: if (!cli_parse_int("--reps", optarg, 1, 1000, &lv)) return 2; co.reps = (int)lv; break;
        case O_WARMUP: if (!cli_parse_int("--warmup", optarg, 0, 100, &lv)) return 2; co.warmup = (int)lv; break;
        case O_CALIB: calib = optarg; break;
        case O_NOSAVE: nosave = 1; break;
        case O_SHOW: show = 1; break;
        case O_NONCCL: no_nccl = 1; break;
        case O_FORMAT: if (lf_table_format_parse(optarg, &fmt)) return cli_fail(LINFER_ERR_INVALID_ARG); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) { fprintf(stderr, "linfer: calibrate: unexpected argument '%s'\n", argv[optind]); return 2; }
    if (cpu && all) { fprintf(stderr, "linfer: calibrate: give --cpu or --all-gpus, not both\n"); return 2; }
    if (all && calib) { fprintf(stderr, "linfer: calibrate: --calib names one file; with --all-gpus each GPU has its own\n"); return 2; }
    if (show && nosave) { fprintf(stderr, "linfer: calibrate: --show measures nothing; --no-save does not apply\n"); return 2; }

    char path[1024];
    if (show) {
        int first = all ? 0 : gpu, last = all ? (lf_gpu_count() > 0 ? lf_gpu_count() - 1 : 0) : gpu;
        for (int g = first; g <= last; g++) {
            if (calib) snprintf(path, sizeof path, "%s", calib);
            else lf_calib_path(cpu, g, path, sizeof path);
            lf_calib_result r;
            lf_status s = lf_calib_load(path, &r);
            if (s) return cli_fail(s);
            print_result(&r, path, fmt, 0);
        }
        return 0;
    }

    if (cpu) {
        if (calib) snprintf(path, sizeof path, "%s", calib);
        else lf_calib_path(1, 0, path, sizeof path);
        fprintf(stderr, "linfer: calibrating the CPU (memory read bandwidth, sgemm)...\n");
        lf_calib_result r;
        lf_status s = lf_calibrate_cpu(&co, &r);
        if (s) return cli_fail(s);
        if (!nosave && (s = lf_calib_save(path, &r))) return cli_fail(s);
        print_result(&r, path, fmt, !nosave);
        return 0;
    }

#ifndef LINFER_HAVE_CUDA
    (void)no_nccl;
    fprintf(stderr, "linfer: calibrate: this linfer was built without CUDA (nvcc not found at build time); "
                    "`linfer calibrate --cpu` measures the CPU\n");
    return 1;
#else
    int n = lf_gpu_count();
    if (n == 0) {
        fprintf(stderr, "linfer: calibrate: no CUDA GPU found (`linfer calibrate --cpu` measures the CPU)\n");
        return 1;
    }
    if (gpu >= n) { fprintf(stderr, "linfer: calibrate: --gpu %d: this machine has %d GPU%s\n", gpu, n, n == 1 ? "" : "s"); return 2; }
    int first = all ? 0 : gpu, last = all ? n - 1 : gpu, rc = 0;
    for (int g = first; g <= last; g++) {
        if (calib) snprintf(path, sizeof path, "%s", calib);
        else lf_calib_path(0, g, path, sizeof path);
        lf_gpu_info gi;
        if (lf_gpu_info_get(g, &gi) == LINFER_OK) fprintf(stderr, "linfer: calibrating GPU %d (%s)...\n", g, gi.name);
        lf_calib_result r;
        lf_status s = lf_calibrate_gpu(g, &co, &r);
        if (s) { rc = cli_fail(s); continue; }
        /* the all-reduce spans GPUs 0..n-1 and is kept with GPU 0's calibration (the file
         * `linfer roofline --gpu measured` reads) */
        if (no_nccl) snprintf(r.ar_note, sizeof r.ar_note, "skipped (--no-nccl)");
        else if (g == 0) measure_allreduce(&r, &co, n);
        else if (n >= 2) snprintf(r.ar_note, sizeof r.ar_note, "measured with GPU 0's calibration (`linfer calibrate` or --all-gpus)");
        int saved = 0;
        if (!nosave) {
            if ((s = lf_calib_save(path, &r))) rc = cli_fail(s);
            else saved = 1;
        }
        print_result(&r, saved ? path : NULL, fmt, saved);
    }
    return rc;
#endif
}
