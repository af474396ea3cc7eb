/* Persistent-mode harnesses build their platform once per process and
 * reset it after every input. VGT_FUZZ_FRESH=1 in the environment makes
 * them build it anew for every input instead: run a crash input both ways
 * to tell a bug of the input from state an earlier input left behind. */
#ifndef VGT_FUZZ_FRESH_H
#define VGT_FUZZ_FRESH_H

#include <stdbool.h>
#include <stdlib.h>

static inline bool fuzz_fresh(void)
{
    static int fresh = -1;

    if (fresh < 0) {
        const char *e = getenv("VGT_FUZZ_FRESH");

        fresh = e && *e && *e != '0';
    }
    return fresh;
}

#endif
