/*
 * fuzz/harness.c: one libFuzzer harness for every protodsl-generated MOSN plugin.
 *
 * Compiled natively (clang -fsanitize=fuzzer,address,undefined) together with
 * the SAME generated C that becomes the Wasm module: fuzz/run.sh passes
 * -DPD_GENERATED='"<dir>/<name>.c"'. The host imports (proxy_log,
 * proxy_set_buffer_bytes) are stubbed here; the exported ABI functions are
 * driven as a real MOSN v1.6 drives them (docs/mosn-abi.md; protodsl/host/
 * streams.py does the same in Python): every decoded frame on a context of
 * its own, its encode on that context with the flag MOSN passes back
 * (0x40|heartbeat for any request, 0|heartbeat for a response), then
 * proxy_on_delete, after a successful encode only (MOSN leaves the contexts
 * of failed decodes and encodes and of frames never encoded, and deletes a
 * decoded heartbeat response's at once); every argument buffer in its own
 * exact-size malloc so AddressSanitizer catches any read or write outside it.
 *
 * Input: byte 0 selects variations (argument buffers, hijack before or after
 * forwarding, hijack code, header and payload changes, re-numbered and 64-bit
 * ids, a retry), the rest are the connection's bytes. Per input:
 *  1. decode frames off the front until one is not OK, each on a new context;
 *     every DecodeData must be one MOSN reads right (flag bit 0 set, kind not
 *     3, its header reader stopping at the flag); send each on (encode, maybe
 *     changed, id maybe replaced; then delete) and decode that output again:
 *     one whole frame carrying the id, headers and payload encode was given;
 *     the first frame instead, by the selector, is hijacked on its context
 *     before it is sent, or sent and then hijacked on a new context under the
 *     id it went out with (the buffer holds the raw frame and the request's id
 *     now, as MOSN's); hijack must return 0 and the encode of its answer under
 *     that id must succeed: nothing for a oneway request, else a response
 *     carrying the request's first id; a sent request may be retried (encoded
 *     again on a new context under the id it went out with);
 *  2. a heartbeat request first: reply_keepalive on its context must succeed,
 *     and its answer encode to a response;
 *  3. keepalive with an id from the bytes on a new context, then its encode
 *     (timeout 3000, as MOSN): a request carrying that id;
 *  4. the bytes as a raw encode host buffer, and as a hijack of garbage.
 * Any status outside the ABI's, a result MOSN would misread, or a broken
 * round trip aborts, which libFuzzer reports as a crash with its input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef PD_GENERATED
#error "compile with -DPD_GENERATED='\"path/to/<name>.c\"' (fuzz/run.sh does)"
#endif
#include PD_GENERATED

#define FAIL(...)                                                                              \
    do {                                                                                       \
        fprintf(stderr, "harness: " __VA_ARGS__);                                              \
        fprintf(stderr, "\n");                                                                 \
        abort();                                                                               \
    } while (0)

/* ------------------------------------------------------------ host stubs */

static uint8_t *result_buf[2]; /* the last DecodeData (13) and EncodeData (14) */
static uint32_t result_len[2];
static int result_set[2];

int proxy_log(int level, const pd_u8 *ptr, pd_u32 len)
{
    volatile unsigned sum = 0;
    if (level < 0 || level > 5)
        FAIL("proxy_log level %d", level);
    for (pd_u32 i = 0; i < len; i++) /* AddressSanitizer checks every byte */
        sum += ptr[i];
    (void)sum;
    return 0;
}

int proxy_set_buffer_bytes(int type, pd_u32 start, pd_u32 max, const pd_u8 *ptr, pd_u32 len)
{
    int k = type - PD_BUF_DECODE;
    if (k != 0 && k != 1)
        FAIL("proxy_set_buffer_bytes type %d", type);
    if (start != 0 || max != len)
        FAIL("proxy_set_buffer_bytes start %u max %u len %u", start, max, len);
    free(result_buf[k]);
    result_buf[k] = malloc(len ? len : 1);
    memcpy(result_buf[k], ptr, len); /* as the host copies it out */
    result_len[k] = len;
    result_set[k] = 1;
    return 0;
}

static void clear_result(int k)
{
    free(result_buf[k]);
    result_buf[k] = 0;
    result_len[k] = 0;
    result_set[k] = 0;
}

/* ------------------------------------------------------- buffer helpers */

typedef struct {
    uint8_t *p;
    uint32_t len, cap;
} buf_t;

