/* Parsers for what operators hand the vGPU daemon: control-socket
 * requests (one flat JSON object per line) and the vgt keys of an xl
 * domain config. Both take untrusted bytes (fuzz/fuzz_vgpu_ctl.c). */
#ifndef VGT_CTL_H
#define VGT_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A vGPU in a list/status answer has 36 fields (vgt list parses it). */
#define VGT_CTL_MAX_FIELDS 48
#define VGT_CTL_KEY_MAX 32
#define VGT_CTL_STR_MAX 128

enum vgt_ctl_kind { VGT_CTL_STR = 1, VGT_CTL_NUM = 2, VGT_CTL_BOOL = 3 };

struct vgt_ctl_field {
    char key[VGT_CTL_KEY_MAX];
    enum vgt_ctl_kind kind;
    char str[VGT_CTL_STR_MAX];
    uint64_t num; /* NUM (non-negative integers) and BOOL */
};

struct vgt_ctl_msg {
    unsigned n;
    struct vgt_ctl_field f[VGT_CTL_MAX_FIELDS];
};

/* A flat object: {"key": "string" | unsigned integer | true | false, ...}.
 * No nesting, no escapes other than \" and \\. -EINVAL with a reason. */
int vgt_ctl_parse(const char *s, size_t len, struct vgt_ctl_msg *m, const char **why);
const struct vgt_ctl_field *vgt_ctl_get(const struct vgt_ctl_msg *m, const char *key);
/* Convenience: the string / number of @key, or NULL / -ENOENT / -EINVAL
 * when missing or of another kind. */
const char *vgt_ctl_str(const struct vgt_ctl_msg *m, const char *key);
int vgt_ctl_num(const struct vgt_ctl_msg *m, const char *key, uint64_t *out);

/* The keys of an xl config vgt cares about. */
struct vgt_xl_keys {
    char name[64];
    bool vgt;
    bool have_low, have_high, have_fence, have_memory;
    uint64_t low_mb, high_mb, fences, memory_mb;
    /* vgt_max_heads = N, vgt_resolution = "WxH" (XAPI's max_heads and
     * resolution; docs/display.md): checked by vgt_vgpu_res_display. */
    bool have_heads, have_res;
    uint64_t heads;
    uint32_t res_w, res_h;
};

/* "WxH" (decimal, e.g. "2560x1440", nothing after): 0 or -EINVAL. */
int vgt_parse_resolution(const char *s, size_t len, uint32_t *w, uint32_t *h);

/* xl config syntax (xl.cfg(5)): KEY = VALUE lines, '#' comments, VALUE a
 * number, a "string" or '...' string, or a [list] (skipped). Errors name
 * the line. */
int vgt_xl_parse(const char *text, size_t len, struct vgt_xl_keys *k, char *err, size_t errlen);

#endif
