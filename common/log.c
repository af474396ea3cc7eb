#include "vgt/log.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const level_names[] = {"off", "err", "warn", "info", "debug"};

int vgt_log_parse_level(const char *s, int *level)
{
    if (!s || !*s)
        return -1;
    for (int i = 0; i < (int)(sizeof(level_names) / sizeof(level_names[0])); i++) {
        if (!strcasecmp(s, level_names[i])) {
            *level = i;
            return 0;
        }
    }
    if (s[0] >= '0' && s[0] <= '4' && s[1] == '\0') {
        *level = s[0] - '0';
        return 0;
    }
    return -1;
}

const char *vgt_log_level_name(int level)
{
    return level >= 0 && level <= VGT_LOG_DEBUG ? level_names[level] : "err";
}

void vgt_log_init(struct vgt_log *log, const char *prefix, int level)
{
    int env_level;

    log->level = level;
    log->out = NULL;
    log->prefix = prefix;
    log->sink = NULL;
    log->sink_opaque = NULL;
    if (vgt_log_parse_level(getenv("VGT_LOG"), &env_level) == 0)
        log->level = env_level;
}

void vgt_log_set_sink(struct vgt_log *log, vgt_log_sink_fn *fn, void *opaque)
{
    log->sink = fn;
    log->sink_opaque = fn ? opaque : NULL;
}

void vgt_log_vfmsg(const struct vgt_log *log, int level, const struct vgt_log_fields *f,
                   const char *fmt, va_list ap)
{
    static const struct vgt_log_fields none = {.vgpu = -1, .domid = -1, .reason = NULL};
    FILE *out = (log && log->out) ? log->out : stderr;
    char line[1024];
    int n = 0;

    if (level < 1 || level > 4)
        level = VGT_LOG_ERR;
    if (log && log->sink) {
        vsnprintf(line, sizeof(line), fmt, ap);
        log->sink(log->sink_opaque, log, level, f ? f : &none, line);
        return;
    }
    /* Build the line first so concurrent threads never interleave halves. */
    if (log && log->prefix)
        n = snprintf(line, sizeof(line), "%s: %s: ", log->prefix, level_names[level]);
    else
        n = snprintf(line, sizeof(line), "%s: ", level_names[level]);
    if (n < 0 || (size_t)n >= sizeof(line))
        n = 0;
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    fprintf(out, "%s\n", line);
}

void vgt_log_vmsg(const struct vgt_log *log, int level, const char *fmt, va_list ap)
{
    vgt_log_vfmsg(log, level, NULL, fmt, ap);
}

void vgt_log_fmsg(const struct vgt_log *log, int level, const struct vgt_log_fields *f,
                  const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vgt_log_vfmsg(log, level, f, fmt, ap);
    va_end(ap);
}

void vgt_log_msg(const struct vgt_log *log, int level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vgt_log_vmsg(log, level, fmt, ap);
    va_end(ap);
}
