#include "vtd_env.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "vgt/util.h"

void vtd_env_init(struct vtd_env *e, uint64_t ram, unsigned seed)
{
    struct vgt_iommu_cfg cfg = {0};

    memset(e, 0, sizeof(*e));
    assert_int_equal(sim_arena_create(ram * 2 + (16ull << 20), &e->arena), 0);
    assert_int_equal(fake_hv_create(e->arena, 1, ram, FAKE_HV_SCRAMBLE_4K, seed, &e->f), 0);
    cfg.hv = &e->f->hv;
    assert_int_equal(vgt_iommu_create(&cfg, &e->m), 0);
    e->ram = ram;
    e->next_page = 0x100000;
}

void vtd_env_fini(struct vtd_env *e)
{
    vgt_iommu_destroy(e->m);
    fake_hv_destroy(e->f);
    sim_arena_destroy(e->arena);
}

uint64_t vtd_alloc(struct vtd_env *e)
{
    uint64_t p = e->next_page;
    static const uint8_t zero[4096];

    assert_true(p + 4096 <= e->ram);
    e->next_page += 4096;
    assert_int_equal(fake_hv_guest_write(e->f, p, zero, sizeof(zero)), 0);
    return p;
}

void vtd_w64(struct vtd_env *e, uint64_t gpa, uint64_t v)
{
    assert_int_equal(fake_hv_guest_write64(e->f, gpa, v), 0);
}

uint64_t vtd_r64(struct vtd_env *e, uint64_t gpa)
{
    uint64_t v = 0;

    assert_int_equal(fake_hv_guest_read(e->f, gpa, &v, 8), 0);
    return v;
}

void vtd_mw(struct vtd_env *e, unsigned off, unsigned size, uint64_t v)
{
    assert_int_equal(vgt_iommu_mmio_write(e->m, off, size, v), 0);
}

uint64_t vtd_mr(struct vtd_env *e, unsigned off, unsigned size)
{
    uint64_t v;

    assert_int_equal(vgt_iommu_mmio_read(e->m, off, size, &v), 0);
    return v;
}

void vtd_enable(struct vtd_env *e, bool scalable)
{
    e->root = vtd_alloc(e);
    e->iq = vtd_alloc(e);
    e->pq = vtd_alloc(e);
    e->status = vtd_alloc(e);
    vtd_mw(e, VTD_REG_RTADDR, 8, e->root | (scalable ? VTD_RTADDR_SMT : 0));
    vtd_mw(e, VTD_REG_GCMD, 4, e->gcmd | VTD_GCMD_SRTP);
    assert_true(vtd_mr(e, VTD_REG_GSTS, 4) & VTD_GSTS_RTPS);
    vtd_mw(e, VTD_REG_IQT, 8, 0);
    vtd_mw(e, VTD_REG_IQA, 8, e->iq | VTD_IQA_DW);
    e->gcmd |= VTD_GCMD_QIE;
    vtd_mw(e, VTD_REG_GCMD, 4, e->gcmd);
    assert_true(vtd_mr(e, VTD_REG_GSTS, 4) & VTD_GSTS_QIES);
    vtd_mw(e, VTD_REG_PQH, 8, 0);
    vtd_mw(e, VTD_REG_PQA, 8, e->pq);
    vtd_mw(e, VTD_REG_FEADDR, 4, 0xfee00000);
    vtd_mw(e, VTD_REG_FEDATA, 4, 0x41);
    vtd_mw(e, VTD_REG_FECTL, 4, 0);
    vtd_mw(e, VTD_REG_PEADDR, 4, 0xfee00000);
    vtd_mw(e, VTD_REG_PEDATA, 4, 0x42);
    vtd_mw(e, VTD_REG_PECTL, 4, 0);
    vtd_mw(e, VTD_REG_IEADDR, 4, 0xfee00000);
    vtd_mw(e, VTD_REG_IEDATA, 4, 0x43);
    vtd_mw(e, VTD_REG_IECTL, 4, 0);
    e->gcmd |= VTD_GCMD_TE;
    vtd_mw(e, VTD_REG_GCMD, 4, e->gcmd);
    assert_true(vtd_mr(e, VTD_REG_GSTS, 4) & VTD_GSTS_TES);
}

static uint64_t ctx_table(struct vtd_env *e, uint16_t rid, bool scalable)
{
    uint64_t re = e->root + 16ull * (rid >> 8) + (scalable && (rid & 0x80) ? 8 : 0);
    uint64_t v = vtd_r64(e, re);

    if (!(v & VTD_ROOT_P)) {
        v = vtd_alloc(e) | VTD_ROOT_P;
        vtd_w64(e, re, v);
    }
    return v & VTD_ADDR_MASK;
}

