/* fuzz_parser.c -- libFuzzer target for the XML pull parser (xep0077_xml_*).

   Input: 4 configuration bytes, then the bytes of the stream.
     c0  chunking: c0 & 3 = 0 fixed chunks of 1 + (c0 >> 2) bytes,
                   1 one byte at a time, 2 random sizes, 3 cut around every
                   markup character and inside every UTF-8 sequence
     c1  parser buffer: 64 + 16 * c1 bytes, at most 4096
     c2  bit 7 set: lower the limits to max_depth 1 + (c2 & 15),
         max_attrs (c2 >> 4) & 7 (0..7), max_stanza by (c2 >> 4) & 3
     c3  c3 & 63: max_name 1 + (c3 & 63) when lowering; bits 6-7: restart the
         stream after that many STANZA_END events (0: never)
   Seeds in fuzz/corpus/parser/ mostly start with a printable header: the
   default limits, buffers of 576..2080 bytes.

   Every input is parsed twice with the same buffer and limits: once fed in
   one piece, once in chunks. Each parse checks its own invariants (pointers
   readable, depth and limits kept, end tags matching start tags, strings
   valid UTF-8 of XML Chars, errors sticky); then the two event logs must be
   identical. Any violation aborts, so libFuzzer keeps the input.
   Stricter builds: -DFUZZ_STRICT_NAMES (names must use XML's Unicode name
   characters, which the parser does not check beyond ASCII) and
   -DFUZZ_STRICT_OFFSET (an error reports the same offset however the input
   was cut; today ERR_XML_NAME_LEN does not). */

#define XEP0077_IMPLEMENTATION
#include "../xep0077.h"
#include "xmlcheck.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(c)                                                            \
  do {                                                                      \
    if (!(c)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
      abort();                                                              \
    }                                                                       \
  } while (0)

/* ---- growable byte string ---------------------------------------------- */
typedef struct bytes {
  unsigned char *p;
  size_t len, cap;
} bytes;

static void put(bytes *b, const void *data, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n) cap *= 2;
    b->p = (unsigned char *)realloc(b->p, cap);
    CHECK(b->p != NULL);
    b->cap = cap;
  }
  if (n) memcpy(b->p + b->len, data, n);
  b->len += n;
}
static void put_str(bytes *b, const char *s) { put(b, s, strlen(s) + 1); }
static void put_int(bytes *b, long v) { put(b, &v, sizeof v); }

/* ---- configuration ------------------------------------------------------ */
typedef struct cfg {
  int chunk_mode;
  size_t chunk_fixed, chunk_rand_max;
  uint32_t seed;
  size_t bufsize;
  int lower;
  int max_depth, max_attrs;
  size_t max_name, max_stanza;
  int restart_after;
} cfg;

static const size_t stanza_limits[4] = {0, 64, 300, 2048};

