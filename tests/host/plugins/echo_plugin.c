/*
 * A tiny MOSN x-protocol plugin (no libc) used to test protodsl.host.
 *
 * Wire frame, big-endian:
 *   u32 total_len | u8 flag | u64 id | u32 timeout_or_status | u16 hdr_len |
 *   header map (hdr_len bytes, u32 key_len | key | u32 val_len | val) | payload
 *
 * It is a module MOSN v1.6 loads: it exports memory, _start, malloc and the
 * proxy_abi_mosn_version_0_2_0 marker, and imports only proxy_log,
 * proxy_get_buffer_bytes and proxy_set_buffer_bytes from "env".
 *
 * Behaviour the tests rely on:
 *  - _start only counts its calls (MOSN runs it before the instance counts as
 *    started, when proxy_log cannot reach memory yet); the root context's
 *    creation logs "_start calls <n>"; _initialize (MOSN never calls it) logs
 *    "initialize";
 *  - every other lifecycle export logs "<name> <arg> <arg>" at level 2;
 *  - proxy_on_vm_start / proxy_on_configure fetch buffer 6 / 7, log it in hex
 *    ("vm_config rc=<status> <hex>") and return 0 when it holds no pair, as
 *    plugins built with MOSN's Go SDK do, else 1 ("on_vm_start returns 0");
 *  - decode reports the frame's flag with bit 0 (0x01, CopyRawBytes) set, as
 *    MOSN's Go SDK does, except for a frame carrying the header "raw-flag":
 *    its flag byte is reported exactly as it is on the wire;
 *  - decode logs "decode id=<id>" (level 1); encode logs "encode ctx=<ctx>
 *    flag=<flag> replaced=<id> command=<id> tos=<n>" (level 1);
 *  - keepalive, reply_keepalive and hijack leave a pending frame (payload
 *    "ping", "pong", "hijacked") that the next encode on the same context
 *    serialises under the replaced id that encode is given;
 *  - hijack logs its whole input buffer in hex ("hijack <hex>"); status code
 *    999 traps and 599 fails (returns 10).
 */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

#define EXPORT(name) __attribute__((export_name(name)))
#define IMPORT(name) __attribute__((import_module("env"), import_name(name)))

IMPORT("proxy_log") int proxy_log(int level, const u8 *ptr, u32 len);
IMPORT("proxy_get_buffer_bytes")
int proxy_get_buffer_bytes(int type, u32 start, u32 max, u8 **ret_ptr, u32 *ret_len);
IMPORT("proxy_set_buffer_bytes")
int proxy_set_buffer_bytes(int type, u32 start, u32 max, const u8 *ptr, u32 len);

#define HEADER_LEN 19u
#define MAX_FRAME (1u << 20)
#define PAGE 65536u
#define COPY_RAW_BYTES 0x01u

extern u8 __heap_base;
static u32 heap_top;
static u32 heap_end;

static void arena_reset(void) { heap_top = (u32)&__heap_base; }

EXPORT("malloc") void *malloc(u32 size) {
    if (heap_top == 0) arena_reset();
    if (heap_end == 0) heap_end = (u32)__builtin_wasm_memory_size(0) * PAGE;
    u32 start = (heap_top + 7u) & ~7u;
    if (size > 0x7fffffffu - start) return 0;
    u32 end = start + size;
    if (end > heap_end) {
        u32 pages = (end - heap_end + PAGE - 1) / PAGE;
        if (__builtin_wasm_memory_grow(0, pages) == (unsigned long)-1) return 0;
        heap_end += pages * PAGE;
    }
    heap_top = end;
    return (void *)start;
}

/* MOSN never calls it; kept to check that the host uses malloc. */
EXPORT("proxy_on_memory_allocate") void *proxy_on_memory_allocate(u32 size) {
    return malloc(size);
}

EXPORT("proxy_abi_mosn_version_0_2_0") void proxy_abi_mosn_version_0_2_0(void) {}

static void copy(u8 *dst, const u8 *src, u32 n) {
    for (u32 i = 0; i < n; i++) dst[i] = src[i];
}

static u32 be32(const u8 *p) { return ((u32)p[0] << 24) | ((u32)p[1] << 16) | ((u32)p[2] << 8) | p[3]; }
static u32 le32(const u8 *p) { return ((u32)p[3] << 24) | ((u32)p[2] << 16) | ((u32)p[1] << 8) | p[0]; }
static u16 be16(const u8 *p) { return (u16)(((u32)p[0] << 8) | p[1]); }
static u64 be64(const u8 *p) { return ((u64)be32(p) << 32) | be32(p + 4); }
static void put32(u8 *p, u32 v) { p[0] = (u8)(v >> 24); p[1] = (u8)(v >> 16); p[2] = (u8)(v >> 8); p[3] = (u8)v; }
static void put16(u8 *p, u16 v) { p[0] = (u8)(v >> 8); p[1] = (u8)v; }
static void put64(u8 *p, u64 v) { put32(p, (u32)(v >> 32)); put32(p + 4, (u32)v); }

