/* vgtd --sim serves the guests' screens: `vgt screenshot` writes the PNG
 * of what a guest drew (compared pixel for pixel), `vgt list` names the
 * VNC addresses, a real VNC client (vncsnapshot, when installed) captures
 * the screen over TCP with the password, an RFB client on libvncclient
 * captures it exactly and sends a key and a pointer move that the guest
 * then reads from its PV keyboard ring; a hostile guest's plane is refused
 * by name while the other guest's screen is still served. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
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
#include <jpeglib.h>
#include <linux/input-event-codes.h>
#include <rfb/rfbclient.h>

#include "display_expect.h"
#include "vgpu_client.h"
#include "vgt/util.h"

static char dir[256], sock[300], vgtd[512], vgt[512], pw[300];
static unsigned port;
static pid_t daemon_pid;

static void ctl(const char *req, char *ans, size_t len)
{
    assert_int_equal(vgpu_ctl_request(sock, req, ans, len), 0);
    if (!vgpu_ctl_ok(ans))
        print_message("%s -> %s\n", req, ans);
    assert_true(vgpu_ctl_ok(ans));
}

static int run(const char *cmd)
{
    int st = system(cmd);

    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int setup(void **state)
{
    const char *root = getenv("VGT_BUILD_ROOT");
    char ans[4096], plain[300];
    FILE *f;

    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/vgt-vnc-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(sock, sizeof(sock), "%s/vgtd.sock", dir);
    snprintf(vgtd, sizeof(vgtd), "%s/tools/vgtd", root ? root : "build");
    snprintf(vgt, sizeof(vgt), "%s/tools/vgt", root ? root : "build");
    /* vgtd reads the password in clear; clients get the vncpasswd file */
    snprintf(plain, sizeof(plain), "%s/password", dir);
    snprintf(pw, sizeof(pw), "%s/passwd.vnc", dir);
    f = fopen(plain, "w");
    assert_non_null(f);
    fputs("s3cret\n", f);
    fclose(f);
    assert_int_equal(rfbEncryptAndStorePasswd("s3cret", pw), 0);
    /* a port of our own per run: 20000 + pid spread */
    port = 20000 + (unsigned)(getpid() % 4000) * 8;
    daemon_pid = fork();
    if (daemon_pid == 0) {
        char p[16];

        snprintf(p, sizeof(p), "%u", port);
        execl(vgtd, vgtd, "--sim", "--control", sock, "--log", "err", "--vnc-listen", "127.0.0.1",
              "--vnc-port", p, "--vnc-password-file", plain, "--vnc-fps", "60", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100 && access(sock, F_OK); i++)
        usleep(50000);
    ctl("{\"cmd\":\"add\",\"domid\":1}", ans, sizeof(ans));
    ctl("{\"cmd\":\"add\",\"domid\":2}", ans, sizeof(ans));
    return 0;
}

