/* The vGPU's display engine against the seam doubles, on a test clock:
 * types' heads and resolutions, EDID generation, EDID through GMBUS and
 * DP AUX byte for byte, vblanks and frame counters at the programmed
 * refresh rate, flips latched at vblank with flip-done through the MSI
 * path, DBUF/power-well/DPLL handshakes, hotplug, the PCU mailbox's
 * requests, the PSR IIR, planes 2-3, the display-init rows, DP idle
 * patterns and the gamma palette, and hostile inputs (other i2c slaves,
 * malformed AUX, pipes the vGPU does not have, mailbox garbage) refused
 * with their counters while the vGPU and its neighbour go on. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_hv.h"
#include "vgt/display.h"
#include "vgt/display_regs.h"
#include "vgt/util.h"
#include "vgt/vgpu.h"
#include "vgt/vgpu_regs.h"

#define MIB (1ull << 20)
#define GM_SIZE (4096 * MIB)
#define APERTURE (1024 * MIB)
#define MS 1000000ull

struct fx {
    struct sim_arena *arena;
    struct fake_hv *hv, *hv2;
    struct fake_hostgpu *hw;
    struct vgt_gpu *gpu;
    struct vgt_vgpu *v, *v2; /* V5_4 (one head), V5_1 (three heads) */
    uint64_t now;
};

static uint64_t test_clock(void *opaque)
{
    return ((struct fx *)opaque)->now;
}

static void add_vgpu(struct fx *f, uint16_t domid, struct fake_hv *hv, const char *type,
                     struct vgt_vgpu **out)
{
    struct vgt_vgpu_cfg vc = {.domid = domid, .hv = &hv->hv, .type_name = type};

    assert_int_equal(vgt_vgpu_res_from_type(type, &vc.res), 0);
    assert_int_equal(vgt_vgpu_create(f->gpu, &vc, out), 0);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct vgt_gpu_cfg gc = {0};

    f->now = 1000 * MS;
    assert_int_equal(sim_arena_create(256 * MIB, &f->arena), 0);
    assert_int_equal(fake_hv_create(f->arena, 7, 16 * MIB, FAKE_HV_SCRAMBLE_4K, 11, &f->hv), 0);
    assert_int_equal(fake_hv_create(f->arena, 8, 16 * MIB, FAKE_HV_SCRAMBLE_4K, 12, &f->hv2), 0);
    assert_int_equal(fake_hostgpu_create(f->arena, GM_SIZE, APERTURE, 32, &f->hw), 0);
    gc.hw = &f->hw->gpu;
    gc.now_ns = test_clock;
    gc.clock_opaque = f;
    assert_int_equal(vgt_gpu_create(&gc, &f->gpu), 0);
    add_vgpu(f, 7, f->hv, "V5_4", &f->v);
    add_vgpu(f, 8, f->hv2, "V5_1", &f->v2);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    vgt_gpu_destroy(f->gpu);
    fake_hostgpu_destroy(f->hw);
    fake_hv_destroy(f->hv);
    fake_hv_destroy(f->hv2);
    sim_arena_destroy(f->arena);
    free(f);
    return 0;
}

static uint32_t rd(struct vgt_vgpu *v, uint32_t off)
{
    uint64_t val = 0;

    assert_int_equal(vgt_vgpu_mmio_read(v, off, 4, &val), 0);
    return (uint32_t)val;
}

static void wr(struct vgt_vgpu *v, uint32_t off, uint32_t val)
{
    assert_int_equal(vgt_vgpu_mmio_write(v, off, 4, val), 0);
}

static void enable_msi(struct vgt_vgpu *v)
{
    assert_int_equal(vgt_vgpu_cfg_write(v, 0xB0, 4, 0xfee00000u), 0);
    assert_int_equal(vgt_vgpu_cfg_write(v, 0xB4, 2, 0x42), 0);
    assert_int_equal(vgt_vgpu_cfg_write(v, 0xAE, 2, 1), 0);
    wr(v, GEN8_MASTER_IRQ, GEN8_MASTER_IRQ_CONTROL);
}

static struct vgt_vgpu_stats stats(struct vgt_vgpu *v)
{
    struct vgt_vgpu_info info;

    vgt_vgpu_get_info(v, &info);
    return info.st;
}

/* ---- types, modes, EDID ---- */

static void test_types_heads_resolution(void **state)
{
    static const struct {
        const char *name;
        unsigned heads;
        uint32_t w, h;
    } want[] = {{"V5_8", 1, 1920, 1080}, {"V5_4", 1, 1920, 1080}, {"V5_2", 2, 3840, 2160},
                {"V5_1", 3, 3840, 2160}};
    struct fx *f = *state;
    struct vgt_vgpu_res res;
    struct vgt_vgpu_info info;
    const char *why = NULL;
    uint8_t edid[128];

    for (size_t i = 0; i < VGT_ARRAY_SIZE(want); i++) {
        const struct vgt_vgpu_type *t = vgt_vgpu_type_find(want[i].name);

        assert_non_null(t);
        assert_int_equal(t->max_heads, want[i].heads);
        assert_int_equal(t->res_w, want[i].w);
        assert_int_equal(t->res_h, want[i].h);
        assert_int_equal(vgt_vgpu_res_from_type(want[i].name, &res), 0);
        assert_int_equal(res.heads, want[i].heads);
    }
    vgt_vgpu_get_info(f->v2, &info);
    assert_int_equal(info.heads, 3);
    assert_int_equal(info.res_w, 3840);
    assert_int_equal(info.res_h, 2160);
    /* Every head of the large type has a 4K EDID; none past the third. */
    for (unsigned h = 0; h < 3; h++) {
        assert_int_equal(vgt_vgpu_edid(f->v2, h, edid, sizeof(edid)), 0);
        assert_true(vgt_edid_valid(edid));
        assert_int_equal(edid[56] | (edid[58] >> 4) << 8, 3840);
        assert_int_equal(edid[59] | (edid[61] >> 4) << 8, 2160);
        assert_int_equal(edid[10], h); /* product code 0x1700 + head */
    }
    assert_int_equal(vgt_vgpu_edid(f->v2, 3, edid, sizeof(edid)), -EINVAL);
    assert_int_equal(vgt_vgpu_edid(f->v, 1, edid, sizeof(edid)), -EINVAL);
    /* Custom vGPUs: one 1080p head unless told otherwise; limits named. */
    assert_int_equal(vgt_vgpu_res_custom(64, 128, 2, &res, &why), 0);
    assert_int_equal(res.heads, 1);
    assert_int_equal(res.res_w, 1920);
    assert_int_equal(vgt_vgpu_res_display(&res, 2, 2560, 1440, &why), 0);
    assert_int_equal(res.heads, 2);
    assert_int_equal(res.res_h, 1440);
    assert_int_equal(vgt_vgpu_res_display(&res, 4, 1920, 1080, &why), -EINVAL);
    assert_string_equal(why, "max_heads must be 0..3 (Skylake has three pipes)");
    assert_int_equal(vgt_vgpu_res_display(&res, 1, 320, 200, &why), -EINVAL);
    assert_string_equal(why, "resolution must be 640x480..4095x4095");
    assert_int_equal(res.heads, 2); /* unchanged by a refusal */
    assert_int_equal(vgt_vgpu_res_display(&res, 0, 0, 0, &why), 0); /* headless */
    assert_int_equal(res.heads, 0);
}

