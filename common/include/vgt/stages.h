/* Staged bring-up and teardown of one object, as Paul Durrant's demu does
 * it: the object's stages are a const table in bring-up order, each with
 * an `up` and the `down` that undoes it. vgt_stages_up() runs them in
 * order and, when one fails, runs the downs of the stages already up, in
 * reverse; vgt_stages_down() undoes every stage that is up, in reverse.
 * The object records how many stages are up (*up), so one function tears
 * down a half-built object and a whole one alike, and nothing is undone
 * twice.
 *
 * A test may pass a hook: called before each up (a non-zero return fails
 * that stage with that -errno, as if its up had) and after each down
 * (return ignored), so that a failure can be injected at every stage and
 * the downs checked. NULL in the programs. */
#ifndef VGT_STAGES_H
#define VGT_STAGES_H

#include <stddef.h>

struct vgt_stage {
    const char *name;
    /* 0 or -errno (with a sentence in @err when it has one). */
    int (*up)(void *obj, const void *arg, char *err, size_t errlen);
    void (*down)(void *obj); /* NULL: nothing to undo */
};

struct vgt_stage_hook {
    int (*fn)(void *opaque, const char *stage, int up);
    void *opaque;
};

/* Runs stages *up .. n-1; on failure undoes them back to where *up was
 * on entry. Returns 0 or the failing stage's -errno; *failed (may be NULL)
 * names that stage. */
int vgt_stages_up(const struct vgt_stage *st, unsigned n, unsigned *up, void *obj,
                  const void *arg, const struct vgt_stage_hook *hook, const char **failed,
                  char *err, size_t errlen);
/* Undoes stages *up-1 .. @to (in reverse); *up becomes @to. */
void vgt_stages_down(const struct vgt_stage *st, unsigned *up, unsigned to, void *obj,
                     const struct vgt_stage_hook *hook);

#endif
