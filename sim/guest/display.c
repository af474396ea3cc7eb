/* The simulated guest driver's display (vgt/sim_gg_display.h): an i915
 * modeset, framebuffers, drawing and page flips, through the vGPU's
 * registers only.
 *
 * The sequence follows i915 on Skylake DP (display/intel_ddi.c
 * hsw_crtc_enable / intel_ddi_pre_enable_dp, intel_dp_link_training.c,
 * skl_universal_plane.c, skl_watermark.c, intel_dpll_mgr.c skl_ddi_pll_*),
 * reduced to one link rate and no scalers; register facts are in
 * vgt/display_regs.h. EDID over I2C-over-AUX is drm_dp_i2c_xfer's
 * message sequence; over GMBUS it is intel_gmbus.c's indexed read. */
#include "vgt/sim_gg_display.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/display_regs.h"
#include "vgt/sim_gpu_regs.h"
#include "vgt/util.h"

#define POLL_MS 100
#define LINK_BW 0x14u     /* HBR2: 5.4 Gbps per lane */
#define LINK_KHZ (LINK_BW * DP_LINK_BW_SYMBOL_KHZ)
#define LANES 4u
#define LINK_N 0x80000u   /* i915 DATA_LINK_N_MAX */
#define DDB_BLOCKS 896u   /* SKL display buffer */
#define CURSOR_DIM 64u

struct dfb {
    struct gg_fb pub;
    uint8_t *shadow; /* the driver's copy: drawing writes it, then RAM */
    bool alloc;
};

struct head {
    bool on;
    struct gg_mode_info mode;
    struct dfb fb[2];
    unsigned front;
    struct gg_bo cursor;
    bool cursor_alloc;
};

struct gg_display {
    struct gg *d;
    struct head head[VGT_MAX_HEADS];
};

static int rd(struct gg_display *dp, uint32_t off, uint32_t *v)
{
    return gg_mmio_read32(dp->d, off, v);
}

static int wr(struct gg_display *dp, uint32_t off, uint32_t v)
{
    return gg_mmio_write32(dp->d, off, v);
}

/* Wait until (@off & @mask) == @want, as i915's intel_de_wait_for_*. */
static int poll(struct gg_display *dp, uint32_t off, uint32_t mask, uint32_t want)
{
    uint64_t t0 = vgt_now_ns();
    uint32_t v;

    for (;;) {
        int rc = rd(dp, off, &v);

        if (rc)
            return rc;
        if ((v & mask) == want)
            return 0;
        if (vgt_now_ns() - t0 > POLL_MS * 1000000ull)
            return -ETIMEDOUT;
    }
}

/* ---- DDC: AUX and GMBUS ---- */

/* One AUX transaction: @req of @n bytes; the reply in @rep, its length in
 * *rn. -ETIMEDOUT no sink, -EIO a receive error. */
static int aux_xfer(struct gg_display *dp, unsigned port, const uint8_t *req, unsigned n,
                    uint8_t *rep, unsigned *rn)
{
    uint32_t ctl;
    int rc = 0;

    for (unsigned i = 0; i < (n + 3) / 4 && !rc; i++) {
        uint32_t w = 0;

        for (unsigned b = 0; b < 4 && 4 * i + b < n; b++)
            w |= (uint32_t)req[4 * i + b] << (24 - 8 * b);
        rc = wr(dp, DP_AUX_CH_DATA(port, i), w);
    }
    rc = rc ?: wr(dp, DP_AUX_CH_CTL(port),
                  DP_AUX_CH_CTL_SEND_BUSY | DP_AUX_CH_CTL_DONE | DP_AUX_CH_CTL_TIME_OUT_ERROR |
                      DP_AUX_CH_CTL_RECEIVE_ERROR | n << DP_AUX_CH_CTL_MESSAGE_SIZE_SHIFT);
    rc = rc ?: poll(dp, DP_AUX_CH_CTL(port), DP_AUX_CH_CTL_SEND_BUSY, 0);
    rc = rc ?: rd(dp, DP_AUX_CH_CTL(port), &ctl);
    if (rc)
        return rc;
    if (ctl & DP_AUX_CH_CTL_TIME_OUT_ERROR)
        return -ETIMEDOUT;
    if (ctl & DP_AUX_CH_CTL_RECEIVE_ERROR)
        return -EIO;
    *rn = (ctl & DP_AUX_CH_CTL_MESSAGE_SIZE_MASK) >> DP_AUX_CH_CTL_MESSAGE_SIZE_SHIFT;
    if (*rn < 1 || *rn > DP_AUX_MAX_MSG)
        return -EIO;
    for (unsigned i = 0; i < (*rn + 3) / 4; i++) {
        uint32_t w;

        rc = rd(dp, DP_AUX_CH_DATA(port, i), &w);
        if (rc)
            return rc;
        for (unsigned b = 0; b < 4 && 4 * i + b < *rn; b++)
            rep[4 * i + b] = (uint8_t)(w >> (24 - 8 * b));
    }
    return 0;
}