static void test_edid_generation(void **state)
{
    struct vgt_mode m;
    uint8_t e[128];
    uint8_t sum = 0;

    (void)state;
    /* CVT-RB 1920x1080@60: 2080 x 1111 total, 138.66 MHz (rounded up to
     * the EDID's 10 kHz). */
    assert_int_equal(vgt_display_mode(1920, 1080, &m), 0);
    assert_int_equal(m.htotal, 2080);
    assert_int_equal(m.hsync_start, 1968);
    assert_int_equal(m.hsync_end, 2000);
    assert_int_equal(m.vtotal, 1111);
    assert_int_equal(m.vsync_start, 1083);
    assert_int_equal(m.vsync_end, 1088);
    assert_int_equal(m.clock_khz, 138660);
    assert_in_range(m.refresh_mhz, 60000, 60010);
    vgt_edid_build(&m, 1, 0x01020304, e);
    assert_true(vgt_edid_valid(e));
    for (unsigned i = 0; i < 128; i++)
        sum = (uint8_t)(sum + e[i]);
    assert_int_equal(sum, 0);
    assert_int_equal(e[18], 1); /* EDID 1.4 */
    assert_int_equal(e[19], 4);
    assert_int_equal(e[8] << 8 | e[9], ('V' - '@') << 10 | ('G' - '@') << 5 | ('T' - '@'));
    assert_int_equal(e[12] | e[13] << 8 | e[14] << 16 | (uint32_t)e[15] << 24, 0x01020304);
    assert_int_equal(e[20], 0xA5); /* digital, 8 bpc, DisplayPort */
    assert_int_equal(e[54] | e[55] << 8, 13866); /* 10 kHz units */
    assert_int_equal(e[57] | (e[58] & 0xf) << 8, 160); /* h blank */
    assert_int_equal(e[60] | (e[61] & 0xf) << 8, 31);  /* v blank */
    assert_int_equal(e[75], 0xfc); /* monitor name */
    assert_memory_equal(e + 77, "vgt head 1\n", 11);
    assert_int_equal(e[126], 0);
    e[100] ^= 1;
    assert_false(vgt_edid_valid(e));
    /* 4K fits 60 Hz (533.28 MHz < 655.35); the DTD's 12 bits bound it. */
    assert_int_equal(vgt_display_mode(3840, 2160, &m), 0);
    assert_int_equal(m.clock_khz, 533280);
    assert_int_equal(vgt_display_mode(4095, 4095, &m), 0);
    assert_in_range(m.refresh_mhz, 30000, 30100); /* 60 Hz does not fit */
    assert_int_equal(vgt_display_mode(4096, 2160, &m), -EINVAL);
    assert_int_equal(vgt_display_mode(639, 480, &m), -EINVAL);
}

/* ---- GMBUS ---- */

static void gmbus_read_edid(struct vgt_vgpu *v, uint32_t pin, uint8_t *out)
{
    wr(v, PCH_GMBUS0, pin);
    wr(v, PCH_GMBUS1, GMBUS_SW_RDY | GMBUS_CYCLE_INDEX | GMBUS_CYCLE_WAIT | 128u << 16 |
                          DDC_ADDR << 1 | GMBUS_SLAVE_READ);
    for (unsigned i = 0; i < 128; i += 4) {
        uint32_t st = rd(v, PCH_GMBUS2), d;

        assert_true(st & GMBUS_HW_RDY);
        assert_false(st & GMBUS_SATOER);
        assert_true(st & GMBUS_ACTIVE);
        d = rd(v, PCH_GMBUS3);
        memcpy(out + i, &d, 4);
    }
    assert_true(rd(v, PCH_GMBUS2) & GMBUS_HW_WAIT_PHASE);
    wr(v, PCH_GMBUS1, GMBUS_SW_RDY | GMBUS_CYCLE_STOP);
    assert_false(rd(v, PCH_GMBUS2) & GMBUS_ACTIVE);
    wr(v, PCH_GMBUS0, 0);
}

static void test_edid_over_gmbus(void **state)
{
    struct fx *f = *state;
    uint8_t want[128], got[128], d[4];

    assert_int_equal(vgt_vgpu_edid(f->v, 0, want, sizeof(want)), 0);
    gmbus_read_edid(f->v, GMBUS_PIN_DPB, got);
    assert_memory_equal(got, want, 128);
    assert_true(vgt_edid_valid(got));
    /* Heads 1, 2 of the large type sit on pins DPC and DPD. */
    assert_int_equal(vgt_vgpu_edid(f->v2, 2, want, sizeof(want)), 0);
    gmbus_read_edid(f->v2, GMBUS_PIN_DPD, got);
    assert_memory_equal(got, want, 128);
    /* A plain write of the offset (through GMBUS3 first), then a read. */
    wr(f->v, PCH_GMBUS0, GMBUS_PIN_DPB);
    wr(f->v, PCH_GMBUS3, 54);
    wr(f->v, PCH_GMBUS1, GMBUS_SW_RDY | GMBUS_CYCLE_WAIT | 1u << 16 | DDC_ADDR << 1);
    assert_true(rd(f->v, PCH_GMBUS2) & GMBUS_HW_WAIT_PHASE);
    wr(f->v, PCH_GMBUS1, GMBUS_SW_RDY | GMBUS_CYCLE_WAIT | 4u << 16 | DDC_ADDR << 1 | GMBUS_SLAVE_READ);
    {
        uint32_t w = rd(f->v, PCH_GMBUS3);

        memcpy(d, &w, 4);
    }
    assert_int_equal(vgt_vgpu_edid(f->v, 0, want, sizeof(want)), 0);
    assert_memory_equal(d, want + 54, 4);
    wr(f->v, PCH_GMBUS1, GMBUS_SW_RDY | GMBUS_CYCLE_STOP);
    assert_int_equal(stats(f->v).gmbus_refused, 0);
}

static void test_gmbus_hostile(void **state)
{
    struct fx *f = *state;
    uint8_t want[128], got[128];

    /* Another slave (0x37, DDC/CI) on a real pin: NAK, counted. */
    wr(f->v, PCH_GMBUS0, GMBUS_PIN_DPB);
    wr(f->v, PCH_GMBUS1, GMBUS_SW_RDY | GMBUS_CYCLE_WAIT | 4u << 16 | 0x37u << 1 | GMBUS_SLAVE_READ);
    assert_true(rd(f->v, PCH_GMBUS2) & GMBUS_SATOER);
    assert_int_equal(rd(f->v, PCH_GMBUS3), 0); /* no data appeared */
    wr(f->v, PCH_GMBUS1, GMBUS_SW_CLR_INT);
    assert_false(rd(f->v, PCH_GMBUS2) & GMBUS_SATOER);
    /* The EEPROM on a pin with no monitor (V5_4 has no head on DDI C). */
    wr(f->v, PCH_GMBUS0, GMBUS_PIN_DPC);
    wr(f->v, PCH_GMBUS1, GMBUS_SW_RDY | GMBUS_CYCLE_INDEX | GMBUS_CYCLE_WAIT | 128u << 16 |
                             DDC_ADDR << 1 | GMBUS_SLAVE_READ);
    assert_true(rd(f->v, PCH_GMBUS2) & GMBUS_SATOER);
    wr(f->v, PCH_GMBUS1, GMBUS_SW_CLR_INT);
    /* Reading GMBUS3 past the byte count gives nothing new. */
    assert_int_equal(stats(f->v).gmbus_refused, 2);
    assert_false(vgt_vgpu_in_failsafe(f->v));
    /* The controller still works afterwards. */
    assert_int_equal(vgt_vgpu_edid(f->v, 0, want, sizeof(want)), 0);
    gmbus_read_edid(f->v, GMBUS_PIN_DPB, got);
    assert_memory_equal(got, want, 128);
    assert_int_equal(stats(f->v2).gmbus_refused, 0);
}

/* ---- DP AUX ---- */

