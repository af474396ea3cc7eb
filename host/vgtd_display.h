/* vgtd's display side (docs/display.md): the "screenshot" control request,
 * a VNC server per vGPU head (libvncserver) with keyboard and pointer to
 * the guest through the Xen PV keyboard protocol, and on the simulated
 * platform the guest's display requests (guest-show, guest-mmio,
 * guest-kbd-connect, guest-kbd-read). */
#ifndef VGT_TOOLS_VGTD_DISPLAY_H
#define VGT_TOOLS_VGTD_DISPLAY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vgt/log.h"
#include "vgt/vgt_ctl.h"

struct vgpu_host;
struct vgtd_display;

struct vgtd_display_cfg {
    const struct vgt_log *log;
    bool sim;
    /* VNC: off unless one of these is set. TCP needs a password. */
    const char *vnc_listen;   /* IPv4 address for TCP ports (e.g. 127.0.0.1) */
    unsigned vnc_port;        /* first port: vGPU slot k, head h on port + 3k + h */
    const char *vnc_password; /* file with the VNC password (first line) */
    const char *vnc_unix_dir; /* Unix sockets DIR/domN-headH.sock (no password) */
    unsigned vnc_fps;         /* frame-rate cap (0: 30) */
};

int vgtd_display_create(const struct vgtd_display_cfg *cfg, struct vgtd_display **out);
/* The host it serves (set once, after vgpu_host_create). */
void vgtd_display_set_host(struct vgtd_display *d, struct vgpu_host *h);
void vgtd_display_destroy(struct vgtd_display *d);

/* vgpu_host_cfg.dom_gone: stop serving @domid's screen. */
void vgtd_display_dom_gone(void *opaque, uint16_t domid);
/* A vGPU was added: serve its heads over VNC when configured. */
int vgtd_display_dom_added(struct vgtd_display *d, uint16_t domid, char *err, size_t errlen);

/* A control request this side answers: true when @cmd was one of its
 * (the answer is written to @o), false otherwise. */
bool vgtd_display_handle(struct vgtd_display *d, const char *cmd, const struct vgt_ctl_msg *m,
                         uint16_t domid, FILE *o);
/* What the VNC side of @domid did: capture rounds, rounds that sent
 * something, CPU time of its display thread. -ENOENT without VNC. */
struct vgtd_display_stats {
    uint64_t frames, updates, cpu_ns;
    unsigned fps; /* its cap */
};
int vgtd_display_stats(struct vgtd_display *d, uint16_t domid, struct vgtd_display_stats *st);
/* The VNC address of @domid's @head ("127.0.0.1:5900", "unix:PATH"), or
 * NULL. Valid until the vGPU goes. */
const char *vgtd_display_addr(struct vgtd_display *d, uint16_t domid, unsigned head);

/* ,"vnc_head0":"ADDR",... for vgt list (nothing when VNC is off). */
void vgtd_display_list_json(struct vgtd_display *d, uint16_t domid, FILE *o);

#endif