static void buf_put(buf_t *b, const void *src, uint32_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
    }
    if (n)
        memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void buf_be(buf_t *b, uint64_t v, unsigned n)
{
    uint8_t tmp[8];
    for (unsigned i = n; i > 0; i--) {
        tmp[i - 1] = (uint8_t)v;
        v >>= 8;
    }
    buf_put(b, tmp, n);
}

/* An exact-size heap copy of an argument. */
static uint8_t *exact_copy(const uint8_t *src, uint32_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    if (n)
        memcpy(p, src, n);
    return p;
}

/* How arguments reach the plugin: in a block from its exported malloc, as
 * MOSN copies them (then the plugin may write its output around them), or in
 * an exact-size libc block of their own (AddressSanitizer then bounds them
 * on both sides). Chosen per input by bit 0 of the selector. */
static int via_plugin_malloc;

static uint8_t *arg_in(const uint8_t *src, uint32_t n)
{
    uint8_t *p;
    if (!via_plugin_malloc)
        return exact_copy(src, n);
    p = pd_malloc(n);
    if (p && n)
        memcpy(p, src, n);
    return p;
}

static void arg_done(uint8_t *p)
{
    if (!via_plugin_malloc) /* else the plugin's: reused by its next call */
        free(p);
}

typedef struct {
    const uint8_t *p;
    uint32_t left;
} rd_t;

static int rd(rd_t *r, unsigned n, uint64_t *v)
{
    if (r->left < n)
        return 0;
    *v = 0;
    for (unsigned i = 0; i < n; i++)
        *v = (*v << 8) | r->p[i];
    r->p += n;
    r->left -= n;
    return 1;
}

static int rd_bytes(rd_t *r, uint32_t n, const uint8_t **out)
{
    if (r->left < n)
        return 0;
    *out = r->p;
    r->p += n;
    r->left -= n;
    return 1;
}

static int map_ok(const uint8_t *p, uint32_t n)
{
    rd_t r = {p, n};
    uint64_t len;
    const uint8_t *skip;
    while (r.left)
        if (!rd(&r, 4, &len) || len > r.left || !rd_bytes(&r, (uint32_t)len, &skip))
            return 0;
    return 1;
}

static int same(const uint8_t *a, uint32_t an, const uint8_t *b, uint32_t bn)
{
    return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

/* One key/value pair of a host header map, for comparing maps as MOSN does. */
typedef struct {
    const uint8_t *at;
    uint32_t len; /* both lengths and both strings */
} pair_t;

static int pair_cmp(const void *x, const void *y)
{
    const pair_t *a = x, *b = y;
    uint32_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->at, b->at, n);
    return c ? c : (a->len > b->len) - (a->len < b->len);
}

/* The pairs of a well-formed host map (u32 big-endian lengths), or -1. */
static int map_pairs(const uint8_t *m, uint32_t n, pair_t *out, int most)
{
    int count = 0;
    for (uint32_t i = 0; i < n && count < most; count++) {
        uint32_t start = i;
        for (int part = 0; part < 2; part++) {
            if (n - i < 4)
                return -1;
            uint32_t len = (uint32_t)m[i] << 24 | (uint32_t)m[i + 1] << 16 |
                           (uint32_t)m[i + 2] << 8 | m[i + 3];
            i += 4;
            if (len > n - i)
                return -1;
            i += len;
        }
        out[count].at = m + start;
        out[count].len = i - start;
    }
    return count;
}

/* Whether two host header maps hold the same pairs: MOSN's header map is a map,
 * so a plugin may report derived headers after the stored ones whatever order
 * MOSN gave them in. */
static int same_map(const uint8_t *a, uint32_t an, const uint8_t *b, uint32_t bn)
{
    enum { MOST = 4096 };
    static pair_t pa[MOST], pb[MOST];
    int na, nb;
    if (same(a, an, b, bn))
        return 1;
    na = map_pairs(a, an, pa, MOST);
    nb = map_pairs(b, bn, pb, MOST);
    if (na < 0 || na != nb || na == MOST)
        return 0;
    qsort(pa, (size_t)na, sizeof *pa, pair_cmp);
    qsort(pb, (size_t)nb, sizeof *pb, pair_cmp);
    for (int i = 0; i < na; i++)
        if (pair_cmp(&pa[i], &pb[i]) != 0)
            return 0;
    return 1;
}

/* MOSN's decode reads the header map with xprotocol.DecodeHeader over the
 * whole rest of the buffer, not over header_bytes: after the map it reads the
 * flag and the id as a key length. It must see exactly the reported map, so
 * that length has to run past the end (bit 0 of the flag makes it at least
 * 16 MiB), and never be 0xffffffff, which it would skip. */
