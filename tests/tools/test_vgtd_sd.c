/* vgtd's journal logging (host/vgtd_sd.c) without journald:
 * sd_journal_sendv is replaced at link time and records each entry's
 * fields. Checks the common logger's sink hook (levels, fields), the
 * journal entry (MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, VGT_VGPU,
 * VGT_DOMID, VGT_REASON), the fallback to stderr lines when journald
 * refuses, when vgtd picks the journal ($JOURNAL_STREAM, $INVOCATION_ID),
 * and that a vGPU's failsafe entry carries its reason. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_hv.h"
#include "vgt/log.h"
#include "vgt/vgpu.h"
#include "vgtd_sd.h"

#define MIB (1ull << 20)

/* ---- the replaced journal call: the last entry, fields one per line ---- */

static char entry[4096];
static int entries;
static int journal_ret;

int __wrap_sd_journal_sendv(const struct iovec *iov, int n);
int __wrap_sd_journal_sendv(const struct iovec *iov, int n)
{
    entry[0] = 0;
    for (int i = 0; i < n; i++) {
        strncat(entry, iov[i].iov_base, iov[i].iov_len);
        strcat(entry, "\n");
    }
    entries++;
    return journal_ret;
}

static bool has_field(const char *line)
{
    char want[256];

    snprintf(want, sizeof(want), "\n%s\n", line);
    /* entry starts with MESSAGE=, so match the first line too */
    return !strncmp(entry, line, strlen(line)) ? entry[strlen(line)] == '\n'
                                                : strstr(entry, want) != NULL;
}

static int reset(void **state)
{
    (void)state;
    entry[0] = 0;
    entries = 0;
    journal_ret = 0;
    unsetenv("JOURNAL_STREAM");
    unsetenv("INVOCATION_ID");
    return 0;
}

/* ---- the common logger's sink hook ---- */

struct capture {
    int n, level;
    struct vgt_log_fields f;
    char msg[256];
};

static void capture_sink(void *opaque, const struct vgt_log *log, int level,
                         const struct vgt_log_fields *f, const char *msg)
{
    struct capture *c = opaque;

    (void)log;
    c->n++;
    c->level = level;
    c->f = *f;
    snprintf(c->msg, sizeof(c->msg), "%s", msg);
}

static void test_sink_hook(void **state)
{
    struct vgt_log log, copy;
    struct capture c = {0};
    FILE *out = tmpfile();
    char line[256] = "";

    (void)state;
    unsetenv("VGT_LOG");
    vgt_log_init(&log, "vgtd", VGT_LOG_WARN);
    vgt_log_set_sink(&log, capture_sink, &c);
    copy = log; /* objects keep copies: they must keep the sink */
    vgt_err(&copy, "plain %d", 1);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.level, VGT_LOG_ERR);
    assert_string_equal(c.msg, "plain 1");
    assert_int_equal(c.f.vgpu, -1);
    assert_int_equal(c.f.domid, -1);
    assert_null(c.f.reason);
    VGT_LOG_F(&log, VGT_LOG_WARN, &(struct vgt_log_fields){.vgpu = 2, .domid = 9, .reason = "admin"},
              "with fields");
    assert_int_equal(c.n, 2);
    assert_int_equal(c.f.vgpu, 2);
    assert_int_equal(c.f.domid, 9);
    assert_string_equal(c.f.reason, "admin");
    vgt_info(&log, "above the level"); /* dropped before the sink */
    assert_int_equal(c.n, 2);
    /* Without a sink: the fields do not change the line. */
    vgt_log_set_sink(&log, NULL, &c);
    log.out = out;
    VGT_LOG_F(&log, VGT_LOG_ERR, &(struct vgt_log_fields){.vgpu = 1, .domid = 5}, "as a line");
    rewind(out);
    assert_non_null(fgets(line, sizeof(line), out));
    assert_string_equal(line, "vgtd: err: as a line\n");
    assert_int_equal(c.n, 2);
    fclose(out);
}

/* ---- the journal sink ---- */

static void test_journal_fields(void **state)
{
    struct vgt_log log;

    (void)state;
    vgt_log_init(&log, "vgtd", VGT_LOG_DEBUG);
    vgt_log_set_sink(&log, vgtd_sd_journal_sink, NULL);
    VGT_LOG_F(&log, VGT_LOG_ERR,
              &(struct vgt_log_fields){.vgpu = 3, .domid = 17, .reason = "guest-error"},
              "vgpu%u: failsafe", 3u);
    assert_int_equal(entries, 1);
    assert_true(has_field("MESSAGE=vgpu3: failsafe"));
    assert_true(has_field("PRIORITY=3"));
    assert_true(has_field("SYSLOG_IDENTIFIER=vgtd"));
    assert_true(has_field("VGT_VGPU=3"));
    assert_true(has_field("VGT_DOMID=17"));
    assert_true(has_field("VGT_REASON=guest-error"));
    /* syslog priorities per level; no VGT_ fields unless given */
    vgt_warn(&log, "w");
    assert_true(has_field("PRIORITY=4"));
    assert_null(strstr(entry, "VGT_"));
    vgt_info(&log, "i");
    assert_true(has_field("PRIORITY=6"));
    vgt_debug(&log, "d");
    assert_true(has_field("PRIORITY=7"));
    assert_true(has_field("MESSAGE=d"));
    assert_int_equal(entries, 4);
}

