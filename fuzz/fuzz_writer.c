/* fuzz_writer.c -- libFuzzer target for the XML writer (xep0077_xmlw_*),
   checked by a round trip through the parser.

   Input: 2 configuration bytes, then a program of writer calls.
     c0  writer buffer: 1 + c0 % 64 bytes, flushed through a callback
     c1  c1 & 3 == 3: the callback fails on call number 1 + (c1 >> 2);
         c1 & 3 == 2: no callback, a buffer of 64 * (1 + c0 % 64) bytes that
         may run full
   Program: one byte per call, b & 7 = 0,1 start; 2,3 attr; 4 text;
   5 textn; 6 end; 7 flush. Names and strings follow as
   <source byte> <length byte> <bytes...>: source & 3 = 0 a fixed list entry
   (one index byte, no length), 1 or 3 bytes mapped through an alphabet of
   tricky pieces (markup, escapes, multi-byte, invalid UTF-8, forbidden
   characters), 2 raw bytes.

   The program is kept in order (attr only in an open start tag, text only
   inside a stanza, no end before the root) so the writer may only refuse
   input, or report the failing callback. Then:
   - a call the writer accepted must have had valid input, and the first
     call it refused must have had invalid input (an independent checker in
     xmlcheck.h decides; names must be ASCII QNames, the rule the writer's
     implementation states), or the callback must have just failed, or the buffer without a
     callback be full; the error is sticky and the callback is never called
     again after a failure;
   - if nothing was refused, the output parsed with xep0077_xml gives back
     the same elements (namespace-resolved), attributes and text per
     element, unless the program used namespaces in a way XML forbids
     (undeclared prefix, duplicate attribute, ...), which the writer does
     not police; then the output is still parsed, unchecked. */
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

#define XML_NS "http://www.w3.org/XML/1998/namespace"
#define XMLNS_NS "http://www.w3.org/2000/xmlns/"
#define MAX_ELEMS 256
#define MAX_ATTRS_GEN 12 /* attributes we put on one element */
#define MAX_STR 256

/* ---- growable byte string ---------------------------------------------- */
typedef struct bytes {
  char *p;
  size_t len, cap;
} bytes;

static void put(bytes *b, const void *data, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) cap *= 2;
    b->p = (char *)realloc(b->p, cap);
    CHECK(b->p != NULL);
    b->cap = cap;
  }
  if (n) memcpy(b->p + b->len, data, n);
  b->len += n;
  b->p[b->len] = '\0';
}

/* ---- reading the program -------------------------------------------------- */
typedef struct reader {
  const uint8_t *p;
  size_t n, i;
} reader;

static unsigned byte(reader *r) { return r->i < r->n ? r->p[r->i++] : 0; }

static const char *const elem_names[] = {
    "iq", "query", "x", "field", "value", "username", "password", "email",
    "instructions", "registered", "remove", "error", "text", "message", "body",
    "stream:stream", "stream:features", "stream:error", "register", "required",
    "option", "item", "x:x", "xml:lang"};
static const char *const attr_names[] = {
    "id", "type", "to", "from", "var", "label", "xmlns", "xmlns:stream",
    "xml:lang", "code", "version", "xmlns:x", "x:type", "stream:id"};
static const char *const values[] = {
    "jabber:client", "http://etherx.jabber.org/streams", "jabber:iq:register",
    "jabber:x:data", "urn:ietf:params:xml:ns:xmpp-stanzas", "", "1.0",
    "result", "set", "reg1", "en", XML_NS};
/* Name pieces: valid start and non-start characters, and ones no name may
   hold. */
static const char *const name_alpha[] = {
    "a", "b", "Z", "_", ":", "-", ".", "0", "9", "\xc3\xa9", "\xcc\x80",
    "\xc2\xb7", "\xe2\x80\xbf", "\xf0\x90\x80\x80", "\xef\xbf\xbe", " ", "<",
    "\"", "\x01", "\xff", "\xc3", "\xed\xa0\x80", "\xc0\xaf", "xmlns", "xml",
    "stream", "\xd7\xb7", "\xe3\x80\x80", "\xe3\x80\x81", "=", "\x7f", "/"};
