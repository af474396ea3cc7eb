/* libFuzzer: arbitrary bytes as the sync page and the buffered page of an
 * ioreq server (what a broken or hostile hypervisor could leave there),
 * plus the ports that fire. The engine must answer every READY slot,
 * never touch a slot that is not READY, and never read or write outside
 * its two pages or the guest RAM it is given (ASan checks the rest).
 *
 * Input: [flags][nr_vcpus][ports: 8 bytes][sync page 4096][buf page 4096]
 * (short inputs are zero-padded). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/ioreq_backend.h"
#include "vgt/ioreq_server.h"

#define RAM 0x4000u

struct fz {
    struct vgt_ioreq_backend base;
    struct vgt_hv hv;
    shared_iopage_t *sync;
    buffered_iopage_t *buf;
    unsigned nr;
    uint8_t ports[8];
    unsigned next_port;
    uint8_t ram[RAM];
};

static struct fz *F(struct vgt_ioreq_backend *b)
{
    return (struct fz *)b;
}

static int f_create(struct vgt_ioreq_backend *b, bool buf, unsigned *n)
{
    (void)buf;
    *n = F(b)->nr;
    return 0;
}

static int f_map_pages(struct vgt_ioreq_backend *b, shared_iopage_t **s, buffered_iopage_t **bu)
{
    *s = F(b)->sync;
    *bu = F(b)->buf;
    return 0;
}

static int f_range(struct vgt_ioreq_backend *b, enum vgt_io_type t, uint64_t s, uint64_t e)
{
    (void)b, (void)t, (void)s, (void)e;
    return 0;
}

static int f_enable(struct vgt_ioreq_backend *b, bool on)
{
    (void)b, (void)on;
    return 0;
}

static int f_buf_port(struct vgt_ioreq_backend *b, uint32_t *r)
{
    (void)b;
    *r = 200;
    return 0;
}

/* Local port = remote port: the fuzzer's port bytes hit vCPUs, the
 * buffered port (200), or nothing. vp_eport values come from the input;
 * 0 makes start fail, which is fine too. */
static int f_bind(struct vgt_ioreq_backend *b, uint32_t r, uint32_t *l)
{
    (void)b;
    *l = r;
    return 0;
}

static int f_unbind(struct vgt_ioreq_backend *b, uint32_t l)
{
    (void)b, (void)l;
    return 0;
}

static int f_fd(struct vgt_ioreq_backend *b)
{
    (void)b;
    return -1;
}

static int f_wait(struct vgt_ioreq_backend *b, int t)
{
    (void)b, (void)t;
    return 0;
}

static int f_pending(struct vgt_ioreq_backend *b)
{
    struct fz *f = F(b);

    if (f->next_port >= sizeof(f->ports))
        return -EAGAIN;
    return f->ports[f->next_port++];
}

static int f_port_op(struct vgt_ioreq_backend *b, uint32_t l)
{
    (void)b, (void)l;
    return 0;
}

static void f_kick(struct vgt_ioreq_backend *b)
{
    (void)b;
}

static int f_claim(struct vgt_ioreq_backend *b)
{
    (void)b;
    return 0;
}

static int f_set_wp(struct vgt_ioreq_backend *b, uint64_t g, uint64_t n, bool p)
{
    (void)b, (void)g, (void)n, (void)p;
    return 0;
}

static void f_unmap(struct vgt_ioreq_backend *b)
{
    (void)b;
}

static void f_destroy(struct vgt_ioreq_backend *b)
{
    (void)b;
}

static const struct vgt_ioreq_backend_ops fz_ops = {
    "fuzz", f_create, f_map_pages, f_range, f_range, f_enable, f_buf_port, f_bind, f_unbind,
    NULL, f_fd, f_wait, f_pending, f_port_op, f_port_op, f_kick, f_claim, f_set_wp,
    f_unmap, f_destroy, NULL /* invalidate: nothing cached */,
};

static struct fz *hv_fz(struct vgt_hv *hv)
{
    return (struct fz *)((char *)hv - offsetof(struct fz, hv));
}

static int h_read(struct vgt_hv *hv, uint64_t gpa, void *buf, size_t len)
{
    if (gpa > RAM || len > RAM - gpa)
        return -EFAULT;
    memcpy(buf, hv_fz(hv)->ram + gpa, len);
    return 0;
}

