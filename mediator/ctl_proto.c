/* Control-request and xl-config parsers (see vgt/vgt_ctl.h). */
#include "vgt/vgt_ctl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct cur {
    const char *p, *end;
};

static void skip_ws(struct cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n'))
        c->p++;
}

static int parse_string(struct cur *c, char *out, size_t max)
{
    size_t n = 0;

    if (c->p >= c->end || *c->p != '"')
        return -EINVAL;
    c->p++;
    while (c->p < c->end && *c->p != '"') {
        char ch = *c->p++;

        if (ch == '\\') {
            if (c->p >= c->end || (*c->p != '"' && *c->p != '\\'))
                return -EINVAL;
            ch = *c->p++;
        }
        if ((unsigned char)ch < 0x20 || n + 1 >= max)
            return -EINVAL;
        out[n++] = ch;
    }
    if (c->p >= c->end)
        return -EINVAL;
    c->p++;
    out[n] = 0;
    return 0;
}

static int parse_num(struct cur *c, uint64_t *out)
{
    uint64_t v = 0;
    const char *start = c->p;

    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        unsigned d = (unsigned)(*c->p - '0');

        if (v > (UINT64_MAX - d) / 10)
            return -ERANGE;
        v = v * 10 + d;
        c->p++;
    }
    if (c->p == start)
        return -EINVAL;
    *out = v;
    return 0;
}

static bool match(struct cur *c, const char *word)
{
    size_t n = strlen(word);

    if ((size_t)(c->end - c->p) >= n && !memcmp(c->p, word, n)) {
        c->p += n;
        return true;
    }
    return false;
}

int vgt_ctl_parse(const char *s, size_t len, struct vgt_ctl_msg *m, const char **why)
{
    struct cur c = {s, s + len};
    const char *dummy;

    if (!why)
        why = &dummy;
    memset(m, 0, sizeof(*m));
    skip_ws(&c);
    if (c.p >= c.end || *c.p++ != '{') {
        *why = "a request is one JSON object";
        return -EINVAL;
    }
    skip_ws(&c);
    if (c.p < c.end && *c.p == '}') {
        c.p++;
        goto tail;
    }
    for (;;) {
        struct vgt_ctl_field *f;

        if (m->n == VGT_CTL_MAX_FIELDS) {
            *why = "too many fields";
            return -EINVAL;
        }
        f = &m->f[m->n];
        skip_ws(&c);
        if (parse_string(&c, f->key, sizeof(f->key))) {
            *why = "bad or too long key";
            return -EINVAL;
        }
        if (vgt_ctl_get(m, f->key)) {
            *why = "duplicate key";
            return -EINVAL;
        }
        skip_ws(&c);
        if (c.p >= c.end || *c.p++ != ':') {
            *why = "expected ':'";
            return -EINVAL;
        }
        skip_ws(&c);
        if (c.p < c.end && *c.p == '"') {
            f->kind = VGT_CTL_STR;
            if (parse_string(&c, f->str, sizeof(f->str))) {
                *why = "bad or too long string";
                return -EINVAL;
            }
        } else if (match(&c, "true")) {
            f->kind = VGT_CTL_BOOL;
            f->num = 1;
        } else if (match(&c, "false")) {
            f->kind = VGT_CTL_BOOL;
        } else {
            f->kind = VGT_CTL_NUM;
            if (parse_num(&c, &f->num)) {
                *why = "values are strings, unsigned integers or booleans";
                return -EINVAL;
            }
        }
        m->n++;
        skip_ws(&c);
        if (c.p < c.end && *c.p == ',') {
            c.p++;
            continue;
        }
        if (c.p < c.end && *c.p == '}') {
            c.p++;
            break;
        }
        *why = "expected ',' or '}'";
        return -EINVAL;
    }
tail:
    skip_ws(&c);
    if (c.p != c.end) {
        *why = "trailing bytes after the object";
        return -EINVAL;
    }
    return 0;
}

const struct vgt_ctl_field *vgt_ctl_get(const struct vgt_ctl_msg *m, const char *key)
{
    for (unsigned i = 0; i < m->n; i++)
        if (!strcmp(m->f[i].key, key))
            return &m->f[i];
    return NULL;
}

const char *vgt_ctl_str(const struct vgt_ctl_msg *m, const char *key)
{
    const struct vgt_ctl_field *f = vgt_ctl_get(m, key);

    return f && f->kind == VGT_CTL_STR ? f->str : NULL;
}

int vgt_ctl_num(const struct vgt_ctl_msg *m, const char *key, uint64_t *out)
{
    const struct vgt_ctl_field *f = vgt_ctl_get(m, key);

    if (!f)
        return -ENOENT;
    if (f->kind != VGT_CTL_NUM)
        return -EINVAL;
    *out = f->num;
    return 0;
}

/* ---- xl config ---- */

static bool is_key_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_';
}