static void test_journal_refused_falls_back(void **state)
{
    struct vgt_log log;
    FILE *out = tmpfile();
    char line[256] = "";

    (void)state;
    vgt_log_init(&log, "vgtd", VGT_LOG_INFO);
    log.out = out;
    vgt_log_set_sink(&log, vgtd_sd_journal_sink, NULL);
    journal_ret = -ENOENT; /* no journald socket */
    vgt_warn(&log, "kept %s", "anyway");
    assert_int_equal(entries, 1);
    rewind(out);
    assert_non_null(fgets(line, sizeof(line), out));
    assert_string_equal(line, "vgtd: warn: kept anyway\n");
    fclose(out);
}

/* ---- when vgtd logs to the journal ---- */

static void test_journal_wanted(void **state)
{
    struct stat st;
    char v[64];
    struct vgt_log log;

    (void)state;
    assert_int_equal(fstat(STDERR_FILENO, &st), 0);
    assert_false(vgtd_sd_journal_wanted()); /* neither variable */
    snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    setenv("JOURNAL_STREAM", v, 1);
    assert_true(vgtd_sd_journal_wanted());
    vgt_log_init(&log, "vgtd", VGT_LOG_INFO);
    vgtd_sd_log_setup(&log);
    assert_ptr_equal(log.sink, vgtd_sd_journal_sink);
    /* stderr is no longer the stream systemd connected (redirected) */
    snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino + 1);
    setenv("JOURNAL_STREAM", v, 1);
    assert_false(vgtd_sd_journal_wanted());
    setenv("INVOCATION_ID", "0123456789abcdef0123456789abcdef", 1);
    assert_false(vgtd_sd_journal_wanted()); /* JOURNAL_STREAM decides */
    setenv("JOURNAL_STREAM", "garbage", 1);
    assert_false(vgtd_sd_journal_wanted());
    snprintf(v, sizeof(v), "%llu:%llux", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    setenv("JOURNAL_STREAM", v, 1);
    assert_false(vgtd_sd_journal_wanted());
    /* A unit whose stderr is not the journal, but still a systemd unit */
    unsetenv("JOURNAL_STREAM");
    assert_true(vgtd_sd_journal_wanted());
    unsetenv("INVOCATION_ID");
    vgt_log_init(&log, "vgtd", VGT_LOG_INFO);
    vgtd_sd_log_setup(&log);
    assert_null(log.sink);
}

/* ---- a vGPU's failsafe entry carries vGPU, domain and reason ---- */

static void test_failsafe_entry(void **state)
{
    struct sim_arena *arena;
    struct fake_hv *hv;
    struct fake_hostgpu *hw;
    struct vgt_gpu *gpu;
    struct vgt_vgpu *v;
    struct vgt_gpu_cfg gc = {0};
    struct vgt_vgpu_cfg vc = {0};
    struct vgt_log log;
    struct stat st;
    char js[64];

    (void)state;
    /* As vgtd sets it up under systemd. */
    assert_int_equal(fstat(STDERR_FILENO, &st), 0);
    snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    setenv("JOURNAL_STREAM", js, 1);
    vgt_log_init(&log, "vgtd", VGT_LOG_INFO);
    vgtd_sd_log_setup(&log);
    assert_int_equal(sim_arena_create(128 * MIB, &arena), 0);
    assert_int_equal(fake_hv_create(arena, 7, 16 * MIB, FAKE_HV_SCRAMBLE_4K, 11, &hv), 0);
    assert_int_equal(fake_hostgpu_create(arena, 4096 * MIB, 1024 * MIB, 32, &hw), 0);
    gc.hw = &hw->gpu;
    gc.log = &log;
    assert_int_equal(vgt_gpu_create(&gc, &gpu), 0);
    vc.domid = 7;
    vc.hv = &hv->hv;
    vc.type_name = "V5_4";
    vc.log = &log;
    assert_int_equal(vgt_vgpu_res_from_type("V5_4", &vc.res), 0);
    assert_int_equal(vgt_vgpu_create(gpu, &vc, &v), 0);
    /* its creation is an entry of that vGPU and domain */
    assert_true(has_field("VGT_DOMID=7"));
    assert_true(has_field("PRIORITY=6"));
    assert_null(strstr(entry, "VGT_REASON="));
    vgt_vgpu_enter_failsafe(v, VGT_FAILSAFE_UNSUPPORTED_GUEST, "old driver");
    assert_true(has_field("PRIORITY=3"));
    assert_true(has_field("VGT_REASON=unsupported-guest"));
    assert_true(has_field("VGT_DOMID=7"));
    assert_non_null(strstr(entry, "MESSAGE=vgpu"));
    assert_non_null(strstr(entry, "old driver"));
    {
        char want[32];

        snprintf(want, sizeof(want), "VGT_VGPU=%u", vgt_vgpu_id(v));
        assert_true(has_field(want));
    }
    vgt_gpu_destroy(gpu);
    fake_hostgpu_destroy(hw);
    fake_hv_destroy(hv);
    sim_arena_destroy(arena);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_sink_hook, reset),
        cmocka_unit_test_setup(test_journal_fields, reset),
        cmocka_unit_test_setup(test_journal_refused_falls_back, reset),
        cmocka_unit_test_setup(test_journal_wanted, reset),
        cmocka_unit_test_setup(test_failsafe_entry, reset),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
