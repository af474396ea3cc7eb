/* The vGPU's display engine: Skylake pipes A-C with their transcoders,
 * universal planes (plane 1 scanned out) and cursor, DDI ports B-D with
 * a virtual DisplayPort monitor each (EDID over GMBUS and over DP AUX),
 * watermark/DBUF/power-well handshakes, the PCU mailbox, vblanks and
 * frame counters at the mode's refresh rate, flips latched at vblank
 * with their flip-done interrupt, and hotplug.
 *
 * What a vGPU must present follows Linux gvt display.c / edid.c /
 * handlers.c; offsets and bits are i915's (vgt/display_regs.h names the
 * files). The guest's register values stay in the virtual registers at
 * their i915 offsets: the host side reads them there (docs/display.md).
 *
 * Time: vblank k of a pipe happens at next_vblank + (k - 1) * period.
 * Whatever reads a counter, an interrupt register or the scanline first
 * brings the pipe up to the clock (O(1): a division, not a loop), so a
 * guest that polls needs no timer at all; the per-GPU vblank thread does
 * the same for pipes whose guest waits for an interrupt. Handlers run
 * under the vGPU's lock, like every register handler. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vgpu_priv.h"
#include "vgt/util.h"

#define MIN_PERIOD_NS (1000000000ull / 240) /* refresh clamped to [1, 240] Hz */
#define MAX_PERIOD_NS 1000000000ull
#define DEFAULT_PERIOD_NS (1000000000ull / 60)
#define PIPE_IRQS (GEN8_PIPE_VBLANK | GEN9_PIPE_PLANE1_FLIP_DONE)

static uint64_t clock_now(const struct vgt_gpu *g)
{
    return g->now_ns ? g->now_ns(g->clock_opaque) : vgt_now_ns();
}

static uint32_t *vr(struct vgt_vgpu *v, uint32_t off)
{
    return &v->vreg[off / 4];
}

static unsigned pipe_of(uint32_t off)
{
    return (off >> 12) & 0xfu; /* 0x6p000 transcoder, 0x7p000 pipe */
}

/* Head of a DDI port (B..D), or -1. */
static int port_head(const struct vgt_vgpu *v, unsigned port)
{
    return port >= 1 && port - 1 < v->dpy.heads ? (int)(port - 1) : -1;
}

/* ---- interrupts ---- */

/* IIR latches what the guest enabled and did not mask (i915
 * gen8_de_irq_postinstall programs IER and IMR together). */
static bool latch(struct vgt_vgpu *v, uint32_t ier, uint32_t imr, uint32_t iir, uint32_t bits)
{
    uint32_t l = bits & *vr(v, ier) & ~*vr(v, imr);

    *vr(v, iir) |= l;
    return l != 0;
}

uint32_t vgt_display_master_bits(const struct vgt_vgpu *v)
{
    const uint32_t *r = v->vreg;
    uint32_t m = 0;

    for (unsigned p = 0; p < VGT_MAX_PIPES; p++)
        if (r[GEN8_DE_PIPE_IIR(p) / 4])
            m |= GEN8_DE_PIPE_IRQ(p);
    if (r[GEN8_DE_PORT_IIR / 4])
        m |= GEN8_DE_PORT_IRQ;
    if (r[GEN8_DE_MISC_IIR / 4])
        m |= GEN8_DE_MISC_IRQ;
    if (r[SDEIIR / 4])
        m |= GEN8_DE_PCH_IRQ;
    return m;
}

/* Whether the vblank thread must wake for this pipe: the guest waits for
 * one of its interrupts or a flip is to be latched. */
static bool pipe_wants_ticks(struct vgt_vgpu *v, unsigned p)
{
    const struct vgt_dpy_pipe *pp = &v->dpy.pipe[p];

    if (!pp->enabled)
        return false;
    return pp->flip_pending || pp->cur_pending ||
           (*vr(v, GEN8_DE_PIPE_IER(p)) & ~*vr(v, GEN8_DE_PIPE_IMR(p)) & PIPE_IRQS);
}

static void timer_kick(struct vgt_gpu *g);

/* A guest can refuse-spam at MMIO speed: its refusals are counted, and
 * logged the 1st, 2nd, 4th, 8th... time so the log cannot be flooded. */
static bool log_refusal(uint64_t n)
{
    return (n & (n - 1)) == 0;
}

/* ---- vblanks ---- */

/* @n vblanks of pipe @p have passed: counters, latched flips, IIR. */
static bool pipe_vblanks(struct vgt_vgpu *v, unsigned p, uint64_t n)
{
    struct vgt_dpy_pipe *pp = &v->dpy.pipe[p];
    uint32_t bits = GEN8_PIPE_VBLANK;

    *vr(v, PIPE_FRMCOUNT(p)) += (uint32_t)n;
    v->st.vblanks += n;
    /* Only the arming registers are double-buffered here: PLANE_SURF and
     * CUR_BASE take effect at the vblank after they were written (the
     * other plane registers are taken as written). */
    if (pp->flip_pending) {
        *vr(v, PLANE_SURFLIVE(p)) = *vr(v, PLANE_SURF(p));
        *vr(v, PIPE_FLIPCOUNT(p)) += 1;
        pp->flip_pending = false;
        v->st.flips++;
        bits |= GEN9_PIPE_PLANE1_FLIP_DONE;
    }
    if (pp->cur_pending) {
        *vr(v, CUR_SURFLIVE(p)) = *vr(v, CUR_BASE(p));
        pp->cur_pending = false;
    }
    return latch(v, GEN8_DE_PIPE_IER(p), GEN8_DE_PIPE_IMR(p), GEN8_DE_PIPE_IIR(p), bits);
}

/* Bring every pipe of @v up to @now. Returns the next vblank the vblank
 * thread has to deliver (UINT64_MAX: none). Called with the vGPU lock. */
static uint64_t catch_up(struct vgt_vgpu *v, uint64_t now)
{
    uint64_t next = UINT64_MAX;
    bool irq = false;

    for (unsigned p = 0; p < VGT_MAX_PIPES; p++) {
        struct vgt_dpy_pipe *pp = &v->dpy.pipe[p];

        if (!pp->enabled)
            continue;
        if (now >= pp->next_vblank) {
            uint64_t n = (now - pp->next_vblank) / pp->period_ns + 1;

            pp->next_vblank += n * pp->period_ns;
            irq |= pipe_vblanks(v, p, n);
        }
        if (pipe_wants_ticks(v, p))
            next = VGT_MIN(next, pp->next_vblank);
    }
    if (irq)
        vgt_vgpu_update_irq(v);
    return next;
}

static void catch_up_now(struct vgt_vgpu *v)
{
    catch_up(v, clock_now(v->gpu));
}

void vgt_display_catch_up(struct vgt_vgpu *v)
{
    catch_up_now(v);
}

uint64_t vgt_gpu_display_tick(struct vgt_gpu *g)
{
    uint64_t next = UINT64_MAX, now = clock_now(g);

    /* g->lock keeps the vGPUs alive; each is ticked under its own lock,
     * in O(1), so one guest's pipes never cost another more than that. */
    pthread_mutex_lock(&g->lock);
    for (unsigned i = 0; i < VGT_MAX_VGPUS; i++) {
        struct vgt_vgpu *v = g->vgpus[i];

        if (!v || !__atomic_load_n(&v->dpy_pipes_on, __ATOMIC_ACQUIRE))
            continue;
        pthread_mutex_lock(&v->lock);
        next = VGT_MIN(next, catch_up(v, now));
        pthread_mutex_unlock(&v->lock);
    }
    pthread_mutex_unlock(&g->lock);
    return next;
}

