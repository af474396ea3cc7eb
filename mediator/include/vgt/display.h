/* Virtual monitors of a vGPU: display modes and EDIDs (docs/display.md).
 *
 * The display engine itself is emulated through the register table
 * (mediator/display.c); the guest's plane, cursor, pipe and transcoder
 * registers live in the vGPU's virtual registers at their i915 offsets
 * (vgt/display_regs.h), read with vgt_vgpu_vreg(). */
#ifndef VGT_DISPLAY_H
#define VGT_DISPLAY_H

#include <stdbool.h>
#include <stdint.h>

#define VGT_EDID_SIZE 128u
#define VGT_MODE_MIN_W 640u
#define VGT_MODE_MIN_H 480u
#define VGT_MODE_MAX_W 4095u /* 12 bits in an EDID detailed timing */
#define VGT_MODE_MAX_H 4095u
#define VGT_DTD_MAX_CLOCK_KHZ 655350u /* 16 bits of 10 kHz */

/* A video mode, in the terms of an EDID detailed timing descriptor. */
struct vgt_mode {
    uint32_t w, h;
    uint32_t hsync_start, hsync_end, htotal;
    uint32_t vsync_start, vsync_end, vtotal;
    uint32_t clock_khz;  /* pixel clock, a multiple of 10 kHz */
    uint32_t refresh_mhz; /* clock / (htotal * vtotal), milli-hertz */
};

/* The mode of a @w x @h monitor: VESA CVT reduced blanking (v1) timings
 * at 60 Hz, or 30 Hz when 60 would not fit an EDID's pixel clock field.
 * -EINVAL outside [640, 4095] x [480, 4095]. */
int vgt_display_mode(uint32_t w, uint32_t h, struct vgt_mode *m);

/* A 128-byte EDID 1.4 (VESA E-EDID A2) for a DisplayPort monitor whose
 * preferred (first detailed) timing is @m: manufacturer "VGT", product
 * code 0x1700 + @head, serial @serial, name "vgt head N", checksum. */
void vgt_edid_build(const struct vgt_mode *m, unsigned head, uint32_t serial,
                    uint8_t out[VGT_EDID_SIZE]);
/* Header and checksum of a 128-byte block are right. */
bool vgt_edid_valid(const uint8_t edid[VGT_EDID_SIZE]);

#endif
