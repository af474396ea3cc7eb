/* The command decoder on hand-built streams: lengths, addresses, address
 * spaces, bad streams (unknown opcode, truncated, missing end), and the
 * `vgt decode` command line on files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "vgt/cmd_decoder.h"

/* Encodings from genxml gen9.xml (opcode fields) and i915
 * gt/intel_gpu_commands.h (blitter). */
#define MI_NOOP 0x00000000u
#define MI_BB_END (0x0au << 23)
#define MI_SDI (0x20u << 23)            /* MI_STORE_DATA_IMM */
#define MI_SDI_GGTT (1u << 22)
#define MI_BB_START (0x31u << 23)
#define MI_LRI (0x22u << 23)
#define PIPE_CONTROL ((3u << 29) | (3u << 27) | (2u << 24))
#define XY_SRC_COPY ((2u << 29) | (0x53u << 22))
#define XY_COLOR ((2u << 29) | (0x50u << 22))

static struct vgt_cmd_decoder *dec(unsigned engine)
{
    struct vgt_cmd_decoder *d = malloc(sizeof(*d));

    assert_non_null(d);
    assert_int_equal(vgt_cmd_decoder_init(d, vgt_cmd_table_for_engine(engine)), 0);
    return d;
}

static void test_lengths_and_addresses(void **state)
{
    struct vgt_cmd_decoder *d = dec(VGT_ENGINE_RCS);
    const struct vgt_cmd_desc *c = NULL;
    uint64_t ga;
    /* SDI, GGTT, qword address 0x12_3456_7000, length 4 */
    uint32_t sdi[] = {MI_SDI | MI_SDI_GGTT | 2, 0x34567000, 0x12, 0xcafe};
    /* LRI with three register pairs: DWord Length 5 */
    uint32_t lri[] = {MI_LRI | 5, 0x2030, 1, 0x2034, 2, 0x2038, 3};
    uint32_t pc[] = {PIPE_CONTROL | 4, 1u << 24 | 1u << 14, 0x1000, 0, 7, 0};

    (void)state;
    assert_int_equal(vgt_cmd_decode_one(d, sdi, 4, &c), 4);
    assert_string_equal(c->name, "MI_STORE_DATA_IMM");
    assert_int_equal(c->id, VGT_CMD_ID_STORE_DATA_IMM);
    assert_int_equal(c->addr_count, 1);
    assert_int_equal(vgt_cmd_addr_get(&d->t->addrs[c->addr_first], sdi, 4, &ga), 0);
    assert_int_equal(ga, 0x1234567000ull);
    assert_true(d->t->addrs[c->addr_first].flags & VGT_CMD_ADDR_W);
    assert_int_equal(vgt_cmd_uses_ggtt(c, sdi, 4), 1);
    sdi[0] &= ~MI_SDI_GGTT;
    assert_int_equal(vgt_cmd_uses_ggtt(c, sdi, 4), 0);
    /* A 2-dword SDI (DWord Length 0) is legal encoding but has no address. */
    assert_int_equal(vgt_cmd_addr_get(&d->t->addrs[c->addr_first], sdi, 2, &ga), -ERANGE);

    assert_int_equal(vgt_cmd_decode_one(d, lri, 7, &c), 7);
    assert_int_equal(c->id, VGT_CMD_ID_LRI);
    assert_int_equal(vgt_cmd_decode_one(d, pc, 6, &c), 6);
    assert_int_equal(c->id, VGT_CMD_ID_PIPE_CONTROL);
    assert_int_equal(vgt_cmd_uses_ggtt(c, pc, 6), 1);
    assert_int_equal(vgt_cmd_addr_get(&d->t->addrs[c->addr_first], pc, 6, &ga), 0);
    assert_int_equal(ga, 0x1000);
    free(d);
}