int vgt_parse_resolution(const char *s, size_t len, uint32_t *w, uint32_t *h)
{
    uint64_t v[2] = {0, 0};
    unsigned k = 0, digits = 0;

    for (size_t i = 0; i < len; i++) {
        if (s[i] >= '0' && s[i] <= '9' && digits < 6) {
            v[k] = v[k] * 10 + (uint64_t)(s[i] - '0');
            digits++;
        } else if (s[i] == 'x' && k == 0 && digits) {
            k = 1;
            digits = 0;
        } else {
            return -EINVAL;
        }
    }
    if (k != 1 || !digits)
        return -EINVAL;
    *w = (uint32_t)v[0];
    *h = (uint32_t)v[1];
    return 0;
}

static int xl_value_num(const char *v, size_t n, uint64_t *out)
{
    struct cur c = {v, v + n};

    if (parse_num(&c, out) || c.p != c.end)
        return -EINVAL;
    return 0;
}

int vgt_xl_parse(const char *text, size_t len, struct vgt_xl_keys *k, char *err, size_t errlen)
{
    const char *p = text, *end = text + len;
    unsigned line = 0;
    int depth = 0; /* inside a [list] spanning lines */

    memset(k, 0, sizeof(*k));
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *l = p, *le = eol ? eol : end, *key, *ke, *v, *ve;
        char quote = 0;

        p = eol ? eol + 1 : end;
        line++;
        /* Cut the comment (outside quotes) and track list brackets. */
        for (const char *q = l; q < le; q++) {
            if (quote) {
                if (*q == quote)
                    quote = 0;
            } else if (*q == '"' || *q == '\'') {
                quote = *q;
            } else if (*q == '#') {
                le = q;
                break;
            }
        }
        if (depth > 0) {
            for (const char *q = l; q < le; q++)
                depth += (*q == '[') - (*q == ']');
            continue;
        }
        while (l < le && (*l == ' ' || *l == '\t' || *l == '\r'))
            l++;
        while (le > l && (le[-1] == ' ' || le[-1] == '\t' || le[-1] == '\r' || le[-1] == ';'))
            le--;
        if (l == le)
            continue;
        key = l;
        while (l < le && is_key_char(*l))
            l++;
        ke = l;
        while (l < le && (*l == ' ' || *l == '\t'))
            l++;
        if (ke == key || l >= le || *l != '=') {
            snprintf(err, errlen, "line %u: expected KEY = VALUE", line);
            return -EINVAL;
        }
        l++;
        while (l < le && (*l == ' ' || *l == '\t'))
            l++;
        v = l;
        ve = le;
        if (v == ve) {
            snprintf(err, errlen, "line %u: '%.*s' has no value", line, (int)(ke - key), key);
            return -EINVAL;
        }
        if (*v == '[') {
            for (const char *q = v; q < ve; q++)
                depth += (*q == '[') - (*q == ']');
            continue;
        }
#define KEY_IS(s) ((size_t)(ke - key) == strlen(s) && !memcmp(key, s, strlen(s)))
        if (KEY_IS("name")) {
            if (ve - v < 2 || (*v != '"' && *v != '\'') || ve[-1] != *v ||
                (size_t)(ve - v - 2) >= sizeof(k->name) || ve - v - 2 == 0) {
                snprintf(err, errlen, "line %u: name must be a quoted string of 1..63 characters", line);
                return -EINVAL;
            }
            memcpy(k->name, v + 1, (size_t)(ve - v - 2));
            k->name[ve - v - 2] = 0;
        } else if (KEY_IS("vgt_resolution")) {
            if (ve - v < 2 || (*v != '"' && *v != '\'') || ve[-1] != *v ||
                vgt_parse_resolution(v + 1, (size_t)(ve - v - 2), &k->res_w, &k->res_h)) {
                snprintf(err, errlen, "line %u: vgt_resolution must be a quoted \"WxH\"", line);
                return -EINVAL;
            }
            k->have_res = true;
        } else if (KEY_IS("vgt") || KEY_IS("vgt_low_gm_sz") || KEY_IS("vgt_high_gm_sz") ||
                   KEY_IS("vgt_fence_sz") || KEY_IS("vgt_max_heads") || KEY_IS("memory")) {
            uint64_t n;

            if (xl_value_num(v, (size_t)(ve - v), &n)) {
                snprintf(err, errlen, "line %u: %.*s must be a non-negative integer", line,
                         (int)(ke - key), key);
                return -EINVAL;
            }
            if (KEY_IS("vgt")) {
                k->vgt = n != 0;
            } else if (KEY_IS("vgt_low_gm_sz")) {
                k->low_mb = n;
                k->have_low = true;
            } else if (KEY_IS("vgt_high_gm_sz")) {
                k->high_mb = n;
                k->have_high = true;
            } else if (KEY_IS("vgt_fence_sz")) {
                k->fences = n;
                k->have_fence = true;
            } else if (KEY_IS("vgt_max_heads")) {
                k->heads = n;
                k->have_heads = true;
            } else {
                k->memory_mb = n;
                k->have_memory = true;
            }
        }
#undef KEY_IS
    }
    if (depth > 0) {
        snprintf(err, errlen, "unterminated [list] at end of file");
        return -EINVAL;
    }
    return 0;
}
