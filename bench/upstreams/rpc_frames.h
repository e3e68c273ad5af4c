/*
 * Shared by rpc_server.c and rpc_client.c: SOFA Bolt v1 and Dubbo frame lengths, request
 * id positions, and the requests/responses the benchmark sends (built byte by byte, the
 * Dubbo body in hessian2 so a proxy can route it by service).
 */
#include <stdint.h>
#include <string.h>

enum proto { BOLT = 1, DUBBO = 2 };

static inline uint32_t be32(const unsigned char *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint16_t be16(const unsigned char *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline void put32(unsigned char *p, uint32_t v) {
    p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

/* Total length of the frame starting at p, or 0 when more bytes are needed, -1 if bad. */
static inline long frame_len(const unsigned char *p, size_t n) {
    if (n < 1) return 0;
    if (p[0] == 0x01) { /* Bolt v1: request 22-byte header, response 20 */
        if (n < 2) return 0;
        int req = p[1] != 0;
        size_t fixed = req ? 22 : 20;
        if (n < fixed) return 0;
        size_t at = fixed - 8;
        return (long)(fixed + be16(p + at) + be16(p + at + 2) + be32(p + at + 4));
    }
    if (p[0] == 0xda) { /* Dubbo: 16-byte header, body length at 12 */
        if (n < 16) return 0;
        return (long)(16 + be32(p + 12));
    }
    return -1;
}

/* The request id (low 32 bits for Dubbo) and where it sits. */
static inline size_t id_at(const unsigned char *p) { return p[0] == 0x01 ? 5 : 8; }

static inline size_t put_hstr(unsigned char *p, const char *s) { /* hessian2 string < 1024 chars */
    size_t n = strlen(s);
    size_t h = 0;
    if (n < 32) p[h++] = (unsigned char)n;
    else { p[h++] = (unsigned char)(0x30 + (n >> 8)); p[h++] = (unsigned char)n; }
    memcpy(p + h, s, n);
    return h + n;
}

#define SERVICE "com.alipay.sofa.rpc.bench.EchoService:1.0"
#define DUBBO_SERVICE "org.apache.dubbo.demo.DemoService"

/* Builds a request (is_response 0) or response frame with a 100-byte body into buf. */
static inline size_t build_frame(enum proto proto, int is_response, unsigned char *buf) {
    unsigned char body[512];
    size_t n = 0;
    if (proto == BOLT) {
        const char *cls = is_response ? "com.alipay.sofa.rpc.core.response.SofaResponse"
                                      : "com.alipay.sofa.rpc.core.request.SofaRequest";
        size_t hl = 0;
        unsigned char hdr[128];
        if (!is_response) {
            put32(hdr, 7); memcpy(hdr + 4, "service", 7);
            put32(hdr + 11, strlen(SERVICE)); memcpy(hdr + 15, SERVICE, strlen(SERVICE));
            hl = 15 + strlen(SERVICE);
        }
        size_t fixed = is_response ? 20 : 22;
        memset(buf, 0, fixed);
        buf[0] = 1; buf[1] = is_response ? 0 : 1; buf[3] = is_response ? 2 : 1; buf[4] = 1;
        buf[9] = 1; /* hessian2 */
        if (!is_response) put32(buf + 10, 3000);
        size_t at = fixed - 8;
        buf[at] = (unsigned char)(strlen(cls) >> 8); buf[at + 1] = (unsigned char)strlen(cls);
        buf[at + 2] = (unsigned char)(hl >> 8); buf[at + 3] = (unsigned char)hl;
        put32(buf + at + 4, 100);
        n = fixed;
        memcpy(buf + n, cls, strlen(cls)); n += strlen(cls);
        memcpy(buf + n, hdr, hl); n += hl;
        memset(buf + n, 'x', 100); n += 100;
        return n;
    }
    size_t bl = 0;
    if (is_response) {
        body[bl++] = 0x91; /* RESPONSE_VALUE */
        char v[100];
        memset(v, 'y', 98); v[98] = 0;
        bl += put_hstr(body + bl, v);
    } else {
        bl += put_hstr(body + bl, "2.0.2");
        bl += put_hstr(body + bl, DUBBO_SERVICE);
        bl += put_hstr(body + bl, "1.0.0");
        bl += put_hstr(body + bl, "sayHello");
        bl += put_hstr(body + bl, "Ljava/lang/String;");
        bl += put_hstr(body + bl, "bench");
        body[bl++] = 'H';
        bl += put_hstr(body + bl, "path");
        bl += put_hstr(body + bl, DUBBO_SERVICE);
        body[bl++] = 'Z';
    }
    memset(buf, 0, 16);
    buf[0] = 0xda; buf[1] = 0xbb;
    buf[2] = is_response ? 0x02 : 0xc2;
    buf[3] = is_response ? 20 : 0;
    put32(buf + 12, (uint32_t)bl);
    memcpy(buf + 16, body, bl);
    return 16 + bl;
}