/* One AUX message on @port; returns CTL after; the reply in @rep. */
static uint32_t aux(struct vgt_vgpu *v, unsigned port, const uint8_t *req, unsigned n,
                    unsigned size_field, uint8_t *rep)
{
    uint32_t ctl;

    for (unsigned i = 0; i < 5; i++) {
        uint32_t w = 0;

        for (unsigned b = 0; b < 4; b++)
            if (4 * i + b < n)
                w |= (uint32_t)req[4 * i + b] << (24 - 8 * b);
        wr(v, DP_AUX_CH_DATA(port, i), w);
    }
    wr(v, DP_AUX_CH_CTL(port), DP_AUX_CH_CTL_SEND_BUSY | DP_AUX_CH_CTL_DONE |
                                   DP_AUX_CH_CTL_TIME_OUT_ERROR | DP_AUX_CH_CTL_RECEIVE_ERROR |
                                   size_field << DP_AUX_CH_CTL_MESSAGE_SIZE_SHIFT);
    ctl = rd(v, DP_AUX_CH_CTL(port));
    assert_false(ctl & DP_AUX_CH_CTL_SEND_BUSY);
    assert_true(ctl & DP_AUX_CH_CTL_DONE);
    for (unsigned i = 0; rep && i < 5; i++) {
        uint32_t w = rd(v, DP_AUX_CH_DATA(port, i));

        for (unsigned b = 0; b < 4; b++)
            rep[4 * i + b] = (uint8_t)(w >> (24 - 8 * b));
    }
    return ctl;
}

static unsigned reply_size(uint32_t ctl)
{
    return (ctl & DP_AUX_CH_CTL_MESSAGE_SIZE_MASK) >> DP_AUX_CH_CTL_MESSAGE_SIZE_SHIFT;
}

static void test_edid_over_aux(void **state)
{
    struct fx *f = *state;
    uint8_t want[128], got[128], rep[20];
    uint8_t rd_dpcd[4] = {DP_AUX_NATIVE_READ << 4, 0, 0, 15};
    uint8_t wr_off[5] = {(DP_AUX_I2C_WRITE | DP_AUX_I2C_MOT) << 4, 0, DDC_ADDR, 0, 0};
    uint8_t rd_i2c[4] = {(DP_AUX_I2C_READ | DP_AUX_I2C_MOT) << 4, 0, DDC_ADDR, 15};
    uint8_t stop[3] = {DP_AUX_I2C_READ << 4, 0, DDC_ADDR};
    uint32_t ctl;

    /* DPCD receiver caps: DP 1.2, HBR2, 4 lanes with enhanced framing. */
    ctl = aux(f->v, 1, rd_dpcd, 4, 4, rep);
    assert_int_equal(reply_size(ctl), 17);
    assert_int_equal(rep[0], DP_AUX_NATIVE_REPLY_ACK);
    assert_int_equal(rep[1 + DP_DPCD_REV], 0x12);
    assert_int_equal(rep[1 + DP_MAX_LINK_RATE], 0x14);
    assert_int_equal(rep[1 + DP_MAX_LANE_COUNT], 0x84);
    /* drm_dp_i2c_xfer's EDID read: offset, 16-byte reads, stop. */
    ctl = aux(f->v, 1, wr_off, 5, 5, rep);
    assert_int_equal(reply_size(ctl), 1);
    assert_int_equal(rep[0], DP_AUX_I2C_REPLY_ACK);
    for (unsigned off = 0; off < 128; off += 16) {
        ctl = aux(f->v, 1, rd_i2c, 4, 4, rep);
        assert_int_equal(reply_size(ctl), 17);
        assert_int_equal(rep[0], DP_AUX_I2C_REPLY_ACK);
        memcpy(got + off, rep + 1, 16);
    }
    ctl = aux(f->v, 1, stop, 3, 3, rep);
    assert_int_equal(reply_size(ctl), 1);
    assert_int_equal(vgt_vgpu_edid(f->v, 0, want, sizeof(want)), 0);
    assert_memory_equal(got, want, 128);
    assert_true(vgt_edid_valid(got));
    /* Link configuration is writable; the link status says trained. */
    {
        uint8_t w[6] = {DP_AUX_NATIVE_WRITE << 4, 0x01, 0x00, 1, 0x14, 0x84};
        uint8_t r[4] = {DP_AUX_NATIVE_READ << 4, 0x01, 0x00, 1};
        uint8_t s[4] = {DP_AUX_NATIVE_READ << 4, 0x02, 0x02, 2};

        ctl = aux(f->v, 1, w, 6, 6, rep);
        assert_int_equal(reply_size(ctl), 1);
        aux(f->v, 1, r, 4, 4, rep);
        assert_int_equal(rep[1], 0x14);
        assert_int_equal(rep[2], 0x84);
        aux(f->v, 1, s, 4, 4, rep);
        assert_int_equal(rep[1], 0x77);
        assert_int_equal(rep[2], 0x77);
        assert_int_equal(rep[3], 0x01);
    }
    /* AUX done interrupt through the DE port IIR and the master bit. */
    enable_msi(f->v);
    wr(f->v, GEN8_DE_PORT_IER, GEN9_AUX_CHANNEL_B);
    wr(f->v, GEN8_DE_PORT_IMR, ~GEN9_AUX_CHANNEL_B);
    for (unsigned i = 0; i < 5; i++)
        wr(f->v, DP_AUX_CH_DATA(1, i), i ? 0 : (uint32_t)rd_dpcd[0] << 24 | 0 << 16 | 0 << 8 | 0);
    wr(f->v, DP_AUX_CH_CTL(1), DP_AUX_CH_CTL_SEND_BUSY | DP_AUX_CH_CTL_INTERRUPT | 4u << 20);
    assert_int_equal(rd(f->v, GEN8_DE_PORT_IIR), GEN9_AUX_CHANNEL_B);
    assert_true(rd(f->v, GEN8_MASTER_IRQ) & GEN8_DE_PORT_IRQ);
    assert_int_equal(f->hv->nr_msi, 1);
    wr(f->v, GEN8_DE_PORT_IIR, GEN9_AUX_CHANNEL_B);
    assert_false(rd(f->v, GEN8_MASTER_IRQ) & GEN8_DE_PORT_IRQ);
}

