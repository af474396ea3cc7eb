/* Running external programs for vgt up/down (see vgt_xl.h). */
#include "vgt_xl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int vgt_run(char *const argv[], char *out, size_t outlen)
{
    int pfd[2] = {-1, -1}, st;
    size_t n = 0;
    pid_t pid;

    if (out && pipe(pfd))
        return -errno;
    pid = fork();
    if (pid < 0) {
        int e = errno;

        if (out) {
            close(pfd[0]);
            close(pfd[1]);
        }
        return -e;
    }
    if (pid == 0) {
        if (out) {
            dup2(pfd[1], 1);
            close(pfd[0]);
            close(pfd[1]);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    if (out) {
        ssize_t r;

        close(pfd[1]);
        while (n + 1 < outlen && (r = read(pfd[0], out + n, outlen - 1 - n)) > 0)
            n += (size_t)r;
        out[n] = 0;
        close(pfd[0]);
    }
    if (waitpid(pid, &st, 0) < 0)
        return -errno;
    if (!WIFEXITED(st))
        return -EINTR;
    return WEXITSTATUS(st) == 127 ? -ENOENT : WEXITSTATUS(st);
}