static int teardown(void **state)
{
    char cmd[600];
    int st;

    (void)state;
    kill(daemon_pid, SIGTERM);
    waitpid(daemon_pid, &st, 0);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const struct dg_fb fb1 = {.fourcc = DRM_FORMAT_XRGB8888, .modifier = I915_FORMAT_MOD_X_TILED,
                                 .w = 320, .h = 200, .seed = 11};
static const struct dg_fb fb2 = {.fourcc = DRM_FORMAT_RGB565, .modifier = I915_FORMAT_MOD_Y_TILED,
                                 .w = 256, .h = 128, .seed = 4};

static void show(uint16_t dom, const struct dg_fb *fb, const char *fmt, const char *til, bool cursor)
{
    char req[512], ans[512];

    snprintf(req, sizeof(req),
             "{\"cmd\":\"guest-show\",\"domid\":%u,\"head\":0,\"format\":\"%s\",\"tiling\":\"%s\","
             "\"width\":%u,\"height\":%u,\"seed\":%u%s}",
             dom, fmt, til, fb->w, fb->h, fb->seed, cursor ? ",\"cursor_x\":30,\"cursor_y\":20" : "");
    ctl(req, ans, sizeof(ans));
}

/* vgt screenshot through the control socket, compared pixel for pixel. */
static void test_screenshot_golden(void **state)
{
    struct vgt_display_frame f = {0};
    char cmd[2048], png[300];

    (void)state;
    show(1, &fb1, "XRGB8888", "X", true);
    show(2, &fb2, "RGB565", "Y", false);
    snprintf(png, sizeof(png), "%s/dom1.png", dir);
    snprintf(cmd, sizeof(cmd), "%s screenshot 1 --head 0 --out %s --control %s", vgt, png, sock);
    assert_int_equal(run(cmd), 0);
    assert_int_equal(vgt_display_png_read(png, &f), 0);
    assert_int_equal(f.w, fb1.w);
    assert_int_equal(mismatches(&f, &fb1, true, 30, 20), 0);
    snprintf(png, sizeof(png), "%s/dom2.png", dir);
    snprintf(cmd, sizeof(cmd), "%s screenshot 2 --out %s --control %s", vgt, png, sock);
    assert_int_equal(run(cmd), 0);
    assert_int_equal(vgt_display_png_read(png, &f), 0);
    assert_int_equal(mismatches(&f, &fb2, false, 0, 0), 0);
    /* a head that is off, a domain without a vGPU: errors naming them */
    snprintf(cmd, sizeof(cmd), "%s screenshot 1 --head 2 --out %s --control %s 2>&1 | grep -q 'head 2 is off'",
             vgt, png, sock);
    assert_int_equal(run(cmd), 0);
    snprintf(cmd, sizeof(cmd), "%s screenshot 9 --out %s --control %s 2>&1 | grep -q 'domain 9 has no vGPU'",
             vgt, png, sock);
    assert_int_equal(run(cmd), 0);
    vgt_display_frame_fini(&f);
}

/* vgt list names each head's VNC address. */
static void test_list_names_vnc(void **state)
{
    char cmd[2048];

    (void)state;
    snprintf(cmd, sizeof(cmd), "%s list --json --control %s | grep -q '\"vnc_head0\":\"127.0.0.1:%u\"'",
             vgt, sock, port);
    assert_int_equal(run(cmd), 0);
    snprintf(cmd, sizeof(cmd), "%s list --control %s | grep -q 'vnc: head0 127.0.0.1:%u  head1 127.0.0.1:%u'",
             vgt, sock, port, port + 1);
    assert_int_equal(run(cmd), 0);
}

/* ---- an RFB client on libvncclient ---- */

static const char *client_password;

static char *get_password(rfbClient *cl)
{
    (void)cl;
    return strdup(client_password);
}

static void quiet(const char *fmt, ...)
{
    (void)fmt;
}

static uint64_t area_received;

static void got_rect(rfbClient *cl, int x, int y, int w, int h)
{
    (void)cl, (void)x, (void)y;
    area_received += (uint64_t)w * (uint64_t)h;
}

/* libvncclient leaves the frame buffer it allocated to its user. */
static void client_free(rfbClient *cl)
{
    free(cl->frameBuffer);
    cl->frameBuffer = NULL;
    rfbClientCleanup(cl);
}

/* @host: an address, or the path of a Unix socket (libvncclient
 * connects to a socket when the host names one) */
static rfbClient *connect_host(const char *host, unsigned p, const char *password)
{
    rfbClient *cl = rfbGetClient(8, 3, 4);

    /* ask for 0x00RRGGBB, the host frame's own order */
    cl->format.redShift = 16;
    cl->format.greenShift = 8;
    cl->format.blueShift = 0;
    free(cl->serverHost); /* rfbGetClient's default */
    cl->serverHost = strdup(host);
    cl->serverPort = (int)p;
    client_password = password;
    cl->GetPassword = get_password;
    cl->appData.encodingsString = "raw";
    cl->GotFrameBufferUpdate = got_rect;
    if (!rfbInitClient(cl, NULL, NULL))
        return NULL; /* rfbInitClient frees the client on failure */
    return cl;
}

static rfbClient *connect_client(unsigned p, const char *password)
{
    return connect_host("127.0.0.1", p, password);
}

/* Pump updates until the client's picture equals the expected screen or
 * @ms pass; returns the mismatches left. */
static unsigned wait_picture(rfbClient *cl, const struct dg_fb *fb, bool cursor, int cx, int cy,
                             unsigned ms)
{
    struct vgt_display_frame f = {0};
    unsigned bad = ~0u;

    for (unsigned t = 0; t < ms / 20 && bad; t++) {
        int n = WaitForMessage(cl, 20000);

        if (n > 0 && !HandleRFBServerMessage(cl))
            break;
        SendFramebufferUpdateRequest(cl, 0, 0, cl->width, cl->height, TRUE);
        if (cl->width != (int)fb->w || cl->height != (int)fb->h)
            continue;
        f.px = (uint32_t *)cl->frameBuffer;
        f.w = f.pitch = (unsigned)cl->width;
        f.h = (unsigned)cl->height;
        bad = 0;
        for (unsigned y = 0; y < fb->h; y++)
            for (unsigned x = 0; x < fb->w; x++)
                bad += (f.px[(size_t)y * f.pitch + x] & 0xffffff) !=
                       expect_screen(fb, cursor, cx, cy, x, y);
    }
    for (unsigned y = 0, shown = 0; bad && y < fb->h; y++)
        for (unsigned x = 0; x < fb->w; x++)
            if ((f.px[(size_t)y * f.pitch + x] & 0xffffff) != expect_screen(fb, cursor, cx, cy, x, y) &&
                shown++ < 4)
                print_message("  client (%u,%u): %06x want %06x\n", x, y,
                              f.px[(size_t)y * f.pitch + x] & 0xffffff, expect_screen(fb, cursor, cx, cy, x, y));
    return bad;
}

static void test_vnc_client_capture_and_keys(void **state)
{
    struct dg_fb fb = fb1;
    char ans[2048];
    rfbClient *cl;

    (void)state;
    /* a wrong password: refused */
    assert_null(connect_client(port, "wrong"));
    cl = connect_client(port, "s3cret");
    assert_non_null(cl);
    assert_int_equal(wait_picture(cl, &fb1, true, 30, 20, 5000), 0);
    /* a flip to a new frame reaches the client */
    fb.seed = 12;
    show(1, &fb, "XRGB8888", "X", true);
    assert_int_equal(wait_picture(cl, &fb, true, 30, 20, 5000), 0);
    /* only the cursor moves: only the tiles it left and entered are sent
     * (at most 4 of 64x64 each way; not the whole screen) */
    area_received = 0;
    {
        char req[512];

        snprintf(req, sizeof(req),
                 "{\"cmd\":\"guest-show\",\"domid\":1,\"head\":0,\"format\":\"XRGB8888\","
                 "\"tiling\":\"X\",\"width\":%u,\"height\":%u,\"seed\":%u,\"cursor_x\":200,"
                 "\"cursor_y\":100}", fb.w, fb.h, fb.seed);
        ctl(req, ans, sizeof(ans));
    }
    assert_int_equal(wait_picture(cl, &fb, true, 200, 100, 5000), 0);
    print_message("cursor move: %llu pixels sent of %u\n", (unsigned long long)area_received,
                  fb.w * fb.h);
    assert_true(area_received > 0 && area_received <= 8ull * 64 * 64);
    assert_true(area_received < (uint64_t)fb.w * fb.h);

    /* keyboard and pointer through the PV keyboard ring */
    ctl("{\"cmd\":\"guest-kbd-connect\",\"domid\":1}", ans, sizeof(ans));
    SendKeyEvent(cl, 'a', TRUE);
    SendKeyEvent(cl, 'a', FALSE);
    SendPointerEvent(cl, 100, 50, 1);
    {
        char want[128], got[1024] = "";

        snprintf(want, sizeof(want), "key:%u:down key:%u:up pos:100,50 key:%u:down", KEY_A, KEY_A,
                 BTN_LEFT);
        /* the guest reads its ring until the four events came */
        for (int i = 0; i < 100 && !strstr(got, want); i++) {
            const char *ev;

            WaitForMessage(cl, 20000);
            ctl("{\"cmd\":\"guest-kbd-read\",\"domid\":1}", ans, sizeof(ans));
            ev = strstr(ans, "\"events\":\"");
            if (ev && ev[10] != '"')
                snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%.*s", got[0] ? " " : "",
                         (int)strcspn(ev + 10, "\""), ev + 10);
        }
        print_message("guest read: %s\n", got);
        assert_string_equal(got, want);
    }
    client_free(cl);
}

