/* xep0077.h -- XMPP In-Band Registration (XEP-0077) in one C header, no heap.

   USAGE
   =====
   In exactly one C or C++ file:

       #define XEP0077_IMPLEMENTATION
       #include "xep0077.h"

   Everywhere else just #include "xep0077.h". Define XEP0077_STATIC before the
   include to make every function static (two copies in one program, no clash).

   What is in this header today, in the order data flows:
     1. bytes -> XML  : an incremental, namespace-aware pull parser for the
                        restricted XML of RFC 6120 section 11 (xep0077_xml_*).
     2. XML  -> bytes : a writer into a caller buffer that flushes through a
                        callback when full (xep0077_xmlw_*).
   The XMPP stream (STARTTLS, SASL, bind, IQ tracking) and the registration
   functions build on these two.

   Reading a stream, three steps:

       char mem[4096];
       xep0077_xml p;
       xep0077_xml_init(&p, mem, sizeof mem);
       for (;;) {                                   // per chunk from the wire
           xep0077_xml_feed(&p, chunk, chunk_len);  // chunk stays valid ...
           int ev;
           while ((ev = xep0077_xml_next(&p)) > 0) {   // ... until next() == 0
               if (ev == XEP0077_XML_START && p.depth == 1)  // a stanza opens
                   printf("<%s xmlns='%s'> id=%s\n", p.name, p.ns,
                          xep0077_xml_attr(&p, "", "id"));
               if (ev == XEP0077_XML_STANZA_END) { ... the stanza is complete }
           }
           if (ev < 0) { puts(xep0077_strerror(ev)); break; }   // sticky error
       }

   Writing: xep0077_xmlw_init(&w, buf, size, flush_fn, user); then
   xep0077_xmlw_start / _attr / _text / _end; xep0077_xmlw_flush at the end.

   WHAT THE PARSER DOES NOT DO (on purpose; RFC 6120 section 11 forbids it)
     DOCTYPE and any DTD, entity declarations, comments, processing
     instructions other than the XML declaration, encodings other than UTF-8.
     Each is an error with its own code, never a silent skip: a server that
     sends them is broken or hostile.

   OPTIONS (define before including; every size is a compile-time constant)
     XEP0077_STATIC          all functions static
     XEP0077_ASSERT(x)       default assert(x) from <assert.h>
     XEP0077_XML_MAX_DEPTH   elements open at once, root included    (16)
     XEP0077_XML_MAX_ATTRS   attributes on one element, xmlns excluded (16)
     XEP0077_XML_MAX_NS      namespace declarations in scope at once  (16)
     XEP0077_XML_MAX_NAME    bytes in one element or attribute name   (64)
     XEP0077_XML_MAX_STANZA  bytes in one stanza, markup included (262144)
   The last four are also fields of xep0077_xml that may be lowered (never
   raised past the macro for depth, attrs and ns) after init.

   LICENSE: public domain (unlicense) or MIT, at your choice; see the end.
*/
#ifndef XEP0077_H
#define XEP0077_H

#include <stddef.h>

#ifndef XEP0077DEF
#ifdef XEP0077_STATIC
#define XEP0077DEF static
#else
#define XEP0077DEF extern
#endif
#endif

#ifndef XEP0077_XML_MAX_DEPTH
#define XEP0077_XML_MAX_DEPTH 16
#endif
#ifndef XEP0077_XML_MAX_ATTRS
#define XEP0077_XML_MAX_ATTRS 16
#endif
#ifndef XEP0077_XML_MAX_NS
#define XEP0077_XML_MAX_NS 16
#endif
#ifndef XEP0077_XML_MAX_NAME
#define XEP0077_XML_MAX_NAME 64
#endif
#ifndef XEP0077_XML_MAX_STANZA
#define XEP0077_XML_MAX_STANZA 262144
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Status codes --------------------------------------------------------
   One catalogue for the whole library: 0 is success, every failure is a
   negative code with a fixed message (xep0077_strerror). The parser's
   next() returns these negatives, or a positive event, or 0 (need input). */
#define XEP0077__STATUS_LIST(X)                                                \
  X(OK,                    0, "ok")                                            \
  X(ERR_ARG,              -1, "invalid argument")                              \
  X(ERR_NOMEM,            -2, "caller buffer too small")                       \
  X(ERR_XML_SYNTAX,      -10, "XML: malformed markup")                         \
  X(ERR_XML_UTF8,        -11, "XML: invalid UTF-8")                            \
  X(ERR_XML_CHAR,        -12, "XML: character not allowed in XML")             \
  X(ERR_XML_DOCTYPE,     -13, "XML: DOCTYPE/DTD is forbidden in XMPP")          \
  X(ERR_XML_ENTITY,      -14, "XML: undeclared or malformed entity reference") \
  X(ERR_XML_COMMENT,     -15, "XML: comments are forbidden in XMPP")           \
  X(ERR_XML_PI,          -16, "XML: processing instructions are forbidden")    \
  X(ERR_XML_XMLDECL,     -17, "XML: bad XML declaration or encoding not UTF-8")\
  X(ERR_XML_MISMATCH,    -18, "XML: end tag does not match start tag")         \
  X(ERR_XML_DUP_ATTR,    -19, "XML: duplicate attribute")                      \
  X(ERR_XML_NS_PREFIX,   -20, "XML: undeclared or illegal namespace prefix")   \
  X(ERR_XML_AFTER_ROOT,  -21, "XML: content after the stream root closed")     \
  X(ERR_XML_TEXT_LEVEL,  -22, "XML: text outside a stanza")                    \
  X(ERR_XML_DEPTH,       -23, "XML: elements nested too deeply")               \
  X(ERR_XML_NAME_LEN,    -24, "XML: name too long")                            \
  X(ERR_XML_ATTRS,       -25, "XML: too many attributes")                      \
  X(ERR_XML_NS_COUNT,    -26, "XML: too many namespace declarations")          \
  X(ERR_XML_STANZA_SIZE, -27, "XML: stanza too large")                         \
  X(ERR_XML_BUFFER,      -28, "XML: tag does not fit the parser buffer")       \
  X(ERR_XMLW_FULL,       -40, "writer: buffer full and no flush callback")     \
  X(ERR_XMLW_FLUSH,      -41, "writer: flush callback failed")                 \
  X(ERR_XMLW_INPUT,      -42, "writer: invalid UTF-8, control char or name")   \
  X(ERR_XMLW_STATE,      -43, "writer: call out of order")

typedef enum xep0077_status {
#define XEP0077__ENUM(name, value, msg) XEP0077_##name = value,
  XEP0077__STATUS_LIST(XEP0077__ENUM)
#undef XEP0077__ENUM
  XEP0077__STATUS_END = -127
} xep0077_status;

/* The fixed English message for a status; never NULL. */
XEP0077DEF const char *xep0077_strerror(int status);
/* The status's name without prefix ("ERR_XML_DOCTYPE"); never NULL. */
XEP0077DEF const char *xep0077_status_name(int status);

/* ---- 1. XML pull parser --------------------------------------------------
   Events returned by xep0077_xml_next (positive). Depth: the stream root is
   0, a stanza 1, a stanza's child 2. */