static void test_aux_hostile(void **state)
{
    struct fx *f = *state;
    uint8_t rep[20], big[20] = {DP_AUX_NATIVE_WRITE << 4, 0x01, 0x00, 15};
    uint8_t rd16[4] = {DP_AUX_NATIVE_READ << 4, 0, 0, 16}; /* 17 bytes asked */
    uint8_t other[4] = {DP_AUX_I2C_READ << 4, 0, 0x37, 0};
    uint8_t ok[4] = {DP_AUX_NATIVE_READ << 4, 0, 0, 0};
    uint8_t dpcd_before[20], dpcd_after[20];
    uint32_t ctl;

    aux(f->v, 1, (uint8_t[4]){DP_AUX_NATIVE_READ << 4, 0x01, 0x00, 15}, 4, 4, dpcd_before);
    /* Message sizes the hardware cannot send: 0, 2, and past 20. */
    assert_true(aux(f->v, 1, ok, 4, 0, rep) & DP_AUX_CH_CTL_RECEIVE_ERROR);
    assert_true(aux(f->v, 1, ok, 4, 2, rep) & DP_AUX_CH_CTL_RECEIVE_ERROR);
    assert_true(aux(f->v, 1, ok, 4, 31, rep) & DP_AUX_CH_CTL_RECEIVE_ERROR);
    /* A length past 16 bytes; a write whose size disagrees with its
     * length (16 data bytes announced, 16 + 4 = 20 sent but field 19). */
    assert_true(aux(f->v, 1, rd16, 4, 4, rep) & DP_AUX_CH_CTL_RECEIVE_ERROR);
    memset(big + 4, 0xee, 16);
    assert_true(aux(f->v, 1, big, 20, 19, rep) & DP_AUX_CH_CTL_RECEIVE_ERROR);
    assert_int_equal(stats(f->v).aux_refused, 5);
    /* The link configuration did not change. */
    aux(f->v, 1, (uint8_t[4]){DP_AUX_NATIVE_READ << 4, 0x01, 0x00, 15}, 4, 4, dpcd_after);
    assert_memory_equal(dpcd_before, dpcd_after, 17);
    /* I2C to another slave: an I2C NACK reply. */
    ctl = aux(f->v, 1, other, 4, 4, rep);
    assert_int_equal(reply_size(ctl), 1);
    assert_int_equal(rep[0], DP_AUX_I2C_REPLY_NACK);
    assert_int_equal(stats(f->v).aux_nak, 1);
    /* Ports with no monitor: A, and C/D of a one-head type. */
    assert_true(aux(f->v, 0, ok, 4, 4, rep) & DP_AUX_CH_CTL_TIME_OUT_ERROR);
    assert_true(aux(f->v, 2, ok, 4, 4, rep) & DP_AUX_CH_CTL_TIME_OUT_ERROR);
    assert_true(aux(f->v, 3, ok, 4, 4, rep) & DP_AUX_CH_CTL_TIME_OUT_ERROR);
    assert_int_equal(stats(f->v).aux_timeouts, 3);
    /* Port C of the three-head neighbour answers; it counted nothing. */
    assert_int_equal(reply_size(aux(f->v2, 2, ok, 4, 4, rep)), 2);
    assert_int_equal(rep[1], 0x12);
    assert_int_equal(stats(f->v2).aux_refused + stats(f->v2).aux_timeouts, 0);
    /* And the hostile one still answers properly. */
    assert_int_equal(reply_size(aux(f->v, 1, ok, 4, 4, rep)), 2);
    assert_false(vgt_vgpu_in_failsafe(f->v));
}

/* ---- vblanks and flips ---- */

/* What i915 programs for 1080p on DDI B over a 4-lane HBR2 link. */
static void modeset_1080p(struct vgt_vgpu *v, unsigned pipe)
{
    uint8_t rep[20];
    uint8_t bw[6] = {DP_AUX_NATIVE_WRITE << 4, 0x01, 0x00, 1, 0x14, 0x84};

    aux(v, VGT_HEAD_PORT(pipe), bw, 6, 6, rep);
    wr(v, TRANS_HTOTAL(pipe), (2080u - 1) << 16 | (1920 - 1));
    wr(v, TRANS_VTOTAL(pipe), (1111u - 1) << 16 | (1080 - 1));
    wr(v, PIPESRC(pipe), (1920u - 1) << 16 | (1080 - 1));
    /* link M/N = 138660 / 540000 */
    wr(v, PIPE_LINK_M1(pipe), (uint32_t)(138660ull * 0x80000 / 540000));
    wr(v, PIPE_LINK_N1(pipe), 0x80000);
    wr(v, TRANS_DDI_FUNC_CTL(pipe), TRANS_DDI_FUNC_ENABLE | VGT_HEAD_PORT(pipe) << 28 |
                                        TRANS_DDI_MODE_SELECT_DP_SST);
    wr(v, PLANE_SURF(pipe), 0x100000);
    wr(v, PIPECONF(pipe), PIPECONF_ENABLE);
}

static void test_vblank_rate(void **state)
{
    struct fx *f = *state;
    uint32_t c0, c1;

    modeset_1080p(f->v, 0);
    assert_true(rd(f->v, PIPECONF(0)) & PIPECONF_STATE_ENABLE);
    c0 = rd(f->v, PIPE_FRMCOUNT(0));
    /* 138.66 MHz / (2080 x 1111) = 60.003 Hz: 60 vblanks per second. */
    f->now += 1000 * MS;
    c1 = rd(f->v, PIPE_FRMCOUNT(0));
    assert_int_equal(c1 - c0, 60);
    f->now += 10000 * MS;
    assert_int_equal(rd(f->v, PIPE_FRMCOUNT(0)) - c1, 600);
    /* The scanline moves with the clock, inside vtotal. */
    {
        uint32_t a = rd(f->v, PIPEDSL(0)), b;

        f->now += 4 * MS;
        b = rd(f->v, PIPEDSL(0));
        assert_true(a < 1111 && b < 1111 && a != b);
    }
    /* Nothing ticks a pipe whose guest waits for no interrupt... */
    assert_int_equal(vgt_gpu_display_tick(f->gpu), UINT64_MAX);
    /* ...and a pipe whose guest does gets its next vblank scheduled. */
    wr(f->v, GEN8_DE_PIPE_IER(0), GEN8_PIPE_VBLANK);
    wr(f->v, GEN8_DE_PIPE_IMR(0), ~GEN8_PIPE_VBLANK);
    {
        uint64_t next = vgt_gpu_display_tick(f->gpu);

        assert_true(next > f->now && next <= f->now + 16667 * 1000ull);
    }
    /* A rate the guest cannot make a burden: tiny totals clamp to 240 Hz. */
    aux(f->v2, 2, (uint8_t[6]){DP_AUX_NATIVE_WRITE << 4, 0x01, 0x00, 1, 0x14, 0x84}, 6, 6, NULL);
    wr(f->v2, TRANS_HTOTAL(1), 15u << 16 | 7);
    wr(f->v2, TRANS_VTOTAL(1), 15u << 16 | 7);
    wr(f->v2, PIPE_LINK_M1(1), 0xffffff);
    wr(f->v2, PIPE_LINK_N1(1), 1);
    wr(f->v2, TRANS_DDI_FUNC_CTL(1), TRANS_DDI_FUNC_ENABLE | 2u << 28);
    wr(f->v2, PIPECONF(1), PIPECONF_ENABLE);
    c0 = rd(f->v2, PIPE_FRMCOUNT(1));
    f->now += 1000 * MS;
    assert_int_equal(rd(f->v2, PIPE_FRMCOUNT(1)) - c0, 240);
    /* Without link M/N: 60 Hz. */
    wr(f->v2, PIPECONF(2), PIPECONF_ENABLE);
    c0 = rd(f->v2, PIPE_FRMCOUNT(2));
    f->now += 500 * MS;
    assert_int_equal(rd(f->v2, PIPE_FRMCOUNT(2)) - c0, 30);
    /* Disabled pipes do not count. */
    wr(f->v, PIPECONF(0), 0);
    assert_false(rd(f->v, PIPECONF(0)) & PIPECONF_STATE_ENABLE);
    c0 = rd(f->v, PIPE_FRMCOUNT(0));
    f->now += 1000 * MS;
    assert_int_equal(rd(f->v, PIPE_FRMCOUNT(0)), c0);
}