static void check_mosn_reads_headers(const uint8_t *buf, uint32_t total, uint32_t hb)
{
    uint64_t n;
    rd_t r = {buf + 4 + hb, total - 4 - hb};
    if (hb == 0) /* MOSN reads no headers then */
        return;
    if (!rd(&r, 4, &n))
        FAIL("MOSN panics: fewer than 4 bytes after the header map");
    if (n == 0xffffffffu || (uint64_t)4 + hb + 4 + n <= total)
        FAIL("MOSN reads the flag and id as a header key of length %llu", (unsigned long long)n);
}

/* The flag MOSN passes back on encode and hijack for a command reported with `flag`. */
static uint64_t mosn_flag(uint64_t flag)
{
    return ((flag >> 6) ? PD_FLAG_REQUEST : PD_FLAG_RESPONSE) | (flag & PD_FLAG_HEARTBEAT);
}

/* A new context, as MOSN makes one per decoded or built frame (never 0). */
static pd_u32 new_ctx(void)
{
    static pd_u32 next;
    if (++next == 0)
        next = 1;
    proxy_on_context_create(next, 1);
    return next;
}

/* ---------------------------------------------------------- the ABI calls */

/* A DecodeData buffer, parsed and checked. */
typedef struct {
    uint8_t *raw; /* owns the copy; the pointers below view it */
    const uint8_t *headers, *payload;
    uint32_t headers_len, payload_len, drain, tos;
    uint64_t flag, id;
} decoded_t;

static int call_decode(pd_u32 ctx, const uint8_t *data, uint32_t n, decoded_t *d)
{
    uint8_t *arg = arg_in(data, n);
    uint64_t hb, flag, id, tos, drain, plen;
    int st;
    rd_t r;

    clear_result(0);
    if (!arg)
        return PD_MALFORMED; /* the plugin's malloc refused: MOSN fails the call */
    st = proxy_decode_buffer_bytes(ctx, arg, n);
    arg_done(arg); /* anything the plugin keeps must have been copied */
    if (st != PD_OK && st != PD_MALFORMED && st != PD_NEED_MORE)
        FAIL("decode returned %d", st);
    if (st != PD_OK) {
        if (result_set[0])
            FAIL("decode returned %d but reported a result", st);
        return st;
    }
    if (!result_set[0])
        FAIL("decode returned OK without a result");
    d->raw = result_buf[0];
    result_buf[0] = 0;
    r = (rd_t){d->raw, result_len[0]};
    if (!rd(&r, 4, &hb) || hb > r.left || !rd_bytes(&r, (uint32_t)hb, &d->headers) ||
        !map_ok(d->headers, (uint32_t)hb) || !rd(&r, 1, &flag) || !rd(&r, 8, &id) ||
        !rd(&r, 4, &tos) || !rd(&r, 4, &drain) || !rd(&r, 4, &plen) || plen != r.left ||
        !rd_bytes(&r, (uint32_t)plen, &d->payload))
        FAIL("malformed DecodeData buffer of %u bytes", result_len[0]);
    if (drain == 0 || drain > n)
        FAIL("drain_len %llu for %u input bytes", (unsigned long long)drain, n);
    if ((flag & PD_FLAG_LOW) != PD_FLAG_LOW || (flag >> 6) == 3)
        FAIL("flag 0x%02llx: MOSN needs bit 0 set and refuses kind 3", (unsigned long long)flag);
    check_mosn_reads_headers(d->raw, result_len[0], (uint32_t)hb);
    d->headers_len = (uint32_t)hb;
    d->payload_len = (uint32_t)plen;
    d->flag = flag;
    d->id = id;
    d->tos = (uint32_t)tos;
    d->drain = (uint32_t)drain;
    return st;
}

/* An EncodeData buffer: the frame, checked against what encode was asked for. */
typedef struct {
    uint8_t *raw;
    const uint8_t *frame;
    uint32_t frame_len;
    uint64_t flag, id;
} encoded_t;

