/* Fuzz the operator-facing parsers of the vGPU daemon: control-socket
 * requests (flat JSON) and xl configs. The first input byte picks which.
 * Invariants: no crash, results NUL-terminated and within bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/vgt_ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1) {
        struct vgt_ctl_msg m;
        const char *why = NULL;

        if (vgt_ctl_parse((const char *)data + 1, size - 1, &m, &why) == 0) {
            if (m.n > VGT_CTL_MAX_FIELDS)
                abort();
            for (unsigned i = 0; i < m.n; i++)
                if (strlen(m.f[i].key) >= VGT_CTL_KEY_MAX || strlen(m.f[i].str) >= VGT_CTL_STR_MAX)
                    abort();
        } else if (!why) {
            abort(); /* every refusal says why */
        }
    } else {
        struct vgt_xl_keys k;
        char err[128];

        err[0] = 0;
        if (vgt_xl_parse((const char *)data + 1, size - 1, &k, err, sizeof(err)) == 0) {
            if (strlen(k.name) >= sizeof(k.name))
                abort();
        } else if (!err[0]) {
            abort();
        }
    }
    return 0;
}