/* The refresh period of pipe @p from what the guest programmed: the pixel
 * clock is the DP link's symbol clock (DPCD LINK_BW_SET of the port its
 * transcoder drives) times LINK_M / LINK_N (i915 intel_link_compute_m_n:
 * link M/N = pixel clock / link clock), over htotal x vtotal. 60 Hz when
 * the guest left any of it out; clamped to 1..240 Hz so that no guest
 * can make its vblanks a burden. */
static uint64_t pipe_period(struct vgt_vgpu *v, unsigned p)
{
    uint64_t ht = TRANS_TOTAL(*vr(v, TRANS_HTOTAL(p))), vt = TRANS_TOTAL(*vr(v, TRANS_VTOTAL(p)));
    uint32_t fc = *vr(v, TRANS_DDI_FUNC_CTL(p));
    uint64_t m = *vr(v, PIPE_LINK_M1(p)) & PIPE_LINK_MN_MASK;
    uint64_t n = *vr(v, PIPE_LINK_N1(p)) & PIPE_LINK_MN_MASK;
    int head = port_head(v, (fc & TRANS_DDI_PORT_MASK) >> TRANS_DDI_PORT_SHIFT);
    uint64_t link_khz, pix_khz, period;

    if (head < 0 || !m || !n)
        return DEFAULT_PERIOD_NS;
    link_khz = (uint64_t)v->dpy.dpcd[head][DP_LINK_BW_SET] * DP_LINK_BW_SYMBOL_KHZ;
    pix_khz = link_khz * m / n;
    if (!pix_khz)
        return DEFAULT_PERIOD_NS;
    period = ht * vt * 1000000ull / pix_khz;
    return VGT_MAX(MIN_PERIOD_NS, VGT_MIN(period, MAX_PERIOD_NS));
}

/* ---- handlers: pipes, planes, cursor ---- */

static int pipeconf_write(struct vgt_vgpu *v, uint32_t off, uint32_t val)
{
    unsigned p = pipe_of(off);
    struct vgt_dpy_pipe *pp = &v->dpy.pipe[p];

    catch_up_now(v);
    if ((val & PIPECONF_ENABLE) && p >= v->dpy.heads) {
        /* The type has no head for this pipe: it stays off, as a pipe
         * whose PLL never locks. */
        if (log_refusal(++v->st.pipe_refused))
            vgt_warn(v->log, "vgpu%u: pipe %c enable refused: the type has %u head(s) (%llu refused)",
                     v->id, 'A' + p, v->dpy.heads, (unsigned long long)v->st.pipe_refused);
        val &= ~PIPECONF_ENABLE;
    }
    if ((val & PIPECONF_ENABLE) && !pp->enabled) {
        pp->enabled = true;
        pp->period_ns = pipe_period(v, p);
        pp->next_vblank = clock_now(v->gpu) + pp->period_ns;
        timer_kick(v->gpu);
    } else if (!(val & PIPECONF_ENABLE) && pp->enabled) {
        /* A disabled pipe scans nothing out: armed addresses apply now. */
        pp->enabled = false;
        pp->flip_pending = pp->cur_pending = false;
        *vr(v, PLANE_SURFLIVE(pipe_of(off))) = *vr(v, PLANE_SURF(p));
        *vr(v, CUR_SURFLIVE(p)) = *vr(v, CUR_BASE(p));
    }
    val &= ~PIPECONF_STATE_ENABLE;
    *vr(v, off) = val | (pp->enabled ? PIPECONF_STATE_ENABLE : 0);
    __atomic_store_n(&v->dpy_pipes_on,
                     (uint8_t)((v->dpy_pipes_on & ~(1u << p)) | (pp->enabled ? 1u << p : 0)),
                     __ATOMIC_RELEASE);
    return 0;
}

/* Arming registers: latched at the next vblank of an enabled pipe. */
static int arm_write(struct vgt_vgpu *v, uint32_t off, uint32_t val)
{
    unsigned p = pipe_of(off);
    struct vgt_dpy_pipe *pp = &v->dpy.pipe[p];
    bool cursor = off == CUR_BASE(p);
    bool wanted;

    catch_up_now(v);
    wanted = pipe_wants_ticks(v, p);
    *vr(v, off) = val;
    if (!pp->enabled) {
        *vr(v, cursor ? CUR_SURFLIVE(p) : PLANE_SURFLIVE(p)) = val;
        return 0;
    }
    if (cursor)
        pp->cur_pending = true;
    else
        pp->flip_pending = true;
    /* The thread only needs waking when it did not tick this pipe yet
     * (a flipping guest normally has vblank interrupts on): a guest
     * flipping at 1 kHz does not wake it at 1 kHz. */
    if (!wanted)
        timer_kick(v->gpu);
    return 0;
}

/* Frame/flip counters and the live addresses: up to the clock first. */
static int clocked_read(struct vgt_vgpu *v, uint32_t off, uint32_t *val)
{
    catch_up_now(v);
    *val = *vr(v, off);
    return 0;
}

/* PIPEDSL: the line being scanned, from the time since the last vblank
 * (a vblank starts at the first line after the active area). */
static int pipedsl_read(struct vgt_vgpu *v, uint32_t off, uint32_t *val)
{
    unsigned p = pipe_of(off);
    struct vgt_dpy_pipe *pp = &v->dpy.pipe[p];
    uint64_t now = clock_now(v->gpu), vt, va, since;

    catch_up(v, now);
    *val = 0;
    if (!pp->enabled)
        return 0;
    vt = TRANS_TOTAL(*vr(v, TRANS_VTOTAL(p)));
    va = TRANS_ACTIVE(*vr(v, TRANS_VTOTAL(p)));
    since = pp->period_ns - (pp->next_vblank - now); /* ns since the last vblank */
    *val = (uint32_t)((va + since * vt / pp->period_ns) % vt) & 0x1fffu;
    return 0;
}

/* IMR/IER of a pipe: the thread may have to start ticking it. */
static int pipe_irq_write(struct vgt_vgpu *v, uint32_t off, uint32_t val)
{
    unsigned p = (off - GEN8_DE_PIPE_ISR(0)) / 0x10;
    bool wanted = pipe_wants_ticks(v, p);

    catch_up_now(v);
    *vr(v, off) = val;
    if (!wanted && pipe_wants_ticks(v, p))
        timer_kick(v->gpu);
    vgt_vgpu_update_irq(v);
    return 0;
}

static int de_irq_write(struct vgt_vgpu *v, uint32_t off, uint32_t val)
{
    *vr(v, off) = val;
    vgt_vgpu_update_irq(v);
    return 0;
}

static int de_iir_read(struct vgt_vgpu *v, uint32_t off, uint32_t *val)
{
    return clocked_read(v, off, val);
}

static int de_iir_write(struct vgt_vgpu *v, uint32_t off, uint32_t val)
{
    *vr(v, off) &= ~val; /* write one to clear */
    vgt_vgpu_update_irq(v);
    return 0;
}

/* Planes 2-3: their surface is taken when written. */
static int sprite_surflive_read(struct vgt_vgpu *v, uint32_t off, uint32_t *val)
{
    *val = *vr(v, off - (PLANE_SURFLIVE(0) - PLANE_SURF(0)));
    return 0;
}

/* Registers of a pipe/transcoder Skylake does not have (D): refused. */
static int bad_pipe_read(struct vgt_vgpu *v, uint32_t off, uint32_t *val)
{
    (void)off;
    v->st.pipe_refused++;
    *val = 0;
    return 0;
}

static int bad_pipe_write(struct vgt_vgpu *v, uint32_t off, uint32_t val)
{
    (void)val;
    if (log_refusal(++v->st.pipe_refused))
        vgt_warn(v->log, "vgpu%u: write to %#x refused: Skylake has no pipe D (%llu refused)", v->id,
                 off, (unsigned long long)v->st.pipe_refused);
    return 0;
}

/* ---- handlers: power, DBUF, PLLs, ports ---- */