static void read_cfg(cfg *c, const uint8_t *h) {
  memset(c, 0, sizeof *c);
  c->chunk_mode = h[0] & 3;
  c->chunk_fixed = 1 + (size_t)(h[0] >> 2);
  c->chunk_rand_max = 1 + (size_t)(h[0] >> 2) * 8;
  c->seed = 0x9E3779B9u ^ ((uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 |
                           (uint32_t)h[2] << 8 | h[3]);
  c->bufsize = 64 + 16 * (size_t)h[1];
  if (c->bufsize > 4096) c->bufsize = 4096;
  c->lower = (h[2] & 0x80) != 0;
  c->max_depth = 1 + (h[2] & 15);
  c->max_attrs = (h[2] >> 4) & 7;
  c->max_name = 1 + (size_t)(h[3] & 63);
  c->max_stanza = stanza_limits[(h[2] >> 4) & 3];
  c->restart_after = h[3] >> 6;
}

/* Where the chunk that starts at data[pos] ends. */
static size_t chunk_len(const cfg *c, uint32_t *rng, const uint8_t *data,
                        size_t pos, size_t n) {
  size_t left = n - pos, k;
  switch (c->chunk_mode) {
  case 0: k = c->chunk_fixed; break;
  case 1: k = 1; break;
  case 2:
    *rng ^= *rng << 13; *rng ^= *rng >> 17; *rng ^= *rng << 5;
    k = 1 + *rng % c->chunk_rand_max;
    break;
  default: /* cut just before and just after markup and inside UTF-8 */
    for (k = 1; k < left; k++) {
      uint8_t b = data[pos + k], prev = data[pos + k - 1];
      if (strchr("<>&;'\"=/:", b) || strchr("<>&;'\"=/:", prev) || b >= 0x80)
        break;
    }
    break;
  }
  return k < left ? k : left;
}

/* ---- one parse ----------------------------------------------------------- */
typedef struct result {
  bytes log;    /* every event, with the text of each node before it      */
  bytes trail;  /* text seen after the last non-text event                */
  int status;   /* 0 (input used up) or the sticky error                  */
  unsigned long offset;
} result;

typedef struct elem {
  char *name, *ns;
} elem;

static const char *ev_name(int ev) {
  static const char *n[] = {"NEED_MORE", "START", "TEXT", "END", "STANZA_END",
                            "STREAM_END"};
  return ev >= 0 && ev <= 5 ? n[ev] : "?";
}

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = (char *)malloc(n);
  CHECK(d != NULL);
  memcpy(d, s, n);
  return d;
}

/* Reads every byte of a string the parser handed out, so ASan and the
   sanitizers see a bad pointer here rather than later. */
static size_t touch(const char *s) {
  CHECK(s != NULL);
  return strlen(s);
}

/* A local name as the parser defines it: XML's name characters in ASCII,
   any character XML allows beyond ASCII (the parser does not check the
   Unicode name ranges; build with -DFUZZ_STRICT_NAMES to hold it to them). */
static int local_name_ok(const char *s, size_t n) {
#ifdef FUZZ_STRICT_NAMES
  return xc_valid_ncname(s, n);
#else
  size_t i;
  if (n == 0 || !xc_valid_text(s, n)) return 0;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x80 && (c == ':' || !(i == 0 ? xc_is_name_start(c)
                                          : xc_is_name_char(c))))
      return 0;
  }
  return 1;
#endif
}

static void check_start(const xep0077_xml *p, const cfg *c, int sp) {
  int i, j, max_attrs = c->lower ? c->max_attrs : XEP0077_XML_MAX_ATTRS;
  size_t nlen = touch(p->name), max_name = c->lower ? c->max_name
                                                    : XEP0077_XML_MAX_NAME;
  CHECK(p->depth == sp);
  CHECK(p->depth >= 0 && p->depth < (c->lower ? c->max_depth
                                              : XEP0077_XML_MAX_DEPTH));
  CHECK(local_name_ok(p->name, nlen));
  CHECK(nlen <= max_name);
  CHECK(xc_valid_text(p->ns, touch(p->ns)));
  CHECK(p->nattrs >= 0 && p->nattrs <= max_attrs);
  CHECK(p->nattrs == 0 || p->attrs != NULL);
  for (i = 0; i < p->nattrs; i++) {
    const char *an = p->attrs[i].name, *ans = p->attrs[i].ns,
               *av = p->attrs[i].value, *v;
    size_t alen = touch(an);
    CHECK(local_name_ok(an, alen));
    CHECK(alen <= max_name);
    CHECK(xc_valid_text(ans, touch(ans)));
    CHECK(xc_valid_text(av, touch(av)));
    /* namespace declarations are not attributes */
    CHECK(!(ans[0] == '\0' && strcmp(an, "xmlns") == 0));
    CHECK(strcmp(ans, "http://www.w3.org/2000/xmlns/") != 0);
    for (j = 0; j < i; j++) /* unique by expanded name */
      CHECK(strcmp(an, p->attrs[j].name) != 0 ||
            strcmp(ans, p->attrs[j].ns) != 0);
    v = xep0077_xml_attr(p, ans, an);
    CHECK(v != NULL && strcmp(v, av) == 0);
  }
  /* no XML name can hold a control character */
  CHECK(xep0077_xml_attr(p, "", "\x01") == NULL);
}