static int aux_native(struct gg_display *dp, unsigned port, bool write, uint32_t addr, uint8_t *buf,
                      unsigned len)
{
    uint8_t req[DP_AUX_MAX_MSG] = {(uint8_t)((write ? DP_AUX_NATIVE_WRITE : DP_AUX_NATIVE_READ) << 4 |
                                             (addr >> 16 & 0xf)),
                                   (uint8_t)(addr >> 8), (uint8_t)addr, (uint8_t)(len - 1)};
    uint8_t rep[DP_AUX_MAX_MSG];
    unsigned rn;
    int rc;

    if (!len || len > 16)
        return -EINVAL;
    if (write)
        memcpy(req + 4, buf, len);
    rc = aux_xfer(dp, port, req, write ? 4 + len : 4, rep, &rn);
    if (rc)
        return rc;
    if (rep[0] != DP_AUX_NATIVE_REPLY_ACK || (!write && rn != 1 + len))
        return -EIO;
    if (!write)
        memcpy(buf, rep + 1, len);
    return 0;
}

static int aux_wb(struct gg_display *dp, unsigned port, uint32_t addr, uint8_t v)
{
    return aux_native(dp, port, true, addr, &v, 1);
}

/* EDID over I2C-over-AUX: offset write, 16-byte reads with MOT, stop. */
static int edid_aux(struct gg_display *dp, unsigned port, uint8_t *edid)
{
    uint8_t req[5], rep[DP_AUX_MAX_MSG];
    unsigned rn;
    int rc;

    req[0] = (DP_AUX_I2C_WRITE | DP_AUX_I2C_MOT) << 4;
    req[1] = 0;
    req[2] = DDC_ADDR;
    req[3] = 0;
    req[4] = 0; /* offset 0 */
    rc = aux_xfer(dp, port, req, 5, rep, &rn);
    if (!rc && rep[0] != DP_AUX_I2C_REPLY_ACK)
        rc = -EIO;
    for (unsigned off = 0; off < 128 && !rc; off += 16) {
        req[0] = (DP_AUX_I2C_READ | DP_AUX_I2C_MOT) << 4;
        req[3] = 15;
        rc = aux_xfer(dp, port, req, 4, rep, &rn);
        if (!rc && (rep[0] != DP_AUX_I2C_REPLY_ACK || rn != 17))
            rc = -EIO;
        if (!rc)
            memcpy(edid + off, rep + 1, 16);
    }
    /* Address-only read without MOT ends the I2C transaction. */
    req[0] = DP_AUX_I2C_READ << 4;
    if (!rc)
        rc = aux_xfer(dp, port, req, 3, rep, &rn);
    return rc;
}

static const uint32_t head_pin[VGT_MAX_HEADS] = {GMBUS_PIN_DPB, GMBUS_PIN_DPC, GMBUS_PIN_DPD};

static int gmbus_clear(struct gg_display *dp, int rc)
{
    wr(dp, PCH_GMBUS1, GMBUS_SW_CLR_INT);
    wr(dp, PCH_GMBUS1, 0);
    wr(dp, PCH_GMBUS0, 0);
    return rc;
}

/* EDID over GMBUS: an indexed read of 128 bytes at 0x50, then STOP. */
static int edid_gmbus(struct gg_display *dp, unsigned head, uint8_t *edid)
{
    uint32_t st, w;
    int rc;

    rc = wr(dp, PCH_GMBUS0, head_pin[head]);
    rc = rc ?: wr(dp, PCH_GMBUS1, GMBUS_SW_RDY | GMBUS_CYCLE_INDEX | GMBUS_CYCLE_WAIT |
                                       128u << GMBUS_BYTE_COUNT_SHIFT | 0u << GMBUS_SLAVE_INDEX_SHIFT |
                                       DDC_ADDR << GMBUS_SLAVE_ADDR_SHIFT | GMBUS_SLAVE_READ);
    for (unsigned off = 0; off < 128 && !rc; off += 4) {
        rc = poll(dp, PCH_GMBUS2, GMBUS_HW_RDY, GMBUS_HW_RDY);
        rc = rc ?: rd(dp, PCH_GMBUS2, &st);
        if (!rc && (st & GMBUS_SATOER))
            return gmbus_clear(dp, -EIO);
        rc = rc ?: rd(dp, PCH_GMBUS3, &w);
        for (unsigned b = 0; b < 4 && !rc; b++)
            edid[off + b] = (uint8_t)(w >> (8 * b));
    }
    rc = rc ?: poll(dp, PCH_GMBUS2, GMBUS_HW_WAIT_PHASE, GMBUS_HW_WAIT_PHASE);
    rc = rc ?: wr(dp, PCH_GMBUS1, GMBUS_SW_RDY | GMBUS_CYCLE_STOP);
    rc = rc ?: poll(dp, PCH_GMBUS2, GMBUS_ACTIVE, 0);
    rc = rc ?: wr(dp, PCH_GMBUS0, 0);
    return rc ? gmbus_clear(dp, rc) : 0;
}

bool gg_display_connected(struct gg_display *dp, unsigned head)
{
    uint32_t strap, isr;
    unsigned port = VGT_HEAD_PORT(head);

    if (head >= VGT_MAX_HEADS || rd(dp, SFUSE_STRAP, &strap) || rd(dp, SDEISR, &isr))
        return false;
    return (strap & SFUSE_STRAP_DDI_DETECTED(port)) && (isr & SDE_PORT_HOTPLUG_CPT(port));
}

