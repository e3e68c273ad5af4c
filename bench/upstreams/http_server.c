/*
 * Benchmark upstream: a minimal single-threaded HTTP/1.1 keep-alive server (epoll).
 *
 *   http_server PORT
 *
 * Listens on 127.0.0.1:PORT. Every request is answered 200 with a fixed body:
 * 16384 bytes when the path starts with "/16k", 100 bytes otherwise. Keep-alive
 * unless the request says "Connection: close" (or is HTTP/1.0 without keep-alive).
 * Pipelined requests are answered in order. Request bodies (Content-Length) are
 * skipped. Built by bench/run.py with `cc -O2`; no dependencies beyond libc.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define INBUF 16384
#define MAXFD 65536
#define SMALL 100
#define BIG 16384

struct conn {
    int fd;
    int close_after;     /* close once the output drains */
    size_t inlen;        /* bytes in in[] */
    size_t skip;         /* request-body bytes still to discard */
    char *out;           /* pending output (heap) */
    size_t outlen, outoff, outcap;
    char in[INBUF];
};

static struct conn *conns[MAXFD];
static int ep;
static char *resp_small, *resp_big;
static size_t resp_small_len, resp_big_len;

static char *make_resp(size_t body, size_t *len) {
    char head[256];
    int h = snprintf(head, sizeof head,
                     "HTTP/1.1 200 OK\r\nServer: bench\r\nContent-Type: text/plain\r\n"
                     "Content-Length: %zu\r\n\r\n", body);
    char *r = malloc(h + body);
    memcpy(r, head, h);
    for (size_t i = 0; i < body; i++) r[h + i] = 'a' + (i % 26);
    if (body) r[h + body - 1] = '\n';
    *len = h + body;
    return r;
}

static void conn_close(struct conn *c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    conns[c->fd] = NULL;
    free(c->out);
    free(c);
}

static void set_events(struct conn *c, unsigned ev) {
    struct epoll_event e = {.events = ev, .data.fd = c->fd};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
}

/* Queue bytes for output (only used when a write was partial). */
static void out_append(struct conn *c, const char *p, size_t n) {
    if (c->outlen + n > c->outcap) {
        size_t cap = c->outcap ? c->outcap : 32768;
        while (cap < c->outlen + n) cap *= 2;
        c->out = realloc(c->out, cap);
        c->outcap = cap;
    }
    memcpy(c->out + c->outlen, p, n);
    c->outlen += n;
}

/* Write what we can; returns -1 on a fatal error. */
static int send_bytes(struct conn *c, const char *p, size_t n) {
    if (c->outlen > c->outoff) { out_append(c, p, n); return 0; }
    while (n > 0) {
        ssize_t w = write(c->fd, p, n);
        if (w > 0) { p += w; n -= (size_t)w; continue; }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->outlen = c->outoff = 0;
            out_append(c, p, n);
            set_events(c, EPOLLOUT);
            return 0;
        }
        return -1;
    }
    return 0;
}

static int flush_out(struct conn *c) {
    while (c->outoff < c->outlen) {
        ssize_t w = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
        if (w > 0) { c->outoff += (size_t)w; continue; }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
        return -1;
    }
    c->outlen = c->outoff = 0;
    return 1;
}

static const char *find_ci(const char *h, size_t n, const char *needle) {
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (strncasecmp(h + i, needle, k) == 0) return h + i;
    return NULL;
}

/* Parse and answer every complete request in the input buffer.
 * Returns -1 to close the connection now. */
