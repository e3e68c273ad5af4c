/*
 * Benchmark RPC load client: SOFA Bolt v1 or Dubbo requests over N connections, one in
 * flight per connection (epoll), each with its own id, checking that every response
 * carries the id of the request it answers. The first WARMUP_S seconds are not counted.
 *
 *   rpc_client HOST PORT CONNS DURATION_S WARMUP_S bolt|dubbo
 *
 * Prints one JSON line:
 *   {"requests":N,"duration_s":D,"rps":R,"p50_us":..,"p99_us":..,"max_us":..,
 *    "errors":E,"connect_errors":C,"conns":N}
 * errors counts connections that failed, answered with a wrong id or an error status.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "rpc_frames.h"

#define HIST_US 1000000
static uint32_t hist[HIST_US + 1];

struct conn { int fd, alive; uint32_t id; uint64_t sent_ns; size_t len; unsigned char in[4096]; };

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t percentile(uint64_t total, double p) {
    if (!total) return 0;
    uint64_t rank = (uint64_t)(p / 100.0 * (double)total), seen = 0;
    if (rank >= total) rank = total - 1;
    for (uint64_t i = 0; i <= HIST_US; i++) { seen += hist[i]; if (seen > rank) return i; }
    return HIST_US;
}

static unsigned char req[1024];
static size_t req_len;

static int send_req(struct conn *c, uint32_t id) {
    c->id = id;
    put32(req + id_at(req), id);
    c->sent_ns = now_ns();
    return write(c->fd, req, req_len) == (ssize_t)req_len ? 0 : -1;
}

int main(int argc, char **argv) {
    if (argc < 7) { fprintf(stderr, "usage: %s HOST PORT CONNS DURATION_S WARMUP_S bolt|dubbo\n", argv[0]); return 2; }
    signal(SIGPIPE, SIG_IGN);
    int nconns = atoi(argv[3]);
    double dur = atof(argv[4]), warm = atof(argv[5]);
    enum proto proto = strcmp(argv[6], "dubbo") == 0 ? DUBBO : BOLT;
    req_len = build_frame(proto, 0, req);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
    inet_pton(AF_INET, argv[1], &a.sin_addr);
    int ep = epoll_create1(0), one = 1;
    struct conn *cs = calloc((size_t)nconns, sizeof *cs);
    uint64_t connect_errors = 0, errors = 0, requests = 0, max_us = 0;
    uint32_t next_id = 1;
    for (int i = 0; i < nconns; i++) {
        cs[i].fd = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(cs[i].fd, (struct sockaddr *)&a, sizeof a)) { connect_errors++; close(cs[i].fd); continue; }
        setsockopt(cs[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        cs[i].alive = 1;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
        if (send_req(&cs[i], next_id++)) { cs[i].alive = 0; errors++; }
    }
    uint64_t t0 = now_ns(), start = t0 + (uint64_t)(warm * 1e9), end = start + (uint64_t)(dur * 1e9);
    struct epoll_event evs[256];
    while (now_ns() < end) {
        int n = epoll_wait(ep, evs, 256, 100);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            ssize_t r = read(c->fd, c->in + c->len, sizeof c->in - c->len);
            if (r <= 0) { if (c->alive) errors++; c->alive = 0; close(c->fd); continue; }
            c->len += (size_t)r;
            long fl = frame_len(c->in, c->len);
            if (fl < 0 || (size_t)fl > sizeof c->in) { errors++; c->alive = 0; close(c->fd); continue; }
            if (fl == 0 || (size_t)fl > c->len) continue;
            int ok = be32(c->in + id_at(c->in)) == c->id &&
                     (proto == BOLT ? be16(c->in + 10) == 0 : c->in[3] == 20);
            uint64_t now = now_ns();
            if (!ok) errors++;
            if (now >= start) {
                uint64_t us = (now - c->sent_ns) / 1000;
                if (us > max_us) max_us = us;
                hist[us > HIST_US ? HIST_US : us]++;
                requests++;
            }
            memmove(c->in, c->in + fl, c->len - (size_t)fl);
            c->len -= (size_t)fl;
            if (send_req(c, next_id++)) { errors++; c->alive = 0; close(c->fd); }
        }
    }
    double secs = (double)(now_ns() - start) / 1e9;
    printf("{\"requests\":%llu,\"duration_s\":%.3f,\"rps\":%.1f,\"p50_us\":%llu,\"p99_us\":%llu,\"max_us\":%llu,"
           "\"errors\":%llu,\"connect_errors\":%llu,\"conns\":%d}\n",
           (unsigned long long)requests, secs, secs > 0 ? requests / secs : 0.0,
           (unsigned long long)percentile(requests, 50), (unsigned long long)percentile(requests, 99),
           (unsigned long long)max_us, (unsigned long long)errors, (unsigned long long)connect_errors, nconns);
    return 0;
}