/* Small text builder for log lines. */
static u8 line[4096];
static u32 line_len;

static void say(const char *s) {
    while (*s && line_len < sizeof line) line[line_len++] = (u8)*s++;
}
static void say_num(u64 v) {
    char tmp[20];
    int n = 0;
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n && line_len < sizeof line) line[line_len++] = (u8)tmp[--n];
}
static void say_hex(const u8 *p, u32 n) {
    static const char digits[] = "0123456789abcdef";
    for (u32 i = 0; i < n && line_len + 2 <= sizeof line; i++) {
        line[line_len++] = (u8)digits[p[i] >> 4];
        line[line_len++] = (u8)digits[p[i] & 15];
    }
}
static void flush(int level) {
    proxy_log(level, line, line_len);
    line_len = 0;
}
static void log_call(const char *name, u32 a, u32 b) {
    say(name); say(" "); say_num(a); say(" "); say_num(b); flush(2);
}

/* Per-context state: last decoded command and one pending frame. */
#define SLOTS 64
struct ctx_state {
    u8 last_flag;
    u64 last_id;
    int pending;
    u8 pending_flag;
    u32 pending_status;
    u32 pending_payload_len;
    u8 pending_payload[64];
};
static struct ctx_state states[SLOTS];

static struct ctx_state *state(u32 ctx) { return &states[ctx % SLOTS]; }

static u32 start_calls;

EXPORT("_start") void start(void) { start_calls++; }

EXPORT("_initialize") void initialize(void) { say("initialize"); flush(2); }

/* Fetches a configuration buffer, logs it, and returns its number of pairs. */
static u32 log_config(int type, const char *label, u32 len) {
    u8 *ptr = 0;
    u32 got = 0;
    int rc = proxy_get_buffer_bytes(type, 0, len, &ptr, &got);
    say(label); say(" rc="); say_num((u32)rc); say(" ");
    if (rc == 0) say_hex(ptr, got);
    flush(2);
    return rc == 0 && got >= 4 ? le32(ptr) : 0;
}

static int lifecycle_result(const char *name, u32 pairs) {
    int rc = pairs > 0; /* MOSN's Go SDK returns 0 for an empty configuration */
    say(name); say(" returns "); say_num((u32)rc); flush(2);
    arena_reset();
    return rc;
}

EXPORT("proxy_on_context_create") void proxy_on_context_create(u32 ctx, u32 parent) {
    log_call("on_context_create", ctx, parent);
    if (parent == 0) { say("_start calls "); say_num(start_calls); flush(2); }
    struct ctx_state *s = state(ctx);
    s->pending = 0;
    s->last_flag = 0;
    s->last_id = 0;
}

EXPORT("proxy_on_vm_start") int proxy_on_vm_start(u32 root, u32 len) {
    log_call("on_vm_start", root, len);
    return lifecycle_result("on_vm_start", log_config(6, "vm_config", len));
}

EXPORT("proxy_on_configure") int proxy_on_configure(u32 root, u32 len) {
    log_call("on_configure", root, len);
    return lifecycle_result("on_configure", log_config(7, "plugin_config", len));
}

EXPORT("proxy_on_log") void proxy_on_log(u32 ctx) { log_call("on_log", ctx, 0); }
EXPORT("proxy_on_done") int proxy_on_done(u32 ctx) { log_call("on_done", ctx, 0); return 1; }
EXPORT("proxy_on_delete") void proxy_on_delete(u32 ctx) { log_call("on_delete", ctx, 0); }

/* Checks that [p, p+n) is a well-formed header map. */
static int valid_map(const u8 *p, u32 n) {
    u32 at = 0;
    while (at < n) {
        for (int part = 0; part < 2; part++) {
            if (n - at < 4) return 0;
            u32 l = be32(p + at);
            at += 4;
            if (l > n - at) return 0;
            at += l;
        }
    }
    return 1;
}

/* Whether the well-formed header map [p, p+n) has the key `key`. */
static int has_key(const u8 *p, u32 n, const char *key) {
    u32 want = 0;
    while (key[want]) want++;
    for (u32 at = 0; at < n;) {
        u32 klen = be32(p + at);
        const u8 *k = p + at + 4;
        at += 4 + klen;
        at += 4 + be32(p + at);
        u32 i = 0;
        while (klen == want && i < klen && k[i] == (u8)key[i]) i++;
        if (klen == want && i == klen) return 1;
    }
    return 0;
}