static void test_blitter_commands(void **state)
{
    struct vgt_cmd_decoder *bcs = dec(VGT_ENGINE_BCS), *rcs = dec(VGT_ENGINE_RCS);
    const struct vgt_cmd_desc *c = NULL;
    uint64_t ga;
    uint32_t copy[10] = {XY_SRC_COPY | (3u << 20) | 8, 0, 0, 0, 0x5000, 0x1, 0, 0, 0x9000, 0};
    uint32_t fill[7] = {XY_COLOR | (3u << 20) | 5, 0, 0, 0, 0x7000, 0, 0xffffffff};
    uint32_t flush[5] = {(0x26u << 23) | 3, 0, 0, 0, 0};

    (void)state;
    assert_int_equal(vgt_cmd_decode_one(bcs, copy, 10, &c), 10);
    assert_int_equal(c->id, VGT_CMD_ID_XY_SRC_COPY_BLT);
    assert_int_equal(c->addr_count, 2);
    assert_int_equal(vgt_cmd_addr_get(&bcs->t->addrs[c->addr_first], copy, 10, &ga), 0);
    assert_int_equal(ga, 0x100005000ull);
    assert_int_equal(vgt_cmd_addr_get(&bcs->t->addrs[c->addr_first + 1], copy, 10, &ga), 0);
    assert_int_equal(ga, 0x9000);
    assert_int_equal(vgt_cmd_decode_one(bcs, fill, 7, &c), 7);
    assert_int_equal(c->id, VGT_CMD_ID_XY_COLOR_BLT);
    assert_int_equal(vgt_cmd_decode_one(bcs, flush, 5, &c), 5);
    assert_int_equal(c->id, VGT_CMD_ID_FLUSH_DW);
    /* Not render commands. */
    assert_int_equal(vgt_cmd_decode_one(rcs, copy, 10, &c), -VGT_CMD_E_UNKNOWN);
    assert_int_equal(vgt_cmd_decode_one(rcs, flush, 5, &c), -VGT_CMD_E_UNKNOWN);
    /* PIPE_CONTROL is render only. */
    uint32_t pc[] = {PIPE_CONTROL | 4, 0, 0, 0, 0, 0};
    assert_int_equal(vgt_cmd_decode_one(bcs, pc, 6, &c), -VGT_CMD_E_UNKNOWN);
    free(bcs);
    free(rcs);
}

/* VECS has its own table (gen_cmd_table.py): the MI commands and gvt's
 * R_VECS rows (cmd_parser.c VEBOX_SURFACE_STATE, VEBOX_STATE, VEB_DI_IECP),
 * no MFX; VCS has MFX and no VEBOX. 0x74000000 is VEBOX_SURFACE_STATE on
 * VECS and genxml's MFX_VP8_PIC_STATE on VCS. */
static void test_vecs_table(void **state)
{
    struct vgt_cmd_decoder *vecs = dec(VGT_ENGINE_VECS), *vcs = dec(VGT_ENGINE_VCS);
    const struct vgt_cmd_desc *c = NULL;
    uint32_t veb_state[6] = {0x74020000u | 4, 0, 0, 0, 0, 0};
    uint32_t veb_surface[6] = {0x74000000u | 4, 0, 0, 0, 0, 0};
    uint32_t mfx_pipe[5] = {0x70000000u | 3, 0, 0, 0, 0};
    uint32_t flush[5] = {(0x26u << 23) | 3, 0, 0, 0, 0};
    uint32_t pc[] = {PIPE_CONTROL | 4, 0, 0, 0, 0, 0};

    (void)state;
    assert_string_equal(vecs->t->engine_name, "vecs");
    assert_int_equal(vgt_cmd_decode_one(vecs, veb_state, 6, &c), 6);
    assert_string_equal(c->name, "VEBOX_STATE");
    assert_int_equal(vgt_cmd_decode_one(vecs, veb_surface, 6, &c), 6);
    assert_string_equal(c->name, "VEBOX_SURFACE_STATE");
    assert_int_equal(vgt_cmd_decode_one(vecs, flush, 5, &c), 5);
    assert_int_equal(c->id, VGT_CMD_ID_FLUSH_DW);
    assert_int_equal(vgt_cmd_decode_one(vecs, mfx_pipe, 5, &c), -VGT_CMD_E_UNKNOWN);
    assert_int_equal(vgt_cmd_decode_one(vecs, pc, 6, &c), -VGT_CMD_E_UNKNOWN);
    assert_int_equal(vgt_cmd_decode_one(vcs, mfx_pipe, 5, &c), 5);
    assert_string_equal(c->name, "MFX_PIPE_MODE_SELECT");
    assert_int_equal(vgt_cmd_decode_one(vcs, veb_state, 6, &c), -VGT_CMD_E_UNKNOWN);
    assert_int_equal(vgt_cmd_decode_one(vcs, veb_surface, 6, &c), 6);
    assert_string_equal(c->name, "MFX_VP8_PIC_STATE");
    /* Every MI command of VCS's table is VECS's too. */
    for (size_t i = 0; i < vcs->t->count; i++) {
        const struct vgt_cmd_desc *m = &vcs->t->cmds[i];

        if (m->value >> 29)
            continue;
        assert_non_null(vgt_cmd_lookup(vecs, m->value));
        assert_string_equal(vgt_cmd_lookup(vecs, m->value)->name, vgt_cmd_lookup(vcs, m->value)->name);
    }
    free(vecs);
    free(vcs);
}

