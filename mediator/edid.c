/* Virtual monitors: CVT reduced-blanking modes and EDID 1.4 blocks.
 *
 * Sources: VESA Coordinated Video Timings 1.2 (reduced blanking v1:
 * 160-pixel horizontal blank with 48 front porch and 32 sync, vertical
 * front porch 3, sync 5 for 16:9, at least 460 us of vertical blank) and
 * VESA E-EDID A2 (EDID 1.4) for the block layout. Linux gvt edid.c
 * presents a fixed EDID the same way; this one is built per head for the
 * vGPU type's resolution. */
#include "vgt/display.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define RB_HBLANK 160u
#define RB_HFRONT 48u
#define RB_HSYNC 32u
#define RB_VFRONT 3u
#define RB_VSYNC 5u
#define RB_MIN_VBPORCH 6u
#define RB_MIN_VBLANK_US 460u

static int mode_at(uint32_t w, uint32_t h, uint32_t hz, struct vgt_mode *m)
{
    /* Estimated line period (ns) leaving 460 us of blank per frame, then
     * the blank lines that covers (CVT 1.2 section 3.4.2). */
    uint64_t frame_ns = 1000000000ull / hz;
    uint64_t line_ns = (frame_ns - RB_MIN_VBLANK_US * 1000ull) / h;
    uint32_t vbi = (uint32_t)(RB_MIN_VBLANK_US * 1000ull / line_ns) + 1;
    uint64_t clock;

    if (vbi < RB_VFRONT + RB_VSYNC + RB_MIN_VBPORCH)
        vbi = RB_VFRONT + RB_VSYNC + RB_MIN_VBPORCH;
    memset(m, 0, sizeof(*m));
    m->w = w;
    m->h = h;
    m->htotal = w + RB_HBLANK;
    m->hsync_start = w + RB_HFRONT;
    m->hsync_end = m->hsync_start + RB_HSYNC;
    m->vtotal = h + vbi;
    m->vsync_start = h + RB_VFRONT;
    m->vsync_end = m->vsync_start + RB_VSYNC;
    /* Round the clock up to the EDID's 10 kHz unit: the refresh is then
     * at least @hz. */
    clock = (uint64_t)m->htotal * m->vtotal * hz;
    clock = (clock + 9999) / 10000 * 10;
    if (clock > VGT_DTD_MAX_CLOCK_KHZ)
        return -ERANGE;
    m->clock_khz = (uint32_t)clock;
    m->refresh_mhz = (uint32_t)(clock * 1000000ull / ((uint64_t)m->htotal * m->vtotal));
    return 0;
}

int vgt_display_mode(uint32_t w, uint32_t h, struct vgt_mode *m)
{
    if (w < VGT_MODE_MIN_W || w > VGT_MODE_MAX_W || h < VGT_MODE_MIN_H || h > VGT_MODE_MAX_H)
        return -EINVAL;
    if (mode_at(w, h, 60, m) == 0)
        return 0;
    return mode_at(w, h, 30, m) == 0 ? 0 : -EINVAL;
}

/* Detailed timing descriptor (E-EDID A2 3.10.2). */
static void put_dtd(uint8_t *d, const struct vgt_mode *m)
{
    uint32_t hblank = m->htotal - m->w, vblank = m->vtotal - m->h;
    uint32_t hso = m->hsync_start - m->w, hsw = m->hsync_end - m->hsync_start;
    uint32_t vso = m->vsync_start - m->h, vsw = m->vsync_end - m->vsync_start;
    /* Image size for ~96 dpi (3.78 px/mm), which keeps DRM's DPI sane. */
    uint32_t wmm = m->w * 100 / 378, hmm = m->h * 100 / 378;
    uint32_t clk = m->clock_khz / 10;

    d[0] = clk & 0xff;
    d[1] = (uint8_t)(clk >> 8);
    d[2] = m->w & 0xff;
    d[3] = hblank & 0xff;
    d[4] = (uint8_t)(((m->w >> 8) & 0xf) << 4 | ((hblank >> 8) & 0xf));
    d[5] = m->h & 0xff;
    d[6] = vblank & 0xff;
    d[7] = (uint8_t)(((m->h >> 8) & 0xf) << 4 | ((vblank >> 8) & 0xf));
    d[8] = hso & 0xff;
    d[9] = hsw & 0xff;
    d[10] = (uint8_t)((vso & 0xf) << 4 | (vsw & 0xf));
    d[11] = (uint8_t)(((hso >> 8) & 3) << 6 | ((hsw >> 8) & 3) << 4 | ((vso >> 4) & 3) << 2 |
                      ((vsw >> 4) & 3));
    d[12] = wmm & 0xff;
    d[13] = hmm & 0xff;
    d[14] = (uint8_t)(((wmm >> 8) & 0xf) << 4 | ((hmm >> 8) & 0xf));
    d[15] = 0;
    d[16] = 0;
    /* Digital separate sync, +hsync -vsync (CVT reduced blanking). */
    d[17] = 0x18 | 0x02;
}

