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
     3. the stream    : XMPP over a transport the host owns: STARTTLS, SASL
                        (SCRAM-SHA-256/-1, PLAIN), bind, IQ tracking, the
                        non-blocking pump (xep0077_init, _connect, _login,
                        _poll, _iq_*).
     4. registration  : XEP-0077 with XEP-0004 forms, XEP-0066 redirects and
                        XEP-0231 CAPTCHA data (xep0077_register, ...).
     5. mbedTLS glue  : optional (XEP0077_MBEDTLS): TLS with verification,
                        and the crypto SCRAM needs.

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
     XEP0077_SMALL           less code, slower parser (default under -Os);
                             XEP0077_FAST keeps the fast parser at -Os
     XEP0077_ASSERT(x)       default assert(x) from <assert.h>; firmware should
                             define its own (newlib's assert pulls in stdio
                             and malloc) or build with NDEBUG
     XEP0077_XML_MAX_DEPTH   elements open at once, root included    (16)
     XEP0077_XML_MAX_ATTRS   attributes on one element, xmlns excluded (16)
     XEP0077_XML_MAX_NS      namespace declarations in scope at once  (16)
     XEP0077_XML_MAX_NAME    bytes in one element or attribute name   (64)
     XEP0077_XML_MAX_STANZA  bytes in one stanza, markup included (262144)
     XEP0077_IN_SIZE, XEP0077_OUT_SIZE, XEP0077_XML_SIZE, XEP0077_TEXT_SIZE,
     XEP0077_JID_SIZE        the stream's buffers (section 3)
     XEP0077_QUERY_POOL, XEP0077_QUERY_FIELDS, XEP0077_QUERY_ITEMS
                             a query's memory (section 4)
     XEP0077_MBEDTLS         compile the mbedTLS glue (section 5)
     XEP0077DEF              the functions' storage class (default extern)
   DEPTH, ATTRS, NAME and STANZA are also fields of xep0077_xml (max_*) that
   may be lowered after init; depth and attrs never past their macro, and
   max_name stays below 65536.

   LICENSE: public domain (unlicense) or MIT, at your choice; see the end.
*/
#ifndef XEP0077_H
#define XEP0077_H

#include <stddef.h>

#ifndef XEP0077DEF
#ifdef XEP0077_STATIC
#if defined(__GNUC__) || defined(__clang__)
/* A private copy need not use every function: no unused-function warnings. */
#define XEP0077DEF static __attribute__((unused))
#else
#define XEP0077DEF static
#endif
#else
#define XEP0077DEF extern
#endif
#endif

/* XEP0077_SMALL trades the parser's speed paths (four-bytes-a-round scans,
   whole UTF-8 characters per step, tag shortcuts, inlined helpers) for less
   code; events and error codes are the same either way (text and attribute
   values are read byte by byte, so the offset of an ERR_XML_BUFFER may
   differ). On by default when the
   compiler optimises for size (-Os); XEP0077_FAST keeps the speed paths. */
#if !defined(XEP0077_SMALL) && !defined(XEP0077_FAST) && defined(__OPTIMIZE_SIZE__)
#define XEP0077_SMALL
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
#if XEP0077_XML_MAX_NAME > 65535 /* an open tag's name length is kept in 16 bits */
#error "XEP0077_XML_MAX_NAME must be at most 65535"
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
  X(ERR_XMLW_STATE,      -43, "writer: call out of order")                   \
  X(PENDING,               1, "operation in progress: call xep0077_poll")   \
  X(ERR_TIMEOUT,         -50, "operation timed out")                          \
  X(ERR_IO,              -51, "transport error")                              \
  X(ERR_CLOSED,          -52, "connection closed by the peer")                \
  X(ERR_TLS,             -53, "TLS handshake or record failure")              \
  X(ERR_TLS_VERIFY,      -54, "TLS: certificate or hostname not verified")    \
  X(ERR_TLS_REQUIRED,    -55, "server does not offer STARTTLS")               \
  X(ERR_TLS_INJECTION,   -56, "plaintext injected after <proceed/>")          \
  X(ERR_INSECURE,        -57, "refused: credentials need verified TLS")       \
  X(ERR_STREAM,          -58, "stream error from the server (see error)")     \
  X(ERR_PROTOCOL,        -59, "unexpected or malformed reply from server")    \
  X(ERR_SASL_MECH,       -60, "no acceptable SASL mechanism offered")         \
  X(ERR_SASL_FAILED,     -61, "authentication failed (see error)")            \
  X(ERR_SASL_SIGNATURE,  -62, "SCRAM: server signature did not verify")       \
  X(ERR_SASL_ITERATIONS, -63, "SCRAM: iteration count out of bounds")         \
  X(ERR_BIND,            -64, "resource binding failed (see error)")          \
  X(ERR_STATE,           -65, "not allowed now (busy or not connected)")      \
  X(ERR_TOO_BIG,         -66, "stanza does not fit the output buffer")        \
  X(ERR_IQ,              -67, "the server returned an IQ error (see error)")  \
  X(ERR_CRYPTO,          -68, "crypto callback failed or missing")           \
  X(ERR_REDIRECT,        -70, "register out of band at the query's oob_url")

typedef enum xep0077_status {
#define XEP0077__ENUM(name, value, msg) XEP0077_##name = (value),
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
  unsigned long cp;        /* its bits so far                             */
  int need;                /* continuation bytes still owed, 0: none open */
  int len;                 /* continuation bytes in all                   */
} xep0077__utf8;

typedef struct xep0077_xml_frame {
  size_t start;      /* buffer offset of this element's saved start tag     */
  const char *name, *ns;
  unsigned short nns;  /* namespace bindings in scope before this element  */
  unsigned short qlen; /* length of the qualified name, for the end tag    */
} xep0077_xml_frame;

/* The parser. Zero fields are never "valid": call xep0077_xml_init. Fields
   under "event" are what the caller reads after next(); they stay valid
   until the following next() call. Everything else is private (first: the
   hot loop's fields sit at offsets short instructions reach). */
typedef struct xep0077_xml {
  /* private; restart zeroes everything before buf, event fields too */
  xep0077__utf8 u8;   /* first: &p->u8 is p */
  unsigned char f[8]; /* flags, one byte each: cheaper to test and set */
  unsigned char brackets, refpos, refst, lit; /* refst: the state (TEXT or AVAL) to resume after a reference */
  char quote, ref[11];
  size_t top, tok, mark, nstart, vstart, stanza_left;
  int state, err, open, nns, nns0, nraw;
  unsigned qlen, qpos, colon, qcolon;
  /* event */
  int depth;
  const char *text;             /* TEXT: NUL-terminated, may hold no NUL */
  size_t text_len;
  int text_partial;
  const char *name, *ns;        /* START / END / STANZA_END / STREAM_END */
  const xep0077_xml_attribute *attrs;
  int nattrs;
  /* private, kept by restart (after the event fields: one memset) */
  char *buf;
  size_t cap;
  /* limits, lowerable after init */
  size_t max_stanza, max_name;
  int max_depth, max_attrs;
  /* position: bytes consumed since init (for error messages) */
  unsigned long offset;
  /* private */
  const unsigned char *in, *in_end;
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
   consumed stays pending (unless an error stopped the parser: then it is
   dropped); see xep0077_xml_pending. Clears a sticky error. */
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
/* <name ...: name is an ASCII qualified name ("iq", "stream:stream"; XMPP
   needs no other); the pointer must stay valid until the matching _end. */
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


/* ---- 3. XMPP client stream ----------------------------------------------
   The host owns the socket. Its callbacks follow mbedTLS's BIO contract
   (mbedtls_ssl_set_bio), so the same pair serves the raw TCP stream and the
   mbedTLS glue: return the bytes moved (a short count is normal), 0 when the
   peer closed, XEP0077_WANT_READ / XEP0077_WANT_WRITE when the call would
   block, or another negative number on error. */
#define XEP0077_WANT_READ  (-0x6900) /* == MBEDTLS_ERR_SSL_WANT_READ  */
#define XEP0077_WANT_WRITE (-0x6880) /* == MBEDTLS_ERR_SSL_WANT_WRITE */

typedef int (*xep0077_send_fn)(void *io, const unsigned char *buf, size_t len);
typedef int (*xep0077_recv_fn)(void *io, unsigned char *buf, size_t len);

/* TLS as the stream uses it. XEP0077_MBEDTLS provides one (xep0077_mbedtls_*);
   a host with its own TLS stack fills this in itself. */
typedef struct xep0077_tls {
  void *ctx;
  /* Begin a client handshake over the raw callbacks, expecting a certificate
     for server_name. Returns 0 or < 0. */
  int (*start)(void *ctx, xep0077_send_fn send, xep0077_recv_fn recv, void *io,
               const char *server_name);
  /* 0 when done, XEP0077_WANT_READ/WRITE, XEP0077_ERR_TLS_VERIFY when the
     certificate or name does not verify, other < 0 on failure. */
  int (*handshake)(void *ctx);
  int (*send)(void *ctx, const unsigned char *buf, size_t len); /* as above */
  int (*recv)(void *ctx, unsigned char *buf, size_t len);
  /* 1 when the chain and the server name were verified, else 0. */
  int (*verified)(void *ctx);
  void (*close)(void *ctx); /* send close_notify, best effort */
} xep0077_tls;

/* The primitives SASL SCRAM needs (alg: 1 = SHA-1, 256 = SHA-256). Each
   returns 0 or < 0. XEP0077_MBEDTLS provides one; without any, only PLAIN
   (over verified TLS) is available. */
typedef struct xep0077_crypto {
  void *ctx;
  int (*random)(void *ctx, unsigned char *out, size_t len);
  int (*hash)(void *ctx, int alg, const unsigned char *in, size_t len, unsigned char *out);
  int (*hmac)(void *ctx, int alg, const unsigned char *key, size_t klen,
              const unsigned char *in, size_t len, unsigned char *out);
  int (*pbkdf2)(void *ctx, int alg, const unsigned char *pw, size_t pwlen,
                const unsigned char *salt, size_t saltlen, unsigned long iterations,
                unsigned char *out, size_t outlen);
} xep0077_crypto;

/* Log directions for the XML console. */
enum { XEP0077_LOG_IN = 0, XEP0077_LOG_OUT = 1, XEP0077_LOG_INFO = 2 };

/* Everything a connection needs from the host. Zero means "default" for every
   field but domain, send, recv and now_ms. */
typedef struct xep0077_config {
  const char *domain;       /* the XMPP service, e.g. "example.org" (required) */
  xep0077_send_fn send;     /* raw transport (required)                      */
  xep0077_recv_fn recv;
  void *io;                 /* passed to send, recv and wait                 */
  /* Monotonic milliseconds (required): every operation has a deadline. */
  unsigned long (*now_ms)(void *user);
  /* Optional, for the blocking calls: sleep until io is readable (or
     writable if want_write) or ms pass. Without it they spin on xep0077_poll,
     which suits blocking sockets. */
  void (*wait)(void *io, int want_write, unsigned long ms);
  /* Optional XML console; passwords and SASL payloads arrive redacted. */
  void (*log)(void *user, int dir, const char *text, size_t len);
  void *user;               /* passed to now_ms and log                      */
  const xep0077_tls *tls;   /* NULL: no TLS (only with insecure_plaintext)   */
  const xep0077_crypto *crypto; /* NULL: no SCRAM                            */
  int direct_tls;           /* XEP-0368: TLS from the first byte             */
  const char *resource;     /* for binding; NULL lets the server choose      */
  unsigned long timeout_ms; /* default per operation; 0: 30000               */
  unsigned long scram_max_iterations; /* 0: 100000; below 4096 is refused    */
  /* Loudly named escape hatches, all off by default. Plaintext: talk to a
     server without TLS at all. Unverified: send credentials over TLS whose
     certificate or name did not verify. Both expose passwords. */
  int insecure_plaintext;
  int insecure_unverified_tls;
} xep0077_config;

#ifndef XEP0077_IN_SIZE
#define XEP0077_IN_SIZE 2048   /* receive buffer                            */
#endif
#ifndef XEP0077_OUT_SIZE
#define XEP0077_OUT_SIZE 2048  /* largest stanza we send                    */
#endif
#ifndef XEP0077_XML_SIZE
#define XEP0077_XML_SIZE 4096  /* parser memory: open tags + one text piece */
#endif
#ifndef XEP0077_TEXT_SIZE
#define XEP0077_TEXT_SIZE 256  /* error text kept from the server           */
#endif
#ifndef XEP0077_JID_SIZE
#define XEP0077_JID_SIZE 128   /* a full JID                                */
#endif

/* The details of the last failure, read after a call returned an error. */
typedef struct xep0077_error {
  char condition[48];     /* e.g. "conflict", "not-authorized", "host-unknown" */
  char type[16];          /* IQ error type: cancel, modify, auth, wait, continue */
  int code;               /* legacy numeric code attribute, 0 when absent      */
  char text[XEP0077_TEXT_SIZE]; /* the server's <text/>, truncated, or ""     */
} xep0077_error;

/* Receives the events of the reply to an IQ (its own START first). */
struct xep0077;
typedef int (*xep0077_iq_fn)(struct xep0077 *c, int ev);

/* One connection. The caller owns it (static or on its stack); it holds
   every buffer, so sizeof(xep0077) is all the memory a session uses. */
typedef struct xep0077 {
  /* Public: again, tls_active, authenticated, secure, cfg, error and jid;
     the rest is private. The fields the code touches most come first, at
     small offsets (the order is measured: short loads on Thumb). */
  /* 1 when xep0077_poll stopped with input still buffered (it bounds its
     work per call): call it again before waiting on the socket. */
  int again;
  /* saw_text: 1 inside an error's <text/>; 2 when acc[] overflowed */
  int phase, op, status, features, sasl_alg, in_stanza, reply_err, saw_text;
  int tls_active;      /* 1: bytes go through cfg.tls                       */
  int authenticated;
  size_t out_sent;     /* of out[]: the bytes the transport took          */
  int reg_kind, account_gone, late, scram_step, out_try, remove_sent, nsecret;
  size_t log_from, scram_len, acc_len;
  xep0077_config cfg;
  xep0077_xml xml;
  int secure;          /* 1: TLS with a verified certificate and name       */
  unsigned long deadline, iq_seq;
  xep0077_iq_fn iq_fn;
  void *iq_user;
  const char *username, *password; /* caller's, during login only          */
  const char *new_pass, *old_pass; /* caller's, during change_pass only   */
  xep0077_xmlw w;
  xep0077_error error;
  char jid[XEP0077_JID_SIZE];     /* full JID after login, else ""            */
  size_t secret[4][2]; /* output ranges the log must not show             */
  char iq_id[12], next_id[12], iq_to[XEP0077_JID_SIZE];
  char peer_id[32], peer_from[XEP0077_JID_SIZE]; /* an unhandled get/set */
  /* SASL state, kept together to be wiped at once */
  char scram[512];     /* SCRAM AuthMessage, then scratch                  */
  unsigned char salted[32];
  char acc[512];       /* text of the element being read (challenge, jid) */
  /* in, out and xmlmem follow each other: fail() wipes them at once */
  unsigned char in[XEP0077_IN_SIZE];
  char out[XEP0077_OUT_SIZE];
  char xmlmem[XEP0077_XML_SIZE];
} xep0077;

/* Check cfg and prepare c; sends nothing. Returns 0 or XEP0077_ERR_ARG. */
XEP0077DEF int xep0077_init(xep0077 *c, const xep0077_config *cfg);

/* Open the stream: direct TLS or STARTTLS (required unless
   cfg.insecure_plaintext), stream features. On success the stream is ready
   for registration (unauthenticated). Never falls back to plaintext. */
XEP0077DEF int xep0077_connect(xep0077 *c, unsigned long timeout_ms);
XEP0077DEF int xep0077_connect_start(xep0077 *c, unsigned long timeout_ms);

/* SASL (SCRAM-SHA-256, then SCRAM-SHA-1, then PLAIN over verified TLS),
   stream restart and resource binding on a connected stream. The server's
   SCRAM signature is verified. Never sends the password, or anything derived
   from it, before TLS is verified (unless cfg.insecure_*). The library keeps
   only pointers to username and password while the call runs and wipes what
   it derived from them. */
XEP0077DEF int xep0077_login(xep0077 *c, const char *username, const char *password,
                             unsigned long timeout_ms);
XEP0077DEF int xep0077_login_start(xep0077 *c, const char *username,
                                   const char *password, unsigned long timeout_ms);

/* Send </stream:stream>, wait briefly for the peer's, close TLS. */
XEP0077DEF int xep0077_close(xep0077 *c, unsigned long timeout_ms);
XEP0077DEF int xep0077_close_start(xep0077 *c, unsigned long timeout_ms);

/* The pump: moves bytes both ways without blocking (when the callbacks don't)
   and advances the operation started last. Returns XEP0077_PENDING while it
   runs, then its result once: 0 or an error status. Call it once per frame or
   whenever the socket is ready; if c->again is set, call it again before
   waiting on the socket. With no operation running it still answers the
   server (keepalives, unsolicited IQs) and returns 0, or reports a failure
   that happened meanwhile, once.
   It never waits for I/O, but it does the CPU work the protocol needs inline:
   a TLS handshake step, or SCRAM's PBKDF2 (scram_max_iterations bounds it;
   ~3 ms for 4096 iterations of SHA-1 on a desktop, far more on a Cortex-M). */
XEP0077DEF int xep0077_poll(xep0077 *c);

/* Lower level, for the registration layer and for callers' own IQs:
   begin <iq type=.. id=.. to=..> in the output (to may be NULL for the
   server), write the payload with xep0077_writer(c), then xep0077_iq_send
   hands the reply's events to fn (its START, its children, its STANZA_END).
   The operation completes at the reply's end: with what fn returned for
   the STANZA_END if that is a status (< 0), else ERR_IQ for type='error'
   (c->error filled), else 0. fn's returns for earlier events are ignored.
   Between xep0077_iq_begin and xep0077_iq_send the stanza is half written:
   do not call xep0077_poll there, it would send the half. */
XEP0077DEF int xep0077_iq_begin(xep0077 *c, const char *type, const char *to);
XEP0077DEF xep0077_xmlw *xep0077_writer(xep0077 *c);
XEP0077DEF int xep0077_iq_send(xep0077 *c, xep0077_iq_fn fn, void *user,
                               unsigned long timeout_ms);
/* Run the operation started last until it completes (the blocking calls). */
XEP0077DEF int xep0077_wait(xep0077 *c);


/* ---- 4. In-band registration (XEP-0077) ---------------------------------
   The API of aioxmpp.ibr in C: get_registration_fields, register,
   get_used_fields, and for a logged-in account get_client_info,
   change_pass, cancel_registration. Each has a timeout and a _start form
   for the pump; each fills c->error on failure.

   A query holds what the server asked or answered, and what the caller sets
   (xep0077_query_set, by field name: it fills the data form when there is
   one, else the legacy field). Strings from the server live in the query's
   own pool; strings the caller sets are pointers, never copied, so a
   password stays in the caller's memory and the caller wipes it. */
#ifndef XEP0077_QUERY_POOL
#define XEP0077_QUERY_POOL 2048   /* bytes for the server's strings         */
#endif
#ifndef XEP0077_QUERY_FIELDS
#define XEP0077_QUERY_FIELDS 24   /* legacy fields, and form fields          */
#endif
#ifndef XEP0077_QUERY_ITEMS
#define XEP0077_QUERY_ITEMS 48    /* form values + options + media URIs      */
#endif

typedef struct xep0077_field {  /* a legacy field: <email/>, <key>..</key> */
  const char *name;
  const char *value;            /* the server's text, "" for <email/>      */
  const char *set;              /* the caller's value, or NULL             */
} xep0077_field;

typedef struct xep0077_form_field { /* XEP-0004 <field/> */
  const char *var, *type, *label, *desc; /* NULL when absent              */
  int required;
  int nvalues, noptions, nuris; /* see xep0077_form_item                  */
  int media_width, media_height;/* XEP-0221 <media/>, 0 when absent        */
  const char *set;              /* the caller's value, or NULL             */
} xep0077_form_field;

enum { XEP0077_ITEM_VALUE, XEP0077_ITEM_OPTION, XEP0077_ITEM_URI };
typedef struct xep0077_item {   /* one <value/>, <option/> or media <uri/>  */
  int field, kind;              /* index into form[]; XEP0077_ITEM_*       */
  const char *text;             /* the value, the option's value, the URI  */
  const char *label;            /* the option's label, the URI's type      */
} xep0077_item;

/* XEP-0231 data (a CAPTCHA image) as it arrives, decoded from base64, in
   pieces; last is 1 on the final piece. Never stored: the host keeps it or
   not. Returning < 0 abandons the image (the operation goes on). */
typedef int (*xep0077_data_fn)(void *user, const char *cid, const char *type,
                               const unsigned char *bytes, size_t n, int last);

typedef struct xep0077_query {
  /* XEP-0231: set these before the call to receive CAPTCHA images (kept by
     xep0077_query_clear) */
  xep0077_data_fn on_data;
  void *data_user;
  /* private: the fields the code touches most sit at small offsets */
  size_t pool_len;
  int open, text_kind, form_state, cur_field, last_option, err, data_skip, b64bits;
  unsigned long b64acc;
  /* public */
  int nfields, nform, nitems;   /* used entries of field[], form[], item[] */
  int form_present;             /* an XEP-0004 form came (0 when none)     */
  const char *instructions;     /* <instructions/> of the query, or NULL   */
  int registered;               /* <registered/>: this account exists      */
  int remove;                   /* <remove/> was present                   */
  /* XEP-0066 redirect */
  const char *oob_url, *oob_desc;
  const char *data_cid, *data_type; /* of the last XEP-0231 <data/> seen  */
  xep0077_field field[XEP0077_QUERY_FIELDS]; /* legacy, in document order   */
  /* XEP-0004 form */
  const char *form_type;        /* the FORM_TYPE value, or NULL            */
  const char *form_title, *form_instructions;
  xep0077_form_field form[XEP0077_QUERY_FIELDS];
  xep0077_item item[XEP0077_QUERY_ITEMS];
  /* private */
  char pool[XEP0077_QUERY_POOL];
} xep0077_query;

/* Empty a query (keeps on_data/data_user). */
XEP0077DEF void xep0077_query_clear(xep0077_query *q);
/* Set a field by name ("username", "password", a form var): the form's
   field when a form is present, else the legacy field (added if the server
   did not list it). value must stay valid until the call that sends it.
   Returns 0; XEP0077_ERR_ARG for a NULL or empty name or one the form does
   not have; XEP0077_ERR_NOMEM when the legacy field table is full. */
XEP0077DEF int xep0077_query_set(xep0077_query *q, const char *name, const char *value);
/* What will be sent for a field, else what the server sent, else NULL. */
XEP0077DEF const char *xep0077_query_get(const xep0077_query *q, const char *name);
/* The first required field with nothing to send, or NULL: check before
   xep0077_register to name what is missing. */
XEP0077DEF const char *xep0077_query_missing(const xep0077_query *q);
/* The k-th item of a kind (XEP0077_ITEM_*) of form field i, or NULL. */
XEP0077DEF const xep0077_item *xep0077_form_item(const xep0077_query *q, int i, int kind, int k);
/* The names of the fields present in the query, each once, in document
   order (legacy elements, including registered/remove only when present;
   then form vars but FORM_TYPE), at most max. Returns how many. */
XEP0077DEF int xep0077_get_used_fields(const xep0077_query *q, const char **names, int max);

/* Ask for the registration fields (to: a service JID, or NULL for the
   server). Works whether or not the server advertised the feature. Returns
   0, XEP0077_ERR_REDIRECT (registration happens at q->oob_url), ERR_IQ
   (c->error), or a stream/transport status. */
XEP0077DEF int xep0077_get_registration_fields(xep0077 *c, const char *to, xep0077_query *q,
                                               unsigned long timeout_ms);
XEP0077DEF int xep0077_get_registration_fields_start(xep0077 *c, const char *to,
                                                     xep0077_query *q, unsigned long timeout_ms);
/* Register with the fields set in q: the data form when there is one
   (type='submit', FORM_TYPE and hidden fields echoed), else the legacy
   fields (never <registered/> or <instructions/>; <key/> echoed). Refused
   with XEP0077_ERR_INSECURE on a stream without verified TLS unless the
   config opted out. On error, q holds whatever query or form the server
   returned with it. The stream can log in with the new account after. */
XEP0077DEF int xep0077_register(xep0077 *c, const char *to, xep0077_query *q,
                                unsigned long timeout_ms);
XEP0077DEF int xep0077_register_start(xep0077 *c, const char *to, xep0077_query *q,
                                      unsigned long timeout_ms);
/* Logged in: what the server holds for this account (q->registered == 1). */
XEP0077DEF int xep0077_get_client_info(xep0077 *c, xep0077_query *q, unsigned long timeout_ms);
XEP0077DEF int xep0077_get_client_info_start(xep0077 *c, xep0077_query *q,
                                             unsigned long timeout_ms);
/* Logged in: change the password. When the server answers with the
   XEP-0077 section 3.3 form asking for the old password, it is submitted
   with old_pass (if not NULL; else ERR_IQ with the form in q). Refused
   without verified TLS. q may be NULL when no form is expected. */
XEP0077DEF int xep0077_change_pass(xep0077 *c, xep0077_query *q, const char *new_pass,
                                   const char *old_pass, unsigned long timeout_ms);
XEP0077DEF int xep0077_change_pass_start(xep0077 *c, xep0077_query *q, const char *new_pass,
                                         const char *old_pass, unsigned long timeout_ms);
/* Logged in: delete the account (<remove/> alone). Success when the server
   answers with a result, or ends the stream right after (prosody sends
   not-authorized, ejabberd conflict): the account is gone either way and
   the stream is closed. A cancellation form in an error is left in q. */
XEP0077DEF int xep0077_cancel_registration(xep0077 *c, xep0077_query *q,
                                           unsigned long timeout_ms);
XEP0077DEF int xep0077_cancel_registration_start(xep0077 *c, xep0077_query *q,
                                                 unsigned long timeout_ms);

/* ---- 5. mbedTLS glue (define XEP0077_MBEDTLS) ---------------------------
   TLS for the stream and the crypto SCRAM needs, from mbedTLS 2.28 or 3.x:

       static xep0077_mbedtls t;
       xep0077_mbedtls_init(&t, NULL, "/etc/ssl/certs/ca-certificates.crt");
       cfg.tls = &t.tls; cfg.crypto = &t.crypto;

   The certificate chain and the server name (cfg.domain) are verified, and
   TLS 1.2 is the minimum: a failure ends the handshake with
   XEP0077_ERR_TLS_VERIFY. mbedTLS allocates its own buffers through its own
   allocator (MBEDTLS_MEMORY_BUFFER_ALLOC_C gives it a static pool). */
#ifdef XEP0077_MBEDTLS
#include <mbedtls/ssl.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/x509_crt.h>

typedef struct xep0077_mbedtls {
  xep0077_tls tls;        /* give &t.tls to cfg.tls       */
  xep0077_crypto crypto;  /* give &t.crypto to cfg.crypto */
  mbedtls_ssl_context ssl;
  mbedtls_ssl_config conf;
  mbedtls_x509_crt ca;
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  int verify, setup;
} xep0077_mbedtls;

/* Seed the RNG and load the trust anchors: NUL-terminated PEM text (ca_pem)
   and/or a PEM or DER file (ca_file). At least one is required. Returns 0,
   XEP0077_ERR_ARG (no or unreadable CA) or XEP0077_ERR_TLS. */
XEP0077DEF int xep0077_mbedtls_init(xep0077_mbedtls *t, const char *ca_pem,
                                    const char *ca_file);
/* DANGER, for tests against throwaway servers only: complete the handshake
   even when the certificate or name does not verify. The stream then has
   secure == 0 and still refuses to send credentials unless the config also
   sets insecure_unverified_tls. */
XEP0077DEF void xep0077_mbedtls_insecure_skip_verify(xep0077_mbedtls *t);
XEP0077DEF void xep0077_mbedtls_free(xep0077_mbedtls *t);
#endif /* XEP0077_MBEDTLS */

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

/* Kept out of line when optimising for size: rare paths of the parser's
   one big switch (attributes, the XML declaration) and helpers
   called from many places, whose inlined copies cost more code than their
   calls. At -O2 and up the compiler decides, as inlining the parser's is
   measurably faster there (bench/bench_parse.c). */
#if (defined(__GNUC__) || defined(__clang__)) && defined(XEP0077_SMALL)
#define XEP0077__COLD __attribute__((noinline))
#else
#define XEP0077__COLD
#endif

/* A test that only saves work, the code after it giving the same answer:
   under XEP0077_SMALL it folds to dflt, the value that lets that code
   decide (the bytes of the test are worth more than its time there). */
#ifdef XEP0077_SMALL
#define XEP0077__SHORTCUT(test, dflt) (dflt)
#else
#define XEP0077__SHORTCUT(test, dflt) (test)
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
  XEP0077__C_CDATA = 32, /* stops a CDATA run: ] > CR, C0 controls, >= 0x80    */
  XEP0077__C_NONAME = 64 /* stops a name run: all but C_NAME                  */
};
static const unsigned char xep0077__cls[256] = {
   99, 99, 99, 99, 99, 99, 99, 99, 99, 82, 82, 99, 99,115, 99, 99,
   99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
   80, 64, 66, 64, 64, 64, 67, 66, 64, 64, 64, 64, 64,  4,  4, 64,
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4, 64, 64, 67, 64, 97, 64,
   64, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
   12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 64, 64, 97, 64, 12,
   64, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
   12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 64, 64, 64, 64, 64,
   99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
   99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
   99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
   99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
   99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
   99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
   99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
   99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99
};
#define XEP0077__IS(c, bit) (xep0077__cls[(unsigned char)(c)] & XEP0077__##bit)