static int call_encode_raw(pd_u32 ctx, const uint8_t *buf, uint32_t n, encoded_t *e)
{
    uint8_t *arg = arg_in(buf, n);
    uint64_t hb, flag, id, tos, flen;
    int st;
    rd_t r;

    clear_result(1);
    if (!arg)
        return PD_MALFORMED;
    st = proxy_encode_buffer_bytes(ctx, arg, n);
    arg_done(arg);
    if (st != PD_OK && st != PD_MALFORMED)
        FAIL("encode returned %d", st);
    if (st != PD_OK) {
        if (result_set[1])
            FAIL("encode returned %d but reported a result", st);
        return st;
    }
    if (!result_set[1])
        FAIL("encode returned OK without a result");
    e->raw = result_buf[1];
    result_buf[1] = 0;
    r = (rd_t){e->raw, result_len[1]};
    if (!rd(&r, 4, &hb) || hb != 0 || !rd(&r, 1, &flag) || !rd(&r, 8, &id) ||
        !rd(&r, 4, &tos) || !rd(&r, 4, &flen) || flen != r.left ||
        !rd_bytes(&r, (uint32_t)flen, &e->frame))
        FAIL("malformed EncodeData buffer of %u bytes", result_len[1]);
    e->frame_len = (uint32_t)flen;
    e->flag = flag;
    e->id = id;
    return st;
}

static int call_encode(pd_u32 ctx, const uint8_t *headers, uint32_t headers_len, uint64_t flag,
                       uint64_t replaced, uint64_t command_id, uint32_t tos,
                       const uint8_t *payload, uint32_t payload_len, encoded_t *e)
{
    buf_t b = {0, 0, 0};
    int st;
    buf_be(&b, headers_len, 4);
    buf_put(&b, headers, headers_len);
    buf_be(&b, flag, 1);
    buf_be(&b, replaced, 8);
    buf_be(&b, command_id, 8);
    buf_be(&b, tos, 4);
    buf_be(&b, payload_len, 4);
    buf_put(&b, payload, payload_len);
    st = call_encode_raw(ctx, b.p, b.len, e);
    free(b.p);
    if (st == PD_OK && e->frame_len != 0 && e->id != replaced)
        FAIL("encode wrote id %llu, asked for %llu", (unsigned long long)e->id,
             (unsigned long long)replaced);
    return st;
}

/* An encoded frame decodes again, whole, on a context of its own. */
static void check_redecode(const encoded_t *e, decoded_t *d)
{
    pd_u32 ctx = new_ctx();
    int st;
    if (e->frame_len == 0) /* only a hijack may answer with nothing */
        FAIL("an encode wrote an empty frame");
    st = call_decode(ctx, e->frame, e->frame_len, d);
    if (st != PD_OK)
        FAIL("an encoded frame of %u bytes decodes to status %d", e->frame_len, st);
    if (d->drain != e->frame_len)
        FAIL("an encoded frame of %u bytes decodes as %u", e->frame_len, d->drain);
    if (d->id != e->id || d->flag != e->flag)
        FAIL("an encoded frame decodes with another id or flag");
    proxy_on_delete(ctx);
}

static const pd_i32 CODES[16] = {200, 403, 404, 500, 502, 503, 504, 509,
                                 0,   3,   -1,  (pd_i32)0x80000000, 0x7fffffff, 413, 400, 501};

/* Send a decoded command on as MOSN does: encode it on its context, maybe
 * changed, with the flag MOSN passes back, then delete the context; decode
 * the result again. Returns the id it went out with, or *sent = 0 if the
 * encode failed. */
static uint64_t send_on(pd_u32 ctx, const decoded_t *d, uint8_t sel, const uint8_t *wire,
                        uint32_t n, int *sent)
{
    static const uint8_t extra[] = {0, 0, 0, 3, 'k', 'e', 'y', 0, 0, 0, 2, 'v', '1'};
    buf_t headers = {0, 0, 0};
    const uint8_t *payload = d->payload;
    uint32_t payload_len = d->payload_len;
    uint64_t replaced = d->id;
    encoded_t e;
    decoded_t again;

    *sent = 0;
    buf_put(&headers, d->headers, d->headers_len);
    if (sel & 0x04) /* MOSN adds a header */
        buf_put(&headers, extra, sizeof extra);
    if (sel & 0x08) /* another payload: the input's own bytes */
        payload = wire, payload_len = n < 300 ? n : 300;
    if (sel & 0x10) /* MOSN re-numbers the request */
        replaced = (d->id * 2654435761u + sel) & (sel & 0x20 ? ~(uint64_t)0 : 0xffffffffu);
    if (call_encode(ctx, headers.p, headers.len, mosn_flag(d->flag), replaced, d->id, d->tos,
                    payload, payload_len, &e) == PD_OK) {
        *sent = 1;
        check_redecode(&e, &again);
        if (!same(again.payload, again.payload_len, payload, payload_len) &&
            !(d->payload_len == 0 && again.payload_len == 0))
            FAIL("payload changed in a round trip");
        if (!same_map(again.headers, again.headers_len, headers.p, headers.len) &&
            !(d->headers_len == 0 && again.headers_len == 0))
            FAIL("headers changed in a round trip");
        free(again.raw);
        free(e.raw);
        proxy_on_delete(ctx); /* after a successful encode only: MOSN leaves the others */
    }
    free(headers.p);
    return replaced;
}