/* Power wells: the state bit follows the request at once (gvt
 * power_well_ctl_mmio_write). */
static int pwr_well_write(struct vgt_vgpu *v, uint32_t off, uint32_t val)
{
    val &= PWR_WELL_REQ_BITS;
    *vr(v, off) = val | val >> 1;
    return 0;
}

/* DBUF_CTL: power state follows the power request (i915
 * gen9_dbuf_enable waits for it). */
static int dbuf_write(struct vgt_vgpu *v, uint32_t off, uint32_t val)
{
    val &= ~DBUF_POWER_STATE;
    *vr(v, off) = val | ((val & DBUF_POWER_REQUEST) ? DBUF_POWER_STATE : 0);
    return 0;
}

/* DPLL enable registers: locked as soon as enabled. */
static int pll_write(struct vgt_vgpu *v, uint32_t off, uint32_t val)
{
    val &= ~LCPLL_PLL_LOCK;
    *vr(v, off) = val | ((val & LCPLL_PLL_ENABLE) ? LCPLL_PLL_LOCK : 0);
    return 0;
}

static int dpll_status_read(struct vgt_vgpu *v, uint32_t off, uint32_t *val)
{
    static const uint32_t ctl[4] = {LCPLL1_CTL, LCPLL2_CTL, WRPLL_CTL1, WRPLL_CTL2};

    (void)off;
    *val = 0;
    for (unsigned i = 0; i < 4; i++)
        if (*vr(v, ctl[i]) & LCPLL_PLL_ENABLE)
            *val |= DPLL_LOCK(i);
    return 0;
}

/* DDI buffer: idle exactly when disabled (i915 waits for both). */
static int ddi_buf_write(struct vgt_vgpu *v, uint32_t off, uint32_t val)
{
    val &= ~DDI_BUF_IS_IDLE;
    *vr(v, off) = val | ((val & DDI_BUF_CTL_ENABLE) ? 0 : DDI_BUF_IS_IDLE);
    return 0;
}

/* DP_TP_CTL: in idle-pattern mode the port has sent its idle patterns at
 * once (i915 intel_ddi_set_idle_link_train waits 1 ms for
 * DP_TP_STATUS_IDLE_DONE, "Timed out waiting for DP idle patterns"
 * otherwise; gvt dp_tp_ctl_mmio_write sets it the same way). */
static int dp_tp_ctl_write(struct vgt_vgpu *v, uint32_t off, uint32_t val)
{
    uint32_t *st = vr(v, off + (DP_TP_STATUS(0) - DP_TP_CTL(0)));

    *vr(v, off) = val;
    if ((val & DP_TP_CTL_ENABLE) && (val & DP_TP_CTL_LINK_TRAIN_MASK) == DP_TP_CTL_LINK_TRAIN_IDLE)
        *st |= DP_TP_STATUS_IDLE_DONE;
    else
        *st &= ~DP_TP_STATUS_IDLE_DONE;
    return 0;
}

/* PREC_PAL_DATA: the entry PREC_PAL_INDEX points at; each access moves
 * the index on when AUTO_INCREMENT is set (wrapping within the 1024
 * entries). The index is the guest's, masked: it cannot point outside. */
static uint32_t *prec_pal_entry(struct vgt_vgpu *v, uint32_t off)
{
    unsigned p = (off - PREC_PAL_DATA(0)) / (PREC_PAL_DATA(1) - PREC_PAL_DATA(0));
    uint32_t *idx = vr(v, PREC_PAL_INDEX(p));
    uint32_t i = *idx & PAL_PREC_INDEX_VALUE_MASK;

    if (*idx & PAL_PREC_AUTO_INCREMENT)
        *idx = (*idx & ~PAL_PREC_INDEX_VALUE_MASK) | ((i + 1) & PAL_PREC_INDEX_VALUE_MASK);
    return &v->dpy.prec_pal[p][i];
}

static int prec_pal_read(struct vgt_vgpu *v, uint32_t off, uint32_t *val)
{
    *val = *prec_pal_entry(v, off);
    return 0;
}

static int prec_pal_write(struct vgt_vgpu *v, uint32_t off, uint32_t val)
{
    *prec_pal_entry(v, off) = val & PAL_PREC_DATA_MASK;
    return 0;
}

/* ---- the PCU mailbox ----
 *
 * i915 writes GEN6_PCODE_DATA/DATA1, then the command with READY set, and
 * polls until READY clears; the low byte then holds the status
 * (intel_pcode.c __snb_pcode_rw, gen7_check_mailbox_status). The vGPU
 * answers at once. Each request the Skylake i915 6.1 sends is a row; a
 * reply returns 0 (SUCCESS, DATA replaced by *data) or -EINVAL (the data is
 * not one the command takes: ILLEGAL_DATA). Any other command answers
 * ILLEGAL_CMD, as the PCU does for one it does not implement (i915 maps it
 * to -ENXIO, which its callers treat as "not supported"). */
struct pcode_req {
    uint8_t cmd;
    int (*reply)(struct vgt_vgpu *v, uint32_t *data);
};

/* Memory latencies in us, 4 levels a byte per set (set 0: levels 0-3, set
 * 1: levels 4-7): the values gvt read from a Skylake (gvt handlers.c
 * mailbox_write) for skl_read_wm_latency. */
#define SKL_MEM_LATENCY_SET0 0x1e1a1100u
#define SKL_MEM_LATENCY_SET1 0x61514b3du

static int pcode_mem_latency(struct vgt_vgpu *v, uint32_t *data)
{
    (void)v;
    if (*data > 1)
        return -EINVAL;
    *data = *data ? SKL_MEM_LATENCY_SET1 : SKL_MEM_LATENCY_SET0;
    return 0;
}

/* skl_set_cdclk: PREPARE_FOR_CHANGE through skl_pcode_request, which waits
 * for READY_FOR_CHANGE; then the voltage level 0-3. A change is always
 * allowed (gvt mailbox_write). */
static int pcode_cdclk(struct vgt_vgpu *v, uint32_t *data)
{
    (void)v;
    if (*data > SKL_CDCLK_PREPARE_FOR_CHANGE)
        return -EINVAL;
    *data = SKL_CDCLK_READY_FOR_CHANGE;
    return 0;
}

/* The guest has no SAGV of its own (the host's i915 controls the system
 * agent): a disable reports "is disabled" at once (skl_sagv_disable waits
 * for it under GEN9_SAGV_IS_DISABLED), an enable is taken. */
static int pcode_sagv(struct vgt_vgpu *v, uint32_t *data)
{
    (void)v;
    if (*data == GEN9_SAGV_DISABLE)
        *data = GEN9_SAGV_IS_DISABLED;
    else if (*data != GEN9_SAGV_ENABLE)
        return -EINVAL;
    return 0;
}

/* intel_llc gen6_update_ring_freq: the ring/IA frequency table is the
 * host's; the guest's rows are taken and dropped. */
static int pcode_accept(struct vgt_vgpu *v, uint32_t *data)
{
    (void)v;
    (void)data;
    return 0;
}

/* gen6_rps_init reads the efficient frequency (bits 15:8): 0, the RPn
 * that GEN6_RP_STATE_CAP reports. */
static int pcode_ddcc(struct vgt_vgpu *v, uint32_t *data)
{
    (void)v;
    *data = 0;
    return 0;
}

static const struct pcode_req pcode_reqs[] = {
    {GEN9_PCODE_READ_MEM_LATENCY, pcode_mem_latency},
    {SKL_PCODE_CDCLK_CONTROL, pcode_cdclk},
    {GEN6_PCODE_WRITE_MIN_FREQ_TABLE, pcode_accept},
    {HSW_PCODE_DYNAMIC_DUTY_CYCLE_CONTROL, pcode_ddcc},
    {GEN9_PCODE_SAGV_CONTROL, pcode_sagv},
};