uint64_t vtd_sm_context(struct vtd_env *e, uint16_t rid, unsigned pdts, uint64_t flags,
                        uint32_t rid_pasid)
{
    uint64_t ct = ctx_table(e, rid, true);
    uint64_t ce = ct + 32ull * (rid & 0x7f);
    uint64_t dir = vtd_alloc(e);

    /* 2^(pdts+7) 8-byte entries: at most 4 pages for the test sizes. */
    for (unsigned i = 1; i < ((1u << (pdts + 7)) * 8 + 4095) / 4096; i++)
        assert_int_equal(vtd_alloc(e), dir + 4096ull * i);
    vtd_w64(e, ce + 8, rid_pasid);
    vtd_w64(e, ce, dir | ((uint64_t)pdts << VTD_SCE_PDTS_SHIFT) | flags | VTD_SCE_P);
    return dir;
}

uint64_t vtd_pasid_entry(struct vtd_env *e, uint64_t dir, uint32_t pasid, uint64_t qw0,
                         uint64_t qw1, uint64_t qw2)
{
    uint64_t de = dir + 8ull * (pasid >> 6);
    uint64_t v = vtd_r64(e, de), pe;

    if (!(v & VTD_PDE_P)) {
        v = vtd_alloc(e) | VTD_PDE_P;
        vtd_w64(e, de, v);
    }
    pe = (v & VTD_ADDR_MASK) + 64ull * (pasid & 63);
    vtd_w64(e, pe + 8, qw1);
    vtd_w64(e, pe + 16, qw2);
    vtd_w64(e, pe, qw0);
    return pe;
}

void vtd_legacy_context(struct vtd_env *e, uint16_t rid, uint64_t lo, uint64_t hi)
{
    uint64_t ce = ctx_table(e, rid, false) + 16ull * (rid & 0xff);

    vtd_w64(e, ce + 8, hi);
    vtd_w64(e, ce, lo);
}

static uint64_t map(struct vtd_env *e, uint64_t root, unsigned levels, uint64_t va, uint64_t pa,
                    uint64_t size, uint64_t flags, uint64_t table_bits, uint64_t ps_bit)
{
    uint64_t table = root;
    unsigned leaf = size == (1ull << 30) ? 3 : size == (2ull << 20) ? 2 : 1;

    for (unsigned lvl = levels; lvl > leaf; lvl--) {
        uint64_t ea = table + 8 * ((va >> (12 + 9 * (lvl - 1))) & 511);
        uint64_t v = vtd_r64(e, ea);

        if (!v) {
            v = vtd_alloc(e) | table_bits;
            vtd_w64(e, ea, v);
        }
        table = v & VGT_GENMASK(47, 12);
    }
    {
        uint64_t ea = table + 8 * ((va >> (12 + 9 * (leaf - 1))) & 511);

        vtd_w64(e, ea, (pa & ~(size - 1)) | flags | (leaf > 1 ? ps_bit : 0));
        return ea;
    }
}

uint64_t vtd_fs_map(struct vtd_env *e, uint64_t root, unsigned levels, uint64_t va, uint64_t pa,
                    uint64_t size, uint64_t flags)
{
    return map(e, root, levels, va, pa, size, flags, VTD_FS_P | VTD_FS_RW | VTD_FS_US, VTD_FS_PS);
}

uint64_t vtd_ss_map(struct vtd_env *e, uint64_t root, unsigned levels, uint64_t iova, uint64_t pa,
                    uint64_t size, uint64_t perm)
{
    return map(e, root, levels, iova, pa, size, perm, VTD_SS_R | VTD_SS_W | VTD_SS_X, VTD_SS_PS);
}

void vtd_qi(struct vtd_env *e, uint64_t q0, uint64_t q1, uint64_t q2, uint64_t q3)
{
    uint64_t d = e->iq + e->iq_tail;

    vtd_w64(e, d, q0);
    vtd_w64(e, d + 8, q1);
    vtd_w64(e, d + 16, q2);
    vtd_w64(e, d + 24, q3);
    e->iq_tail = (e->iq_tail + 32) % 4096;
    vtd_mw(e, VTD_REG_IQT, 8, e->iq_tail);
}

bool vtd_qi_wait(struct vtd_env *e)
{
    static uint32_t seq = 100;
    uint32_t v = 0;

    seq++;
    vtd_qi(e, VTD_INV_WAIT | VTD_WAIT_SW | ((uint64_t)seq << 32), e->status, 0, 0);
    assert_int_equal(fake_hv_guest_read(e->f, e->status, &v, 4), 0);
    return v == seq;
}

int vtd_xlate(struct vtd_env *e, uint16_t rid, bool has_pasid, uint32_t pasid, uint64_t addr,
              bool write, bool priv, struct vgt_iommu_result *res)
{
    struct vgt_iommu_req r = {
        .rid = rid, .has_pasid = has_pasid, .pasid = pasid, .addr = addr,
        .write = write, .priv = priv,
    };

    return vgt_iommu_translate(e->m, &r, res);
}