static void test_flip_latched_at_vblank(void **state)
{
    struct fx *f = *state;
    uint64_t next;

    enable_msi(f->v);
    wr(f->v, GEN8_DE_PIPE_IER(0), GEN8_PIPE_VBLANK | GEN9_PIPE_PLANE1_FLIP_DONE);
    wr(f->v, GEN8_DE_PIPE_IMR(0), ~GEN9_PIPE_PLANE1_FLIP_DONE); /* vblank masked */
    modeset_1080p(f->v, 0);
    assert_int_equal(rd(f->v, PLANE_SURFLIVE(0)), 0x100000);
    /* A flip: armed now, scanned out from the next vblank. */
    wr(f->v, PLANE_SURF(0), 0x200000);
    assert_int_equal(vgt_vgpu_vreg(f->v, PLANE_SURF(0)), 0x200000);
    assert_int_equal(rd(f->v, PLANE_SURFLIVE(0)), 0x100000);
    next = vgt_gpu_display_tick(f->gpu);
    assert_true(next != UINT64_MAX);
    f->now = next - 1;
    vgt_gpu_display_tick(f->gpu);
    assert_int_equal(rd(f->v, PLANE_SURFLIVE(0)), 0x100000);
    assert_int_equal(f->hv->nr_msi, 0);
    f->now = next;
    vgt_gpu_display_tick(f->gpu); /* the vblank thread's call */
    assert_int_equal(f->hv->nr_msi, 1);
    assert_int_equal(f->hv->last_msi_data, 0x42);
    assert_int_equal(vgt_vgpu_vreg(f->v, PLANE_SURFLIVE(0)), 0x200000);
    assert_int_equal(rd(f->v, PIPE_FLIPCOUNT(0)), 1);
    assert_int_equal(rd(f->v, GEN8_MASTER_IRQ) & ~GEN8_MASTER_IRQ_CONTROL, GEN8_DE_PIPE_IRQ(0));
    assert_int_equal(rd(f->v, GEN8_DE_PIPE_IIR(0)), GEN9_PIPE_PLANE1_FLIP_DONE);
    /* i915's handler: master off, ack, master on. */
    wr(f->v, GEN8_MASTER_IRQ, 0);
    wr(f->v, GEN8_DE_PIPE_IIR(0), GEN9_PIPE_PLANE1_FLIP_DONE);
    wr(f->v, GEN8_MASTER_IRQ, GEN8_MASTER_IRQ_CONTROL);
    assert_int_equal(rd(f->v, GEN8_DE_PIPE_IIR(0)), 0);
    /* A thousand SURF writes within one frame: one flip, the last one. */
    for (uint32_t i = 1; i <= 1000; i++)
        wr(f->v, PLANE_SURF(0), 0x300000 + i * 0x1000);
    f->now += 17 * MS;
    vgt_gpu_display_tick(f->gpu);
    assert_int_equal(rd(f->v, PLANE_SURFLIVE(0)), 0x300000 + 1000 * 0x1000);
    assert_int_equal(rd(f->v, PIPE_FLIPCOUNT(0)), 2);
    assert_int_equal(stats(f->v).flips, 2);
    assert_int_equal(f->hv->nr_msi, 2);
    /* No flip pending: no flip-done at the next vblank. */
    wr(f->v, GEN8_DE_PIPE_IIR(0), ~0u);
    f->now += 17 * MS;
    vgt_gpu_display_tick(f->gpu);
    assert_int_equal(rd(f->v, GEN8_DE_PIPE_IIR(0)), 0);
    /* The low 12 bits of PLANE_SURF are not an address. */
    wr(f->v, PLANE_SURF(0), 0x400fff);
    assert_int_equal(vgt_vgpu_vreg(f->v, PLANE_SURF(0)), 0x400000);
    /* A disabled pipe takes a new address at once. */
    wr(f->v, PIPECONF(0), 0);
    assert_int_equal(rd(f->v, PLANE_SURFLIVE(0)), 0x400000);
    wr(f->v, PLANE_SURF(0), 0x500000);
    assert_int_equal(rd(f->v, PLANE_SURFLIVE(0)), 0x500000);
    /* The neighbour saw none of it. */
    assert_int_equal(f->hv2->nr_msi, 0);
    assert_int_equal(stats(f->v2).vblanks, 0);
}

/* ---- power, DBUF, PLLs, hotplug ---- */

static void test_handshakes(void **state)
{
    struct fx *f = *state;
    uint32_t req = HSW_PWR_WELL_CTL_REQ(SKL_PW_CTL_IDX_PW_1) | HSW_PWR_WELL_CTL_REQ(SKL_PW_CTL_IDX_PW_2);

    assert_int_equal(rd(f->v, SKL_FUSE_STATUS),
                     SKL_FUSE_DOWNLOAD_STATUS | SKL_FUSE_PG_DIST_STATUS(0) | SKL_FUSE_PG_DIST_STATUS(1) |
                         SKL_FUSE_PG_DIST_STATUS(2));
    wr(f->v, HSW_PWR_WELL_CTL2, req);
    assert_int_equal(rd(f->v, HSW_PWR_WELL_CTL2), req | req >> 1);
    wr(f->v, HSW_PWR_WELL_CTL2, 0);
    assert_int_equal(rd(f->v, HSW_PWR_WELL_CTL2), 0);
    assert_int_equal(rd(f->v, DBUF_CTL), 0);
    wr(f->v, DBUF_CTL, DBUF_POWER_REQUEST);
    assert_int_equal(rd(f->v, DBUF_CTL), DBUF_POWER_REQUEST | DBUF_POWER_STATE);
    wr(f->v, DBUF_CTL, DBUF_POWER_STATE); /* the state bit is not the guest's */
    assert_int_equal(rd(f->v, DBUF_CTL), 0);
    assert_int_equal(rd(f->v, DPLL_STATUS), DPLL_LOCK(0)); /* DPLL0 on at boot */
    wr(f->v, WRPLL_CTL1, LCPLL_PLL_ENABLE);
    assert_int_equal(rd(f->v, DPLL_STATUS), DPLL_LOCK(0) | DPLL_LOCK(2));
    assert_true(rd(f->v, DDI_BUF_CTL(1)) & DDI_BUF_IS_IDLE);
    wr(f->v, DDI_BUF_CTL(1), DDI_BUF_CTL_ENABLE | DDI_PORT_WIDTH(4));
    assert_false(rd(f->v, DDI_BUF_CTL(1)) & DDI_BUF_IS_IDLE);
    wr(f->v, DDI_BUF_CTL(1), 0);
    assert_true(rd(f->v, DDI_BUF_CTL(1)) & DDI_BUF_IS_IDLE);
    /* skl_set_cdclk asks pcode whether it may change CDCLK. */
    wr(f->v, GEN6_PCODE_MAILBOX, GEN6_PCODE_READY | SKL_PCODE_CDCLK_CONTROL);
    assert_false(rd(f->v, GEN6_PCODE_MAILBOX) & GEN6_PCODE_READY);
    assert_int_equal(rd(f->v, GEN6_PCODE_DATA), SKL_CDCLK_READY_FOR_CHANGE);
    /* The straps i915 reads to create its DDIs: B for one head, B..D for
     * three. */
    assert_int_equal(rd(f->v, SFUSE_STRAP), SFUSE_STRAP_DDI_DETECTED(1));
    assert_int_equal(rd(f->v2, SFUSE_STRAP),
                     SFUSE_STRAP_DDI_DETECTED(1) | SFUSE_STRAP_DDI_DETECTED(2) | SFUSE_STRAP_DDI_DETECTED(3));
}