static int pcode_write(struct vgt_vgpu *v, uint32_t off, uint32_t val)
{
    uint32_t cmd = val & GEN6_PCODE_MB_COMMAND, data = *vr(v, GEN6_PCODE_DATA), status;
    const struct pcode_req *req = NULL;

    if (!(val & GEN6_PCODE_READY)) {
        *vr(v, off) = val; /* no request: the fields are only stored */
        return 0;
    }
    for (size_t i = 0; i < VGT_ARRAY_SIZE(pcode_reqs); i++)
        if (pcode_reqs[i].cmd == cmd)
            req = &pcode_reqs[i];
    if (!req) {
        status = GEN6_PCODE_ILLEGAL_CMD;
    } else if (req->reply(v, &data)) {
        status = GEN7_PCODE_ILLEGAL_DATA;
    } else {
        status = GEN6_PCODE_SUCCESS;
        *vr(v, GEN6_PCODE_DATA) = data;
    }
    if (status != GEN6_PCODE_SUCCESS && log_refusal(++v->st.pcode_refused))
        vgt_warn(v->log, "vgpu%u: pcode request %#x (data %#x) answered %s (%llu refused)", v->id,
                 val, data, status == GEN6_PCODE_ILLEGAL_CMD ? "illegal command" : "illegal data",
                 (unsigned long long)v->st.pcode_refused);
    *vr(v, off) = (val & ~(GEN6_PCODE_READY | GEN6_PCODE_ERROR_MASK)) | status;
    return 0;
}

/* Hotplug status bits are sticky, write one to clear. */
static int hotplug_ctl_write(struct vgt_vgpu *v, uint32_t off, uint32_t val)
{
    uint32_t status = 0;

    for (unsigned port = 1; port <= 3; port++)
        status |= PORT_HOTPLUG_STATUS_MASK(port);
    *vr(v, off) = (val & ~status) | (*vr(v, off) & status & ~val);
    return 0;
}

/* Port E never plugs: its sticky status bits stay clear (a guest's write
 * of ones clears them, as on PCH_PORT_HOTPLUG). */
static int hotplug2_write(struct vgt_vgpu *v, uint32_t off, uint32_t val)
{
    *vr(v, off) = (val & ~PORTE_HOTPLUG_STATUS_MASK) | (*vr(v, off) & PORTE_HOTPLUG_STATUS_MASK & ~val);
    return 0;
}

/* ---- GMBUS: the i2c controller, an EDID EEPROM at 0x50 per head ---- */

static int pin_head(const struct vgt_vgpu *v, uint32_t pin)
{
    switch (pin) {
    case GMBUS_PIN_DPB:
        return port_head(v, 1);
    case GMBUS_PIN_DPC:
        return port_head(v, 2);
    case GMBUS_PIN_DPD:
        return port_head(v, 3);
    default:
        return -1;
    }
}

static void gmbus_status(struct vgt_vgpu *v, uint32_t bits)
{
    *vr(v, PCH_GMBUS2) = bits | (v->dpy.gmbus_inuse ? GMBUS_INUSE : 0);
}

static int gmbus0_write(struct vgt_vgpu *v, uint32_t off, uint32_t val)
{
    *vr(v, off) = val;
    v->dpy.gmbus_head = pin_head(v, val & GMBUS_PIN_MASK);
    v->dpy.gmbus = GMBUS_IDLE;
    gmbus_status(v, GMBUS_HW_RDY);
    return 0;
}

static int gmbus1_write(struct vgt_vgpu *v, uint32_t off, uint32_t val)
{
    struct vgt_display *d = &v->dpy;
    uint32_t slave = (val >> GMBUS_SLAVE_ADDR_SHIFT) & 0x7f;
    uint32_t count = (val >> GMBUS_BYTE_COUNT_SHIFT) & GMBUS_BYTE_COUNT_MASK;
    int head = d->gmbus_head;

    if (val & GMBUS_SW_CLR_INT) {
        /* i915 gmbus_xfer clear_err: reset the controller. */
        *vr(v, off) = 0;
        d->gmbus = GMBUS_IDLE;
        gmbus_status(v, GMBUS_HW_RDY);
        return 0;
    }
    *vr(v, off) = val & ~GMBUS_SW_RDY;
    if (!(val & GMBUS_SW_RDY))
        return 0;
    if (!count && (val & GMBUS_CYCLE_STOP)) {
        d->gmbus = GMBUS_IDLE;
        gmbus_status(v, GMBUS_HW_RDY);
        return 0;
    }
    if (head < 0 || !(d->connected & (1u << head)) || slave != DDC_ADDR) {
        /* Nobody answers: a NAK, as a bus with no such device gives. */
        if (log_refusal(++v->st.gmbus_refused))
            vgt_info(v->log, "vgpu%u: GMBUS to slave %#x on pin %u refused: no such device (%llu refused)",
                     v->id, slave, *vr(v, PCH_GMBUS0) & GMBUS_PIN_MASK,
                     (unsigned long long)v->st.gmbus_refused);
        d->gmbus = GMBUS_NAK;
        gmbus_status(v, GMBUS_HW_RDY | GMBUS_SATOER);
        return 0;
    }
    if (val & GMBUS_CYCLE_INDEX)
        d->gmbus_off = (uint8_t)(val >> GMBUS_SLAVE_INDEX_SHIFT);
    if (val & GMBUS_SLAVE_READ) {
        d->gmbus = count ? GMBUS_READ : GMBUS_WAIT;
        d->gmbus_left = count;
    } else {
        /* The first data dword went to GMBUS3 before GMBUS1: its first
         * byte is the EEPROM offset (i915 gmbus_xfer_write). */
        if (count)
            d->gmbus_off = (uint8_t)*vr(v, PCH_GMBUS3);
        d->gmbus_left = count > 4 ? count - 4 : 0;
        d->gmbus = d->gmbus_left ? GMBUS_WRITE : GMBUS_WAIT;
    }
    gmbus_status(v, GMBUS_HW_RDY | GMBUS_ACTIVE | (d->gmbus == GMBUS_WAIT ? GMBUS_HW_WAIT_PHASE : 0));
    return 0;
}

static int gmbus2_read(struct vgt_vgpu *v, uint32_t off, uint32_t *val)
{
    /* INUSE is a semaphore: a read returns it and sets it. */
    *val = *vr(v, off);
    v->dpy.gmbus_inuse = true;
    *vr(v, off) |= GMBUS_INUSE;
    return 0;
}

static int gmbus2_write(struct vgt_vgpu *v, uint32_t off, uint32_t val)
{
    if (val & GMBUS_INUSE) {
        v->dpy.gmbus_inuse = false;
        *vr(v, off) &= ~GMBUS_INUSE;
    }
    return 0;
}

static uint8_t edid_byte(const struct vgt_vgpu *v, int head, uint8_t off)
{
    /* One 128-byte block: what lies past it reads as an erased EEPROM. */
    return off < VGT_EDID_SIZE ? v->dpy.edid[head][off] : 0xff;
}

static int gmbus3_read(struct vgt_vgpu *v, uint32_t off, uint32_t *val)
{
    struct vgt_display *d = &v->dpy;
    uint32_t r = 0;

    if (d->gmbus != GMBUS_READ) {
        *val = *vr(v, off);
        return 0;
    }
    for (unsigned i = 0; i < 4 && d->gmbus_left; i++, d->gmbus_left--)
        r |= (uint32_t)edid_byte(v, d->gmbus_head, d->gmbus_off++) << (8 * i);
    *vr(v, off) = r;
    *val = r;
    if (!d->gmbus_left) {
        d->gmbus = GMBUS_WAIT;
        gmbus_status(v, GMBUS_HW_RDY | GMBUS_ACTIVE | GMBUS_HW_WAIT_PHASE);
    }
    return 0;
}

