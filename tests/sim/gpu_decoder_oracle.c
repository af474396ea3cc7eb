/* Oracle for the command decoder tables: parse genxml (tests/data/gen9.xml,
 * Mesa's, copied unchanged) with expat and check that every instruction it
 * defines for RCS, BCS and VCS (and VCS's MI commands for VECS) is in
 * vgt's table for that engine with the same opcode match, length rule,
 * nominal length and top-level address fields, found through the
 * decoder itself. The opcode is derived here by field *name* (the
 * generator uses an exclusion list), so the two derivations are
 * independent. Then decode streams made of every genxml
 * command of each engine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <expat.h>

#include "vgt/cmd_decoder.h"

#define MAX_INS 512
#define MAX_ADDR 96

struct ins {
    char name[96];
    unsigned engines; /* bit per VGT_ENGINE_* */
    unsigned bias, length;
    int len_bits;     /* -1: no DWord Length */
    unsigned dl_default;
    uint32_t mask, value;
    unsigned naddr;
    unsigned addr_start[MAX_ADDR], addr_end[MAX_ADDR];
};

struct xml_state {
    struct ins *ins;
    size_t n;
    int in_ins;
    int group_depth;
    int error;
};

static const char *attr(const char **a, const char *k)
{
    for (; a[0]; a += 2)
        if (!strcmp(a[0], k))
            return a[1];
    return NULL;
}

static unsigned engines_of(const char *e)
{
    unsigned m = 0;

    if (!e)
        return (1u << VGT_ENGINE_RCS) | (1u << VGT_ENGINE_BCS) | (1u << VGT_ENGINE_VCS);
    if (strstr(e, "render"))
        m |= 1u << VGT_ENGINE_RCS;
    if (strstr(e, "blitter"))
        m |= 1u << VGT_ENGINE_BCS;
    if (strstr(e, "video"))
        m |= 1u << VGT_ENGINE_VCS;
    return m;
}

/* Header fields that identify the command (PRM vol 2a command header:
 * type, subtype/pipeline, opcode, sub-opcodes). */
static int is_opcode_field(const char *n)
{
    static const char *const pat[] = {"Opcode", "OpCode", "Command Type", "SubType",
                                      "Subtype", "Pipeline", "Instruction Command"};

    for (size_t i = 0; i < sizeof(pat) / sizeof(pat[0]); i++)
        if (strstr(n, pat[i]))
            return 1;
    return 0;
}

static void xml_start(void *ud, const char *el, const char **a)
{
    struct xml_state *s = ud;

    if (!strcmp(el, "instruction")) {
        struct ins *i;

        if (s->n >= MAX_INS) {
            s->error = 1;
            return;
        }
        i = &s->ins[s->n];
        memset(i, 0, sizeof(*i));
        snprintf(i->name, sizeof(i->name), "%s", attr(a, "name"));
        i->engines = engines_of(attr(a, "engine"));
        i->bias = (unsigned)strtoul(attr(a, "bias"), NULL, 0);
        i->length = attr(a, "length") ? (unsigned)strtoul(attr(a, "length"), NULL, 0) : 0;
        i->len_bits = -1;
        s->in_ins = 1;
        s->group_depth = 0;
    } else if (s->in_ins && !strcmp(el, "group")) {
        s->group_depth++;
    } else if (s->in_ins && !strcmp(el, "field") && s->group_depth == 0) {
        struct ins *i = &s->ins[s->n];
        const char *name = attr(a, "name"), *def = attr(a, "default"), *type = attr(a, "type");
        unsigned st = (unsigned)strtoul(attr(a, "start"), NULL, 0);
        unsigned en = (unsigned)strtoul(attr(a, "end"), NULL, 0);

        if (!strcmp(name, "DWord Length")) {
            i->len_bits = (int)(en - st + 1);
            i->dl_default = def ? (unsigned)strtoul(def, NULL, 0) : 0;
        } else if (en < 32 && def && is_opcode_field(name)) {
            uint32_t m = (uint32_t)(((1ull << (en - st + 1)) - 1) << st);

            i->mask |= m;
            i->value |= ((uint32_t)strtoul(def, NULL, 0) << st) & m;
        }
        if (type && !strcmp(type, "address")) {
            if (i->naddr >= MAX_ADDR) {
                s->error = 1;
                return;
            }
            i->addr_start[i->naddr] = st;
            i->addr_end[i->naddr] = en;
            i->naddr++;
        }
    }
}

static void xml_end(void *ud, const char *el)
{
    struct xml_state *s = ud;

    if (!strcmp(el, "instruction") && s->in_ins) {
        s->in_ins = 0;
        s->n++;
    } else if (s->in_ins && !strcmp(el, "group")) {
        s->group_depth--;
    }
}

static struct ins *load_genxml(size_t *n)
{
    const char *dir = getenv("VGT_TEST_DATA");
    char path[4096];
    FILE *f;
    XML_Parser p;
    struct xml_state s = {0};
    char buf[65536];
    int done = 0;

    assert_non_null(dir);
    snprintf(path, sizeof(path), "%s/gen9.xml", dir);
    f = fopen(path, "rb");
    assert_non_null(f);
    s.ins = calloc(MAX_INS, sizeof(*s.ins));
    assert_non_null(s.ins);
    p = XML_ParserCreate(NULL);
    assert_non_null(p);
    XML_SetUserData(p, &s);
    XML_SetElementHandler(p, xml_start, xml_end);
    while (!done) {
        size_t got = fread(buf, 1, sizeof(buf), f);

        done = got < sizeof(buf);
        assert_int_equal(XML_Parse(p, buf, (int)got, done), XML_STATUS_OK);
    }
    XML_ParserFree(p);
    fclose(f);
    assert_int_equal(s.error, 0);
    *n = s.n;
    return s.ins;
}