static void test_hotplug(void **state)
{
    struct fx *f = *state;
    uint32_t hpd = SDE_PORT_HOTPLUG_CPT(2);

    enable_msi(f->v2);
    assert_true(rd(f->v2, SDEISR) & hpd);
    /* spt_hpd_irq_setup: detection on, the interrupt unmasked. */
    wr(f->v2, PCH_PORT_HOTPLUG, PORT_HOTPLUG_ENABLE(2));
    wr(f->v2, SDEIER, hpd);
    wr(f->v2, SDEIMR, ~hpd);
    assert_int_equal(vgt_vgpu_hotplug(f->v2, 1, false), 0);
    assert_false(rd(f->v2, SDEISR) & hpd);
    assert_int_equal(rd(f->v2, SDEIIR), hpd);
    assert_int_equal(rd(f->v2, PCH_PORT_HOTPLUG) & PORT_HOTPLUG_STATUS_MASK(2), PORT_HOTPLUG_LONG_DETECT(2));
    assert_true(rd(f->v2, GEN8_MASTER_IRQ) & GEN8_DE_PCH_IRQ);
    assert_int_equal(f->hv2->nr_msi, 1);
    /* The handler clears the sticky status and the IIR. */
    wr(f->v2, PCH_PORT_HOTPLUG, rd(f->v2, PCH_PORT_HOTPLUG));
    assert_int_equal(rd(f->v2, PCH_PORT_HOTPLUG), PORT_HOTPLUG_ENABLE(2));
    wr(f->v2, SDEIIR, hpd);
    assert_false(rd(f->v2, GEN8_MASTER_IRQ) & GEN8_DE_PCH_IRQ);
    /* Unplugged: no AUX answer on port C, nothing on its GMBUS pin. */
    {
        uint8_t rep[20], ok[4] = {DP_AUX_NATIVE_READ << 4, 0x02, 0x00, 0};

        assert_true(aux(f->v2, 2, ok, 4, 4, rep) & DP_AUX_CH_CTL_TIME_OUT_ERROR);
        assert_int_equal(vgt_vgpu_hotplug(f->v2, 1, true), 0);
        assert_int_equal(reply_size(aux(f->v2, 2, ok, 4, 4, rep)), 2);
        assert_int_equal(rep[1], 1); /* SINK_COUNT */
    }
    assert_true(rd(f->v2, SDEISR) & hpd);
    assert_int_equal(f->hv2->nr_msi, 2);
    assert_int_equal(stats(f->v2).hotplugs, 2);
    /* Detection off: the live state changes, no interrupt. */
    wr(f->v2, PCH_PORT_HOTPLUG, 0);
    wr(f->v2, SDEIIR, ~0u);
    assert_int_equal(vgt_vgpu_hotplug(f->v2, 1, false), 0);
    assert_int_equal(rd(f->v2, SDEIIR), 0);
    assert_int_equal(vgt_vgpu_hotplug(f->v2, 3, true), -EINVAL);
    assert_int_equal(vgt_vgpu_hotplug(f->v, 1, true), -EINVAL);
    assert_int_equal(f->hv->nr_msi, 0);
}

/* ---- hostile pipes ---- */

static void test_pipes_past_the_type(void **state)
{
    struct fx *f = *state;

    wr(f->v2, PLANE_CTL(2), PLANE_CTL_ENABLE | PLANE_CTL_FORMAT_XRGB_8888);
    /* A one-head vGPU cannot turn on pipes B and C. */
    wr(f->v, PIPECONF(1), PIPECONF_ENABLE);
    wr(f->v, PIPECONF(2), PIPECONF_ENABLE);
    assert_false(rd(f->v, PIPECONF(1)) & (PIPECONF_ENABLE | PIPECONF_STATE_ENABLE));
    assert_false(rd(f->v, PIPECONF(2)) & (PIPECONF_ENABLE | PIPECONF_STATE_ENABLE));
    assert_int_equal(stats(f->v).pipe_refused, 2);
    /* Skylake has no pipe D or transcoder D. */
    wr(f->v, PIPECONF(3), PIPECONF_ENABLE);
    wr(f->v, PLANE_SURF(3), 0x1000);
    wr(f->v, TRANS_HTOTAL(3) + 8, 0x12345678);
    assert_int_equal(rd(f->v, PIPECONF(3)), 0);
    assert_int_equal(rd(f->v, TRANS_HTOTAL(3) + 8), 0);
    assert_int_equal(stats(f->v).pipe_refused, 2 + 5);
    {
        struct vgt_vgpu_info info;

        vgt_vgpu_get_info(f->v, &info);
        assert_int_equal(info.pipes_on, 0);
        assert_false(info.failsafe);
    }
    /* Its own pipe A still works; the neighbour's registers are its own. */
    modeset_1080p(f->v, 0);
    assert_true(rd(f->v, PIPECONF(0)) & PIPECONF_STATE_ENABLE);
    assert_int_equal(rd(f->v2, PLANE_CTL(2)), PLANE_CTL_ENABLE | PLANE_CTL_FORMAT_XRGB_8888);
    assert_int_equal(stats(f->v2).pipe_refused, 0);
    /* The three-head vGPU turns on all three. */
    for (unsigned p = 0; p < 3; p++) {
        wr(f->v2, PIPECONF(p), PIPECONF_ENABLE);
        assert_true(rd(f->v2, PIPECONF(p)) & PIPECONF_STATE_ENABLE);
    }
    /* A device-model reset turns the pipes off and keeps the monitors. */
    assert_int_equal(vgt_vgpu_reset(f->v2), 0);
    for (unsigned p = 0; p < 3; p++)
        assert_false(rd(f->v2, PIPECONF(p)) & PIPECONF_STATE_ENABLE);
    assert_true(rd(f->v2, SDEISR) & SDE_PORT_HOTPLUG_CPT(3));
}

/* One request as i915's __snb_pcode_rw sends it (intel_pcode.c): the
 * mailbox must not be busy; DATA, DATA1, then the command with READY; it
 * waits for READY to clear. Returns the mailbox's status byte; *data is
 * what DATA reads afterwards. */
static uint32_t pcode(struct vgt_vgpu *v, uint32_t mbox, uint32_t *data)
{
    uint32_t m;

    assert_false(rd(v, GEN6_PCODE_MAILBOX) & GEN6_PCODE_READY);
    wr(v, GEN6_PCODE_DATA, *data);
    wr(v, GEN6_PCODE_DATA1, 0);
    wr(v, GEN6_PCODE_MAILBOX, GEN6_PCODE_READY | mbox);
    m = rd(v, GEN6_PCODE_MAILBOX);
    assert_false(m & GEN6_PCODE_READY);
    *data = rd(v, GEN6_PCODE_DATA);
    return m & GEN6_PCODE_ERROR_MASK;
}

