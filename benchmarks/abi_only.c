/* abi_only.c: a MOSN x-protocol plugin that does only the ABI input/output.
 *
 * The floor under any codec plugin's fuel figure: decode copies its input into a
 * DecodeData buffer of fixed layout (no parsing: no headers, flag request, id 0,
 * drain_len and payload = the whole input); encode reads the fixed part of the
 * host's buffer and reports the whole input as the frame. Same allocator shape as
 * the generated plugin (a bump arena reset per call) and the same compile command:
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

enum { OK = 0, MALFORMED = 10, BUF_DECODE = 13, BUF_ENCODE = 14, FLAG_REQUEST = 0x40 };

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
EXPORT("proxy_on_memory_allocate") void *proxy_on_memory_allocate(usize size)
{
    return arena_alloc((u32)size);
}
EXPORT("proxy_abi_mosn_version_0_2_0") void proxy_abi_mosn_version_0_2_0(void) {}

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

static u32 get32(const u8 *p)
{
    return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | (u32)p[3];
}

/* ------------------------------------------------------------ the ABI */

/* DecodeData: u32 0 | u8 flag | u64 id | u32 timeout | u32 drain_len |
 * u32 payload_len | payload (here: the input, copied). */
EXPORT("proxy_decode_buffer_bytes") int proxy_decode_buffer_bytes(u32 ctx, const u8 *in, u32 len)
{
    u32 size = 4 + 1 + 8 + 4 + 4 + 4 + len;
    u8 *out = arena_alloc(size), *p;
    (void)ctx;
    if (out == 0)
        return leave(MALFORMED);
    p = put32(out, 0);
    *p++ = FLAG_REQUEST;
    p = put64(p, 0);
    p = put32(p, 0);
    p = put32(p, len);
    p = put32(p, len);
    __builtin_memcpy(p, in, len);
    proxy_set_buffer_bytes(BUF_DECODE, 0, size, out, size);
    return leave(OK);
}

/* Input: u32 header_bytes | map | u8 flag | u64 replaced_id | u64 command_id |
 * u32 timeout_or_status | u32 payload_len | payload.
 * EncodeData: u32 0 | u8 flag | u64 id | u32 timeout_or_status | u32 frame_len |
 * frame (here: the input, copied). */
EXPORT("proxy_encode_buffer_bytes") int proxy_encode_buffer_bytes(u32 ctx, const u8 *in, u32 len)
{
    u32 map, size;
    const u8 *fixed;
    u8 *out, *p;
    (void)ctx;
    if (len < 4)
        return leave(MALFORMED);
    map = get32(in);
    if (map > len - 4 || len - 4 - map < 1 + 8 + 8 + 4 + 4)
        return leave(MALFORMED);
    fixed = in + 4 + map;
    size = 4 + 1 + 8 + 4 + 4 + len;
    out = arena_alloc(size);
    if (out == 0)
        return leave(MALFORMED);
    p = put32(out, 0);
    *p++ = fixed[0];
    __builtin_memcpy(p, fixed + 1, 8); /* replaced_id, already big-endian */
    p += 8;
    __builtin_memcpy(p, fixed + 17, 4); /* timeout_or_status */
    p += 4;
    p = put32(p, len);
    __builtin_memcpy(p, in, len);
    proxy_set_buffer_bytes(BUF_ENCODE, 0, size, out, size);
    return leave(OK);
}
