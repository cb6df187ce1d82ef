/* Differential test: our pull parser against expat on real XMPP streams.

   Every .xml file in tests/corpus/ is a stream as a server sends it to a client.
   Both parsers get the same chunks (1, 7, 4096 bytes, then the whole file)
   and each produces a canonical dump:

       S <depth> {uri}local            element opened
       A {uri}local=value              its attributes, document order
       T text                          text of one node, concatenated
       E|SE|XE <depth> {uri}local      END / STANZA_END / STREAM_END

   Expat's whitespace-only text directly inside the root is dropped, since
   our parser drops it on purpose. The dumps must be byte-identical.
   On our side the API contract is checked too: p.depth and the kind of end
   event, a second TEXT only after text_partial=1, xep0077_xml_attr() finding
   every reported attribute, nothing pending when next() returns 0, and a
   STREAM_END at the end. -DPARSER_BUF=N changes our buffer (default 4096).

   Build and run from the repository root:
       cc -std=c99 -Wall -Wextra -Werror -pedantic -I. tests/diff_expat.c \
          -lexpat -o diff_expat && ./diff_expat [corpus-dir | file.xml ...]
*/
#define _POSIX_C_SOURCE 200809L
#define XEP0077_IMPLEMENTATION
#include "xep0077.h"

#include <dirent.h>
#include <expat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_SEP '\x01'
#ifndef PARSER_BUF /* -DPARSER_BUF=512 stresses text_partial */
#define PARSER_BUF 4096
#endif

/* ---- growable string ---------------------------------------------------- */
typedef struct {
  char *p;
  size_t len, cap;
} str;

static void str_add(str *s, const char *d, size_t n) {
  if (s->len + n + 1 > s->cap) {
    size_t cap = s->cap ? s->cap : 256;
    while (s->len + n + 1 > cap) cap *= 2;
    s->p = (char *)realloc(s->p, cap);
    if (!s->p) {
      fputs("out of memory\n", stderr);
      exit(2);
    }
    s->cap = cap;
  }
  if (n) memcpy(s->p + s->len, d, n);
  s->len += n;
  s->p[s->len] = '\0';
}

static void str_puts(str *s, const char *z) { str_add(s, z, strlen(z)); }

static void str_printf(str *s, const char *fmt, ...) {
  char tmp[128];
  int n;
  va_list ap;
  va_start(ap, fmt);
  n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n > 0) str_add(s, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Bytes as they are, except controls and backslash, so a dump is one line
   per item and a difference in \r, \t or \n is visible. */
static void str_esc(str *s, const char *d, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)d[i];
    if (c == '\\')
      str_puts(s, "\\\\");
    else if (c == '\n')
      str_puts(s, "\\n");
    else if (c == '\r')
      str_puts(s, "\\r");
    else if (c == '\t')
      str_puts(s, "\\t");
    else if (c < 0x20 || c == 0x7f)
      str_printf(s, "\\x%02x", c);
    else
      str_add(s, d + i, 1);
  }
}

static void str_qname(str *s, const char *ns, const char *local) {
  if (ns && *ns) {
    str_puts(s, "{");
    str_esc(s, ns, strlen(ns));
    str_puts(s, "}");
  }
  str_esc(s, local, strlen(local));
}

/* ---- expat side --------------------------------------------------------- */
typedef struct {
  str out, text;
  int depth; /* elements open */
} xdump;

/* "uri\x01local" or "local" */
static void expat_qname(str *s, const char *n) {
  const char *sep = strchr(n, NS_SEP);
  if (!sep) {
    str_qname(s, NULL, n);
    return;
  }
  str_puts(s, "{");
  str_esc(s, n, (size_t)(sep - n));
  str_puts(s, "}");
  str_esc(s, sep + 1, strlen(sep + 1));
}

static int all_space(const char *d, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    if (d[i] != ' ' && d[i] != '\t' && d[i] != '\n' && d[i] != '\r') return 0;
  return 1;
}

static void x_flush_text(xdump *x) {
  if (x->text.len == 0) return;
  if (!(x->depth == 1 && all_space(x->text.p, x->text.len))) {
    str_puts(&x->out, "T ");
    str_esc(&x->out, x->text.p, x->text.len);
    str_puts(&x->out, "\n");
  }
  x->text.len = 0;
}

