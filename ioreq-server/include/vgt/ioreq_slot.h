/* The state of a synchronous ioreq slot, as one atomic byte.
 *
 * The protocol's ordering (fields, then state READY; state, then fields;
 * data, then IORESP_READY) hangs on the 4-bit `state` field of Xen's
 * ioreq_t (xen/include/public/hvm/ioreq.h: `_pad0`, then state:4,
 * data_is_ptr:1, dir:1, df:1, _pad1:1 in one byte, then `type`). A
 * bitfield cannot be atomic, so its byte is accessed with acquire/release
 * atomics: the compiler and ThreadSanitizer see the hand-over that the
 * plain access plus xen_rmb/xen_wmb left implicit (the TSan race between
 * the simulated vCPU's send_sync and the server's handle_port). The
 * x86-64 SysV and AArch64 AAPCS ABIs allocate the first bitfield in the
 * low-order bits, so state is bits 3..0 of that byte. */
#ifndef VGT_IOREQ_SLOT_H
#define VGT_IOREQ_SLOT_H

#include <stddef.h>
#include <stdint.h>
#include <xen/hvm/ioreq.h>

_Static_assert(offsetof(ioreq_t, type) == offsetof(ioreq_t, _pad0) + sizeof(uint16_t) + 1,
               "ioreq_t: the state bitfield's byte sits between _pad0 and type");

static inline uint8_t *vgt_ioreq_state_byte(volatile ioreq_t *p)
{
    return (uint8_t *)p + offsetof(ioreq_t, type) - 1;
}

static inline unsigned vgt_ioreq_state(volatile ioreq_t *p)
{
    return __atomic_load_n(vgt_ioreq_state_byte(p), __ATOMIC_ACQUIRE) & 0xfu;
}

/* Only the side that owns the slot in the current phase writes the byte,
 * so keeping the other bits with a plain read is enough. */
static inline void vgt_ioreq_set_state(volatile ioreq_t *p, unsigned state)
{
    uint8_t *b = vgt_ioreq_state_byte(p);
    uint8_t v = __atomic_load_n(b, __ATOMIC_RELAXED);

    __atomic_store_n(b, (uint8_t)((v & 0xf0u) | (state & 0xfu)), __ATOMIC_RELEASE);
}

/* The vCPU's side: the request's fields, then its flags and READY in one
 * release store of the byte (a server looking at a spurious wake-up reads
 * that byte, so the flags are not written to it one by one). */
static inline void vgt_ioreq_publish(volatile ioreq_t *slot, const ioreq_t *req)
{
    ioreq_t t = *req;

    slot->addr = t.addr;
    slot->data = t.data;
    slot->count = t.count;
    slot->size = t.size;
    slot->type = t.type;
    t.state = STATE_IOREQ_READY;
    __atomic_store_n(vgt_ioreq_state_byte(slot), *vgt_ioreq_state_byte(&t), __ATOMIC_RELEASE);
}

#endif