/* Text pieces: markup to escape, whitespace, multi-byte characters, and
   invalid UTF-8 or characters XML forbids. */
static const char *const text_alpha[] = {
    "a", "Z", " ", "<", ">", "&", "'", "\"", "\t", "\n", "\r", "]]>", "]",
    "&amp;", "\xc3\xa9", "\xf0\x9f\x98\x80", "\xef\xbf\xbd", "\xef\xbf\xbe",
    "\xef\xbf\xbf", "\x7f", "\xc2\x85", "\x01", "\x1f", "\x00", "\xed\xa0\x80",
    "\xc0\x80", "\xf4\x90\x80\x80", "\xe2\x80\xa8", "\xff", "\xc3", "\x80",
    "\r\n", "\xf4\x8f\xbf\xbf", "\xee\x80\x80"};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Reads one string of the program into out (NUL-terminated); returns its
   length, which may count embedded NULs. */
static size_t read_string(reader *r, char *out, int is_name) {
  unsigned src = byte(r) & 3, len, i;
  size_t n = 0;
  if (src == 0) {
    unsigned k = byte(r);
    const char *s = is_name == 1   ? elem_names[k % COUNT(elem_names)]
                    : is_name == 2 ? attr_names[k % COUNT(attr_names)]
                                   : values[k % COUNT(values)];
    n = strlen(s);
    memcpy(out, s, n + 1);
    return n;
  }
  len = byte(r) & (is_name ? 7 : (src == 3 ? 63 : 15));
  for (i = 0; i < len && r->i < r->n; i++) {
    unsigned b = byte(r);
    const char *piece;
    size_t pl;
    if (src == 2) {
      out[n++] = (char)b;
      continue;
    }
    piece = is_name ? name_alpha[b % COUNT(name_alpha)]
                    : text_alpha[b % COUNT(text_alpha)];
    pl = piece[0] ? strlen(piece) : 1; /* "\x00" is one NUL byte */
    if (n + pl >= MAX_STR) break;
    memcpy(out + n, piece, pl);
    n += pl;
  }
  out[n] = '\0';
  return n;
}

/* ---- the expected document ----------------------------------------------- */
typedef struct attr {
  char *name, *value; /* as written; name qualified */
} attr;

typedef struct elem {
  char *name; /* as written; kept alive until _end as the writer requires */
  int parent;
  int nattrs;
  attr attrs[MAX_ATTRS_GEN];
  bytes text;
} elem;

typedef struct sink {
  bytes out;
  size_t cap;
  int calls, fail_at, failed, failed_now;
} sink;

static int flush_cb(void *user, const char *data, size_t len) {
  sink *s = (sink *)user;
  CHECK(!s->failed); /* never called again once it failed */
  CHECK(len <= s->cap);
  CHECK(len == 0 || data != NULL);
  if (++s->calls == s->fail_at) {
    s->failed = s->failed_now = 1;
    return -1;
  }
  put(&s->out, data, len);
  return 0;
}