int gg_display_read_edid(struct gg_display *dp, unsigned head, enum gg_ddc via, uint8_t edid[128])
{
    uint8_t sum = 0;
    int rc;

    if (!gg_display_connected(dp, head))
        return -ENODEV;
    rc = via == GG_DDC_GMBUS ? edid_gmbus(dp, head, edid) : edid_aux(dp, VGT_HEAD_PORT(head), edid);
    if (rc)
        return rc == -ETIMEDOUT ? -ENODEV : -EIO;
    for (unsigned i = 0; i < 128; i++)
        sum = (uint8_t)(sum + edid[i]);
    return sum ? -EPROTO : 0;
}

/* ---- init ---- */

int gg_display_init(struct gg *d, struct gg_display **out)
{
    const uint32_t wells = HSW_PWR_WELL_CTL_REQ(SKL_PW_CTL_IDX_PW_1) |
                           HSW_PWR_WELL_CTL_REQ(SKL_PW_CTL_IDX_MISC_IO) |
                           HSW_PWR_WELL_CTL_REQ(SKL_PW_CTL_IDX_PW_2) |
                           HSW_PWR_WELL_CTL_REQ(SKL_PW_CTL_IDX_DDI_A_E) |
                           HSW_PWR_WELL_CTL_REQ(SKL_PW_CTL_IDX_DDI_B) |
                           HSW_PWR_WELL_CTL_REQ(SKL_PW_CTL_IDX_DDI_B + 1) |
                           HSW_PWR_WELL_CTL_REQ(SKL_PW_CTL_IDX_DDI_B + 2);
    struct gg_display *dp = calloc(1, sizeof(*dp));
    uint32_t hpd = 0, hpd_en = 0, aux = 0;
    int rc;

    if (!dp)
        return -ENOMEM;
    dp->d = d;
    for (unsigned h = 0; h < VGT_MAX_HEADS; h++) {
        hpd |= SDE_PORT_HOTPLUG_CPT(VGT_HEAD_PORT(h));
        hpd_en |= PORT_HOTPLUG_ENABLE(VGT_HEAD_PORT(h));
        aux |= GEN9_AUX_CHANNEL_BIT(VGT_HEAD_PORT(h));
    }
    /* Power wells (each state bit follows its request), then the DBUF
     * (gen9_dbuf_enable). */
    rc = wr(dp, HSW_PWR_WELL_CTL2, wells);
    rc = rc ?: poll(dp, HSW_PWR_WELL_CTL2, wells >> 1, wells >> 1);
    rc = rc ?: wr(dp, DBUF_CTL, DBUF_POWER_REQUEST);
    rc = rc ?: poll(dp, DBUF_CTL, DBUF_POWER_STATE, DBUF_POWER_STATE);
    /* Interrupts (gen8_de_irq_postinstall, spt_hpd_irq_setup): vblank and
     * flip-done per pipe, AUX done, hotplug of ports B..D. */
    for (unsigned p = 0; p < VGT_MAX_PIPES && !rc; p++) {
        rc = wr(dp, GEN8_DE_PIPE_IER(p), GEN8_PIPE_VBLANK | GEN9_PIPE_PLANE1_FLIP_DONE);
        rc = rc ?: wr(dp, GEN8_DE_PIPE_IMR(p), ~(GEN8_PIPE_VBLANK | GEN9_PIPE_PLANE1_FLIP_DONE));
    }
    rc = rc ?: wr(dp, GEN8_DE_PORT_IER, aux);
    rc = rc ?: wr(dp, GEN8_DE_PORT_IMR, ~aux);
    rc = rc ?: wr(dp, PCH_PORT_HOTPLUG, hpd_en);
    rc = rc ?: wr(dp, SDEIER, hpd);
    rc = rc ?: wr(dp, SDEIMR, ~hpd);
    if (rc) {
        free(dp);
        return rc;
    }
    *out = dp;
    return 0;
}

void gg_display_fini(struct gg_display *dp)
{
    if (!dp)
        return;
    for (unsigned h = 0; h < VGT_MAX_HEADS; h++) {
        gg_display_disable(dp, h);
        free(dp->head[h].fb[0].shadow);
        free(dp->head[h].fb[1].shadow);
    }
    free(dp);
}

/* ---- formats and tiling ---- */

static unsigned fmt_cpp(enum gg_fmt f)
{
    return f == GG_FMT_RGB565 ? 2 : 4;
}

static uint32_t fmt_ctl(enum gg_fmt f)
{
    switch (f) {
    case GG_FMT_ARGB8888:
        return PLANE_CTL_FORMAT_XRGB_8888 | PLANE_CTL_ALPHA_SW_PREMULTIPLY;
    case GG_FMT_XBGR8888:
        return PLANE_CTL_FORMAT_XRGB_8888 | PLANE_CTL_ORDER_RGBX;
    case GG_FMT_RGB565:
        return PLANE_CTL_FORMAT_RGB_565;
    case GG_FMT_XRGB2101010:
        return PLANE_CTL_FORMAT_XRGB_2101010;
    default:
        return PLANE_CTL_FORMAT_XRGB_8888;
    }
}

