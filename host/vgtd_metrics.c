/* vgtd's Prometheus endpoint (see vgtd_metrics.h). */
#include "vgtd_metrics.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#ifdef VGT_HAVE_MHD
#include <microhttpd.h>

#include "host_report.h"

struct vgtd_metrics {
    struct vgpu_host *host;
    const struct vgt_log *log;
    struct MHD_Daemon *mhd;
};

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             char *body, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    enum MHD_Result ret;

    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result text(struct MHD_Connection *c, unsigned status, const char *msg)
{
    char *b = strdup(msg);

    return b ? reply(c, status, "text/plain; charset=utf-8", b, strlen(b)) : MHD_NO;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *data_len, void **req_cls)
{
    struct vgtd_metrics *m = cls;
    struct vgpu_host_snap *s;
    char *body = NULL;
    size_t len = 0;
    FILE *o;

    (void)version;
    (void)data;
    /* First call per request: headers only; answer on the second. */
    if (!*req_cls) {
        *req_cls = m;
        return MHD_YES;
    }
    if (*data_len)
        return text(c, MHD_HTTP_BAD_REQUEST, "vgtd: /metrics takes no request body\n");
    if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
        return text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "vgtd: only GET /metrics\n");
    if (strcmp(url, "/metrics") && strcmp(url, "/"))
        return text(c, MHD_HTTP_NOT_FOUND, "vgtd: only GET /metrics\n");
    s = malloc(sizeof(*s));
    o = s ? open_memstream(&body, &len) : NULL;
    if (!o) {
        free(s);
        return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "vgtd: out of memory\n");
    }
    vgpu_host_snapshot(m->host, s);
    host_report_prometheus(s, o);
    free(s);
    if (fclose(o) || !body) {
        free(body);
        return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "vgtd: out of memory\n");
    }
    return reply(c, MHD_HTTP_OK, PROM_CONTENT_TYPE, body, len);
}

/* "HOST:PORT" or "[V6]:PORT" into a socket address. */
static int parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *sl, char *err,
                      size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char host[256];
    const char *colon, *port;
    size_t hl;
    int rc;

    if (addr[0] == '[') {
        const char *rb = strchr(addr, ']');

        if (!rb || rb[1] != ':')
            goto bad;
        hl = (size_t)(rb - addr - 1);
        memcpy(host, addr + 1, hl < sizeof(host) ? hl : 0);
        port = rb + 2;
    } else {
        colon = strrchr(addr, ':');
        if (!colon)
            goto bad;
        hl = (size_t)(colon - addr);
        if (hl < sizeof(host))
            memcpy(host, addr, hl);
        port = colon + 1;
    }
    if (hl == 0 || hl >= sizeof(host) || !*port || strspn(port, "0123456789") != strlen(port) ||
        atol(port) > 65535)
        goto bad;
    host[hl] = 0;
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc) {
        snprintf(err, errlen, "--metrics %s: %s", addr, gai_strerror(rc));
        return -EINVAL;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *sl = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
bad:
    snprintf(err, errlen, "--metrics '%s': give ADDR:PORT (e.g. 127.0.0.1:9478 or [::1]:9478)",
             addr);
    return -EINVAL;
}

int vgtd_metrics_start(struct vgpu_host *h, const char *addr, const struct vgt_log *log,
                       struct vgtd_metrics **out, uint16_t *port, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    struct vgtd_metrics *m;
    const union MHD_DaemonInfo *info;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    int ret;

    ret = parse_addr(addr, &ss, &sl, err, errlen);
    if (ret)
        return ret;
    m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->host = h;
    m->log = log;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* A few scrapers at a time, each briefly: keep the thread's load and
     * memory bounded whatever connects. */
    m->mhd = MHD_start_daemon(flags, 0, NULL, NULL, handle, m, MHD_OPTION_SOCK_ADDR,
                              (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT, 16u,
                              MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    if (!m->mhd) {
        snprintf(err, errlen, "--metrics %s: cannot listen there (in use, or not an address of this host)",
                 addr);
        free(m);
        return -EADDRNOTAVAIL;
    }
    info = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_BIND_PORT);
    *port = info ? info->port : 0;
    (void)sl;
    *out = m;
    return 0;
}

void vgtd_metrics_stop(struct vgtd_metrics *m)
{
    if (!m)
        return;
    MHD_stop_daemon(m->mhd);
    free(m);
}

#else /* built without libmicrohttpd */

int vgtd_metrics_start(struct vgpu_host *h, const char *addr, const struct vgt_log *log,
                       struct vgtd_metrics **out, uint16_t *port, char *err, size_t errlen)
{
    (void)h;
    (void)addr;
    (void)log;
    (void)out;
    (void)port;
    snprintf(err, errlen, "--metrics: vgtd was built without libmicrohttpd (libmicrohttpd-dev)");
    return -EOPNOTSUPP;
}

void vgtd_metrics_stop(struct vgtd_metrics *m)
{
    (void)m;
}

#endif
