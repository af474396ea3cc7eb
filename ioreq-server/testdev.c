/* The ioreq test device (registers in vgt/testdev.h). */
#include "vgt/testdev.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "vgt/util.h"

struct vgt_testdev {
    struct vgt_ioreq_server *s;
    const struct vgt_log *log;
    int range_id;
    _Atomic uint64_t counter;
    _Atomic uint64_t accesses; /* never reset: for the operator */
    uint64_t scratch[VGT_TESTDEV_MAX_VCPUS];
};

struct testdev_reg {
    uint32_t off;
    const char *name;
    uint64_t (*read)(struct vgt_testdev *d, const struct vgt_io_access *a);
    void (*write)(struct vgt_testdev *d, const struct vgt_io_access *a, uint64_t reg_val);
};

static uint64_t rd_id(struct vgt_testdev *d, const struct vgt_io_access *a)
{
    (void)d, (void)a;
    return VGT_TESTDEV_ID;
}

static uint64_t rd_scratch(struct vgt_testdev *d, const struct vgt_io_access *a)
{
    return d->scratch[a->vcpu];
}

static void wr_scratch(struct vgt_testdev *d, const struct vgt_io_access *a, uint64_t v)
{
    d->scratch[a->vcpu] = v;
}

static uint64_t rd_counter(struct vgt_testdev *d, const struct vgt_io_access *a)
{
    (void)a;
    return atomic_load(&d->counter);
}

static void wr_counter(struct vgt_testdev *d, const struct vgt_io_access *a, uint64_t v)
{
    (void)a, (void)v;
    atomic_store(&d->counter, 0);
}

static uint64_t lanes(unsigned size);

uint64_t vgt_testdev_expect_size(unsigned size)
{
    return (0x0101010101010101ull * size) & lanes(size);
}

static uint64_t rd_size(struct vgt_testdev *d, const struct vgt_io_access *a)
{
    (void)d;
    /* Placed so that the accessed lanes hold the pattern. */
    return vgt_testdev_expect_size(a->size) << (8 * (a->offset & 7));
}

static uint64_t rd_vcpu(struct vgt_testdev *d, const struct vgt_io_access *a)
{
    (void)d;
    return (uint64_t)a->vcpu << (8 * (a->offset & 7));
}

static const struct testdev_reg regs[] = {
    {VGT_TESTDEV_REG_ID, "ID", rd_id, NULL},
    {VGT_TESTDEV_REG_SCRATCH, "SCRATCH", rd_scratch, wr_scratch},
    {VGT_TESTDEV_REG_COUNTER, "COUNTER", rd_counter, wr_counter},
    {VGT_TESTDEV_REG_SIZE, "SIZE", rd_size, NULL},
    {VGT_TESTDEV_REG_VCPU, "VCPU", rd_vcpu, NULL},
};

static const struct testdev_reg *find_reg(uint64_t offset)
{
    for (size_t i = 0; i < VGT_ARRAY_SIZE(regs); i++)
        if (regs[i].off == (offset & ~7ull))
            return &regs[i];
    return NULL;
}

static uint64_t lanes(unsigned size)
{
    return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

/* Guest-controlled: lanes must stay inside one register, the vCPU index
 * inside the banks. */
static int check(struct vgt_testdev *d, const struct vgt_io_access *a)
{
    if ((a->offset & 7) + a->size > 8 || a->vcpu >= VGT_TESTDEV_MAX_VCPUS) {
        vgt_warn(d->log, "testdev: vcpu%u access of %u bytes at +%#llx rejected", a->vcpu,
                 a->size, (unsigned long long)a->offset);
        return -EINVAL;
    }
    atomic_fetch_add(&d->counter, 1);
    atomic_fetch_add(&d->accesses, 1);
    return 0;
}

static int td_read(void *opaque, const struct vgt_io_access *a, uint64_t *val)
{
    struct vgt_testdev *d = opaque;
    const struct testdev_reg *r;
    unsigned shift = 8 * (a->offset & 7);
    int ret = check(d, a);

    if (ret < 0)
        return ret;
    r = find_reg(a->offset);
    *val = r ? (r->read(d, a) >> shift) & lanes(a->size) : 0;
    vgt_debug(d->log, "testdev: vcpu%u read %s+%u/%u = %#llx", a->vcpu, r ? r->name : "-",
              (unsigned)(a->offset & 7), a->size, (unsigned long long)*val);
    return 0;
}

static int td_write(void *opaque, const struct vgt_io_access *a, uint64_t val)
{
    struct vgt_testdev *d = opaque;
    const struct testdev_reg *r;
    unsigned shift = 8 * (a->offset & 7);
    int ret = check(d, a);

    if (ret < 0)
        return ret;
    r = find_reg(a->offset);
    vgt_debug(d->log, "testdev: vcpu%u write %s+%u/%u = %#llx", a->vcpu, r ? r->name : "-",
              (unsigned)(a->offset & 7), a->size, (unsigned long long)val);
    if (r && r->write) {
        uint64_t m = lanes(a->size) << shift;
        uint64_t old = r->read ? r->read(d, a) : 0;

        r->write(d, a, (old & ~m) | ((val << shift) & m));
    }
    return 0;
}

static const struct vgt_io_ops testdev_ops = {td_read, td_write};

int vgt_testdev_attach(struct vgt_ioreq_server *s, uint64_t base, const struct vgt_log *log,
                       struct vgt_testdev **out)
{
    struct vgt_testdev *d;
    int ret;

    if (!s || !out || (base & (VGT_PAGE_SIZE - 1)) || base > ~0ull - VGT_TESTDEV_SIZE)
        return -EINVAL;
    d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    d->s = s;
    d->log = log;
    ret = vgt_ioreq_server_map_range(s, VGT_IO_MMIO, base, base + VGT_TESTDEV_SIZE - 1,
                                     &testdev_ops, d, &d->range_id);
    if (ret < 0) {
        free(d);
        return ret;
    }
    *out = d;
    return 0;
}

void vgt_testdev_detach(struct vgt_testdev *d)
{
    if (!d)
        return;
    vgt_ioreq_server_unmap_range(d->s, d->range_id);
    free(d);
}

uint64_t vgt_testdev_accesses(const struct vgt_testdev *d)
{
    return atomic_load(&((struct vgt_testdev *)d)->accesses);
}