static void test_pcode_mailbox(void **state)
{
    struct fx *f = *state;
    uint32_t d;

    /* skl_sagv_disable: skl_pcode_request(SAGV_CONTROL, DISABLE) until
     * DATA & IS_DISABLED == IS_DISABLED: the first answer does it. */
    d = GEN9_SAGV_DISABLE;
    assert_int_equal(pcode(f->v, GEN9_PCODE_SAGV_CONTROL, &d), GEN6_PCODE_SUCCESS);
    assert_int_equal(d & GEN9_SAGV_IS_DISABLED, GEN9_SAGV_IS_DISABLED);
    d = GEN9_SAGV_ENABLE; /* skl_sagv_enable: a plain write */
    assert_int_equal(pcode(f->v, GEN9_PCODE_SAGV_CONTROL, &d), GEN6_PCODE_SUCCESS);
    /* skl_read_wm_latency: two sets, four levels a byte; gvt's Skylake
     * figures; level 0 is 0 (i915 adds its read latency). */
    d = 0;
    assert_int_equal(pcode(f->v, GEN9_PCODE_READ_MEM_LATENCY, &d), GEN6_PCODE_SUCCESS);
    assert_int_equal(d, 0x1e1a1100u);
    d = 1;
    assert_int_equal(pcode(f->v, GEN9_PCODE_READ_MEM_LATENCY, &d), GEN6_PCODE_SUCCESS);
    assert_int_equal(d, 0x61514b3du);
    /* skl_set_cdclk: prepare, ready for change; then the voltage level. */
    d = SKL_CDCLK_PREPARE_FOR_CHANGE;
    assert_int_equal(pcode(f->v, SKL_PCODE_CDCLK_CONTROL, &d), GEN6_PCODE_SUCCESS);
    assert_int_equal(d, SKL_CDCLK_READY_FOR_CHANGE);
    d = 0;
    assert_int_equal(pcode(f->v, SKL_PCODE_CDCLK_CONTROL, &d), GEN6_PCODE_SUCCESS);
    /* gen6_update_ring_freq's table rows are taken; gen6_rps_init's
     * efficient frequency is RPn, 0. */
    d = 0x00010000u;
    assert_int_equal(pcode(f->v, GEN6_PCODE_WRITE_MIN_FREQ_TABLE, &d), GEN6_PCODE_SUCCESS);
    d = 0xdeadbeefu;
    assert_int_equal(pcode(f->v, HSW_PCODE_DYNAMIC_DUTY_CYCLE_CONTROL, &d), GEN6_PCODE_SUCCESS);
    assert_int_equal(d, 0);
    assert_int_equal(stats(f->v).pcode_refused, 0);

    /* A command the PCU does not implement: ILLEGAL_CMD (i915: -ENXIO,
     * "no SAGV" for skl_sagv_disable), DATA untouched. */
    d = 0x1234u;
    assert_int_equal(pcode(f->v, 0x42, &d), GEN6_PCODE_ILLEGAL_CMD);
    assert_int_equal(d, 0x1234u);
    /* Data a command does not take: ILLEGAL_DATA, DATA untouched. */
    d = 2;
    assert_int_equal(pcode(f->v, GEN9_PCODE_READ_MEM_LATENCY, &d), GEN7_PCODE_ILLEGAL_DATA);
    assert_int_equal(d, 2);
    d = 7;
    assert_int_equal(pcode(f->v, GEN9_PCODE_SAGV_CONTROL, &d), GEN7_PCODE_ILLEGAL_DATA);
    d = 4;
    assert_int_equal(pcode(f->v, SKL_PCODE_CDCLK_CONTROL, &d), GEN7_PCODE_ILLEGAL_DATA);
    assert_int_equal(stats(f->v).pcode_refused, 4);
    /* Parameters above the command byte do not change the command. */
    d = 0;
    assert_int_equal(pcode(f->v, 0x00ff0000u | GEN9_PCODE_READ_MEM_LATENCY, &d), GEN6_PCODE_SUCCESS);
    assert_int_equal(d, 0x1e1a1100u);
}

static void test_pcode_hostile(void **state)
{
    struct fx *f = *state;
    uint32_t d, nb_data = rd(f->v2, GEN6_PCODE_DATA), nb_mbox = rd(f->v2, GEN6_PCODE_MAILBOX);

    /* Every command byte with READY and garbage in DATA and the
     * parameters: the mailbox is never left busy, never failsafe; the
     * neighbour's mailbox is untouched. */
    for (uint32_t cmd = 0; cmd < 0x100; cmd++) {
        uint32_t m;

        wr(f->v, GEN6_PCODE_DATA, 0xa5a5a5a5u ^ cmd);
        wr(f->v, GEN6_PCODE_DATA1, ~cmd);
        wr(f->v, GEN6_PCODE_MAILBOX, 0xffffff00u | cmd);
        m = rd(f->v, GEN6_PCODE_MAILBOX);
        assert_false(m & GEN6_PCODE_READY);
        assert_int_equal(m & ~(GEN6_PCODE_READY | GEN6_PCODE_ERROR_MASK), 0x7fffff00u);
    }
    /* Writes without READY only store their fields, READY included
     * never: a guest cannot wedge its own mailbox busy either. */
    wr(f->v, GEN6_PCODE_MAILBOX, 0x7fffffffu);
    assert_int_equal(rd(f->v, GEN6_PCODE_MAILBOX), 0x7fffffffu);
    {
        struct vgt_vgpu_info info;

        vgt_vgpu_get_info(f->v, &info);
        assert_false(info.failsafe);
    }
    assert_true(stats(f->v).pcode_refused > 0);
    assert_int_equal(rd(f->v2, GEN6_PCODE_DATA), nb_data);
    assert_int_equal(rd(f->v2, GEN6_PCODE_MAILBOX), nb_mbox);
    assert_int_equal(stats(f->v2).pcode_refused, 0);
    /* The guest's next real request is answered as before. */
    d = GEN9_SAGV_DISABLE;
    assert_int_equal(pcode(f->v, GEN9_PCODE_SAGV_CONTROL, &d), GEN6_PCODE_SUCCESS);
    assert_int_equal(d, GEN9_SAGV_IS_DISABLED);
}

/* EDP_PSR_IIR: gen8_display_irq_reset writes all ones to IMR and IIR,
 * gen8_de_irq_postinstall's gen3_assert_iir_is_zero wants 0 (the real
 * run read back 0xffffffff from plain storage). */
static void test_psr_iir(void **state)
{
    struct fx *f = *state;

    assert_int_equal(rd(f->v, EDP_PSR_IMR), 0xffffffffu); /* masked at reset */
    wr(f->v, EDP_PSR_IMR, 0xffffffffu);
    wr(f->v, EDP_PSR_IIR, 0xffffffffu);
    assert_int_equal(rd(f->v, EDP_PSR_IIR), 0);
    wr(f->v, EDP_PSR_IIR, 0xffffffffu);
    assert_int_equal(rd(f->v, EDP_PSR_IIR), 0);
    wr(f->v, EDP_PSR_IMR, 0x12345678u);
    assert_int_equal(rd(f->v, EDP_PSR_IMR), 0x12345678u);
    assert_int_equal(stats(f->v).unlisted_regs, 0);
}

/* Plane 2 of every pipe (the rig's unlisted 0x70280/0x71280/0x72280) and
 * plane 3 of pipes A and B: i915's full register set has rows, stores
 * what was written, SURF keeps its 4 KiB alignment, SURFLIVE follows. */
static void test_plane_rows(void **state)
{
    struct fx *f = *state;
    static const struct {
        unsigned pipe, plane;
    } planes[] = {{0, 1}, {1, 1}, {2, 1}, {0, 2}, {1, 2}};

    for (size_t k = 0; k < VGT_ARRAY_SIZE(planes); k++) {
        unsigned p = planes[k].pipe, i = planes[k].plane;
        const uint32_t regs[] = {PLANE_CTL(p),        PLANE_STRIDE(p),    PLANE_POS(p),
                                 PLANE_SIZE(p),       PLANE_KEYVAL(p),    PLANE_KEYMSK(p),
                                 PLANE_KEYMAX(p),     PLANE_OFFSET(p),    PLANE_AUX_DIST(p),
                                 PLANE_AUX_OFFSET(p), PLANE_WM(p, 0),     PLANE_WM(p, 7),
                                 PLANE_WM_TRANS(p),   PLANE_NV12_BUF_CFG(p), PLANE_BUF_CFG(p)};

        for (size_t r = 0; r < VGT_ARRAY_SIZE(regs); r++) {
            uint32_t off = PLANE_N(regs[r], i), val = 0x80000000u | off;

            wr(f->v, off, val);
            if (rd(f->v, off) != val)
                fail_msg("pipe %u plane %u: %#x reads %#x", p, i + 1, off, rd(f->v, off));
        }
        wr(f->v, PLANE_N(PLANE_SURF(p), i), 0x00123fffu);
        assert_int_equal(rd(f->v, PLANE_N(PLANE_SURF(p), i)), 0x00123000u);
        assert_int_equal(rd(f->v, PLANE_N(PLANE_SURFLIVE(p), i)), 0x00123000u);
        wr(f->v, PLANE_N(PLANE_SURFLIVE(p), i), 0); /* read-only */
        assert_int_equal(rd(f->v, PLANE_N(PLANE_SURFLIVE(p), i)), 0x00123000u);
        /* Plane 1 of the pipe is not touched by its neighbours. */
        assert_int_equal(rd(f->v, PLANE_SURF(p)), 0);
    }
    /* skl_sanitize_cdclk: SWF18 reads 0 (no pre-OS display); the
     * scratch registers store. */
    assert_int_equal(rd(f->v, SWF_ILK(0x18)), 0);
    wr(f->v, SWF_ILK(35), 0x5a5a5a5au);
    assert_int_equal(rd(f->v, SWF_ILK(35)), 0x5a5a5a5au);
    assert_int_equal(stats(f->v).unlisted_regs, 0);
}