static uint32_t to_fmt(enum gg_fmt f, uint32_t c)
{
    uint32_t a = c >> 24, r = (c >> 16) & 0xff, g = (c >> 8) & 0xff, b = c & 0xff;

    switch (f) {
    case GG_FMT_XBGR8888:
        return 0xffu << 24 | b << 16 | g << 8 | r;
    case GG_FMT_RGB565:
        return (r >> 3) << 11 | (g >> 2) << 5 | b >> 3;
    case GG_FMT_XRGB2101010:
        return 3u << 30 | (r << 2 | r >> 6) << 20 | (g << 2 | g >> 6) << 10 | (b << 2 | b >> 6);
    case GG_FMT_ARGB8888:
        return a << 24 | r << 16 | g << 8 | b;
    default:
        return 0xffu << 24 | r << 16 | g << 8 | b;
    }
}

static uint32_t from_fmt(enum gg_fmt f, uint32_t p)
{
    uint32_t r, g, b;

    switch (f) {
    case GG_FMT_XBGR8888:
        return 0xffu << 24 | (p & 0xff) << 16 | (p & 0xff00) | ((p >> 16) & 0xff);
    case GG_FMT_RGB565:
        r = (p >> 11) & 0x1f;
        g = (p >> 5) & 0x3f;
        b = p & 0x1f;
        return 0xffu << 24 | (r << 3 | r >> 2) << 16 | (g << 2 | g >> 4) << 8 | (b << 3 | b >> 2);
    case GG_FMT_XRGB2101010:
        return 0xffu << 24 | ((p >> 22) & 0xff) << 16 | ((p >> 12) & 0xff) << 8 | ((p >> 2) & 0xff);
    case GG_FMT_ARGB8888:
        return p;
    default:
        return 0xffu << 24 | (p & 0xffffff);
    }
}

/* Byte offset of byte @xb of row @y (legacy X tiles: 512 B x 8 rows; Y
 * tiles: 128 B x 32 rows in 16-byte columns; i915 GEM tiling docs). */
static size_t tile_off(const struct gg_fb *fb, uint32_t xb, uint32_t y)
{
    switch (fb->tiling) {
    case GG_TILING_X:
        return ((size_t)(y / 8) * (fb->stride / 512) + xb / 512) * 4096 + (y % 8) * 512 + xb % 512;
    case GG_TILING_Y:
        return ((size_t)(y / 32) * (fb->stride / 128) + xb / 128) * 4096 + ((xb % 128) / 16) * 512 +
               (y % 32) * 16 + xb % 16;
    default:
        return (size_t)y * fb->stride + xb;
    }
}

static int fb_alloc(struct gg_display *dp, struct dfb *f, uint32_t w, uint32_t h, enum gg_fmt fmt,
                    enum gg_tiling tiling)
{
    unsigned cpp = fmt_cpp(fmt);
    uint32_t align = tiling == GG_TILING_X ? 512 : tiling == GG_TILING_Y ? 128 : 64;
    uint32_t rows = tiling == GG_TILING_X ? 8 : tiling == GG_TILING_Y ? 32 : 1;
    uint32_t stride = (w * cpp + align - 1) / align * align;
    size_t size = (size_t)stride * ((h + rows - 1) / rows * rows);
    int rc;

    if (f->alloc && f->pub.bo.size >= size) {
        /* Reuse the buffer for the new layout. */
    } else {
        free(f->shadow);
        f->shadow = NULL;
        f->alloc = false;
        rc = gg_bo_create(dp->d, size, true, true, false, &f->pub.bo);
        if (rc)
            return rc;
        f->alloc = true;
    }
    f->shadow = realloc(f->shadow, f->pub.bo.size);
    if (!f->shadow)
        return -ENOMEM;
    f->pub.w = w;
    f->pub.h = h;
    f->pub.stride = stride;
    f->pub.fmt = fmt;
    f->pub.tiling = tiling;
    f->pub.cpp = cpp;
    /* Black (and opaque for the formats with alpha). */
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            uint32_t px = to_fmt(fmt, 0xff000000u);

            memcpy(f->shadow + tile_off(&f->pub, x * cpp, y), &px, cpp);
        }
    return gg_bo_write(dp->d, &f->pub.bo, 0, f->shadow, size);
}

/* ---- modeset ---- */

struct timing {
    uint32_t w, h, htotal, hss, hse, vtotal, vss, vse, clock_khz;
};

static void parse_dtd(const uint8_t *d, struct timing *t)
{
    uint32_t hb = d[3] | (uint32_t)(d[4] & 0xf) << 8, vb = d[6] | (uint32_t)(d[7] & 0xf) << 8;
    uint32_t hso = d[8] | (uint32_t)((d[11] >> 6) & 3) << 8;
    uint32_t hsw = d[9] | (uint32_t)((d[11] >> 4) & 3) << 8;
    uint32_t vso = (uint32_t)(d[10] >> 4) | (uint32_t)((d[11] >> 2) & 3) << 4;
    uint32_t vsw = (uint32_t)(d[10] & 0xf) | (uint32_t)(d[11] & 3) << 4;

    t->clock_khz = (d[0] | (uint32_t)d[1] << 8) * 10u;
    t->w = d[2] | (uint32_t)(d[4] >> 4) << 8;
    t->h = d[5] | (uint32_t)(d[7] >> 4) << 8;
    t->htotal = t->w + hb;
    t->hss = t->w + hso;
    t->hse = t->hss + hsw;
    t->vtotal = t->h + vb;
    t->vss = t->h + vso;
    t->vse = t->vss + vsw;
}

