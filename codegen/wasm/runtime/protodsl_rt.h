/*
 * protodsl_rt.h: the runtime every protodsl-generated MOSN codec plugin includes.
 *
 * Freestanding C for wasm32 (no libc, no WASI), compiled together with the
 * generated <name>.c into one module. It holds what does not depend on the
 * protocol: integer helpers, bounds-checked readers and a checked writer, the
 * per-call arena, log lines, the host imports, MOSN's buffer layouts and the
 * store that remembers decoded commands per (context, command id).
 *
 * The generated file defines PD_PROTOCOL (a string for log lines) and
 * PD_MAX_FRAME (bytes) before including this header. The PD_SLOTS,
 * PD_PER_CTX, PD_POOL_SIZE, PD_HB_SLOTS and PD_HB_BYTES limits may be
 * overridden with -D.
 * Every static helper is marked unused so a protocol that needs only some of
 * them still compiles cleanly under -Wall -Wextra -Werror.
 */
#ifndef PROTODSL_RT_H
#define PROTODSL_RT_H

#ifndef PD_PROTOCOL
#error "define PD_PROTOCOL before including protodsl_rt.h"
#endif
#ifndef PD_MOSN_NAME
#error "define PD_MOSN_NAME (the protocol's name in MOSN) before including protodsl_rt.h"
#endif
#ifndef PD_MAX_FRAME
#error "define PD_MAX_FRAME before including protodsl_rt.h"
#endif

#define PD_FN static __attribute__((unused))
/* Helpers whose format arguments are constants at every call site: inlined,
 * so the map walks read their fixed-width lengths without a loop. */
#define PD_INLINE static inline __attribute__((unused, always_inline))
#define PD_DATA static __attribute__((unused))
#if defined(__wasm__)
#define PD_EXPORT(name) __attribute__((export_name(name)))
#define PD_IMPORT(name) __attribute__((import_module("env"), import_name(name)))
#else /* native (fuzz/harness.c): plain functions, the harness stubs the imports */
#define PD_EXPORT(name)
#define PD_IMPORT(name)
#endif

typedef __UINT8_TYPE__ pd_u8;
typedef __UINT32_TYPE__ pd_u32;
typedef __INT32_TYPE__ pd_i32;
typedef __UINT64_TYPE__ pd_u64;
typedef __INT64_TYPE__ pd_i64;
typedef __SIZE_TYPE__ pd_size;
typedef __UINTPTR_TYPE__ pd_uptr;

/* A run of bytes: a view into the input, the call arena or the store's pool. */
typedef struct {
    const pd_u8 *ptr;
    pd_u32 len;
} pd_bytes;

/* Status codes of the MOSN ABI (docs/mosn-abi.md). */
enum {
    PD_OK = 0,
    PD_NOT_FOUND = 1,
    PD_BAD_ARGUMENT = 2,
    PD_MALFORMED = 10,
    PD_NEED_MORE = 99
};
enum { PD_BUF_DECODE = 13, PD_BUF_ENCODE = 14 };
enum { PD_LOG_INFO = 2, PD_LOG_WARN = 3, PD_LOG_ERROR = 4 };
/* Flag bits of the DecodeData buffer as MOSN reads them (docs/mosn-abi.md):
 * the kind is flag >> 6. MOSN refuses 0xC0, the ABI's oneway, so a oneway
 * request is 0x80. The low five bits (CopyRawBytes, readonly, unused) mean
 * nothing to MOSN and are always set: MOSN reads the header map on into the
 * flag and id, and the key length it reads there must be longer than what is
 * left of the buffer: at least 0x1F000000 bytes with these bits set (with a
 * flag of 0, MOSN panics on some ids; pd_mosn_misreads guards the rest). */
enum {
    PD_FLAG_LOW = 0x1F,
    PD_FLAG_RESPONSE = 0x00,
    PD_FLAG_HEARTBEAT = 0x20,
    PD_FLAG_REQUEST = 0x40,
    PD_FLAG_ONEWAY = 0x80,
    PD_FLAG_KIND = 0xC0
};

PD_IMPORT("proxy_log") int proxy_log(int level, const pd_u8 *ptr, pd_u32 len);
PD_IMPORT("proxy_set_buffer_bytes")
int proxy_set_buffer_bytes(int type, pd_u32 start, pd_u32 max, const pd_u8 *ptr, pd_u32 len);

#if defined(__wasm__)
/* Without bulk memory, clang lowers the memcpy and memset builtins to calls
 * the module must define; with it, these are unused and dropped by the linker. */
__attribute__((no_builtin)) void *memcpy(void *dst, const void *src, pd_size n)
{
    pd_u8 *d = dst;
    const pd_u8 *s = src;
    while (n--)
        *d++ = *s++;
    return dst;
}
__attribute__((no_builtin)) void *memmove(void *dst, const void *src, pd_size n)
{
    pd_u8 *d = dst;
    const pd_u8 *s = src;
    if (d < s) {
        while (n--)
            *d++ = *s++;
    } else {
        while (n--)
            d[n] = s[n];
    }
    return dst;
}
__attribute__((no_builtin)) void *memset(void *dst, int c, pd_size n)
{
    pd_u8 *d = dst;
    while (n--)
        *d++ = (pd_u8)c;
    return dst;
}
#endif

/* ------------------------------------------------------------------ integers */
/* Expressions of a spec are 64-bit signed; these never hit C's undefined
 * behaviour (overflow wraps, division by zero and oversized shifts give 0). */

PD_FN pd_i64 pd_add(pd_i64 a, pd_i64 b) { return (pd_i64)((pd_u64)a + (pd_u64)b); }
PD_FN pd_i64 pd_sub(pd_i64 a, pd_i64 b) { return (pd_i64)((pd_u64)a - (pd_u64)b); }
PD_FN pd_i64 pd_mul(pd_i64 a, pd_i64 b) { return (pd_i64)((pd_u64)a * (pd_u64)b); }
PD_FN pd_i64 pd_neg(pd_i64 a) { return (pd_i64)((pd_u64)0 - (pd_u64)a); }

PD_FN pd_i64 pd_div(pd_i64 a, pd_i64 b)
{
    if (b == 0)
        return 0;
    if (b == -1)
        return pd_neg(a);
    return a / b;
}

PD_FN pd_i64 pd_mod(pd_i64 a, pd_i64 b)
{
    if (b == 0 || b == -1)
        return 0;
    return a % b;
}

PD_FN pd_i64 pd_shl(pd_i64 a, pd_i64 b)
{
    if (b < 0 || b > 63)
        return 0;
    return (pd_i64)((pd_u64)a << b);
}

PD_FN pd_i64 pd_shr(pd_i64 a, pd_i64 b)
{
    if (b < 0)
        return 0;
    if (b > 63)
        return a < 0 ? -1 : 0;
    return a >> b;
}

/* Sign-extend the low `bits` bits of v. */
PD_FN pd_i64 pd_sext(pd_u64 v, unsigned bits)
{
    pd_u64 sign;
    if (bits >= 64)
        return (pd_i64)v;
    sign = (pd_u64)1 << (bits - 1);
    v &= (sign << 1) - 1;
    return (pd_i64)((v ^ sign) - sign);
}

/* --------------------------------------------------------------- readers */
/* Callers check the bounds first: every read below is inside a checked span. */