static const char xep0077__ns_xml[] = "http://www.w3.org/XML/1998/namespace";
static const char xep0077__ns_xmlns[] = "http://www.w3.org/2000/xmlns/";

/* ---- Literals ---------------------------------------------------------- */
#define XEP0077__NS_STREAM "http://etherx.jabber.org/streams"
#define XEP0077__NS_TLS "urn:ietf:params:xml:ns:xmpp-tls"
#define XEP0077__NS_SASL "urn:ietf:params:xml:ns:xmpp-sasl"
#define XEP0077__NS_BIND "urn:ietf:params:xml:ns:xmpp-bind"
#define XEP0077__NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"
#define XEP0077__NS_STREAMS "urn:ietf:params:xml:ns:xmpp-streams"
#define XEP0077__NS_REGISTER "jabber:iq:register"
#define XEP0077__NS_DATA "jabber:x:data"

/* The literal markup and names the writer and the stream write or look up,
   in one table: a call site passes a small offset (XEP0077__L(name))
   instead of a pointer, which on Thumb is one short instruction instead of
   a literal-pool word per site. Shortest first, so most offsets fit an
   8-bit immediate. */
#define XEP0077__LITERALS(X)                                                    \
  X(empty, "") X(gt, ">") X(lt, "<") X(space, " ") X(quote, "'")             \
  X(etag, "</") X(eq, "='") X(x, "x") X(id, "id") X(iq, "iq") X(to, "to")       \
  X(var, "var") X(type, "type")                                                 \
  X(from, "from") X(code, "code") X(bind, "bind") X(query, "query")            \
  X(field, "field") X(xmlns, "xmlns") X(and_to, "' to='") X(remove, "remove")  \
  X(version, "version") X(resource, "resource") X(username, "username")        \
  X(ns_data, XEP0077__NS_DATA) X(close, "</stream:stream>")                    \
  X(ns_register, XEP0077__NS_REGISTER) X(iq_error, "<iq type='error' id='")     \
  X(header_end, "' version='1.0' xml:lang='en'>") X(ns_bind, XEP0077__NS_BIND)  \
  X(starttls, "<starttls xmlns='" XEP0077__NS_TLS "'/>")                        \
  X(unavailable, "'><error type='cancel'><service-unavailable xmlns='"          \
                 XEP0077__NS_STANZAS "'/></error></iq>")                        \
  X(header, "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "        \
            "xmlns:stream='" XEP0077__NS_STREAM "' to='")
#define XEP0077__LIT_MEMBER(name, s) char name[sizeof(s)];
#define XEP0077__LIT_VALUE(name, s) s,
static const struct xep0077__literals {
  XEP0077__LITERALS(XEP0077__LIT_MEMBER)
} xep0077__lit = {XEP0077__LITERALS(XEP0077__LIT_VALUE)};
#undef XEP0077__LIT_MEMBER
#undef XEP0077__LIT_VALUE
/* The offset of a literal, and the literal at an offset (char arrays: the
   struct has no padding, each member is its string and its NUL). */
#define XEP0077__L(name) ((int)offsetof(struct xep0077__literals, name))
#define XEP0077__LIT(id) ((const char *)&xep0077__lit + (id))
#define XEP0077__STR(name) XEP0077__LIT(XEP0077__L(name))

/* The first byte in [s, e) of class stop, or e: the hot loop of every run.
   Four bytes a round, so the bound is tested once for four. */
static const unsigned char *xep0077__run(const unsigned char *s, const unsigned char *e,
                                         unsigned stop)
{
#ifndef XEP0077_SMALL /* the unrolled rounds are speed bought with code */
  while (e - s >= 4) {
    if (xep0077__cls[s[0]] & stop) return s;
    if (xep0077__cls[s[1]] & stop) return s + 1;
    if (xep0077__cls[s[2]] & stop) return s + 2;
    if (xep0077__cls[s[3]] & stop) return s + 3;
    s += 4;
  }
#endif
  while (s < e && !(xep0077__cls[*s] & stop)) s++;
  return s;
}

/* Copy a run of n bytes into d, which has dn bytes free. Most runs are a
   few bytes: one fixed 8-byte move beats a call to memcpy when both sides
   have the bytes to spare (those past n are scratch above the token). */
static void xep0077__put_run(char *d, size_t dn, const unsigned char *r, size_t n,
                             const unsigned char *e)
{
#ifdef XEP0077_SMALL /* the fixed move is speed bought with code */
  (void)dn;
  (void)e;
  memcpy(d, r, n);
#else
  if (n <= 8 && dn >= 8 && e - r >= 8) memcpy(d, r, 8);
  else memcpy(d, r, n);
#endif
}

#ifndef XEP0077_SMALL
/* Length of the valid, complete sequence whose lead byte (>= 0x80) is at s,
   or 0: then utf8_step, byte by byte, decides (a sequence split across
   chunks, or an error it must report at the very byte). Lets the run loops
   take non-ASCII text without leaving the run: speed bought with code. */
static int xep0077__utf8_seq(const unsigned char *s, const unsigned char *e)
{
  unsigned c = s[0], k;
  unsigned long cp;
  if (c < 0xC2 || c > 0xF4) return 0;
  k = c < 0xE0 ? 2u : c < 0xF0 ? 3u : 4u;
  if ((size_t)(e - s) < k || (s[1] & 0xC0) != 0x80) return 0;
  if (k == 2) return 2; /* C2..DF: never overlong */
  if ((s[2] & 0xC0) != 0x80) return 0;
  cp = (unsigned long)(c & 0x0F) << 12 | (unsigned long)(s[1] & 0x3F) << 6 | (s[2] & 0x3Fu);
  if (k == 3)
    return cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF) && cp < 0xFFFE ? 3 : 0;
  if ((s[3] & 0xC0) != 0x80) return 0;
  cp = cp << 6 | (s[3] & 0x3Fu); /* F0..F4: bit 3 of the lead is clear */
  return cp >= 0x10000 && cp <= 0x10FFFF ? 4 : 0;
}
#endif

/* Feed one byte >= 0x80, or any byte while a sequence is open: the path
   for a character split across chunks, or a bad one whose error must point
   at the very byte. A bad lead or continuation byte fails at once; the
   complete sequence is judged as a whole, so this accepts exactly what
   utf8_seq does (RFC 3629 without the two non-characters XML excludes).
   Returns 0 or a status. */
static int xep0077__utf8_step(xep0077__utf8 *u, unsigned c)
{
  unsigned long cp;
  if (!u->need) {
    if (c < 0x80) return 0;
    if (c < 0xC2 || c > 0xF4) return XEP0077_ERR_XML_UTF8;
    u->len = u->need = 1 + (c >= 0xE0) + (c >= 0xF0);
    u->cp = c & (0x3Fu >> u->need); /* the lead's payload bits */
    return 0;
  }
  if ((c & 0xC0) != 0x80) return XEP0077_ERR_XML_UTF8;
  cp = u->cp = u->cp << 6 | (c & 0x3F);
  if (--u->need) return 0;
  /* Overlong (a 2-byte lead >= C2 never is), surrogate, past U+10FFFF. */
  if (!(cp >> (5 * u->len + 1)) || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
    return XEP0077_ERR_XML_UTF8;
  /* U+FFFE and U+FFFF are well formed, but not characters */
  return (cp | 1) == 0xFFFF ? XEP0077_ERR_XML_CHAR : 0;
}

/* Encode cp (a valid XML character) at o; returns its length. */
XEP0077__COLD static size_t xep0077__utf8_put(char *o, unsigned long cp)
{
  static const unsigned char lead[5] = {0, 0, 0xC0, 0xE0, 0xF0}; /* by length */
  size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4, i;
  for (i = n; --i > 0; cp >>= 6) o[i] = (char)(0x80 | (cp & 0x3F));
  o[0] = (char)(lead[n] | cp);
  return n;
}

/* ---- 1. XML pull parser --------------------------------------------------
   Memory: buf[0, top) holds the start tags of the open elements, each kept
   verbatim-decoded ("qname\0attr\0value\0...") as its frame, so attribute and
   namespace pointers stay valid while the element is open and end tags are
   matched without copying. buf[top, mark) is the token being built: a start
   tag, or text. A start tag that completes becomes the next frame. */
enum {
  XEP0077__S_DOC, XEP0077__S_LIT,
  XEP0077__S_AFTER, XEP0077__S_STREAM, XEP0077__S_TEXT, /* by depth: end_event */
  XEP0077__S_LT, XEP0077__S_STAG_NAME, XEP0077__S_STAG,
  XEP0077__S_ANAME, XEP0077__S_AEQ, XEP0077__S_AQ, XEP0077__S_AVAL,
  XEP0077__S_AFTER_VAL, XEP0077__S_SLASH, XEP0077__S_ETAG, XEP0077__S_ETAG_WS,
  XEP0077__S_REF, XEP0077__S_BANG, XEP0077__S_CDATA,
  XEP0077__S_PI, XEP0077__S_XMLDECL
};
enum { /* indices of xep0077_xml.f */
  XEP0077__F_DOCSTART, /* nothing but a BOM read: an XML declaration may come */
  XEP0077__F_EMPTY,    /* <a/> reported as START: its END is owed         */
  XEP0077__F_CR,       /* last byte was CR: swallow a following LF        */
  XEP0077__F_STANZA,   /* inside a stanza: bytes count against the limit  */
  XEP0077__F_ZERO,     /* leading zeros of a character reference skipped  */
  XEP0077__F_PIECE     /* a partial TEXT went out: its last piece is owed */
};
/* Fixed strings matched byte by byte (state LIT, position qpos): the rest
   of a BOM, of "<![CDATA[" and of "<?xml"; then the next state, or the
   error when a byte differs. */
static const struct {
  char s[7];
  unsigned char next;
  signed char err;
} xep0077__lits[3] = {{"\xBB\xBF", XEP0077__S_DOC, XEP0077_ERR_XML_UTF8},
                      {"CDATA[", XEP0077__S_CDATA, XEP0077_ERR_XML_SYNTAX},
                      {"xml", XEP0077__S_PI, XEP0077_ERR_XML_PI}};
/* Bytes kept free in the token area before a special character is handled:
   one UTF-8 character, two pending ']' of CDATA, and the NUL. */
#define XEP0077__RESERVE 8
/* Bytes a run may still take: never wraps, even when a multi-byte character
   or a reference already ate into the reserve. */
#define XEP0077__ROOM(cap, mark) \
  ((cap) - (mark) > XEP0077__RESERVE ? (cap) - (mark) - XEP0077__RESERVE : 0)

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
  if (p->err) p->in = p->in_end; /* what follows an error is not trusted */
  /* state DOC, no error, nothing open, no event (NULL pointers are 0 on
     every target this library supports): all the fields before buf */
  memset(p, 0, (size_t)((char *)&p->buf - (char *)p));
  p->f[XEP0077__F_DOCSTART] = 1;
  p->depth = -1;
  p->attrs = p->attr;
}

XEP0077DEF void xep0077_xml_feed(xep0077_xml *p, const void *data, size_t len)
{
  /* The previous chunk must be used up, unless an error stopped it. */
  XEP0077_ASSERT(p->in == p->in_end || p->err);
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
  const xep0077_xml_attribute *a = p->attrs, *end = a + p->nattrs;
  for (; a < end; a++)
    if (!strcmp(a->name, name) && !strcmp(a->ns, ns)) return a->value;
  return NULL;
}

/* The URI bound to the prefix q[0, len), or NULL if none is. The empty
   prefix is the default namespace, "" when undeclared. */
static const char *xep0077__ns_find(const xep0077_xml *p, const char *q, size_t len)
{
  int k;
  if (len == 3 && !memcmp(q, "xml", 3)) return xep0077__ns_xml;
  for (k = p->nns; k-- > 0;) {
    const char *pf = p->buf + p->nsp[k];
    if ((XEP0077__SHORTCUT(!len, 0) || !strncmp(pf, q, len)) && !pf[len])
      return p->buf + p->nsu[k];
  }
  return len ? NULL : "";
}

/* An attribute value closed: buf[nstart] holds "qname\0value\0". A namespace
   declaration is bound now (it may follow its first use in the same tag, so
   prefixes are resolved when the tag ends); anything else joins attr[]. */
