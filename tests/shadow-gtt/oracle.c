#include "oracle.h"

#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "vgt/gen8_gtt.h"
#include "vgt/util.h"

static int rd_guest(void *opaque, uint64_t pa, uint64_t *val)
{
    return vgt_hv_read(opaque, pa, val, 8);
}

static int rd_host(void *opaque, uint64_t pa, uint64_t *val)
{
    const uint64_t *p = sim_arena_ptr(opaque, pa, 8);

    if (!p)
        return -14;
    *val = *p;
    return 0;
}

int ppgtt_oracle_shadow_walk(struct ppgtt_oracle *o, uint64_t root_dma, uint64_t va,
                             struct gen8_walk *w)
{
    return gen8_ppgtt_walk(rd_host, o->arena, root_dma, va, w);
}

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h;
}

static bool is_scratch(const struct ppgtt_oracle *o, const struct gen8_walk *s)
{
    return (s->pa & VGT_PAGE_MASK) == o->scratch_dma && !s->writable;
}

int ppgtt_oracle_check_va(struct ppgtt_oracle *o, uint64_t pml4_gpa, uint64_t root_dma,
                          uint64_t va)
{
    struct gen8_walk g, s;
    int gr = gen8_ppgtt_walk(rd_guest, o->hv, pml4_gpa, va, &g);
    int sr = gen8_ppgtt_walk(rd_host, o->arena, root_dma, va, &s);
    uint64_t dma;

    o->checked++;
    if (sr == 0)
        o->digest = mix(mix(o->digest, va),
                        is_scratch(o, &s) ? 1 : (s.pa - o->digest_base) * 4 + 2 + s.writable);
    else
        o->digest = mix(mix(o->digest, va), 3);
    if (sr && s.fault == GEN8_WALK_READ_FAILED) {
        snprintf(o->why, sizeof(o->why),
                 "va 0x%" PRIx64 ": shadow walk left host memory at level %d", va, s.fault_level);
        return -1;
    }
    if (sr && s.fault == GEN8_WALK_RESERVED) {
        snprintf(o->why, sizeof(o->why),
                 "va 0x%" PRIx64 ": shadow entry 0x%" PRIx64 " at level %d has reserved bits",
                 va, s.fault_entry, s.fault_level);
        return -1;
    }
    if (gr == 0) {
        uint64_t gfn = g.pa >> VGT_PAGE_SHIFT;

        if (gfn < o->hv->max_gfn && vgt_hv_gfn_to_dma(o->hv, gfn, &dma) == 0) {
            uint64_t want = dma | (g.pa & (VGT_PAGE_SIZE - 1));

            if (sr || s.pa != want || s.writable != g.writable) {
                snprintf(o->why, sizeof(o->why),
                         "va 0x%" PRIx64 ": guest gpa 0x%" PRIx64 " (rw %d, %" PRIu64
                         " B page) wants host 0x%" PRIx64 ", shadow %s 0x%" PRIx64
                         " (rw %d, fault %d at level %d entry 0x%" PRIx64 ")",
                         va, g.pa, g.writable, g.page_size, want, sr ? "faults" : "gives",
                         s.pa, s.writable, s.fault, s.fault_level, s.fault_entry);
                return -1;
            }
            return 0;
        }
        /* The guest maps something that is not its own memory. */
        if (sr == 0 && !is_scratch(o, &s)) {
            snprintf(o->why, sizeof(o->why),
                     "va 0x%" PRIx64 ": guest gpa 0x%" PRIx64 " is outside its RAM but the "
                     "shadow gives host 0x%" PRIx64 " (rw %d)", va, g.pa, s.pa, s.writable);
            return -1;
        }
        return 0;
    }
    if (g.fault == GEN8_WALK_NOT_PRESENT) {
        if (sr == 0) {
            snprintf(o->why, sizeof(o->why),
                     "va 0x%" PRIx64 ": guest walk not present at level %d but shadow gives 0x%" PRIx64,
                     va, g.fault_level, s.pa);
            return -1;
        }
        return 0;
    }
    /* Reserved bits, 1 GiB, or a table outside guest RAM: refused. */
    if (sr == 0 && !is_scratch(o, &s)) {
        snprintf(o->why, sizeof(o->why),
                 "va 0x%" PRIx64 ": guest walk refused (fault %d at level %d, entry 0x%" PRIx64
                 ") but shadow gives 0x%" PRIx64, va, g.fault, g.fault_level, g.fault_entry, s.pa);
        return -1;
    }
    return 0;
}

struct enum_ctx {
    struct ppgtt_oracle *o;
    gen8_read64_fn rd;
    void *opaque;
    uint64_t pml4, root;
    uint64_t frames, cap;
    int ret;
    /* Pass 1 records the frames it checked; pass 2 skips them. */
    uint64_t *seen;
    size_t nseen, seen_cap;
    uint64_t *set; /* open addressing, frame + 1, 0 = empty */
    size_t set_mask;
};

static size_t set_slot(uint64_t frame, size_t mask)
{
    return (size_t)((frame * 0x9e3779b97f4a7c15ull) >> 17) & mask;
}

static bool set_has(const struct enum_ctx *c, uint64_t frame)
{
    for (size_t i = set_slot(frame, c->set_mask);; i = (i + 1) & c->set_mask) {
        if (c->set[i] == 0)
            return false;
        if (c->set[i] == frame + 1)
            return true;
    }
}