static void flush_text(result *r, bytes *text) {
  if (!text->len) return;
  /* the node as a whole must be valid, even if a partial event cut a UTF-8
     sequence in two */
  CHECK(xc_valid_text((const char *)text->p, text->len));
  put(&r->log, "T", 1);
  put_int(&r->log, (long)text->len);
  put(&r->log, text->p, text->len);
  text->len = 0;
}

static void parse(const cfg *c, const uint8_t *data, size_t n, int chunked,
                  result *r) {
  xep0077_xml *p = (xep0077_xml *)malloc(sizeof *p);
  char *buf = (char *)malloc(c->bufsize); /* exact size: ASan sees overruns */
  elem stack[XEP0077_XML_MAX_DEPTH + 1];
  bytes text = {0, 0, 0};
  int sp = 0, closed = 0, partial = 0, stanza_ends = 0, ev = 0;
  uint32_t rng = c->seed;
  size_t pos = 0;

  CHECK(p != NULL && buf != NULL);
  memset(r, 0, sizeof *r);
  xep0077_xml_init(p, buf, c->bufsize);
  if (c->lower) {
    p->max_depth = c->max_depth;
    p->max_attrs = c->max_attrs;
    p->max_name = c->max_name;
    if (c->max_stanza) p->max_stanza = c->max_stanza;
  }
  if (chunked) { /* an empty chunk is legal and yields nothing */
    xep0077_xml_feed(p, "", 0);
    CHECK(xep0077_xml_next(p) == XEP0077_XML_NEED_MORE);
  }

  while (pos < n && ev >= 0) {
    size_t len = chunked ? chunk_len(c, &rng, data, pos, n) : n - pos;
    /* a private copy, freed as soon as next() says it is used up: a parser
       that keeps a pointer into it is caught as a use-after-free */
    unsigned char *chunk = (unsigned char *)malloc(len);
    CHECK(chunk != NULL);
    memcpy(chunk, data + pos, len);
    xep0077_xml_feed(p, chunk, len);

    while ((ev = xep0077_xml_next(p)) > 0) {
      CHECK(ev <= XEP0077_XML_STREAM_END);
      CHECK(!closed); /* nothing after the root closed, only an error */
      if (ev != XEP0077_XML_TEXT) {
        CHECK(!partial); /* a partial text node continues with TEXT */
        flush_text(r, &text);
        put(&r->log, "E", 1);
        put_int(&r->log, ev);
        put_int(&r->log, p->depth);
      }
      switch (ev) {
      case XEP0077_XML_START: {
        int i;
        check_start(p, c, sp);
        put_str(&r->log, p->name);
        put_str(&r->log, p->ns);
        put_int(&r->log, p->nattrs);
        for (i = 0; i < p->nattrs; i++) {
          put_str(&r->log, p->attrs[i].name);
          put_str(&r->log, p->attrs[i].ns);
          put_str(&r->log, p->attrs[i].value);
        }
        CHECK(sp <= XEP0077_XML_MAX_DEPTH);
        stack[sp].name = dup_str(p->name);
        stack[sp].ns = dup_str(p->ns);
        sp++;
        break;
      }
      case XEP0077_XML_TEXT:
        CHECK(sp >= 2); /* only inside a stanza */
        CHECK(p->depth == sp - 1);
        CHECK(p->text != NULL);
        CHECK(p->text_len <= c->bufsize);
        CHECK(p->text[p->text_len] == '\0');
        CHECK(memchr(p->text, 0, p->text_len) == NULL);
        CHECK(p->text_partial == 0 || p->text_partial == 1);
        put(&text, p->text, p->text_len);
        partial = p->text_partial;
        break;
      default: /* END, STANZA_END, STREAM_END */
        CHECK(sp >= 1);
        sp--;
        CHECK(p->depth == sp);
        CHECK(ev == (sp == 0   ? XEP0077_XML_STREAM_END
                     : sp == 1 ? XEP0077_XML_STANZA_END
                               : XEP0077_XML_END));
        touch(p->name);
        touch(p->ns);
        if (strcmp(p->name, stack[sp].name) != 0 ||
            strcmp(p->ns, stack[sp].ns) != 0) {
          fprintf(stderr, "%s closes <%s xmlns='%s'> as <%s xmlns='%s'>\n",
                  ev_name(ev), stack[sp].name, stack[sp].ns, p->name, p->ns);
          abort();
        }
        free(stack[sp].name);
        free(stack[sp].ns);
        closed = ev == XEP0077_XML_STREAM_END;
        if (ev == XEP0077_XML_STANZA_END && ++stanza_ends == c->restart_after) {
          /* XMPP restart, as after SASL success: a fresh root follows */
          xep0077_xml_restart(p);
          while (sp > 0) { sp--; free(stack[sp].name); free(stack[sp].ns); }
          put(&r->log, "R", 1);
        }
        break;
      }
    }
    if (ev == XEP0077_XML_NEED_MORE) {
      CHECK(xep0077_xml_pending(p) == 0);
      pos += len;
      CHECK(p->offset == pos);
    } else { /* sticky: the same code however often we ask */
      CHECK(ev == XEP0077_ERR_NOMEM ||
            (ev <= XEP0077_ERR_XML_SYNTAX && ev >= XEP0077_ERR_XML_BUFFER));
      CHECK(touch(xep0077_status_name(ev)) > 0);
      CHECK(touch(xep0077_strerror(ev)) > 0);
      CHECK(xep0077_xml_next(p) == ev);
      xep0077_xml_feed(p, "<a>", 3); /* even fed more */
      CHECK(xep0077_xml_next(p) == ev);
      r->offset = p->offset;
    }
    free(chunk);
  }
  r->status = ev;
  put(&r->trail, text.p, text.len);
  free(text.p);
  while (sp > 0) { sp--; free(stack[sp].name); free(stack[sp].ns); }
  free(buf);
  free(p);
}