XEP0077__COLD static int xep0077__attr_done(xep0077_xml *p)
{
  char *b = p->buf, *r = b + p->nstart, *v = b + p->vstart;
  int k, maxa = p->max_attrs < XEP0077_XML_MAX_ATTRS ? p->max_attrs : XEP0077_XML_MAX_ATTRS;
  if (XEP0077__SHORTCUT(r[0] == 'x', 1) && !strncmp(r, "xmlns", 5) &&
      (!r[5] || p->colon == 5)) {
    /* pf: the prefix declared, "" for the default namespace (a prefix is
       never empty and holds no second colon: the name rules saw to it) */
    const char *pf = r + 5 + (r[5] != 0);
    int is_xml = !strcmp(v, xep0077__ns_xml);
    if (*pf ? !*v || !strcmp(pf, "xmlns") || (!strcmp(pf, "xml")) != is_xml : is_xml)
      return XEP0077_ERR_XML_NS_PREFIX;
    if (!strcmp(v, xep0077__ns_xmlns)) return XEP0077_ERR_XML_NS_PREFIX;
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
  xep0077_xml_attribute *a, *o, *end = p->attr + p->nraw;
  int colon;
  const char *ns;
  xep0077_xml_frame *f;

  if (p->open >= p->max_depth || p->open >= XEP0077_XML_MAX_DEPTH) return XEP0077_ERR_XML_DEPTH;
  /* Room for content after the tag, as next() requires: the same answer
     for <a/> and <a></a>. */
  if (p->cap <= p->mark + XEP0077__RESERVE) return XEP0077_ERR_XML_BUFFER;
  colon = (int)p->qcolon;
  ns = xep0077__ns_find(p, q, (size_t)colon);
  if (!ns) return XEP0077_ERR_XML_NS_PREFIX; /* "xmlns:" too: never declared */
  f = &p->frames[p->open];
  f->start = p->tok;
  f->name = q + colon + (colon > 0);
  f->ns = ns;
  f->nns = (unsigned short)p->nns0;
  f->qlen = (unsigned short)p->qlen;
  /* Duplicates compare expanded names, which also catches two prefixes bound
     to one URI; the cost is bounded by max_attrs^2/2 short compares. */
  for (a = p->attr; a < end; a++) {
    a->ns = a->ns ? xep0077__ns_find(p, a->ns, (size_t)(a->name - a->ns - 1)) : "";
    if (!a->ns) return XEP0077_ERR_XML_NS_PREFIX;
    for (o = p->attr; o < a; o++)
      if (XEP0077__SHORTCUT(o->name[0] == a->name[0], 1) && !strcmp(o->name, a->name) &&
          (XEP0077__SHORTCUT(o->ns == a->ns, 0) || !strcmp(o->ns, a->ns)))
        return XEP0077_ERR_XML_DUP_ATTR;
  }
  p->name = f->name;
  p->ns = f->ns;
  p->attrs = p->attr;
  p->nattrs = p->nraw;
  p->depth = p->open++;
  p->top = p->mark;
  p->state = p->open == 1 ? XEP0077__S_STREAM : XEP0077__S_TEXT;
  p->f[XEP0077__F_EMPTY] = (unsigned char)empty;
  return XEP0077_XML_START;
}

/* The innermost element closed: report it and pop its frame. Its bytes
   stay as they are until the next call writes over them, so name and ns
   stay valid as long as an event's fields must. */
XEP0077__COLD static int xep0077__end_event(xep0077_xml *p)
{
  xep0077_xml_frame *f = &p->frames[--p->open];
  int d = p->depth = p->open;
  p->name = f->name;
  p->ns = f->ns;
  p->nattrs = 0;
  p->f[XEP0077__F_EMPTY] = 0; /* <a/>: its END is out */
  p->top = p->mark = f->start;
  p->nns = f->nns;
  if (d > 2) d = 2;
  if (d == 1) p->f[XEP0077__F_STANZA] = 0;
  /* depth 0, 1, 2+: STREAM_END, STANZA_END, END */
  p->state = XEP0077__S_AFTER + d; /* AFTER, STREAM, TEXT */
  return XEP0077_XML_STREAM_END - d;
}

/* "&...;" without the delimiters: the code point, or -1. */
static long xep0077__ref(const char *r, unsigned n)
{
  static const char names[5][5] = {"lt", "gt", "amp", "apos", "quot"};
  static const char chars[5] = {'<', '>', '&', '\'', '"'};
  unsigned i = 1, base = 10;
  unsigned long v = 0;
  /* n == 0 ("&;"): r[0] is left from an earlier reference; no name has
     length 0, and a stale '#' gives v = 0, which is refused below. */
  if (r[0] != '#') {
    /* strncmp stops at the name's NUL, and r holds none: a match means the
       name is at least n long, so names[i][n] is inside it */
    for (i = 0; i < 5; i++)
      if (!strncmp(names[i], r, n) && !names[i][n]) return chars[i];
    return -1;
  }
  /* No digits ("&#;", "&#x;") leave v = 0, refused below. n < 2: r[1]
     is stale (still inside ref[]), and no digit is read either way. */
  if (r[1] == 'x') { base = 16; i = 2; }
  for (; i < n; i++) {
    unsigned c = (unsigned char)r[i], d = c - '0';
    /* A letter's value, or (from '-', '.', '_': r holds name characters,
       none in 0x57..0x60 once ORed with 0x20) one far above 16. */
    if (d > 9) d = (c | 0x20) - 'a' + 10;
    if (d >= base) return -1;
    v = v * base + d;
    if (v > 0x10FFFF) return -1;
  }
  if (v < 0x20 ? !XEP0077__IS(v, C_WS) /* TAB, LF, CR */
               : ((v >= 0xD800 && v <= 0xDFFF) || v == 0xFFFE || v == 0xFFFF))
    return -1;
  return (long)v;
}

/* The pseudo-attributes of <?xml ...?>: version 1.0, then optionally an
   encoding that must be UTF-8 (any case), then optionally standalone yes or
   no; each is white space, name, '=' and a quoted value, white space around
   the '='. In the patterns, ' ' stands for optional white space and '\''
   for either quote (the closing one the same as the opening one). Each is
   tried once, in order: the optional ones are skipped when they do not
   match. d starts after the white space that followed "<?xml". */
static int xep0077__xmldecl(const char *d)
{
  static const char *const pats[4] = {" version = '1.0'", " encoding = 'utf-8'",
                                      " standalone = 'yes'", " standalone = 'no'"};
  int k;
  for (k = 0; k < 4; k++) {
    const char *t, *x;
    char q = 0;
    if (k && !XEP0077__IS(*d, C_WS)) break; /* white space before each */
    for (t = pats[k], x = d; *t; t++) {
      if (*t == ' ') {
        while (XEP0077__IS(*x, C_WS)) x++;
      } else if (*t == '\'') {
        if (q ? *x++ != q : (q = *x++) != '\'' && q != '"') break;
      } else if ((*x | (k == 1 && q && *x >= 'A' ? 0x20 : 0)) != *t) {
        break; /* the encoding's letters in any case ('\r' | 0x20 would be '-') */
      } else {
        x++;
      }
    }
    if (!*t) {
      d = x;
      k += k == 2; /* "standalone=no" cannot follow "standalone=yes" */
    } else if (k == 0) {
      return 0; /* the version is required */
    }
  }
  while (XEP0077__IS(*d, C_WS)) d++;
  return !*d;
}

/* One byte of what follows "<?xml" at the very start: white space, then
   the declaration up to "?>". A PI is legal once per stream at
   most, so it gets a byte-at-a-time path of its own, away from the hot
   switch. Reads and updates p->mark. Returns the next state, or an error
   status (< 0). */
XEP0077__COLD static int xep0077__decl_byte(xep0077_xml *p, int st, unsigned c)
{
  char *b = p->buf;
  size_t mark = p->mark;
  if (st == XEP0077__S_PI) { /* "<?xml" came: white space must follow */
    if (!XEP0077__IS(c, C_WS)) return c == '?' ? XEP0077_ERR_XML_XMLDECL : XEP0077_ERR_XML_PI;
    return XEP0077__S_XMLDECL;
  }
  /* Nothing was written since restart: the declaration collects at b[0]. */
  if (c == '>' && mark && b[mark - 1] == '?') {
    b[mark - 1] = 0;
    if (!xep0077__xmldecl(b)) return XEP0077_ERR_XML_XMLDECL;
    p->mark = 0;
    p->f[XEP0077__F_DOCSTART] = 0;
    return XEP0077__S_DOC;
  }
  if (mark >= 128 || c >= 0x80 || (c < 0x20 && !XEP0077__IS(c, C_WS)))
    return XEP0077_ERR_XML_XMLDECL;
  if (p->cap - mark <= XEP0077__RESERVE) return XEP0077_ERR_XML_BUFFER;
  b[mark] = (char)c;
  p->mark = mark + 1;
  return st;
}

XEP0077DEF int xep0077_xml_next(xep0077_xml *p)
{
  const unsigned char *s, *s0, *e, *r;
  char *b = p->buf;
  size_t mark, cap = p->cap, n;
  int ev = XEP0077_XML_NEED_MORE;
  unsigned c;
#ifdef XEP0077_SMALL
  /* The state stays in p->state. In a local, the compiler knows it after
     each transition and jumps from there straight to the next state's code,
     so every transition repeats the loop's bound test and an exit that
     stores the state: some 160 bytes. Faster, so kept at -O2. */
#define st (p->state)
#else
  int st;
#endif

  if (p->err) return p->err;
  /* <a/> was reported as START: its END is owed. */
  if (p->f[XEP0077__F_EMPTY]) return xep0077__end_event(p);
  if (cap <= p->top + XEP0077__RESERVE) return p->err = XEP0077_ERR_XML_BUFFER;
  s = s0 = p->in;
  e = p->in_end;
  /* Inside a stanza, stop where its limit is reached. */
  if (p->f[XEP0077__F_STANZA] && (size_t)(e - s) > p->stanza_left)
    e = s + p->stanza_left;
  mark = p->mark;
#ifndef XEP0077_SMALL
  st = p->state;
#endif

/* ev holds the status negated until fail: small positive constants are
   the shortest instructions. */
#define XEP0077__FAIL(code) do { ev = -(code); goto fail; } while (0)
  while (s < e) {
    switch (st) {
    /* Text, CDATA and attribute values share the byte path: characters,
       references, CR and the forbidden controls are judged alike. */
    case XEP0077__S_TEXT:
    case XEP0077__S_CDATA:
    case XEP0077__S_AVAL:
#ifndef XEP0077_SMALL
    aval:
#endif
    {
      int cdata = st == XEP0077__S_CDATA, attr = st == XEP0077__S_AVAL;
      if (p->f[XEP0077__F_CR]) {
        p->f[XEP0077__F_CR] = 0;
        if (*s == '\n') { s++; continue; }
      }
#ifndef XEP0077_SMALL /* runs: speed bought with code; the bytes below take any text */
      if (attr && !p->u8.need) {
        /* Whole characters, when every byte fits before the reserve: the
           byte-by-byte path checks the room before each of them. */
        size_t room = XEP0077__ROOM(cap, mark);
        int k;
        for (r = s;;) {
          s = xep0077__run(s, e, XEP0077__C_ATTR);
          if (s < e && *s >= 0x80 && (k = xep0077__utf8_seq(s, e)) != 0 &&
              (size_t)(s - r) + (size_t)k <= room)
            s += k;
          else
            break;
        }
        n = (size_t)(s - r);
        if (n) {
          if (n > room) XEP0077__FAIL(XEP0077_ERR_XML_BUFFER);
          xep0077__put_run(b + mark, cap - mark, r, n, e);
          mark += n;
          if (s >= e) break;
        }
        if (*s == (unsigned char)p->quote && cap - mark > XEP0077__RESERVE) {
          s++; /* the usual end of a value: straight to it */
          goto aval_end;
        }
      } else if (!p->u8.need) {
        /* A character whose lead byte fits before the reserve is taken
           whole, as the byte-by-byte path would; not while CDATA holds ']'
           back, since those are written ahead of it. */
        size_t room = cdata && p->brackets ? 0 : XEP0077__ROOM(cap, mark);
        int k;
        for (r = s;;) {
          s = xep0077__run(s, e, cdata ? XEP0077__C_CDATA : XEP0077__C_TEXT);
          if (s < e && *s >= 0x80 && (size_t)(s - r) < room &&
              (k = xep0077__utf8_seq(s, e)) != 0)
            s += k;
          else
            break;
        }
        if (s != r) {
          if (cdata) /* the ']' held back in case they closed the section */
            while (p->brackets) { b[mark++] = ']'; p->brackets--; }
          p->brackets = 0;
          n = (size_t)(s - r);
          room = XEP0077__ROOM(cap, mark);
          if (n > room) { /* fill up to a character boundary, report a piece */
            while (room < n && (r[room] & 0xC0) == 0x80) room++;
            if (room < n) {
              s = r + room;
              memcpy(b + mark, r, room);
              mark += room;
              goto text_piece;
            }
          }
          xep0077__put_run(b + mark, cap - mark, r, n, e);
          mark += n;
          if (s >= e) break;
        }
      }
#endif
      /* brackets: in text, the ']' just written (to refuse "]]>");
         in CDATA, the ']' held back because they may close the section. */
      c = *s;
      if (attr) {
        if (cap - mark <= XEP0077__RESERVE) XEP0077__FAIL(XEP0077_ERR_XML_BUFFER);
      } else if (!p->u8.need) { /* not inside a character */
        if (c == '<' && !cdata) {
          s++;
          p->brackets = 0;
          st = XEP0077__S_LT;
          continue;
        }
        if (cdata && p->brackets && !XEP0077__IS(c, C_CDATA)) {
          /* a run's byte: a run writes the held ']' before it judges the
             room, so they go now and c comes again */
          while (p->brackets) { b[mark++] = ']'; p->brackets--; }
          continue;
        }
        if (cap - mark <= XEP0077__RESERVE) goto text_piece;
        if (c == ']') { /* counted up to 2, all "]]>" needs (brackets is a byte) */
          if (!cdata) b[mark++] = ']';
          if (p->brackets < 2) p->brackets++;
          else if (cdata) b[mark++] = ']'; /* the oldest held one */
          s++;
          continue;
        }
        if (c == '>' && p->brackets >= 2) {
          if (!cdata) XEP0077__FAIL(XEP0077_ERR_XML_SYNTAX);
          st = XEP0077__S_TEXT; /* "]]>" closed the section */
          p->brackets = 0;
          s++;
          continue;
        }
        if (cdata) /* held ']' were content after all */
          while (p->brackets) { b[mark++] = ']'; p->brackets--; }
        p->brackets = 0;
      }
      s++;
      if (c >= 0x80 || p->u8.need) {
        if ((ev = -xep0077__utf8_step(&p->u8, c)) != 0) goto bad_char;
      } else if (c == '&' && !cdata) {
        p->refst = (unsigned char)st;
        p->refpos = 0;
        st = XEP0077__S_REF;
        continue;
      } else if (attr && c == (unsigned char)p->quote) {
        int rc;
#ifndef XEP0077_SMALL
      aval_end:
#endif
        b[mark++] = 0;
        if ((rc = xep0077__attr_done(p)) != 0) XEP0077__FAIL(rc);
        st = XEP0077__S_AFTER_VAL;
#ifndef XEP0077_SMALL
        if (s < e) goto stag;
#endif
        continue;
      } else if (attr && c == '<') {
        XEP0077__FAIL(XEP0077_ERR_XML_SYNTAX);
      } else if (c < 0x20) {
        if (!XEP0077__IS(c, C_WS)) {
          ev = -XEP0077_ERR_XML_CHAR;
          goto bad_char;
        }
        if (c == '\r') { /* CR LF and a lone CR read as LF */
          p->f[XEP0077__F_CR] = 1;
          c = '\n';
        }
        if (attr) c = ' '; /* attribute-value normalisation */
      }
      b[mark++] = (char)c;
      continue;
    bad_char: /* text reports it at the byte, a value after it */
      s -= !attr;
      goto fail;
    text_piece:
      if (mark == p->top) XEP0077__FAIL(XEP0077_ERR_XML_BUFFER);
      p->text_partial = 1;
      p->f[XEP0077__F_PIECE] = 1;
      ev = XEP0077_XML_TEXT;
      goto emit_text;
    }

    /* Outside the elements: before the root, between stanzas (keepalive
       white space), after the root. */
    case XEP0077__S_DOC:
    case XEP0077__S_STREAM:
    case XEP0077__S_AFTER:
    default: /* never (st is always one of the cases): shares a case, no code */
      c = *s;
      if (c == 0xEF && p->f[XEP0077__F_DOCSTART] && p->refpos == 0) { /* state DOC */
        p->refpos = 1; /* one BOM at most */
        p->lit = 0;
        s++;
        goto lit;
      }
      if (XEP0077__IS(c, C_WS)) {
        p->f[XEP0077__F_DOCSTART] = 0; /* set in state DOC only */
        s++;
#ifndef XEP0077_SMALL /* keepalives come in runs */
        while (s < e && XEP0077__IS(*s, C_WS)) s++;
#endif
        continue;
      }
      if (c != '<' || st == XEP0077__S_AFTER)
        XEP0077__FAIL(st == XEP0077__S_DOC      ? XEP0077_ERR_XML_SYNTAX
                      : st == XEP0077__S_STREAM ? XEP0077_ERR_XML_TEXT_LEVEL
                                                : XEP0077_ERR_XML_AFTER_ROOT);
      if (st == XEP0077__S_STREAM) {
        p->f[XEP0077__F_STANZA] = 1;
        p->stanza_left = p->max_stanza;
        if ((size_t)(e - s) > p->stanza_left) e = s + p->stanza_left;
        /* The exit takes all the call consumed off, from s0: give back
           what came before this '<' (exact even if it wraps; nothing
           reads the count before). No local holds the start: it costs a
           register. */
        p->stanza_left += (size_t)(s - s0);
      }
      s++;
      st = XEP0077__S_LT;
      continue;

    case XEP0077__S_LT:
      c = *s;
      p->qpos = 0; /* for ETAG and LIT (the BOM's LIT comes first of all) */
      if (c == '!') { s++; st = XEP0077__S_BANG; continue; }
      if (c == '?') {
        if (!p->f[XEP0077__F_DOCSTART]) XEP0077__FAIL(XEP0077_ERR_XML_PI);
        p->lit = 2;
        s++;
        goto lit;
      }
      p->f[XEP0077__F_DOCSTART] = 0;
      if (mark > p->top || p->f[XEP0077__F_PIECE]) {
        /* Text before this tag: report it first. After a piece, even an
           empty last one, so text_partial=1 always means "more follows". */
        p->f[XEP0077__F_PIECE] = 0;
        p->text_partial = 0;
        ev = XEP0077_XML_TEXT;
        goto emit_text;
      }
      if (c == '/') {
        if (p->open == 0) XEP0077__FAIL(XEP0077_ERR_XML_SYNTAX);
        s++;
        st = XEP0077__S_ETAG;
        continue;
      }
      if (!XEP0077__IS(c, C_START) && c < 0x80) XEP0077__FAIL(XEP0077_ERR_XML_SYNTAX);
      p->tok = p->nstart = mark; /* == top: no text is pending */
      p->nraw = 0;
      p->colon = 0;
      p->nns0 = p->nns;
      st = XEP0077__S_STAG_NAME;
      goto name;

    case XEP0077__S_STAG_NAME:
    case XEP0077__S_ANAME:
    name:
      c = *s;
      if (c >= 0x80 || p->u8.need) {
        int rc = xep0077__utf8_step(&p->u8, c);
        if (rc) XEP0077__FAIL(rc);
        n = 1;
        r = s++;
      } else {
        r = s;
        s = xep0077__run(s, e, XEP0077__C_NONAME);
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
        /* n > ROOM(cap, mark), as n > 0: no clamp at 0 to compute */
        if (cap - mark < n + XEP0077__RESERVE) XEP0077__FAIL(XEP0077_ERR_XML_BUFFER);
        xep0077__put_run(b + mark, cap - mark, r, n, e);
        mark += n;
#ifndef XEP0077_SMALL /* shortcuts below: speed bought with code */
        if (s >= e || *s >= 0x80 || *s == ':' || XEP0077__IS(*s, C_NAME) || p->u8.need)
          continue;
        c = *s; /* the usual case: the name ends here, no second pass */
#else
        continue;
#endif
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
#ifndef XEP0077_SMALL
        if (c == '>') goto stag_done; /* the usual <name>: no second look */
#endif
        st = XEP0077__S_STAG;
      } else {
#ifndef XEP0077_SMALL
        if (c == '=' && s < e && (*s == '\'' || *s == '"')) { /* the usual a='v' */
          p->quote = (char)*s++;
          p->vstart = mark;
          st = XEP0077__S_AVAL;
          if (s < e) goto aval;
          continue;
        }
#endif
        st = XEP0077__S_AEQ;
      }
      s--; /* c again, in the state after the name: it judges c */
      continue;

    case XEP0077__S_STAG:
    case XEP0077__S_AFTER_VAL:
#ifndef XEP0077_SMALL
    stag:
#endif
      c = *s++;
      if (XEP0077__IS(c, C_WS)) {
        st = XEP0077__S_STAG;
#ifdef XEP0077_SMALL
        continue;
#else
        while (s < e && XEP0077__IS(*s, C_WS)) s++;
        if (s >= e) break;
        c = *s++;
#endif
      }
      if (c == '>') goto stag_done;
      if (c == '/') { st = XEP0077__S_SLASH; continue; }
      if (st == XEP0077__S_AFTER_VAL || (!XEP0077__IS(c, C_START) && c < 0x80))
        XEP0077__FAIL(XEP0077_ERR_XML_SYNTAX);
      s--;
      p->nstart = mark;
      p->colon = 0;
      st = XEP0077__S_ANAME;
      goto name;

    case XEP0077__S_AEQ:
    case XEP0077__S_AQ:
    case XEP0077__S_ETAG_WS: /* white space, then '=', a quote or '>' */
      c = *s++;
      if (XEP0077__IS(c, C_WS)) continue;
      if (st == XEP0077__S_ETAG_WS && c == '>') goto etag_done;
      if (st == XEP0077__S_AEQ && c == '=') { st = XEP0077__S_AQ; continue; }
      if (st == XEP0077__S_AQ && (c == '\'' || c == '"')) {
        p->quote = (char)c;
        p->vstart = mark;
        st = XEP0077__S_AVAL;
        continue;
      }
      XEP0077__FAIL(XEP0077_ERR_XML_SYNTAX);

    case XEP0077__S_SLASH:
      if (*s++ != '>') XEP0077__FAIL(XEP0077_ERR_XML_SYNTAX);
      p->mark = mark;
      ev = xep0077__stag_done(p, 1);
      goto tag_out;
    stag_done:
      p->mark = mark;
      ev = xep0077__stag_done(p, 0);
    tag_out: /* the helper set mark and the state (after an error they
                no longer matter) */
      mark = p->mark;
#ifndef XEP0077_SMALL
      st = p->state;
#endif
      goto out;

    case XEP0077__S_ETAG: {
      const xep0077_xml_frame *f = &p->frames[p->open - 1];
      const char *fq = b + f->start;
      unsigned qpos = p->qpos, qlen = f->qlen;
#ifdef XEP0077_SMALL /* one byte a round, like the other states */
      if (qpos < qlen && *s == (unsigned char)fq[qpos]) {
        p->qpos = qpos + 1;
        s++;
        continue;
      }
#else
      while (s < e && qpos < qlen && *s == (unsigned char)fq[qpos]) { s++; qpos++; }
      p->qpos = qpos;
      if (s >= e) break;
#endif
      c = *s++;
      if (qpos == 0 && !XEP0077__IS(c, C_START) && c < 0x80)
        XEP0077__FAIL(XEP0077_ERR_XML_SYNTAX); /* "</ a>", "</>" */
      if (qpos == qlen) {
        if (c == '>') goto etag_done;
        if (XEP0077__IS(c, C_WS)) { st = XEP0077__S_ETAG_WS; continue; }
      }
      XEP0077__FAIL(XEP0077_ERR_XML_MISMATCH);
    }
    etag_done:
      ev = xep0077__end_event(p);
      goto tag_out;

    case XEP0077__S_REF: {
      long cp;
#ifdef XEP0077_SMALL
      if ((c = *s++) != ';') { /* one byte a round, like the other states */
#else /* the whole reference in one round when the chunk holds it */
      while ((c = *s++) != ';') {
#endif
        if (c == '0' && p->ref[0] == '#' &&
            (p->refpos == 1 || (p->refpos == 2 && p->ref[1] == 'x'))) {
          p->f[XEP0077__F_ZERO] = 1; /* leading zeros: valid, and unbounded;
                                        only "#" or "#x" are stored then */
        } else {
          if (p->refpos == 1 && c == 'x' && p->f[XEP0077__F_ZERO])
            XEP0077__FAIL(XEP0077_ERR_XML_ENTITY); /* "&#0x..." */
          if (p->refpos >= sizeof p->ref || c == ':' ||
              !(XEP0077__IS(c, C_NAME) || (c == '#' && p->refpos == 0)))
            XEP0077__FAIL(XEP0077_ERR_XML_ENTITY);
          p->ref[p->refpos++] = (char)c;
        }
#ifdef XEP0077_SMALL
        continue;
#else
        if (s >= e) goto exhausted;
#endif
      }
      p->f[XEP0077__F_ZERO] = 0; /* "&#000;" is "#": refused like "&#0;" */
      cp = xep0077__ref(p->ref, p->refpos);
      if (cp < 0) XEP0077__FAIL(XEP0077_ERR_XML_ENTITY);
      mark += xep0077__utf8_put(b + mark, (unsigned long)cp);
      st = p->refst; /* brackets is 0: the '&' cleared it */
      continue;
    }

    case XEP0077__S_BANG:
      c = *s++;
      if (c == '-') XEP0077__FAIL(XEP0077_ERR_XML_COMMENT);
      if (memchr("DEAN", (int)c, 4)) /* DOCTYPE, ELEMENT or ENTITY, ATTLIST, NOTATION */
        XEP0077__FAIL(XEP0077_ERR_XML_DOCTYPE);
      if (c != '[' || p->open < 2) XEP0077__FAIL(XEP0077_ERR_XML_SYNTAX);
      p->lit = 1;
    lit:
      st = XEP0077__S_LIT;
      continue;

    case XEP0077__S_LIT:
      if (*s++ != (unsigned char)xep0077__lits[p->lit].s[p->qpos]) {
        s -= p->lit == 0; /* a bad BOM is reported at its byte, the others after */
        XEP0077__FAIL(xep0077__lits[p->lit].err);
      }
      if (!xep0077__lits[p->lit].s[++p->qpos])
        st = xep0077__lits[p->lit].next; /* brackets is 0: only text and
                                            CDATA leave it otherwise */
      continue;

    case XEP0077__S_PI:
    case XEP0077__S_XMLDECL: {
      int rc;
      p->mark = mark;
      rc = xep0077__decl_byte(p, st, *s++);
      if (rc < 0) XEP0077__FAIL(rc);
      mark = p->mark;
      st = rc;
      continue;
    }
    }
    break; /* a "break" inside the switch means: input exhausted */
  }
#ifndef XEP0077_SMALL
exhausted:
#endif
  if (s < p->in_end && ev == XEP0077_XML_NEED_MORE) ev = XEP0077_ERR_XML_STANZA_SIZE;
  goto out;
fail:
#ifdef XEP0077_SMALL
  /* The parser is dead: only the position still matters. state and
     stanza_left are left as they were; so is mark, which can only lag the
     token's end, so a scrub of the buffer from p->mark wipes more, never
     less. (At -O2 the one shared exit is faster.) */
  p->offset += (unsigned long)(s - s0);
  p->in = s;
  return p->err = -ev;
#else
  ev = -ev;
  goto out;
#endif

emit_text:
  b[mark] = 0;
  p->text = b + p->top;
  p->text_len = mark - p->top;
  p->depth = p->open - 1;
  mark = p->top; /* dropped: the text stays until the next call writes */
out:
#undef XEP0077__FAIL
#undef st
  /* (A STANZA_END cleared the flag: the count is dead until the next
     stanza sets it again.) */
  if (p->f[XEP0077__F_STANZA]) p->stanza_left -= (size_t)(s - s0);
  p->offset += (unsigned long)(s - s0);
  p->in = s;
  p->mark = mark;
#ifndef XEP0077_SMALL
  p->state = st;
#endif
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

/* Byte by byte: output is a few short stanzas, and this is the smallest. */
static int xep0077__w_put(xep0077_xmlw *w, const char *s, size_t n)
{
  for (; n && !w->err; n--) {
    if (w->len == w->cap) { /* full: hand it to the callback */
      if (!w->flush || !w->cap) return w->err = XEP0077_ERR_XMLW_FULL;
      if (w->flush(w->user, w->buf, w->len) < 0) return w->err = XEP0077_ERR_XMLW_FLUSH;
      w->len = 0;
    }
    w->buf[w->len++] = *s++;
  }
  return w->err;
}

/* A NUL-terminated string: the one strlen call site for markup. */
XEP0077__COLD static int xep0077__w_puts(xep0077_xmlw *w, const char *s)
{
  return xep0077__w_put(w, s, strlen(s));
}

/* a, then b, then c: NUL-terminated. */
XEP0077__COLD static int xep0077__w_put3(xep0077_xmlw *w, const char *a, const char *b,
                                         const char *c)
{
  const char *v[3];
  int i;
  v[0] = a;
  v[1] = b;
  v[2] = c;
  for (i = 0; i < 3; i++) xep0077__w_puts(w, v[i]);
  return w->err;
}

/* User text must be valid UTF-8 without the characters XML forbids. */
static int xep0077__w_valid(const char *s, size_t n)
{
  xep0077__utf8 u = {0, 0, 0};
  size_t i;
  for (i = 0; i < n; i++) {
    unsigned c = (unsigned char)s[i];
    if ((c < 0x20 && !XEP0077__IS(c, C_WS)) || xep0077__utf8_step(&u, c)) return 0;
  }
  return !u.need;
}

/* An ASCII QName, what XMPP uses and all the writer accepts: at most one
   colon, and the local part starts like a name. */
static int xep0077__w_name(const char *q)
{
  unsigned need = XEP0077__C_START; /* the class the next character needs */
  int colon = 0;
  for (; q && *q; q++) { /* NULL: refused, like "" */
    /* ':' neither first nor right after the colon, nor a second one */
    if (*q == ':' && need == XEP0077__C_NAME && !colon++) need = XEP0077__C_START;
    else if (xep0077__cls[(unsigned char)*q] & need) need = XEP0077__C_NAME; /* never >= 0x80 */
    else return 0;
  }
  return need == XEP0077__C_NAME; /* not empty, not ending in ':' */
}

/* Escaped text (attr 0) or attribute value (attr 1). */
static int xep0077__w_escaped(xep0077_xmlw *w, const char *s, size_t n, int attr)
{
  /* The escape of special[k] is escapes[k]. Text (attr 0) escapes the
     first four (> CR < &), an attribute value (attr 1) the seven after
     '>'; ']' in text and UTF-8 bytes go out as they are. */
  static const char special[] = ">\r<&\n\t'\"";
  static const char escapes[8][7] = {"&gt;", "&#13;", "&lt;", "&amp;",
                                     "&#10;", "&#9;", "&apos;", "&quot;"};
  size_t i;
  if (w->err) return w->err;
  if (!xep0077__w_valid(s, n)) return w->err = XEP0077_ERR_XMLW_INPUT;
  for (i = 0; i < n; i++) {
    /* memchr, not strchr: a NUL is not found (w_valid refused it anyway);
       4 or 7 bytes, by arithmetic rather than a branch */
    const char *k = (const char *)memchr(special + attr, s[i], 4 + 3 * (size_t)attr);
    if (k) xep0077__w_puts(w, escapes[k - special]);
    else xep0077__w_put(w, s + i, 1);
  }
  return w->err;
}

static int xep0077__w_close_tag(xep0077_xmlw *w)
{
  if (w->open) {
    w->open = 0;
    xep0077__w_put(w, XEP0077__STR(gt), 1);
  }
  return w->err;
}

XEP0077DEF int xep0077_xmlw_start(xep0077_xmlw *w, const char *name)
{
  if (w->err) return w->err;
  if (!xep0077__w_name(name)) return w->err = XEP0077_ERR_XMLW_INPUT;
  if (w->depth >= XEP0077_XML_MAX_DEPTH) return w->err = XEP0077_ERR_XMLW_STATE;
  xep0077__w_close_tag(w);
  xep0077__w_put3(w, XEP0077__STR(lt), name, XEP0077__STR(empty));
  w->names[w->depth++] = name;
  w->open = 1;
  return w->err;
}

XEP0077DEF int xep0077_xmlw_attr(xep0077_xmlw *w, const char *name, const char *value)
{
  if (w->err) return w->err;
  if (!w->open) return w->err = XEP0077_ERR_XMLW_STATE;
  if (!xep0077__w_name(name) || !value) return w->err = XEP0077_ERR_XMLW_INPUT;
  xep0077__w_put3(w, XEP0077__STR(space), name, XEP0077__STR(eq));
  xep0077__w_escaped(w, value, strlen(value), 1);
  return xep0077__w_put(w, XEP0077__STR(quote), 1);
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
  /* "</" name ">", or with no content "/" "" ">" */
  int open = w->open;
  const char *name;
  if (w->err) return w->err;
  if (!w->depth) return w->err = XEP0077_ERR_XMLW_STATE;
  name = w->names[--w->depth];
  w->open = 0;
  return xep0077__w_put3(w, XEP0077__STR(etag) + open, open ? XEP0077__STR(empty) : name,
                         XEP0077__STR(gt));
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


/* ---- 3. XMPP client stream ---------------------------------------------- */

enum { /* where the stream is; the last two parse nothing */
  XEP0077__P_IDLE, XEP0077__P_HEADER, XEP0077__P_FEATURES, XEP0077__P_STARTTLS,
  XEP0077__P_SASL, XEP0077__P_BIND, XEP0077__P_READY, XEP0077__P_CLOSING,
  XEP0077__P_TLS, XEP0077__P_CLOSED
};
enum { /* what the caller asked for */
  XEP0077__OP_NONE, XEP0077__OP_CONNECT, XEP0077__OP_LOGIN, XEP0077__OP_IQ,
  XEP0077__OP_CLOSE
};
enum { /* which registration call is running; the last three send a password */
  XEP0077__R_FIELDS = 1, XEP0077__R_INFO, XEP0077__R_CANCEL, XEP0077__R_REGISTER,
  XEP0077__R_CHANGE, XEP0077__R_CHANGE_FORM
};
enum { /* stream features seen in the last <stream:features/> */
  XEP0077__FT_STARTTLS = 1, XEP0077__FT_BIND = 2, XEP0077__FT_REGISTER = 4,
  XEP0077__FT_SHA256 = 8, XEP0077__FT_SHA1 = 16, XEP0077__FT_PLAIN = 32,
  XEP0077__FT_MECH = 64 /* inside <mechanism/>: collecting its name */
};
enum { /* what the stanza being read is, to the stream */
  XEP0077__IN_IGNORE, XEP0077__IN_FEATURES, XEP0077__IN_TLS, XEP0077__IN_SASL,
  XEP0077__IN_STREAM_ERROR, XEP0077__IN_REPLY, XEP0077__IN_UNHANDLED
};

/* Every name the stream compares against. An event's namespace and name
   are looked up here once; the routing then compares small integers. The
   three features and their namespaces, and the three mechanisms, are in the
   order of their XEP0077__FT_ bits. */
enum {
  XEP0077__W_STREAM_NS, XEP0077__W_SASL_NS, XEP0077__W_TLS_NS, XEP0077__W_BIND_NS,
  XEP0077__W_REGFEAT_NS, XEP0077__W_CLIENT_NS, XEP0077__W_STANZAS_NS,
  XEP0077__W_STREAMS_NS, XEP0077__W_STREAM, XEP0077__W_FEATURES, XEP0077__W_STARTTLS,
  XEP0077__W_BIND, XEP0077__W_REGISTER, XEP0077__W_MECHANISM, XEP0077__W_PROCEED,
  XEP0077__W_CHALLENGE, XEP0077__W_SUCCESS, XEP0077__W_FAILURE, XEP0077__W_IQ,
  XEP0077__W_TEXT, XEP0077__W_JID, XEP0077__W_RESULT, XEP0077__W_ERROR, XEP0077__W_GET,
  XEP0077__W_SET, XEP0077__W_SHA256, XEP0077__W_SHA1, XEP0077__W_PLAIN,
  XEP0077__W_NOT_AUTHORIZED, XEP0077__W_CONFLICT, XEP0077__W_NONE
};
static const char *const xep0077__words[XEP0077__W_NONE] = {
  XEP0077__NS_STREAM, XEP0077__NS_SASL, XEP0077__NS_TLS, XEP0077__NS_BIND,
  "http://jabber.org/features/iq-register", "jabber:client", XEP0077__NS_STANZAS,
  XEP0077__NS_STREAMS, "stream", "features", "starttls", "bind", "register", "mechanism",
  "proceed", "challenge", "success", "failure", "iq", "text", "jid", "result", "error",
  "get", "set", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN", "not-authorized", "conflict"
};

/* The index of s in xep0077__words, XEP0077__W_NONE when absent. */
static int xep0077__word(const char *s)
{
  int i = 0;
  while (i < XEP0077__W_NONE && strcmp(s, xep0077__words[i])) i++;
  return i;
}

/* s is not NULL and equals t. */
XEP0077__COLD static int xep0077__is(const char *s, const char *t)
{
  return s && !strcmp(s, t);
}

/* Memory that held a secret: a store the compiler may not drop. */
static void xep0077__wipe(void *p, size_t n)
{
  volatile unsigned char *v = (volatile unsigned char *)p;
  while (n--) *v++ = 0;
}

static const char xep0077__b64[] =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Base64 of in[0, n) into out (4 * ceil(n/3) + 1 bytes, NUL-terminated). */
static size_t xep0077__b64_enc(const unsigned char *in, size_t n, char *out)
{
  size_t i, k, o = 0;
  for (i = 0; i < n; i += 3) {
    unsigned long v = 0;
    for (k = 0; k < 3; k++) v = v << 8 | (i + k < n ? in[i + k] : 0u);
    /* character k carries bits of byte i + k - 1, or is padding */
    for (k = 0; k < 4; k++) out[o++] = i + k <= n ? xep0077__b64[(v >> (18 - 6 * k)) & 63] : '=';
  }
  out[o] = 0;
  return o;
}

/* Strict base64 (white space skipped); returns the length or -1. With q,
   the one decoder serves the XEP-0231 data too: bits carried over in q
   between calls, and whatever is not of the alphabet (padding, white space,
   junk) skipped instead of refused. */
static long xep0077__b64_dec(const char *in, size_t n, unsigned char *out, size_t cap,
                             xep0077_query *q)
{
  unsigned long v = q ? q->b64acc : 0;
  int bits = q ? q->b64bits : 0;
  size_t i, o = 0, pad = 0;
  for (i = 0; i < n; i++) {
    const char *p;
    char ch = in[i];
    if (!(p = (const char *)memchr(xep0077__b64, ch, 64))) { /* not NUL either */
      if (q || XEP0077__IS(ch, C_WS)) continue;
      if (ch != '=') return -1;
      pad++;
      continue;
    }
    if (pad) return -1;
    v = (v << 6) | (unsigned long)(p - xep0077__b64);
    if ((bits += 6) >= 8) {
      if (o >= cap) return -1;
      out[o++] = (unsigned char)(v >> (bits -= 8));
    }
  }
  if (q) {
    q->b64acc = v;
    q->b64bits = bits;
  } else if (pad > 2 || ((size_t)bits + pad * 6) % 8 || (v & ((1ul << bits) - 1))) {
    return -1;
  }
  return (long)o;
}


/* The stream's markup and names by their offset in the literal table. */
XEP0077__COLD static void xep0077__put(xep0077 *c, const char *s);
XEP0077__COLD static void xep0077__put_lit(xep0077 *c, int id) { xep0077__put(c, XEP0077__LIT(id)); }

XEP0077__COLD static void xep0077__wstart(xep0077 *c, int id)
{
  xep0077_xmlw_start(&c->w, XEP0077__LIT(id));
}

XEP0077__COLD static void xep0077__wattr(xep0077 *c, int id, const char *v)
{
  xep0077_xmlw_attr(&c->w, XEP0077__LIT(id), v);
}

/* An attribute of the current element; XMPP's own are unqualified. */
XEP0077__COLD static const char *xep0077__attr(const xep0077_xml *p, int name)
{
  return xep0077_xml_attr(p, "", XEP0077__LIT(name));
}

/* The decimal digits at the start of s (may be NULL) appended to v, until
   v reaches lim: a bounded parse of the numeric attributes. */
static int xep0077__digits(const char *s, int v, int lim)
{
  for (; s && *s >= '0' && *s <= '9' && v < lim; s++) v = v * 10 + (*s - '0');
  return v;
}

/* ASCII case-insensitive equality. Two bytes that differ are still equal
   when they differ only in the case bit (32) and are letters: then both
   are, and either one with the bit set is in a..z. */
static int xep0077__streq_ci(const char *a, const char *b)
{
  for (; *a; a++, b++)
    if (*a != *b && ((*a ^ *b) != 32 || (unsigned)((*a | 32) - 'a') > 25)) return 0;
  return !*b;
}

/* String src into dst[cap], cut to fit. */
static void xep0077__copy(char *dst, size_t cap, const char *src)
{
  while (--cap && *src) *dst++ = *src++; /* cap >= 1 */
  *dst = 0;
}

/* s (NULL: "") copied whole into dst[cap]; 0 when it does not fit. */
XEP0077__COLD static int xep0077__keep(char *dst, size_t cap, const char *s)
{
  size_t n = s ? strlen(s) : 0;
  if (n >= cap) return 0;
  memcpy(dst, s ? s : "", n + 1);
  return 1;
}

/* A caller's string for the stream: not NULL, at least min bytes, and
   text the writer accepts. */
static int xep0077__text_ok(const char *s, size_t min)
{
  size_t n;
  if (!s || (n = strlen(s)) < min) return 0;
  return xep0077__w_valid(s, n); /* 0 or 1 already: a tail call */
}

static void xep0077__log(xep0077 *c, int dir, const char *s, size_t n)
{
  if (c->cfg.log && n) c->cfg.log(c->cfg.user, dir, s, n);
}

/* -- output: one stanza at a time is appended to out[] and logged, with the
   ranges written by xep0077__put_secret shown as "***". */
XEP0077__COLD static void xep0077__out_begin(xep0077 *c)
{
  c->w.err = 0;
  c->log_from = c->w.len;
  c->nsecret = 0;
}

XEP0077__COLD static void xep0077__put(xep0077 *c, const char *s)
{
  xep0077__w_puts(&c->w, s);
}

/* Markup up to an attribute value's quote, then the value, escaped. */
XEP0077__COLD static void xep0077__put_attr(xep0077 *c, int markup, const char *s)
{
  xep0077__put(c, XEP0077__LIT(markup));
  xep0077__w_escaped(&c->w, s, strlen(s), 1);
}

XEP0077__COLD static void xep0077__put_secret(xep0077 *c, const char *s)
{
  size_t from = c->w.len;
  xep0077__w_escaped(&c->w, s, strlen(s), 0);
  if (c->nsecret < 4) {
    c->secret[c->nsecret][0] = from;
    c->secret[c->nsecret++][1] = c->w.len;
  } else { /* no room to list it: hide everything from the fourth on */
    c->secret[3][1] = (size_t)-1;
  }
}

/* The stanza written since out_begin is complete: log it, or take it back
   whole when it did not fit (nothing half-written ever reaches the wire). */
static int xep0077__out_end(xep0077 *c)
{
  size_t at = c->log_from;
  int i;
  if (c->w.err) {
    int rc = c->w.err == XEP0077_ERR_XMLW_FULL ? XEP0077_ERR_TOO_BIG : c->w.err;
    xep0077__wipe(c->out + c->log_from, c->w.len - c->log_from);
    c->w.len = c->log_from;
    c->w.err = c->w.depth = c->w.open = 0; /* the next stanza starts clean */
    return rc;
  }
  for (i = 0;; i++) { /* what precedes each secret, then the rest */
    xep0077__log(c, XEP0077_LOG_OUT, c->out + at,
                 (i < c->nsecret ? c->secret[i][0] : c->w.len) - at);
    if (i == c->nsecret) return 0;
    xep0077__log(c, XEP0077_LOG_OUT, "***", 3);
    at = c->secret[i][1];
    if (at == (size_t)-1) return 0;
  }
}

/* One send (rx 0) or receive (rx 1) of up to n bytes, through TLS when it
   is on: the count moved, XEP0077_WANT_READ/_WRITE as they came, or a
   status (the peer closed: ERR_CLOSED; a failure, or more than n: ERR_TLS
   or ERR_IO). */
XEP0077__COLD static int xep0077__io(xep0077 *c, int rx, unsigned char *b, size_t n)
{
  const xep0077_tls *t = c->cfg.tls;
  int r = c->tls_active ? (rx ? t->recv(t->ctx, b, n) : t->send(t->ctx, b, n))
                        : (rx ? c->cfg.recv(c->cfg.io, b, n) : c->cfg.send(c->cfg.io, b, n));
  if (r == XEP0077_WANT_READ || r == XEP0077_WANT_WRITE) return r;
  if (r == 0) return XEP0077_ERR_CLOSED;
  if (r < 0 || (size_t)r > n) return c->tls_active ? XEP0077_ERR_TLS : XEP0077_ERR_IO;
  return r;
}

/* Move queued output to the transport; 0, or a status when it failed. */
static int xep0077__flush(xep0077 *c)
{
  while (c->out_sent < c->w.len) {
    /* A write that would block must be retried with the same length: TLS
       stacks keep the record they began and report the old count. */
    size_t len = c->w.len - c->out_sent;
    int n;
    if (c->out_try && (size_t)c->out_try < len) len = (size_t)c->out_try;
    n = xep0077__io(c, 0, (unsigned char *)c->out + c->out_sent, len);
    if (n == XEP0077_WANT_READ || n == XEP0077_WANT_WRITE) {
      c->out_try = (int)len;
      return 0;
    }
    c->out_try = 0;
    if (n < 0) return n;
    c->out_sent += (size_t)n;
  }
  if (c->reg_kind == XEP0077__R_CANCEL && c->w.len) c->remove_sent = 1;
  /* Everything left: what was sent held secrets (SASL, passwords). */
  xep0077__wipe(c->out, c->w.len);
  c->w.len = c->out_sent = 0;
  return 0;
}

XEP0077__COLD static void xep0077__error_clear(xep0077 *c)
{
  memset(&c->error, 0, sizeof c->error);
}

static void xep0077__finish(xep0077 *c, int status)
{
  if (c->status == XEP0077_PENDING) c->status = status;
}

/* TLS ends with the stream: close_notify, best effort. */
static void xep0077__tls_close(xep0077 *c)
{
  if (c->tls_active && c->cfg.tls->close) c->cfg.tls->close(c->cfg.tls->ctx);
  c->tls_active = 0;
}

/* A fatal condition: the stream is unusable from here on. Status 0 is the
   end of a close: the operation running completes with success. */
static void xep0077__fail(xep0077 *c, int status)
{
  int ended = status == XEP0077_ERR_STREAM || status == XEP0077_ERR_CLOSED;
  xep0077__tls_close(c);
  c->phase = XEP0077__P_CLOSED;
  /* A dead stream sends and reads nothing more: unsent output, the input
     and the parser's memory may hold secrets (a password echoed in a reply
     the end cut short sits in the half-built token). in[], out[] and
     xmlmem[] follow each other in the struct. */
  xep0077__wipe(c->in, offsetof(xep0077, xmlmem) + sizeof c->xmlmem - offsetof(xep0077, in));
  c->w.len = c->out_sent = 0;
  c->out_try = 0;
  /* A server ends the stream of an account it just deleted: for a pending
     cancel_registration whose <remove/> went out, that is the success answer
     (prosody: not-authorized, ejabberd: conflict, or just a close).
     remove_sent is only ever set while that call's IQ runs (flush sets it,
     poll's end clears it with the call). */
  if (ended && c->remove_sent && c->status == XEP0077_PENDING &&
      (status == XEP0077_ERR_CLOSED ||
       (unsigned)(xep0077__word(c->error.condition) - XEP0077__W_NOT_AUTHORIZED) < 2)) {
    c->account_gone = 1;
    xep0077__error_clear(c);
    xep0077__finish(c, 0);
    return;
  }
  if (ended && c->account_gone) return; /* once deleted, the close is no news */
  if (c->status == XEP0077_PENDING) xep0077__finish(c, status); /* an op runs */
  else if (!c->late) c->late = status; /* reported by the next poll */
}

static void xep0077__header(xep0077 *c)
{
  xep0077_xml_restart(&c->xml);
  xep0077__out_begin(c);
  xep0077__put_attr(c, XEP0077__L(header), c->cfg.domain);
  xep0077__put_lit(c, XEP0077__L(header_end));
  c->phase = XEP0077__P_HEADER; /* not after: fail() leaves it closed */
  if (xep0077__out_end(c)) xep0077__fail(c, XEP0077_ERR_TOO_BIG);
}

XEP0077DEF int xep0077_init(xep0077 *c, const xep0077_config *cfg)
{
  memset(c, 0, sizeof *c);
  if (!cfg || !xep0077__text_ok(cfg->domain, 1) || !cfg->send || !cfg->recv || !cfg->now_ms)
    return XEP0077_ERR_ARG;
  if (cfg->tls ? !cfg->tls->start || !cfg->tls->handshake || !cfg->tls->send ||
                     !cfg->tls->recv || !cfg->tls->verified
               : cfg->direct_tls) /* direct TLS needs TLS */
    return XEP0077_ERR_ARG;
  c->cfg = *cfg;
  if (!c->cfg.timeout_ms) c->cfg.timeout_ms = 30000;
  if (!c->cfg.scram_max_iterations) c->cfg.scram_max_iterations = 100000;
  xep0077_xml_init(&c->xml, c->xmlmem, sizeof c->xmlmem);
  c->w.buf = c->out; /* xmlw_init on the zeroed writer: no flush callback */
  c->w.cap = sizeof c->out;
  return 0;
}

/* Begin an operation: one at a time, each with its deadline. Only here does
   status become PENDING, and op goes back to NONE only with a status that
   is not (login_start's refusal, close_start's hang-up, poll's end): so a
   PENDING status always has an op, and the tests below need no op test. */
static int xep0077__op(xep0077 *c, int op, unsigned long timeout_ms)
{
  if (c->op != XEP0077__OP_NONE) return XEP0077_ERR_STATE;
  c->op = op;
  c->status = XEP0077_PENDING;
  c->deadline = c->cfg.now_ms(c->cfg.user) + (timeout_ms ? timeout_ms : c->cfg.timeout_ms);
  xep0077__error_clear(c);
  return 0;
}

/* A failure seen while no operation ran is the answer to the next one. */
static int xep0077__take_late(xep0077 *c)
{
  int rc = c->late;
  c->late = 0;
  return rc;
}

static int xep0077__start_tls(xep0077 *c)
{
  int rc = c->cfg.tls->start(c->cfg.tls->ctx, c->cfg.send, c->cfg.recv, c->cfg.io,
                             c->cfg.domain);
  if (rc < 0) return XEP0077_ERR_TLS;
  c->phase = XEP0077__P_TLS;
  xep0077__log(c, XEP0077_LOG_INFO, "TLS handshake", 13);
  return 0;
}

XEP0077DEF int xep0077_connect_start(xep0077 *c, unsigned long timeout_ms)
{
  int rc;
  if (c->phase != XEP0077__P_IDLE) return XEP0077_ERR_STATE;
  /* Cannot fail: no operation starts while the stream is idle but this one,
     which leaves it (header() or start_tls()) or closes it (fail()). */
  xep0077__op(c, XEP0077__OP_CONNECT, timeout_ms);
  if (c->cfg.direct_tls) {
    if ((rc = xep0077__start_tls(c)) != 0) xep0077__fail(c, rc);
  } else {
    xep0077__header(c);
  }
  return XEP0077_PENDING;
}

/* -- SASL -------------------------------------------------------------- */
static size_t xep0077__hlen(int alg) { return alg == 256 ? 32 : 20; }

/* Writes the characters of s (no NUL) at dst; returns how many. */
XEP0077__COLD static size_t xep0077__cat(char *dst, const char *s)
{
  size_t n = 0;
  for (; s[n]; n++) dst[n] = s[n];
  return n;
}

/* One SASL element: head (its start tag), the base64 payload, which the
   log does not show, and the end tag. */
XEP0077__COLD static int xep0077__sasl_send(xep0077 *c, const char *head, const char *b64,
                                           const char *tail)
{
  xep0077__out_begin(c);
  xep0077__put(c, head);
  xep0077__put_secret(c, b64);
  xep0077__put(c, tail);
  return xep0077__out_end(c);
}

/* The mechanism, then <auth> with the client-first message. scram[] keeps
   client-first-bare, the start of the AuthMessage; the nonce is its tail. */
static int xep0077__sasl_auth(xep0077 *c)
{
  const xep0077_crypto *k = c->cfg.crypto;
  const char *u = c->username;
  char b64[sizeof c->scram * 4 / 3 + 4];
  size_t n = 0, ul = strlen(u), pl = strlen(c->password);
  int rc, f = c->features;
  static const char *const auth[] = { /* by sasl_alg: 0, 1, 256 (as 2) */
    "<auth xmlns='" XEP0077__NS_SASL "' mechanism='PLAIN'>",
    "<auth xmlns='" XEP0077__NS_SASL "' mechanism='SCRAM-SHA-1'>",
    "<auth xmlns='" XEP0077__NS_SASL "' mechanism='SCRAM-SHA-256'>"
  };

  /* the mechanism: the best both sides have */
  if (k && (f & XEP0077__FT_SHA256)) c->sasl_alg = 256;
  else if (k && (f & XEP0077__FT_SHA1)) c->sasl_alg = 1;
  /* PLAIN only inside TLS: verified, or unverified by the host's choice
     (login_start returned otherwise) */
  else if ((f & XEP0077__FT_PLAIN) && c->tls_active) c->sasl_alg = 0;
  else return XEP0077_ERR_SASL_MECH;

  if (c->sasl_alg) {
    unsigned char rnd[18];
    char *o = c->scram;
    /* ul * 3 + 48 > sizeof c->scram, divided: nothing to wrap */
    if (ul > (sizeof c->scram - 48) / 3) return XEP0077_ERR_ARG;
    if (k->random(k->ctx, rnd, sizeof rnd) < 0) return XEP0077_ERR_CRYPTO;
    n = xep0077__cat(o, "n,,n="); /* the GS2 header, kept in front for base64 */
    for (; *u; u++) { /* saslname: ',' and '=' escaped, as =2C and =3D */
      if (*u == ',' || *u == '=') n += xep0077__cat(o + n, &"=2C\0=3D"[*u == ',' ? 0 : 4]);
      else o[n++] = *u;
    }
    n += xep0077__cat(o + n, ",r=");
    n += xep0077__b64_enc(rnd, sizeof rnd, o + n);
    xep0077__b64_enc((const unsigned char *)o, n, b64);
    memmove(o, o + 3, n - 3); /* keep the bare message only */
    c->scram_len = n - 3;
    c->scram_step = 1; /* SCRAM only (PLAIN takes no challenge); if the
                          <auth> fails to go out, login_start wipes it */
  } else { /* PLAIN: \0user\0password */
    unsigned char *raw = (unsigned char *)c->scram;
    n = ul + pl + 2;
    if (n > sizeof c->scram) return XEP0077_ERR_ARG; /* then its base64 fits b64[] */
    raw[0] = 0;
    memcpy(raw + 1, c->username, ul + 1); /* with its NUL */
    memcpy(raw + ul + 2, c->password, pl);
    xep0077__b64_enc(raw, n, b64);
    xep0077__wipe(raw, n);
  }
  rc = xep0077__sasl_send(c, auth[c->sasl_alg == 256 ? 2 : c->sasl_alg], b64, "</auth>");
  xep0077__wipe(b64, sizeof b64);
  if (!rc) c->phase = XEP0077__P_SASL;
  return rc;
}

/* server-first in acc[]: check it, derive the keys, send client-final.
   Keeps the expected ServerSignature in salted[]. */
static int xep0077__sasl_challenge(xep0077 *c)
{
  const xep0077_crypto *k = c->cfg.crypto;
  int alg = c->sasl_alg;
  size_t hl = xep0077__hlen(alg), n, i, len[3];
  unsigned char sf[400], salt[96];
  struct { /* everything derived from the password: wiped at the end */
    unsigned char key[4][32]; /* ClientKey, ClientSignature, ServerKey, ServerSignature */
    char fin[320], b64[600];
  } t;
  const char *f[3], *s = (const char *)sf, *it;
  long sl, slen;
  unsigned long iter = 0;
  int rc = XEP0077_ERR_PROTOCOL;

  if (c->scram_step != 1) return rc; /* SCRAM, and one challenge */
  sl = xep0077__b64_dec(c->acc, c->acc_len, sf, sizeof sf - 1, NULL);
  if (sl < 0) return rc;
  sf[sl] = 0;
  if (strlen(s) != (size_t)sl) return rc;
  /* r=<nonce>,s=<salt>,i=<iterations>[,ext]: f[] and len[] are the values. */
  for (i = 0; i < 3; i++) {
    if (*s++ != "rsi"[i] || *s++ != '=') return rc;
    f[i] = s;
    s += strcspn(s, ",");
    len[i] = (size_t)(s - f[i]);
    if (i < 2 && !*s++) return rc;
  }
  slen = xep0077__b64_dec(f[1], len[1], salt, sizeof salt, NULL);
  if (slen <= 0) return rc;
  i = 0;
  do { /* digits only, at least one (if none, the ',' or NUL fails) */
    unsigned long d = (unsigned long)(f[2][i] - '0');
    if (d > 9) return rc;
    iter = iter * 10 + d;
    if (iter > 0xFFFFFFFul) return XEP0077_ERR_SASL_ITERATIONS; /* too many */
  } while (++i < len[2]);
  if (iter < 4096 || iter > c->cfg.scram_max_iterations) return XEP0077_ERR_SASL_ITERATIONS;
  /* The server's nonce must extend ours (the tail of client-first-bare,
     which scram[] holds as sasl_auth wrote it, scram_step being 1: its
     first ",r=" is there, for the saslname has ',' escaped). */
  it = strstr(c->scram, ",r=") + 3;
  i = c->scram_len - (size_t)(it - c->scram);
  if (len[0] <= i || strncmp(f[0], it, i)) return rc;
  /* The AuthMessage, client-first-bare "," server-first ","
     client-final-without-proof, appended to scram[]; fin copies its tail. */
  if (len[0] > 200 || c->scram_len + 1 + (size_t)sl + 1 + 9 + len[0] >= sizeof c->scram)
    return rc;
  i = c->scram_len;
  c->scram[i++] = ',';
  i += xep0077__cat(c->scram + i, (const char *)sf); /* server-first: no NUL in it (checked) */
  i += xep0077__cat(c->scram + i, ",c=biws,r="); /* biws: base64 of the GS2 header "n,," */
  memcpy(c->scram + i, f[0], len[0]);
  c->scram_len = i + len[0];
  n = 9 + len[0]; /* client-final-without-proof, the AuthMessage's tail, into fin */
  memcpy(t.fin, c->scram + c->scram_len - n, n);
  /* SaltedPassword, ClientKey, StoredKey, ClientSignature; ServerKey and
     ServerSignature, what the server must prove later. */
  rc = XEP0077_ERR_CRYPTO;
  if (k->pbkdf2(k->ctx, alg, (const unsigned char *)c->password, strlen(c->password),
                salt, (size_t)slen, iter, c->salted, hl) < 0)
    goto done;
  /* One HMAC call for the four: key[i] = HMAC(K, M) with, by i,
       0 ClientKey        K SaltedPassword  M "Client Key"
       1 ClientSignature  K StoredKey       M AuthMessage
       2 ServerKey        K SaltedPassword  M "Server Key"
       3 ServerSignature  K ServerKey       M AuthMessage
     key[2] holds StoredKey = H(ClientKey) until ServerKey replaces it. */
  for (i = 0; i < 4; i++)
    if (k->hmac(k->ctx, alg, i & 1 ? t.key[2] : c->salted, hl,
                (const unsigned char *)(i & 1 ? c->scram : &"Client KeyServer Key"[i * 5]),
                i & 1 ? c->scram_len : 10, t.key[i]) < 0 ||
        (!i && k->hash(k->ctx, alg, t.key[0], hl, t.key[2]) < 0))
      goto done;
  for (i = 0; i < hl; i++) t.key[0][i] ^= t.key[1][i]; /* the proof */
  n += xep0077__cat(t.fin + n, ",p=");
  n += xep0077__b64_enc(t.key[0], hl, t.fin + n);
  memcpy(c->salted, t.key[3], hl);
  xep0077__b64_enc((const unsigned char *)t.fin, n, t.b64);
  rc = xep0077__sasl_send(c, "<response xmlns='" XEP0077__NS_SASL "'>", t.b64, "</response>");
done:
  xep0077__wipe(&t, sizeof t);
  if (rc) xep0077__wipe(c->salted, sizeof c->salted);
  else c->scram_step = 2; /* salted[] now holds the ServerSignature */
  return rc;
}

/* <success/>: for SCRAM its payload must be v=ServerSignature. */
static int xep0077__sasl_success(xep0077 *c)
{
  unsigned char v[200], sig[40];
  long n, m;
  size_t hl = xep0077__hlen(c->sasl_alg), i;
  unsigned diff = 0;
  if (!c->sasl_alg) return 0;
  /* Without our client-final, salted[] holds no signature to compare. */
  if (c->scram_step != 2) return XEP0077_ERR_SASL_SIGNATURE;
  n = xep0077__b64_dec(c->acc, c->acc_len, v, sizeof v - 1, NULL);
  if (n < 3 || v[0] != 'v' || v[1] != '=') return XEP0077_ERR_SASL_SIGNATURE;
  m = xep0077__b64_dec((const char *)v + 2, (size_t)n - 2, sig, sizeof sig, NULL);
  if (m != (long)hl) return XEP0077_ERR_SASL_SIGNATURE;
  for (i = hl; i--;) diff |= (unsigned)(sig[i] ^ c->salted[i]);
  return diff ? XEP0077_ERR_SASL_SIGNATURE : 0;
}

XEP0077__COLD static void xep0077__sasl_wipe(xep0077 *c)
{
  /* scram[], salted[] and acc[] follow each other in the struct */
  xep0077__wipe(c->scram, offsetof(xep0077, acc) + sizeof c->acc - offsetof(xep0077, scram));
  c->password = NULL;
  c->scram_step = 0;
}

XEP0077DEF int xep0077_login_start(xep0077 *c, const char *username,
                                   const char *password, unsigned long timeout_ms)
{
  int rc;
  if (!xep0077__text_ok(username, 1) || !xep0077__text_ok(password, 0))
    return XEP0077_ERR_ARG;
  if (c->late) return xep0077__take_late(c);
  if (c->phase != XEP0077__P_READY || c->authenticated) return XEP0077_ERR_STATE;
  if (!c->secure && !(c->tls_active ? c->cfg.insecure_unverified_tls : c->cfg.insecure_plaintext))
    return XEP0077_ERR_INSECURE;
  if ((rc = xep0077__op(c, XEP0077__OP_LOGIN, timeout_ms)) != 0) return rc;
  c->username = username;
  c->password = password;
  if ((rc = xep0077__sasl_auth(c)) != 0) {
    xep0077__sasl_wipe(c);
    c->op = XEP0077__OP_NONE;
    c->status = 0;
    return rc;
  }
  return XEP0077_PENDING;
}

/* -- IQ ------------------------------------------------------------------ */
XEP0077DEF xep0077_xmlw *xep0077_writer(xep0077 *c) { return &c->w; }

static int xep0077__iq_start(xep0077 *c, const char *type, const char *to)
{
  char *id = c->next_id; /* armed by iq_send */
  unsigned long v;
  int i;
  /* iq_to names who must answer; no reply is awaited while one is begun */
  if ((to && !xep0077__text_ok(to, 0)) || !xep0077__keep(c->iq_to, sizeof c->iq_to, to))
    return XEP0077_ERR_ARG;
  /* A fresh id per request: a sequence number mixed so ids don't repeat
     across connections made in the same millisecond. */
  v = ++c->iq_seq * 2654435761ul + c->cfg.now_ms(c->cfg.user);
  for (i = 0; i < 8; i++, v >>= 4) /* upper case at even positions, lower at odd */
    id[i] = (char)('A' + (unsigned)(v & 15) + (unsigned)(i & 1) * ('a' - 'A'));
  id[8] = 0;
  xep0077__out_begin(c);
  xep0077__wstart(c, XEP0077__L(iq));
  xep0077__wattr(c, XEP0077__L(type), type);
  xep0077__wattr(c, XEP0077__L(id), id);
  if (to) xep0077__wattr(c, XEP0077__L(to), to);
  if (c->w.err) {
    id[0] = 0;
    return xep0077__out_end(c);
  }
  return 0;
}

XEP0077DEF int xep0077_iq_begin(xep0077 *c, const char *type, const char *to)
{
  if (c->late) return xep0077__take_late(c);
  if (c->phase != XEP0077__P_READY || c->iq_id[0] || c->next_id[0] ||
      c->op != XEP0077__OP_NONE)
    return XEP0077_ERR_STATE;
  return xep0077__iq_start(c, type, to);
}

static int xep0077__iq_arm(xep0077 *c, xep0077_iq_fn fn, void *user)
{
  int rc;
  /* close all; _end returns the sticky error, which stops it */
  while (c->w.depth > 0 && !xep0077_xmlw_end(&c->w)) continue;
  if ((rc = xep0077__out_end(c)) != 0) {
    c->next_id[0] = 0;
    return rc;
  }
  if (!c->next_id[0]) return XEP0077_ERR_STATE; /* no xep0077_iq_begin */
  xep0077__copy(c->iq_id, sizeof c->iq_id, c->next_id); /* a call: smaller than an inline copy */
  c->next_id[0] = 0;
  c->iq_fn = fn;
  c->iq_user = user;
  return 0;
}

XEP0077DEF int xep0077_iq_send(xep0077 *c, xep0077_iq_fn fn, void *user,
                               unsigned long timeout_ms)
{
  int rc;
  if (c->op != XEP0077__OP_NONE) return XEP0077_ERR_STATE;
  if ((rc = xep0077__iq_arm(c, fn, user)) != 0) return rc;
  xep0077__op(c, XEP0077__OP_IQ, timeout_ms); /* cannot fail: no op runs (above) */
  return XEP0077_PENDING;
}

/* A reply is ours only with our id and from the entity we asked: the one in
   'to', or for a request to the server none, our account or the domain. */
XEP0077__COLD static int xep0077__reply_from_ok(const xep0077 *c, const char *from)
{
  size_t bl;
  if (!from) return !c->iq_to[0];
  /* the entity asked, else the domain, or no from at all */
  if (xep0077__streq_ci(from, c->iq_to[0] ? c->iq_to : c->cfg.domain)) return 1;
  if (c->iq_to[0]) return 0;
  if (!*from) return 1;
  /* our full JID or its bare part (never when jid is "": from is not):
     as long as the bare part, from is compared with that, else whole */
  bl = strcspn(c->jid, "/");
  return !strncmp(from, c->jid, strlen(from) == bl ? bl : (size_t)-1);
}

/* The TEXT event's piece appended to acc[]. */
static void xep0077__acc(xep0077 *c)
{
  size_t n = c->xml.text_len;
  char *d;
  if (c->acc_len + n >= sizeof c->acc) {
    n = sizeof c->acc - 1 - c->acc_len;
    c->saw_text = 2; /* overflow: too long for what we read */
  }
  d = c->acc + c->acc_len;
  c->acc_len += n; /* before the call: not reloaded after it */
  memcpy(d, c->xml.text, n);
  d[n] = 0;
}

/* Fill c->error from the children of an <error/> (IQ), <stream:error/> or
   SASL <failure/>: cond_ns names the conditions' namespace (XEP0077__W_*). */
static void xep0077__error_event(xep0077 *c, int ev, int depth, int cond_ns)
{
  xep0077_xml *p = &c->xml;
  if (p->depth != depth) return;
  if (ev == XEP0077_XML_START) {
    if (xep0077__word(p->ns) != cond_ns) return;
    if (xep0077__word(p->name) == XEP0077__W_TEXT) c->saw_text = 1;
    else if (!c->error.condition[0])
      xep0077__copy(c->error.condition, sizeof c->error.condition, p->name);
  } else if (c->saw_text == 1) { /* 2 (acc full) stays */
    /* TEXT or END: at depth 2 or 3 the parser reports no other event */
    if (ev == XEP0077_XML_END) {
      c->saw_text = 0;
    } else {
      size_t have = strlen(c->error.text);
      xep0077__copy(c->error.text + have, sizeof c->error.text - have, p->text);
    }
  }
}

static void xep0077__bind(xep0077 *c);
static int xep0077__change_form(xep0077 *c, xep0077_query *q);

/* The reply to the IQ we sent has ended (iq_id is cleared already):
   complete the operation. It runs (PENDING): an IQ is armed only for one
   (iq_send starts its op, bind runs in the login, change_form in the
   registration call), and an op ends otherwise only through fail(), which
   closes the stream, so no reply is read after it. */
static void xep0077__reply_done(xep0077 *c, int rc)
{
  if (c->phase == XEP0077__P_BIND) {
    /* bind_fn returns only 0, so rc is 0 or ERR_IQ (an error reply). An
       unbound stream is good for nothing; the login runs (PENDING), so
       fail() ends it and leaves late alone. */
    if (rc || !c->jid[0]) {
      xep0077__fail(c, XEP0077_ERR_BIND);
    } else {
      c->phase = XEP0077__P_READY;
      c->status = 0;
    }
    return;
  }
  c->status = rc;
}

static int xep0077__bind_fn(xep0077 *c, int ev)
{
  xep0077_xml *p = &c->xml;
  if (p->depth == 3) { /* <bind><jid>: START, TEXT or END */
    if (ev == XEP0077_XML_TEXT) xep0077__acc(c);
    else if (xep0077__word(p->name) != XEP0077__W_JID) return 0;
    else if (ev == XEP0077_XML_START) c->acc_len = 0;
    /* A JID too long to keep stays "": cut, it would not be ours (ERR_BIND) */
    else if (c->acc_len < sizeof c->jid) xep0077__copy(c->jid, sizeof c->jid, c->acc);
  }
  return 0; /* a reply without a JID is reply_done's to fail */
}

/* <name xmlns='ns'> in the output: the payloads' elements. */
XEP0077__COLD static void xep0077__start_ns(xep0077 *c, int name, int ns)
{
  xep0077__wstart(c, name);
  xep0077__wattr(c, XEP0077__L(xmlns), XEP0077__LIT(ns));
}

static void xep0077__bind(xep0077 *c)
{
  int rc;
  c->phase = XEP0077__P_BIND; /* jid is "" (see features_done) */
  if ((rc = xep0077__iq_start(c, "set", NULL)) == 0) {
    xep0077__start_ns(c, XEP0077__L(bind), XEP0077__L(ns_bind));
    if (c->cfg.resource && *c->cfg.resource) {
      xep0077__wstart(c, XEP0077__L(resource));
      xep0077_xmlw_text(&c->w, c->cfg.resource);
    }
    rc = xep0077__iq_arm(c, xep0077__bind_fn, NULL);
  }
  if (rc) xep0077__fail(c, rc);
}

/* The feature list ended: the next step of connect or login. */
static void xep0077__features_done(xep0077 *c)
{
  int rc;
  if (!c->tls_active) {
    if ((c->features & XEP0077__FT_STARTTLS) && c->cfg.tls) { /* whenever it can be had */
      xep0077__out_begin(c);
      xep0077__put_lit(c, XEP0077__L(starttls));
      c->phase = XEP0077__P_STARTTLS; /* before a fail() closes it */
      if ((rc = xep0077__out_end(c)) != 0) xep0077__fail(c, rc);
      return;
    }
    if (!c->cfg.insecure_plaintext) {
      xep0077__fail(c, XEP0077_ERR_TLS_REQUIRED);
      return;
    }
  }
  /* After SASL: bind first. jid is "" then: only the bind reply sets it,
     and features follow only a restart (connect's, STARTTLS's, SASL's),
     none of which comes once bound. */
  if (c->authenticated) {
    if (!(c->features & XEP0077__FT_BIND)) xep0077__fail(c, XEP0077_ERR_BIND);
    else xep0077__bind(c);
    return;
  }
  /* Here only on connect's way: not authenticated (SASL's success set that
     before the restart, and bind follows it above), so this <stream:features/>
     follows connect_start's header or its STARTTLS: the connect runs
     (PENDING, else fail() closed the stream and nothing is parsed). */
  c->phase = XEP0077__P_READY;
  c->status = 0;
}

/* One parser event. Stanza-level routing happens at depth 1. */
static void xep0077__event(xep0077 *c, int ev)
{
  xep0077_xml *p = &c->xml;
  int d = p->depth, ns = XEP0077__W_NONE, nm = XEP0077__W_NONE, rc = 0;
  if (ev != XEP0077_XML_TEXT) { /* a TEXT event has no name */
    ns = xep0077__word(p->ns);
    nm = xep0077__word(p->name);
  }
  if (ev == XEP0077_XML_START && d == 0) { /* the server's stream header */
    const char *v = xep0077__attr(p, XEP0077__L(version));
    /* XMPP 1.0 or later: a major version of one or more digits, at least 1. */
    size_t major = v ? strspn(v, "0123456789") : 0;
    if (nm != XEP0077__W_STREAM || ns != XEP0077__W_STREAM_NS ||
        !v || !xep0077__digits(v, 0, 1) || (v[major] && v[major] != '.')) {
      xep0077__fail(c, XEP0077_ERR_PROTOCOL);
      return;
    }
    if (c->phase == XEP0077__P_HEADER) c->phase = XEP0077__P_FEATURES;
    return;
  }
  if (ev == XEP0077_XML_STREAM_END) { /* the answer to our close, else a failure */
    xep0077__fail(c, c->phase == XEP0077__P_CLOSING ? 0 : XEP0077_ERR_CLOSED);
    return;
  }
  if (ev == XEP0077_XML_START && d == 1) {
    const char *type = xep0077__attr(p, XEP0077__L(type));
    int t = type ? xep0077__word(type) : XEP0077__W_NONE;
    c->in_stanza = XEP0077__IN_IGNORE;
    c->acc_len = 0;
    c->saw_text = 0;
    c->acc[0] = 0;
    if (ns == XEP0077__W_STREAM_NS) {
      if (nm == XEP0077__W_FEATURES && c->phase == XEP0077__P_FEATURES) {
        c->in_stanza = XEP0077__IN_FEATURES;
        c->features = 0;
      } else if (nm == XEP0077__W_ERROR) {
        c->in_stanza = XEP0077__IN_STREAM_ERROR;
        if (!c->account_gone) xep0077__error_clear(c);
      }
    } else if (ns == XEP0077__W_TLS_NS && c->phase == XEP0077__P_STARTTLS) {
      c->in_stanza = XEP0077__IN_TLS;
    } else if (ns == XEP0077__W_SASL_NS && c->phase == XEP0077__P_SASL) {
      c->in_stanza = XEP0077__IN_SASL;
      xep0077__error_clear(c);
    } else if (ns == XEP0077__W_CLIENT_NS && nm == XEP0077__W_IQ) {
      const char *id = xep0077__attr(p, XEP0077__L(id));
      const char *from = xep0077__attr(p, XEP0077__L(from));
      if ((t == XEP0077__W_RESULT || t == XEP0077__W_ERROR) && c->iq_id[0] &&
          xep0077__is(id, c->iq_id) && xep0077__reply_from_ok(c, from)) {
        c->in_stanza = XEP0077__IN_REPLY;
        c->reply_err = t == XEP0077__W_ERROR; /* remembers the reply type */
        xep0077__error_clear(c);
      } else if ((t == XEP0077__W_GET || t == XEP0077__W_SET) && id &&
                 c->phase != XEP0077__P_CLOSING) { /* nothing after our </stream:stream> */
        if (xep0077__keep(c->peer_id, sizeof c->peer_id, id) &&
            xep0077__keep(c->peer_from, sizeof c->peer_from, from))
          c->in_stanza = XEP0077__IN_UNHANDLED;
      }
    }
  }

  switch (c->in_stanza) {
  case XEP0077__IN_FEATURES:
    if (ev == XEP0077_XML_START && d == 2) { /* <starttls/>, <bind/>, <register/> */
      unsigned m = (unsigned)(nm - XEP0077__W_STARTTLS);
      if (m < 3 && ns == XEP0077__W_TLS_NS + (int)m) c->features |= XEP0077__FT_STARTTLS << m;
    } else if (ev == XEP0077_XML_START && d == 3 && nm == XEP0077__W_MECHANISM &&
               ns == XEP0077__W_SASL_NS) {
      c->acc_len = 0;
      c->features |= XEP0077__FT_MECH;
    } else if (ev == XEP0077_XML_TEXT && (c->features & XEP0077__FT_MECH)) {
      xep0077__acc(c);
    } else if (ev == XEP0077_XML_END && (c->features & XEP0077__FT_MECH)) {
      int m = xep0077__word(c->acc) - XEP0077__W_SHA256; /* FT_SHA256, _SHA1, _PLAIN */
      c->features &= ~XEP0077__FT_MECH;
      if (m >= 0 && m < 3) c->features |= XEP0077__FT_SHA256 << m;
    } else if (ev == XEP0077_XML_STANZA_END) {
      xep0077__features_done(c);
    }
    return;

  case XEP0077__IN_TLS:
    if (ev != XEP0077_XML_STANZA_END) return;
    /* Anything already received after <proceed/> was sent in plaintext by
       someone before the handshake: a command injection, never parsed. */
    if (nm != XEP0077__W_PROCEED) rc = XEP0077_ERR_TLS;
    else if (xep0077_xml_pending(p)) rc = XEP0077_ERR_TLS_INJECTION;
    else rc = xep0077__start_tls(c);
    break;

  case XEP0077__IN_SASL:
    /* A failure here finishes the login (xep0077__fail), and the end of the
       same xep0077_poll call wipes its secrets (xep0077__sasl_wipe). */
    if (ev == XEP0077_XML_TEXT && d == 1) {
      xep0077__acc(c);
      return;
    }
    if (ev != XEP0077_XML_STANZA_END) { /* a <failure/>'s condition and text */
      xep0077__error_event(c, ev, 2, XEP0077__W_SASL_NS);
      return;
    }
    rc = XEP0077_ERR_PROTOCOL;
    if (nm == XEP0077__W_FAILURE) rc = XEP0077_ERR_SASL_FAILED;
    else if (c->saw_text == 2) rc = XEP0077_ERR_PROTOCOL; /* payload cut: acc full */
    else if (nm == XEP0077__W_CHALLENGE) rc = xep0077__sasl_challenge(c);
    else if (nm == XEP0077__W_SUCCESS && !(rc = xep0077__sasl_success(c))) {
      xep0077__sasl_wipe(c);
      c->authenticated = 1; /* bind follows the restart */
      xep0077__header(c);
    }
    break;

  case XEP0077__IN_STREAM_ERROR:
    if (ev == XEP0077_XML_STANZA_END) rc = XEP0077_ERR_STREAM;
    else if (!c->account_gone) xep0077__error_event(c, ev, 2, XEP0077__W_STREAMS_NS);
    break;

  case XEP0077__IN_REPLY:
    if (c->reply_err) { /* type='error': <error type code> and its condition */
      if (ev == XEP0077_XML_START && d == 2 && nm == XEP0077__W_ERROR) {
        const char *t = xep0077__attr(p, XEP0077__L(type));
        const char *code = xep0077__attr(p, XEP0077__L(code));
        if (t) xep0077__copy(c->error.type, sizeof c->error.type, t);
        c->error.code = xep0077__digits(code, 0, 10000);
      }
      xep0077__error_event(c, ev, 3, XEP0077__W_STANZAS_NS);
    }
    if (c->iq_fn) rc = c->iq_fn(c, ev);
    if (rc > 0) rc = 0; /* only statuses end the call; PENDING is not one */
    if (ev == XEP0077_XML_STANZA_END) {
      /* A follow-up may go out (change_form's). No iq_fn reads iq_id, and
         none can begin an IQ: the call runs, so iq_begin refuses anyway. */
      c->iq_id[0] = 0;
      if (!rc && c->reply_err) rc = XEP0077_ERR_IQ;
      if (rc == XEP0077_ERR_IQ && c->reg_kind == XEP0077__R_CHANGE) {
        int more = xep0077__change_form(c, (xep0077_query *)c->iq_user);
        if (more == XEP0077_PENDING) return;
        if (more < 0) rc = more;
      }
      if (!rc && c->reg_kind == XEP0077__R_CANCEL) c->account_gone = 1;
      xep0077__reply_done(c, rc);
    }
    return;

  case XEP0077__IN_UNHANDLED:
    /* RFC 6120 8.4: a request nobody here understands gets an answer,
       dropped whole if the buffer is full. */
    if (ev == XEP0077_XML_STANZA_END) {
      xep0077__out_begin(c);
      xep0077__put_attr(c, XEP0077__L(iq_error), c->peer_id);
      if (c->peer_from[0]) xep0077__put_attr(c, XEP0077__L(and_to), c->peer_from);
      xep0077__put_lit(c, XEP0077__L(unavailable));
      xep0077__out_end(c); /* peer_id is read nowhere else: no need to clear it */
    }
    return;
  default:
    return;
  }
  if (rc) xep0077__fail(c, rc);
}

XEP0077DEF int xep0077_close_start(xep0077 *c, unsigned long timeout_ms)
{
  int rc;
  if (c->phase == XEP0077__P_IDLE) return XEP0077_ERR_STATE;
  if (c->phase == XEP0077__P_CLOSED) return 0; /* already: nothing to say */
  if ((rc = xep0077__op(c, XEP0077__OP_CLOSE, timeout_ms ? timeout_ms : 2000)) != 0) return rc;
  xep0077__out_begin(c);
  xep0077__put_lit(c, XEP0077__L(close));
  c->phase = XEP0077__P_CLOSING;
  if (xep0077__out_end(c)) { /* no room to say goodbye: just hang up */
    /* fail() ends the close with status 0 and leaves late as it was: 0, since
       only fail() sets it and a closed stream returned above */
    xep0077__fail(c, 0);
    c->op = XEP0077__OP_NONE;
    return 0;
  }
  return XEP0077_PENDING;
}

/* Replies that may echo a secret (SASL, and a registration error can carry
   the submitted password back): not logged, and wiped once read. */
static int xep0077__secret_reply(const xep0077 *c)
{
  return c->phase == XEP0077__P_SASL || c->reg_kind >= XEP0077__R_REGISTER;
}

/* The parser's memory past what it still needs: text and closed elements
   it already handed out (an END pops its frame, a TEXT drops its bytes, at
   once: both end at p->mark). */
XEP0077__COLD static void xep0077__xml_scrub(xep0077_xml *p)
{
  xep0077__wipe(p->buf + p->mark, p->cap - p->mark);
}

static void xep0077__tls_step(xep0077 *c)
{
  int rc = c->cfg.tls->handshake(c->cfg.tls->ctx);
  if (rc == 0) {
    c->tls_active = 1;
    c->secure = c->cfg.tls->verified(c->cfg.tls->ctx) == 1;
    xep0077__log(c, XEP0077_LOG_INFO, c->secure ? "TLS verified" : "TLS NOT verified",
                 c->secure ? 12 : 16);
    /* c->features needs no reset: the next <stream:features/> does it */
    xep0077__header(c);
  } else if (rc != XEP0077_WANT_READ && rc != XEP0077_WANT_WRITE) {
    xep0077__fail(c, rc == XEP0077_ERR_TLS_VERIFY ? rc : XEP0077_ERR_TLS);
  }
}

XEP0077DEF int xep0077_poll(xep0077 *c)
{
  int rc, ev = 0, rounds, secret = 0;
  c->again = 0;
  /* Bounded work per call, so a game frame stays short whatever arrives.
     Each round begins by sending what is queued, and so does the end: the
     last pass (16: a round too many; 17: after a read that would block)
     only flushes. phase < P_TLS: the phases that send and parse (TLS and
     CLOSED sort last). */
  for (rounds = 0;; rounds++) {
    /* a round too many on a live stream (IDLE only ever ends round 0):
       said before a failing flush closes it */
    if (rounds == 16 && c->phase != XEP0077__P_CLOSED) c->again = 1;
    if (c->phase < XEP0077__P_TLS && (rc = xep0077__flush(c)) != 0) xep0077__fail(c, rc);
    if (c->phase == XEP0077__P_IDLE || c->phase == XEP0077__P_CLOSED || rounds >= 16) break;
    if (c->phase == XEP0077__P_TLS) { /* also right after <proceed/> */
      xep0077__tls_step(c);
      if (c->phase == XEP0077__P_TLS) break; /* waits for the peer */
      continue;
    }
    if (!xep0077_xml_pending(&c->xml)) {
      int n = xep0077__io(c, 1, c->in, sizeof c->in);
      if (n == XEP0077_WANT_READ || n == XEP0077_WANT_WRITE) {
        rounds = 16; /* one more flush, then out (not "again") */
        continue;
      }
      if (n < 0) { /* after our </stream:stream>, the close is the answer */
        xep0077__fail(c, n == XEP0077_ERR_CLOSED && c->phase == XEP0077__P_CLOSING ? 0 : n);
        break;
      }
      if (xep0077__secret_reply(c)) {
        secret = 1;
        xep0077__log(c, XEP0077_LOG_IN, "[reply not shown: may hold secrets]", 35);
      } else {
        xep0077__log(c, XEP0077_LOG_IN, (const char *)c->in, (size_t)n);
      }
      xep0077_xml_feed(&c->xml, c->in, (size_t)n);
    }
    while (c->phase < XEP0077__P_TLS && (ev = xep0077_xml_next(&c->xml)) != 0) {
      if (ev < 0) xep0077__fail(c, ev); /* which ends both loops */
      else xep0077__event(c, ev);
    }
  }
  if (c->status == XEP0077_PENDING && /* an op runs (see xep0077__op) */
      (long)(c->cfg.now_ms(c->cfg.user) - c->deadline) >= 0) {
    xep0077__fail(c, c->op == XEP0077__OP_CLOSE ? 0 : XEP0077_ERR_TIMEOUT);
  }
  /* No TLS to close here: only fail() makes the phase CLOSED, right after
     its tls_close(), and tls_active is set only in phase TLS (tls_step). */
  /* All of it read: forget it. (Never to be read, when the stream ended
     with input still buffered: fail() wiped it, with the parser's memory.) */
  if (secret && !xep0077_xml_pending(&c->xml)) {
    xep0077__wipe(c->in, sizeof c->in);
    xep0077__xml_scrub(&c->xml);
  }
  /* (no op: the status is not PENDING, see xep0077__op) */
  if (c->op == XEP0077__OP_NONE) return xep0077__take_late(c); /* reported once */
  if (c->status == XEP0077_PENDING) return XEP0077_PENDING;
  /* password is set only while a login runs: login_start sets it after op()
     and, failing, wipes it before op goes NONE; here it goes with the op. */
  if (c->op == XEP0077__OP_LOGIN) xep0077__sasl_wipe(c);
  c->new_pass = c->old_pass = NULL;
  c->reg_kind = c->remove_sent = 0;
  c->op = XEP0077__OP_NONE;
  rc = c->status;
  c->status = 0;
  return rc;
}

XEP0077DEF int xep0077_wait(xep0077 *c)
{
  for (;;) {
    int rc = xep0077_poll(c);
    unsigned long now;
    if (rc != XEP0077_PENDING) return rc;
    now = c->cfg.now_ms(c->cfg.user);
    if (c->cfg.wait && !c->again)
      c->cfg.wait(c->cfg.io, c->out_sent < c->w.len,
                  (long)(c->deadline - now) > 0 ? c->deadline - now : 0);
  }
}

/* The blocking calls: the _start, then the pump until it ends. The status
   comes first: it is already in the first argument register when the
   _start returns, so each blocking call only moves c. */
XEP0077__COLD static int xep0077__block(int rc, xep0077 *c)
{
  return rc == XEP0077_PENDING ? xep0077_wait(c) : rc;
}

XEP0077DEF int xep0077_connect(xep0077 *c, unsigned long timeout_ms)
{
  return xep0077__block(xep0077_connect_start(c, timeout_ms), c);
}

XEP0077DEF int xep0077_login(xep0077 *c, const char *username, const char *password,
                             unsigned long timeout_ms)
{
  return xep0077__block(xep0077_login_start(c, username, password, timeout_ms), c);
}

XEP0077DEF int xep0077_close(xep0077 *c, unsigned long timeout_ms)
{
  return xep0077__block(xep0077_close_start(c, timeout_ms), c);
}


/* ---- 4. In-band registration (XEP-0077) --------------------------------- */

enum { XEP0077__K_NONE, XEP0077__K_STRING, XEP0077__K_DATA }; /* open text */
enum { XEP0077__F_NONE, XEP0077__F_IN, XEP0077__F_DONE }; /* the (first) form */

XEP0077DEF void xep0077_query_clear(xep0077_query *q)
{
  size_t keep = offsetof(xep0077_query, pool_len); /* on_data, data_user */
  memset((char *)q + keep, 0, sizeof *q - keep);
  q->cur_field = q->last_option = -1;
}

/* The query's pool holds the server's strings back to back. A string opens
   at its element's START and grows with each TEXT piece: q_text appends
   and returns where the string began, or NULL (and q->err) when the pool
   is full. */
static const char *xep0077__q_text(xep0077_query *q, const char *t, size_t n)
{
  char *s = q->pool + q->pool_len;
  if (q->pool_len + n + 1 > sizeof q->pool) { q->err = XEP0077_ERR_NOMEM; return NULL; }
  q->pool_len += n; /* before the call: not reloaded after it */
  memcpy(s, t, n);
  s[n] = 0;
  return s;
}

static const char *xep0077__q_open(xep0077_query *q, int depth)
{
  const char *s = xep0077__q_text(q, "", 0);
  if (s) {
    q->text_kind = XEP0077__K_STRING;
    q->open = depth;
  }
  return s;
}

/* A copy of s (n bytes) in the pool, NUL-terminated, or NULL. */
XEP0077__COLD static const char *xep0077__q_strn(xep0077_query *q, const char *s, size_t n)
{
  const char *r = xep0077__q_text(q, s, n);
  if (r) q->pool_len++; /* keep the NUL */
  return r;
}

/* A copy of string s (an attribute, a name) in the pool; NULL when s is
   (an absent attribute) or the pool is full. */
XEP0077__COLD static const char *xep0077__q_str(xep0077_query *q, const char *s)
{
  return s ? xep0077__q_strn(q, s, strlen(s)) : NULL;
}

/* XEP-0231 data: decode the base64 pieces as they arrive and hand them on,
   96 bytes at a time; the loop's last pass (i == n) hands on the rest, and
   the end (last) when it is the data's. Once the host abandoned the image,
   or when it takes none, there is nothing to decode. */
XEP0077__COLD static void xep0077__q_data(xep0077_query *q, const char *t, size_t n, int last)
{
  unsigned char out[96];
  size_t o = 0, i;
  for (i = 0; i <= n && q->on_data && !q->data_skip; i++) {
    int fin = i == n;
    /* one character at a time: at most one byte each, and out[] is handed
       on the moment it is full */
    if (!fin && xep0077__b64_dec(t + i, 1, out + o, 1, q)) o++; /* a byte came */
    if (o == sizeof out || (fin && (o || last))) {
      if (q->on_data(q->data_user, q->data_cid, q->data_type, out, o, fin && last) < 0)
        q->data_skip = 1;
      o = 0;
    }
  }
}

/* A new item of the current form field; counted in *count. Like every
   entry added while a reply is read, it starts zeroed (label NULL). */
static xep0077_item *xep0077__q_item(xep0077_query *q, int kind, int *count)
{
  xep0077_item *it;
  if (q->nitems >= XEP0077_QUERY_ITEMS) { q->err = XEP0077_ERR_NOMEM; return NULL; }
  (*count)++;
  it = &q->item[q->nitems++];
  it->field = q->cur_field;
  it->kind = kind;
  it->text = "";
  return it;
}

XEP0077DEF const xep0077_item *xep0077_form_item(const xep0077_query *q, int i, int kind, int k)
{
  const xep0077_item *it = q->item, *end = it + q->nitems;
  for (; it < end; it++)
    if (it->field == i && it->kind == kind && k-- == 0) return it;
  return NULL;
}

/* What an element of the reply is to the query, by namespace, depth and
   name: the reply is <iq> (depth 1) > <query/> (2) > its children (3); the
   XEP-0004 form <x/> is one of them, with <field/>s at 4 and their
   <value/>, <option/>, <media/> at 5, an option's <value/> and a media
   <uri/> at 6; XEP-0066 <x><url/><desc/></x> at 4; XEP-0231 <data/>
   anywhere. One table lookup instead of a chain of compares. */
enum { /* the actions, grouped by where they apply */
  XEP0077__A_DATA, XEP0077__A_SLOT, XEP0077__A_FLAG, XEP0077__A_FIELD, XEP0077__A_FORM,
  XEP0077__A_FSLOT, XEP0077__A_FFIELD,    /* inside the (first) form only */
  XEP0077__A_VALUE, XEP0077__A_OPTION, XEP0077__A_URI, /* inside a form field only */
  XEP0077__A_REQUIRED, XEP0077__A_DESC, XEP0077__A_MEDIA, XEP0077__A_OPTVALUE
};
#define XEP0077__NS_OOB "jabber:x:oob"
#define XEP0077__NS_MEDIA "urn:xmpp:media-element"
#define XEP0077__NS_BOB "urn:xmpp:bob"
static const struct xep0077__reg_rule {
  unsigned short off; /* the member set: _SLOT, _FSLOT, _FLAG in the
                         query; _DESC, and the count of an item, in the
                         form field. The first matching rule wins: the
                         named children of <query/> come before the
                         catch-all legacy field rule ("")             */
  unsigned char depth, act;     /* depth 0: any                           */
  const char *ns;
  char name[13];                /* "": any other name                     */
} xep0077__reg_rules[] = {
  {0, 0, XEP0077__A_DATA, XEP0077__NS_BOB, "data"},
  {offsetof(xep0077_query, instructions), 3, XEP0077__A_SLOT, XEP0077__NS_REGISTER, "instructions"},
  {offsetof(xep0077_query, registered), 3, XEP0077__A_FLAG, XEP0077__NS_REGISTER, "registered"},
  {offsetof(xep0077_query, remove), 3, XEP0077__A_FLAG, XEP0077__NS_REGISTER, "remove"},
  {0, 3, XEP0077__A_FIELD, XEP0077__NS_REGISTER, ""},
  {0, 3, XEP0077__A_FORM, XEP0077__NS_DATA, "x"},
  {offsetof(xep0077_query, oob_url), 4, XEP0077__A_SLOT, XEP0077__NS_OOB, "url"},
  {offsetof(xep0077_query, oob_desc), 4, XEP0077__A_SLOT, XEP0077__NS_OOB, "desc"},
  {offsetof(xep0077_query, form_title), 4, XEP0077__A_FSLOT, XEP0077__NS_DATA, "title"},
  {offsetof(xep0077_query, form_instructions), 4, XEP0077__A_FSLOT, XEP0077__NS_DATA,
   "instructions"},
  {0, 4, XEP0077__A_FFIELD, XEP0077__NS_DATA, "field"},
  {offsetof(xep0077_form_field, nvalues), 5, XEP0077__A_VALUE, XEP0077__NS_DATA, "value"},
  {offsetof(xep0077_form_field, noptions), 5, XEP0077__A_OPTION, XEP0077__NS_DATA, "option"},
  {0, 5, XEP0077__A_REQUIRED, XEP0077__NS_DATA, "required"},
  {offsetof(xep0077_form_field, desc), 5, XEP0077__A_DESC, XEP0077__NS_DATA, "desc"},
  {0, 5, XEP0077__A_MEDIA, XEP0077__NS_MEDIA, "media"},
  {0, 6, XEP0077__A_OPTVALUE, XEP0077__NS_DATA, "value"},
  {offsetof(xep0077_form_field, nuris), 6, XEP0077__A_URI, XEP0077__NS_MEDIA, "uri"}
};

/* The attributes kept from an element whose rule has action act: copied
   into the pool and stored at off in that action's base: the query (DATA),
   the new form field (FFIELD), the new item (OPTION, URI); for MEDIA the
   form field's width and height, parsed as numbers. */
static const struct xep0077__reg_attr {
  unsigned short off;
  unsigned char act;
  char name[7];
} xep0077__reg_attrs[] = {
  {offsetof(xep0077_query, data_cid), XEP0077__A_DATA, "cid"},
  {offsetof(xep0077_query, data_type), XEP0077__A_DATA, "type"},
  {offsetof(xep0077_form_field, var), XEP0077__A_FFIELD, "var"},
  {offsetof(xep0077_form_field, type), XEP0077__A_FFIELD, "type"},
  {offsetof(xep0077_form_field, label), XEP0077__A_FFIELD, "label"},
  {offsetof(xep0077_item, label), XEP0077__A_OPTION, "label"},
  {offsetof(xep0077_item, label), XEP0077__A_URI, "type"},
  {offsetof(xep0077_form_field, media_width), XEP0077__A_MEDIA, "width"},
  {offsetof(xep0077_form_field, media_height), XEP0077__A_MEDIA, "height"}
};

/* The reply to a registration request, event by event, into the query. */
static int xep0077__reg_fn(xep0077 *c, int ev)
{
  xep0077_xml *p = &c->xml;
  xep0077_query *q = (xep0077_query *)c->iq_user;
  const struct xep0077__reg_rule *r;
  const struct xep0077__reg_attr *a;
  const char **slot = NULL;
  char *base;
  int d = p->depth;
  xep0077_form_field *f;
  xep0077_item *it;

  if (!q) return 0;
  if (ev == XEP0077_XML_TEXT) { /* a piece of the text being read */
    if (q->open != d) return 0;
    if (q->text_kind == XEP0077__K_DATA) xep0077__q_data(q, p->text, p->text_len, 0);
    else xep0077__q_text(q, p->text, p->text_len);
    return 0;
  }
  if (ev != XEP0077_XML_START) { /* END or STANZA_END: a reply has no other */
    if (q->open == d) { /* the text being read is closed */
      if (q->text_kind == XEP0077__K_DATA) xep0077__q_data(q, "", 0, 1);
      else q->pool_len++; /* keep the NUL */
      q->text_kind = XEP0077__K_NONE;
      q->open = 0;
    }
    if (q->form_state == XEP0077__F_IN) { /* the form is at depth 3, its fields at 4 */
      if (d == 4) q->cur_field = q->last_option = -1;
      if (d == 3) q->form_state = XEP0077__F_DONE; /* first form only */
    }
    if (ev == XEP0077_XML_END) return 0;
    if (q->form_present) q->form_type = xep0077_query_get(q, "FORM_TYPE");
    if (q->err) return q->err;
    if (!c->reply_err && c->reg_kind == XEP0077__R_FIELDS && q->oob_url && !q->nfields &&
        !q->form_present)
      return XEP0077_ERR_REDIRECT;
    return 0;
  }
  if (d == 1) { /* the reply replaces whatever the query held: the entries
                   added below start zeroed */
    xep0077_query_clear(q);
    return 0;
  }
  if (q->open) return 0; /* markup inside a text field: not ours */
  for (r = xep0077__reg_rules;; r++) {
    if (r == xep0077__reg_rules + sizeof xep0077__reg_rules / sizeof *r) return 0;
    if ((!r->depth || r->depth == d) && (!r->name[0] || !strcmp(r->name, p->name)) &&
        !strcmp(r->ns, p->ns))
      break;
  }
  if (r->act >= XEP0077__A_FSLOT && q->form_state != XEP0077__F_IN) return 0;
  if (r->act >= XEP0077__A_VALUE && q->cur_field < 0) return 0;
  base = (char *)q;
  f = &q->form[r->act >= XEP0077__A_VALUE ? q->cur_field : q->nform];
  switch (r->act) {
  case XEP0077__A_DATA:
    q->b64acc = 0;
    q->b64bits = q->data_skip = 0;
    q->text_kind = XEP0077__K_DATA;
    q->open = d;
    break;
  case XEP0077__A_DESC:
    base = (char *)f;
    /* fall through */
  case XEP0077__A_SLOT:
  case XEP0077__A_FSLOT: /* the first one counts */
    slot = (const char **)(void *)(base + r->off);
    if (*slot) return 0;
    break;
  case XEP0077__A_FLAG:
    *(int *)(void *)(base + r->off) = 1; /* and listed as a field too */
    /* fall through */
  case XEP0077__A_FIELD: {
    xep0077_field *l = &q->field[q->nfields];
    if (q->nfields >= XEP0077_QUERY_FIELDS) { q->err = XEP0077_ERR_NOMEM; return 0; }
    if (!(l->name = xep0077__q_str(q, p->name))) return 0; /* full */
    if ((l->value = xep0077__q_open(q, d)) != NULL) q->nfields++;
    return 0;
  }
  case XEP0077__A_FORM:
    if (q->form_state == XEP0077__F_NONE) {
      q->form_present = 1;
      q->form_state = XEP0077__F_IN;
    }
    return 0;
  case XEP0077__A_FFIELD:
    if (q->nform >= XEP0077_QUERY_FIELDS) { q->err = XEP0077_ERR_NOMEM; return 0; }
    q->cur_field = q->nform++; /* f, zeroed */
    base = (char *)f;
    break;
  case XEP0077__A_VALUE:
  case XEP0077__A_OPTION:
  case XEP0077__A_URI:
    it = xep0077__q_item(q, r->act - XEP0077__A_VALUE, (int *)(void *)((char *)f + r->off));
    if (!it) return 0;
    base = (char *)it;
    if (r->act == XEP0077__A_OPTION) q->last_option = q->nitems - 1; /* its value follows */
    else slot = &it->text;
    break;
  case XEP0077__A_REQUIRED:
    f->required = 1;
    return 0;
  case XEP0077__A_MEDIA:
    base = (char *)f;
    break;
  default: /* XEP0077__A_OPTVALUE */
    if (q->last_option < 0) return 0;
    slot = &q->item[q->last_option].text;
    q->last_option = -1;
  }
  /* The attributes kept (before the text: it grows at the pool's end). */
  for (a = xep0077__reg_attrs; a < xep0077__reg_attrs + sizeof xep0077__reg_attrs / sizeof *a; a++)
    if (a->act == r->act) {
      void *m = base + a->off;
      if (r->act == XEP0077__A_MEDIA) /* a number */
        *(int *)m = xep0077__digits(xep0077_xml_attr(p, "", a->name), *(int *)m, 100000);
      else
        *(const char **)m = xep0077__q_str(q, xep0077_xml_attr(p, "", a->name));
    }
  if (slot) *slot = xep0077__q_open(q, d);
  return 0;
}

/* -- the caller's side of a query -- */
/* The index of the form field var when there is a form, else of the legacy
   field name; or -1. Both arrays are searched by one loop, by stride. */
static int xep0077__q_find(const xep0077_query *q, const char *name)
{
  int form = q->form_present, i, n = form ? q->nform : q->nfields;
  const char *s = form ? (const char *)&q->form[0].var : (const char *)&q->field[0].name;
  for (i = 0; i < n; i++, s += form ? sizeof q->form[0] : sizeof q->field[0]) {
    const char *v = *(const char *const *)(const void *)s;
    if (xep0077__is(v, name)) return i;
  }
  return -1;
}

XEP0077DEF int xep0077_query_set(xep0077_query *q, const char *name, const char *value)
{
  int i;
  if (!name || !*name) return XEP0077_ERR_ARG;
  i = xep0077__q_find(q, name);
  if (q->form_present) {
    if (i < 0) return XEP0077_ERR_ARG;
    q->form[i].set = value;
    return 0;
  }
  if (i < 0) {
    if (q->nfields >= XEP0077_QUERY_FIELDS) return XEP0077_ERR_NOMEM;
    i = q->nfields++;
    q->field[i].name = name; /* the caller's string: it must outlive the call */
    q->field[i].value = "";
  }
  q->field[i].set = value;
  return 0;
}

XEP0077DEF const char *xep0077_query_get(const xep0077_query *q, const char *name)
{
  int i = xep0077__q_find(q, name);
  if (i < 0) return NULL;
  if (q->form_present) {
    const xep0077_item *v;
    if (q->form[i].set) return q->form[i].set;
    v = xep0077_form_item(q, i, XEP0077_ITEM_VALUE, 0);
    return v ? v->text : NULL;
  }
  return q->field[i].set ? q->field[i].set : q->field[i].value;
}

/* What legacy field l sends: the caller's value, else the server's, "" for
   none; NULL for the fields that describe the query rather than ask for a
   value (registered, remove). */
static const char *xep0077__l_value(const xep0077_field *l)
{
  const char *v = l->set ? l->set : l->value;
  if (!l->name || !strcmp(l->name, "registered") || !strcmp(l->name, "remove")) return NULL;
  return v ? v : "";
}

XEP0077DEF const char *xep0077_query_missing(const xep0077_query *q)
{
  int i, form = q->form_present;
  for (i = 0; i < (form ? q->nform : q->nfields); i++) {
    const xep0077_form_field *f = &q->form[i];
    const xep0077_field *l = &q->field[i];
    const char *name = form ? f->var : l->name, *v;
    if (form) { /* the form says which are required; one without var
                   cannot be filled, so it is never the missing one */
      if (!f->required || !name) continue;
      v = xep0077_query_get(q, name);
    } else if ((v = xep0077__l_value(l)) == NULL) {
      continue; /* XEP-0077: every other listed field is required */
    }
    if (!v || !*v) return name;
  }
  return NULL;
}

XEP0077DEF int xep0077_get_used_fields(const xep0077_query *q, const char **names, int max)
{
  int i, k, n = 0;
  for (i = 0; i < q->nfields + q->nform && n < max; i++) {
    int f = i - q->nfields; /* >= 0: a form field */
    const char *s = f < 0 ? q->field[i].name : q->form[f].var;
    if (!s || (f >= 0 && !strcmp(s, "FORM_TYPE"))) continue;
    /* each once: prosody sends each field twice, as a legacy element and
       in the form */
    for (k = 0; k < n && strcmp(names[k], s); k++) continue;
    if (k == n) names[n++] = s;
  }
  return n;
}

/* One value: <name>v</name>, or <value>v</value> of form field f. A
   password or text-private field's value is written so that it never
   reaches the log. */
static void xep0077__put_value(xep0077 *c, const char *name, const xep0077_form_field *f,
                               const char *v)
{
  const char *type = NULL;
  if (f) {
    name = f->var;
    type = f->type;
  }
  xep0077_xmlw_start(&c->w, f ? "value" : name);
  xep0077__w_close_tag(&c->w);
  if (xep0077__is(type, "text-private") || strstr(name, "password"))
    xep0077__put_secret(c, v);
  else
    xep0077_xmlw_text(&c->w, v);
  xep0077_xmlw_end(&c->w);
}

/* What the caller filled in, inside the <query/>: the form alone when there
   is one, else the legacy fields. xep0077__iq_arm closes what is open. */
static void xep0077__put_query(xep0077 *c, const xep0077_query *q)
{
  int i, k;
  if (q->form_present) {
    xep0077__start_ns(c, XEP0077__L(x), XEP0077__L(ns_data));
    xep0077__wattr(c, XEP0077__L(type), "submit");
    for (i = 0; i < q->nform; i++) {
      const xep0077_form_field *f = &q->form[i];
      if (!f->var || xep0077__is(f->type, "fixed")) continue;
      /* The caller's value, else (hidden fields, defaults) the values as
         they came; a field with nothing to say is left out. */
      for (k = 0;; k++) {
        const char *v = f->set;
        if (!v || k) {
          const xep0077_item *it = v ? NULL : xep0077_form_item(q, i, XEP0077_ITEM_VALUE, k);
          if (!it) break;
          v = it->text;
        }
        if (!k) {
          xep0077__wstart(c, XEP0077__L(field));
          xep0077__wattr(c, XEP0077__L(var), f->var);
        }
        xep0077__put_value(c, NULL, f, v);
      }
      if (k) xep0077_xmlw_end(&c->w);
    }
  } else {
    for (i = 0; i < q->nfields; i++) {
      const char *v = xep0077__l_value(&q->field[i]);
      if (v && *v) xep0077__put_value(c, q->field[i].name, NULL, v);
    }
  }
}


/* Begin the IQ of a registration call (an XEP0077__R_*): a get for the
   fields and the account's info, else a set. The account's calls (info,
   change, cancel) need a login; those that send a password (register,
   change) need verified TLS unless the config opted out. */
enum {
  XEP0077__RB_GET = 1 << XEP0077__R_FIELDS | 1 << XEP0077__R_INFO,
  XEP0077__RB_LOGIN = 1 << XEP0077__R_INFO | 1 << XEP0077__R_CHANGE | 1 << XEP0077__R_CANCEL,
  XEP0077__RB_SECRET = 1 << XEP0077__R_REGISTER | 1 << XEP0077__R_CHANGE
};
static int xep0077__reg_begin(xep0077 *c, int kind, const char *to)
{
  int rc;
  if ((XEP0077__RB_LOGIN >> kind & 1) && (!c->authenticated || !c->jid[0]))
    return XEP0077_ERR_STATE;
  if ((XEP0077__RB_SECRET >> kind & 1) && !c->secure &&
      !(c->tls_active ? c->cfg.insecure_unverified_tls : c->cfg.insecure_plaintext))
    return XEP0077_ERR_INSECURE;
  if ((rc = xep0077_iq_begin(c, XEP0077__RB_GET >> kind & 1 ? "get" : "set", to)) != 0) return rc;
  c->reg_kind = kind; /* not before: a busy stream keeps the running call's */
  xep0077__start_ns(c, XEP0077__L(query), XEP0077__L(ns_register)); /* iq_arm closes it */
  return 0;
}

/* The payload of the call begun, then send it. */
static int xep0077__reg_send(xep0077 *c, xep0077_query *q, unsigned long timeout_ms)
{
  int rc;
  if (c->reg_kind == XEP0077__R_REGISTER) {
    xep0077__put_query(c, q);
  } else if (c->reg_kind == XEP0077__R_CHANGE) {
    /* the localpart of our JID: the username the server knows us by */
    xep0077__wstart(c, XEP0077__L(username));
    xep0077_xmlw_textn(&c->w, c->jid, strcspn(c->jid, "@/"));
    xep0077_xmlw_end(&c->w);
    xep0077__put_value(c, "password", NULL, c->new_pass);
  } else if (c->reg_kind == XEP0077__R_CANCEL) {
    xep0077__wstart(c, XEP0077__L(remove));
  }
  /* Not PENDING: iq_arm took the id back, or the writer failed (reg_begin
     saw no operation running, so iq_send's and op()'s checks pass). */
  rc = xep0077_iq_send(c, xep0077__reg_fn, q, timeout_ms);
  if (rc != XEP0077_PENDING) c->reg_kind = 0;
  return rc;
}

/* The public arguments first, in their order, and the kind last: a
   _start only adds the kind (on the stack) to the registers it was given. */
static int xep0077__reg_call(xep0077 *c, const char *to, xep0077_query *q,
                             unsigned long timeout_ms, int kind)
{
  int rc = xep0077__reg_begin(c, kind, to);
  return rc ? rc : xep0077__reg_send(c, q, timeout_ms);
}

XEP0077DEF int xep0077_get_registration_fields_start(xep0077 *c, const char *to,
                                                     xep0077_query *q, unsigned long timeout_ms)
{
  return xep0077__reg_call(c, to, q, timeout_ms, XEP0077__R_FIELDS);
}

XEP0077DEF int xep0077_register_start(xep0077 *c, const char *to, xep0077_query *q,
                                      unsigned long timeout_ms)
{
  return xep0077__reg_call(c, to, q, timeout_ms, XEP0077__R_REGISTER);
}

XEP0077DEF int xep0077_get_client_info_start(xep0077 *c, xep0077_query *q,
                                             unsigned long timeout_ms)
{
  return xep0077__reg_call(c, NULL, q, timeout_ms, XEP0077__R_INFO);
}

XEP0077DEF int xep0077_change_pass_start(xep0077 *c, xep0077_query *q, const char *new_pass,
                                         const char *old_pass, unsigned long timeout_ms)
{
  int rc;
  if (!new_pass || !*new_pass) return XEP0077_ERR_ARG; /* prosody takes "" */
  if ((rc = xep0077__reg_begin(c, XEP0077__R_CHANGE, NULL)) != 0) return rc;
  c->new_pass = new_pass;
  c->old_pass = old_pass;
  return xep0077__reg_send(c, q, timeout_ms);
}

XEP0077DEF int xep0077_cancel_registration_start(xep0077 *c, xep0077_query *q,
                                                 unsigned long timeout_ms)
{
  return xep0077__reg_call(c, NULL, q, timeout_ms, XEP0077__R_CANCEL);
}

/* XEP-0077 3.3: the server wants the old password too, in its form. Submit
   it; returns XEP0077_PENDING when the follow-up IQ is on its way. */
static int xep0077__change_form(xep0077 *c, xep0077_query *q)
{
  int rc;
  if (!q || !q->form_present || !c->old_pass || xep0077__q_find(q, "old_password") < 0)
    return 0;
  if (xep0077__q_find(q, "username") >= 0) {
    /* The username goes in the query's own pool: it must outlive the call. */
    const char *user = xep0077__q_strn(q, c->jid, strcspn(c->jid, "@/"));
    if (!user) return XEP0077_ERR_NOMEM;
    xep0077_query_set(q, "username", user);
  }
  xep0077_query_set(q, "old_password", c->old_pass);
  xep0077_query_set(q, "password", c->new_pass);
  c->reg_kind = XEP0077__R_CHANGE_FORM;
  if ((rc = xep0077__iq_start(c, "set", NULL)) != 0) return rc;
  xep0077__start_ns(c, XEP0077__L(query), XEP0077__L(ns_register)); /* iq_arm closes it */
  xep0077__put_query(c, q);
  rc = xep0077__iq_arm(c, xep0077__reg_fn, q);
  return rc ? rc : XEP0077_PENDING;
}

XEP0077DEF int xep0077_get_registration_fields(xep0077 *c, const char *to, xep0077_query *q,
                                               unsigned long timeout_ms)
{
  return xep0077__block(xep0077_get_registration_fields_start(c, to, q, timeout_ms), c);
}

XEP0077DEF int xep0077_register(xep0077 *c, const char *to, xep0077_query *q,
                                unsigned long timeout_ms)
{
  return xep0077__block(xep0077_register_start(c, to, q, timeout_ms), c);
}

XEP0077DEF int xep0077_get_client_info(xep0077 *c, xep0077_query *q, unsigned long timeout_ms)
{
  return xep0077__block(xep0077_get_client_info_start(c, q, timeout_ms), c);
}

XEP0077DEF int xep0077_change_pass(xep0077 *c, xep0077_query *q, const char *new_pass,
                                   const char *old_pass, unsigned long timeout_ms)
{
  return xep0077__block(xep0077_change_pass_start(c, q, new_pass, old_pass, timeout_ms), c);
}

XEP0077DEF int xep0077_cancel_registration(xep0077 *c, xep0077_query *q,
                                           unsigned long timeout_ms)
{
  return xep0077__block(xep0077_cancel_registration_start(c, q, timeout_ms), c);
}

/* ---- 5. mbedTLS glue ----------------------------------------------------- */
#ifdef XEP0077_MBEDTLS
#include <mbedtls/version.h>
#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/x509.h>
#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_PSA_CRYPTO_C)
#include <psa/crypto.h>
#endif

static int xep0077__mt_start(void *ctx, xep0077_send_fn send, xep0077_recv_fn recv,
                             void *io, const char *server_name)
{
  xep0077_mbedtls *t = (xep0077_mbedtls *)ctx;
  int rc = t->setup ? mbedtls_ssl_session_reset(&t->ssl) : mbedtls_ssl_setup(&t->ssl, &t->conf);
  if (rc) return XEP0077_ERR_TLS;
  t->setup = 1;
  /* The name the certificate must carry; mbedTLS 3.6.3+ refuses to verify
     without one, and so do we. */
  if (mbedtls_ssl_set_hostname(&t->ssl, server_name)) return XEP0077_ERR_TLS;
  mbedtls_ssl_set_bio(&t->ssl, io, send, recv, NULL);
  return 0;
}

static int xep0077__mt_want(int rc)
{
  if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) return 1;
#ifdef MBEDTLS_ERR_SSL_ASYNC_IN_PROGRESS
  if (rc == MBEDTLS_ERR_SSL_ASYNC_IN_PROGRESS) return 1;
#endif
#ifdef MBEDTLS_ERR_SSL_CRYPTO_IN_PROGRESS
  if (rc == MBEDTLS_ERR_SSL_CRYPTO_IN_PROGRESS) return 1;
#endif
  return 0;
}

static int xep0077__mt_handshake(void *ctx)
{
  xep0077_mbedtls *t = (xep0077_mbedtls *)ctx;
  int rc = mbedtls_ssl_handshake(&t->ssl);
  if (rc == 0) return 0;
  if (xep0077__mt_want(rc)) return rc == MBEDTLS_ERR_SSL_WANT_WRITE ? XEP0077_WANT_WRITE : XEP0077_WANT_READ;
  if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) return XEP0077_ERR_TLS_VERIFY;
  return XEP0077_ERR_TLS;
}

static int xep0077__mt_send(void *ctx, const unsigned char *buf, size_t len)
{
  int rc = mbedtls_ssl_write(&((xep0077_mbedtls *)ctx)->ssl, buf, len);
  if (rc >= 0) return rc;
  if (xep0077__mt_want(rc)) return rc == MBEDTLS_ERR_SSL_WANT_READ ? XEP0077_WANT_READ : XEP0077_WANT_WRITE;
  return XEP0077_ERR_TLS;
}

static int xep0077__mt_recv(void *ctx, unsigned char *buf, size_t len)
{
  int rc = mbedtls_ssl_read(&((xep0077_mbedtls *)ctx)->ssl, buf, len);
  if (rc >= 0) return rc;
  if (rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) return 0;
#ifdef MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET
  /* TLS 1.3 in 3.x: a ticket arrived, no application data; just retry. */
  if (rc == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) return XEP0077_WANT_READ;
#endif
  if (xep0077__mt_want(rc)) return rc == MBEDTLS_ERR_SSL_WANT_WRITE ? XEP0077_WANT_WRITE : XEP0077_WANT_READ;
  return XEP0077_ERR_TLS;
}

static int xep0077__mt_verified(void *ctx)
{
  xep0077_mbedtls *t = (xep0077_mbedtls *)ctx;
  return t->verify && mbedtls_ssl_get_verify_result(&t->ssl) == 0;
}

static void xep0077__mt_close(void *ctx)
{
  (void)mbedtls_ssl_close_notify(&((xep0077_mbedtls *)ctx)->ssl);
}

static const mbedtls_md_info_t *xep0077__mt_md(int alg)
{
  return mbedtls_md_info_from_type(alg == 256 ? MBEDTLS_MD_SHA256 : MBEDTLS_MD_SHA1);
}

static int xep0077__mt_random(void *ctx, unsigned char *out, size_t len)
{
  return mbedtls_ctr_drbg_random(&((xep0077_mbedtls *)ctx)->drbg, out, len) ? -1 : 0;
}

static int xep0077__mt_hash(void *ctx, int alg, const unsigned char *in, size_t len,
                            unsigned char *out)
{
  (void)ctx;
  return mbedtls_md(xep0077__mt_md(alg), in, len, out) ? -1 : 0;
}

static int xep0077__mt_hmac(void *ctx, int alg, const unsigned char *key, size_t klen,
                            const unsigned char *in, size_t len, unsigned char *out)
{
  (void)ctx;
  return mbedtls_md_hmac(xep0077__mt_md(alg), key, klen, in, len, out) ? -1 : 0;
}

static int xep0077__mt_pbkdf2(void *ctx, int alg, const unsigned char *pw, size_t pwlen,
                              const unsigned char *salt, size_t saltlen,
                              unsigned long iterations, unsigned char *out, size_t outlen)
{
  int rc;
  (void)ctx;
#if MBEDTLS_VERSION_NUMBER >= 0x03030000
  rc = mbedtls_pkcs5_pbkdf2_hmac_ext(alg == 256 ? MBEDTLS_MD_SHA256 : MBEDTLS_MD_SHA1, pw,
                                     pwlen, salt, saltlen, (unsigned int)iterations,
                                     (unsigned int)outlen, out);
#else
  mbedtls_md_context_t md;
  mbedtls_md_init(&md);
  rc = mbedtls_md_setup(&md, xep0077__mt_md(alg), 1);
  if (!rc)
    rc = mbedtls_pkcs5_pbkdf2_hmac(&md, pw, pwlen, salt, saltlen, (unsigned int)iterations,
                                   (unsigned int)outlen, out);
  mbedtls_md_free(&md);
#endif
  return rc ? -1 : 0;
}

XEP0077DEF int xep0077_mbedtls_init(xep0077_mbedtls *t, const char *ca_pem,
                                    const char *ca_file)
{
  static const unsigned char pers[] = "xep0077.h";
  int rc = 0;
  memset(t, 0, sizeof *t);
  mbedtls_ssl_init(&t->ssl);
  mbedtls_ssl_config_init(&t->conf);
  mbedtls_x509_crt_init(&t->ca);
  mbedtls_entropy_init(&t->entropy);
  mbedtls_ctr_drbg_init(&t->drbg);
  t->verify = 1;
  t->tls.ctx = t->crypto.ctx = t;
  t->tls.start = xep0077__mt_start;
  t->tls.handshake = xep0077__mt_handshake;
  t->tls.send = xep0077__mt_send;
  t->tls.recv = xep0077__mt_recv;
  t->tls.verified = xep0077__mt_verified;
  t->tls.close = xep0077__mt_close;
  t->crypto.random = xep0077__mt_random;
  t->crypto.hash = xep0077__mt_hash;
  t->crypto.hmac = xep0077__mt_hmac;
  t->crypto.pbkdf2 = xep0077__mt_pbkdf2;
#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_PSA_CRYPTO_C)
  if (psa_crypto_init() != PSA_SUCCESS) return XEP0077_ERR_TLS;
#endif
  if (!ca_pem && !ca_file) return XEP0077_ERR_ARG;
  if (mbedtls_ctr_drbg_seed(&t->drbg, mbedtls_entropy_func, &t->entropy, pers, sizeof pers - 1))
    return XEP0077_ERR_TLS;
  /* mbedTLS wants PEM text with its NUL counted. */
  if (ca_pem && mbedtls_x509_crt_parse(&t->ca, (const unsigned char *)ca_pem, strlen(ca_pem) + 1))
    rc = XEP0077_ERR_ARG;
#ifdef MBEDTLS_FS_IO
  if (ca_file && mbedtls_x509_crt_parse_file(&t->ca, ca_file) != 0) rc = XEP0077_ERR_ARG;
#else
  if (ca_file) rc = XEP0077_ERR_ARG;
#endif
  if (rc) return rc;
  if (mbedtls_ssl_config_defaults(&t->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                  MBEDTLS_SSL_PRESET_DEFAULT))
    return XEP0077_ERR_TLS;
  mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
  mbedtls_ssl_conf_ca_chain(&t->conf, &t->ca, NULL);
  mbedtls_ssl_conf_rng(&t->conf, mbedtls_ctr_drbg_random, &t->drbg);
#if MBEDTLS_VERSION_NUMBER >= 0x03020000
  mbedtls_ssl_conf_min_tls_version(&t->conf, MBEDTLS_SSL_VERSION_TLS1_2);
#else
  mbedtls_ssl_conf_min_version(&t->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
#endif
  return 0;
}

XEP0077DEF void xep0077_mbedtls_insecure_skip_verify(xep0077_mbedtls *t)
{
  t->verify = 0;
  mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_OPTIONAL);
}

XEP0077DEF void xep0077_mbedtls_free(xep0077_mbedtls *t)
{
  mbedtls_ssl_free(&t->ssl);
  mbedtls_ssl_config_free(&t->conf);
  mbedtls_x509_crt_free(&t->ca);
  mbedtls_ctr_drbg_free(&t->drbg);
  mbedtls_entropy_free(&t->entropy);
}
#endif /* XEP0077_MBEDTLS */

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