static int gmbus3_write(struct vgt_vgpu *v, uint32_t off, uint32_t val)
{
    struct vgt_display *d = &v->dpy;

    *vr(v, off) = val;
    /* The EEPROM is read-only: bytes past the offset are dropped. */
    if (d->gmbus == GMBUS_WRITE) {
        d->gmbus_left -= VGT_MIN(d->gmbus_left, 4u);
        if (!d->gmbus_left) {
            d->gmbus = GMBUS_WAIT;
            gmbus_status(v, GMBUS_HW_RDY | GMBUS_ACTIVE | GMBUS_HW_WAIT_PHASE);
        }
    }
    return 0;
}

/* ---- DP AUX: native (DPCD) and I2C-over-AUX (EDID at 0x50) ---- */

static bool dpcd_writable(uint32_t a)
{
    /* Link configuration and sink power (DP 1.2 table 2-124). */
    return (a >= 0x100 && a < 0x200) || a == DP_SET_POWER;
}

/* One AUX request @req of @n bytes for @head: the reply in @rep. Returns
 * the reply length, or 0 for a malformed request. */
static unsigned aux_transfer(struct vgt_vgpu *v, int head, const uint8_t *req, unsigned n,
                             uint8_t *rep)
{
    unsigned cmd = req[0] >> 4, len;
    uint32_t addr = (uint32_t)(req[0] & 0xf) << 16 | (uint32_t)req[1] << 8 | req[2];
    uint8_t *dpcd = v->dpy.dpcd[head];

    if (n == 3) {
        /* Address-only: I2C start/stop. */
        if (cmd & 8)
            return 0;
        rep[0] = DP_AUX_I2C_REPLY_ACK;
        return 1;
    }
    len = req[3] + 1u;
    if (len > 16)
        return 0;
    switch (cmd) {
    case DP_AUX_NATIVE_READ:
        if (n != 4)
            return 0;
        rep[0] = DP_AUX_NATIVE_REPLY_ACK;
        for (unsigned i = 0; i < len; i++)
            rep[1 + i] = addr + i < VGT_DPCD_SIZE ? dpcd[addr + i] : 0;
        return 1 + len;
    case DP_AUX_NATIVE_WRITE:
        if (n != 4 + len)
            return 0;
        for (unsigned i = 0; i < len; i++)
            if (dpcd_writable(addr + i))
                dpcd[addr + i] = req[4 + i];
        rep[0] = DP_AUX_NATIVE_REPLY_ACK;
        return 1;
    default:
        break;
    }
    if (cmd & 8)
        return 0; /* reserved native command */
    if (addr != DDC_ADDR) {
        v->st.aux_nak++;
        rep[0] = DP_AUX_I2C_REPLY_NACK;
        return 1;
    }
    switch (cmd & ~DP_AUX_I2C_MOT) {
    case DP_AUX_I2C_WRITE:
        if (n != 4 + len)
            return 0;
        v->dpy.aux_i2c_off[head] = req[4]; /* the EEPROM offset; the rest is dropped */
        rep[0] = DP_AUX_I2C_REPLY_ACK;
        return 1;
    case DP_AUX_I2C_READ:
        if (n != 4)
            return 0;
        rep[0] = DP_AUX_I2C_REPLY_ACK;
        for (unsigned i = 0; i < len; i++)
            rep[1 + i] = edid_byte(v, head, v->dpy.aux_i2c_off[head]++);
        return 1 + len;
    default: /* write status update: nothing is pending */
        rep[0] = DP_AUX_I2C_REPLY_ACK;
        return 1;
    }
}

static int aux_ctl_write(struct vgt_vgpu *v, uint32_t off, uint32_t val)
{
    const uint32_t w1c = DP_AUX_CH_CTL_DONE | DP_AUX_CH_CTL_TIME_OUT_ERROR | DP_AUX_CH_CTL_RECEIVE_ERROR;
    unsigned port = (off - DP_AUX_CH_CTL(0)) / 0x100;
    unsigned n = (val & DP_AUX_CH_CTL_MESSAGE_SIZE_MASK) >> DP_AUX_CH_CTL_MESSAGE_SIZE_SHIFT;
    uint8_t req[DP_AUX_MAX_MSG], rep[DP_AUX_MAX_MSG];
    int head = port_head(v, port);
    uint32_t st = (*vr(v, off) & w1c & ~val) | (val & ~(w1c | DP_AUX_CH_CTL_SEND_BUSY));
    unsigned rn = 0;

    if (!(val & DP_AUX_CH_CTL_SEND_BUSY)) {
        *vr(v, off) = st;
        return 0;
    }
    st &= ~DP_AUX_CH_CTL_MESSAGE_SIZE_MASK;
    if (head < 0 || !(v->dpy.connected & (1u << head))) {
        v->st.aux_timeouts++;
        st |= DP_AUX_CH_CTL_DONE | DP_AUX_CH_CTL_TIME_OUT_ERROR;
        goto done;
    }
    if (n >= 3 && n <= DP_AUX_MAX_MSG) {
        /* Bytes are packed big endian in each data dword (i915
         * intel_dp_aux_pack). Read once, then decoded. */
        for (unsigned i = 0; i < n; i++)
            req[i] = (uint8_t)(*vr(v, DP_AUX_CH_DATA(port, i / 4)) >> (24 - 8 * (i % 4)));
        rn = aux_transfer(v, head, req, n, rep);
    }
    if (!rn) {
        if (log_refusal(++v->st.aux_refused))
            vgt_warn(v->log, "vgpu%u: malformed AUX message (%u bytes) on port %c refused (%llu refused)",
                     v->id, n, 'A' + port, (unsigned long long)v->st.aux_refused);
        st |= DP_AUX_CH_CTL_DONE | DP_AUX_CH_CTL_RECEIVE_ERROR;
        goto done;
    }
    for (unsigned i = 0; i < DP_AUX_MAX_MSG / 4; i++) {
        uint32_t d = 0;

        for (unsigned b = 0; b < 4; b++)
            if (4 * i + b < rn)
                d |= (uint32_t)rep[4 * i + b] << (24 - 8 * b);
        *vr(v, DP_AUX_CH_DATA(port, i)) = d;
    }
    st |= DP_AUX_CH_CTL_DONE | rn << DP_AUX_CH_CTL_MESSAGE_SIZE_SHIFT;
done:
    *vr(v, off) = st;
    if ((val & DP_AUX_CH_CTL_INTERRUPT) &&
        latch(v, GEN8_DE_PORT_IER, GEN8_DE_PORT_IMR, GEN8_DE_PORT_IIR, GEN9_AUX_CHANNEL_BIT(port)))
        vgt_vgpu_update_irq(v);
    return 0;
}

/* ---- the table ---- */

#define RO 0xffffffffu
#define ALL VGT_PLAT_GEN9

/* The registers of universal plane @i of pipe @p that i915 writes or
 * reads on Skylake besides PLANE_SURF/SURFLIVE (skl_universal_plane.c
 * skl_program_plane_*, skl_plane_get_hw_state; skl_watermark.c
 * skl_write_plane_wm, skl_pipe_wm_get_hw_state, skl_ddb_get_hw_plane_state):
 * CTL..KEYMSK, KEYMAX + OFFSET, AUX_DIST + AUX_OFFSET, WM levels 0-7,
 * WM_TRANS, NV12_BUF_CFG + BUF_CFG. Storage: the host reads them there. */
