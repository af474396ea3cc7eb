/* vgtd under systemd: Type=notify readiness and the journal as log sink
 * (host/vgtd_sd.c). Built without libsystemd, every call is a no-op and
 * logs stay on stderr. */
#ifndef VGT_TOOLS_VGTD_SD_H
#define VGT_TOOLS_VGTD_SD_H

#include <stdbool.h>

#include "vgt/log.h"

/* Runs vgtd under systemd with its log meant for the journal? True when
 * $JOURNAL_STREAM names stderr's device:inode (systemd connected stderr
 * to the journal), or when $INVOCATION_ID is set and $JOURNAL_STREAM is
 * not (a unit whose stderr goes elsewhere still logs to the journal). */
bool vgtd_sd_journal_wanted(void);

/* Send @log's entries to the journal when vgtd_sd_journal_wanted().
 * Call before the log struct is copied into other objects. */
void vgtd_sd_log_setup(struct vgt_log *log);

/* The journal sink itself: MESSAGE, PRIORITY, SYSLOG_IDENTIFIER (the log
 * prefix) and, when set, VGT_VGPU, VGT_DOMID, VGT_REASON. Falls back to a
 * stderr line when journald does not take the entry. */
void vgtd_sd_journal_sink(void *opaque, const struct vgt_log *log, int level,
                          const struct vgt_log_fields *f, const char *msg);

/* sd_notify(0, ...) with a printf-formatted state ("READY=1\nSTATUS=...").
 * Returns sd_notify's result (0 when $NOTIFY_SOCKET is unset). */
int vgtd_sd_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
