/* utf8.c — UTF-8 validation / stepping (with the "maximal subpart" rule used for U+FFFD
 * replacement), Unicode whitespace, and the GPT-2 byte-level alphabet (each byte 0..255 is
 * spelled as one printable code point; printable Latin-1 bytes spell themselves, the rest are
 * moved to U+0100 and up in byte order). */
#include "tok_internal.h"

int tok_utf8_len(unsigned char c) {
    if (c < 0x80) return 1;
    if (c < 0xE0) return 2;
    if (c < 0xF0) return 3;
    return 4;
}

/* Allowed range of the second byte for a given lead byte; 0 lo means invalid lead. */
static void second_range(unsigned char c, unsigned char *lo, unsigned char *hi, int *need) {
    *lo = 0x80; *hi = 0xBF; *need = 0;
    if (c >= 0xC2 && c <= 0xDF) *need = 2;
    else if (c == 0xE0) { *need = 3; *lo = 0xA0; }
    else if (c >= 0xE1 && c <= 0xEC) *need = 3;
    else if (c == 0xED) { *need = 3; *hi = 0x9F; }
    else if (c >= 0xEE && c <= 0xEF) *need = 3;
    else if (c == 0xF0) { *need = 4; *lo = 0x90; }
    else if (c >= 0xF1 && c <= 0xF3) *need = 4;
    else if (c == 0xF4) { *need = 4; *hi = 0x8F; }
}

int tok_utf8_step(const unsigned char *s, size_t n) {
    if (n == 0) return 0;
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    unsigned char lo, hi;
    int need;
    second_range(c, &lo, &hi, &need);
    if (!need) return -1;
    for (int i = 1; i < need; i++) {
        if ((size_t)i >= n) return 0; /* incomplete but so far valid */
        unsigned char b = s[i];
        unsigned char l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
        if (b < l || b > h) return -i;
    }
    return need;
}

size_t tok_utf8_check(const unsigned char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        if (s[i] < 0x80) { i++; continue; }
        int k = tok_utf8_step(s + i, len - i);
        if (k <= 0) return i;
        i += (size_t)k;
    }
    return len;
}

uint32_t tok_utf8_decode(const unsigned char *s, int *len) {
    unsigned char c = s[0];
    if (c < 0x80) { *len = 1; return c; }
    if (c < 0xE0) { *len = 2; return ((uint32_t)(c & 0x1F) << 6) | (s[1] & 0x3F); }
    if (c < 0xF0) { *len = 3; return ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F); }
    *len = 4;
    return ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) | ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
}

int tok_utf8_encode(uint32_t cp, char *o) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Unicode White_Space (what Rust's char::is_whitespace tests). */
int tok_is_unicode_space(uint32_t cp) {
    if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D)) return 1;
    if (cp < 0x85) return 0;
    return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
           cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

static int self_spelled(unsigned b) {
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

uint32_t tok_byte_to_cp(unsigned char b) {
    if (self_spelled(b)) return b;
    /* the k-th byte (in byte order) that does not spell itself becomes U+0100 + k:
     * 0x00..0x20 -> k 0..32, 0x7F..0xA0 -> k 33..66, 0xAD -> k 67 */
    if (b <= 0x20) return 256u + b;
    if (b >= 0x7F && b <= 0xA0) return 256u + 33u + (uint32_t)(b - 0x7F);
    return 256u + 67u; /* 0xAD */
}

int tok_cp_to_byte(uint32_t cp) {
    if (cp < 256) return self_spelled(cp) ? (int)cp : -1;
    if (cp <= 256 + 32) return (int)(cp - 256);
    if (cp <= 256 + 66) return (int)(0x7F + (cp - 256 - 33));
    if (cp == 256 + 67) return 0xAD;
    return -1;
}