/* A display descriptor with a text payload (tag 0xFC name, 0xFE text):
 * up to 13 characters, LF-terminated, space padded. */
static void put_text(uint8_t *d, uint8_t tag, const char *s)
{
    size_t n = strlen(s);

    memset(d, 0, 5);
    d[3] = tag;
    memset(d + 5, ' ', 13);
    if (n > 13)
        n = 13;
    memcpy(d + 5, s, n);
    if (n < 13)
        d[5 + n] = '\n';
}

void vgt_edid_build(const struct vgt_mode *m, unsigned head, uint32_t serial,
                    uint8_t out[VGT_EDID_SIZE])
{
    static const uint8_t header[8] = {0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00};
    /* sRGB primaries and white point, 10-bit CIE xy (E-EDID A2 3.7). */
    static const uint8_t srgb[10] = {0xee, 0x91, 0xa3, 0x54, 0x4c, 0x99, 0x26, 0x0f, 0x50, 0x54};
    /* "VGT": three 5-bit letters, 'A' = 1, big endian (3.4.1). */
    const uint16_t mfg = ('V' - '@') << 10 | ('G' - '@') << 5 | ('T' - '@');
    uint16_t product = (uint16_t)(0x1700 + head);
    char name[16];
    uint8_t sum = 0;

    memset(out, 0, VGT_EDID_SIZE);
    memcpy(out, header, 8);
    out[8] = (uint8_t)(mfg >> 8);
    out[9] = mfg & 0xff;
    out[10] = product & 0xff;
    out[11] = (uint8_t)(product >> 8);
    memcpy(out + 12, &(uint8_t[4]){serial & 0xff, (serial >> 8) & 0xff, (serial >> 16) & 0xff,
                                   serial >> 24},
           4);
    out[16] = 1;          /* week */
    out[17] = 2026 - 1990; /* model year */
    out[18] = 1;          /* EDID 1.4 */
    out[19] = 4;
    out[20] = 0x80 | 0x20 | 0x05; /* digital, 8 bits per colour, DisplayPort */
    out[21] = (uint8_t)((m->w * 100 / 378 + 5) / 10);  /* cm */
    out[22] = (uint8_t)((m->h * 100 / 378 + 5) / 10);
    out[23] = 120;  /* gamma 2.2 */
    out[24] = 0x06; /* RGB 4:4:4, sRGB default, preferred timing is native */
    memcpy(out + 25, srgb, sizeof(srgb));
    out[35] = 0x20; /* established timing 640x480@60, which every sink has */
    memset(out + 38, 0x01, 16); /* no standard timings */
    put_dtd(out + 54, m);
    snprintf(name, sizeof(name), "vgt head %u", head);
    put_text(out + 72, 0xfc, name);
    put_text(out + 90, 0xfe, "virtual");
    put_text(out + 108, 0xfe, "mediated GPU");
    out[126] = 0; /* no extension blocks */
    for (unsigned i = 0; i < VGT_EDID_SIZE - 1; i++)
        sum = (uint8_t)(sum + out[i]);
    out[127] = (uint8_t)(0x100 - sum);
}

bool vgt_edid_valid(const uint8_t edid[VGT_EDID_SIZE])
{
    static const uint8_t header[8] = {0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00};
    uint8_t sum = 0;

    for (unsigned i = 0; i < VGT_EDID_SIZE; i++)
        sum = (uint8_t)(sum + edid[i]);
    return sum == 0 && !memcmp(edid, header, sizeof(header));
}
