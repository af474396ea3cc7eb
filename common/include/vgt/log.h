/* One levelled logger for the whole stack.
 *
 * There is no global logger: every context struct (server, vGPU, device)
 * carries a pointer to a struct vgt_log, so two objects in one process can
 * log at different levels. The VGT_LOG macro tests the level before it
 * evaluates its arguments, which is what makes it cheap to leave on hot
 * paths (ioreq dispatch, PTE writes, command scan) with the level lowered.
 *
 * Entries go to a FILE as "prefix: level: message" lines, or to a sink a
 * program installs (vgtd's journal sink, host/vgtd_sd.c): the logger
 * itself knows nothing of the journal. An entry may carry structured
 * fields (vGPU, domain, failsafe reason) that a sink can keep apart. */
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

/* Structured fields of one entry; a line on a FILE shows only the text. */
struct vgt_log_fields {
    int vgpu;           /* vGPU id, or -1 */
    int domid;          /* guest domain id, or -1 */
    const char *reason; /* failsafe reason name, or NULL */
};

struct vgt_log;
/* Gets every entry that passes the level: @msg is the formatted text
 * (no prefix, no level word); @f is never NULL (fields unset are -1/NULL). */
typedef void vgt_log_sink_fn(void *opaque, const struct vgt_log *log, int level,
                             const struct vgt_log_fields *f, const char *msg);

struct vgt_log {
    int level;          /* messages above this level are dropped */
    FILE *out;          /* NULL means stderr */
    const char *prefix; /* e.g. "vgtd" or "vgpu1"; may be NULL */
    vgt_log_sink_fn *sink; /* NULL: lines to out */
    void *sink_opaque;
};

/* Fill *log with defaults: level from $VGT_LOG (err|warn|info|debug|off or
 * 0-4) when set, else @level; output to stderr. */
void vgt_log_init(struct vgt_log *log, const char *prefix, int level);
int vgt_log_parse_level(const char *s, int *level);
/* Send entries to @fn instead of out (NULL: back to lines). Copies of the
 * struct made afterwards keep the sink. */
void vgt_log_set_sink(struct vgt_log *log, vgt_log_sink_fn *fn, void *opaque);
const char *vgt_log_level_name(int level);

void vgt_log_msg(const struct vgt_log *log, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void vgt_log_vmsg(const struct vgt_log *log, int level, const char *fmt, va_list ap);
/* An entry with structured fields (@f may be NULL). */
void vgt_log_fmsg(const struct vgt_log *log, int level, const struct vgt_log_fields *f,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void vgt_log_vfmsg(const struct vgt_log *log, int level, const struct vgt_log_fields *f,
                   const char *fmt, va_list ap);

static inline int vgt_log_enabled(const struct vgt_log *log, int level)
{
    return log && level <= log->level;
}

#define VGT_LOG(log, lvl, ...)                                   \
    do {                                                         \
        if (vgt_log_enabled((log), (lvl)))                       \
            vgt_log_msg((log), (lvl), __VA_ARGS__);              \
    } while (0)

/* Same with fields: VGT_LOG_F(log, VGT_LOG_ERR, &fields, "fmt", ...). The
 * fields are part of the variadic arguments so that a compound literal
 * (whose commas the preprocessor would split) can be passed. */
#define VGT_LOG_F(log, lvl, ...)                                 \
    do {                                                         \
        if (vgt_log_enabled((log), (lvl)))                       \
            vgt_log_fmsg((log), (lvl), __VA_ARGS__);             \
    } while (0)

#define vgt_err(log, ...) VGT_LOG(log, VGT_LOG_ERR, __VA_ARGS__)
#define vgt_warn(log, ...) VGT_LOG(log, VGT_LOG_WARN, __VA_ARGS__)
#define vgt_info(log, ...) VGT_LOG(log, VGT_LOG_INFO, __VA_ARGS__)
#define vgt_debug(log, ...) VGT_LOG(log, VGT_LOG_DEBUG, __VA_ARGS__)

#endif
