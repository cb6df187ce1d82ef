/* xmlcheck.h -- a small, deliberately independent model of what XML 1.0
   allows, for the fuzzers' oracles. It shares no code with xep0077.h: if both
   made the same mistake the fuzzers would never see it. Slow and plain on
   purpose. */
#ifndef XMLCHECK_H
#define XMLCHECK_H

#include <stddef.h>
#include <string.h>

/* Decode one UTF-8 sequence (RFC 3629: no overlongs, no surrogates, nothing
   above U+10FFFF). Returns its length, or 0 when s[0..n) does not start with
   a valid sequence. */
static inline size_t xc_utf8(const unsigned char *s, size_t n, unsigned long *cp) {
  unsigned long c;
  size_t len, i;
  if (n == 0) return 0;
  if (s[0] < 0x80) { *cp = s[0]; return 1; }
  if (s[0] >= 0xC2 && s[0] <= 0xDF) { len = 2; c = s[0] & 0x1Fu; }
  else if (s[0] >= 0xE0 && s[0] <= 0xEF) { len = 3; c = s[0] & 0x0Fu; }
  else if (s[0] >= 0xF0 && s[0] <= 0xF4) { len = 4; c = s[0] & 0x07u; }
  else return 0;
  if (n < len) return 0;
  for (i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    c = (c << 6) | (s[i] & 0x3Fu);
  }
  if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000)) return 0;
  if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
  *cp = c;
  return len;
}

/* XML 1.0 production [2] Char. */
static inline int xc_is_char(unsigned long c) {
  return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) ||
         (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

/* XML 1.0 (fifth edition) productions [4] NameStartChar and [4a] NameChar. */
static inline int xc_is_name_start(unsigned long c) {
  return c == ':' || (c >= 'A' && c <= 'Z') || c == '_' ||
         (c >= 'a' && c <= 'z') || (c >= 0xC0 && c <= 0xD6) ||
         (c >= 0xD8 && c <= 0xF6) || (c >= 0xF8 && c <= 0x2FF) ||
         (c >= 0x370 && c <= 0x37D) || (c >= 0x37F && c <= 0x1FFF) ||
         (c >= 0x200C && c <= 0x200D) || (c >= 0x2070 && c <= 0x218F) ||
         (c >= 0x2C00 && c <= 0x2FEF) || (c >= 0x3001 && c <= 0xD7FF) ||
         (c >= 0xF900 && c <= 0xFDCF) || (c >= 0xFDF0 && c <= 0xFFFD) ||
         (c >= 0x10000 && c <= 0xEFFFF);
}
static inline int xc_is_name_char(unsigned long c) {
  return xc_is_name_start(c) || c == '-' || c == '.' ||
         (c >= '0' && c <= '9') || c == 0xB7 || (c >= 0x300 && c <= 0x36F) ||
         (c >= 0x203F && c <= 0x2040);
}

/* s[0..n) is valid UTF-8 made only of XML Chars. */
static inline int xc_valid_text(const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0, k;
  unsigned long c;
  while (i < n) {
    if ((k = xc_utf8(u + i, n - i, &c)) == 0 || !xc_is_char(c)) return 0;
    i += k;
  }
  return 1;
}

/* s[0..n) is an XML Name (production [5]); colons allowed, as in XML 1.0. */
static inline int xc_valid_name(const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0, k;
  unsigned long c;
  if (n == 0) return 0;
  while (i < n) {
    if ((k = xc_utf8(u + i, n - i, &c)) == 0) return 0;
    if (i == 0 ? !xc_is_name_start(c) : !xc_is_name_char(c)) return 0;
    i += k;
  }
  return 1;
}

/* An NCName: a Name without any colon (a namespace-resolved local name or
   prefix). */
static inline int xc_valid_ncname(const char *s, size_t n) {
  return xc_valid_name(s, n) && memchr(s, ':', n) == NULL;
}

#endif
