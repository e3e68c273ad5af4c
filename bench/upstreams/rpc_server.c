/*
 * Benchmark RPC upstream: answers every SOFA Bolt v1 or Dubbo request (the protocol is
 * told by each frame's first byte) with a fixed 100-byte response carrying the
 * request's id. Heartbeats and oneway requests get nothing. Single thread, epoll.
 *
 *   rpc_server PORT
 */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "rpc_frames.h"

#define BUF (256 * 1024)

struct conn { int fd; size_t len; unsigned char in[BUF]; };

static unsigned char bolt_resp[1024], dubbo_resp[1024];
static size_t bolt_resp_len, dubbo_resp_len;

static int serve(struct conn *c) {
    ssize_t r = read(c->fd, c->in + c->len, BUF - c->len);
    if (r <= 0) return -1;
    c->len += (size_t)r;
    unsigned char out[BUF];
    size_t olen = 0, off = 0;
    for (;;) {
        long fl = frame_len(c->in + off, c->len - off);
        if (fl < 0 || fl > BUF) return -1;
        if (fl == 0 || (size_t)fl > c->len - off) break;
        unsigned char *f = c->in + off;
        int bolt = f[0] == 0x01;
        int wants_reply = bolt ? (f[1] == 1 && be16(f + 2) == 1) : ((f[2] & 0xe0) == 0xc0);
        if (wants_reply) {
            const unsigned char *tpl = bolt ? bolt_resp : dubbo_resp;
            size_t tl = bolt ? bolt_resp_len : dubbo_resp_len;
            if (olen + tl > sizeof out) break;
            memcpy(out + olen, tpl, tl);
            if (bolt) memcpy(out + olen + 5, f + 5, 4);
            else memcpy(out + olen + 4, f + 4, 8);
            olen += tl;
        }
        off += (size_t)fl;
    }
    memmove(c->in, c->in + off, c->len - off);
    c->len -= off;
    size_t w = 0;
    while (w < olen) {
        ssize_t n = write(c->fd, out + w, olen - w);
        if (n <= 0) return -1;
        w += (size_t)n;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s PORT\n", argv[0]); return 2; }
    signal(SIGPIPE, SIG_IGN);
    bolt_resp_len = build_frame(BOLT, 1, bolt_resp);
    dubbo_resp_len = build_frame(DUBBO, 1, dubbo_resp);
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1])),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 1024)) { perror("listen"); return 1; }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) {
                int fd = accept(ls, NULL, NULL);
                if (fd < 0) continue;
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                c = calloc(1, sizeof *c);
                c->fd = fd;
                struct epoll_event ce = {.events = EPOLLIN, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ce);
            } else if (serve(c) < 0) {
                close(c->fd);
                free(c);
            }
        }
    }
}