static void XMLCALL x_start(void *u, const XML_Char *name,
                            const XML_Char **atts) {
  xdump *x = (xdump *)u;
  int i;
  x_flush_text(x);
  str_printf(&x->out, "S %d ", x->depth);
  expat_qname(&x->out, name);
  str_puts(&x->out, "\n");
  for (i = 0; atts[i]; i += 2) {
    str_puts(&x->out, "A ");
    expat_qname(&x->out, atts[i]);
    str_puts(&x->out, "=");
    str_esc(&x->out, atts[i + 1], strlen(atts[i + 1]));
    str_puts(&x->out, "\n");
  }
  x->depth++;
}

static void XMLCALL x_end(void *u, const XML_Char *name) {
  xdump *x = (xdump *)u;
  int d;
  x_flush_text(x);
  d = --x->depth;
  str_printf(&x->out, "%s %d ", d == 0 ? "XE" : d == 1 ? "SE" : "E", d);
  expat_qname(&x->out, name);
  str_puts(&x->out, "\n");
}

static void XMLCALL x_text(void *u, const XML_Char *s, int len) {
  xdump *x = (xdump *)u;
  str_add(&x->text, s, (size_t)len);
}

/* Returns 0, or -1 with *err set. */
static int run_expat(const char *data, size_t n, size_t chunk, str *out,
                     str *err) {
  xdump x;
  XML_Parser xp = XML_ParserCreateNS(NULL, NS_SEP);
  size_t off = 0;
  int rc = 0;
  memset(&x, 0, sizeof x);
  XML_SetUserData(xp, &x);
  XML_SetElementHandler(xp, x_start, x_end);
  XML_SetCharacterDataHandler(xp, x_text);
  for (;;) {
    size_t len = n - off < chunk ? n - off : chunk;
    int final = off + len == n;
    if (XML_Parse(xp, data + off, (int)len, final) != XML_STATUS_OK) {
      str_printf(err, "expat error at line %lu col %lu: ",
                 (unsigned long)XML_GetCurrentLineNumber(xp),
                 (unsigned long)XML_GetCurrentColumnNumber(xp));
      str_puts(err, XML_ErrorString(XML_GetErrorCode(xp)));
      rc = -1;
      break;
    }
    off += len;
    if (final) break;
  }
  XML_ParserFree(xp);
  *out = x.out;
  free(x.text.p);
  return rc;
}

/* ---- our side ----------------------------------------------------------- */
typedef struct {
  str out, text;
  int prev_text, prev_partial; /* last event was TEXT, with text_partial */
  int seen_stream_end;
  int depth; /* elements open, as we count them */
} odump;

static void o_flush_text(odump *o) {
  if (o->text.len) {
    str_puts(&o->out, "T ");
    str_esc(&o->out, o->text.p, o->text.len);
    str_puts(&o->out, "\n");
  }
  o->text.len = 0;
}

/* Checks the event against the API contract beyond what the dump shows.
   Returns 0 or -1 with *err set. */
