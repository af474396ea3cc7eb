/* One levelled logger for the whole stack.
 *
 * There is no global logger: every context struct (server, vGPU, device)
 * carries a pointer to a struct vgt_log, so two objects in one process can
 * log at different levels. The VGT_LOG macro tests the level before it
 * evaluates its arguments, which is what makes it cheap to leave on hot
 * paths (ioreq dispatch, PTE writes, command scan) with the level lowered. */
#ifndef VGT_LOG_H
#define VGT_LOG_H

#include <stdarg.h>
#include <stdio.h>

enum vgt_log_level {
    VGT_LOG_OFF = 0,
    VGT_LOG_ERR = 1,
    VGT_LOG_WARN = 2,
    VGT_LOG_INFO = 3,
    VGT_LOG_DEBUG = 4,
};

struct vgt_log {
    int level;          /* messages above this level are dropped */
    FILE *out;          /* NULL means stderr */
    const char *prefix; /* e.g. "vgtd" or "vgpu1"; may be NULL */
};

/* Fill *log with defaults: level from $VGT_LOG (err|warn|info|debug|off or
 * 0-4) when set, else @level; output to stderr. */
void vgt_log_init(struct vgt_log *log, const char *prefix, int level);
int vgt_log_parse_level(const char *s, int *level);

void vgt_log_msg(const struct vgt_log *log, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void vgt_log_vmsg(const struct vgt_log *log, int level, const char *fmt, va_list ap);

static inline int vgt_log_enabled(const struct vgt_log *log, int level)
{
    return log && level <= log->level;
}

#define VGT_LOG(log, lvl, ...)                                   \
    do {                                                         \
        if (vgt_log_enabled((log), (lvl)))                       \
            vgt_log_msg((log), (lvl), __VA_ARGS__);              \
    } while (0)

#define vgt_err(log, ...) VGT_LOG(log, VGT_LOG_ERR, __VA_ARGS__)
#define vgt_warn(log, ...) VGT_LOG(log, VGT_LOG_WARN, __VA_ARGS__)
#define vgt_info(log, ...) VGT_LOG(log, VGT_LOG_INFO, __VA_ARGS__)
#define vgt_debug(log, ...) VGT_LOG(log, VGT_LOG_DEBUG, __VA_ARGS__)

#endif
