/* The operator-facing parsers: control requests (flat JSON) and the vgt
 * keys of xl configs, with the errors users see. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vgt/vgt_ctl.h"

static int parse(const char *s, struct vgt_ctl_msg *m, const char **why)
{
    return vgt_ctl_parse(s, strlen(s), m, why);
}

static void test_ctl_requests(void **state)
{
    struct vgt_ctl_msg m;
    const char *why = NULL;
    uint64_t n = 0;

    (void)state;
    assert_int_equal(parse(" {\"cmd\" : \"add\", \"domid\":5,\"type\":\"V5_4\",\"x\":true} \n", &m, &why), 0);
    assert_int_equal(m.n, 4);
    assert_string_equal(vgt_ctl_str(&m, "cmd"), "add");
    assert_int_equal(vgt_ctl_num(&m, "domid", &n), 0);
    assert_int_equal(n, 5);
    assert_int_equal(vgt_ctl_num(&m, "type", &n), -EINVAL);
    assert_int_equal(vgt_ctl_num(&m, "none", &n), -ENOENT);
    assert_null(vgt_ctl_str(&m, "domid"));
    assert_int_equal(vgt_ctl_get(&m, "x")->kind, VGT_CTL_BOOL);
    assert_int_equal(parse("{}", &m, &why), 0);
    assert_int_equal(m.n, 0);
    assert_int_equal(parse("{\"a\":\"q\\\"uote\"}", &m, &why), 0);
    assert_string_equal(vgt_ctl_str(&m, "a"), "q\"uote");

    static const char *const bad[] = {
        "", "[]", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{\"a\":1} x", "{\"a\":-1}",
        "{\"a\":1.5}", "{\"a\":{\"b\":1}}", "{\"a\":1,\"a\":2}", "{\"a\":99999999999999999999}",
        "{\"a\":\"\\n\"}", "{a:1}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        assert_int_equal(parse(bad[i], &m, &why), -EINVAL);
        assert_non_null(why);
    }
    /* Limits: key length, string length, field count. */
    {
        char big[512];

        snprintf(big, sizeof(big), "{\"%040d\":1}", 0);
        assert_int_equal(parse(big, &m, &why), -EINVAL);
        memset(big, 0, sizeof(big));
        strcpy(big, "{\"s\":\"");
        memset(big + 6, 'x', 200);
        strcat(big, "\"}");
        assert_int_equal(parse(big, &m, &why), -EINVAL);
        /* Exactly the limit parses; one more is refused. */
        strcpy(big, "{");
        for (int i = 0; i < VGT_CTL_MAX_FIELDS; i++)
            snprintf(big + strlen(big), sizeof(big) - strlen(big), "%s\"k%d\":1", i ? "," : "", i);
        strcat(big, "}");
        assert_int_equal(parse(big, &m, &why), 0);
        assert_int_equal(m.n, VGT_CTL_MAX_FIELDS);
        strcpy(big, "{");
        for (int i = 0; i < VGT_CTL_MAX_FIELDS + 1; i++)
            snprintf(big + strlen(big), sizeof(big) - strlen(big), "%s\"k%d\":1", i ? "," : "", i);
        strcat(big, "}");
        assert_int_equal(parse(big, &m, &why), -EINVAL);
        assert_string_equal(why, "too many fields");
    }
}

static void test_xl_keys(void **state)
{
    static const char cfg[] =
        "# XenGT guest\n"
        "name = \"win10-a\"\n"
        "builder='hvm'\n"
        "memory = 4096\n"
        "vgt=1\n"
        "vgt_low_gm_sz = 128   # MiB\n"
        "vgt_high_gm_sz = 512;\n"
        "vgt_fence_sz = 4\n"
        "disk = [ 'file:/a.img,xvda,w',\n"
        "         'file:/b#c.img,xvdb,w' ]\n"
        "vif = [ 'bridge=xenbr0' ]\n"
        "\n";
    struct vgt_xl_keys k;
    char err[128] = "";

    (void)state;
    assert_int_equal(vgt_xl_parse(cfg, strlen(cfg), &k, err, sizeof(err)), 0);
    assert_string_equal(k.name, "win10-a");
    assert_true(k.vgt);
    assert_true(k.have_low && k.have_high && k.have_fence && k.have_memory);
    assert_int_equal(k.low_mb, 128);
    assert_int_equal(k.high_mb, 512);
    assert_int_equal(k.fences, 4);
    assert_int_equal(k.memory_mb, 4096);

    assert_int_equal(vgt_xl_parse("vgt = 0\n", 8, &k, err, sizeof(err)), 0);
    assert_false(k.vgt);
    assert_false(k.have_low);

    assert_int_equal(vgt_xl_parse("name = \"a\"\nvgt_low_gm_sz = big\n", 34, &k, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "line 2"));
    assert_non_null(strstr(err, "vgt_low_gm_sz"));
    assert_int_equal(vgt_xl_parse("just words\n", 11, &k, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "line 1"));
    assert_int_equal(vgt_xl_parse("disk = [ 'a',\n", 14, &k, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "unterminated"));
    assert_int_equal(vgt_xl_parse("name = unquoted\n", 16, &k, err, sizeof(err)), -EINVAL);
    assert_int_equal(vgt_xl_parse("vgt =\n", 6, &k, err, sizeof(err)), -EINVAL);
}

/* A custom vGPU's monitors: vgt_max_heads = N, vgt_resolution = "WxH". */
static void test_xl_display_keys(void **state)
{
    static const char cfg[] = "vgt = 1\nvgt_max_heads = 2\nvgt_resolution = \"2560x1440\"\n";
    struct vgt_xl_keys k;
    char err[128] = "";
    uint32_t w, h;

    (void)state;
    assert_int_equal(vgt_xl_parse(cfg, strlen(cfg), &k, err, sizeof(err)), 0);
    assert_true(k.have_heads && k.have_res);
    assert_int_equal(k.heads, 2);
    assert_int_equal(k.res_w, 2560);
    assert_int_equal(k.res_h, 1440);
    assert_int_equal(vgt_xl_parse("vgt = 1\n", 8, &k, err, sizeof(err)), 0);
    assert_false(k.have_heads || k.have_res);
    assert_int_equal(vgt_xl_parse("vgt_resolution = 1920x1080\n", 27, &k, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "vgt_resolution must be a quoted \"WxH\""));
    assert_int_equal(vgt_xl_parse("vgt_resolution = \"1920x\"\n", 24, &k, err, sizeof(err)), -EINVAL);
    assert_int_equal(vgt_xl_parse("vgt_max_heads = two\n", 20, &k, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "vgt_max_heads"));
    /* The parser only reads the shape; vgt_vgpu_res_display judges sizes. */
    assert_int_equal(vgt_parse_resolution("3840x2160", 9, &w, &h), 0);
    assert_int_equal(w * 10000 + h, 3840 * 10000 + 2160);
    assert_int_equal(vgt_parse_resolution("x1080", 5, &w, &h), -EINVAL);
    assert_int_equal(vgt_parse_resolution("1920x1080x1", 11, &w, &h), -EINVAL);
    assert_int_equal(vgt_parse_resolution("1920X1080", 9, &w, &h), -EINVAL);
    assert_int_equal(vgt_parse_resolution("9999999x1", 9, &w, &h), -EINVAL); /* > 6 digits */
    assert_int_equal(vgt_parse_resolution("", 0, &w, &h), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ctl_requests),
        cmocka_unit_test(test_xl_keys),
        cmocka_unit_test(test_xl_display_keys),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
