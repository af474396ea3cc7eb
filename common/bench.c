#include "vgt/bench.h"

#include <string.h>

static void put_json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        if ((unsigned char)*s < 0x20)
            fprintf(out, "\\u%04x", *s);
        else
            fputc(*s, out);
    }
    fputc('"', out);
}

void vgt_bench_emit(FILE *out, int json, const struct vgt_bench_fig *fig)
{
    double ratio = fig->baseline != 0.0 ? fig->value / fig->baseline : 0.0;

    if (!json) {
        fprintf(out, "%-8s %-36s %14.3f %-8s baseline %14.3f  ratio %.3f%s%s\n",
                fig->bench, fig->metric, fig->value, fig->unit, fig->baseline, ratio,
                fig->target ? "  target " : "", fig->target ? fig->target : "");
        return;
    }
    fputs("{\"bench\":", out);
    put_json_str(out, fig->bench);
    fputs(",\"metric\":", out);
    put_json_str(out, fig->metric);
    fprintf(out, ",\"value\":%.6g,\"unit\":", fig->value);
    put_json_str(out, fig->unit);
    fprintf(out, ",\"baseline\":%.6g,\"ratio\":%.6g", fig->baseline, ratio);
    if (fig->baseline_desc) {
        fputs(",\"baseline_desc\":", out);
        put_json_str(out, fig->baseline_desc);
    }
    if (fig->target) {
        fputs(",\"target\":", out);
        put_json_str(out, fig->target);
    }
    fputs("}\n", out);
    fflush(out);
}