/* MOSN's retry of a request sent as `previous`: on a new context, the previous
 * attempt's id as the command id; it encodes the same command under new_id. */
static void retry(const decoded_t *d, uint64_t previous, uint64_t new_id)
{
    pd_u32 ctx = new_ctx();
    encoded_t e;
    decoded_t again;
    int st = call_encode(ctx, d->headers, d->headers_len, mosn_flag(d->flag), new_id, previous,
                         d->tos, d->payload, d->payload_len, &e);
    if (st != PD_OK)
        FAIL("a retry of a request just sent as %llu returned %d", (unsigned long long)previous,
             st);
    check_redecode(&e, &again);
    if (again.id != new_id || !same(again.payload, again.payload_len, d->payload, d->payload_len))
        FAIL("a retry encoded another command");
    free(again.raw);
    free(e.raw);
    proxy_on_delete(ctx);
}

/* proxy_hijack_buffer_bytes with MOSN's buffer: the raw request frame and, as
 * both ids, the request's id now. It must return 0 (MOSN never unlocks the
 * instance after anything else). */
static void call_hijack(pd_u32 ctx, pd_i32 code, uint64_t flag, uint64_t id, const uint8_t *raw,
                        uint32_t n)
{
    buf_t b = {0, 0, 0};
    uint8_t *arg;
    int st;
    buf_be(&b, 0, 4);
    buf_be(&b, flag, 1);
    buf_be(&b, id, 8);
    buf_be(&b, id, 8);
    buf_be(&b, 3000, 4);
    buf_be(&b, n, 4);
    buf_put(&b, raw, n);
    arg = arg_in(b.p, b.len);
    st = arg ? proxy_hijack_buffer_bytes(ctx, code, arg, b.len) : PD_OK;
    arg_done(arg);
    free(b.p);
    if (st != PD_OK)
        FAIL("hijack returned %d", st);
}

/* MOSN encodes the hijack answer under the id it hijacked with (current), to
 * go downstream as the request's first id: nothing for a oneway request, else
 * a response carrying that id. */