#define PLANE_REG_ROWS(p, i)                                                           \
    {PLANE_N(PLANE_CTL(p), i), 0x1c, 0, 0, 0, ALL, NULL, NULL},                        \
    {PLANE_N(PLANE_KEYMAX(p), i), 8, 0, 0, 0, ALL, NULL, NULL},                        \
    {PLANE_N(PLANE_AUX_DIST(p), i), 8, 0, 0, 0, ALL, NULL, NULL},                      \
    {PLANE_N(PLANE_WM(p, 0), i), 32, 0, 0, 0, ALL, NULL, NULL},                        \
    {PLANE_N(PLANE_WM_TRANS(p), i), 4, 0, 0, 0, ALL, NULL, NULL},                      \
    {PLANE_N(PLANE_NV12_BUF_CFG(p), i), 8, 0, 0, 0, ALL, NULL, NULL}

/* Planes 2 and 3: only plane 1 is scanned out by the host (docs/display.md),
 * so their surface address is live as soon as it is written. */
#define SPRITE_ROWS(p, i)                                                              \
    PLANE_REG_ROWS(p, i),                                                              \
    {PLANE_N(PLANE_SURF(p), i), 4, 0, 0xfffu, VGT_REG_F_GMADR, ALL, NULL, NULL},       \
    {PLANE_N(PLANE_SURFLIVE(p), i), 4, 0, RO, 0, ALL, sprite_surflive_read, NULL}

#define PIPE_ROWS(p)                                                                   \
    {TRANS_HTOTAL(p), 24, 0, 0, 0, ALL, NULL, NULL},                                   \
    {PIPESRC(p), 4, 0, 0, 0, ALL, NULL, NULL},                                         \
    {TRANS_VSYNCSHIFT(p), 4, 0, 0, 0, ALL, NULL, NULL},                                \
    {PIPE_DATA_M1(p), 8, 0, 0, 0, ALL, NULL, NULL},                                    \
    {PIPE_LINK_M1(p), 8, 0, 0, 0, ALL, NULL, NULL},                                    \
    {TRANS_DDI_FUNC_CTL(p), 4, 0, 0, 0, ALL, NULL, NULL},                              \
    {TRANS_MSA_MISC(p), 4, 0, 0, 0, ALL, NULL, NULL},                                  \
    {PIPEDSL(p), 4, 0, RO, 0, ALL, pipedsl_read, NULL},                                \
    {PIPECONF(p), 4, 0, 0, 0, ALL, NULL, pipeconf_write},                              \
    {PIPE_FRMCOUNT(p), 8, 0, RO, 0, ALL, clocked_read, NULL},                          \
    {PIPEMISC(p), 8, 0, 0, 0, ALL, NULL, NULL}, /* and SKL_BOTTOM_COLOR */             \
    {GAMMA_MODE(p), 4, 0, 0, 0, ALL, NULL, NULL},                                      \
    {LGC_PALETTE(p, 0), 4 * 256, 0, 0, 0, ALL, NULL, NULL},                            \
    {PREC_PAL_INDEX(p), 4, 0, 0, 0, ALL, NULL, NULL},                                  \
    {PREC_PAL_DATA(p), 4, 0, 0, 0, ALL, prec_pal_read, prec_pal_write},                \
    {PREC_PAL_GC_MAX(p, 0), 12, 0, 0, 0, ALL, NULL, NULL},                             \
    {PREC_PAL_EXT_GC_MAX(p, 0), 12, 0, 0, 0, ALL, NULL, NULL},                         \
    {PIPE_CSC_COEFF_RY_GY(p), PIPE_CSC_BLOCK, 0, 0, 0, ALL, NULL, NULL},               \
    {SKL_PS_BASE(p, 0), SKL_PS_BLOCK, 0, 0, 0, ALL, NULL, NULL},                       \
    {CUR_CTL(p), 4, 0, 0, 0, ALL, NULL, NULL},                                         \
    {CUR_BASE(p), 4, 0, 0xfffu, VGT_REG_F_GMADR, ALL, NULL, arm_write},                \
    {CUR_POS(p), 4, 0, 0, 0, ALL, NULL, NULL},                                         \
    {CUR_FBC_CTL(p), 4, 0, 0, 0, ALL, NULL, NULL},                                     \
    {CUR_SURFLIVE(p), 4, 0, RO, 0, ALL, clocked_read, NULL},                           \
    {CUR_WM(p, 0), 32, 0, 0, 0, ALL, NULL, NULL},                                      \
    {CUR_WM_TRANS(p), 4, 0, 0, 0, ALL, NULL, NULL},                                    \
    {CUR_BUF_CFG(p), 4, 0, 0, 0, ALL, NULL, NULL},                                     \
    PLANE_REG_ROWS(p, 0),                                                              \
    {PLANE_SURF(p), 4, 0, 0xfffu, VGT_REG_F_GMADR, ALL, NULL, arm_write},              \
    {PLANE_SURFLIVE(p), 4, 0, RO, 0, ALL, clocked_read, NULL},                         \
    SPRITE_ROWS(p, 1),                                                                 \
    {GEN8_DE_PIPE_ISR(p), 4, 0, RO, 0, ALL, NULL, NULL},                               \
    {GEN8_DE_PIPE_IMR(p), 4, 0xffffffffu, 0, 0, ALL, NULL, pipe_irq_write},            \
    {GEN8_DE_PIPE_IIR(p), 4, 0, 0, 0, ALL, de_iir_read, de_iir_write},                 \
    {GEN8_DE_PIPE_IER(p), 4, 0, 0, 0, ALL, NULL, pipe_irq_write},                      \
    {WM_LINETIME(p), 4, 0, 0, 0, ALL, NULL, NULL}

#define PORT_ROWS(port)                                                                \
    {DDI_BUF_CTL(port), 4, DDI_BUF_IS_IDLE, 0, 0, ALL, NULL, ddi_buf_write},           \
    {DP_AUX_CH_CTL(port), 4, 0, 0, 0, ALL, NULL, aux_ctl_write},                       \
    {DP_AUX_CH_DATA(port, 0), 20, 0, 0, 0, ALL, NULL, NULL},                           \
    {DP_TP_CTL(port), 4, 0, 0, 0, ALL, NULL, dp_tp_ctl_write},                         \
    {DP_TP_STATUS(port), 4, 0, RO, 0, ALL, NULL, NULL}