static int pll_on(struct gg_display *dp, unsigned head)
{
    static const uint32_t ctl[VGT_MAX_HEADS] = {LCPLL2_CTL, WRPLL_CTL1, WRPLL_CTL2};
    unsigned id = head + 1, port = VGT_HEAD_PORT(head); /* DPLL1..3 for DDI */
    uint32_t c1, c2;
    int rc;

    rc = rd(dp, DPLL_CTRL1, &c1);
    c1 &= ~(0x3fu << (id * 6));
    c1 |= DPLL_CTRL1_OVERRIDE(id) | DPLL_CTRL1_LINK_RATE(DPLL_CTRL1_LINK_RATE_2700, id);
    rc = rc ?: wr(dp, DPLL_CTRL1, c1);
    rc = rc ?: wr(dp, ctl[head], LCPLL_PLL_ENABLE);
    rc = rc ?: poll(dp, DPLL_STATUS, DPLL_LOCK(id), DPLL_LOCK(id));
    rc = rc ?: rd(dp, DPLL_CTRL2, &c2);
    c2 &= ~(DPLL_CTRL2_DDI_CLK_OFF(port) | (7u << (port * 3)));
    c2 |= DPLL_CTRL2_DDI_CLK_SEL(id, port) | DPLL_CTRL2_DDI_SEL_OVERRIDE(port);
    return rc ?: wr(dp, DPLL_CTRL2, c2);
}

/* Clock recovery then channel equalisation (intel_dp_link_training.c),
 * with the sink's status checked after each pattern. */
static int link_train(struct gg_display *dp, unsigned port)
{
    uint8_t caps[16], st[3];
    int rc;

    rc = aux_native(dp, port, false, DP_DPCD_REV, caps, sizeof(caps));
    if (!rc && (caps[DP_MAX_LINK_RATE] < LINK_BW || (caps[DP_MAX_LANE_COUNT] & 0x1f) < LANES))
        return -EINVAL;
    rc = rc ?: aux_native(dp, port, true, DP_LINK_BW_SET, (uint8_t[2]){LINK_BW, 0x80 | LANES}, 2);
    rc = rc ?: wr(dp, DP_TP_CTL(port), DP_TP_CTL_ENABLE | DP_TP_CTL_ENHANCED_FRAME_ENABLE |
                                           DP_TP_CTL_LINK_TRAIN_PAT1);
    rc = rc ?: wr(dp, DDI_BUF_CTL(port), DDI_BUF_CTL_ENABLE | DDI_PORT_WIDTH(LANES));
    rc = rc ?: poll(dp, DDI_BUF_CTL(port), DDI_BUF_IS_IDLE, 0);
    rc = rc ?: aux_wb(dp, port, DP_TRAINING_PATTERN_SET, 0x21); /* TPS1, scrambling off */
    rc = rc ?: aux_native(dp, port, false, DP_LANE0_1_STATUS, st, 2);
    if (!rc && ((st[0] & 0x11) != 0x11 || (st[1] & 0x11) != 0x11))
        return -EIO; /* clock recovery failed */
    rc = rc ?: wr(dp, DP_TP_CTL(port), DP_TP_CTL_ENABLE | DP_TP_CTL_ENHANCED_FRAME_ENABLE |
                                           DP_TP_CTL_LINK_TRAIN_PAT2);
    rc = rc ?: aux_wb(dp, port, DP_TRAINING_PATTERN_SET, 0x22);
    rc = rc ?: aux_native(dp, port, false, DP_LANE0_1_STATUS, st, 3);
    if (!rc && (st[0] != 0x77 || st[1] != 0x77 || !(st[2] & 1)))
        return -EIO; /* equalisation failed */
    rc = rc ?: wr(dp, DP_TP_CTL(port), DP_TP_CTL_ENABLE | DP_TP_CTL_ENHANCED_FRAME_ENABLE |
                                           DP_TP_CTL_LINK_TRAIN_NORMAL);
    return rc ?: aux_wb(dp, port, DP_TRAINING_PATTERN_SET, 0);
}

static int transcoder_on(struct gg_display *dp, unsigned p, const struct timing *t)
{
    uint64_t link_m = (uint64_t)t->clock_khz * LINK_N / LINK_KHZ;
    uint64_t data_m = (uint64_t)t->clock_khz * 24 * LINK_N / ((uint64_t)LINK_KHZ * LANES * 8);
    int rc;

    rc = wr(dp, TRANS_HTOTAL(p), (t->htotal - 1) << 16 | (t->w - 1));
    rc = rc ?: wr(dp, TRANS_HBLANK(p), (t->htotal - 1) << 16 | (t->w - 1));
    rc = rc ?: wr(dp, TRANS_HSYNC(p), (t->hse - 1) << 16 | (t->hss - 1));
    rc = rc ?: wr(dp, TRANS_VTOTAL(p), (t->vtotal - 1) << 16 | (t->h - 1));
    rc = rc ?: wr(dp, TRANS_VBLANK(p), (t->vtotal - 1) << 16 | (t->h - 1));
    rc = rc ?: wr(dp, TRANS_VSYNC(p), (t->vse - 1) << 16 | (t->vss - 1));
    rc = rc ?: wr(dp, PIPESRC(p), (t->w - 1) << 16 | (t->h - 1));
    rc = rc ?: wr(dp, PIPE_DATA_M1(p), TU_SIZE(64) | (uint32_t)data_m);
    rc = rc ?: wr(dp, PIPE_DATA_N1(p), LINK_N);
    rc = rc ?: wr(dp, PIPE_LINK_M1(p), (uint32_t)link_m);
    rc = rc ?: wr(dp, PIPE_LINK_N1(p), LINK_N);
    rc = rc ?: wr(dp, TRANS_MSA_MISC(p), 1u | 1u << 5); /* sync clock, 8 bpc */
    return rc ?: wr(dp, TRANS_DDI_FUNC_CTL(p),
                    TRANS_DDI_FUNC_ENABLE | VGT_HEAD_PORT(p) << TRANS_DDI_PORT_SHIFT |
                        TRANS_DDI_MODE_SELECT_DP_SST | TRANS_DDI_PORT_WIDTH(LANES));
}

