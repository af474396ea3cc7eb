/* Bad input from users: `vgt assign pci --config-file` on garbage and
 * `vgt up` on broken xl configs each end with exactly one line naming the
 * problem and exit status 1, and vgtd's bad options with one line and
 * its usage status 2: never a crash, a signal or a sanitizer report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static char dir[256], vgt[512], vgtd[512];

static void write_bytes(const char *name, const void *data, size_t len, char *path, size_t plen)
{
    FILE *f;

    snprintf(path, plen, "%s/%s", dir, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* Run vgt ARGS with stdout and stderr together; the output must be one
 * line that contains @want, and the exit status 1. */
static void expect_error_of(const char *prog, const char *args, int status, const char *want)
{
    char cmd[2048], out[4096];
    size_t n;
    FILE *p;
    int st;

    snprintf(cmd, sizeof(cmd), "%s %s 2>&1", prog, args);
    p = popen(cmd, "r");
    assert_non_null(p);
    n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = 0;
    st = pclose(p);
    printf("%s %s -> %s", prog, args, out);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), status);
    assert_true(n > 0 && out[n - 1] == '\n');
    assert_null(memchr(out, '\n', n - 1)); /* one line */
    assert_null(strstr(out, "Sanitizer"));
    assert_null(strstr(out, "runtime error"));
    assert_non_null(strstr(out, want));
}

static void expect_one_error(const char *args, const char *want)
{
    expect_error_of(vgt, args, 1, want);
}

static int setup(void **state)
{
    const char *root = getenv("VGT_BUILD_ROOT");

    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/vgt-badinput-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(vgt, sizeof(vgt), "%s/tools/vgt", root ? root : "build");
    snprintf(vgtd, sizeof(vgtd), "%s/tools/vgtd", root ? root : "build");
    /* vgt up must fail on the file, before it looks for vgtd. */
    setenv("VGT_CONTROL", "/nonexistent/vgtd.sock", 1);
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) < 0;
}

static void test_pci_config_garbage(void **state)
{
    uint8_t ones[256], zeros[300];
    char path[300], args[400];
    const char *text = "this is not a config dump\nnor is this\n";
    const char *cut = "00: 86 80 12 19 07 04 10 00\n10: zz";

    (void)state;
    memset(ones, 0xff, sizeof(ones));
    memset(zeros, 0, sizeof(zeros));
    write_bytes("empty", "", 0, path, sizeof(path));
    snprintf(args, sizeof(args), "assign pci --config-file %s", path);
    expect_one_error(args, "truncated");
    write_bytes("short", "\x86\x80\x12", 3, path, sizeof(path));
    snprintf(args, sizeof(args), "assign pci --config-file %s", path);
    expect_one_error(args, "truncated");
    write_bytes("text", text, strlen(text), path, sizeof(path));
    snprintf(args, sizeof(args), "assign pci --config-file %s", path);
    expect_one_error(args, "no config-space lines");
    write_bytes("cut.txt", cut, strlen(cut), path, sizeof(path));
    snprintf(args, sizeof(args), "assign pci --config-file %s", path);
    expect_one_error(args, path);
    write_bytes("ones", ones, sizeof(ones), path, sizeof(path));
    snprintf(args, sizeof(args), "assign pci --config-file %s", path);
    expect_one_error(args, "vendor ID 0xffff");
    write_bytes("zeros", zeros, sizeof(zeros), path, sizeof(path));
    snprintf(args, sizeof(args), "assign pci --config-file %s", path);
    expect_one_error(args, "vendor ID 0x0000");
    snprintf(args, sizeof(args), "assign pci --config-file %s", dir);
    expect_one_error(args, "is a directory");
    snprintf(args, sizeof(args), "assign pci --config-file %s/missing", dir);
    expect_one_error(args, "No such file");
}

static void test_up_broken_xl(void **state)
{
    static const struct {
        const char *name, *text, *want;
        size_t len; /* 0: strlen(text); the binary case holds a NUL */
    } cases[] = {
        {"unterminated.cfg", "name = \"g1\nvgt = 1\n", "line 1", 0},
        {"nokey.cfg", "= 3\n", "line 1", 0},
        {"novgt.cfg", "name = \"g1\"\nmemory = 512\n", "vgt=1", 0},
        {"bignum.cfg", "name = \"g1\"\nvgt = 1\nvgt_low_gm_sz = 99999999999999999999999\n", "line 3", 0},
        {"binary.cfg", "\x01\x02\xff\xfe\x00garbage", "line 1", 12},
    };
    char path[300], args[400];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        write_bytes(cases[i].name, cases[i].text,
                    cases[i].len ? cases[i].len : strlen(cases[i].text), path, sizeof(path));
        snprintf(args, sizeof(args), "up %s", path);
        expect_one_error(args, cases[i].want);
    }
    snprintf(args, sizeof(args), "up %s", dir);
    expect_one_error(args, "is a directory");
    snprintf(args, sizeof(args), "up %s/missing.cfg", dir);
    expect_one_error(args, "No such file");
}

/* vgtd refuses a bad sharing or aperture option before it touches
 * anything, naming the option and what it takes. */
static void test_vgtd_bad_options(void **state)
{
    (void)state;
    expect_error_of(vgtd, "--sim --aperture fast", 2, "--aperture: 'fast' is not emulated or mapped");
    expect_error_of(vgtd, "--sim --gm-share-limit 0", 2, "--gm-share-limit: '0' is not 1..64");
    expect_error_of(vgtd, "--sim --gm-share-limit 65", 2, "--gm-share-limit: '65' is not 1..64");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pci_config_garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_up_broken_xl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vgtd_bad_options, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