enum {
  XEP0077_XML_NEED_MORE = 0,  /* input exhausted: feed the next chunk       */
  XEP0077_XML_START = 1,      /* element opened: name, ns, attrs, depth     */
  XEP0077_XML_TEXT = 2,       /* text, decoded: text, text_len, depth;
                                 text_partial=1 when more of the same node
                                 follows (node larger than the buffer)      */
  XEP0077_XML_END = 3,        /* element closed inside a stanza (depth >= 2)*/
  XEP0077_XML_STANZA_END = 4, /* a top-level element closed (depth 1): the
                                 stanza is complete                         */
  XEP0077_XML_STREAM_END = 5  /* the stream root closed (depth 0)           */
};

typedef struct xep0077_xml_attribute {
  const char *name;  /* local name                                          */
  const char *ns;    /* namespace URI; "" for an unprefixed attribute       */
  const char *value; /* decoded, NUL-terminated                             */
} xep0077_xml_attribute;

typedef struct xep0077__utf8 { /* a UTF-8 sequence in progress */
  int need;
  unsigned long cp, min;
} xep0077__utf8;

typedef struct xep0077_xml_frame {
  size_t start;      /* buffer offset of this element's saved start tag     */
  const char *name, *ns;
  unsigned short nns;  /* namespace bindings in scope before this element  */
  unsigned short qlen; /* length of the qualified name, for the end tag    */
} xep0077_xml_frame;

/* The parser. Zero fields are never "valid": call xep0077_xml_init. Fields
   under "event" are what the caller reads after next(); they stay valid
   until the following next() call. Everything else is private. */
typedef struct xep0077_xml {
  /* event */
  const char *name, *ns;        /* START / END / STANZA_END / STREAM_END */
  const xep0077_xml_attribute *attrs;
  int nattrs;
  const char *text;             /* TEXT: NUL-terminated, may hold no NUL */
  size_t text_len;
  int text_partial;
  int depth;
  /* limits, lowerable after init */
  size_t max_stanza, max_name;
  int max_depth, max_attrs;
  /* position: bytes consumed since init (for error messages) */
  unsigned long offset;
  /* private */
  char *buf;
  size_t cap, top, tok, mark, nstart, vstart, stanza_left;
  const unsigned char *in, *in_end;
  int state, err, open, nns, nns0, nraw, flags, brackets;
  xep0077__utf8 u8;
  unsigned qlen, qpos, refpos, colon, qcolon;
  char quote, ref[11];
  xep0077_xml_frame frames[XEP0077_XML_MAX_DEPTH];
  size_t nsp[XEP0077_XML_MAX_NS], nsu[XEP0077_XML_MAX_NS]; /* prefix, uri */
  xep0077_xml_attribute attr[XEP0077_XML_MAX_ATTRS];
} xep0077_xml;

/* Start parsing a new stream in the caller's buffer. The buffer holds the
   open elements' start tags (for end-tag matching and namespace scope) and
   the current event's names and text; 1-4 KiB suits XMPP. Never allocates. */
XEP0077DEF void xep0077_xml_init(xep0077_xml *p, void *buf, size_t size);
/* Hand the parser the next chunk (any size, even 1 byte). The parser reads
   it in place: keep it valid and unchanged until next() returns 0. */
XEP0077DEF void xep0077_xml_feed(xep0077_xml *p, const void *data, size_t len);
/* Parse until the next event. Returns an event (> 0), XEP0077_XML_NEED_MORE
   (0) when the chunk is used up, or an error status (< 0) which is then
   returned by every further call until init or restart. */
XEP0077DEF int xep0077_xml_next(xep0077_xml *p);
/* XMPP stream restart (after STARTTLS or SASL success): forget the stream and
   expect a new XML declaration and root, in the same buffer. Input not yet
   consumed stays pending; see xep0077_xml_pending. Clears a sticky error. */
XEP0077DEF void xep0077_xml_restart(xep0077_xml *p);
/* Bytes of the fed chunk not yet consumed. After <proceed/> this must be 0:
   bytes the server sent before the TLS handshake are an injection attack. */
XEP0077DEF size_t xep0077_xml_pending(const xep0077_xml *p);
/* Value of attribute {ns}name of the current START event, or NULL. Pass ""
   as ns for an unprefixed attribute (most XMPP attributes). */
XEP0077DEF const char *xep0077_xml_attr(const xep0077_xml *p, const char *ns,
                                        const char *name);

/* ---- 2. XML writer ------------------------------------------------------
   Writes into a caller buffer; when it is full, the flush callback receives
   the bytes (it must take all of them; return 0, or < 0 to fail). A NULL
   callback makes "full" an error instead (XEP0077_ERR_XMLW_FULL). Errors
   are sticky: check once, at the end. User strings that are not valid UTF-8
   or hold characters XML forbids are refused, never escaped into markup. */
typedef int (*xep0077_flush_fn)(void *user, const char *data, size_t len);

typedef struct xep0077_xmlw {
  char *buf;
  size_t cap, len;
  xep0077_flush_fn flush;
  void *user;
  int err, depth, open; /* open: a start tag awaits '>' or '/>' */
  const char *names[XEP0077_XML_MAX_DEPTH];
} xep0077_xmlw;

XEP0077DEF void xep0077_xmlw_init(xep0077_xmlw *w, char *buf, size_t size,
                                  xep0077_flush_fn flush, void *user);
/* <name ...: name is a qualified XML name ("iq", "stream:stream"); the
   pointer must stay valid until the matching _end. */
XEP0077DEF int xep0077_xmlw_start(xep0077_xmlw *w, const char *name);
/* name='value' on the element just started; value is escaped. */
XEP0077DEF int xep0077_xmlw_attr(xep0077_xmlw *w, const char *name,
                                 const char *value);
/* Escaped character data; _textn takes a length. */
XEP0077DEF int xep0077_xmlw_text(xep0077_xmlw *w, const char *text);
XEP0077DEF int xep0077_xmlw_textn(xep0077_xmlw *w, const char *text, size_t n);
/* Close the innermost element: "/>" when it has no content. */
XEP0077DEF int xep0077_xmlw_end(xep0077_xmlw *w);
/* Finish a pending start tag with '>' (the XMPP stream root is never closed
   by _end until the session ends) and hand everything to the callback. */
XEP0077DEF int xep0077_xmlw_flush(xep0077_xmlw *w);

#ifdef __cplusplus
}
#endif
#endif /* XEP0077_H */

/* ========================================================================
   IMPLEMENTATION
   ======================================================================== */
#ifdef XEP0077_IMPLEMENTATION
#ifndef XEP0077__IMPLEMENTED
#define XEP0077__IMPLEMENTED

#include <string.h>

#ifndef XEP0077_ASSERT
#include <assert.h>
#define XEP0077_ASSERT(x) assert(x)
#endif

/* ---- Status catalogue -------------------------------------------------- */
XEP0077DEF const char *xep0077_strerror(int status)
{
  switch (status) {
#define XEP0077__MSG(name, value, msg) case value: return msg;
    XEP0077__STATUS_LIST(XEP0077__MSG)
#undef XEP0077__MSG
  default: return "unknown status";
  }
}

