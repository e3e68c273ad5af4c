/*
 * Benchmark upstream: a single-threaded TCP echo server (epoll).
 *
 *   tcp_echo PORT
 *
 * Listens on 127.0.0.1:PORT and writes back every byte it reads. When the peer
 * is slow to read, it stops reading until its pending output has drained.
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
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF 65536
#define MAXFD 65536

struct conn {
    int fd;
    size_t len, off; /* pending output in buf[off..len) */
    char buf[BUF];
};

static struct conn *conns[MAXFD];
static int ep;

static void conn_close(struct conn *c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    conns[c->fd] = NULL;
    free(c);
}

static void set_events(struct conn *c, unsigned ev) {
    struct epoll_event e = {.events = ev, .data.fd = c->fd};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
}

/* 1 = drained, 0 = would block, -1 = error */
static int flush_out(struct conn *c) {
    while (c->off < c->len) {
        ssize_t w = write(c->fd, c->buf + c->off, c->len - c->off);
        if (w > 0) { c->off += (size_t)w; continue; }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
        return -1;
    }
    c->off = c->len = 0;
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s PORT\n", argv[0]); return 2; }
    signal(SIGPIPE, SIG_IGN);
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
                    struct conn *c = malloc(sizeof *c);
                    c->fd = cfd;
                    c->len = c->off = 0;
                    conns[cfd] = c;
                    struct epoll_event ce = {.events = EPOLLIN, .data.fd = cfd};
                    epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ce);
                }
                continue;
            }
            struct conn *c = conns[fd];
            if (!c) continue;
            if (c->len > c->off) { /* draining */
                int rc = flush_out(c);
                if (rc < 0) { conn_close(c); continue; }
                if (rc > 0) set_events(c, EPOLLIN);
                continue;
            }
            ssize_t r = read(fd, c->buf, BUF);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR && errno != EWOULDBLOCK)) {
                conn_close(c);
                continue;
            }
            if (r < 0) continue;
            c->len = (size_t)r;
            c->off = 0;
            int rc = flush_out(c);
            if (rc < 0) { conn_close(c); continue; }
            if (rc == 0) set_events(c, EPOLLOUT);
        }
    }
}