/* DDB split evenly between the pipes, 8 blocks of each for the cursor;
 * level-0 watermarks only (skl_allocate_plane_ddb, reduced). */
static int watermarks(struct gg_display *dp, unsigned p, const struct timing *t)
{
    uint32_t per = DDB_BLOCKS / VGT_MAX_PIPES, start = p * per;
    int rc;

    rc = wr(dp, PLANE_BUF_CFG(p), (start + per - 9) << 16 | start);
    rc = rc ?: wr(dp, CUR_BUF_CFG(p), (start + per - 1) << 16 | (start + per - 8));
    rc = rc ?: wr(dp, PLANE_WM(p, 0), PLANE_WM_EN | 2u << PLANE_WM_LINES_SHIFT | 64u);
    rc = rc ?: wr(dp, CUR_WM(p, 0), PLANE_WM_EN | 2u << PLANE_WM_LINES_SHIFT | 8u);
    /* Line time in 1/8 us (hsw_linetime_wm). */
    return rc ?: wr(dp, WM_LINETIME(p), (uint32_t)((uint64_t)t->htotal * 8000 / t->clock_khz) & 0x1ff);
}

static int plane_program(struct gg_display *dp, unsigned p, const struct gg_fb *fb)
{
    uint32_t unit = fb->tiling == GG_TILING_X ? 512 : fb->tiling == GG_TILING_Y ? 128 : 64;
    uint32_t tiled = fb->tiling == GG_TILING_X   ? PLANE_CTL_TILED_X
                     : fb->tiling == GG_TILING_Y ? PLANE_CTL_TILED_Y
                                                 : PLANE_CTL_TILED_LINEAR;
    int rc;

    rc = wr(dp, PLANE_CTL(p), PLANE_CTL_ENABLE | fmt_ctl(fb->fmt) | tiled);
    rc = rc ?: wr(dp, PLANE_STRIDE(p), fb->stride / unit);
    rc = rc ?: wr(dp, PLANE_POS(p), 0);
    rc = rc ?: wr(dp, PLANE_SIZE(p), (fb->h - 1) << 16 | (fb->w - 1));
    rc = rc ?: wr(dp, PLANE_OFFSET(p), 0);
    /* PLANE_SURF last: it arms the update (skl_program_plane_arm). */
    return rc ?: wr(dp, PLANE_SURF(p), (uint32_t)fb->bo.gm);
}

int gg_display_disable(struct gg_display *dp, unsigned head)
{
    struct head *hd;
    unsigned port;
    int rc;

    if (head >= VGT_MAX_HEADS)
        return -EINVAL;
    hd = &dp->head[head];
    if (!hd->on)
        return 0;
    port = VGT_HEAD_PORT(head);
    rc = wr(dp, PLANE_CTL(head), 0);
    rc = rc ?: wr(dp, PLANE_SURF(head), 0);
    rc = rc ?: wr(dp, CUR_CTL(head), 0);
    rc = rc ?: wr(dp, PIPECONF(head), 0);
    rc = rc ?: poll(dp, PIPECONF(head), PIPECONF_STATE_ENABLE, 0);
    rc = rc ?: wr(dp, TRANS_DDI_FUNC_CTL(head), 0);
    rc = rc ?: wr(dp, DP_TP_CTL(port), 0);
    rc = rc ?: wr(dp, DDI_BUF_CTL(port), 0);
    rc = rc ?: poll(dp, DDI_BUF_CTL(port), DDI_BUF_IS_IDLE, DDI_BUF_IS_IDLE);
    hd->on = false;
    return rc;
}

int gg_display_modeset(struct gg_display *dp, unsigned head, uint32_t w, uint32_t h,
                       enum gg_fmt fmt, enum gg_tiling tiling)
{
    uint8_t edid[128];
    struct timing t;
    struct head *hd;
    uint32_t conf;
    int rc;

