/* Running xl (or a stand-in script on PATH, in tests) for vgt up/down. */
#ifndef VGT_TOOLS_XL_H
#define VGT_TOOLS_XL_H

#include <stddef.h>

/* Run argv (argv[0] looked up on PATH); capture stdout into @out when
 * non-NULL. Returns the exit status, or -errno when it could not run. */
int vgt_run(char *const argv[], char *out, size_t outlen);

#endif