XEP0077DEF const char *xep0077_status_name(int status)
{
  switch (status) {
#define XEP0077__NAME(name, value, msg) case value: return #name;
    XEP0077__STATUS_LIST(XEP0077__NAME)
#undef XEP0077__NAME
  default: return "UNKNOWN";
  }
}

/* ---- Characters ----------------------------------------------------------
   One table classifies every byte for the hot loops: a run of bytes without
   the state's "special" bit is copied in one go, so the per-byte cost of
   ordinary text is a load, a test and a branch. */
enum {
  XEP0077__C_TEXT = 1,   /* stops a text run:  < & ] > CR, C0 controls, >= 0x80 */
  XEP0077__C_ATTR = 2,   /* stops a value run: ' " & < TAB LF CR, C0, >= 0x80  */
  XEP0077__C_NAME = 4,   /* ASCII name character except ':' (QName rules apart) */
  XEP0077__C_START = 8,  /* ASCII name start character except ':'             */
  XEP0077__C_WS = 16,    /* XML white space                                    */
  XEP0077__C_CDATA = 32  /* stops a CDATA run: ] > CR, C0 controls, >= 0x80    */
};
static const unsigned char xep0077__cls[256] = {
  35,35,35,35,35,35,35,35,35,18,18,35,35,51,35,35,
  35,35,35,35,35,35,35,35,35,35,35,35,35,35,35,35,
  16, 0, 2, 0, 0, 0, 3, 2, 0, 0, 0, 0, 0, 4, 4, 0,
   4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 0, 0, 3, 0,33, 0,
   0,12,12,12,12,12,12,12,12,12,12,12,12,12,12,12,
  12,12,12,12,12,12,12,12,12,12,12, 0, 0,33, 0,12,
   0,12,12,12,12,12,12,12,12,12,12,12,12,12,12,12,
  12,12,12,12,12,12,12,12,12,12,12, 0, 0, 0, 0, 0,
  35,35,35,35,35,35,35,35,35,35,35,35,35,35,35,35,
  35,35,35,35,35,35,35,35,35,35,35,35,35,35,35,35,
  35,35,35,35,35,35,35,35,35,35,35,35,35,35,35,35,
  35,35,35,35,35,35,35,35,35,35,35,35,35,35,35,35,
  35,35,35,35,35,35,35,35,35,35,35,35,35,35,35,35,
  35,35,35,35,35,35,35,35,35,35,35,35,35,35,35,35,
  35,35,35,35,35,35,35,35,35,35,35,35,35,35,35,35,
  35,35,35,35,35,35,35,35,35,35,35,35,35,35,35,35
};
#define XEP0077__IS(c, bit) (xep0077__cls[(unsigned char)(c)] & XEP0077__##bit)

static const char xep0077__ns_xml[] = "http://www.w3.org/XML/1998/namespace";
static const char xep0077__ns_xmlns[] = "http://www.w3.org/2000/xmlns/";

/* Feed one byte >= 0x80, or any byte while a sequence is open. Rejects what
   RFC 3629 forbids (overlongs, surrogates, > U+10FFFF) and the two
   non-characters XML excludes. Returns 0 or a status. */
static int xep0077__utf8_step(xep0077__utf8 *u, unsigned c)
{
  if (u->need == 0) {
    if (c < 0x80) return 0;
    if (c < 0xC2 || c > 0xF4) return XEP0077_ERR_XML_UTF8;
    u->need = c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;
    u->min = u->need == 1 ? 0x80 : u->need == 2 ? 0x800 : 0x10000;
    u->cp = c & (0x3Fu >> u->need);
    return 0;
  }
  if ((c & 0xC0) != 0x80) return XEP0077_ERR_XML_UTF8;
  u->cp = (u->cp << 6) | (c & 0x3F);
  if (--u->need) return 0;
  if (u->cp < u->min || u->cp > 0x10FFFF || (u->cp >= 0xD800 && u->cp <= 0xDFFF))
    return XEP0077_ERR_XML_UTF8;
  if (u->cp == 0xFFFE || u->cp == 0xFFFF) return XEP0077_ERR_XML_CHAR;
  return 0;
}

