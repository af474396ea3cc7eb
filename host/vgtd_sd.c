/* vgtd under systemd (see vgtd_sd.h): readiness through sd_notify and the
 * journal sink through sd_journal_sendv, both from libsystemd. */
#include "vgtd_sd.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#ifdef VGT_HAVE_LIBSYSTEMD
/* CODE_FILE/CODE_LINE would always name the sink below, not the caller. */
#define SD_JOURNAL_SUPPRESS_LOCATION 1
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#endif

bool vgtd_sd_journal_wanted(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    char tail;

    if (!js || !*js)
        return getenv("INVOCATION_ID") != NULL;
    /* "DEVICE:INODE" in decimal (systemd.exec(5), $JOURNAL_STREAM). */
    if (sscanf(js, "%llu:%llu%c", &dev, &ino, &tail) != 2 || fstat(STDERR_FILENO, &st))
        return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* syslog(3) priorities, as the journal's PRIORITY= field wants them. */
static int priority_of(int level)
{
    switch (level) {
    case VGT_LOG_WARN:
        return 4; /* LOG_WARNING */
    case VGT_LOG_INFO:
        return 6; /* LOG_INFO */
    case VGT_LOG_DEBUG:
        return 7; /* LOG_DEBUG */
    default:
        return 3; /* LOG_ERR */
    }
}

void vgtd_sd_journal_sink(void *opaque, const struct vgt_log *log, int level,
                          const struct vgt_log_fields *f, const char *msg)
{
    char m[1100], prio[16], ident[64], vgpu[32], domid[32], reason[80];
    struct iovec iov[7];
    int n = 0;

    (void)opaque;
    snprintf(m, sizeof(m), "MESSAGE=%s", msg);
    snprintf(prio, sizeof(prio), "PRIORITY=%d", priority_of(level));
    snprintf(ident, sizeof(ident), "SYSLOG_IDENTIFIER=%s", log->prefix ? log->prefix : "vgtd");
    iov[n++] = (struct iovec){m, strlen(m)};
    iov[n++] = (struct iovec){prio, strlen(prio)};
    iov[n++] = (struct iovec){ident, strlen(ident)};
    if (f->vgpu >= 0) {
        snprintf(vgpu, sizeof(vgpu), "VGT_VGPU=%d", f->vgpu);
        iov[n++] = (struct iovec){vgpu, strlen(vgpu)};
    }
    if (f->domid >= 0) {
        snprintf(domid, sizeof(domid), "VGT_DOMID=%d", f->domid);
        iov[n++] = (struct iovec){domid, strlen(domid)};
    }
    if (f->reason) {
        snprintf(reason, sizeof(reason), "VGT_REASON=%s", f->reason);
        iov[n++] = (struct iovec){reason, strlen(reason)};
    }
#ifdef VGT_HAVE_LIBSYSTEMD
    if (sd_journal_sendv(iov, n) >= 0)
        return;
#else
    (void)iov;
#endif
    /* No journald (or no libsystemd): the entry must not be lost. */
    fprintf(log->out ? log->out : stderr, "%s: %s: %s\n", log->prefix ? log->prefix : "vgtd",
            vgt_log_level_name(level), msg);
}

void vgtd_sd_log_setup(struct vgt_log *log)
{
#ifdef VGT_HAVE_LIBSYSTEMD
    if (vgtd_sd_journal_wanted())
        vgt_log_set_sink(log, vgtd_sd_journal_sink, NULL);
#else
    (void)log;
#endif
}

int vgtd_sd_notifyf(const char *fmt, ...)
{
#ifdef VGT_HAVE_LIBSYSTEMD
    char state[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(state, sizeof(state), fmt, ap);
    va_end(ap);
    return sd_notify(0, state);
#else
    (void)fmt;
    return 0;
#endif
}