/* Errors must not depend on how the input was cut, with one exception: a
   name longer than both max_name and the free buffer is ERR_XML_NAME_LEN
   when it arrives in one piece and ERR_XML_BUFFER when it trickles in. */
static int same_error(int a, int b) {
  if (a == XEP0077_ERR_XML_BUFFER) a = XEP0077_ERR_XML_NAME_LEN;
  if (b == XEP0077_ERR_XML_BUFFER) b = XEP0077_ERR_XML_NAME_LEN;
  return a == b;
}

static int is_prefix(const bytes *a, const bytes *b) {
  return a->len <= b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cfg c;
  result whole, cut;
  if (size < 4) return 0;
  read_cfg(&c, data);
  parse(&c, data + 4, size - 4, 0, &whole);
  parse(&c, data + 4, size - 4, 1, &cut);

  if (!same_error(whole.status, cut.status) || whole.log.len != cut.log.len ||
      (whole.log.len && memcmp(whole.log.p, cut.log.p, whole.log.len) != 0) ||
#ifdef FUZZ_STRICT_OFFSET /* the error's position, too */
      (whole.status < 0 && whole.offset != cut.offset) ||
#endif
      /* text after the last event may be cut short by an error or by the end
         of input, but never differently */
      !(is_prefix(&whole.trail, &cut.trail) ||
        is_prefix(&cut.trail, &whole.trail))) {
    size_t i = 0;
    while (i < whole.log.len && i < cut.log.len &&
           whole.log.p[i] == cut.log.p[i])
      i++;
    fprintf(stderr,
            "whole and chunked parses differ: status %d (%s) vs %d (%s), "
            "offset %lu vs %lu, log %zu vs %zu bytes, first difference at %zu, "
            "trailing text %zu vs %zu bytes\n",
            whole.status, xep0077_status_name(whole.status), cut.status,
            xep0077_status_name(cut.status), whole.offset, cut.offset,
            whole.log.len, cut.log.len, i, whole.trail.len, cut.trail.len);
    abort();
  }
  free(whole.log.p); free(whole.trail.p);
  free(cut.log.p); free(cut.trail.p);
  return 0;
}