    if (head >= VGT_MAX_HEADS || fmt > GG_FMT_XRGB2101010 || tiling > GG_TILING_Y)
        return -EINVAL;
    hd = &dp->head[head];
    rc = gg_display_read_edid(dp, head, GG_DDC_AUX, edid);
    if (rc)
        return rc;
    parse_dtd(edid + 54, &t);
    if (!t.w || !t.h || !t.clock_khz)
        return -EPROTO;
    if (!w && !h) {
        w = t.w;
        h = t.h;
    }
    if (!w || !h || w > t.w || h > t.h)
        return -EINVAL;
    if (w != t.w || h != t.h) {
        /* A smaller mode with the monitor's blanking at the same refresh. */
        uint64_t clk = (uint64_t)t.clock_khz * (w + t.htotal - t.w) * (h + t.vtotal - t.h) /
                       ((uint64_t)t.htotal * t.vtotal);

        t.htotal += w - t.w;
        t.hss += w - t.w;
        t.hse += w - t.w;
        t.vtotal += h - t.h;
        t.vss += h - t.h;
        t.vse += h - t.h;
        t.w = w;
        t.h = h;
        t.clock_khz = (uint32_t)VGT_MAX(10, clk / 10 * 10);
    }
    rc = gg_display_disable(dp, head);
    rc = rc ?: fb_alloc(dp, &hd->fb[0], w, h, fmt, tiling);
    rc = rc ?: fb_alloc(dp, &hd->fb[1], w, h, fmt, tiling);
    rc = rc ?: pll_on(dp, head);
    rc = rc ?: link_train(dp, VGT_HEAD_PORT(head));
    rc = rc ?: transcoder_on(dp, head, &t);
    rc = rc ?: watermarks(dp, head, &t);
    hd->front = 0;
    rc = rc ?: plane_program(dp, head, &hd->fb[0].pub);
    rc = rc ?: wr(dp, PIPECONF(head), PIPECONF_ENABLE);
    rc = rc ?: rd(dp, PIPECONF(head), &conf);
    if (rc)
        return rc;
    if (!(conf & PIPECONF_STATE_ENABLE))
        return -EIO; /* the pipe did not come up */
    hd->on = true;
    hd->mode = (struct gg_mode_info){
        .w = w, .h = h, .htotal = t.htotal, .vtotal = t.vtotal, .clock_khz = t.clock_khz,
        .refresh_mhz = (uint32_t)((uint64_t)t.clock_khz * 1000000ull / ((uint64_t)t.htotal * t.vtotal)),
    };
    return gg_display_wait_vblank(dp, head, 1000);
}

int gg_display_mode(struct gg_display *dp, unsigned head, struct gg_mode_info *m)
{
    if (head >= VGT_MAX_HEADS || !dp->head[head].on)
        return -ENODEV;
    *m = dp->head[head].mode;
    return 0;
}

/* ---- framebuffers ---- */

static struct dfb *fb_of(struct gg_display *dp, unsigned head, bool back)
{
    struct head *hd;

    if (head >= VGT_MAX_HEADS || !dp->head[head].on)
        return NULL;
    hd = &dp->head[head];
    return &hd->fb[back ? !hd->front : hd->front];
}

const struct gg_fb *gg_display_fb(struct gg_display *dp, unsigned head, bool back)
{
    struct dfb *f = fb_of(dp, head, back);

    return f ? &f->pub : NULL;
}

int gg_display_draw(struct gg_display *dp, unsigned head, bool back, uint32_t x, uint32_t y,
                    uint32_t w, uint32_t h, const uint32_t *argb, size_t pitch)
{
    struct dfb *f = fb_of(dp, head, back);
    size_t lo = SIZE_MAX, hi = 0;
    unsigned cpp;

    if (!f)
        return -ENODEV;
    if (!w || !h || x >= f->pub.w || y >= f->pub.h || w > f->pub.w - x || h > f->pub.h - y ||
        pitch < w)
        return -EINVAL;
    cpp = f->pub.cpp;
    for (uint32_t j = 0; j < h; j++)
        for (uint32_t i = 0; i < w; i++) {
            size_t o = tile_off(&f->pub, (x + i) * cpp, y + j);
            uint32_t px = to_fmt(f->pub.fmt, argb[j * pitch + i]);

            memcpy(f->shadow + o, &px, cpp);
            lo = VGT_MIN(lo, o);
            hi = VGT_MAX(hi, o + cpp);
        }
    /* One write of the touched span: the CPU's stores to the buffer. */
    return gg_bo_write(dp->d, &f->pub.bo, lo, f->shadow + lo, hi - lo);
}

int gg_display_fill(struct gg_display *dp, unsigned head, bool back, uint32_t x, uint32_t y,
                    uint32_t w, uint32_t h, uint32_t argb)
{
    size_t n = (size_t)w * h;
    uint32_t *px;
    int rc;

    if (!n)
        return -EINVAL;
    px = malloc(n * 4);
    if (!px)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        px[i] = argb;
    rc = gg_display_draw(dp, head, back, x, y, w, h, px, w);
    free(px);
    return rc;
}

uint32_t gg_display_pattern_pixel(uint32_t x, uint32_t y, uint32_t w, uint32_t h, uint32_t frame)
{
    /* SMPTE-like bars: white, yellow, cyan, green, magenta, red, blue, black. */
    static const uint32_t bars[8] = {0xffffffffu, 0xffffff00u, 0xff00ffffu, 0xff00ff00u,
                                     0xffff00ffu, 0xffff0000u, 0xff0000ffu, 0xff000000u};
    uint32_t sq = (frame * 8u) % (w > 64 ? w - 64 : 1), v;

    if (x >= sq && x < sq + 64 && y >= h / 4 && y < h / 4 + 64)
        return 0xffffffffu;
    if (y < h / 2)
        return bars[(uint64_t)x * 8 / w];
    v = (uint32_t)((uint64_t)x * 255 / (w > 1 ? w - 1 : 1));
    if (y < h * 3 / 4)
        return 0xff000000u | v << 16 | v << 8 | v;
    /* thirds: red, green, blue ramps */
    return 0xff000000u | v << (16 - 8 * (uint32_t)((uint64_t)y * 12 / h % 3));
}

