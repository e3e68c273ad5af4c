/*
 * Idle keep-alive connection client (epoll, single thread).
 *
 *   idle_client HOST PORT NCONNS CONCURRENCY PATH TIMEOUT_S
 *
 * Phase "open": opens NCONNS connections, each sending one HTTP/1.1 GET PATH and
 * reading the whole 200 response, at most CONCURRENCY in flight at once; the
 * connections then stay open and idle. Prints one JSON line and waits for a line
 * on standard input. Phase "verify": sends one more request on every connection
 * that is still open and checks each gets a 200 back. Prints one JSON line, waits
 * for a line (or end of input) on standard input, closes everything and exits.
 * Each phase ends after TIMEOUT_S at the latest (unfinished connections fail).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SLOTBUF 8192

enum { ST_NEW, ST_CONNECTING, ST_READING, ST_IDLE, ST_FAILED };

struct conn {
    int fd;
    int state;
    int slot;
    size_t len;
};

static struct conn *cs;
static char **slots;
static int *free_slots, nfree;
static int ep;
static char req[512];
static size_t reqlen;
static struct sockaddr_in addr;
static char first_error[160];

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void note_error(const char *what, int i) {
    if (!first_error[0]) snprintf(first_error, sizeof first_error, "conn %d: %s", i, what);
}

static void release_slot(struct conn *c) {
    if (c->slot >= 0) { free_slots[nfree++] = c->slot; c->slot = -1; }
}

static void fail(int i, const char *why) {
    struct conn *c = &cs[i];
    note_error(why, i);
    if (c->fd >= 0) { epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL); close(c->fd); c->fd = -1; }
    release_slot(c);
    c->state = ST_FAILED;
}

static int send_request(int i) {
    struct conn *c = &cs[i];
    ssize_t w = send(c->fd, req, reqlen, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w != (ssize_t)reqlen) { fail(i, "short write"); return -1; }
    c->state = ST_READING;
    c->len = 0;
    return 0;
}

/* 1 = complete 200 response, 0 = need more, -1 = bad */
static int response_complete(const char *b, size_t n) {
    const char *end = memmem(b, n, "\r\n\r\n", 4);
    if (!end) return n >= SLOTBUF ? -1 : 0;
    if (n < 12 || memcmp(b + 9, "200", 3) != 0) return -1;
    size_t hlen = (size_t)(end - b) + 4;
    for (const char *p = b; p + 16 < end; p++) {
        if (p[0] == '\n' && strncasecmp(p + 1, "content-length:", 15) == 0) {
            size_t cl = strtoul(p + 16, NULL, 10);
            if (hlen + cl > n) return hlen + cl > SLOTBUF ? -1 : 0;
            return 1;
        }
        if (p[0] == '\n' && strncasecmp(p + 1, "transfer-encoding:", 18) == 0) {
            if (n >= 5 && memcmp(b + n - 5, "0\r\n\r\n", 5) == 0) return 1;
            return n >= SLOTBUF ? -1 : 0;
        }
    }
    return -1;
}