const struct vgt_mmio_reg vgt_display_table[] = {
    PIPE_ROWS(0),
    PIPE_ROWS(1),
    PIPE_ROWS(2),
    /* Plane 3 and scaler 2 of pipes A and B (pipe C has two planes and
     * one scaler). */
    SPRITE_ROWS(0, 2),
    SPRITE_ROWS(1, 2),
    {SKL_PS_BASE(0, 1), SKL_PS_BLOCK, 0, 0, 0, ALL, NULL, NULL},
    {SKL_PS_BASE(1, 1), SKL_PS_BLOCK, 0, 0, 0, ALL, NULL, NULL},
    /* A modeset's transcoder and port setup: the guest's own (the host
     * reads the pipe, plane and cursor registers only), storage, so the
     * state checker reads back what was written. */
    {CHICKEN_TRANS(0), 16, 0, 0, 0, ALL, NULL, NULL},
    {TRANS_CLK_SEL(0), 12, 0, 0, 0, ALL, NULL, NULL},
    {DDI_BUF_TRANS_LO(0, 0), DDI_BUF_TRANS_BLOCK, 0, 0, 0, ALL, NULL, NULL},
    {DISPIO_CR_TX_BMU_CR0, 4, 0, 0, 0, ALL, NULL, NULL},
    {DPLL_CFGCR1(1), 24, 0, 0, 0, ALL, NULL, NULL},
    /* Skylake has no pipe or transcoder D */
    {TRANS_HTOTAL(3), VGT_PIPE_STRIDE, 0, RO, 0, ALL, bad_pipe_read, bad_pipe_write},
    {PIPEDSL(3), VGT_PIPE_STRIDE, 0, RO, 0, ALL, bad_pipe_read, bad_pipe_write},

    PORT_ROWS(0),
    PORT_ROWS(1),
    PORT_ROWS(2),
    PORT_ROWS(3),

    /* DE port, misc and south (PCH) interrupts */
    {GEN8_DE_PORT_ISR, 4, 0, RO, 0, ALL, NULL, NULL},
    {GEN8_DE_PORT_IMR, 4, 0xffffffffu, 0, 0, ALL, NULL, de_irq_write},
    {GEN8_DE_PORT_IIR, 4, 0, 0, 0, ALL, NULL, de_iir_write},
    {GEN8_DE_PORT_IER, 4, 0, 0, 0, ALL, NULL, de_irq_write},
    {GEN8_DE_MISC_ISR, 4, 0, RO, 0, ALL, NULL, NULL},
    {GEN8_DE_MISC_IMR, 4, 0xffffffffu, 0, 0, ALL, NULL, de_irq_write},
    {GEN8_DE_MISC_IIR, 4, 0, 0, 0, ALL, NULL, de_iir_write},
    {GEN8_DE_MISC_IER, 4, 0, 0, 0, ALL, NULL, de_irq_write},
    {SDEISR, 4, 0, RO, 0, ALL, NULL, NULL},
    {SDEIMR, 4, 0xffffffffu, 0, 0, ALL, NULL, de_irq_write},
    {SDEIIR, 4, 0, 0, 0, ALL, NULL, de_iir_write},
    {SDEIER, 4, 0, 0, 0, ALL, NULL, de_irq_write},
    /* PSR: nothing raises it (no eDP panel); IMR resets masked. */
    {EDP_PSR_IMR, 4, 0xffffffffu, 0, 0, ALL, NULL, NULL},
    {EDP_PSR_IIR, 4, 0, 0, 0, ALL, NULL, de_iir_write},
    {PCH_PORT_HOTPLUG, 4, 0, 0, 0, ALL, NULL, hotplug_ctl_write},
    {PCH_PORT_HOTPLUG2, 4, 0, 0, 0, ALL, NULL, hotplug2_write},
    {SFUSE_STRAP, 4, 0, RO, 0, ALL, NULL, NULL},

    /* power, DBUF, clocks */
    {SKL_FUSE_STATUS, 4,
     SKL_FUSE_DOWNLOAD_STATUS | SKL_FUSE_PG_DIST_STATUS(0) | SKL_FUSE_PG_DIST_STATUS(1) |
         SKL_FUSE_PG_DIST_STATUS(2),
     RO, 0, ALL, NULL, NULL},
    {HSW_PWR_WELL_CTL1, 16, 0, 0, 0, ALL, NULL, pwr_well_write},
    {DBUF_CTL, 4, 0, 0, 0, ALL, NULL, dbuf_write},
    {CDCLK_CTL, 4, 0, 0, 0, ALL, NULL, NULL},
    /* DPLL0 drives CDCLK and is on when the guest boots (as after BIOS). */
    {LCPLL1_CTL, 4, LCPLL_PLL_ENABLE | LCPLL_PLL_LOCK, 0, 0, ALL, NULL, pll_write},
    {LCPLL2_CTL, 4, 0, 0, 0, ALL, NULL, pll_write},
    {WRPLL_CTL1, 4, 0, 0, 0, ALL, NULL, pll_write},
    {WRPLL_CTL2, 4, 0, 0, 0, ALL, NULL, pll_write},
    {DPLL_CTRL1, 4, 0, 0, 0, ALL, NULL, NULL},
    /* Every DDI clock gated until a modeset ungates it, as a host with no
     * pre-OS display leaves it: i915 6.1 intel_ddi_sanitize_encoder_pll_mapping
     * otherwise finds a disabled port with a running clock ("ungated DDI
     * clock, gate it", seen on the rig). */
    {DPLL_CTRL2, 4,
     DPLL_CTRL2_DDI_CLK_OFF(0) | DPLL_CTRL2_DDI_CLK_OFF(1) | DPLL_CTRL2_DDI_CLK_OFF(2) |
         DPLL_CTRL2_DDI_CLK_OFF(3) | DPLL_CTRL2_DDI_CLK_OFF(4),
     0, 0, ALL, NULL, NULL},
    /* The PCH raw clock: 24 MHz on Skylake's Sunrise Point (i915 6.1
     * intel_cdclk.c pch_rawclk reads it in MHz; the rig's guest read 0). */
    {PCH_RAWCLK_FREQ, 4, 24, 0, 0, ALL, NULL, NULL},
    /* The memory controller as i915 6.1 intel_dram.c skl_get_dram_info reads
     * it through the MCHBAR mirror: DDR4, two channels of one 8 GB
     * dual-rank x8 DIMM (size in 8 Gb units, bit 10 rank 2), symmetric, no
     * 16 Gb devices (so no WM level 0 adjustment); without it i915 logs
     * "Number of memory channels is zero". DCLK (SKL_MC_BIOS_DATA) bits 3:0
     * the memory clock in 266 MHz units, 8 = DDR4-2133 (intel_llc.c
     * gen6_update_ring_freq). Read-only: the host's memory. */
    {SKL_MAD_INTER_CHANNEL, 4, SKL_DRAM_DDR_TYPE_DDR4, RO, 0, ALL, NULL, NULL},
    {SKL_MAD_DIMM_CH0, 4, 8 | SKL_DRAM_RANK_2, RO, 0, ALL, NULL, NULL},
    {SKL_MAD_DIMM_CH1, 4, 8 | SKL_DRAM_RANK_2, RO, 0, ALL, NULL, NULL},
    {SKL_MC_BIOS_DATA, 4, 8, RO, 0, ALL, NULL, NULL},
    {DPLL_STATUS, 4, 0, RO, 0, ALL, dpll_status_read, NULL},
    {GEN6_PCODE_MAILBOX, 4, 0, 0, 0, ALL, NULL, pcode_write},
    {GEN6_PCODE_DATA, 8, 0, 0, 0, ALL, NULL, NULL},
    /* Display init (i915 6.1 on SKL). DFSM: no pipe, HDCP or PM fused
     * off, CDCLK limit 675 MHz (intel_device_info_runtime_init,
     * intel_update_max_cdclk). VGA plane disabled, as a host leaves it,
     * so intel_vga_disable does not touch legacy VGA ports. The DC state,
     * PCH handshake, chicken and audio registers are the guest's own
     * (gvt keeps them virtual too): storage. */
    {SKL_DFSM, 4, 0, RO, 0, ALL, NULL, NULL},
    {DC_STATE_EN, 4, 0, 0, 0, ALL, NULL, NULL},
    {HSW_NDE_RSTWRN_OPT, 4, 0, 0, 0, ALL, NULL, NULL},
    {CHICKEN_PAR1_1, 4, 0, 0, 0, ALL, NULL, NULL},
    {ILK_DPFC_CHICKEN_A, 4, 0, 0, 0, ALL, NULL, NULL},
    {DISP_ARB_CTL, 8, 0, 0, 0, ALL, NULL, NULL}, /* and DISP_ARB_CTL2 */
    {GEN8_CHICKEN_DCPR_1, 4, 0, 0, 0, ALL, NULL, NULL},
    {CPU_VGACNTRL, 4, VGA_DISP_DISABLE, 0, 0, ALL, NULL, NULL},
    {AUD_FREQ_CNTRL, 4, 0, 0, 0, ALL, NULL, NULL},
    /* Transcoder EDP: no eDP panel, so off; the guest's to program. */
    {TRANS_DDI_FUNC_CTL_EDP, 4, 0, 0, 0, ALL, NULL, NULL},
    {PIPECONF_EDP, 4, 0, 0, 0, ALL, NULL, NULL},
    /* BIOS scratch: no pre-OS lit the display, so SWF18 reads 0 and
     * skl_sanitize_cdclk programs CDCLK itself. Storage otherwise. */
    {SWF_ILK(0), 4 * SWF_ILK_COUNT, 0, 0, 0, ALL, NULL, NULL},

    /* GMBUS */
    {PCH_GMBUS0, 4, 0, 0, 0, ALL, NULL, gmbus0_write},
    {PCH_GMBUS1, 4, 0, 0, 0, ALL, NULL, gmbus1_write},
    {PCH_GMBUS2, 4, GMBUS_HW_RDY, 0, 0, ALL, gmbus2_read, gmbus2_write},
    {PCH_GMBUS3, 4, 0, 0, 0, ALL, gmbus3_read, gmbus3_write},
    {PCH_GMBUS4, 4, 0, 0, 0, ALL, NULL, NULL},
    {PCH_GMBUS5, 4, 0, 0, 0, ALL, NULL, NULL},
};
const size_t vgt_display_table_size = VGT_ARRAY_SIZE(vgt_display_table);

