/*
 * bench_gpu_model — how the shim's offload and restore would behave on a GPU,
 * judged by cudasim's memory-transaction model (CUDASIM_PROFILE; the model
 * and what it ignores: tests/cudasim/sim_profile.c). Figures are MODELLED,
 * not measured.
 *
 * Runs build/bench/gpu_model_prog (an fp16 tensor: offload to pinned memory,
 * restore into device memory, each in a profiler range) on cudasim twice per
 * axis: as a plain program (cudaMemcpy on the copy engine) and under
 * LD_PRELOAD=libgqshim.so with an on=dev rule (4 bits, G=64; dim=0 with
 * cols=4096). Prints one line per figure:
 *   kernel=NAME axis=A load_sector_efficiency=.. store_sector_efficiency=..
 *   NAME.axis_A.load_sector_efficiency=..     the same figures, one a line
 *   NAME.axis_A.store_sector_efficiency=..
 *   axis=A pcie_bytes_ratio=..            the shim's offload PCIe bytes / the copy's
 *   axis=A restore_pcie_bytes_ratio=..
 *   axis=A offload_pcie_over_compressed=..  its PCIe bytes / the format's size of the
 *   axis=A restore_pcie_over_compressed=..  tensor (header, metadata, codes)
 *   axis=A modelled_offload_speedup=..    plain modelled time / shim modelled time
 *   axis=A modelled_restore_speedup=..
 *
 *   bench_gpu_model [MIB]     default 64 (1 GiB takes minutes on 2 cores)
 * Run from the repository root (paths under build/; BUILD overrides).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gq_format.h"

static const char *build_dir(void)
{
    const char *b = getenv("BUILD");
    return b && *b ? b : "build";
}

/* Runs gpu_model_prog MIB with the profile at json; shim: under the shim. */
static int run_prog(unsigned mib, const char *json, const char *rules)
{
    char prog[512], lib[512], prof[600], arg[32], shim[512];
    snprintf(prog, sizeof prog, "%s/bench/gpu_model_prog", build_dir());
    snprintf(lib, sizeof lib, "%s/cudasim", build_dir());
    snprintf(prof, sizeof prof, "json:%s", json);
    snprintf(shim, sizeof shim, "%s/libgqshim.so", build_dir());
    snprintf(arg, sizeof arg, "%u", mib);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout))
            _exit(127);
        setenv("LD_LIBRARY_PATH", lib, 1);
        setenv("CUDASIM_PROFILE", prof, 1);
        unsetenv("LD_PRELOAD");
        unsetenv("GQSHIM_RULES");
        if (rules) {
            setenv("LD_PRELOAD", shim, 1);
            setenv("GQSHIM_RULES", rules, 1);
        }
        execl(prog, prog, arg, (char *)NULL);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "bench_gpu_model: %s %s failed\n", prog, rules ? rules : "(plain)");
        return -1;
    }
    return 0;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s)
        s[n] = 0;
    fclose(f);
    return s;
}

/* The text of range r of a cudasim profile (cut at the next range). */
static char *range_of(char *json, unsigned r)
{
    char key[48];
    snprintf(key, sizeof key, "{\"range\": %u,", r);
    char *s = strstr(json, key);
    if (!s)
        return NULL;
    char *next = strstr(s + 1, "{\"range\": ");
    char *log = strstr(s + 1, "\"launch_log\"");
    char *end = next && (!log || next < log) ? next : log;
    size_t n = end ? (size_t)(end - s) : strlen(s);
    char *out = malloc(n + 1);
    if (out) {
        memcpy(out, s, n);
        out[n] = 0;
    }
    return out;
}

/* The number after "key": in text (0 when absent). */
static double num(const char *text, const char *key)
{
    char k[64];
    snprintf(k, sizeof k, "\"%s\": ", key);
    const char *p = text ? strstr(text, k) : NULL;
    return p ? strtod(p + strlen(k), NULL) : 0.0;
}

/* The object of kernel `name` inside a range's text, or NULL. */
static const char *kernel_of(const char *range, const char *name)
{
    char k[96];
    snprintf(k, sizeof k, "{\"name\": \"%s\"", name);
    return range ? strstr(range, k) : NULL;
}

/* PCIe bytes of a range: copy-engine bytes both ways plus every kernel's
 * mapped-memory payload. */
static double pcie_bytes(const char *range)
{
    double b = num(range, "dma_h2d_bytes") + num(range, "dma_d2h_bytes");
    for (const char *k = strstr(range, "{\"name\": "); k; k = strstr(k + 1, "{\"name\": "))
        b += num(k, "pcie_bytes");
    return b;
}

static double ratio(double a, double b)
{
    return b > 0 ? a / b : 0.0;
}

/* A kernel's sector efficiencies: the line of issue 13 (every figure of the
 * kernel and axis), then each figure alone as name=value. */