static size_t xep0077__utf8_put(char *o, unsigned long cp)
{
  if (cp < 0x80) { o[0] = (char)cp; return 1; }
  if (cp < 0x800) {
    o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* ---- 1. XML pull parser --------------------------------------------------
   Memory: buf[0, top) holds the start tags of the open elements, each kept
   verbatim-decoded ("qname\0attr\0value\0...") as its frame, so attribute and
   namespace pointers stay valid while the element is open and end tags are
   matched without copying. buf[top, mark) is the token being built: a start
   tag, or text. A start tag that completes becomes the next frame. */
enum {
  XEP0077__S_DOC, XEP0077__S_BOM, XEP0077__S_STREAM, XEP0077__S_TEXT,
  XEP0077__S_AFTER, XEP0077__S_LT, XEP0077__S_STAG_NAME, XEP0077__S_STAG,
  XEP0077__S_ANAME, XEP0077__S_AEQ, XEP0077__S_AQ, XEP0077__S_AVAL,
  XEP0077__S_AFTER_VAL, XEP0077__S_SLASH, XEP0077__S_ETAG, XEP0077__S_ETAG_WS,
  XEP0077__S_REF, XEP0077__S_BANG, XEP0077__S_CDATA_OPEN, XEP0077__S_CDATA,
  XEP0077__S_PI, XEP0077__S_XMLDECL
};
enum {
  XEP0077__F_DOCSTART = 1, /* nothing but a BOM read: an XML declaration may come */
  XEP0077__F_EMPTY = 2,    /* <a/> reported as START: its END is owed         */
  XEP0077__F_POP = 4,      /* an END was reported: pop its frame next call    */
  XEP0077__F_CR = 8,       /* last byte was CR: swallow a following LF        */
  XEP0077__F_STANZA = 16,  /* inside a stanza: bytes count against the limit  */
  XEP0077__F_REFATTR = 32, /* the entity reference is in an attribute value   */
  XEP0077__F_TEXTEV = 64   /* a TEXT was reported: drop its bytes next call   */
};
/* Bytes kept free in the token area before a special character is handled:
   one UTF-8 character, two pending ']' of CDATA, and the NUL. */
#define XEP0077__RESERVE 8

XEP0077DEF void xep0077_xml_init(xep0077_xml *p, void *buf, size_t size)
{
  memset(p, 0, sizeof *p);
  p->buf = (char *)buf;
  p->cap = size;
  p->max_stanza = XEP0077_XML_MAX_STANZA;
  p->max_name = XEP0077_XML_MAX_NAME;
  p->max_depth = XEP0077_XML_MAX_DEPTH;
  p->max_attrs = XEP0077_XML_MAX_ATTRS;
  xep0077_xml_restart(p);
}

XEP0077DEF void xep0077_xml_restart(xep0077_xml *p)
{
  p->state = XEP0077__S_DOC;
  p->flags = XEP0077__F_DOCSTART;
  p->err = p->open = p->nns = p->nraw = p->brackets = 0;
  p->u8.need = 0;
  p->top = p->tok = p->mark = 0;
  p->depth = -1;
  p->name = p->ns = p->text = NULL;
  p->nattrs = 0;
  p->attrs = p->attr;
}

XEP0077DEF void xep0077_xml_feed(xep0077_xml *p, const void *data, size_t len)
{
  XEP0077_ASSERT(p->in == p->in_end); /* the previous chunk is used up */
  p->in = (const unsigned char *)data;
  p->in_end = p->in + len;
}

XEP0077DEF size_t xep0077_xml_pending(const xep0077_xml *p)
{
  return (size_t)(p->in_end - p->in);
}

XEP0077DEF const char *xep0077_xml_attr(const xep0077_xml *p, const char *ns,
                                        const char *name)
{
  int i;
  for (i = 0; i < p->nattrs; i++)
    if (!strcmp(p->attrs[i].name, name) && !strcmp(p->attrs[i].ns, ns))
      return p->attrs[i].value;
  return NULL;
}

/* The URI bound to the prefix q[0, len), or NULL if none is. The empty
   prefix is the default namespace, "" when undeclared. */
static const char *xep0077__ns_find(const xep0077_xml *p, const char *q, size_t len)
{
  int k;
  if (len == 0) {
    for (k = p->nns; k-- > 0;)
      if (!p->buf[p->nsp[k]]) return p->buf + p->nsu[k];
    return "";
  }
  if (len == 3 && !memcmp(q, "xml", 3)) return xep0077__ns_xml;
  for (k = p->nns; k-- > 0;) {
    const char *pf = p->buf + p->nsp[k];
    if (!strncmp(pf, q, len) && pf[len] == 0) return p->buf + p->nsu[k];
  }
  return NULL;
}

/* A QName: at most one colon, neither first nor last, and the local part
   starts like a name. Returns the colon's offset, 0 without one, -1 if bad. */
static int xep0077__qname(const char *q)
{
  const char *c = strchr(q, ':');
  if (!c) return 0;
  if (c == q || strchr(c + 1, ':') || (!XEP0077__IS(c[1], C_START) &&
      (unsigned char)c[1] < 0x80))
    return -1;
  return (int)(c - q);
}

/* An attribute value closed: buf[nstart] holds "qname\0value\0". A namespace
   declaration is bound now (it may follow its first use in the same tag, so
   prefixes are resolved when the tag ends); anything else joins attr[]. */
static int xep0077__attr_done(xep0077_xml *p)
{
  char *b = p->buf, *r = b + p->nstart, *v = b + p->vstart;
  int k, maxa = p->max_attrs < XEP0077_XML_MAX_ATTRS ? p->max_attrs : XEP0077_XML_MAX_ATTRS;
  if (r[0] == 'x' && !strncmp(r, "xmlns", 5) && (r[5] == 0 || r[5] == ':')) {
    const char *pf = r + 5 + (r[5] == ':');
    int is_xml = !strcmp(v, xep0077__ns_xml);
    if (r[5] == ':' && (!*pf || strchr(pf, ':') || !*v || !strcmp(pf, "xmlns") ||
        ((!strcmp(pf, "xml")) != is_xml)))
      return XEP0077_ERR_XML_NS_PREFIX;
    if ((r[5] == 0 && is_xml) || !strcmp(v, xep0077__ns_xmlns))
      return XEP0077_ERR_XML_NS_PREFIX;
    for (k = p->nns0; k < p->nns; k++)
      if (!strcmp(b + p->nsp[k], pf)) return XEP0077_ERR_XML_DUP_ATTR;
    if (p->nns >= XEP0077_XML_MAX_NS) return XEP0077_ERR_XML_NS_COUNT;
    p->nsp[p->nns] = (size_t)(pf - b);
    p->nsu[p->nns++] = (size_t)(v - b);
    return 0;
  }
  if (p->nraw >= maxa) return XEP0077_ERR_XML_ATTRS;
  /* Until the tag ends, ns holds the prefix (NULL: none) and name the
     local part. */
  p->attr[p->nraw].ns = p->colon ? r : NULL;
  p->attr[p->nraw].name = r + p->colon + (p->colon > 0);
  p->attr[p->nraw++].value = v;
  return 0;
}

/* A start tag is complete in buf[tok, mark): resolve the prefixes of the
   element and its attributes, push its frame, report START. */
static int xep0077__stag_done(xep0077_xml *p, int empty)
{
  char *q = p->buf + p->tok;
  int i, j, colon;
  int maxd = p->max_depth < XEP0077_XML_MAX_DEPTH ? p->max_depth : XEP0077_XML_MAX_DEPTH;
  const char *ns;
  xep0077_xml_frame *f;

  if (p->open >= maxd) return XEP0077_ERR_XML_DEPTH;
  colon = (int)p->qcolon;
  ns = xep0077__ns_find(p, q, (size_t)colon);
  if (!ns || (colon == 5 && !memcmp(q, "xmlns", 5))) return XEP0077_ERR_XML_NS_PREFIX;
  f = &p->frames[p->open];
  f->start = p->tok;
  f->name = q + colon + (colon > 0);
  f->ns = ns;
  f->nns = (unsigned short)p->nns0;
  f->qlen = (unsigned short)p->qlen;
  /* Duplicates compare expanded names, which also catches two prefixes bound
     to one URI; the cost is bounded by max_attrs^2/2 short compares. */
  for (i = 0; i < p->nraw; i++) {
    xep0077_xml_attribute *a = &p->attr[i];
    a->ns = a->ns ? xep0077__ns_find(p, a->ns, (size_t)(a->name - a->ns - 1)) : "";
    if (!a->ns) return XEP0077_ERR_XML_NS_PREFIX;
    for (j = 0; j < i; j++)
      if (p->attr[j].name[0] == a->name[0] && !strcmp(p->attr[j].name, a->name) &&
          (p->attr[j].ns == a->ns || !strcmp(p->attr[j].ns, a->ns)))
        return XEP0077_ERR_XML_DUP_ATTR;
  }
  p->name = f->name;
  p->ns = f->ns;
  p->attrs = p->attr;
  p->nattrs = p->nraw;
  p->depth = p->open++;
  p->top = p->mark;
  p->state = p->open == 1 ? XEP0077__S_STREAM : XEP0077__S_TEXT;
  if (empty) p->flags |= XEP0077__F_EMPTY;
  return XEP0077_XML_START;
}

/* The innermost element closed: report it; its frame is popped next call. */
static int xep0077__end_event(xep0077_xml *p)
{
  xep0077_xml_frame *f = &p->frames[p->open - 1];
  p->name = f->name;
  p->ns = f->ns;
  p->nattrs = 0;
  p->depth = p->open - 1;
  p->flags |= XEP0077__F_POP;
  p->state = p->depth >= 2 ? XEP0077__S_TEXT
           : p->depth == 1 ? XEP0077__S_STREAM : XEP0077__S_AFTER;
  if (p->depth >= 2) return XEP0077_XML_END;
  if (p->depth == 0) return XEP0077_XML_STREAM_END;
  p->flags &= ~XEP0077__F_STANZA;
  return XEP0077_XML_STANZA_END;
}

/* "&...;" without the delimiters: the code point, or -1. */
static long xep0077__ref(const char *r, unsigned n)
{
  static const char *const names[5] = {"lt", "gt", "amp", "apos", "quot"};
  static const char chars[5] = {'<', '>', '&', '\'', '"'};
  unsigned i = 1, base = 10;
  unsigned long v = 0;
  if (n == 0) return -1;
  if (r[0] != '#') {
    for (i = 0; i < 5; i++)
      if (strlen(names[i]) == n && !memcmp(r, names[i], n)) return chars[i];
    return -1;
  }
  if (n > 1 && r[1] == 'x') { base = 16; i = 2; }
  if (i == n) return -1;
  for (; i < n; i++) {
    unsigned d, c = (unsigned char)r[i];
    if (c >= '0' && c <= '9') d = c - '0';
    else if (base == 16 && (c | 0x20) >= 'a' && (c | 0x20) <= 'f') d = (c | 0x20) - 'a' + 10;
    else return -1;
    v = v * base + d;
    if (v > 0x10FFFF) return -1;
  }
  if (v < 0x20 ? (v != 9 && v != 10 && v != 13)
               : ((v >= 0xD800 && v <= 0xDFFF) || v == 0xFFFE || v == 0xFFFF))
    return -1;
  return (long)v;
}

/* The pseudo-attributes of <?xml ...?>: version 1.0, then optionally an
   encoding that must be UTF-8, then optionally standalone yes/no. */
static int xep0077__xmldecl(const char *d)
{
  static const char *const names[3] = {"version", "encoding", "standalone"};
  int k = 0, ws = 1;
  for (;;) {
    const char *v;
    size_t n, vl;
    char q;
    while (XEP0077__IS(*d, C_WS)) { d++; ws = 1; }
    if (!*d) return k > 0;
    if (!ws) return 0;
    for (;; k++) {
      if (k == 3) return 0;
      n = strlen(names[k]);
      if (!strncmp(d, names[k], n)) break;
      if (k == 0) return 0;
    }
    d += n;
    while (XEP0077__IS(*d, C_WS)) d++;
    if (*d++ != '=') return 0;
    while (XEP0077__IS(*d, C_WS)) d++;
    q = *d++;
    if (q != '\'' && q != '"') return 0;
    for (v = d; *d && *d != q; d++) {}
    if (!*d) return 0;
    vl = (size_t)(d++ - v);
    if (k == 0 && !(vl == 3 && !memcmp(v, "1.0", 3))) return 0;
    if (k == 1) {
      static const char u[] = "utf-8";
      size_t i;
      if (vl != 5) return 0;
      for (i = 0; i < 5; i++)
        if ((v[i] | 0x20) != u[i]) return 0;
    }
    if (k == 2 && !(vl == 3 ? !memcmp(v, "yes", 3) : vl == 2 && !memcmp(v, "no", 2)))
      return 0;
    k++;
    ws = 0;
  }
}

XEP0077DEF int xep0077_xml_next(xep0077_xml *p)
{
  const unsigned char *s, *s0, *e, *cnt, *r;
  char *b = p->buf;
  size_t mark, cap = p->cap, n;
  int st, ev = XEP0077_XML_NEED_MORE;
  unsigned c;

  if (p->err) return p->err;
  /* Release what the previous event handed out. */
  if (p->flags & XEP0077__F_EMPTY) {
    p->flags &= ~XEP0077__F_EMPTY;
    return xep0077__end_event(p);
  }
  if (p->flags & XEP0077__F_POP) {
    xep0077_xml_frame *f = &p->frames[--p->open];
    p->top = p->mark = f->start;
    p->nns = f->nns;
    p->flags &= ~XEP0077__F_POP;
  }
  if (p->flags & XEP0077__F_TEXTEV) {
    p->mark = p->top;
    p->flags &= ~XEP0077__F_TEXTEV;
  }
  if (cap <= p->top + XEP0077__RESERVE) return p->err = XEP0077_ERR_XML_BUFFER;
  s = s0 = p->in;
  e = p->in_end;
  cnt = NULL;
  if (p->flags & XEP0077__F_STANZA) {
    cnt = s;
    if ((size_t)(e - s) > p->stanza_left) e = s + p->stanza_left;
  }
  mark = p->mark;
  st = p->state;

#define XEP0077__FAIL(code) do { ev = (code); goto out; } while (0)
  while (s < e) {
    switch (st) {
    case XEP0077__S_TEXT:
    case XEP0077__S_CDATA: {
      int cdata = st == XEP0077__S_CDATA;
      if (!p->u8.need) {
        unsigned char stop = cdata ? XEP0077__C_CDATA : XEP0077__C_TEXT;
        if (p->flags & XEP0077__F_CR) {
          p->flags &= ~XEP0077__F_CR;
          if (*s == '\n') { s++; continue; }
        }
        for (r = s; s < e && !(xep0077__cls[*s] & stop); s++) {}
        if (s != r) {
          if (cdata) /* the ']' held back in case they closed the section */
            while (p->brackets) { b[mark++] = ']'; p->brackets--; }
          p->brackets = 0;
          n = (size_t)(s - r);
          if (n >= cap - mark - XEP0077__RESERVE) { /* fill up, report a piece */
            n = cap - mark - XEP0077__RESERVE;
            s = r + n;
            memcpy(b + mark, r, n);
            mark += n;
            goto text_piece;
          }
          memcpy(b + mark, r, n);
          mark += n;
          if (s >= e) break;
        }
      }
      c = *s;
      if (c == '<' && !cdata && !p->u8.need) { s++; st = XEP0077__S_LT; continue; }
      if (cap - mark <= XEP0077__RESERVE && !p->u8.need) goto text_piece;
      if (c >= 0x80 || p->u8.need) {
        int rc = xep0077__utf8_step(&p->u8, c);
        if (rc) XEP0077__FAIL(rc);
        while (p->brackets) { b[mark++] = ']'; p->brackets--; }
        b[mark++] = (char)c;
      } else if (c == ']') {
        if (!cdata) b[mark++] = ']';
        else if (p->brackets == 2) b[mark++] = ']';
        if (p->brackets < 2 || !cdata) p->brackets++;
        s++;
        continue;
      } else if (c == '>') {
        if (cdata && p->brackets >= 2) { st = XEP0077__S_TEXT; p->brackets = 0; s++; continue; }
        if (!cdata && p->brackets >= 2) XEP0077__FAIL(XEP0077_ERR_XML_SYNTAX);
        while (cdata && p->brackets) { b[mark++] = ']'; p->brackets--; }
        b[mark++] = '>';
      } else if (c == '&' || c == '<') { /* only in CDATA: plain there */
        while (p->brackets) { b[mark++] = ']'; p->brackets--; }
        if (!cdata) { p->flags &= ~XEP0077__F_REFATTR; p->refpos = 0; st = XEP0077__S_REF; s++; continue; }
        b[mark++] = (char)c;
      } else if (c == '\r') {
        while (cdata && p->brackets) { b[mark++] = ']'; p->brackets--; }
        b[mark++] = '\n';
        p->flags |= XEP0077__F_CR;
      } else {
        XEP0077__FAIL(XEP0077_ERR_XML_CHAR);
      }
      if (!cdata) p->brackets = 0;
      s++;
      continue;
    text_piece:
      if (mark == p->top) XEP0077__FAIL(XEP0077_ERR_XML_BUFFER);
      p->text_partial = 1;
      ev = XEP0077_XML_TEXT;
      goto emit_text;
    }

    case XEP0077__S_STREAM: /* between stanzas: keepalive white space only */
      while (s < e && XEP0077__IS(*s, C_WS)) s++;
      if (s >= e) break;
      if (*s != '<') XEP0077__FAIL(XEP0077_ERR_XML_TEXT_LEVEL);
      p->flags |= XEP0077__F_STANZA;
      p->stanza_left = p->max_stanza;
      cnt = s;
      if ((size_t)(e - s) > p->stanza_left) e = s + p->stanza_left;
      s++;
      st = XEP0077__S_LT;
      continue;

    case XEP0077__S_DOC:
      c = *s;
      if (c == 0xEF && (p->flags & XEP0077__F_DOCSTART) && p->refpos == 0) {
        p->refpos = 1;
        st = XEP0077__S_BOM;
        s++;
        continue;
      }
      if (c == '<') { st = XEP0077__S_LT; s++; continue; }
      if (!XEP0077__IS(c, C_WS)) XEP0077__FAIL(XEP0077_ERR_XML_SYNTAX);
      p->flags &= ~XEP0077__F_DOCSTART;
      s++;
      continue;

    case XEP0077__S_BOM:
      if (*s != (p->refpos == 1 ? 0xBB : 0xBF)) XEP0077__FAIL(XEP0077_ERR_XML_UTF8);
      s++;
      if (++p->refpos == 3) st = XEP0077__S_DOC;
      continue;

    case XEP0077__S_AFTER:
      if (!XEP0077__IS(*s, C_WS)) XEP0077__FAIL(XEP0077_ERR_XML_AFTER_ROOT);
      s++;
      continue;

    case XEP0077__S_LT:
      c = *s;
      if (c == '!') { s++; st = XEP0077__S_BANG; continue; }
      if (c == '?') {
        if (!(p->flags & XEP0077__F_DOCSTART)) XEP0077__FAIL(XEP0077_ERR_XML_PI);
        p->refpos = 0;
        s++;
        st = XEP0077__S_PI;
        continue;
      }
      p->flags &= ~XEP0077__F_DOCSTART;
      if (mark > p->top) { /* text before this tag: report it first */
        p->text_partial = 0;
        ev = XEP0077_XML_TEXT;
        goto emit_text;
      }
      if (c == '/') {
        if (p->open == 0) XEP0077__FAIL(XEP0077_ERR_XML_SYNTAX);
        p->qpos = 0;
        s++;
        st = XEP0077__S_ETAG;
        continue;
      }
      if (!XEP0077__IS(c, C_START) && c < 0x80) XEP0077__FAIL(XEP0077_ERR_XML_SYNTAX);
      p->tok = p->nstart = mark = p->top;
      p->nraw = 0;
      p->colon = 0;
      p->nns0 = p->nns;
      st = XEP0077__S_STAG_NAME;
      continue;

    case XEP0077__S_STAG_NAME:
    case XEP0077__S_ANAME:
      c = *s;
      if (c >= 0x80 || p->u8.need) {
        int rc = xep0077__utf8_step(&p->u8, c);
        if (rc) XEP0077__FAIL(rc);
        n = 1;
        r = s++;
      } else {
        for (r = s; s < e && XEP0077__IS(*s, C_NAME); s++) {}
        n = (size_t)(s - r);
      }
      if (!n && c == ':') { /* one colon, not first: "prefix:local" */
        if (p->colon || mark == p->nstart) XEP0077__FAIL(XEP0077_ERR_XML_SYNTAX);
        p->colon = (unsigned)(mark - p->nstart);
        r = s++;
        n = 1;
      }
      if (n) {
        if (mark - p->nstart + n > p->max_name) XEP0077__FAIL(XEP0077_ERR_XML_NAME_LEN);
        if (n >= cap - mark - XEP0077__RESERVE) XEP0077__FAIL(XEP0077_ERR_XML_BUFFER);
        memcpy(b + mark, r, n);
        mark += n;
        continue;
      }
      b[mark++] = 0; /* c ends the name */
      s++;
      if (p->colon) { /* the local part must start like a name */
        unsigned char l = (unsigned char)b[p->nstart + p->colon + 1];
        if (!XEP0077__IS(l, C_START) && l < 0x80) XEP0077__FAIL(XEP0077_ERR_XML_SYNTAX);
      }
      if (st == XEP0077__S_STAG_NAME) {
        p->qcolon = p->colon;
        p->qlen = (unsigned)(mark - 1 - p->tok);
        if (XEP0077__IS(c, C_WS)) st = XEP0077__S_STAG;
        else if (c == '/') st = XEP0077__S_SLASH;
        else if (c == '>') goto stag_done;
        else XEP0077__FAIL(XEP0077_ERR_XML_SYNTAX);
      } else {
        if (XEP0077__IS(c, C_WS)) st = XEP0077__S_AEQ;
        else if (c != '=') XEP0077__FAIL(XEP0077_ERR_XML_SYNTAX);
        else if (s < e && (*s == '\'' || *s == '"')) { /* the usual a='v' */
          p->quote = (char)*s++;
          p->vstart = mark;
          st = XEP0077__S_AVAL;
        } else st = XEP0077__S_AQ;
      }
      continue;

    case XEP0077__S_STAG:
    case XEP0077__S_AFTER_VAL:
      c = *s++;
      if (XEP0077__IS(c, C_WS)) { st = XEP0077__S_STAG; continue; }
      if (c == '>') goto stag_done;
      if (c == '/') { st = XEP0077__S_SLASH; continue; }
      if (st == XEP0077__S_AFTER_VAL || (!XEP0077__IS(c, C_START) && c < 0x80))
        XEP0077__FAIL(XEP0077_ERR_XML_SYNTAX);
      s--;
      p->nstart = mark;
      p->colon = 0;
      st = XEP0077__S_ANAME;
      continue;

    case XEP0077__S_AEQ:
    case XEP0077__S_AQ:
      c = *s++;
      if (XEP0077__IS(c, C_WS)) continue;
      if (st == XEP0077__S_AEQ && c == '=') { st = XEP0077__S_AQ; continue; }
      if (st == XEP0077__S_AQ && (c == '\'' || c == '"')) {
        p->quote = (char)c;
        p->vstart = mark;
        st = XEP0077__S_AVAL;
        continue;
      }
      XEP0077__FAIL(XEP0077_ERR_XML_SYNTAX);

    case XEP0077__S_AVAL:
      if (!p->u8.need) {
        if (p->flags & XEP0077__F_CR) {
          p->flags &= ~XEP0077__F_CR;
          if (*s == '\n') { s++; continue; }
        }
        for (r = s; s < e && !XEP0077__IS(*s, C_ATTR); s++) {}
        n = (size_t)(s - r);
        if (n) {
          if (n >= cap - mark - XEP0077__RESERVE) XEP0077__FAIL(XEP0077_ERR_XML_BUFFER);
          memcpy(b + mark, r, n);
          mark += n;
          if (s >= e) break;
        }
      }
      if (cap - mark <= XEP0077__RESERVE) XEP0077__FAIL(XEP0077_ERR_XML_BUFFER);
      c = *s++;
      if (c >= 0x80 || p->u8.need) {
        int rc = xep0077__utf8_step(&p->u8, c);
        if (rc) XEP0077__FAIL(rc);
        b[mark++] = (char)c;
      } else if (c == (unsigned char)p->quote) {
        int rc;
        b[mark++] = 0;
        if ((rc = xep0077__attr_done(p)) != 0) XEP0077__FAIL(rc);
        st = XEP0077__S_AFTER_VAL;
      } else if (c == '\'' || c == '"') {
        b[mark++] = (char)c;
      } else if (c == '&') {
        p->flags |= XEP0077__F_REFATTR;
        p->refpos = 0;
        st = XEP0077__S_REF;
      } else if (c == '<') {
        XEP0077__FAIL(XEP0077_ERR_XML_SYNTAX);
      } else if (XEP0077__IS(c, C_WS)) { /* attribute-value normalisation */
        b[mark++] = ' ';
        if (c == '\r') p->flags |= XEP0077__F_CR;
      } else {
        XEP0077__FAIL(XEP0077_ERR_XML_CHAR);
      }
      continue;

    case XEP0077__S_SLASH:
      if (*s++ != '>') XEP0077__FAIL(XEP0077_ERR_XML_SYNTAX);
      p->mark = mark;
      ev = xep0077__stag_done(p, 1);
      goto tag_out;
    stag_done:
      p->mark = mark;
      ev = xep0077__stag_done(p, 0);
    tag_out:
      if (ev < 0) goto out;
      mark = p->mark;
      st = p->state;
      goto out;

    case XEP0077__S_ETAG: {
      const xep0077_xml_frame *f = &p->frames[p->open - 1];
      const char *fq = b + f->start;
      unsigned qpos = p->qpos, qlen = f->qlen;
      while (s < e && qpos < qlen && *s == (unsigned char)fq[qpos]) { s++; qpos++; }
      p->qpos = qpos;
      if (s >= e) break;
      c = *s++;
      if (qpos == qlen) {
        if (c == '>') goto etag_done;
        if (XEP0077__IS(c, C_WS)) { st = XEP0077__S_ETAG_WS; continue; }
      }
      XEP0077__FAIL(XEP0077_ERR_XML_MISMATCH);
    }
    case XEP0077__S_ETAG_WS:
      c = *s++;
      if (XEP0077__IS(c, C_WS)) continue;
      if (c != '>') XEP0077__FAIL(XEP0077_ERR_XML_SYNTAX);
    etag_done:
      p->mark = mark;
      ev = xep0077__end_event(p);
      st = p->state;
      goto out;

    case XEP0077__S_REF: {
      long cp;
      c = *s++;
      if (c != ';') {
        if (p->refpos >= sizeof p->ref || c == ':' ||
            !(XEP0077__IS(c, C_NAME) || (c == '#' && p->refpos == 0)))
          XEP0077__FAIL(XEP0077_ERR_XML_ENTITY);
        p->ref[p->refpos++] = (char)c;
        continue;
      }
      cp = xep0077__ref(p->ref, p->refpos);
      if (cp < 0) XEP0077__FAIL(XEP0077_ERR_XML_ENTITY);
      mark += xep0077__utf8_put(b + mark, (unsigned long)cp);
      if (p->flags & XEP0077__F_REFATTR) st = XEP0077__S_AVAL;
      else { st = XEP0077__S_TEXT; p->brackets = 0; }
      continue;
    }

    case XEP0077__S_BANG:
      c = *s++;
      if (c == '-') XEP0077__FAIL(XEP0077_ERR_XML_COMMENT);
      if (c == 'D' || c == 'E' || c == 'A' || c == 'N') XEP0077__FAIL(XEP0077_ERR_XML_DOCTYPE);
      if (c != '[' || p->open < 2) XEP0077__FAIL(XEP0077_ERR_XML_SYNTAX);
      p->qpos = 1;
      st = XEP0077__S_CDATA_OPEN;
      continue;

    case XEP0077__S_CDATA_OPEN:
      if (*s++ != (unsigned char)"[CDATA["[p->qpos]) XEP0077__FAIL(XEP0077_ERR_XML_SYNTAX);
      if (++p->qpos == 7) { st = XEP0077__S_CDATA; p->brackets = 0; }
      continue;

    case XEP0077__S_PI: /* after "<?" at the very start: only "xml" may follow */
      c = *s++;
      if (p->refpos < 3 && c == (unsigned char)"xml"[p->refpos]) { p->refpos++; continue; }
      if (p->refpos == 3 && XEP0077__IS(c, C_WS)) {
        p->tok = mark = p->top;
        st = XEP0077__S_XMLDECL;
        continue;
      }
      XEP0077__FAIL(p->refpos == 3 && c == '?' ? XEP0077_ERR_XML_XMLDECL : XEP0077_ERR_XML_PI);

    case XEP0077__S_XMLDECL:
      c = *s++;
      if (c == '>' && mark > p->tok && b[mark - 1] == '?') {
        b[mark - 1] = 0;
        if (!xep0077__xmldecl(b + p->tok)) XEP0077__FAIL(XEP0077_ERR_XML_XMLDECL);
        mark = p->top;
        p->flags &= ~XEP0077__F_DOCSTART;
        st = XEP0077__S_DOC;
        continue;
      }
      if (mark - p->tok >= 128 || c >= 0x80 || (c < 0x20 && !XEP0077__IS(c, C_WS)))
        XEP0077__FAIL(XEP0077_ERR_XML_XMLDECL);
      if (cap - mark <= XEP0077__RESERVE) XEP0077__FAIL(XEP0077_ERR_XML_BUFFER);
      b[mark++] = (char)c;
      continue;

    default:
      XEP0077_ASSERT(0);
      XEP0077__FAIL(XEP0077_ERR_ARG);
    }
    break; /* a "break" inside the switch means: input exhausted */
  }
  if (s < p->in_end && ev == XEP0077_XML_NEED_MORE) ev = XEP0077_ERR_XML_STANZA_SIZE;
  goto out;

emit_text:
  b[mark] = 0;
  p->text = b + p->top;
  p->text_len = mark - p->top;
  p->depth = p->open - 1;
  p->flags |= XEP0077__F_TEXTEV;
out:
#undef XEP0077__FAIL
  if (cnt) p->stanza_left -= (size_t)(s - cnt);
  p->offset += (unsigned long)(s - s0);
  p->in = s;
  p->mark = mark;
  p->state = st;
  if (ev < 0) p->err = ev;
  return ev;
}

/* ---- 2. XML writer ------------------------------------------------------ */
XEP0077DEF void xep0077_xmlw_init(xep0077_xmlw *w, char *buf, size_t size,
                                  xep0077_flush_fn flush, void *user)
{
  memset(w, 0, sizeof *w);
  w->buf = buf;
  w->cap = size;
  w->flush = flush;
  w->user = user;
}

static int xep0077__w_put(xep0077_xmlw *w, const char *s, size_t n)
{
  while (n && !w->err) {
    size_t k = w->cap - w->len;
    if (!k) {
      if (!w->flush || !w->cap) w->err = XEP0077_ERR_XMLW_FULL;
      else if (w->flush(w->user, w->buf, w->len) < 0) w->err = XEP0077_ERR_XMLW_FLUSH;
      else w->len = 0;
      continue;
    }
    if (k > n) k = n;
    memcpy(w->buf + w->len, s, k);
    w->len += k;
    s += k;
    n -= k;
  }
  return w->err;
}

/* User text must be valid UTF-8 without the characters XML forbids. */
static int xep0077__w_valid(const char *s, size_t n)
{
  xep0077__utf8 u;
  size_t i;
  u.need = 0;
  for (i = 0; i < n; i++) {
    unsigned c = (unsigned char)s[i];
    if (c < 0x20 && !XEP0077__IS(c, C_WS)) return 0;
    if ((c >= 0x80 || u.need) && xep0077__utf8_step(&u, c)) return 0;
  }
  return u.need == 0;
}

/* An ASCII QName: what XMPP uses, and all the writer accepts. */
static int xep0077__w_name(const char *q)
{
  const char *c;
  if (!q || !XEP0077__IS(*q, C_START)) return 0;
  for (c = q; *c; c++)
    if ((unsigned char)*c >= 0x80 || !(XEP0077__IS(*c, C_NAME) || *c == ':')) return 0;
  return xep0077__qname(q) >= 0;
}

/* Escaped text or attribute value: runs without a special byte go out whole. */
static int xep0077__w_escaped(xep0077_xmlw *w, const char *s, size_t n, int attr)
{
  unsigned char stop = attr ? XEP0077__C_ATTR : XEP0077__C_TEXT;
  size_t i = 0, j;
  if (!xep0077__w_valid(s, n)) return w->err = XEP0077_ERR_XMLW_INPUT;
  while (i < n) {
    const char *esc;
    for (j = i; j < n && !(xep0077__cls[(unsigned char)s[j]] & stop); j++) {}
    xep0077__w_put(w, s + i, j - i);
    if (j == n) break;
    switch (s[j]) {
    case '&': esc = "&amp;"; break;
    case '<': esc = "&lt;"; break;
    case '>': esc = "&gt;"; break;
    case '"': esc = "&quot;"; break;
    case '\'': esc = "&apos;"; break;
    case '\t': esc = "&#9;"; break;
    case '\n': esc = "&#10;"; break;
    case '\r': esc = "&#13;"; break;
    default: esc = NULL; break; /* ']' in text, UTF-8 bytes: as they are */
    }
    if (esc) xep0077__w_put(w, esc, strlen(esc));
    else xep0077__w_put(w, s + j, 1);
    i = j + 1;
  }
  return w->err;
}

static int xep0077__w_close_tag(xep0077_xmlw *w)
{
  if (w->open) {
    w->open = 0;
    xep0077__w_put(w, ">", 1);
  }
  return w->err;
}

XEP0077DEF int xep0077_xmlw_start(xep0077_xmlw *w, const char *name)
{
  if (w->err) return w->err;
  if (!xep0077__w_name(name)) return w->err = XEP0077_ERR_XMLW_INPUT;
  if (w->depth >= XEP0077_XML_MAX_DEPTH) return w->err = XEP0077_ERR_XMLW_STATE;
  xep0077__w_close_tag(w);
  xep0077__w_put(w, "<", 1);
  xep0077__w_put(w, name, strlen(name));
  w->names[w->depth++] = name;
  w->open = 1;
  return w->err;
}

XEP0077DEF int xep0077_xmlw_attr(xep0077_xmlw *w, const char *name, const char *value)
{
  if (w->err) return w->err;
  if (!w->open) return w->err = XEP0077_ERR_XMLW_STATE;
  if (!xep0077__w_name(name) || !value) return w->err = XEP0077_ERR_XMLW_INPUT;
  xep0077__w_put(w, " ", 1);
  xep0077__w_put(w, name, strlen(name));
  xep0077__w_put(w, "='", 2);
  xep0077__w_escaped(w, value, strlen(value), 1);
  return xep0077__w_put(w, "'", 1);
}

XEP0077DEF int xep0077_xmlw_textn(xep0077_xmlw *w, const char *text, size_t n)
{
  if (w->err) return w->err;
  if (!w->depth) return w->err = XEP0077_ERR_XMLW_STATE;
  if (!text && n) return w->err = XEP0077_ERR_XMLW_INPUT;
  xep0077__w_close_tag(w);
  return xep0077__w_escaped(w, text, n, 0);
}

XEP0077DEF int xep0077_xmlw_text(xep0077_xmlw *w, const char *text)
{
  return xep0077_xmlw_textn(w, text, text ? strlen(text) : 0);
}

XEP0077DEF int xep0077_xmlw_end(xep0077_xmlw *w)
{
  const char *name;
  if (w->err) return w->err;
  if (!w->depth) return w->err = XEP0077_ERR_XMLW_STATE;
  name = w->names[--w->depth];
  if (w->open) {
    w->open = 0;
    return xep0077__w_put(w, "/>", 2);
  }
  xep0077__w_put(w, "</", 2);
  xep0077__w_put(w, name, strlen(name));
  return xep0077__w_put(w, ">", 1);
}

XEP0077DEF int xep0077_xmlw_flush(xep0077_xmlw *w)
{
  if (w->err) return w->err;
  xep0077__w_close_tag(w);
  if (!w->err && w->len && w->flush) {
    if (w->flush(w->user, w->buf, w->len) < 0) w->err = XEP0077_ERR_XMLW_FLUSH;
    else w->len = 0;
  }
  return w->err;
}

/* xml implementation: ready */
#endif /* XEP0077__IMPLEMENTED */
#endif /* XEP0077_IMPLEMENTATION */

/*
------------------------------------------------------------------------------
This software is available under 2 licenses -- choose whichever you prefer.
------------------------------------------------------------------------------
ALTERNATIVE A - MIT License
Copyright (c) 2026 the xep0077.h authors
Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do
so, subject to the following conditions:
The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.
THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
------------------------------------------------------------------------------
ALTERNATIVE B - Public Domain (www.unlicense.org)
This is free and unencumbered software released into the public domain.
Anyone is free to copy, modify, publish, use, compile, sell, or distribute this
software, either in source code form or as a compiled binary, for any purpose,
commercial or non-commercial, and by any means.
------------------------------------------------------------------------------
*/