static void test_bad_streams(void **state)
{
    struct vgt_cmd_decoder *d = dec(VGT_ENGINE_RCS);
    const struct vgt_cmd_desc *c = NULL;
    size_t count, off;
    uint32_t unknown[] = {MI_NOOP, MI_NOOP, 0x3fu << 23, MI_BB_END};     /* MI opcode 0x3f */
    uint32_t type1[] = {MI_NOOP, 1u << 29, MI_BB_END};                   /* reserved type */
    uint32_t trunc[] = {MI_NOOP, MI_SDI | 2, 0x1000, 0};                 /* needs 4, has 3 */
    uint32_t noend[] = {MI_NOOP, MI_SDI | 2, 0x1000, 0, 5, MI_NOOP};

    (void)state;
    assert_int_equal(vgt_cmd_walk(d, unknown, 4, NULL, NULL, &count, &off), -VGT_CMD_E_UNKNOWN);
    assert_int_equal(off, 2);
    assert_int_equal(count, 2);
    assert_int_equal(vgt_cmd_walk(d, type1, 3, NULL, NULL, &count, &off), -VGT_CMD_E_UNKNOWN);
    assert_int_equal(off, 1);
    assert_int_equal(vgt_cmd_walk(d, trunc, 4, NULL, NULL, &count, &off), -VGT_CMD_E_TRUNCATED);
    assert_int_equal(off, 1);
    assert_int_equal(vgt_cmd_walk(d, noend, 6, NULL, NULL, &count, &off), -VGT_CMD_E_NO_END);
    assert_int_equal(count, 3);
    assert_int_equal(vgt_cmd_decode_one(d, noend, 0, &c), -VGT_CMD_E_EMPTY);
    assert_string_equal(vgt_cmd_strerror(-VGT_CMD_E_UNKNOWN), "unknown opcode");
    free(d);
}

/* Every dword 0 either decodes to a descriptor whose match it satisfies or
 * to nothing; and the indexed lookup agrees with a linear scan. */
static void test_lookup_agrees_with_scan(void **state)
{
    (void)state;
    for (unsigned e = VGT_ENGINE_RCS; e <= VGT_ENGINE_VCS; e++) {
        struct vgt_cmd_decoder *d = dec(e);

        for (uint32_t hi = 0; hi < (1u << 16); hi++) {
            uint32_t dw0 = hi << 16 | 0x3;
            const struct vgt_cmd_desc *c = vgt_cmd_lookup(d, dw0), *s = NULL;

            for (size_t i = 0; i < d->t->count && !s; i++)
                if ((dw0 & d->t->cmds[i].mask) == d->t->cmds[i].value)
                    s = &d->t->cmds[i];
            if (c != s)
                fail_msg("engine %u dw0 0x%08x: index %s, scan %s", e, dw0, c ? c->name : "-",
                         s ? s->name : "-");
        }
        free(d);
    }
}

/* The GPU model fetches commands into a buffer sized for a 16-bit DWord
 * Length (sim/gpu/gpu_priv.h): no table may encode longer ones, and the
 * table data must be self-consistent. */
static void test_table_invariants(void **state)
{
    (void)state;
    for (unsigned e = VGT_ENGINE_RCS; e < VGT_ENGINE_NUM; e++) {
        const struct vgt_cmd_table *t = vgt_cmd_table_for_engine(e);

        for (size_t i = 0; i < t->count; i++) {
            const struct vgt_cmd_desc *c = &t->cmds[i];

            assert_true(c->len_bits <= 16);
            assert_true(c->bias >= 1);
            assert_int_equal(c->value & ~c->mask, 0);
            for (unsigned a = 0; a < c->addr_count; a++) {
                const struct vgt_cmd_addr *ad = &t->addrs[c->addr_first + a];

                assert_true(ad->lo_bit < 32 && ad->bits > 0 && ad->lo_bit + ad->bits <= 64);
            }
        }
    }
}

/* init refuses a table that would stall or misread a walk: a command of
 * length 0, fixed or from a length field of 0 (fuzz_decoder's
 * regress-zero-length-*), a length field wider than dword 0 allows, a
 * value outside its mask. */