/* vncsnapshot, Debian's VNC snapshot client, over TCP with the password
 * file: its JPEG (quality 100) matches the guest's screen within JPEG's
 * error, and clearly differs from a wrong frame. */
static double jpeg_error(const char *path, const struct dg_fb *fb, bool cursor)
{
    struct jpeg_decompress_struct ci;
    struct jpeg_error_mgr jerr;
    FILE *f = fopen(path, "rb");
    double err = 0;
    uint8_t *row;

    if (!f)
        return -1;
    ci.err = jpeg_std_error(&jerr);
    jpeg_create_decompress(&ci);
    jpeg_stdio_src(&ci, f);
    jpeg_read_header(&ci, TRUE);
    ci.out_color_space = JCS_RGB;
    jpeg_start_decompress(&ci);
    if (ci.output_width != fb->w || ci.output_height != fb->h) {
        jpeg_destroy_decompress(&ci);
        fclose(f);
        return -2;
    }
    row = malloc((size_t)ci.output_width * 3);
    while (ci.output_scanline < ci.output_height) {
        unsigned y = ci.output_scanline;

        jpeg_read_scanlines(&ci, &row, 1);
        for (unsigned x = 0; x < fb->w; x++) {
            uint32_t e = expect_screen(fb, cursor, 200, 100, x, y); /* the last cursor */

            /* luma error: chroma is subsampled by the encoder */
            double ly = 0.299 * row[3 * x] + 0.587 * row[3 * x + 1] + 0.114 * row[3 * x + 2];
            double le = 0.299 * (e >> 16) + 0.587 * ((e >> 8) & 0xff) + 0.114 * (e & 0xff);

            err += ly > le ? ly - le : le - ly;
        }
    }
    jpeg_finish_decompress(&ci);
    jpeg_destroy_decompress(&ci);
    free(row);
    fclose(f);
    return err / ((double)fb->w * fb->h);
}