/* n is a constant at every call site; up to 4 bytes the arithmetic stays 32-bit. */
PD_INLINE pd_u64 pd_rd_be(const pd_u8 *p, unsigned n)
{
    pd_u64 v = 0;
    if (n <= 4) {
        pd_u32 w = 0;
        for (unsigned i = 0; i < n; i++)
            w = (w << 8) | p[i];
        return w;
    }
    for (unsigned i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

PD_INLINE pd_u64 pd_rd_le(const pd_u8 *p, unsigned n)
{
    pd_u64 v = 0;
    if (n <= 4) {
        pd_u32 w = 0;
        for (unsigned i = n; i > 0; i--)
            w = (w << 8) | p[i - 1];
        return w;
    }
    for (unsigned i = n; i > 0; i--)
        v = (v << 8) | p[i - 1];
    return v;
}

/* A cursor over a host buffer; every take is bounds-checked. */
typedef struct {
    const pd_u8 *p;
    pd_u32 left;
} pd_cur;

PD_FN int pd_take(pd_cur *c, pd_u32 n, pd_bytes *out)
{
    if (c->left < n)
        return 0;
    out->ptr = c->p;
    out->len = n;
    c->p += n;
    c->left -= n;
    return 1;
}

PD_FN int pd_take_be(pd_cur *c, unsigned n, pd_u64 *v)
{
    pd_bytes b;
    if (!pd_take(c, n, &b))
        return 0;
    *v = pd_rd_be(b.ptr, n);
    return 1;
}

/* Strict UTF-8, as Python decodes it: no overlongs, surrogates or values past U+10FFFF.
 * Returns -1 for valid text, else the index of the first byte of the first bad
 * sequence (Python's UnicodeDecodeError.start). */
PD_FN pd_i64 pd_utf8_bad(const pd_u8 *p, pd_u32 n)
{
    pd_u32 i = 0;
    while (i < n) {
        pd_u8 c = p[i];
        pd_u8 lo = 0x80, hi = 0xBF;
        pd_u32 more;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            more = 1;
        else if (c >= 0xE0 && c <= 0xEF)
            more = 2;
        else if (c >= 0xF0 && c <= 0xF4)
            more = 3;
        else
            return i;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
        else if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
        if (n - i - 1 < more || p[i + 1] < lo || p[i + 1] > hi)
            return i;
        for (pd_u32 k = 2; k <= more; k++)
            if ((p[i + k] & 0xC0) != 0x80)
                return i;
        i += more + 1;
    }
    return -1;
}

PD_INLINE int pd_utf8_ok(const pd_u8 *p, pd_u32 n) { return pd_utf8_bad(p, n) < 0; }

/* ------------------------------------------------------------- checksums */

/* CRC-32 of IEEE 802.3 (reflected polynomial 0xEDB88320, initial value and
 * final xor all ones): exactly zlib.crc32. One table lookup per byte; the
 * table is dropped from modules whose protocol has no checksum. */
PD_DATA const pd_u32 pd_crc32_table[256] = {
    0x00000000u, 0x77073096u, 0xee0e612cu, 0x990951bau, 0x076dc419u, 0x706af48fu,
    0xe963a535u, 0x9e6495a3u, 0x0edb8832u, 0x79dcb8a4u, 0xe0d5e91eu, 0x97d2d988u,
    0x09b64c2bu, 0x7eb17cbdu, 0xe7b82d07u, 0x90bf1d91u, 0x1db71064u, 0x6ab020f2u,
    0xf3b97148u, 0x84be41deu, 0x1adad47du, 0x6ddde4ebu, 0xf4d4b551u, 0x83d385c7u,
    0x136c9856u, 0x646ba8c0u, 0xfd62f97au, 0x8a65c9ecu, 0x14015c4fu, 0x63066cd9u,
    0xfa0f3d63u, 0x8d080df5u, 0x3b6e20c8u, 0x4c69105eu, 0xd56041e4u, 0xa2677172u,
    0x3c03e4d1u, 0x4b04d447u, 0xd20d85fdu, 0xa50ab56bu, 0x35b5a8fau, 0x42b2986cu,
    0xdbbbc9d6u, 0xacbcf940u, 0x32d86ce3u, 0x45df5c75u, 0xdcd60dcfu, 0xabd13d59u,
    0x26d930acu, 0x51de003au, 0xc8d75180u, 0xbfd06116u, 0x21b4f4b5u, 0x56b3c423u,
    0xcfba9599u, 0xb8bda50fu, 0x2802b89eu, 0x5f058808u, 0xc60cd9b2u, 0xb10be924u,
    0x2f6f7c87u, 0x58684c11u, 0xc1611dabu, 0xb6662d3du, 0x76dc4190u, 0x01db7106u,
    0x98d220bcu, 0xefd5102au, 0x71b18589u, 0x06b6b51fu, 0x9fbfe4a5u, 0xe8b8d433u,
    0x7807c9a2u, 0x0f00f934u, 0x9609a88eu, 0xe10e9818u, 0x7f6a0dbbu, 0x086d3d2du,
    0x91646c97u, 0xe6635c01u, 0x6b6b51f4u, 0x1c6c6162u, 0x856530d8u, 0xf262004eu,
    0x6c0695edu, 0x1b01a57bu, 0x8208f4c1u, 0xf50fc457u, 0x65b0d9c6u, 0x12b7e950u,
    0x8bbeb8eau, 0xfcb9887cu, 0x62dd1ddfu, 0x15da2d49u, 0x8cd37cf3u, 0xfbd44c65u,
    0x4db26158u, 0x3ab551ceu, 0xa3bc0074u, 0xd4bb30e2u, 0x4adfa541u, 0x3dd895d7u,
    0xa4d1c46du, 0xd3d6f4fbu, 0x4369e96au, 0x346ed9fcu, 0xad678846u, 0xda60b8d0u,
    0x44042d73u, 0x33031de5u, 0xaa0a4c5fu, 0xdd0d7cc9u, 0x5005713cu, 0x270241aau,
    0xbe0b1010u, 0xc90c2086u, 0x5768b525u, 0x206f85b3u, 0xb966d409u, 0xce61e49fu,
    0x5edef90eu, 0x29d9c998u, 0xb0d09822u, 0xc7d7a8b4u, 0x59b33d17u, 0x2eb40d81u,
    0xb7bd5c3bu, 0xc0ba6cadu, 0xedb88320u, 0x9abfb3b6u, 0x03b6e20cu, 0x74b1d29au,
    0xead54739u, 0x9dd277afu, 0x04db2615u, 0x73dc1683u, 0xe3630b12u, 0x94643b84u,
    0x0d6d6a3eu, 0x7a6a5aa8u, 0xe40ecf0bu, 0x9309ff9du, 0x0a00ae27u, 0x7d079eb1u,
    0xf00f9344u, 0x8708a3d2u, 0x1e01f268u, 0x6906c2feu, 0xf762575du, 0x806567cbu,
    0x196c3671u, 0x6e6b06e7u, 0xfed41b76u, 0x89d32be0u, 0x10da7a5au, 0x67dd4accu,
    0xf9b9df6fu, 0x8ebeeff9u, 0x17b7be43u, 0x60b08ed5u, 0xd6d6a3e8u, 0xa1d1937eu,
    0x38d8c2c4u, 0x4fdff252u, 0xd1bb67f1u, 0xa6bc5767u, 0x3fb506ddu, 0x48b2364bu,
    0xd80d2bdau, 0xaf0a1b4cu, 0x36034af6u, 0x41047a60u, 0xdf60efc3u, 0xa867df55u,
    0x316e8eefu, 0x4669be79u, 0xcb61b38cu, 0xbc66831au, 0x256fd2a0u, 0x5268e236u,
    0xcc0c7795u, 0xbb0b4703u, 0x220216b9u, 0x5505262fu, 0xc5ba3bbeu, 0xb2bd0b28u,
    0x2bb45a92u, 0x5cb36a04u, 0xc2d7ffa7u, 0xb5d0cf31u, 0x2cd99e8bu, 0x5bdeae1du,
    0x9b64c2b0u, 0xec63f226u, 0x756aa39cu, 0x026d930au, 0x9c0906a9u, 0xeb0e363fu,
    0x72076785u, 0x05005713u, 0x95bf4a82u, 0xe2b87a14u, 0x7bb12baeu, 0x0cb61b38u,
    0x92d28e9bu, 0xe5d5be0du, 0x7cdcefb7u, 0x0bdbdf21u, 0x86d3d2d4u, 0xf1d4e242u,
    0x68ddb3f8u, 0x1fda836eu, 0x81be16cdu, 0xf6b9265bu, 0x6fb077e1u, 0x18b74777u,
    0x88085ae6u, 0xff0f6a70u, 0x66063bcau, 0x11010b5cu, 0x8f659effu, 0xf862ae69u,
    0x616bffd3u, 0x166ccf45u, 0xa00ae278u, 0xd70dd2eeu, 0x4e048354u, 0x3903b3c2u,
    0xa7672661u, 0xd06016f7u, 0x4969474du, 0x3e6e77dbu, 0xaed16a4au, 0xd9d65adcu,
    0x40df0b66u, 0x37d83bf0u, 0xa9bcae53u, 0xdebb9ec5u, 0x47b2cf7fu, 0x30b5ffe9u,
    0xbdbdf21cu, 0xcabac28au, 0x53b39330u, 0x24b4a3a6u, 0xbad03605u, 0xcdd70693u,
    0x54de5729u, 0x23d967bfu, 0xb3667a2eu, 0xc4614ab8u, 0x5d681b02u, 0x2a6f2b94u,
    0xb40bbe37u, 0xc30c8ea1u, 0x5a05df1bu, 0x2d02ef8du
};

PD_FN pd_u32 pd_crc32(const pd_u8 *p, pd_u32 n)
{
    pd_u32 c = 0xFFFFFFFFu;
    while (n--)
        c = pd_crc32_table[(c ^ *p++) & 0xFFu] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

/* ------------------------------------------------------------ log lines */

PD_DATA pd_u8 pd_log_buf[256];
PD_DATA pd_u32 pd_log_len;

PD_FN void pd_log_s(const char *s)
{
    while (*s && pd_log_len < sizeof pd_log_buf)
        pd_log_buf[pd_log_len++] = (pd_u8)*s++;
}

PD_FN void pd_log_u(pd_u64 v)
{
    char digits[20];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n > 0 && pd_log_len < sizeof pd_log_buf)
        pd_log_buf[pd_log_len++] = (pd_u8)digits[--n];
}

PD_FN void pd_log_i(pd_i64 v)
{
    if (v < 0) {
        pd_log_s("-");
        pd_log_u((pd_u64)0 - (pd_u64)v);
    } else {
        pd_log_u((pd_u64)v);
    }
}

/* Numbers as the spec wrote the constant they are compared with: decimal, or
 * 0x / 0b and at least `digits` digits (codegen/numbers.py makes `fmt`). A value
 * of an unsigned field is shown unsigned (a u64 past 2^63 reads negative). */
#define PD_NUM(radix, digits, upper) ((radix) | (digits) << 8 | (upper) << 16)
#define PD_NUM_UNSIGNED (1 << 17)
#define PD_DEC PD_NUM(10, 0, 0)

PD_FN void pd_log_n(pd_i64 v, int fmt)
{
    pd_u32 radix = (pd_u32)fmt & 0xFFu, digits = ((pd_u32)fmt >> 8) & 0xFFu;
    const char *set = (fmt >> 16) & 1 ? "0123456789ABCDEF" : "0123456789abcdef";
    pd_u64 u = (pd_u64)v;
    char out[64];
    pd_u32 n = 0;
    if (radix != 2 && radix != 16) {
        if (fmt & PD_NUM_UNSIGNED)
            pd_log_u(u);
        else
            pd_log_i(v);
        return;
    }
    if (!(fmt & PD_NUM_UNSIGNED) && v < 0) {
        pd_log_s("-");
        u = (pd_u64)0 - u;
    }
    pd_log_s(radix == 16 ? "0x" : "0b");
    do {
        out[n++] = set[u % radix];
        u /= radix;
    } while (u);
    while (n < digits && n < sizeof out)
        out[n++] = '0';
    while (n > 0 && pd_log_len < sizeof pd_log_buf)
        pd_log_buf[pd_log_len++] = (pd_u8)out[--n];
}

PD_FN void pd_log_begin(void)
{
    pd_log_len = 0;
    pd_log_s(PD_PROTOCOL ": ");
}

PD_FN void pd_log_end(int level)
{
    proxy_log(level, pd_log_buf, pd_log_len);
    pd_log_len = 0;
}

/* A decode error, the same text as the Python codec's ProtocolError:
 * "<protocol>: <where> at offset <offset>: <what>"; returns PD_MALFORMED. */
PD_FN int pd_fail(const char *where, pd_u64 offset, const char *what)
{
    pd_log_begin();
    pd_log_s(where);
    pd_log_s(" at offset ");
    pd_log_u(offset);
    pd_log_s(": ");
    pd_log_s(what);
    pd_log_end(PD_LOG_WARN);
    return PD_MALFORMED;
}

/* The rest of a failure's log line after its field: " at offset N: <before>
 * <value><after>", the value as pd_log_n shows it. */
PD_FN int pd_fail_at(pd_u64 offset, const char *before, pd_i64 value, int fmt,
                     const char *after)
{
    pd_log_s(" at offset ");
    pd_log_u(offset);
    pd_log_s(": ");
    pd_log_s(before);
    pd_log_n(value, fmt);
    pd_log_s(after);
    pd_log_end(PD_LOG_WARN);
    return PD_MALFORMED;
}

/* As pd_fail, with the offending value: "...: <before><value><after>". */
PD_FN int pd_fail_v(const char *where, pd_u64 offset, const char *before, pd_i64 value,
                    int fmt, const char *after)
{
    pd_log_begin();
    pd_log_s(where);
    return pd_fail_at(offset, before, value, fmt, after);
}

/* As pd_fail_v, about a member of a record in a list of frame variant `frame`:
 * "<frame>.<member> at offset ..." (a record is shared by the frames that list it). */
PD_FN int pd_fail_in(const char *frame, const char *member, pd_u64 offset, const char *before,
                     pd_i64 value, int fmt, const char *after)
{
    pd_log_begin();
    pd_log_s(frame);
    pd_log_s(".");
    pd_log_s(member);
    return pd_fail_at(offset, before, value, fmt, after);
}

/* The Python codec's CountMismatch: "<where>[ at offset <offset>]: counts <got>
 * records, but <want> were read"; a negative offset is none (the count's own
 * offset is not fixed). */
PD_FN int pd_fail_count(const char *where, pd_i64 offset, pd_i64 got, pd_i64 want)
{
    pd_log_begin();
    pd_log_s(where);
    if (offset >= 0) {
        pd_log_s(" at offset ");
        pd_log_i(offset);
    }
    pd_log_s(": counts ");
    pd_log_i(got);
    pd_log_s(" records, but ");
    pd_log_i(want);
    pd_log_s(" were read");
    pd_log_end(PD_LOG_WARN);
    return PD_MALFORMED;
}

/* "<protocol>: <call>: <where>: <what> <value>" for failures that have no wire offset. */
PD_FN int pd_fail_call(const char *call, const char *where, const char *what, pd_u64 value)
{
    pd_log_begin();
    pd_log_s(call);
    pd_log_s(": ");
    pd_log_s(where);
    pd_log_s(": ");
    pd_log_s(what);
    pd_log_s(" ");
    pd_log_u(value);
    pd_log_end(PD_LOG_WARN);
    return PD_MALFORMED;
}

/* As pd_fail_call, for a signed value of a field. */
PD_FN int pd_fail_field(const char *call, const char *where, const char *what, pd_i64 value)
{
    pd_log_begin();
    pd_log_s(call);
    pd_log_s(": ");
    pd_log_s(where);
    pd_log_s(": ");
    pd_log_s(what);
    pd_log_s(" ");
    pd_log_i(value);
    pd_log_end(PD_LOG_WARN);
    return PD_MALFORMED;
}

/* --------------------------------------------------------------- varints */
/* Unsigned LEB128, 7 bits a byte, least significant group first, of at most
 * `most` (1 to 9) bytes: the Python codec's _read_varint. The value at
 * buf[at, end) goes to *v and the offset after it to *next: PD_OK. PD_NEED_MORE
 * when `end` comes first; longer than `most` bytes or not in its shortest form
 * (a last byte 0 after the first): logged at `where`, PD_MALFORMED. */
PD_FN int pd_varint(const pd_u8 *buf, pd_u32 at, pd_u32 end, unsigned most, const char *where,
                    pd_u64 *v, pd_u32 *next)
{
    pd_u64 value = 0;
    for (unsigned i = 0; i < most; i++) {
        pd_u8 byte;
        if ((pd_u64)at + i >= end)
            return PD_NEED_MORE;
        byte = buf[at + i];
        value |= (pd_u64)(byte & 0x7Fu) << (7 * i);
        if (byte < 0x80u) {
            if (byte == 0 && i)
                return pd_fail(where, at, "not in its shortest form");
            *v = value;
            *next = at + i + 1;
            return PD_OK;
        }
    }
    return pd_fail_v(where, at, "longer than ", (pd_i64)most, PD_DEC, " bytes");
}

/* Bytes of the shortest LEB128 encoding of v. */
PD_FN pd_u32 pd_varint_len(pd_u64 v)
{
    pd_u32 n = 1;
    while (v > 0x7Fu) {
        v >>= 7;
        n++;
    }
    return n;
}

/* ------------------------------------------------------ memory and arena */
/* One bump region above __heap_base serves both the host's argument copies
 * (malloc) and the temporaries and output of an ABI call. It is reset at the
 * first malloc or ABI call after a call ends, so memory grows to a high-water
 * mark and then stays put, however many calls are made. */

#ifndef PD_HEAP_LIMIT
#define PD_HEAP_LIMIT ((pd_u64)PD_MAX_FRAME * 6u + ((pd_u64)1 << 20))
#endif

#if defined(__wasm__)
extern pd_u8 __heap_base;
PD_DATA pd_u32 pd_heap_top;
PD_DATA int pd_heap_stale = 1;

PD_FN void *pd_alloc(pd_u64 n)
{
    pd_u64 base = (pd_u64)(pd_uptr)&__heap_base;
    pd_u64 cap = base + PD_HEAP_LIMIT;
    pd_u64 start, end, have;
    if (cap > 0xFFFF0000u)
        cap = 0xFFFF0000u;
    if (pd_heap_stale || pd_heap_top == 0) {
        pd_heap_top = (pd_u32)base;
        pd_heap_stale = 0;
    }
    start = ((pd_u64)pd_heap_top + 7u) & ~(pd_u64)7u;
    if (start > cap || n > cap - start)
        return 0;
    end = start + n;
    have = (pd_u64)__builtin_wasm_memory_size(0) * 65536u;
    if (end > have) {
        pd_u64 pages = (end - have + 65535u) / 65536u;
        if (__builtin_wasm_memory_grow(0, (pd_size)pages) == (pd_size)-1)
            return 0;
    }
    pd_heap_top = (pd_u32)end;
    return (void *)(pd_uptr)start;
}

/* Start of an ABI call: keep what malloc handed out for this call's input. */
PD_FN void pd_enter(void)
{
    if (pd_heap_stale) {
        pd_heap_top = (pd_u32)(pd_uptr)&__heap_base;
        pd_heap_stale = 0;
    }
}
#else
/* Native (fuzz/harness.c): each allocation is its own libc malloc, so
 * AddressSanitizer knows its exact bounds; a call's blocks are freed when the
 * next call starts, and PD_HEAP_LIMIT bounds them as it bounds the arena. */
#include <stdlib.h>
PD_DATA void **pd_blocks;
PD_DATA pd_u32 pd_nblocks, pd_max_blocks;
PD_DATA pd_u64 pd_heap_used;
PD_DATA int pd_heap_stale = 1;

PD_FN void pd_enter(void)
{
    if (pd_heap_stale) {
        while (pd_nblocks)
            free(pd_blocks[--pd_nblocks]);
        pd_heap_used = 0;
        pd_heap_stale = 0;
    }
}

PD_FN void *pd_alloc(pd_u64 n)
{
    void *p;
    pd_enter();
    if (n > PD_HEAP_LIMIT - pd_heap_used)
        return 0;
    if (pd_nblocks == pd_max_blocks) {
        void **more = realloc(pd_blocks, (pd_max_blocks * 2 + 16) * sizeof *more);
        if (!more)
            return 0;
        pd_blocks = more;
        pd_max_blocks = pd_max_blocks * 2 + 16;
    }
    p = malloc(n ? (pd_size)n : 1);
    if (!p)
        return 0;
    pd_heap_used += (n + 7u) & ~(pd_u64)7u;
    pd_blocks[pd_nblocks++] = p;
    return p;
}
#endif

/* The block malloc handed out last, until the ABI call that consumes it
 * ends: the host's bytes at [pd_arg_at, pd_arg_end), slack from pd_arg_lo. */
PD_DATA pd_uptr pd_arg_lo, pd_arg_at, pd_arg_end;

/* End of an ABI call: everything allocated since may be reused by the next one. */
PD_FN int pd_leave(int status)
{
    pd_arg_lo = 0; /* the block is the call's: no longer room for the next */
    pd_heap_stale = 1;
    return status;
}

#if !defined(__wasm__)
#define malloc pd_malloc /* natively, libc keeps its own */
#endif
/* The host copies each call's argument into a block from malloc. The block
 * gets slack in front (the argument's length + 64 bytes) when the heap has
 * room: an output that ends with a run of the argument (DecodeData and
 * EncodeData end with the payload) is then written in place, in front of
 * that run, which is never copied. The slack is part of the call arena, so
 * it is reused by the next call like everything else. */
PD_EXPORT("malloc") void *malloc(pd_size size)
{
    pd_u64 slack = ((pd_u64)size + 64u + 7u) & ~(pd_u64)7u;
    pd_u8 *block = pd_alloc(slack + size);
    if (!block) {
        slack = 0;
        block = pd_alloc(size);
        if (!block)
            return 0;
    }
    pd_arg_lo = (pd_uptr)block;
    pd_arg_at = pd_arg_lo + (pd_uptr)slack;
    pd_arg_end = pd_arg_at + size;
    return block + slack;
}

PD_EXPORT("proxy_on_memory_allocate") void *proxy_on_memory_allocate(pd_size size)
{
    return malloc(size);
}
#undef malloc

/* --------------------------------------------------------------- writer */
/* Output is sized exactly before it is written; every put still checks its
 * bytes against the end, so a sizing mistake is an error, never a stray
 * write. A put returns the advanced pointer, or 0 once anything did not fit
 * (and 0 stays 0); the pointers live in locals, which keeps puts cheap. */

/* Allocate an output buffer of n bytes in the call arena. */
PD_FN pd_u8 *pd_out_open(pd_u64 n)
{
    pd_u8 *mem = n > 0xFFFFFFFFu ? 0 : pd_alloc(n);
    if (!mem) {
        pd_log_begin();
        pd_log_s("cannot allocate an output buffer of ");
        pd_log_u(n);
        pd_log_s(" bytes");
        pd_log_end(PD_LOG_ERROR);
    }
    return mem;
}

PD_INLINE pd_u8 *pd_put(pd_u8 *p, const pd_u8 *end, const pd_u8 *src, pd_u32 n)
{
    if (!p || (pd_size)(end - p) < n)
        return 0;
    if (n && p != src) /* else already in place: an output written around its payload */
        __builtin_memcpy(p, src, n);
    return p + n;
}

PD_INLINE pd_u8 *pd_put_fill(pd_u8 *p, const pd_u8 *end, pd_u8 byte, pd_u32 n)
{
    if (!p || (pd_size)(end - p) < n)
        return 0;
    if (n)
        __builtin_memset(p, byte, n);
    return p + n;
}

PD_INLINE pd_u8 *pd_put_be(pd_u8 *p, const pd_u8 *end, unsigned n, pd_u64 v)
{
    if (!p || (pd_size)(end - p) < n)
        return 0;
    if (n <= 4) {
        pd_u32 w = (pd_u32)v;
        for (unsigned i = n; i > 0; i--) {
            p[i - 1] = (pd_u8)w;
            w >>= 8;
        }
        return p + n;
    }
    for (unsigned i = n; i > 0; i--) {
        p[i - 1] = (pd_u8)v;
        v >>= 8;
    }
    return p + n;
}

PD_INLINE pd_u8 *pd_put_le(pd_u8 *p, const pd_u8 *end, unsigned n, pd_u64 v)
{
    if (!p || (pd_size)(end - p) < n)
        return 0;
    if (n <= 4) {
        pd_u32 w = (pd_u32)v;
        for (unsigned i = 0; i < n; i++) {
            p[i] = (pd_u8)w;
            w >>= 8;
        }
        return p + n;
    }
    for (unsigned i = 0; i < n; i++) {
        p[i] = (pd_u8)v;
        v >>= 8;
    }
    return p + n;
}

/* v in its shortest LEB128 encoding. */
PD_FN pd_u8 *pd_put_varint(pd_u8 *p, const pd_u8 *end, pd_u64 v)
{
    if (!p || (pd_size)(end - p) < pd_varint_len(v))
        return 0;
    while (v > 0x7Fu) {
        *p++ = (pd_u8)(v | 0x80u);
        v >>= 7;
    }
    *p++ = (pd_u8)v;
    return p;
}

/* -DPD_IN_PLACE=0 gives every output its own buffer, as when there is no
 * room: the tests run the copying path that way on every input. */
#ifndef PD_IN_PLACE
#define PD_IN_PLACE 1
#endif

/* Where an in-place output may start, for a call whose argument is buf[0, len):
 * the slack malloc left in front of buf, or 0 when buf is not the block malloc
 * handed out last (then every output gets its own buffer). */
PD_FN pd_u8 *pd_room(const pd_u8 *buf, pd_u32 len)
{
    if (!PD_IN_PLACE || !pd_arg_lo || (pd_uptr)buf != pd_arg_at ||
        len > pd_arg_end - pd_arg_at)
        return 0;
    return (pd_u8 *)pd_arg_lo;
}

/* An output of n bytes that ends where `tail` (a run of the argument) ends,
 * written in place over [room, tail): its start, or 0 when that room is too
 * small. The writer finds tail already in place and skips it (pd_put); any
 * other view of the argument in front of tail must be moved (pd_move_end)
 * or read before the bytes over it are written. */
PD_FN pd_u8 *pd_out_before(pd_u8 *room, pd_bytes tail, pd_u64 n)
{
    pd_u64 front;
    if (!room || tail.ptr < room || (pd_uptr)tail.ptr + tail.len > pd_arg_end || n < tail.len)
        return 0;
    front = (pd_u64)(tail.ptr - room);
    if (n - tail.len > front)
        return 0;
    return room + (front - (n - tail.len));
}

/* Move b to end at `end` (inside an in-place output; the two may overlap). */
PD_FN pd_bytes pd_move_end(pd_u8 *end, pd_bytes b)
{
    pd_bytes out = {end - b.len, b.len};
    if (b.len && out.ptr != b.ptr)
        __builtin_memmove(end - b.len, b.ptr, b.len);
    return out;
}

/* Hand a finished buffer [out, end) to the host (type 13 DecodeData, 14 EncodeData). */
PD_FN int pd_out_done(int type, const pd_u8 *out, const pd_u8 *p, const pd_u8 *end)
{
    pd_u32 n = (pd_u32)(end - out);
    if (p != end) {
        pd_log_begin();
        pd_log_s("internal error: output buffer size mismatch");
        pd_log_end(PD_LOG_ERROR);
        return PD_MALFORMED;
    }
    if (proxy_set_buffer_bytes(type, 0, n, out, n) != PD_OK) {
        pd_log_begin();
        pd_log_s("proxy_set_buffer_bytes refused the result");
        pd_log_end(PD_LOG_ERROR);
        return PD_MALFORMED;
    }
    return PD_OK;
}

/* --------------------------------------------------------------- id views */
/* A frame's id as part of a bytes field (a UUID's last 8 bytes): `width`
 * bytes (1 to 8) from `at`, little- or big-endian. */

/* The id the view holds; 0 for a field shorter than the view (only a built
 * frame whose arena ran out, which encode then refuses for its length). */
PD_FN pd_u64 pd_id_of(pd_bytes b, unsigned at, unsigned width, int little)
{
    if (b.len < at + width)
        return 0;
    return little ? pd_rd_le(b.ptr + at, width) : pd_rd_be(b.ptr + at, width);
}

/* Write the low `width` bytes of `id` into the view, the other bytes kept. */
PD_FN void pd_id_put(pd_u8 *p, unsigned at, unsigned width, int little, pd_u64 id)
{
    for (unsigned i = 0; i < width; i++)
        p[at + (little ? i : width - 1 - i)] = (pd_u8)(id >> (8 * i));
}

/* A new id into a remembered frame's view: 0 when it does not fit `width`
 * bytes (encode refuses it). Remembered bytes are the store pool's own copy,
 * so they may be written; a field shorter than the view is left to fin. */
PD_FN int pd_id_into(pd_bytes b, unsigned at, unsigned width, int little, pd_u64 id)
{
    if (width < 8 && id >> (8 * width))
        return 0;
    if (b.len >= at + width)
        pd_id_put((pd_u8 *)(pd_uptr)b.ptr, at, width, little, id);
    return 1;
}

/* A built frame's id field: `size` zero bytes in the call arena, `id` in the
 * view; empty when the arena is full (fin refuses the length). */
PD_FN pd_bytes pd_id_bytes(pd_u32 size, unsigned at, unsigned width, int little, pd_u64 id)
{
    pd_bytes out = {0, 0};
    pd_u8 *p = pd_alloc(size);
    if (!p)
        return out;
    __builtin_memset(p, 0, size);
    pd_id_put(p, at, width, little, id);
    out.ptr = p;
    out.len = size;
    return out;
}

/* ---------------------------------------------------------- header maps */
/* Whether n bytes at a and b are the same (no libc here). */
PD_INLINE int pd_same(const pd_u8 *a, const pd_u8 *b, pd_u32 n)
{
    for (pd_u32 i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

/* A map's wire format: each pair is a key length, the key, the `between`
 * bytes, a value length, the value. Lengths are unsigned whatever the spec's
 * prefix types say: a length has no sign. With null_drop an all-ones length
 * is a null. Every format is a static const of the generated plugin and these
 * helpers are inlined, so each walk reads its fixed-width lengths without a
 * loop and a map without `between` bytes has no code for them. */
struct pd_kv {
    unsigned key_width, value_width;
    int key_little, value_little, null_drop;
    const pd_u8 *between;
    pd_u32 between_len;
    const char *between_error; /* the message when they are not there */
};

/* MOSN's own encoding: u32 big-endian lengths, nothing between, no nulls. */
PD_INLINE int pd_kv_is_abi(const struct pd_kv *f)
{
    return f->key_width == 4 && f->value_width == 4 && !f->key_little && !f->value_little &&
           !f->between_len;
}

PD_INLINE unsigned pd_kv_width(const struct pd_kv *f, int part)
{
    return part ? f->value_width : f->key_width;
}

PD_INLINE pd_u64 pd_kv_ones(const struct pd_kv *f, int part)
{
    unsigned w = pd_kv_width(f, part);
    return w >= 8 ? ~(pd_u64)0 : (((pd_u64)1 << (8 * w)) - 1);
}

PD_INLINE pd_u64 pd_kv_len(const pd_u8 *p, const struct pd_kv *f, int part)
{
    unsigned w = pd_kv_width(f, part);
    return (part ? f->value_little : f->key_little) ? pd_rd_le(p, w) : pd_rd_be(p, w);
}

PD_INLINE pd_u8 *pd_kv_put_len(pd_u8 *p, const pd_u8 *end, const struct pd_kv *f, int part,
                               pd_u64 len)
{
    unsigned w = pd_kv_width(f, part);
    return (part ? f->value_little : f->key_little) ? pd_put_le(p, end, w, len)
                                                     : pd_put_be(p, end, w, len);
}

/* Is this length a null (all ones, in a map with null_drop)? */
PD_INLINE int pd_kv_null(pd_u64 len, const struct pd_kv *f, int part)
{
    return f->null_drop && len == pd_kv_ones(f, part);
}

/* Decode a map section of n bytes at offset `at` of the frame (decode step f):
 * a truncated or overlong length, or other bytes where `between` belongs, is
 * malformed; pairs with a null are dropped. The result is the kept pairs in
 * wire encoding: a view of the section unless something was dropped, then a
 * compact copy in the call arena. */
PD_INLINE int pd_kv_read(const pd_u8 *sec, pd_u32 n, pd_u32 at, const struct pd_kv *f,
                         const char *where, pd_bytes *out)
{
    pd_u32 i = 0, dropped = 0;
    pd_u8 *copy, *q;
    while (i < n) {
        pd_u32 nulls = 0;
        for (int part = 0; part < 2; part++) {
            unsigned w = pd_kv_width(f, part);
            pd_u64 len;
            if (part && f->between_len) {
                if (n - i < f->between_len || !pd_same(sec + i, f->between, f->between_len))
                    return pd_fail(where, (pd_u64)at + i, f->between_error);
                i += f->between_len;
            }
            if (n - i < w)
                return pd_fail(where, (pd_u64)at + i,
                               part ? "value length runs past the section"
                                    : "key length runs past the section");
            len = pd_kv_len(sec + i, f, part);
            i += w;
            if (pd_kv_null(len, f, part)) {
                nulls = 1;
            } else if (len > n - i) {
                return pd_fail_v(where, (pd_u64)at + i - w,
                                 part ? "value length " : "key length ", (pd_i64)len,
                                 PD_DEC | PD_NUM_UNSIGNED, " runs past the section");
            } else {
                i += (pd_u32)len;
            }
        }
        dropped += nulls;
    }
    out->ptr = sec;
    out->len = n;
    if (!dropped)
        return PD_OK;
    copy = q = pd_alloc(n);
    if (!copy)
        return pd_fail(where, at, "out of memory");
    for (i = 0; i < n;) {
        const pd_u8 *pair = sec + i;
        pd_u32 nulls = 0;
        for (int part = 0; part < 2; part++) {
            pd_u64 len;
            if (part)
                i += f->between_len;
            len = pd_kv_len(sec + i, f, part);
            i += pd_kv_width(f, part);
            if (pd_kv_null(len, f, part))
                nulls = 1;
            else
                i += (pd_u32)len;
        }
        if (!nulls) {
            __builtin_memcpy(q, pair, (pd_size)(sec + i - pair));
            q += sec + i - pair;
        }
    }
    out->ptr = copy;
    out->len = (pd_u32)(q - copy);
    return PD_OK;
}

/* Bytes of a decoded map in MOSN's encoding (u32 big-endian lengths). */
PD_INLINE pd_u64 pd_kv_abi_size(pd_bytes kv, const struct pd_kv *f)
{
    pd_u64 size = 0;
    if (pd_kv_is_abi(f))
        return kv.len;
    for (pd_u32 i = 0; i < kv.len;) {
        for (int part = 0; part < 2; part++) {
            pd_u64 len;
            if (part)
                i += f->between_len;
            len = pd_kv_len(kv.ptr + i, f, part);
            i += pd_kv_width(f, part) + (pd_u32)len;
            size += 4 + len;
        }
    }
    return size;
}

/* Write a decoded map in MOSN's encoding. The map may view input that
 * [p, end) overlaps (an output written in place): it is moved, or, when its
 * lengths must be rewritten, read from a copy. */
PD_INLINE pd_u8 *pd_kv_put_abi(pd_u8 *p, const pd_u8 *end, pd_bytes kv, const struct pd_kv *f)
{
    if (pd_kv_is_abi(f)) {
        if (!p || (pd_size)(end - p) < kv.len)
            return 0;
        if (kv.len && p != kv.ptr)
            __builtin_memmove(p, kv.ptr, kv.len);
        return p + kv.len;
    }
    if (p && kv.len && kv.ptr < end && p < kv.ptr + kv.len) {
        pd_u8 *copy = pd_alloc(kv.len);
        if (!copy)
            return 0;
        __builtin_memcpy(copy, kv.ptr, kv.len);
        kv.ptr = copy;
    }
    for (pd_u32 i = 0; i < kv.len;) {
        for (int part = 0; part < 2; part++) {
            pd_u64 len;
            if (part)
                i += f->between_len;
            len = pd_kv_len(kv.ptr + i, f, part);
            i += pd_kv_width(f, part);
            p = pd_put_be(p, end, 4, len);
            p = pd_put(p, end, kv.ptr + i, (pd_u32)len);
            i += (pd_u32)len;
        }
    }
    return p;
}

/* Check a header map from the host: whole u32 big-endian length-prefixed
 * keys and values, nothing truncated. */
PD_FN int pd_abi_map_ok(pd_bytes map)
{
    const pd_u8 *p = map.ptr, *end = map.ptr + map.len;
    while (p != end) {
        pd_u32 len;
        if (end - p < 4)
            return 0;
        len = (pd_u32)pd_rd_be(p, 4);
        p += 4;
        if (len > (pd_u32)(end - p))
            return 0;
        p += len;
    }
    return 1;
}

/* Re-encode a (checked) host header map in a map's wire format. */
PD_INLINE int pd_kv_from_abi(pd_bytes map, const struct pd_kv *f, const char *call,
                             const char *where, pd_bytes *out)
{
    pd_u64 size = 0;
    pd_u8 *copy, *p, *end;
    int part = 0;
    if (pd_kv_is_abi(f)) { /* every length fits: the map is shorter than 2^32 - 1 */
        *out = map;
        return PD_OK;
    }
    for (pd_u32 i = 0; i < map.len; part ^= 1) {
        pd_u64 len = pd_rd_be(map.ptr + i, 4);
        if (len > pd_kv_ones(f, part) - (f->null_drop ? 1 : 0))
            return pd_fail_call(call, where, "header too long for the map's length prefix:", len);
        i += 4 + (pd_u32)len;
        size += pd_kv_width(f, part) + len + (part ? f->between_len : 0);
    }
    copy = p = pd_out_open(size);
    if (!copy)
        return PD_MALFORMED;
    end = copy + size;
    part = 0;
    for (pd_u32 i = 0; i < map.len; part ^= 1) {
        pd_u64 len = pd_rd_be(map.ptr + i, 4);
        i += 4;
        if (part)
            p = pd_put(p, end, f->between, f->between_len);
        p = pd_kv_put_len(p, end, f, part, len);
        p = pd_put(p, end, map.ptr + i, (pd_u32)len);
        i += (pd_u32)len;
    }
    if (p != end)
        return pd_fail_call(call, where, "internal error: map size mismatch", size);
    out->ptr = copy;
    out->len = (pd_u32)size;
    return PD_OK;
}

/* ------------------------------------------- header maps of list records */
/* A header list (`headers = tags(key, value)`) merges MOSN's map into the
 * entries decoded: these walk a (checked, pd_abi_map_ok) host map by pairs. */

PD_FN int pd_bytes_eq(pd_bytes a, pd_bytes b)
{
    return a.len == b.len && pd_same(a.ptr, b.ptr, a.len);
}

/* The pair at byte offset *at of a host map, *at moved past it; a last key
 * without a value has an empty one. */
PD_FN void pd_abi_pair(pd_bytes map, pd_u32 *at, pd_bytes *key, pd_bytes *value)
{
    pd_bytes *part[2] = {key, value};
    for (int k = 0; k < 2; k++) {
        pd_u32 len = 0;
        if (*at < map.len) {
            len = (pd_u32)pd_rd_be(map.ptr + *at, 4);
            *at += 4;
        }
        part[k]->ptr = map.ptr + *at;
        part[k]->len = len;
        *at += len;
    }
}

PD_FN pd_u32 pd_abi_pairs(pd_bytes map)
{
    pd_bytes key, value;
    pd_u32 n = 0;
    for (pd_u32 at = 0; at < map.len; n++)
        pd_abi_pair(map, &at, &key, &value);
    return n;
}

/* MOSN's first pair with this key not yet `used` (a flag per pair): marked
 * used, its value in *value; 0 when there is none. */
PD_FN int pd_abi_take(pd_bytes map, pd_u8 *used, pd_bytes key, pd_bytes *value)
{
    pd_bytes k;
    pd_u32 at = 0;
    for (pd_u32 n = 0; at < map.len; n++) {
        pd_abi_pair(map, &at, &k, value);
        if (!used[n] && pd_bytes_eq(k, key)) {
            used[n] = 1;
            return 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------ derived headers */
/* A derived header (`headers = ... + { method = method }`) is MOSN's last pair
 * with its key on encode; it is taken out of the map the stored section gets. */

/* A key of the spec's as bytes. */
PD_INLINE pd_bytes pd_lit(const char *s, pd_u32 n)
{
    pd_bytes b;
    b.ptr = (const pd_u8 *)s;
    b.len = n;
    return b;
}

/* MOSN's last pair with this key not yet `used`: marked used, its value in
 * *value; 0 when there is none (MOSN deleted the header). */
PD_FN int pd_abi_take_last(pd_bytes map, pd_u8 *used, pd_bytes key, pd_bytes *value)
{
    pd_bytes k, v;
    pd_u32 at = 0, last = 0;
    int found = 0;
    for (pd_u32 n = 0; at < map.len; n++) {
        pd_abi_pair(map, &at, &k, &v);
        if (!used[n] && pd_bytes_eq(k, key)) {
            last = n;
            *value = v;
            found = 1;
        }
    }
    if (found)
        used[last] = 1;
    return found;
}

/* A copy of b in the arena (the frame may be written over the host's map);
 * ptr 0 when there is no memory. */
PD_FN pd_bytes pd_abi_copy(pd_bytes b)
{
    pd_bytes out = {0, 0};
    pd_u8 *p = pd_alloc((pd_u64)b.len + 1u);
    if (!p)
        return out;
    for (pd_u32 i = 0; i < b.len; i++)
        p[i] = b.ptr[i];
    out.ptr = p;
    out.len = b.len;
    return out;
}

/* A host map without its pairs marked `used`, copied into the arena; ptr 0
 * when there is no memory. */
PD_FN pd_bytes pd_abi_without(pd_bytes map, const pd_u8 *used)
{
    pd_bytes out = {0, 0}, k, v;
    pd_u8 *p = pd_alloc((pd_u64)map.len + 1u);
    pd_u32 at = 0, len = 0;
    if (!p)
        return out;
    for (pd_u32 n = 0; at < map.len; n++) {
        pd_u32 from = at;
        pd_abi_pair(map, &at, &k, &v);
        if (used[n])
            continue;
        for (; from < at; from++)
            p[len++] = map.ptr[from];
    }
    out.ptr = p;
    out.len = len;
    return out;
}

/* Where to read a header list's bytes: away from [p, end) when they overlap it
 * (a report written in place over its input), so that writing cannot overtake
 * reading; 0 when there is no memory for the copy. */
PD_FN const pd_u8 *pd_unalias(pd_bytes b, const pd_u8 *p, const pd_u8 *end)
{
    pd_u8 *copy;
    if (!b.len || !p || b.ptr >= end || p >= b.ptr + b.len)
        return b.ptr;
    copy = pd_alloc(b.len);
    if (copy)
        __builtin_memcpy(copy, b.ptr, b.len);
    return copy;
}

/* ---------------------------------------------------- host call buffers */

/* Whether MOSN would read past the header map of an n-byte DecodeData buffer
 * with this flag and id: its header reader takes the flag and the id's top
 * three bytes for one more key length and reads on if that fits the buffer. */
PD_FN int pd_mosn_misreads(pd_u64 header_bytes, pd_u64 flag, pd_u64 id, pd_u64 n)
{
    pd_u64 key_len = (flag << 24) | (id >> 40);
    /* n is at most 4 max_frame (a header map whose lengths widen to u32) plus
     * the payload: below the shortest key length, this is never true. */
    if ((pd_u64)PD_MAX_FRAME * 5 + 64 < ((pd_u64)PD_FLAG_LOW << 24))
        return 0;
    return header_bytes && header_bytes + 8 + key_len <= n;
}

/* The buffer of proxy_encode_buffer_bytes. */
struct pd_cmd {
    pd_bytes headers;
    pd_u64 flag;
    pd_u64 replaced_id;
    pd_u64 command_id;
    pd_u64 timeout_or_status;
    pd_bytes payload;
};

/* u32 header_bytes | header map | u8 flag | u64 replaced_id | u64 command_id |
 * u32 timeout_or_status | u32 payload_len | payload, every length checked.
 * After the map the layout is fixed: 25 bytes, then the payload. */
PD_FN int pd_cmd_parse(const pd_u8 *buf, pd_u32 len, struct pd_cmd *c)
{
    const char *what = "header_bytes past the buffer";
    pd_u32 header_bytes, rest;
    const pd_u8 *p;
    if (len >= 4 && (header_bytes = (pd_u32)pd_rd_be(buf, 4)) <= len - 4) {
        c->headers.ptr = buf + 4;
        c->headers.len = header_bytes;
        p = buf + 4 + header_bytes;
        rest = len - 4 - header_bytes;
        if (!pd_abi_map_ok(c->headers)) {
            what = "malformed header map";
        } else if (rest < 25) {
            what = "truncated";
        } else if (pd_rd_be(p + 21, 4) != rest - 25) {
            what = "payload_len disagrees with the buffer";
        } else {
            c->flag = p[0];
            c->replaced_id = pd_rd_be(p + 1, 8);
            c->command_id = pd_rd_be(p + 9, 8);
            c->timeout_or_status = pd_rd_be(p + 17, 4);
            c->payload.ptr = p + 25;
            c->payload.len = rest - 25;
            return PD_OK;
        }
    }
    return pd_fail_call("encode", "host buffer", what, len);
}

/* The buffer of proxy_hijack_buffer_bytes: u32 header_bytes | header map |
 * u8 flag | u64 id | u64 id | u32 timeout | u32 frame_len | request frame.
 * *id is the request's id now: once MOSN forwarded the request, the id it
 * gave it upstream, not the one in the frame; MOSN encodes the answer under it. */
PD_FN int pd_hijack_parse(const pd_u8 *buf, pd_u32 len, pd_u64 *id, pd_bytes *frame)
{
    pd_cur cur = {buf, len};
    pd_u64 header_bytes, v, frame_len;
    pd_bytes skip;
    if (pd_take_be(&cur, 4, &header_bytes) && header_bytes <= cur.left &&
        pd_take(&cur, (pd_u32)header_bytes, &skip) && pd_take_be(&cur, 1, &v) &&
        pd_take_be(&cur, 8, &v) && pd_take_be(&cur, 8, id) && pd_take_be(&cur, 4, &v) &&
        pd_take_be(&cur, 4, &frame_len) && frame_len <= cur.left &&
        pd_take(&cur, (pd_u32)frame_len, frame))
        return PD_OK;
    return pd_fail_call("hijack", "host buffer", "truncated or inconsistent, bytes:", len);
}

/* ------------------------------------------------ remembered commands */
/* Every decoded (or built) command is remembered under (context, command id)
 * until its encode, so fields MOSN does not hand back survive and any number
 * of commands may be in flight per context. Fixed tables, no growth:
 *  - PD_SLOTS entries; when all are used the oldest is evicted;
 *  - at most PD_PER_CTX per context; the context's oldest is evicted;
 *  - variable fields live in a ring pool of PD_POOL_SIZE bytes, allocated in
 *    insertion order; making room evicts the oldest entries.
 * MOSN gives every decoded frame a context of its own, encodes it on that
 * context and deletes the context right after. A request sent upstream stays
 * remembered, detached from its context, under the id it went out with: MOSN
 * retries a request after an upstream failure by encoding it again on another
 * context under that id. At most PD_DETACHED_MAX are kept, the oldest go first.
 * Lookup prefers the context, then the newest command of the same kind
 * (request or response) with that id on any context; MOSN numbers requests per
 * upstream connection, so among detached requests of one id it prefers the one
 * whose payload looks like the retry's (pd_fingerprint). The generated code
 * keeps the field values in an array indexed by slot. */

#ifndef PD_SLOTS
#define PD_SLOTS 1024
#endif
#ifndef PD_PER_CTX
#define PD_PER_CTX 64
#endif
#ifndef PD_POOL_SIZE
#define PD_POOL_SIZE (256u * 1024u)
#endif
#ifndef PD_DETACHED_MAX
#define PD_DETACHED_MAX (PD_SLOTS / 4)
#endif
#define PD_BUCKETS (2 * PD_SLOTS)
#define PD_NO_CTX 0u /* the context of detached requests; MOSN's contexts start at 1 */
_Static_assert((PD_BUCKETS & (PD_BUCKETS - 1)) == 0, "PD_SLOTS must be a power of two");

struct pd_entry {
    pd_u64 id;
    pd_u32 ctx;
    pd_u32 pool_off; /* remembered bytes: pd_pool[pool_off, pool_off + pool_len) */
    pd_u32 pool_len;
    pd_u32 pool_epoch; /* ring laps at allocation, to order offsets */
    pd_u32 next[2];    /* the id and context chains (PD_BY_ID, PD_BY_CTX); links hold */
    pd_u32 prev[2];    /* slot + 1, 0 ends a chain; next[PD_BY_ID] links free slots */
    pd_u32 older;
    pd_u32 newer;
    int variant;
    int used;
    int built;    /* made by keepalive, reply or hijack, not decoded */
    int request;  /* a request, else a response */
    int silent;   /* encodes to nothing: a hijack MOSN asked for that must not answer */
    int detached; /* a request sent upstream, kept for a retry, on no context chain */
    pd_u32 print; /* detached: pd_fingerprint of the payload it went out with */
    pd_u32 stamp; /* detached: its place in pd_detached_ring */
};

enum { PD_BY_ID = 0, PD_BY_CTX = 1 };

PD_DATA struct pd_entry pd_entries[PD_SLOTS];
PD_DATA pd_u32 pd_heads[2][PD_BUCKETS];
PD_DATA pd_u32 pd_oldest, pd_newest; /* insertion order, all contexts */
PD_DATA pd_u32 pd_free_slots;        /* released slots, linked by next[PD_BY_ID] */
PD_DATA pd_u32 pd_fresh_slots;       /* slots below this were used at least once */
PD_DATA pd_u32 pd_detached_ring[PD_DETACHED_MAX]; /* links of detached entries, oldest first */
PD_DATA pd_u32 pd_detached_stamp;    /* detaches so far, modulo 2^32 */
PD_DATA pd_u8 pd_pool[PD_POOL_SIZE];
PD_DATA pd_u32 pd_pool_head, pd_pool_epoch;

PD_FN pd_u32 pd_hash(pd_u64 v)
{
    pd_u32 h = ((pd_u32)v ^ (pd_u32)(v >> 32)) * 0x9E3779B1u;
    return (h ^ (h >> 15)) & (PD_BUCKETS - 1);
}

/* Put an entry at the head of its chain by id or by context. */
PD_FN void pd_chain(int by, pd_u32 link, pd_u64 key)
{
    pd_u32 *head = &pd_heads[by][pd_hash(key)];
    struct pd_entry *e = &pd_entries[link - 1];
    e->next[by] = *head;
    e->prev[by] = 0;
    if (*head)
        pd_entries[*head - 1].prev[by] = link;
    *head = link;
}

/* Take an entry out of its chain by id or by context, in constant time. */
PD_FN void pd_unchain(int by, pd_u32 link, pd_u64 key)
{
    struct pd_entry *e = &pd_entries[link - 1];
    if (e->prev[by])
        pd_entries[e->prev[by] - 1].next[by] = e->next[by];
    else
        pd_heads[by][pd_hash(key)] = e->next[by];
    if (e->next[by])
        pd_entries[e->next[by] - 1].prev[by] = e->prev[by];
}

PD_FN void pd_store_remove(pd_u32 slot)
{
    struct pd_entry *e = &pd_entries[slot];
    pd_u32 link = slot + 1;
    if (!e->used)
        return;
    pd_unchain(PD_BY_ID, link, e->id);
    if (!e->detached)
        pd_unchain(PD_BY_CTX, link, e->ctx);
    if (e->older)
        pd_entries[e->older - 1].newer = e->newer;
    else
        pd_oldest = e->newer;
    if (e->newer)
        pd_entries[e->newer - 1].older = e->older;
    else
        pd_newest = e->older;
    e->used = 0;
    e->next[PD_BY_ID] = pd_free_slots;
    pd_free_slots = link;
}

typedef struct {
    pd_u64 v;
} __attribute__((packed)) pd_unaligned_u64; /* one unaligned load, no memcpy call */

/* A cheap likeness of a payload: its length, its first and last 8 bytes. */
PD_FN pd_u32 pd_fingerprint(pd_bytes b)
{
    pd_u64 head = 0, tail = 0;
    if (b.len >= 8) {
        head = ((const pd_unaligned_u64 *)b.ptr)->v;
        tail = ((const pd_unaligned_u64 *)(b.ptr + b.len - 8))->v;
    } else {
        for (pd_u32 i = 0; i < b.len; i++)
            head = head << 8 | b.ptr[i];
    }
    head = (head ^ (tail * 0x9E3779B97F4A7C15ull) ^ b.len) * 0xBF58476D1CE4E5B9ull;
    return (pd_u32)(head >> 32);
}

/* The slot of the request (or response) remembered under (ctx, id), else the
 * newest one with that id on any context, a detached one with the same payload
 * `print` first; -1 if none. */
PD_FN int pd_store_find(pd_u32 ctx, pd_u64 id, int request, pd_u32 print)
{
    pd_u32 k = pd_heads[PD_BY_ID][pd_hash(id)], any = 0, same = 0;
    while (k) {
        struct pd_entry *e = &pd_entries[k - 1];
        if (e->id == id && e->request == request) {
            if (e->ctx == ctx && !e->detached)
                return (int)k - 1;
            if (!any)
                any = k;
            if (!same && e->detached && e->print == print)
                same = k;
        }
        k = e->next[PD_BY_ID];
    }
    return (int)(same ? same : any) - 1;
}

/* Keep a request that went upstream under `id` with a payload of this `print`
 * off every context, for a retry. The ring keeps the last PD_DETACHED_MAX
 * detaches: the entry a new one pushes out is forgotten, unless it is the same
 * (a request retried just as its turn came). */
PD_FN void pd_store_detach(pd_u32 slot, pd_u64 id, pd_u32 print)
{
    struct pd_entry *e = &pd_entries[slot];
    pd_u32 link = slot + 1, at = pd_detached_stamp % PD_DETACHED_MAX;
    pd_u32 old = pd_detached_ring[at];
    if (old && old != link && pd_entries[old - 1].used && pd_entries[old - 1].detached &&
        pd_entries[old - 1].stamp == pd_detached_stamp - PD_DETACHED_MAX)
        pd_store_remove(old - 1);
    pd_unchain(PD_BY_ID, link, e->id);
    if (!e->detached)
        pd_unchain(PD_BY_CTX, link, e->ctx);
    e->detached = 1;
    e->print = print;
    e->stamp = pd_detached_stamp++;
    pd_detached_ring[at] = link;
    e->id = id;
    e->ctx = PD_NO_CTX;
    pd_chain(PD_BY_ID, link, id);
}

/* Reserve n contiguous pool bytes, evicting the oldest entries as needed (n <= PD_POOL_SIZE). */
PD_FN void pd_pool_alloc(pd_u32 n, pd_u32 *off, pd_u32 *epoch)
{
    for (;;) {
        const struct pd_entry *o;
        if (!pd_oldest)
            pd_pool_head = 0;
        *epoch = pd_pool_epoch;
        *off = pd_pool_head;
        if (!pd_oldest || n == 0) {
            pd_pool_head += n;
            return;
        }
        o = &pd_entries[pd_oldest - 1];
        if (o->pool_epoch == pd_pool_epoch) { /* live bytes: [tail, head) */
            if (PD_POOL_SIZE - pd_pool_head >= n) {
                pd_pool_head += n;
                return;
            }
            if (o->pool_off >= n) { /* wrap around */
                *epoch = ++pd_pool_epoch;
                *off = 0;
                pd_pool_head = n;
                return;
            }
        } else if (o->pool_off - pd_pool_head >= n) { /* live: [tail, end) and [0, head) */
            pd_pool_head += n;
            return;
        }
        pd_store_remove(pd_oldest - 1);
    }
}

/* Remember a command: returns its slot and the pool bytes for its variable
 * fields in *data, or -1 when `need` exceeds the whole pool. */
PD_FN int pd_store_add(pd_u32 ctx, pd_u64 id, int variant, int request, pd_u64 need,
                       pd_u8 **data)
{
    pd_u32 k, count = 0, oldest_here = 0, link;
    struct pd_entry *e;
    if (need > PD_POOL_SIZE)
        return -1;
    for (k = pd_heads[PD_BY_CTX][pd_hash(ctx)]; k;) {
        struct pd_entry *c = &pd_entries[k - 1];
        pd_u32 next = c->next[PD_BY_CTX];
        if (c->ctx == ctx) {
            if (c->id == id) {
                pd_store_remove(k - 1);
            } else {
                count++;
                oldest_here = k;
            }
        }
        k = next;
    }
    if (count >= PD_PER_CTX)
        pd_store_remove(oldest_here - 1);
    if (pd_free_slots) {
        link = pd_free_slots;
        pd_free_slots = pd_entries[link - 1].next[PD_BY_ID];
    } else if (pd_fresh_slots < PD_SLOTS) {
        link = ++pd_fresh_slots;
    } else {
        link = pd_oldest;
        pd_store_remove(link - 1);
        pd_free_slots = pd_entries[link - 1].next[PD_BY_ID];
    }
    e = &pd_entries[link - 1];
    pd_pool_alloc((pd_u32)need, &e->pool_off, &e->pool_epoch);
    e->pool_len = (pd_u32)need;
    e->id = id;
    e->ctx = ctx;
    e->variant = variant;
    e->used = 1;
    e->built = 0;
    e->request = request;
    e->silent = 0;
    e->detached = 0;
    pd_chain(PD_BY_ID, link, id);
    pd_chain(PD_BY_CTX, link, ctx);
    e->older = pd_newest;
    e->newer = 0;
    if (pd_newest)
        pd_entries[pd_newest - 1].newer = link;
    else
        pd_oldest = link;
    pd_newest = link;
    *data = pd_pool + e->pool_off;
    return (int)link - 1;
}

/* Copy bytes into the pool space of a new entry, advancing *data. */
PD_FN pd_bytes pd_keep_bytes(pd_u8 **data, pd_bytes b)
{
    pd_bytes out = {*data, b.len};
    if (b.len)
        __builtin_memcpy(*data, b.ptr, b.len);
    *data += b.len;
    return out;
}

/* Forget every command of a context (detached requests are on none). */
PD_FN void pd_store_drop_ctx(pd_u32 ctx)
{
    pd_u32 k = pd_heads[PD_BY_CTX][pd_hash(ctx)];
    while (k) {
        pd_u32 next = pd_entries[k - 1].next[PD_BY_CTX];
        if (pd_entries[k - 1].ctx == ctx)
            pd_store_remove(k - 1);
        k = next;
    }
}

/* Remember that the answer MOSN will encode under (ctx, id) is no frame at all
 * (a hijack of a oneway request, or of bytes that are no request). */
PD_FN int pd_keep_silent(pd_u32 ctx, pd_u64 id)
{
    pd_u8 *data;
    int slot = pd_store_add(ctx, id, -1, 0, 0, &data);
    if (slot < 0)
        return PD_MALFORMED;
    pd_entries[slot].built = 1;
    pd_entries[slot].silent = 1;
    return PD_OK;
}

/* The EncodeData buffer of no frame: MOSN writes nothing to the connection. */
PD_FN int pd_emit_nothing(void)
{
    pd_u8 *out = pd_out_open(21), *p;
    const pd_u8 *end;
    if (!out)
        return PD_MALFORMED;
    end = out + 21;
    p = pd_put_be(out, end, 4, 0);
    p = pd_put_be(p, end, 1, PD_FLAG_LOW);
    p = pd_put_be(p, end, 8, 0);
    p = pd_put_be(p, end, 4, 0);
    p = pd_put_be(p, end, 4, 0);
    return pd_out_done(PD_BUF_ENCODE, out, p, end);
}

/* The heartbeat request last decoded per context, for keepalive replies: a
 * small table, the least recently set entry is reused. The generated code
 * keeps the values in an array indexed like this one. */
#ifndef PD_HB_SLOTS
#define PD_HB_SLOTS 64
#endif

struct pd_hb {
    pd_u64 stamp;
    pd_u32 ctx;
    int used;
};

PD_DATA struct pd_hb pd_hbs[PD_HB_SLOTS];
PD_DATA pd_u64 pd_hb_clock;
PD_DATA int pd_hb_used; /* slots in use: MOSN deletes two contexts a request, rarely with one */

PD_FN int pd_hb_find(pd_u32 ctx)
{
    for (int i = 0; pd_hb_used && i < PD_HB_SLOTS; i++)
        if (pd_hbs[i].used && pd_hbs[i].ctx == ctx)
            return i;
    return -1;
}

PD_FN int pd_hb_claim(pd_u32 ctx)
{
    int slot = pd_hb_find(ctx);
    if (slot < 0) {
        slot = 0;
        for (int i = 0; i < PD_HB_SLOTS; i++) {
            if (!pd_hbs[i].used) {
                slot = i;
                break;
            }
            if (pd_hbs[i].stamp < pd_hbs[slot].stamp)
                slot = i;
        }
    }
    pd_hb_used += !pd_hbs[slot].used;
    pd_hbs[slot].used = 1;
    pd_hbs[slot].ctx = ctx;
    pd_hbs[slot].stamp = ++pd_hb_clock;
    return slot;
}

/* The bytes a keepalive reply copies from its heartbeat request, kept in the
 * heartbeat slot's own room from the request's decode to the reply (a later
 * call: the input is gone by then). A field that does not fit is not cut: it
 * is kept empty, and `refused` names it so that the reply is refused. */
#ifndef PD_HB_BYTES
#define PD_HB_BYTES 1024u
#endif

struct pd_hb_room {
    pd_u8 bytes[PD_HB_BYTES];
    pd_u32 used;
    const char *refused; /* FRAME.FIELD of the first field too long to keep, or 0 */
    pd_u32 refused_len;
};

/* A copy of b in the room, or an empty view once a field did not fit. */
PD_FN pd_bytes pd_hb_keep(struct pd_hb_room *room, pd_bytes b, const char *where)
{
    pd_bytes out = {room->bytes + room->used, b.len};
    if (room->refused || b.len > PD_HB_BYTES - room->used) {
        if (!room->refused) {
            room->refused = where;
            room->refused_len = b.len;
        }
        out.len = 0;
        return out;
    }
    if (b.len)
        __builtin_memcpy(room->bytes + room->used, b.ptr, b.len);
    room->used += b.len;
    return out;
}

/* ----------------------------------------------------- lifecycle exports */

PD_EXPORT("proxy_abi_mosn_version_0_2_0") void proxy_abi_mosn_version_0_2_0(void) {}

/* MOSN's wasmer engine runs _start on every instance and refuses a module
 * without it; this plugin has nothing to set up. */
PD_EXPORT("_start") void pd_start(void) {}

#ifdef PD_STATE
/* A spec with connection state keeps one per context in the generated code
 * (docs/mosn-abi.md, "Connection state"): a new or deleted context is in a
 * new connection's state. */
static void pd_state_drop(pd_u32 ctx);
#endif

PD_EXPORT("proxy_on_context_create") void proxy_on_context_create(pd_u32 ctx, pd_u32 parent)
{
#ifdef PD_STATE
    pd_state_drop(ctx);
#else
    (void)ctx;
#endif
    (void)parent;
}

/* MOSN starts the plugin only when it is the codec of its protocol name: this
 * line in MOSN's log shows that it is. */
PD_EXPORT("proxy_on_vm_start") int proxy_on_vm_start(pd_u32 ctx, pd_u32 conf_len)
{
    (void)ctx;
    (void)conf_len;
    pd_log_begin();
    pd_log_s("protodsl plugin started, codec of \"" PD_MOSN_NAME "\"");
    pd_log_end(PD_LOG_INFO);
    return 1;
}

PD_EXPORT("proxy_on_configure") int proxy_on_configure(pd_u32 ctx, pd_u32 conf_len)
{
    (void)ctx;
    (void)conf_len;
    return 1;
}

PD_EXPORT("proxy_on_done") int proxy_on_done(pd_u32 ctx)
{
    (void)ctx;
    return 1;
}

PD_EXPORT("proxy_on_log") void proxy_on_log(pd_u32 ctx) { (void)ctx; }

/* A context is gone: forget its commands, its last heartbeat and its state. */
PD_EXPORT("proxy_on_delete") void proxy_on_delete(pd_u32 ctx)
{
    int hb = pd_hb_find(ctx);
    pd_store_drop_ctx(ctx);
#ifdef PD_STATE
    pd_state_drop(ctx);
#endif
    if (hb >= 0) {
        pd_hbs[hb].used = 0;
        pd_hb_used--;
    }
}

#endif /* PROTODSL_RT_H */