static void test_init_refuses_bad_tables(void **state)
{
    static const struct vgt_cmd_desc zero_len = {.name = "Z", .mask = 0xff800000u, .value = 0};
    static const struct vgt_cmd_desc wide_len = {.name = "W", .mask = 0xff800000u, .value = 0,
                                                  .len_bits = 30, .bias = 2};
    static const struct vgt_cmd_desc zero_field = {.name = "F", .mask = 0xff800000u, .value = 0,
                                                  .len_bits = 8, .bias = 0};
    static const struct vgt_cmd_desc stray = {.name = "S", .mask = 0xff800000u, .value = 1,
                                              .bias = 1};
    static const struct vgt_cmd_desc good = {.name = "G", .mask = 0xff800000u, .value = 0,
                                             .bias = 1};
    const struct vgt_cmd_desc *const bad[] = {&zero_len, &zero_field, &wide_len, &stray};
    struct vgt_cmd_decoder *d = malloc(sizeof(*d));
    struct vgt_cmd_table t = {.engine_name = "t", .count = 1};
    uint32_t stream[2] = {0, 0};
    size_t count;

    (void)state;
    assert_non_null(d);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        t.cmds = bad[i];
        assert_int_equal(vgt_cmd_decoder_init(d, &t), -EINVAL);
    }
    t.cmds = &good;
    assert_int_equal(vgt_cmd_decoder_init(d, &t), 0);
    assert_int_equal(vgt_cmd_walk(d, stream, 2, NULL, NULL, &count, NULL), -VGT_CMD_E_NO_END);
    assert_int_equal(count, 2);
    free(d);
}

/* --- vgt decode on files ------------------------------------------------ */

static int run_decode(const char *engine, const uint32_t *dw, size_t n, const char *extra,
                      char *out, size_t outsz)
{
    const char *root = getenv("VGT_BUILD_ROOT");
    char path[] = "/tmp/vgt-decode-XXXXXX";
    char cmd[8192];
    int fd = mkstemp(path), st;
    FILE *p;
    size_t got;

    assert_non_null(root);
    assert_true(fd >= 0);
    for (size_t i = 0; i < n; i++) {
        unsigned char b[4] = {dw[i] & 0xff, dw[i] >> 8 & 0xff, dw[i] >> 16 & 0xff, dw[i] >> 24};
        assert_int_equal(write(fd, b, 4), 4);
    }
    close(fd);
    snprintf(cmd, sizeof(cmd), "%s/tools/vgt decode --gen 9 --engine %s %s %s 2>&1", root, engine,
             extra, path);
    p = popen(cmd, "r");
    assert_non_null(p);
    got = fread(out, 1, outsz - 1, p);
    out[got] = 0;
    st = pclose(p);
    unlink(path);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_cli(void **state)
{
    char out[8192];
    uint32_t good[] = {MI_NOOP, MI_SDI | MI_SDI_GGTT | 2, 0x1000, 0, 42, MI_BB_START | 1, 0x2000, 0,
                       MI_BB_END, 0xdeadbeef};
    uint32_t bad[] = {MI_NOOP, 0x3fu << 23, MI_BB_END};
    uint32_t trunc[] = {MI_NOOP, MI_SDI | 2, 0x1000};
    uint32_t noend[] = {MI_NOOP, MI_NOOP};

    (void)state;
    assert_int_equal(run_decode("rcs", good, 10, "", out, sizeof(out)), 0);
    assert_non_null(strstr(out, "MI_STORE_DATA_IMM"));
    assert_non_null(strstr(out, "dw1=0x1000(w,ggtt)"));
    assert_non_null(strstr(out, "MI_BATCH_BUFFER_START"));
    assert_non_null(strstr(out, "decoded 4 commands, MI_BATCH_BUFFER_END at dword 8"));
    assert_int_equal(run_decode("rcs", good, 10, "--json", out, sizeof(out)), 0);
    assert_non_null(strstr(out, "{\"summary\":{\"commands\":4,\"end\":8}}"));
    assert_int_equal(run_decode("rcs", bad, 3, "", out, sizeof(out)), 1);
    assert_non_null(strstr(out, "dword 1: unknown opcode"));
    assert_int_equal(run_decode("bcs", trunc, 3, "", out, sizeof(out)), 1);
    assert_non_null(strstr(out, "dword 1: command length past the end"));
    assert_int_equal(run_decode("vcs", noend, 2, "", out, sizeof(out)), 1);
    assert_non_null(strstr(out, "missing MI_BATCH_BUFFER_END"));
    assert_int_equal(run_decode("xcs", noend, 2, "", out, sizeof(out)), 2);
    assert_non_null(strstr(out, "--engine 'xcs' unknown"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lengths_and_addresses),
        cmocka_unit_test(test_blitter_commands),
        cmocka_unit_test(test_vecs_table),
        cmocka_unit_test(test_bad_streams),
        cmocka_unit_test(test_lookup_agrees_with_scan),
        cmocka_unit_test(test_table_invariants),
        cmocka_unit_test(test_init_refuses_bad_tables),
        cmocka_unit_test(test_cli),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