static char *dup_mem(const char *s, size_t n) {
  char *d = (char *)malloc(n + 1);
  CHECK(d != NULL);
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

/* ---- namespaces, as the parser must resolve them ------------------------- */
/* URI bound to prefix (length plen; "" for the default namespace) at element
   e, or NULL if unbound. */
static const char *lookup(const elem *els, int e, const char *prefix,
                          size_t plen) {
  if (plen == 3 && memcmp(prefix, "xml", 3) == 0) return XML_NS;
  for (; e >= 0; e = els[e].parent) {
    int i;
    for (i = 0; i < els[e].nattrs; i++) {
      const char *an = els[e].attrs[i].name;
      if (plen == 0 ? strcmp(an, "xmlns") == 0
                    : strncmp(an, "xmlns:", 6) == 0 &&
                          strlen(an + 6) == plen &&
                          memcmp(an + 6, prefix, plen) == 0)
        return els[e].attrs[i].value;
    }
  }
  return plen == 0 ? "" : NULL;
}

/* Splits a qualified name into a resolved namespace and local name; 0 if
   Namespaces in XML forbids it here. */
static int resolve(const elem *els, int e, const char *qname, int is_attr,
                   const char **ns, const char **local) {
  const char *colon = strchr(qname, ':');
  if (!colon) {
    *local = qname;
    *ns = is_attr ? "" : lookup(els, e, "", 0);
    return xc_valid_ncname(qname, strlen(qname));
  }
  *local = colon + 1;
  if (!xc_valid_ncname(qname, (size_t)(colon - qname)) ||
      !xc_valid_ncname(colon + 1, strlen(colon + 1)))
    return 0;
  if ((size_t)(colon - qname) == 5 && memcmp(qname, "xmlns", 5) == 0)
    return 0;
  *ns = lookup(els, e, qname, (size_t)(colon - qname));
  return *ns != NULL;
}

/* The writer takes ASCII QNames only: an XML Name of ASCII characters with
   at most one colon, and a name on each side of it. */
static int writer_name_ok(const char *s) {
  size_t n = strlen(s), i;
  const char *colon = strchr(s, ':');
  for (i = 0; i < n; i++)
    if ((unsigned char)s[i] >= 0x80) return 0;
  if (!xc_valid_name(s, n)) return 0;
  if (!colon) return 1;
  return xc_valid_ncname(s, (size_t)(colon - s)) &&
         xc_valid_ncname(colon + 1, strlen(colon + 1));
}

static int is_decl(const char *name) {
  return strcmp(name, "xmlns") == 0 || strncmp(name, "xmlns:", 6) == 0;
}

/* 1 if the whole document is namespace-well-formed, so the parser must
   accept it. */
static int ns_ok(const elem *els, int nelems) {
  int e, i, j;
  for (e = 0; e < nelems; e++) {
    const elem *el = &els[e];
    const char *ns, *local, *ns2, *local2;
    int decls = 0, p;
    if (!resolve(els, e, el->name, 0, &ns, &local)) return 0;
    for (p = e; p >= 0; p = els[p].parent)
      for (i = 0; i < els[p].nattrs; i++) decls += is_decl(els[p].attrs[i].name);
    if (decls > XEP0077_XML_MAX_NS) return 0;
    for (i = 0; i < el->nattrs; i++) {
      const char *an = el->attrs[i].name, *av = el->attrs[i].value;
      for (j = 0; j < i; j++)
        if (strcmp(an, el->attrs[j].name) == 0) return 0;
      if (is_decl(an)) {
        const char *prefix = an[5] ? an + 6 : NULL;
        if (strcmp(av, XML_NS) == 0 || strcmp(av, XMLNS_NS) == 0) return 0;
        if (prefix && (!xc_valid_ncname(prefix, strlen(prefix)) ||
                       strcmp(prefix, "xml") == 0 ||
                       strcmp(prefix, "xmlns") == 0 || av[0] == '\0'))
          return 0;
        continue;
      }
      if (!resolve(els, e, an, 1, &ns, &local)) return 0;
      for (j = 0; j < i; j++) {
        if (is_decl(el->attrs[j].name)) continue;
        resolve(els, e, el->attrs[j].name, 1, &ns2, &local2);
        if (strcmp(ns, ns2) == 0 && strcmp(local, local2) == 0) return 0;
      }
    }
  }
  return 1;
}

/* ---- the round trip --------------------------------------------------------- */
static void parse_back(const elem *els, int nelems, const sink *s, int check) {
  xep0077_xml *p = (xep0077_xml *)malloc(sizeof *p);
  size_t cap = 262144;
  char *buf = (char *)malloc(cap);
  int stack[XEP0077_XML_MAX_DEPTH + 1], sp = 0, seen = 0, ev, last = 0;
  bytes *texts = (bytes *)calloc((size_t)nelems + 1, sizeof(bytes));
  CHECK(p != NULL && buf != NULL && texts != NULL);
  xep0077_xml_init(p, buf, cap);
  xep0077_xml_feed(p, s->out.p ? s->out.p : "", s->out.len);
  while ((ev = xep0077_xml_next(p)) > 0) {
    last = ev;
    if (ev == XEP0077_XML_START) {
      CHECK(sp <= XEP0077_XML_MAX_DEPTH);
      if (check) {
        const elem *el = &els[seen];
        const char *ns, *local;
        int i, k = 0;
        CHECK(seen < nelems);
        CHECK(resolve(els, seen, el->name, 0, &ns, &local));
        if (strcmp(p->name, local) != 0 || strcmp(p->ns, ns) != 0) {
          fprintf(stderr, "element %d: wrote <%s> in '%s', read <%s> in '%s'\n",
                  seen, el->name, ns, p->name, p->ns);
          abort();
        }
        for (i = 0; i < el->nattrs; i++) {
          if (is_decl(el->attrs[i].name)) continue;
          CHECK(k < p->nattrs);
          CHECK(resolve(els, seen, el->attrs[i].name, 1, &ns, &local));
          if (strcmp(p->attrs[k].name, local) != 0 ||
              strcmp(p->attrs[k].ns, ns) != 0 ||
              strcmp(p->attrs[k].value, el->attrs[i].value) != 0) {
            fprintf(stderr, "element %d attribute %d: wrote %s='%s', read "
                    "{%s}%s='%s'\n", seen, k, el->attrs[i].name,
                    el->attrs[i].value, p->attrs[k].ns, p->attrs[k].name,
                    p->attrs[k].value);
            abort();
          }
          k++;
        }
        CHECK(k == p->nattrs);
      }
      stack[sp++] = seen++;
    } else if (ev == XEP0077_XML_TEXT) {
      CHECK(sp > 0);
      put(&texts[stack[sp - 1]], p->text, p->text_len);
    } else {
      CHECK(sp > 0);
      sp--;
    }
  }
  if (check) {
    int e;
    if (ev != XEP0077_XML_NEED_MORE || last != XEP0077_XML_STREAM_END) {
      fprintf(stderr, "writer output did not parse: %d %s after %d elements\n",
              ev, xep0077_status_name(ev), seen);
      abort();
    }
    CHECK(seen == nelems && sp == 0);
    for (e = 0; e < nelems; e++) {
      if (texts[e].len != els[e].text.len ||
          (texts[e].len &&
           memcmp(texts[e].p, els[e].text.p, texts[e].len) != 0)) {
        fprintf(stderr, "element %d <%s>: wrote %zu bytes of text, read %zu\n",
                e, els[e].name, els[e].text.len, texts[e].len);
        abort();
      }
    }
  }
  for (ev = 0; ev <= nelems; ev++) free(texts[ev].p);
  free(texts);
  free(buf);
  free(p);
}

/* The writer's first error must have a cause: the callback failing in this
   very call (and then nothing else may be reported), the buffer without a
   callback being full, or input the checker calls invalid. */
static void first_error(const xep0077_xmlw *w, const sink *s, int rc,
                        int valid, unsigned op) {
  if (s->failed_now ? rc == XEP0077_ERR_XMLW_FLUSH
      : rc == XEP0077_ERR_XMLW_FULL ? !w->flush && w->len == w->cap
      : rc == XEP0077_ERR_XMLW_INPUT && !valid)
    return;
  fprintf(stderr, "writer failed call (op %u, valid input %d, callback "
          "failed now %d) with %d %s\n", op, valid, s->failed_now, rc,
          xep0077_status_name(rc));
  abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  reader r;
  sink s;
  xep0077_xmlw w;
  char *wbuf, str[MAX_STR + 8], val[MAX_STR + 8];
  elem els[MAX_ELEMS];
  int nelems = 0, open[XEP0077_XML_MAX_DEPTH], depth = 0, tag_open = 0;
  int err = 0, rc, e, done = 0, no_cb;
  size_t cap;

  if (size < 2) return 0;
  memset(&s, 0, sizeof s);
  no_cb = (data[1] & 3) == 2;
  cap = no_cb ? 64 * (1 + (size_t)data[0] % 64) : 1 + (size_t)data[0] % 64;
  if ((data[1] & 3) == 3) s.fail_at = 1 + (data[1] >> 2);
  s.cap = cap;
  wbuf = (char *)malloc(cap);
  CHECK(wbuf != NULL);
  r.p = data + 2;
  r.n = size - 2;
  r.i = 0;
  xep0077_xmlw_init(&w, wbuf, cap, no_cb ? NULL : flush_cb, &s);

  while (!done && r.i < r.n) {
    unsigned op = byte(&r) & 7;
    int valid = 1;
    size_t n;
    s.failed_now = 0;
    if ((op <= 1 && depth == XEP0077_XML_MAX_DEPTH) || nelems == MAX_ELEMS)
      op = 6;
    if (op == 6 && depth == 0) op = 0;
    switch (op) {
    case 0: case 1: /* start */
      read_string(&r, str, 1);
      n = strlen(str); /* the C string ends at the first NUL */
      valid = writer_name_ok(str);
      els[nelems].name = dup_mem(str, n);
      rc = xep0077_xmlw_start(&w, els[nelems].name);
      if (rc == 0) {
        els[nelems].parent = depth ? open[depth - 1] : -1;
        els[nelems].nattrs = 0;
        memset(&els[nelems].text, 0, sizeof(bytes));
        open[depth++] = nelems++;
        tag_open = 1;
      } else {
        free(els[nelems].name);
      }
      break;
    case 2: case 3: { /* attr */
      elem *el = depth ? &els[open[depth - 1]] : NULL;
      size_t vn;
      read_string(&r, str, 2);
      read_string(&r, val, 0);
      if (!tag_open || el->nattrs == MAX_ATTRS_GEN) continue;
      n = strlen(str);
      vn = strlen(val);
      valid = writer_name_ok(str) && xc_valid_text(val, vn);
      rc = xep0077_xmlw_attr(&w, str, val);
      if (rc == 0) {
        el->attrs[el->nattrs].name = dup_mem(str, n);
        el->attrs[el->nattrs].value = dup_mem(val, vn);
        el->nattrs++;
      }
      break;
    }
    case 4: case 5: /* text (C string) and textn (length, NULs included) */
      n = read_string(&r, val, 0);
      if (depth < 2) continue; /* no text directly in the stream root */
      if (op == 4) {
        n = strlen(val);
        rc = xep0077_xmlw_text(&w, val);
      } else {
        rc = xep0077_xmlw_textn(&w, val, n);
      }
      valid = xc_valid_text(val, n);
      if (rc == 0) put(&els[open[depth - 1]].text, val, n);
      tag_open = 0;
      break;
    case 6: /* end */
      rc = xep0077_xmlw_end(&w);
      if (rc == 0 && --depth == 0) done = 1; /* the root closed */
      tag_open = 0;
      break;
    default:
      rc = xep0077_xmlw_flush(&w);
      tag_open = 0;
      break;
    }
    if (err) { /* sticky: every call after the first failure repeats it */
      CHECK(rc == err);
      continue;
    }
    if (rc == 0) {
      if (!valid) {
        fprintf(stderr, "writer accepted invalid input in call %u (op %u)\n",
                (unsigned)r.i, op);
        abort();
      }
      continue;
    }
    err = rc;
    first_error(&w, &s, rc, valid, op);
  }
  /* close what is open, then hand everything over */
  while (depth > 0) {
    s.failed_now = 0;
    rc = xep0077_xmlw_end(&w);
    depth--;
    if (err) CHECK(rc == err);
    else if (rc) first_error(&w, &s, err = rc, 1, 6);
  }
  s.failed_now = 0;
  rc = xep0077_xmlw_flush(&w);
  if (err) CHECK(rc == err);
  else if (rc) first_error(&w, &s, err = rc, 1, 7);
  CHECK(w.err == err);
  if (no_cb && !err) put(&s.out, w.buf, w.len);

  if (!err && nelems == 0) CHECK(s.out.len == 0);
  if (!err && nelems > 0) {
    CHECK(no_cb || w.len == 0);
    parse_back(els, nelems, &s, ns_ok(els, nelems));
  }

  for (e = 0; e < nelems; e++) {
    int i;
    free(els[e].name);
    for (i = 0; i < els[e].nattrs; i++) {
      free(els[e].attrs[i].name);
      free(els[e].attrs[i].value);
    }
    free(els[e].text.p);
  }
  free(s.out.p);
  free(wbuf);
  return 0;
}
