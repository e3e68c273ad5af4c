/*
 * Benchmark load client for L4: request/response echo over N connections (epoll).
 *
 *   echo_client HOST PORT CONNS DURATION_S WARMUP_S MSG_BYTES
 *
 * Each connection sends MSG_BYTES, waits until the same number of bytes came
 * back, and sends again (one message in flight per connection). The first
 * WARMUP_S seconds are not counted. Prints one JSON line:
 *   {"requests":N,"duration_s":D,"rps":R,"p50_us":..,"p99_us":..,"max_us":..,
 *    "errors":E,"connect_errors":C,"conns":N}
 * errors counts connections that failed (reset, closed, short write) during the run.
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
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HIST_US 1000000 /* 1 µs buckets up to 1 s; above that goes to the last bucket */

static uint32_t hist[HIST_US + 1];

struct conn {
    int fd;
    int alive;
    uint64_t sent_ns;
    size_t got;
};

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t percentile(uint64_t total, double p) {
    if (total == 0) return 0;
    uint64_t rank = (uint64_t)(p / 100.0 * (double)total);
    if (rank >= total) rank = total - 1;
    uint64_t seen = 0;
    for (uint64_t i = 0; i <= HIST_US; i++) {
        seen += hist[i];
        if (seen > rank) return i;
    }
    return HIST_US;
}

int main(int argc, char **argv) {
    if (argc < 7) {
        fprintf(stderr, "usage: %s HOST PORT CONNS DURATION_S WARMUP_S MSG_BYTES\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    const char *host = argv[1];
    int port = atoi(argv[2]);
    int nconns = atoi(argv[3]);
    double duration = atof(argv[4]);
    double warmup = atof(argv[5]);
    size_t msg = (size_t)atoi(argv[6]);
    if (nconns < 1 || msg < 1 || msg > 65536 || duration <= 0) { fprintf(stderr, "bad arguments\n"); return 2; }

    char *out = malloc(msg);
    char *in = malloc(65536);
    for (size_t i = 0; i < msg; i++) out[i] = 'a' + (i % 26);

    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, host, &a.sin_addr);

    struct conn *cs = calloc((size_t)nconns, sizeof *cs);
    int ep = epoll_create1(0);
    int one = 1;
    long connect_errors = 0, errors = 0;
    int alive = 0;
    for (int i = 0; i < nconns; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct timeval tv = {.tv_sec = 5};
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) { connect_errors++; close(fd); cs[i].fd = -1; continue; }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        cs[i].fd = fd;
        cs[i].alive = 1;
        alive++;
        struct epoll_event e = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
    }

    uint64_t start = now_ns();
    uint64_t warm_end = start + (uint64_t)(warmup * 1e9);
    uint64_t end = warm_end + (uint64_t)(duration * 1e9);
    uint64_t requests = 0, max_us = 0;

    for (int i = 0; i < nconns; i++) {
        if (!cs[i].alive) continue;
        cs[i].sent_ns = now_ns();
        if (send(cs[i].fd, out, msg, MSG_DONTWAIT) != (ssize_t)msg) { errors++; cs[i].alive = 0; alive--; close(cs[i].fd); }
    }

    struct epoll_event evs[512];
    while (alive > 0) {
        uint64_t t = now_ns();
        if (t >= end) break;
        int timeout_ms = (int)((end - t) / 1000000ull) + 1;
        if (timeout_ms > 50) timeout_ms = 50;
        int n = epoll_wait(ep, evs, 512, timeout_ms);
        if (n < 0) { if (errno == EINTR) continue; break; }
        for (int k = 0; k < n; k++) {
            struct conn *c = &cs[evs[k].data.u32];
            if (!c->alive) continue;
            ssize_t r = recv(c->fd, in, 65536, MSG_DONTWAIT);
            if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            if (r <= 0) {
                errors++;
                c->alive = 0;
                alive--;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                continue;
            }
            c->got += (size_t)r;
            if (c->got < msg) continue;
            uint64_t done = now_ns();
            if (done >= warm_end && done < end) {
                uint64_t us = (done - c->sent_ns) / 1000ull;
                if (us > HIST_US) us = HIST_US;
                if (us > max_us) max_us = us;
                hist[us]++;
                requests++;
            }
            c->got -= msg;
            c->sent_ns = now_ns();
            if (send(c->fd, out, msg, MSG_DONTWAIT) != (ssize_t)msg) {
                errors++;
                c->alive = 0;
                alive--;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
            }
        }
    }
    uint64_t stop = now_ns();
    if (stop > end) stop = end;
    double secs = stop > warm_end ? (double)(stop - warm_end) / 1e9 : 0.0;
    printf("{\"requests\":%llu,\"duration_s\":%.4f,\"rps\":%.1f,\"p50_us\":%llu,\"p99_us\":%llu,"
           "\"max_us\":%llu,\"errors\":%ld,\"connect_errors\":%ld,\"conns\":%d}\n",
           (unsigned long long)requests, secs, secs > 0 ? (double)requests / secs : 0.0,
           (unsigned long long)percentile(requests, 50), (unsigned long long)percentile(requests, 99),
           (unsigned long long)max_us, errors, connect_errors, nconns);
    fflush(stdout);
    for (int i = 0; i < nconns; i++)
        if (cs[i].alive) close(cs[i].fd);
    return 0;
}