static const unsigned engines[] = {VGT_ENGINE_RCS, VGT_ENGINE_BCS, VGT_ENGINE_VCS, VGT_ENGINE_VECS};

/* Whether genxml instruction @i belongs in @engine's table. genxml has no
 * VECS engine: VECS takes the video engine's MI commands
 * (common/gen/gen_cmd_table.py, with gvt's R_VECS rows besides). */
static bool on_engine(const struct ins *i, unsigned engine)
{
    if (engine == VGT_ENGINE_VECS)
        return (i->engines & (1u << VGT_ENGINE_VCS)) && (i->value >> 29) == 0;
    return i->engines & (1u << engine);
}

static void test_tables_match_genxml(void **state)
{
    size_t n;
    struct ins *ins = load_genxml(&n);
    struct vgt_cmd_decoder *d = malloc(sizeof(*d));

    (void)state;
    assert_non_null(d);
    assert_true(n > 200); /* Gen9 genxml defines 227 instructions */
    for (size_t e = 0; e < sizeof(engines) / sizeof(engines[0]); e++) {
        const struct vgt_cmd_table *t = vgt_cmd_table_for_engine(engines[e]);
        size_t want = 0, have = 0;

        assert_non_null(t);
        assert_int_equal(vgt_cmd_decoder_init(d, t), 0);
        for (size_t k = 0; k < n; k++) {
            const struct ins *i = &ins[k];
            const struct vgt_cmd_desc *c;
            uint32_t dw0;

            if (!on_engine(i, engines[e]))
                continue;
            want++;
            dw0 = i->value | (i->len_bits > 0 ? i->dl_default : 0);
            c = vgt_cmd_lookup(d, dw0);
            if (!c || strcmp(c->name, i->name)) {
                fail_msg("%s: genxml %s (dw0 0x%08x) decodes as %s", t->engine_name, i->name,
                         dw0, c ? c->name : "nothing");
            }
            assert_int_equal(c->mask, i->mask);
            assert_int_equal(c->value, i->value);
            assert_true(c->flags & VGT_CMD_F_GENXML);
            if (i->len_bits < 0) {
                assert_int_equal(c->len_bits, 0);
                assert_int_equal(c->bias, i->length);
            } else {
                assert_int_equal(c->len_bits, i->len_bits);
                assert_int_equal(c->bias, i->bias);
            }
            assert_int_equal(c->nominal_len, i->length);
            assert_int_equal(c->addr_count, i->naddr);
            for (unsigned a = 0; a < i->naddr; a++) {
                const struct vgt_cmd_addr *ta = &t->addrs[c->addr_first + a];

                assert_int_equal(ta->dw, i->addr_start[a] / 32);
                assert_int_equal(ta->lo_bit, i->addr_start[a] % 32);
                assert_int_equal(ta->bits, i->addr_end[a] - i->addr_start[a] + 1);
                assert_true(ta->flags & (VGT_CMD_ADDR_R | VGT_CMD_ADDR_W));
            }
        }
        /* No table entry claims genxml that genxml does not have. */
        for (size_t k = 0; k < t->count; k++)
            if (t->cmds[k].flags & VGT_CMD_F_GENXML)
                have++;
        assert_int_equal(have, want);
    }
    free(d);
    free(ins);
}

/* A stream holding every genxml command of the engine, each at its nominal
 * length (or the shortest legal one), then MI_BATCH_BUFFER_END: the walk
 * must visit all of them and stop at the end. */
static void test_decode_every_genxml_command(void **state)
{
    size_t n;
    struct ins *ins = load_genxml(&n);
    struct vgt_cmd_decoder *d = malloc(sizeof(*d));
    uint32_t *buf = calloc(1u << 16, sizeof(uint32_t));

    (void)state;
    assert_non_null(d);
    assert_non_null(buf);
    for (size_t e = 0; e < sizeof(engines) / sizeof(engines[0]); e++) {
        const struct vgt_cmd_table *t = vgt_cmd_table_for_engine(engines[e]);
        size_t pos = 0, cmds = 0, count = 0, off = 0, end_at = 0;

        assert_int_equal(vgt_cmd_decoder_init(d, t), 0);
        for (size_t k = 0; k < n; k++) {
            const struct ins *i = &ins[k];
            unsigned len = i->length ? i->length : i->bias;
            uint32_t dw0 = i->value;

            if (!on_engine(i, engines[e]) || !strcmp(i->name, "MI_BATCH_BUFFER_END"))
                continue;
            if (i->len_bits > 0)
                dw0 |= len - i->bias;
            buf[pos] = dw0;
            memset(buf + pos + 1, 0, (len - 1) * sizeof(uint32_t));
            pos += len;
            cmds++;
        }
        end_at = pos;
        buf[pos++] = 0x05000000; /* MI_BATCH_BUFFER_END: type 0, opcode 0x0a */
        assert_int_equal(vgt_cmd_walk(d, buf, pos, NULL, NULL, &count, &off), 0);
        assert_int_equal(count, cmds + 1);
        assert_int_equal(off, end_at);
    }
    free(buf);
    free(d);
    free(ins);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tables_match_genxml),
        cmocka_unit_test(test_decode_every_genxml_command),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