static int o_event(odump *o, xep0077_xml *p, int ev, str *err) {
  int i;
  if (ev != XEP0077_XML_TEXT) o_flush_text(o);
  switch (ev) {
  case XEP0077_XML_START:
    if (p->depth != o->depth) {
      str_printf(err, "START depth %d, expected %d", p->depth, o->depth);
      return -1;
    }
    str_printf(&o->out, "S %d ", p->depth);
    str_qname(&o->out, p->ns, p->name);
    str_puts(&o->out, "\n");
    if (p->nattrs < 0 || p->nattrs > XEP0077_XML_MAX_ATTRS) {
      str_printf(err, "START nattrs %d", p->nattrs);
      return -1;
    }
    for (i = 0; i < p->nattrs; i++) {
      const char *an = p->attrs[i].name, *ans = p->attrs[i].ns;
      const char *av = p->attrs[i].value;
      const char *v = xep0077_xml_attr(p, ans, an);
      str_puts(&o->out, "A ");
      str_qname(&o->out, ans, an);
      str_puts(&o->out, "=");
      str_esc(&o->out, av, strlen(av));
      str_puts(&o->out, "\n");
      if (!v || strcmp(v, av) != 0) {
        str_puts(err, "xep0077_xml_attr(p, \"");
        str_esc(err, ans, strlen(ans));
        str_puts(err, "\", \"");
        str_esc(err, an, strlen(an));
        str_puts(err, "\") does not return the value in p->attrs");
        return -1;
      }
    }
    o->depth++;
    break;
  case XEP0077_XML_TEXT:
    if (o->prev_text && !o->prev_partial) {
      str_puts(err, "two TEXT events for one node, the first with "
                    "text_partial == 0");
      return -1;
    }
    if (p->text_len && !p->text) {
      str_puts(err, "TEXT with NULL text");
      return -1;
    }
    str_add(&o->text, p->text, p->text_len);
    break;
  case XEP0077_XML_END:
  case XEP0077_XML_STANZA_END:
  case XEP0077_XML_STREAM_END: {
    int want = o->depth - 1;
    int wev = want == 0   ? XEP0077_XML_STREAM_END
              : want == 1 ? XEP0077_XML_STANZA_END
                          : XEP0077_XML_END;
    if (want < 0 || ev != wev || p->depth != want) {
      str_printf(err, "end event %d at depth %d, expected event %d depth %d",
                 ev, p->depth, wev, want);
      return -1;
    }
    o->depth = want;
    str_printf(&o->out, "%s %d ", want == 0 ? "XE" : want == 1 ? "SE" : "E",
               want);
    str_qname(&o->out, p->ns, p->name);
    str_puts(&o->out, "\n");
    if (want == 0) o->seen_stream_end = 1;
    break;
  }
  default:
    str_printf(err, "unknown event %d", ev);
    return -1;
  }
  o->prev_text = ev == XEP0077_XML_TEXT;
  o->prev_partial = o->prev_text && p->text_partial;
  return 0;
}

static int run_ours(const char *data, size_t n, size_t chunk, str *out,
                    str *err) {
  static char mem[PARSER_BUF];
  xep0077_xml p;
  odump o;
  size_t off = 0;
  int rc = 0;
  memset(&o, 0, sizeof o);
  xep0077_xml_init(&p, mem, sizeof mem);
  while (off < n && rc == 0) {
    size_t len = n - off < chunk ? n - off : chunk;
    int ev;
    xep0077_xml_feed(&p, data + off, len);
    while ((ev = xep0077_xml_next(&p)) > 0)
      if ((rc = o_event(&o, &p, ev, err)) != 0) break;
    if (rc == 0 && ev < 0) {
      str_printf(err, "xep0077 error %d %s at offset %lu: ", ev,
                 xep0077_status_name(ev), p.offset);
      str_puts(err, xep0077_strerror(ev));
      rc = -1;
    }
    if (rc == 0 && xep0077_xml_pending(&p) != 0) {
      str_printf(err, "next() returned 0 with %lu bytes pending",
                 (unsigned long)xep0077_xml_pending(&p));
      rc = -1;
    }
    off += len;
  }
  if (rc == 0 && !o.seen_stream_end) {
    str_puts(err, "input ended without STREAM_END");
    rc = -1;
  }
  o_flush_text(&o);
  *out = o.out;
  free(o.text.p);
  return rc;
}

/* ---- driver ------------------------------------------------------------- */
static char *read_file(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  char *d = NULL;
  size_t cap = 0, len = 0, r;
  if (!f) return NULL;
  do {
    if (cap - len < 65536) {
      cap = cap ? cap * 2 : 65536;
      d = (char *)realloc(d, cap);
      if (!d) exit(2);
    }
    r = fread(d + len, 1, cap - len, f);
    len += r;
  } while (r > 0);
  fclose(f);
  *n = len;
  return d;
}