static void print_efficiency(const char *kernel, const char *axis, const char *k)
{
    double ld = num(k, "load_sector_efficiency"), st = num(k, "store_sector_efficiency");
    printf("kernel=%s axis=%s load_sector_efficiency=%.4f store_sector_efficiency=%.4f\n", kernel, axis,
           ld, st);
    printf("%s.axis_%s.load_sector_efficiency=%.4f\n", kernel, axis, ld);
    printf("%s.axis_%s.store_sector_efficiency=%.4f\n", kernel, axis, st);
}

static int bench_axis(unsigned mib, const char *axis, const char *rules, uint32_t cols)
{
    /* The compressed size of the tensor in the format's own terms (header,
     * metadata, codes; no escape slot): what PCIe must carry at least. */
    struct gq_params gp = {4, 64, GQ_F16, cols ? GQ_DIM_0 : GQ_DIM_LAST, cols};
    double compressed = (double)gq_compressed_size(&gp, (uint64_t)mib << 19, 0);
    char plain_json[] = "/tmp/gq_model_plain_XXXXXX", shim_json[] = "/tmp/gq_model_shim_XXXXXX";
    int a = mkstemp(plain_json), b = mkstemp(shim_json);
    int rc = -1;
    char *pj = NULL, *sj = NULL, *p_off = NULL, *p_res = NULL, *s_off = NULL, *s_res = NULL;
    if (a < 0 || b < 0)
        goto out;
    if (run_prog(mib, plain_json, NULL) || run_prog(mib, shim_json, rules))
        goto out;
    pj = slurp(plain_json);
    sj = slurp(shim_json);
    if (!pj || !sj)
        goto out;
    p_off = range_of(pj, 1);
    p_res = range_of(pj, 2);
    s_off = range_of(sj, 1);
    s_res = range_of(sj, 2);
    if (!p_off || !p_res || !s_off || !s_res) {
        fprintf(stderr, "bench_gpu_model: a profile lacks its ranges\n");
        goto out;
    }
    const char *q = kernel_of(s_off, "gq_quantize"), *d = kernel_of(s_res, "gq_dequantize");
    if (!q || !d)
        fprintf(stderr, "bench_gpu_model: axis=%s: the shim did not %s on the GPU\n", axis,
                !q ? "quantize" : "dequantize");
    if (q)
        print_efficiency("gq_quantize", axis, q);
    if (d)
        print_efficiency("gq_dequantize", axis, d);
    printf("axis=%s offload_pcie_bytes=%.0f plain_offload_pcie_bytes=%.0f\n", axis, pcie_bytes(s_off),
           pcie_bytes(p_off));
    printf("axis=%s pcie_bytes_ratio=%.4f\n", axis, ratio(pcie_bytes(s_off), pcie_bytes(p_off)));
    printf("axis=%s restore_pcie_bytes_ratio=%.4f\n", axis,
           ratio(pcie_bytes(s_res), pcie_bytes(p_res)));
    printf("axis=%s offload_pcie_over_compressed=%.4f\n", axis, ratio(pcie_bytes(s_off), compressed));
    printf("axis=%s restore_pcie_over_compressed=%.4f\n", axis, ratio(pcie_bytes(s_res), compressed));
    printf("axis=%s offload_modelled_ms=%.4f plain_offload_modelled_ms=%.4f\n", axis,
           num(s_off, "modelled_ns") / 1e6, num(p_off, "modelled_ns") / 1e6);
    printf("axis=%s restore_modelled_ms=%.4f plain_restore_modelled_ms=%.4f\n", axis,
           num(s_res, "modelled_ns") / 1e6, num(p_res, "modelled_ns") / 1e6);
    printf("axis=%s modelled_offload_speedup=%.4f\n", axis,
           ratio(num(p_off, "modelled_ns"), num(s_off, "modelled_ns")));
    printf("axis=%s modelled_restore_speedup=%.4f\n", axis,
           ratio(num(p_res, "modelled_ns"), num(s_res, "modelled_ns")));
    rc = 0;
out:
    if (a >= 0) {
        close(a);
        unlink(plain_json);
    }
    if (b >= 0) {
        close(b);
        unlink(shim_json);
    }
    free(pj);
    free(sj);
    free(p_off);
    free(p_res);
    free(s_off);
    free(s_res);
    return rc;
}

int main(int argc, char **argv)
{
    unsigned mib = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 0) : 64;
    if (mib == 0 || mib > 4096 || mib % 8) {
        fprintf(stderr, "usage: bench_gpu_model [MIB] (a multiple of 8, at most 4096; default 64)\n");
        return 2;
    }
    printf("model=cudasim (modelled GPU time, H200 over PCIe Gen5 x16; not measured)\n");
    printf("size_mib=%u dtype=f16 bits=4 group=64\n", mib);
    fflush(stdout);
    int rc = bench_axis(mib, "last", "on=dev,min=1M,dtype=f16,bits=4,group=64", 0);
    fflush(stdout);
    rc |= bench_axis(mib, "0", "on=dev,min=1M,dtype=f16,bits=4,group=64,dim=0,cols=4096", 4096);
    return rc ? 1 : 0;
}