static void test_vncsnapshot_capture(void **state)
{
    struct dg_fb fb = fb1, wrong = fb1;
    char cmd[2048], jpg[300];
    double good, bad;

    (void)state;
    if (run("command -v vncsnapshot >/dev/null 2>&1")) {
        print_message("vncsnapshot not installed: skipped (.ci/install-deps installs it)\n");
        skip();
    }
    fb.seed = 12; /* the last frame shown */
    wrong.seed = 40;
    snprintf(jpg, sizeof(jpg), "%s/snap.jpg", dir);
    snprintf(cmd, sizeof(cmd),
             "timeout 20 vncsnapshot -quiet -passwd %s -nojpeg -quality 100 127.0.0.1::%u %s",
             pw, port, jpg);
    assert_int_equal(run(cmd), 0);
    good = jpeg_error(jpg, &fb, true);
    bad = jpeg_error(jpg, &wrong, true);
    print_message("vncsnapshot: mean luma error %.2f (a wrong frame: %.2f)\n", good, bad);
    assert_true(good >= 0 && good < 3.0);
    assert_true(bad > 10 * good && bad > 10);
}

/* vgtd --vnc-unix-dir: each head is a Unix socket (mode 0600, no
 * password), `vgt list` names it, a libvncclient client connected through
 * it gets the guest's screen exactly, follows a flip, and its key reaches
 * the guest's PV keyboard ring. A daemon of its own (one vgtd serves TCP
 * or Unix sockets, not both). */
