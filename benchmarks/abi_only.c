/* abi_only.c: a SOFA bolt v1 plugin for MOSN that does only what the ABI needs.
 *
 * The floor under any codec plugin, in fuel (benchmarks/run.py) and in MOSN CPU
 * per request (benchmarks/mosn.py): decode reads the few header bytes MOSN needs
 * (kind, heartbeat, id, timeout or status, the three lengths), checks nothing
 * else, and reports the whole frame as the payload, copied; encode copies that
 * frame back with the id MOSN gives it. Frames MOSN has it build (keepalive,
 * reply, hijack) come back with no payload and get a bare bolt header. Same
 * allocator shape as the generated plugin (a bump arena reset per call) and the
 * same compile command:
 *
 *   python -m ziglang cc --target=wasm32-freestanding -O2 -nostdlib \
 *       -Wl,--no-entry -Wl,--strip-all -o abi_only.wasm abi_only.c
 */

typedef __UINT8_TYPE__ u8;
typedef __UINT32_TYPE__ u32;
typedef __UINT64_TYPE__ u64;
typedef __SIZE_TYPE__ usize;

#define EXPORT(name) __attribute__((export_name(name)))
#define IMPORT(name) __attribute__((import_module("env"), import_name(name)))

enum { OK = 0, MALFORMED = 10, NEED_MORE = 99, BUF_DECODE = 13, BUF_ENCODE = 14 };
enum { LOW_BITS = 0x1F, HEARTBEAT = 0x20, REQUEST = 0x40, ONEWAY = 0x80, KIND = 0xC0 };

IMPORT("proxy_set_buffer_bytes")
int proxy_set_buffer_bytes(int type, u32 start, u32 max, const u8 *ptr, u32 len);

#ifndef __wasm_bulk_memory__
__attribute__((no_builtin)) void *memcpy(void *dst, const void *src, usize n)
{
    u8 *d = dst;
    const u8 *s = src;
    while (n--)
        *d++ = *s++;
    return dst;
}
#endif

/* ------------------------------------------------------------ bump arena */

extern u8 __heap_base;
static u32 heap_top;
static int heap_stale = 1;

static void *arena_alloc(u32 n)
{
    u32 start, end, have;
    if (heap_stale || heap_top == 0) {
        heap_top = (u32)(usize)&__heap_base;
        heap_stale = 0;
    }
    start = (heap_top + 7u) & ~7u;
    end = start + n;
    if (end < start)
        return 0;
    have = (u32)__builtin_wasm_memory_size(0) * 65536u;
    if (end > have && __builtin_wasm_memory_grow(0, (end - have + 65535u) / 65536u) == (usize)-1)
        return 0;
    heap_top = end;
    return (void *)(usize)start;
}

static int leave(int status)
{
    heap_stale = 1;
    return status;
}

EXPORT("malloc") void *malloc(usize size) { return arena_alloc((u32)size); }
EXPORT("proxy_abi_mosn_version_0_2_0") void proxy_abi_mosn_version_0_2_0(void) {}
EXPORT("_start") void start(void) {}

/* ------------------------------------------------------------ big endian */

static u8 *put32(u8 *p, u32 v)
{
    p[0] = (u8)(v >> 24);
    p[1] = (u8)(v >> 16);
    p[2] = (u8)(v >> 8);
    p[3] = (u8)v;
    return p + 4;
}

static u8 *put64(u8 *p, u64 v)
{
    return put32(put32(p, (u32)(v >> 32)), (u32)v);
}

static u32 get16(const u8 *p) { return (u32)p[0] << 8 | (u32)p[1]; }

static u32 get32(const u8 *p)
{
    return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | (u32)p[3];
}

/* ------------------------------------------------------------ the ABI */

/* DecodeData: u32 0 | u8 flag | u64 id | u32 timeout or status | u32 drain_len |
 * u32 payload_len | payload (here: the whole frame, copied). */