/* The display-init registers of i915 6.1 on Skylake: the fuses are
 * read-only, the VGA plane starts disabled, port E's sticky status never
 * sets and a guest's ones do not set it. */
static void test_display_init_rows(void **state)
{
    struct fx *f = *state;

    assert_int_equal(rd(f->v, SKL_DFSM), 0);
    wr(f->v, SKL_DFSM, 0xffffffffu); /* a guest cannot fuse its pipes */
    assert_int_equal(rd(f->v, SKL_DFSM), 0);
    assert_int_equal(rd(f->v, CPU_VGACNTRL), VGA_DISP_DISABLE);
    wr(f->v, PCH_PORT_HOTPLUG2, 0xffffffffu);
    assert_int_equal(rd(f->v, PCH_PORT_HOTPLUG2), 0xffffffffu & ~PORTE_HOTPLUG_STATUS_MASK);
    wr(f->v, PCH_PORT_HOTPLUG2, 0);
    assert_int_equal(rd(f->v, PCH_PORT_HOTPLUG2), 0);
    wr(f->v, DC_STATE_EN, 0x8u);
    assert_int_equal(rd(f->v, DC_STATE_EN), 0x8u);
    assert_int_equal(rd(f->v, TRANS_DDI_FUNC_CTL_EDP), 0);
    assert_int_equal(stats(f->v).unlisted_regs, 0);
}

/* intel_ddi_set_idle_link_train: idle patterns, then IDLE_DONE within
 * 1 ms; it goes again when training or normal patterns are sent. */
static void test_dp_idle_done(void **state)
{
    struct fx *f = *state;

    assert_false(rd(f->v, DP_TP_STATUS(1)) & DP_TP_STATUS_IDLE_DONE);
    wr(f->v, DP_TP_CTL(1), DP_TP_CTL_ENABLE | DP_TP_CTL_LINK_TRAIN_PAT1);
    assert_false(rd(f->v, DP_TP_STATUS(1)) & DP_TP_STATUS_IDLE_DONE);
    wr(f->v, DP_TP_CTL(1), DP_TP_CTL_ENABLE | DP_TP_CTL_LINK_TRAIN_IDLE);
    assert_true(rd(f->v, DP_TP_STATUS(1)) & DP_TP_STATUS_IDLE_DONE);
    assert_false(rd(f->v, DP_TP_STATUS(2)) & DP_TP_STATUS_IDLE_DONE); /* its port only */
    wr(f->v, DP_TP_STATUS(1), 0); /* read-only */
    assert_true(rd(f->v, DP_TP_STATUS(1)) & DP_TP_STATUS_IDLE_DONE);
    wr(f->v, DP_TP_CTL(1), DP_TP_CTL_ENABLE | DP_TP_CTL_LINK_TRAIN_NORMAL);
    assert_false(rd(f->v, DP_TP_STATUS(1)) & DP_TP_STATUS_IDLE_DONE);
    wr(f->v, DP_TP_CTL(1), DP_TP_CTL_LINK_TRAIN_IDLE); /* port off: nothing sent */
    assert_false(rd(f->v, DP_TP_STATUS(1)) & DP_TP_STATUS_IDLE_DONE);
}

/* bdw_load_lut_10 then bdw_read_lut_10 (the state checker's readout):
 * index with AUTO_INCREMENT, every entry through DATA, index back to 0;
 * then split mode from entry 512. */
static void test_prec_palette(void **state)
{
    struct fx *f = *state;

    wr(f->v2, PREC_PAL_INDEX(1), PAL_PREC_AUTO_INCREMENT);
    for (uint32_t i = 0; i < PAL_PREC_ENTRIES; i++)
        wr(f->v2, PREC_PAL_DATA(1), i * 0x100401u);
    wr(f->v2, PREC_PAL_INDEX(1), 0);
    wr(f->v2, PREC_PAL_INDEX(1), PAL_PREC_AUTO_INCREMENT);
    for (uint32_t i = 0; i < PAL_PREC_ENTRIES; i++)
        if (rd(f->v2, PREC_PAL_DATA(1)) != ((i * 0x100401u) & PAL_PREC_DATA_MASK))
            fail_msg("entry %u reads %#x", i, rd(f->v2, PREC_PAL_DATA(1)));
    /* the index wrapped back to 0 */
    assert_int_equal(rd(f->v2, PREC_PAL_INDEX(1)), PAL_PREC_AUTO_INCREMENT);
    /* split mode: the gamma half starts at 512 */
    wr(f->v2, PREC_PAL_INDEX(1), PAL_PREC_SPLIT_MODE | PAL_PREC_AUTO_INCREMENT | 512);
    wr(f->v2, PREC_PAL_DATA(1), 0x3ff);
    wr(f->v2, PREC_PAL_INDEX(1), 512);
    assert_int_equal(rd(f->v2, PREC_PAL_DATA(1)), 0x3ff);
    /* no AUTO_INCREMENT: the index stays */
    assert_int_equal(rd(f->v2, PREC_PAL_DATA(1)), 0x3ff);
    assert_int_equal(rd(f->v2, PREC_PAL_INDEX(1)), 512);
    /* Index bits past the 1024 entries are ignored, DATA keeps 30 bits. */
    wr(f->v2, PREC_PAL_INDEX(1), 0x7c00u | 5);
    wr(f->v2, PREC_PAL_DATA(1), 0xffffffffu);
    wr(f->v2, PREC_PAL_INDEX(1), 5);
    assert_int_equal(rd(f->v2, PREC_PAL_DATA(1)), PAL_PREC_DATA_MASK);
    /* Pipes have their own palettes; the other vGPU has its own. */
    wr(f->v2, PREC_PAL_INDEX(0), 5);
    assert_int_equal(rd(f->v2, PREC_PAL_DATA(0)), 0);
    wr(f->v, PREC_PAL_INDEX(1), 5);
    assert_int_equal(rd(f->v, PREC_PAL_DATA(1)), 0);
    /* The legacy palette (ilk_load_lut_8) and the clamps are storage. */
    wr(f->v2, LGC_PALETTE(2, 255), 0x00ffffffu);
    assert_int_equal(rd(f->v2, LGC_PALETTE(2, 255)), 0x00ffffffu);
    wr(f->v2, PREC_PAL_EXT_GC_MAX(0, 2), 1u << 16);
    assert_int_equal(rd(f->v2, PREC_PAL_EXT_GC_MAX(0, 2)), 1u << 16);
    assert_int_equal(stats(f->v2).unlisted_regs, 0);
    /* A device-model reset clears the palette. */
    assert_int_equal(vgt_vgpu_reset(f->v2), 0);
    wr(f->v2, PREC_PAL_INDEX(1), 5);
    assert_int_equal(rd(f->v2, PREC_PAL_DATA(1)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_types_heads_resolution, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edid_generation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edid_over_gmbus, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gmbus_hostile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edid_over_aux, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aux_hostile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vblank_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flip_latched_at_vblank, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handshakes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hotplug, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipes_past_the_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pcode_mailbox, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pcode_hostile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_psr_iir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plane_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_display_init_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dp_idle_done, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prec_palette, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