static int decode(u32 ctx, const u8 *in, u32 len) {
    if (len < 4) return 99;
    u32 total = be32(in);
    if (total > MAX_FRAME || total < HEADER_LEN) return 10;
    if (len < total) return 99;
    u8 flag = in[4];
    u64 id = be64(in + 5);
    u32 tos = be32(in + 13);
    u32 hdr = be16(in + 17);
    if (hdr > total - HEADER_LEN || !valid_map(in + HEADER_LEN, hdr)) return 10;
    u8 reported = has_key(in + HEADER_LEN, hdr, "raw-flag") ? flag : (u8)(flag | COPY_RAW_BYTES);
    u32 payload_len = total - HEADER_LEN - hdr;
    u32 n = 4 + hdr + 1 + 8 + 4 + 4 + 4 + payload_len;
    u8 *out = malloc(n);
    if (!out) return 10;
    u8 *w = out;
    put32(w, hdr); w += 4;
    copy(w, in + HEADER_LEN, hdr); w += hdr;
    *w++ = reported;
    put64(w, id); w += 8;
    put32(w, tos); w += 4;
    put32(w, total); w += 4;
    put32(w, payload_len); w += 4;
    copy(w, in + HEADER_LEN + hdr, payload_len);
    struct ctx_state *s = state(ctx);
    s->last_flag = flag;
    s->last_id = id;
    say("decode id="); say_num(id); flush(1);
    return proxy_set_buffer_bytes(13, 0, n, out, n);
}

EXPORT("proxy_decode_buffer_bytes") int proxy_decode_buffer_bytes(u32 ctx, const u8 *in, u32 len) {
    int rc = decode(ctx, in, len);
    arena_reset();
    return rc;
}

static int emit(u8 flag, u64 id, u32 tos, const u8 *hdr, u32 hdr_len, const u8 *payload, u32 payload_len) {
    u32 frame_len = HEADER_LEN + hdr_len + payload_len;
    u32 n = 4 + 1 + 8 + 4 + 4 + frame_len;
    u8 *out = malloc(n);
    if (!out) return 10;
    u8 *w = out;
    put32(w, 0); w += 4;
    *w++ = flag;
    put64(w, id); w += 8;
    put32(w, tos); w += 4;
    put32(w, frame_len); w += 4;
    put32(w, frame_len);
    w[4] = flag;
    put64(w + 5, id);
    put32(w + 13, tos);
    put16(w + 17, (u16)hdr_len);
    copy(w + HEADER_LEN, hdr, hdr_len);
    copy(w + HEADER_LEN + hdr_len, payload, payload_len);
    return proxy_set_buffer_bytes(14, 0, n, out, n);
}

static int encode(u32 ctx, const u8 *in, u32 len) {
    struct ctx_state *s = state(ctx);
    if (len < 4) return 10;
    u32 hdr = be32(in);
    if (hdr > 0xffffu || hdr > len - 4 || len - 4 - hdr < 1 + 8 + 8 + 4 + 4) return 10;
    const u8 *p = in + 4 + hdr;
    u8 flag = p[0];
    u64 replaced = be64(p + 1);
    u64 command = be64(p + 9);
    u32 tos = be32(p + 17);
    u32 payload_len = be32(p + 21);
    if (payload_len != len - 4 - hdr - 25) return 10;
    say("encode ctx="); say_num(ctx); say(" flag="); say_num(flag);
    say(" replaced="); say_num(replaced); say(" command="); say_num(command);
    say(" tos="); say_num(tos); flush(1);
    if (s->pending) {
        s->pending = 0;
        return emit(s->pending_flag, replaced, s->pending_status, 0, 0,
                    s->pending_payload, s->pending_payload_len);
    }
    return emit(flag, replaced, tos, in + 4, hdr, p + 25, payload_len);
}

EXPORT("proxy_encode_buffer_bytes") int proxy_encode_buffer_bytes(u32 ctx, const u8 *in, u32 len) {
    int rc = encode(ctx, in, len);
    arena_reset();
    return rc;
}

static void set_pending(struct ctx_state *s, u8 flag, u32 status, const char *text) {
    u32 n = 0;
    while (text[n] && n < sizeof s->pending_payload) { s->pending_payload[n] = (u8)text[n]; n++; }
    s->pending = 1;
    s->pending_flag = flag;
    s->pending_status = status;
    s->pending_payload_len = n;
}

EXPORT("proxy_keepalive_buffer_bytes") int proxy_keepalive_buffer_bytes(u32 ctx, u64 id) {
    say("keepalive id="); say_num(id); flush(2);
    set_pending(state(ctx), 0x60, 0, "ping");
    return 0;
}

EXPORT("proxy_reply_keepalive_buffer_bytes")
int proxy_reply_keepalive_buffer_bytes(u32 ctx, const u8 *in, u32 len) {
    struct ctx_state *s = state(ctx);
    if (!(s->last_flag & 0x20)) return 10;
    set_pending(s, 0x20, 0, "pong");
    say("reply_keepalive ptr="); say_num((u32)in); say(" len="); say_num(len); flush(2);
    return 0;
}

EXPORT("proxy_hijack_buffer_bytes")
int proxy_hijack_buffer_bytes(u32 ctx, u32 status_code, const u8 *in, u32 len) {
    if (status_code == 999) __builtin_trap();
    if (status_code == 599) return 10;
    say("hijack "); say_hex(in, len); flush(2);
    /* u32 0 | u8 flag | u64 id | u64 id | u32 timeout | u32 frame_len | frame */
    if (len < 29 || be32(in + 25) != len - 29 || len - 29 < HEADER_LEN) { arena_reset(); return 10; }
    set_pending(state(ctx), 0x00, status_code, "hijacked");
    arena_reset();
    return 0;
}