/* Runs one phase over the given connections. Returns elapsed seconds. */
static double run_phase(int verify, int nconns, int conc, double timeout) {
    double t0 = now_s(), deadline = t0 + timeout;
    int next = 0, inflight = 0, finished = 0, todo = 0;
    for (int i = 0; i < nconns; i++)
        if (!verify || cs[i].state == ST_IDLE) todo++;
    struct epoll_event evs[256];
    while (finished < todo && now_s() < deadline) {
        while (inflight < conc && next < nconns) {
            int i = next++;
            struct conn *c = &cs[i];
            if (verify && c->state != ST_IDLE) continue;
            c->slot = free_slots[--nfree];
            inflight++;
            if (!verify) {
                c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
                if (c->fd < 0) { fail(i, "socket() failed (open files limit?)"); inflight--; finished++; continue; }
                int rc = connect(c->fd, (struct sockaddr *)&addr, sizeof addr);
                if (rc < 0 && errno != EINPROGRESS) { fail(i, "connect failed"); inflight--; finished++; continue; }
                c->state = ST_CONNECTING;
                struct epoll_event e = {.events = EPOLLOUT, .data.u32 = (uint32_t)i};
                epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
            } else {
                struct epoll_event e = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
                epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
                if (send_request(i) < 0) { inflight--; finished++; continue; }
            }
        }
        int n = epoll_wait(ep, evs, 256, 50);
        if (n < 0) { if (errno == EINTR) continue; break; }
        for (int k = 0; k < n; k++) {
            int i = (int)evs[k].data.u32;
            struct conn *c = &cs[i];
            if (c->state == ST_CONNECTING) {
                int err = 0;
                socklen_t el = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err) { fail(i, "connect refused/failed"); inflight--; finished++; continue; }
                int one = 1;
                setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                struct epoll_event e = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
                if (send_request(i) < 0) { inflight--; finished++; }
                continue;
            }
            if (c->state != ST_READING) continue;
            char *b = slots[c->slot];
            ssize_t r = recv(c->fd, b + c->len, SLOTBUF - c->len, MSG_DONTWAIT);
            if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            if (r <= 0) { fail(i, r == 0 ? "closed by peer" : "read error"); inflight--; finished++; continue; }
            c->len += (size_t)r;
            int rc = response_complete(b, c->len);
            if (rc == 0) continue;
            if (rc < 0) { fail(i, "bad or non-200 response"); inflight--; finished++; continue; }
            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL); /* idle: not watched */
            release_slot(c);
            c->state = ST_IDLE;
            inflight--;
            finished++;
        }
    }
    /* whatever did not finish in time fails */
    for (int i = 0; i < nconns; i++) {
        struct conn *c = &cs[i];
        if (c->state == ST_CONNECTING || c->state == ST_READING) fail(i, "timed out");
        if (!verify && c->state == ST_NEW) { c->state = ST_FAILED; note_error("not started (timeout)", i); }
    }
    return now_s() - t0;
}

static void report(const char *phase, int nconns, double secs) {
    int ok = 0, failed = 0;
    for (int i = 0; i < nconns; i++) {
        if (cs[i].state == ST_IDLE) ok++;
        else failed++;
    }
    printf("{\"phase\":\"%s\",\"ok\":%d,\"failed\":%d,\"secs\":%.3f,\"first_error\":\"%s\"}\n", phase, ok, failed,
           secs, first_error);
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc < 7) {
        fprintf(stderr, "usage: %s HOST PORT NCONNS CONCURRENCY PATH TIMEOUT_S\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) { rl.rlim_cur = rl.rlim_max; setrlimit(RLIMIT_NOFILE, &rl); }
    int nconns = atoi(argv[3]), conc = atoi(argv[4]);
    double timeout = atof(argv[6]);
    if (nconns < 1 || conc < 1) return 2;
    addr.sin_family = AF_INET;
    addr.sin_port = htons(atoi(argv[2]));
    inet_pton(AF_INET, argv[1], &addr.sin_addr);
    reqlen = (size_t)snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: idle_client\r\n\r\n",
                              argv[5], argv[1], argv[2]);
    cs = calloc((size_t)nconns, sizeof *cs);
    for (int i = 0; i < nconns; i++) { cs[i].fd = -1; cs[i].slot = -1; }
    slots = calloc((size_t)conc, sizeof *slots);
    free_slots = calloc((size_t)conc, sizeof *free_slots);
    for (int s = 0; s < conc; s++) { slots[s] = malloc(SLOTBUF); free_slots[nfree++] = s; }
    ep = epoll_create1(0);

    report("open", nconns, run_phase(0, nconns, conc, timeout));
    char line[64];
    if (!fgets(line, sizeof line, stdin)) return 0;
    first_error[0] = 0;
    report("verify", nconns, run_phase(1, nconns, conc, timeout));
    (void)fgets(line, sizeof line, stdin);
    for (int i = 0; i < nconns; i++)
        if (cs[i].fd >= 0) close(cs[i].fd);
    return 0;
}