static void encode_hijacked(pd_u32 ctx, const decoded_t *d, uint64_t current)
{
    encoded_t e;
    decoded_t again;
    int st = call_encode(ctx, 0, 0, PD_FLAG_RESPONSE, d->id, current, 0, 0, 0, &e);
    if (st != PD_OK)
        FAIL("the encode after a hijack of a request (id %llu now) returned %d",
             (unsigned long long)current, st);
    if ((d->flag >> 6) == 2 && e.frame_len != 0)
        FAIL("a hijack of a oneway request wrote a frame");
    if (e.frame_len != 0) {
        check_redecode(&e, &again);
        if ((e.flag >> 6) != 0 || (again.flag >> 6) != 0)
            FAIL("hijack built a request");
        if (again.id != d->id)
            FAIL("the hijack answer carries id %llu, not the request's %llu",
                 (unsigned long long)again.id, (unsigned long long)d->id);
        free(again.raw);
    }
    free(e.raw);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int started;
    uint8_t sel = size ? data[0] : 0;
    const uint8_t *wire = size ? data + 1 : data;
    uint32_t n = size ? (uint32_t)(size - 1) : 0, off = 0;
    pd_i32 code = CODES[sel >> 4];
    int st, frames = 0, sent;
    decoded_t d;
    encoded_t e;
    uint64_t id = sel, out_id;
    pd_u32 ctx;

    if (size > 0x1000000)
        return 0;
    if (!started) { /* MOSN's start-up, once per instance */
        started = 1;
        pd_start();
        proxy_on_context_create(1, 0);
        proxy_on_vm_start(1, 0);
        proxy_on_configure(1, 0);
    }
    via_plugin_malloc = sel & 1;

    /* 1. decode what is there, frame by frame, each on its context; send each on. */
    while (off < n || frames == 0) {
        ctx = new_ctx();
        st = call_decode(ctx, wire + off, n - off, &d);
        if (st != PD_OK)
            break; /* more bytes never come, or MOSN closes the connection: the context stays */
        if ((d.flag >> 6) == 0 && (d.flag & PD_FLAG_HEARTBEAT)) {
            proxy_on_delete(ctx); /* MOSN's keepalive takes a heartbeat response at once */
            frames++;
        } else if (frames++ == 0 && (d.flag >> 6) != 0 && (sel & 0x02)) {
            /* hijacked before it went upstream: on its context, under its id */
            call_hijack(ctx, code, mosn_flag(d.flag), d.id, wire + off, d.drain);
            encode_hijacked(ctx, &d, d.id);
            proxy_on_delete(ctx);
        } else if (frames == 1 && (d.flag >> 6) != 0) {
            out_id = send_on(ctx, &d, sel, wire, n, &sent);
            if (sent && (sel & 0x80)) { /* an upstream failure: MOSN retries */
                retry(&d, out_id, out_id ^ 0x5a5a);
                out_id ^= 0x5a5a;
            }
            /* hijacked after it went upstream (a timeout): on a new context,
             * under the id it went out with */
            ctx = new_ctx();
            call_hijack(ctx, code, mosn_flag(d.flag), out_id, wire + off, d.drain);
            encode_hijacked(ctx, &d, out_id);
            proxy_on_delete(ctx);
        } else {
            send_on(ctx, &d, sel, wire, n, &sent);
        }
        off += d.drain;
        free(d.raw);
    }

    /* 2. a heartbeat request first: MOSN answers it on its context. */
    ctx = new_ctx();
    if (call_decode(ctx, wire, n, &d) == PD_OK) {
        if ((d.flag & PD_FLAG_HEARTBEAT) && (d.flag >> 6) == 0)
            proxy_on_delete(ctx); /* a heartbeat response: MOSN takes it at once */
        if ((d.flag >> 6) != 0 && (d.flag & PD_FLAG_HEARTBEAT)) {
            st = proxy_reply_keepalive_buffer_bytes(ctx, 0, 0);
            if (st != PD_OK)
                FAIL("reply_keepalive after a heartbeat request returned %d", st);
            if (call_encode(ctx, 0, 0, PD_FLAG_RESPONSE | PD_FLAG_HEARTBEAT, d.id, d.id, 0, 0, 0,
                            &e) != PD_OK)
                FAIL("the reply to a heartbeat request does not encode");
            {
                decoded_t again;
                check_redecode(&e, &again);
                if ((e.flag >> 6) != 0)
                    FAIL("reply_keepalive built a request, flag 0x%llx",
                         (unsigned long long)e.flag);
                free(again.raw);
            }
            free(e.raw);
            proxy_on_delete(ctx);
        }
        free(d.raw); /* any other frame is never encoded here: its context stays */
    }

    /* 3. keepalive with an id from the bytes, on a new context (id 0: MOSN's probe). */
    for (uint32_t i = 0; i < 8 && i < n; i++)
        id = (id << 8) | wire[i];
    if (sel & 0x40)
        id &= 0xffffffffu;
    ctx = new_ctx();
    st = proxy_keepalive_buffer_bytes(ctx, (pd_i64)id);
    if (st != PD_OK && st != PD_BAD_ARGUMENT && st != PD_MALFORMED)
        FAIL("keepalive returned %d", st);
    if (st == PD_OK && id == 0) {
        proxy_on_delete(ctx); /* the probe: nothing is encoded */
    } else if (st == PD_OK &&
               call_encode(ctx, 0, 0, PD_FLAG_REQUEST | PD_FLAG_HEARTBEAT, id, id, 3000, 0, 0,
                           &e) == PD_OK) {
        check_redecode(&e, &d);
        if ((e.flag >> 6) == 0) /* heartbeat or not is the spec's to say */
            FAIL("keepalive built a response");
        free(d.raw);
        free(e.raw);
        proxy_on_delete(ctx);
    }

    /* 4. the bytes as an encode host buffer, and as a hijacked "request". */
    ctx = new_ctx();
    if (call_encode_raw(ctx, wire, n, &e) == PD_OK)
        free(e.raw);
    call_hijack(ctx, code, PD_FLAG_REQUEST, id, wire, n);
    if (call_encode(ctx, 0, 0, PD_FLAG_RESPONSE, 1, id, 0, 0, 0, &e) != PD_OK)
        FAIL("the encode after a hijack (an answer or nothing) failed");
    free(e.raw);
    proxy_on_delete(ctx);

    clear_result(0);
    clear_result(1);
    return 0;
}