EXPORT("proxy_decode_buffer_bytes") int proxy_decode_buffer_bytes(u32 ctx, const u8 *in, u32 len)
{
    u32 header, total, size, flag;
    u8 *out, *p;
    (void)ctx;
    if (len < 2)
        return leave(NEED_MORE);
    header = in[1] == 0 ? 20 : 22; /* response, else request */
    if (len < header)
        return leave(NEED_MORE);
    total = header + get16(in + header - 8) + get16(in + header - 6) + get32(in + header - 4);
    if (total < header)
        return leave(MALFORMED);
    if (len < total)
        return leave(NEED_MORE);
    flag = (in[1] == 0 ? 0 : in[1] == 2 ? ONEWAY : REQUEST) | LOW_BITS;
    if (get16(in + 2) == 0)
        flag |= HEARTBEAT;
    size = 4 + 1 + 8 + 4 + 4 + 4 + total;
    out = arena_alloc(size);
    if (out == 0)
        return leave(MALFORMED);
    p = put32(out, 0);
    *p++ = (u8)flag;
    p = put64(p, get32(in + 5));
    p = put32(p, in[1] == 0 ? get16(in + 10) : get32(in + 10));
    p = put32(p, total);
    p = put32(p, total);
    __builtin_memcpy(p, in, total);
    proxy_set_buffer_bytes(BUF_DECODE, 0, size, out, size);
    return leave(OK);
}

/* Input: u32 header_bytes | map | u8 flag | u64 replaced_id | u64 command_id |
 * u32 timeout_or_status | u32 payload_len | payload.
 * EncodeData: u32 0 | u8 flag | u64 id | u32 timeout_or_status | u32 frame_len |
 * frame: the payload with the replaced id, or a bare header for a built frame. */
EXPORT("proxy_encode_buffer_bytes") int proxy_encode_buffer_bytes(u32 ctx, const u8 *in, u32 len)
{
    u32 map, payload, size, frame;
    const u8 *fixed;
    u8 *out, *p;
    (void)ctx;
    if (len < 4)
        return leave(MALFORMED);
    map = get32(in);
    if (map > len - 4 || len - 4 - map < 1 + 8 + 8 + 4 + 4)
        return leave(MALFORMED);
    fixed = in + 4 + map;
    payload = get32(fixed + 21);
    if (payload > len - 4 - map - 25)
        return leave(MALFORMED);
    frame = payload ? payload : (fixed[0] & KIND) ? 22 : 20;
    size = 4 + 1 + 8 + 4 + 4 + frame;
    out = arena_alloc(size);
    if (out == 0)
        return leave(MALFORMED);
    p = put32(out, 0);
    *p++ = fixed[0] | LOW_BITS;
    __builtin_memcpy(p, fixed + 1, 8); /* replaced_id, already big-endian */
    p += 8;
    __builtin_memcpy(p, fixed + 17, 4); /* timeout_or_status */
    p += 4;
    p = put32(p, frame);
    if (payload) {
        __builtin_memcpy(p, fixed + 25, payload);
    } else { /* keepalive, its reply, or a hijack answer (status UNKNOWN) */
        for (u32 i = 0; i < frame; i++)
            p[i] = 0;
        p[0] = 1;
        p[1] = (fixed[0] & KIND) ? 1 : 0;
        p[3] = (fixed[0] & HEARTBEAT) ? 0 : 2;
        p[4] = 1;
        p[9] = 1;
        if (frame == 22)
            put32(p + 10, 0xFFFFFFFFu);
        else if (!(fixed[0] & HEARTBEAT))
            p[11] = 3;
    }
    put32(p + 5, get32(fixed + 5)); /* the low half of replaced_id */
    proxy_set_buffer_bytes(BUF_ENCODE, 0, size, out, size);
    return leave(OK);
}

EXPORT("proxy_keepalive_buffer_bytes") int proxy_keepalive_buffer_bytes(u32 ctx, u64 id)
{
    (void)ctx;
    (void)id;
    return OK;
}

EXPORT("proxy_reply_keepalive_buffer_bytes")
int proxy_reply_keepalive_buffer_bytes(u32 ctx, const u8 *buf, u32 len)
{
    (void)ctx;
    (void)buf;
    (void)len;
    return OK;
}

EXPORT("proxy_hijack_buffer_bytes")
int proxy_hijack_buffer_bytes(u32 ctx, int code, const u8 *buf, u32 len)
{
    (void)ctx;
    (void)code;
    (void)buf;
    (void)len;
    return OK; /* MOSN never unlocks its instance after a failed hijack */
}