static void test_vnc_unix_socket(void **state)
{
    char usock[300], udir[300], path[400], ans[2048], cmd[2048];
    struct dg_fb fb = {.fourcc = DRM_FORMAT_XRGB8888, .modifier = I915_FORMAT_MOD_Y_TILED,
                       .w = 200, .h = 150, .seed = 21};
    struct stat st;
    rfbClient *cl;
    pid_t pid;
    int ws;

    (void)state;
    snprintf(usock, sizeof(usock), "%s/vgtd-unix.sock", dir);
    snprintf(udir, sizeof(udir), "%s/vnc", dir);
    assert_int_equal(mkdir(udir, 0700), 0);
    pid = fork();
    if (pid == 0) {
        execl(vgtd, vgtd, "--sim", "--control", usock, "--log", "err", "--vnc-unix-dir", udir,
              "--vnc-fps", "60", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100 && access(usock, F_OK); i++)
        usleep(50000);
    assert_int_equal(vgpu_ctl_request(usock, "{\"cmd\":\"add\",\"domid\":5}", ans, sizeof(ans)), 0);
    assert_true(vgpu_ctl_ok(ans));
    snprintf(path, sizeof(path), "%s/dom5-head0.sock", udir);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(cmd, sizeof(cmd), "%s list --json --control %s | grep -q '\"vnc_head0\":\"unix:%s\"'",
             vgt, usock, path);
    assert_int_equal(run(cmd), 0);
    snprintf(cmd, sizeof(cmd),
             "{\"cmd\":\"guest-show\",\"domid\":5,\"head\":0,\"format\":\"XRGB8888\","
             "\"tiling\":\"Y\",\"width\":%u,\"height\":%u,\"seed\":%u}", fb.w, fb.h, fb.seed);
    assert_int_equal(vgpu_ctl_request(usock, cmd, ans, sizeof(ans)), 0);
    assert_true(vgpu_ctl_ok(ans));
    cl = connect_host(path, 0, "unused");
    assert_non_null(cl);
    assert_int_equal(wait_picture(cl, &fb, false, 0, 0, 5000), 0);
    /* a flip to another frame comes through the socket too */
    fb.seed = 22;
    snprintf(cmd, sizeof(cmd),
             "{\"cmd\":\"guest-show\",\"domid\":5,\"head\":0,\"format\":\"XRGB8888\","
             "\"tiling\":\"Y\",\"width\":%u,\"height\":%u,\"seed\":%u}", fb.w, fb.h, fb.seed);
    assert_int_equal(vgpu_ctl_request(usock, cmd, ans, sizeof(ans)), 0);
    assert_int_equal(wait_picture(cl, &fb, false, 0, 0, 5000), 0);
    /* a key through the socket reaches the guest */
    assert_int_equal(vgpu_ctl_request(usock, "{\"cmd\":\"guest-kbd-connect\",\"domid\":5}", ans,
                                      sizeof(ans)), 0);
    SendKeyEvent(cl, 'b', TRUE);
    {
        char want[64];
        bool seen = false;

        snprintf(want, sizeof(want), "key:%u:down", KEY_B);
        for (int i = 0; i < 100 && !seen; i++) {
            WaitForMessage(cl, 20000);
            assert_int_equal(vgpu_ctl_request(usock, "{\"cmd\":\"guest-kbd-read\",\"domid\":5}",
                                              ans, sizeof(ans)), 0);
            seen = strstr(ans, want) != NULL;
        }
        assert_true(seen);
    }
    client_free(cl);
    kill(pid, SIGTERM);
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    /* the daemon removed its sockets */
    assert_int_equal(access(path, F_OK), -1);
}

/* Guest 1 points its plane into guest 2's memory: refused by name, its
 * screen black; guest 2 is still served exactly over VNC. */
static void test_hostile_guest_served_others(void **state)
{
    char ans[4096], req[512], png[300], cmd[2048];
    struct vgt_ctl_msg m;
    rfbClient *cl;

    (void)state;
    ctl("{\"cmd\":\"status\",\"domid\":2}", ans, sizeof(ans));
    assert_int_equal(vgpu_ctl_object(ans, "vgpu", &m), 0);
    snprintf(req, sizeof(req), "{\"cmd\":\"guest-mmio\",\"domid\":1,\"off\":%u,\"val\":%llu}",
             PLANE_SURF(0), vgpu_ctl_numf(&m, "high_gm_base"));
    ctl(req, ans, sizeof(ans));
    usleep(100000); /* the surface address latches at the next vblank */
    snprintf(png, sizeof(png), "%s/hostile.png", dir);
    snprintf(req, sizeof(req), "{\"cmd\":\"screenshot\",\"domid\":1,\"out\":\"%s\"}", png);
    ctl(req, ans, sizeof(ans));
    assert_non_null(strstr(ans, "\"plane\":\"surface outside the vGPU's graphics memory\""));
    snprintf(cmd, sizeof(cmd), "%s screenshot 1 --out %s --control %s 2>&1 | grep -q 'refused (surface outside'",
             vgt, png, sock);
    assert_int_equal(run(cmd), 0);
    cl = connect_client(port + 3, "s3cret"); /* dom2: slot 1, head 0 */
    assert_non_null(cl);
    assert_int_equal(wait_picture(cl, &fb2, false, 0, 0, 5000), 0);
    client_free(cl);
}

/* vgt demo --display: the guests modeset through their driver's display
 * half (EDID preferred mode: V5_8's 1920x1080), draw, flip and set the
 * cursor; the screenshots are exact (first frame: seed 31 * (domid - 1),
 * cursor at 0,0). */
static void test_demo_display_screenshots(void **state)
{
    struct dg_fb fb = {.fourcc = DRM_FORMAT_XRGB8888, .modifier = I915_FORMAT_MOD_X_TILED,
                       .w = 1920, .h = 1080, .seed = 0};
    struct vgt_display_frame f = {0};
    char cmd[2048], png[300];

    (void)state;
    snprintf(cmd, sizeof(cmd), "%s demo --display --guests 2 --out %s | grep -q 'dom2 head 0: 1920x1080 RGB565 Y-tiled'",
             vgt, dir);
    assert_int_equal(run(cmd), 0);
    snprintf(png, sizeof(png), "%s/dom1.png", dir);
    assert_int_equal(vgt_display_png_read(png, &f), 0);
    assert_int_equal(mismatches(&f, &fb, true, 0, 0), 0);
    vgt_display_frame_fini(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_screenshot_golden),
        cmocka_unit_test(test_list_names_vnc),
        cmocka_unit_test(test_vnc_client_capture_and_keys),
        cmocka_unit_test(test_vncsnapshot_capture),
        cmocka_unit_test(test_vnc_unix_socket),
        cmocka_unit_test(test_hostile_guest_served_others),
        cmocka_unit_test(test_demo_display_screenshots),
    };

    if (geteuid() != 0) {
        printf("vgtd's control socket answers root only: skipped\n");
        return 77;
    }
    rfbClientLog = rfbClientErr = quiet;
    return cmocka_run_group_tests(tests, setup, teardown);
}