static void build_set(struct enum_ctx *c)
{
    size_t size = 16;

    while (size < 2 * c->nseen)
        size *= 2;
    c->set = calloc(size, sizeof(*c->set));
    if (!c->set)
        return; /* pass 2 then checks everything again: slower, same answer */
    c->set_mask = size - 1;
    for (size_t k = 0; k < c->nseen; k++) {
        size_t i = set_slot(c->seen[k], c->set_mask);

        while (c->set[i] && c->set[i] != c->seen[k] + 1)
            i = (i + 1) & c->set_mask;
        c->set[i] = c->seen[k] + 1;
    }
}

/* Compare at @va unless pass 1 already did (its 4 KiB frame). */
static void check_one(struct enum_ctx *c, uint64_t va)
{
    uint64_t frame = va >> VGT_PAGE_SHIFT;

    if (c->set && set_has(c, frame))
        return;
    if (c->frames++ >= c->cap) {
        c->o->truncated = true;
        c->ret = 1;
        return;
    }
    if (ppgtt_oracle_check_va(c->o, c->pml4, c->root, va)) {
        c->ret = -1;
        return;
    }
    if (c->seen) {
        if (c->nseen == c->seen_cap) {
            uint64_t *n = realloc(c->seen, 2 * c->seen_cap * sizeof(*n));

            if (!n)
                return; /* unrecorded: pass 2 checks it again */
            c->seen = n;
            c->seen_cap *= 2;
        }
        c->seen[c->nseen++] = frame;
    }
}

/* Check the 4 KiB frames of [va, va+size), with an in-page offset that
 * moves. A 2 MiB range is sampled: every 8th frame, starting at a frame
 * that rotates from one check to the next, so repeated checks cover all. */
static void check_range(struct enum_ctx *c, uint64_t va, uint64_t size)
{
    uint64_t stride = size > (64u << 10) ? 8 * VGT_PAGE_SIZE : VGT_PAGE_SIZE;
    uint64_t first = size > (64u << 10) ? (c->o->rotate % 8) * VGT_PAGE_SIZE : 0;

    for (uint64_t off = first; off < size && !c->ret; off += stride)
        check_one(c, va + off + ((off >> 9) & 0xff8));
    /* The last byte of the range too (its frame, if not done above). */
    if (!c->ret && size > VGT_PAGE_SIZE)
        check_one(c, va + size - 1);
}

/* Walk one tree structurally and hand every leaf range to check_range. */
static void walk_tree(struct enum_ctx *c, uint64_t table, int level, uint64_t va, bool ips)
{
    for (unsigned i = 0; i < GEN8_PTES_PER_PAGE && !c->ret; i++) {
        uint64_t e, sub = va | ((uint64_t)i << (12 + 9 * level));

        if (ips && (i % 16))
            continue;
        if (c->rd(c->opaque, table + i * 8ull, &e) || !(e & GEN8_PTE_PRESENT))
            continue;
        if (level == GEN8_LVL_PT) {
            check_range(c, sub, ips ? (64u << 10) : VGT_PAGE_SIZE);
        } else if ((e & GEN8_PTE_RSVD_MASK) || (level == GEN8_LVL_PDP && (e & GEN8_PDPE_PS_1G))) {
            check_range(c, sub, VGT_PAGE_SIZE);
        } else if (level == GEN8_LVL_PD && (e & GEN8_PDE_PS_2M)) {
            check_range(c, sub, 2ull << 20);
        } else {
            uint64_t dummy;

            /* A table the walker cannot read: check its first address. */
            if (c->rd(c->opaque, e & GEN8_PTE_ADDR_MASK, &dummy))
                check_range(c, sub, VGT_PAGE_SIZE);
            else
                walk_tree(c, e & GEN8_PTE_ADDR_MASK, level - 1, sub,
                          level == GEN8_LVL_PD && (e & GEN8_PDE_IPS_64K));
        }
    }
}

int ppgtt_oracle_check(struct ppgtt_oracle *o, uint64_t pml4_gpa, uint64_t root_dma)
{
    struct enum_ctx c = {
        .o = o, .pml4 = pml4_gpa, .root = root_dma,
        .cap = o->max_frames ? o->max_frames : (1u << 20),
        .seen_cap = 1024,
    };
    int ret = -1;

    o->rotate++;
    o->checked = 0;
    o->truncated = false;
    o->why[0] = '\0';
    o->digest = 0;
    c.seen = malloc(c.seen_cap * sizeof(*c.seen));
    /* Guest tree first: every address the guest maps. */
    c.rd = rd_guest;
    c.opaque = o->hv;
    walk_tree(&c, pml4_gpa, GEN8_LVL_PML4, 0, false);
    if (c.ret < 0)
        goto free_seen;
    /* Then the shadow tree: nothing mapped the guest did not map. Frames
     * pass 1 compared are not compared again. */
    if (c.seen)
        build_set(&c);
    free(c.seen);
    c.seen = NULL;
    c.ret = 0;
    c.frames = 0;
    c.rd = rd_host;
    c.opaque = o->arena;
    walk_tree(&c, root_dma, GEN8_LVL_PML4, 0, false);
    if (c.ret < 0)
        goto free_seen;
    /* A few fixed probes, including the top and bottom of the space. */
    for (uint64_t va = 0; va < (1ull << 48); va += 0x0000123456789000ull)
        if (ppgtt_oracle_check_va(o, pml4_gpa, root_dma, va))
            goto free_seen;
    ret = 0;

free_seen:
    free(c.seen);
    free(c.set);
    return ret;
}