static int h_write(struct vgt_hv *hv, uint64_t gpa, const void *buf, size_t len)
{
    if (gpa > RAM || len > RAM - gpa)
        return -EFAULT;
    memcpy(hv_fz(hv)->ram + gpa, buf, len);
    return 0;
}

static const struct vgt_hv_ops fz_hv_ops = {.read_gpa = h_read, .write_gpa = h_write};

static uint64_t regs[64];

static int d_read(void *o, const struct vgt_io_access *a, uint64_t *v)
{
    (void)o;
    if (a->size != 1 && a->size != 2 && a->size != 4 && a->size != 8)
        abort(); /* validation must have stopped it */
    *v = regs[a->offset % 64];
    return 0;
}

static int d_write(void *o, const struct vgt_io_access *a, uint64_t v)
{
    (void)o;
    if (a->size != 1 && a->size != 2 && a->size != 4 && a->size != 8)
        abort();
    regs[a->offset % 64] = v;
    return 0;
}

static const struct vgt_io_ops dev_ops = {d_read, d_write};

static int wp(void *o, uint64_t gpa, unsigned size, uint64_t val)
{
    (void)o, (void)gpa, (void)val;
    if (size != 1 && size != 2 && size != 4 && size != 8)
        abort();
    if ((gpa & 0xfff) + size > 0x1000)
        abort(); /* the seam promises no page crossing */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fz f;
    struct vgt_log log = {.level = VGT_LOG_OFF};
    struct vgt_ioreq_server_cfg cfg = {.domid = 1, .log = &log};
    struct vgt_ioreq_server *s;
    uint8_t in[2 + 8 + 8192];
    uint8_t states_before[128];
    bool bufon;

    memset(in, 0, sizeof(in));
    memcpy(in, data, size < sizeof(in) ? size : sizeof(in));
    memset(&f, 0, sizeof(f));
    bufon = in[0] & 1;
    f.nr = 1 + in[1] % 128;
    memcpy(f.ports, in + 2, 8);
    /* Exactly one page each, so ASan sees any access outside. */
    f.sync = malloc(4096);
    f.buf = bufon ? malloc(4096) : NULL;
    memcpy(f.sync, in + 10, 4096);
    if (f.buf)
        memcpy(f.buf, in + 10 + 4096, 4096);
    f.base.ops = &fz_ops;
    f.base.hv = &f.hv;
    f.hv.ops = &fz_hv_ops;
    f.hv.max_gfn = RAM >> 12;
    cfg.bufioreq = bufon;
    if (vgt_ioreq_server_create(&cfg, &f.base, &s) == 0) {
        vgt_ioreq_server_map_range(s, VGT_IO_PORT, 0, 0xff, &dev_ops, NULL, NULL);
        vgt_ioreq_server_map_range(s, VGT_IO_MMIO, 0, 0x1fff, &dev_ops, NULL, NULL);
        vgt_ioreq_server_map_range(s, VGT_IO_MMIO, 0xfffffffffffff000ull, ~0ull, &dev_ops,
                                   NULL, NULL);
        vgt_ioreq_server_map_range(s, VGT_IO_PCI, 0, 0xff, &dev_ops, NULL, NULL);
        vgt_ioreq_server_hv(s)->ops->set_wp_handler(vgt_ioreq_server_hv(s), wp, NULL);
        if (vgt_ioreq_server_start(s) == 0) {
            for (unsigned i = 0; i < f.nr; i++)
                states_before[i] = f.sync->vcpu_ioreq[i].state;
            vgt_ioreq_server_poll(s, 0);
            /* READY slots are answered; others are never moved. */
            for (unsigned i = 0; i < f.nr; i++) {
                uint8_t now = f.sync->vcpu_ioreq[i].state;

                if (states_before[i] == STATE_IOREQ_READY ? now != STATE_IORESP_READY &&
                                                                now != STATE_IOREQ_READY
                                                          : now != states_before[i])
                    abort();
            }
        }
        vgt_ioreq_server_destroy(s);
    }
    free(f.sync);
    free(f.buf);
    return 0;
}