/* Line number (1-based) and text of the first differing dump line. */
static void first_diff(const str *a, const str *b, str *msg) {
  const char *pa = a->p ? a->p : "", *pb = b->p ? b->p : "";
  unsigned long line = 1;
  size_t la, lb;
  while (*pa && *pb) {
    la = strcspn(pa, "\n");
    lb = strcspn(pb, "\n");
    if (la != lb || memcmp(pa, pb, la) != 0) break;
    pa += la + (pa[la] == '\n');
    pb += lb + (pb[lb] == '\n');
    line++;
  }
  la = strcspn(pa, "\n");
  lb = strcspn(pb, "\n");
  str_printf(msg, "dump line %lu\n      expat: ", line);
  str_add(msg, pa, la > 300 ? 300 : la);
  str_puts(msg, la > 300 ? "..." : "");
  str_puts(msg, *pa ? "" : "<end of dump>");
  str_puts(msg, "\n    xep0077: ");
  str_add(msg, pb, lb > 300 ? 300 : lb);
  str_puts(msg, lb > 300 ? "..." : "");
  str_puts(msg, *pb ? "" : "<end of dump>");
}

/* Returns 1 when the file passes for every chunk size. */
static int check_file(const char *path) {
  static const size_t chunks[] = {1, 7, 4096, 0 /* whole */};
  size_t n, i;
  char *data = read_file(path, &n);
  int ok = 1;
  if (!data) {
    printf("FAIL %s: cannot read\n", path);
    return 0;
  }
  for (i = 0; ok && i < sizeof chunks / sizeof chunks[0]; i++) {
    size_t chunk = chunks[i] ? chunks[i] : (n ? n : 1);
    str xo = {0, 0, 0}, oo = {0, 0, 0}, err = {0, 0, 0};
    if (run_expat(data, n, chunk, &xo, &err) != 0) {
      printf("FAIL %s (chunk %lu): corpus file rejected by %s\n", path,
             (unsigned long)chunk, err.p);
      ok = 0;
    } else if (run_ours(data, n, chunk, &oo, &err) != 0) {
      str msg = {0, 0, 0};
      first_diff(&xo, &oo, &msg);
      printf("FAIL %s (chunk %lu): %s\n    dumps agree up to %s\n", path,
             (unsigned long)chunk, err.p, msg.p);
      free(msg.p);
      ok = 0;
    } else if (xo.len != oo.len || memcmp(xo.p, oo.p, xo.len) != 0) {
      str msg = {0, 0, 0};
      first_diff(&xo, &oo, &msg);
      printf("FAIL %s (chunk %lu): %s\n", path, (unsigned long)chunk, msg.p);
      free(msg.p);
      ok = 0;
    }
    free(xo.p);
    free(oo.p);
    free(err.p);
  }
  if (ok) printf("ok   %s (%lu bytes)\n", path, (unsigned long)n);
  free(data);
  return ok;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The .xml files of a directory, sorted; NULL if it is not a directory. */
static char **list_dir(const char *dir, size_t *count) {
  DIR *d = opendir(dir);
  struct dirent *e;
  char **v = NULL;
  size_t n = 0, cap = 0;
  if (!d) return NULL;
  while ((e = readdir(d)) != NULL) {
    size_t l = strlen(e->d_name);
    if (l < 5 || strcmp(e->d_name + l - 4, ".xml") != 0) continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 32;
      v = (char **)realloc(v, cap * sizeof *v);
      if (!v) exit(2);
    }
    v[n] = (char *)malloc(strlen(dir) + l + 2);
    if (!v[n]) exit(2);
    sprintf(v[n], "%s/%s", dir, e->d_name);
    n++;
  }
  closedir(d);
  if (n) qsort(v, n, sizeof *v, cmp_str);
  *count = n;
  return v ? v : (char **)calloc(1, sizeof *v);
}

int main(int argc, char **argv) {
  int passed = 0, failed = 0, a;
  int nargs = argc > 1 ? argc - 1 : 1;
  for (a = 0; a < nargs; a++) {
    const char *arg = argc > 1 ? argv[a + 1] : "tests/corpus";
    size_t n = 0, i;
    char **files = list_dir(arg, &n);
    if (!files) {
      if (check_file(arg))
        passed++;
      else
        failed++;
      continue;
    }
    if (n == 0) {
      printf("FAIL %s: no .xml files\n", arg);
      failed++;
    }
    for (i = 0; i < n; i++) {
      if (check_file(files[i]))
        passed++;
      else
        failed++;
      free(files[i]);
    }
    free(files);
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