static int handle_input(struct conn *c) {
    size_t pos = 0;
    for (;;) {
        if (c->skip) {
            size_t take = c->inlen - pos < c->skip ? c->inlen - pos : c->skip;
            pos += take;
            c->skip -= take;
            if (c->skip) break;
        }
        if (c->close_after) break;
        char *start = c->in + pos;
        size_t avail = c->inlen - pos;
        char *end = memmem(start, avail, "\r\n\r\n", 4);
        if (!end) break;
        size_t hlen = (size_t)(end - start) + 4;
        int big = 0;
        char *sp = memchr(start, ' ', hlen);
        if (sp && hlen - (size_t)(sp - start) > 5 && strncmp(sp + 1, "/16k", 4) == 0) big = 1;
        const char *eol = memmem(start, hlen, "\r\n", 2);
        int http10 = eol && eol - start >= 8 && memcmp(eol - 8, "HTTP/1.0", 8) == 0;
        const char *cl = find_ci(start, hlen, "\r\ncontent-length:");
        if (cl) c->skip = strtoul(cl + 17, NULL, 10);
        if (find_ci(start, hlen, "\r\nconnection: close")) c->close_after = 1;
        if (http10 && !find_ci(start, hlen, "\r\nconnection: keep-alive")) c->close_after = 1;
        pos += hlen;
        int rc;
        if (c->close_after) {
            /* same response plus Connection: close */
            const char *r = big ? resp_big : resp_small;
            size_t rl = big ? resp_big_len : resp_small_len;
            const char *hdr_end = strstr(r, "\r\n") + 2; /* after status line */
            size_t first = (size_t)(hdr_end - r);
            rc = send_bytes(c, r, first);
            if (rc == 0) rc = send_bytes(c, "Connection: close\r\n", 19);
            if (rc == 0) rc = send_bytes(c, r + first, rl - first);
        } else {
            rc = big ? send_bytes(c, resp_big, resp_big_len) : send_bytes(c, resp_small, resp_small_len);
        }
        if (rc < 0) return -1;
    }
    if (pos > 0) {
        memmove(c->in, c->in + pos, c->inlen - pos);
        c->inlen -= pos;
    }
    if (c->inlen == INBUF) return -1; /* header too large */
    if (c->close_after && c->outlen == c->outoff) {
        shutdown(c->fd, SHUT_WR);
        return -1;
    }
    return 0;
}

static void on_readable(struct conn *c) {
    for (;;) {
        if (c->inlen == INBUF) { conn_close(c); return; }
        ssize_t r = read(c->fd, c->in + c->inlen, INBUF - c->inlen);
        if (r > 0) {
            c->inlen += (size_t)r;
            if (handle_input(c) < 0) { conn_close(c); return; }
            return; /* level-triggered: epoll reports any bytes still unread */
        }
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        conn_close(c);
        return;
    }
}

static void on_writable(struct conn *c) {
    int rc = flush_out(c);
    if (rc < 0) { conn_close(c); return; }
    if (rc == 0) return;
    if (c->close_after) { shutdown(c->fd, SHUT_WR); conn_close(c); return; }
    set_events(c, EPOLLIN);
    /* requests may be waiting in the buffer */
    if (handle_input(c) < 0) { conn_close(c); return; }
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s PORT\n", argv[0]); return 2; }
    signal(SIGPIPE, SIG_IGN);
    resp_small = make_resp(SMALL, &resp_small_len);
    resp_big = make_resp(BIG, &resp_big_len);

    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 4096) < 0) {
        perror("bind/listen");
        return 1;
    }
    ep = epoll_create1(0);
    struct epoll_event e = {.events = EPOLLIN, .data.fd = ls};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &e);
    struct epoll_event evs[512];
    for (;;) {
        int n = epoll_wait(ep, evs, 512, -1);
        if (n < 0) { if (errno == EINTR) continue; perror("epoll_wait"); return 1; }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == ls) {
                for (;;) {
                    int cfd = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
                    if (cfd < 0) break;
                    if (cfd >= MAXFD) { close(cfd); continue; }
                    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct conn *c = calloc(1, sizeof *c);
                    c->fd = cfd;
                    conns[cfd] = c;
                    struct epoll_event ce = {.events = EPOLLIN, .data.fd = cfd};
                    epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ce);
                }
                continue;
            }
            struct conn *c = conns[fd];
            if (!c) continue;
            if (evs[i].events & EPOLLOUT) { on_writable(c); if (!conns[fd]) continue; }
            if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                if (c->outlen > c->outoff && !(evs[i].events & (EPOLLERR | EPOLLHUP))) continue;
                on_readable(c);
            }
        }
    }
}