/* ---- state ---- */

static void dpcd_init(uint8_t *dpcd, bool connected)
{
    memset(dpcd, 0, VGT_DPCD_SIZE);
    dpcd[DP_DPCD_REV] = 0x12;           /* DP 1.2 */
    dpcd[DP_MAX_LINK_RATE] = 0x14;      /* HBR2, 5.4 Gbps */
    dpcd[DP_MAX_LANE_COUNT] = 0x80 | 4; /* enhanced framing, 4 lanes */
    dpcd[0x003] = 0x01;                 /* MAX_DOWNSPREAD 0.5% */
    dpcd[0x006] = 0x01;                 /* 8b/10b */
    dpcd[DP_SINK_COUNT] = connected ? 1 : 0;
    /* The link always trains: clock recovery, equalisation and symbol
     * lock on every lane, interlane alignment (gvt dpcd_fix_data). */
    dpcd[DP_LANE0_1_STATUS] = 0x77;
    dpcd[DP_LANE2_3_STATUS] = 0x77;
    dpcd[DP_LANE_ALIGN_STATUS_UPDATED] = 0x01;
    dpcd[DP_SET_POWER] = 0x01;
}

static void presence_update(struct vgt_vgpu *v, unsigned head)
{
    unsigned port = VGT_HEAD_PORT(head);
    bool on = v->dpy.connected & (1u << head);

    if (on)
        *vr(v, SDEISR) |= SDE_PORT_HOTPLUG_CPT(port);
    else
        *vr(v, SDEISR) &= ~SDE_PORT_HOTPLUG_CPT(port);
    v->dpy.dpcd[head][DP_SINK_COUNT] = on ? 1 : 0;
}

/* At creation and device-model reset: every head plugged, pipes off. */
void vgt_display_init(struct vgt_vgpu *v)
{
    struct vgt_display *d = &v->dpy;

    memset(d, 0, sizeof(*d));
    __atomic_store_n(&v->dpy_pipes_on, 0, __ATOMIC_RELEASE);
    d->gmbus_head = -1;
    d->heads = VGT_MIN(v->res.heads, VGT_MAX_HEADS);
    if (d->heads && vgt_display_mode(v->res.res_w, v->res.res_h, &d->mode))
        d->heads = 0; /* validated at creation; belt and braces */
    for (unsigned h = 0; h < d->heads; h++) {
        d->connected |= 1u << h;
        vgt_edid_build(&d->mode, h, v->id << 8 | h, d->edid[h]);
        dpcd_init(d->dpcd[h], true);
        /* i915 intel_setup_outputs (SKL) creates DDI B..D from the straps. */
        *vr(v, SFUSE_STRAP) |= SFUSE_STRAP_DDI_DETECTED(VGT_HEAD_PORT(h));
        presence_update(v, h);
    }
}

int vgt_vgpu_hotplug(struct vgt_vgpu *v, unsigned head, bool connected)
{
    unsigned port = VGT_HEAD_PORT(head);
    bool irq = false;

    pthread_mutex_lock(&v->lock);
    if (head >= v->dpy.heads) {
        pthread_mutex_unlock(&v->lock);
        return -EINVAL;
    }
    if (connected)
        v->dpy.connected |= 1u << head;
    else
        v->dpy.connected &= ~(1u << head);
    presence_update(v, head);
    v->st.hotplugs++;
    /* A long pulse on the port's HPD pin (i915 spt_hpd_irq_handler reads
     * the status from PCH_PORT_HOTPLUG, then the live state from SDEISR). */
    if (*vr(v, PCH_PORT_HOTPLUG) & PORT_HOTPLUG_ENABLE(port)) {
        *vr(v, PCH_PORT_HOTPLUG) |= PORT_HOTPLUG_LONG_DETECT(port);
        irq = latch(v, SDEIER, SDEIMR, SDEIIR, SDE_PORT_HOTPLUG_CPT(port));
    }
    if (irq)
        vgt_vgpu_update_irq(v);
    pthread_mutex_unlock(&v->lock);
    vgt_info(v->log, "vgpu%u: head %u %s", v->id, head, connected ? "plugged" : "unplugged");
    return 0;
}

int vgt_vgpu_edid(struct vgt_vgpu *v, unsigned head, uint8_t *out, size_t len)
{
    int ret = -EINVAL;

    pthread_mutex_lock(&v->lock);
    if (head < v->dpy.heads && len >= VGT_EDID_SIZE) {
        memcpy(out, v->dpy.edid[head], VGT_EDID_SIZE);
        ret = 0;
    }
    pthread_mutex_unlock(&v->lock);
    return ret;
}

/* ---- the vblank thread of a GPU ---- */

static void *vblank_thread(void *arg)
{
    struct vgt_gpu *g = arg;
    struct vgt_vblank_timer *t = &g->vbl;

    pthread_mutex_lock(&t->lock);
    while (!t->stop) {
        uint64_t next;

        t->kicked = false;
        pthread_mutex_unlock(&t->lock);
        next = vgt_gpu_display_tick(g);
        pthread_mutex_lock(&t->lock);
        while (!t->stop && !t->kicked) {
            struct timespec ts;

            if (next == UINT64_MAX) {
                pthread_cond_wait(&t->cond, &t->lock);
                continue;
            }
            ts.tv_sec = (time_t)(next / 1000000000ull);
            ts.tv_nsec = (long)(next % 1000000000ull);
            if (pthread_cond_timedwait(&t->cond, &t->lock, &ts) == ETIMEDOUT)
                break;
        }
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

/* Wake the thread (starting it the first time a guest needs it). Called
 * with a vGPU lock held: only the timer's own lock is taken. */
static void timer_kick(struct vgt_gpu *g)
{
    struct vgt_vblank_timer *t = &g->vbl;

    if (g->manual_vblank)
        return;
    pthread_mutex_lock(&t->lock);
    if (!t->started && !t->stop) {
        if (pthread_create(&t->thread, NULL, vblank_thread, g) == 0)
            t->started = true;
        else
            vgt_err(g->log, "display: cannot start the vblank thread: vblanks only on register reads");
    }
    t->kicked = true;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->lock);
}

int vgt_vblank_timer_init(struct vgt_gpu *g)
{
    struct vgt_vblank_timer *t = &g->vbl;
    pthread_condattr_t ca;
    int ret;

    ret = pthread_mutex_init(&t->lock, NULL);
    if (ret)
        return -ret;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    ret = pthread_cond_init(&t->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (ret) {
        pthread_mutex_destroy(&t->lock);
        return -ret;
    }
    return 0;
}

void vgt_vblank_timer_fini(struct vgt_gpu *g)
{
    struct vgt_vblank_timer *t = &g->vbl;
    bool started;

    pthread_mutex_lock(&t->lock);
    t->stop = true;
    started = t->started;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->lock);
    if (started)
        pthread_join(t->thread, NULL);
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->lock);
}