int gg_display_draw_pattern(struct gg_display *dp, unsigned head, bool back, uint32_t frame)
{
    struct dfb *f = fb_of(dp, head, back);
    uint32_t *px;
    int rc;

    if (!f)
        return -ENODEV;
    px = malloc((size_t)f->pub.w * f->pub.h * 4);
    if (!px)
        return -ENOMEM;
    for (uint32_t y = 0; y < f->pub.h; y++)
        for (uint32_t x = 0; x < f->pub.w; x++)
            px[(size_t)y * f->pub.w + x] = gg_display_pattern_pixel(x, y, f->pub.w, f->pub.h, frame);
    rc = gg_display_draw(dp, head, back, 0, 0, f->pub.w, f->pub.h, px, f->pub.w);
    free(px);
    return rc;
}

int gg_display_peek(struct gg_display *dp, unsigned head, bool back, uint32_t x, uint32_t y,
                    uint32_t *argb)
{
    struct dfb *f = fb_of(dp, head, back);
    uint32_t px = 0;
    int rc;

    if (!f)
        return -ENODEV;
    if (x >= f->pub.w || y >= f->pub.h)
        return -EINVAL;
    rc = gg_bo_read(dp->d, &f->pub.bo, tile_off(&f->pub, x * f->pub.cpp, y), &px, f->pub.cpp);
    if (!rc)
        *argb = from_fmt(f->pub.fmt, px);
    return rc;
}

/* ---- vblank, flips, cursor ---- */

static uint64_t irq_count(struct gg_display *dp, unsigned head, bool flip)
{
    struct gg_irq_counts c;

    gg_irq_counts(dp->d, &c);
    return flip ? c.flip_done[head] : c.vblank[head];
}

/* Run the interrupt handler until the vblank (or flip-done) count of
 * @head moves past @start. */
static int wait_count(struct gg_display *dp, unsigned head, bool flip, uint64_t start,
                      unsigned timeout_ms)
{
    uint64_t t0 = vgt_now_ns();

    for (;;) {
        gg_irq_poll(dp->d, 2);
        if (irq_count(dp, head, flip) > start)
            return 0;
        if (vgt_now_ns() - t0 >= timeout_ms * 1000000ull)
            return -ETIMEDOUT;
    }
}

int gg_display_wait_vblank(struct gg_display *dp, unsigned head, unsigned timeout_ms)
{
    if (head >= VGT_MAX_HEADS || !dp->head[head].on)
        return -ENODEV;
    /* Ack what is already latched: the vblank waited for comes after. */
    gg_irq_poll(dp->d, 0);
    return wait_count(dp, head, false, irq_count(dp, head, false), timeout_ms);
}

int gg_display_flip(struct gg_display *dp, unsigned head, unsigned timeout_ms)
{
    struct head *hd;
    uint64_t start;
    int rc;

    if (head >= VGT_MAX_HEADS || !dp->head[head].on)
        return -ENODEV;
    hd = &dp->head[head];
    start = irq_count(dp, head, true);
    rc = wr(dp, PLANE_SURF(head), (uint32_t)hd->fb[!hd->front].pub.bo.gm);
    if (rc)
        return rc;
    hd->front = !hd->front;
    if (!timeout_ms)
        return 0;
    return wait_count(dp, head, true, start, timeout_ms);
}

int gg_display_counters(struct gg_display *dp, unsigned head, uint32_t *frames, uint32_t *flips)
{
    int rc;

    if (head >= VGT_MAX_HEADS)
        return -EINVAL;
    rc = rd(dp, PIPE_FRMCOUNT(head), frames);
    return rc ?: rd(dp, PIPE_FLIPCOUNT(head), flips);
}

int gg_display_cursor(struct gg_display *dp, unsigned head, bool on, int32_t x, int32_t y,
                      const uint32_t *image)
{
    struct head *hd;
    uint32_t pos;
    int rc = 0;

    if (head >= VGT_MAX_HEADS || !dp->head[head].on)
        return -ENODEV;
    hd = &dp->head[head];
    if (!hd->cursor_alloc) {
        rc = gg_bo_create(dp->d, CURSOR_DIM * CURSOR_DIM * 4, true, false, false, &hd->cursor);
        if (rc)
            return rc;
        hd->cursor_alloc = true;
    }
    if (image)
        rc = gg_bo_write(dp->d, &hd->cursor, 0, image, CURSOR_DIM * CURSOR_DIM * 4);
    if (!on)
        return rc ?: wr(dp, CUR_CTL(head), MCURSOR_MODE_DISABLE);
    pos = (x < 0 ? CURSOR_POS_X_SIGN | (uint32_t)-x : (uint32_t)x) & 0xffffu;
    pos |= (y < 0 ? CURSOR_POS_Y_SIGN >> 16 | (uint32_t)-y : (uint32_t)y) << 16;
    rc = rc ?: wr(dp, CUR_CTL(head), MCURSOR_MODE_64_ARGB_AX);
    rc = rc ?: wr(dp, CUR_POS(head), pos);
    /* CURBASE last: it arms the update (i9xx_cursor_update_arm). */
    return rc ?: wr(dp, CUR_BASE(head), (uint32_t)hd->cursor.gm);
}
