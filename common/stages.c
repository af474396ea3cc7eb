/* Staged bring-up and teardown (see vgt/stages.h). */
#include "vgt/stages.h"

void vgt_stages_down(const struct vgt_stage *st, unsigned *up, unsigned to, void *obj,
                     const struct vgt_stage_hook *hook)
{
    while (*up > to) {
        const struct vgt_stage *s = &st[--*up];

        if (s->down)
            s->down(obj);
        if (hook && hook->fn)
            hook->fn(hook->opaque, s->name, 0);
    }
}

int vgt_stages_up(const struct vgt_stage *st, unsigned n, unsigned *up, void *obj,
                  const void *arg, const struct vgt_stage_hook *hook, const char **failed,
                  char *err, size_t errlen)
{
    unsigned from = *up;
    int ret = 0;

    while (*up < n) {
        const struct vgt_stage *s = &st[*up];

        ret = hook && hook->fn ? hook->fn(hook->opaque, s->name, 1) : 0;
        if (!ret && s->up)
            ret = s->up(obj, arg, err, errlen);
        if (ret) {
            if (failed)
                *failed = s->name;
            /* a stage that failed undid its own part: only earlier ones */
            vgt_stages_down(st, up, from, obj, hook);
            return ret;
        }
        ++*up;
    }
    return 0;
}
