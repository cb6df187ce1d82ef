/* Parser throughput: xep0077 against expat on a generated XMPP stream.

   The stream is built in memory from a fixed-seed PRNG (no files): what a
   client receives from a busy server -- chat messages with UTF-8, entities
   and character references; presence with XEP-0115 caps; XEP-0077
   registration forms (jabber:iq:register + jabber:x:data); IQ errors. Both
   parsers get the same 4 KiB chunks and count elements, attributes and text
   bytes; the counts must agree, so we know both parsed everything. Each
   parser runs several times and its best time is reported.

   Build and run from the repository root:
       cc -std=c99 -O2 -I. bench/bench_parse.c -lexpat -o bench_parse
       ./bench_parse [repetitions] [megabytes]
*/
#define _POSIX_C_SOURCE 200809L
#define XEP0077_IMPLEMENTATION
#include "xep0077.h"

#include <expat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHUNK 4096

/* ---- generator ---------------------------------------------------------- */
static unsigned long long rng_state = 0x9E3779B97F4A7C15ULL;

static unsigned rnd(unsigned n) { /* xorshift64*, uniform enough for this */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (unsigned)((rng_state * 0x2545F4914F6CDD1DULL) >> 33) % n;
}

static char *gbuf;
static size_t glen, gcap;

static void put(const char *s, size_t n) {
  if (glen + n > gcap) {
    while (glen + n > gcap) gcap = gcap ? gcap * 2 : (1u << 20);
    gbuf = (char *)realloc(gbuf, gcap);
    if (!gbuf) {
      fputs("out of memory\n", stderr);
      exit(2);
    }
  }
  memcpy(gbuf + glen, s, n);
  glen += n;
}

static void puts_(const char *s) { put(s, strlen(s)); }

static void putf(const char *fmt, ...) {
  char tmp[512];
  int n;
  va_list ap;
  va_start(ap, fmt);
  n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n > 0) put(tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Mostly ASCII, like real chat, with 2-, 3- and 4-byte UTF-8, the five
   predefined entities and decimal/hex character references mixed in. */
static const char *const words[] = {
    "the", "and", "you", "that", "was", "for", "are", "with", "his", "they",
    "this", "have", "from", "one", "had", "word", "but", "not", "what", "all",
    "were", "when", "your", "can", "said", "there", "use", "each", "which",
    "register", "account", "password", "server", "message", "tomorrow",
    "lunch?", "ok!", "haha", "see", "you", "later,", "thanks.", "really",
    "café", "naïve", "Grüße", "Straße", "señor", "Привет", "мир", "Ελλάδα",
    "日本語", "こんにちは", "中文", "한국어", "😀", "🎉", "👍", "𝄞",
    "&amp;", "&lt;b&gt;", "&quot;quoted&quot;", "it&apos;s", "&#233;t&#233;",
    "&#x1F600;", "&#x20AC;5", "&#169;", "Q&amp;A", "a&lt;b"};

static void put_words(unsigned n) {
  unsigned i;
  for (i = 0; i < n; i++) {
    if (i) put(" ", 1);
    puts_(words[rnd(COUNT(words))]);
  }
}

static const char *const users[] = {"romeo", "juliet", "mercutio", "benvolio",
                                    "tybalt", "nurse", "zoë", "jürgen",
                                    "tarō", "ivan"};
static const char *const hosts[] = {"montague.lit", "capulet.lit",
                                    "example.net", "jabber.example.org"};

static void put_jid(int with_resource) {
  putf("%s@%s", users[rnd(COUNT(users))], hosts[rnd(COUNT(hosts))]);
  if (with_resource) putf("/res%u", rnd(100));
}

static unsigned long stanza_id, stanzas;

static void gen_message(void) {
  puts_("<message from='");
  put_jid(1);
  puts_("' to='me@example.net/home' type='chat' id='");
  putf("m%lu", ++stanza_id);
  puts_("' xml:lang='en'><body>");
  put_words(3 + rnd(40));
  puts_("</body>");
  if (rnd(3) == 0) putf("<thread>thr-%u</thread>", rnd(100000));
  if (rnd(2) == 0)
    puts_("<active xmlns='http://jabber.org/protocol/chatstates'/>");
  if (rnd(4) == 0)
    putf("<request xmlns='urn:xmpp:receipts'/><origin-id xmlns='urn:xmpp:sid:0'"
         " id='%08x-%04x-4%03x-a%03x-%08x%04x'/>",
         rnd(1u << 31), rnd(65536), rnd(4096), rnd(4096), rnd(1u << 31),
         rnd(65536));
  if (rnd(8) == 0)
    putf("<delay xmlns='urn:xmpp:delay' from='example.net' "
         "stamp='2024-%02u-%02uT%02u:%02u:%02uZ'>Offline Storage</delay>",
         1 + rnd(12), 1 + rnd(28), rnd(24), rnd(60), rnd(60));
  puts_("</message>");
}

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void gen_presence(void) {
  static const char *const show[] = {"away", "chat", "dnd", "xa"};
  static const char *const nodes[] = {
      "https://gajim.org", "https://conversations.im", "http://psi-im.org",
      "https://dino.im", "http://pidgin.im/"};
  unsigned i;
  puts_("<presence from='");
  put_jid(1);
  puts_("' to='me@example.net/home'>");
  if (rnd(4)) putf("<show>%s</show>", show[rnd(COUNT(show))]);
  if (rnd(2)) {
    puts_("<status>");
    put_words(1 + rnd(8));
    puts_("</status>");
  }
  putf("<priority>%d</priority>", (int)rnd(60) - 10);
  putf("<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' "
       "node='%s' ver='",
       nodes[rnd(COUNT(nodes))]);
  for (i = 0; i < 27; i++) put(&b64[rnd(64)], 1);
  puts_("='/>");
  if (rnd(3) == 0) {
    puts_("<x xmlns='vcard-temp:x:update'><photo>");
    for (i = 0; i < 40; i++) put(&"0123456789abcdef"[rnd(16)], 1);
    puts_("</photo></x>");
  }
  puts_("</presence>");
}

static void gen_register_form(void) {
  static const char *const types[] = {"text-single", "text-private",
                                      "list-single", "list-multi", "boolean",
                                      "fixed", "text-multi", "jid-single"};
  static const char *const labels[] = {
      "Username", "Password", "Email Address", "Given Name", "Family Name",
      "Gender", "Contests", "Accept the terms", "Référent", "年齢", "Город"};
  unsigned f, nf = 3 + rnd(8), o;
  putf("<iq type='result' from='example.net' to='me@example.net/home' "
       "id='reg%lu'><query xmlns='jabber:iq:register'><instructions>",
       ++stanza_id);
  put_words(6 + rnd(12));
  puts_("</instructions><x xmlns='jabber:x:data' type='form'><title>"
        "Registration &amp; sign-up</title><instructions>");
  put_words(4 + rnd(10));
  puts_("</instructions><field type='hidden' var='FORM_TYPE'><value>"
        "jabber:iq:register</value></field>");
  for (f = 0; f < nf; f++) {
    const char *t = types[rnd(COUNT(types))];
    putf("<field type='%s' var='field%u' label='%s'>", t, f,
         labels[rnd(COUNT(labels))]);
    if (rnd(2)) puts_("<required/>");
    if (rnd(4) == 0) {
      puts_("<desc>");
      put_words(3 + rnd(6));
      puts_("</desc>");
    }
    if (t[0] == 'l') /* list-*: options */
      for (o = 0; o < 2 + rnd(5); o++)
        putf("<option label='Option %u &#8212; %s'><value>opt%u</value>"
             "</option>",
             o, words[rnd(COUNT(words))], o);
    if (rnd(2)) {
      puts_("<value>");
      put_words(1 + rnd(3));
      puts_("</value>");
    }
    puts_("</field>");
  }
  puts_("</x></query></iq>");
}

static void gen_error(void) {
  static const char *const cond[] = {"conflict", "not-acceptable",
                                     "not-allowed", "bad-request",
                                     "resource-constraint", "not-authorized",
                                     "service-unavailable", "forbidden"};
  static const char *const etype[] = {"cancel", "modify", "cancel", "modify",
                                      "wait", "modify", "cancel", "auth"};
  static const char *const lang[] = {"en", "de", "fr", "ja", "ru"};
  unsigned c = rnd(COUNT(cond));
  putf("<iq type='error' from='example.net' id='err%lu'>", ++stanza_id);
  if (rnd(2)) {
    puts_("<query xmlns='jabber:iq:register'><username>");
    puts_(users[rnd(COUNT(users))]);
    puts_("</username><password>s3cr&amp;t</password></query>");
  }
  putf("<error type='%s'><%s xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>",
       etype[c], cond[c]);
  if (rnd(3)) {
    putf("<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='%s'>",
         lang[rnd(COUNT(lang))]);
    put_words(4 + rnd(10));
    puts_("</text>");
  }
  puts_("</error></iq>");
}

static void generate(size_t min_bytes) {
  puts_("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
        "xmlns:stream='http://etherx.jabber.org/streams' id='bench-7f3a' "
        "from='example.net' version='1.0' xml:lang='en'>"
        "<stream:features><register "
        "xmlns='http://jabber.org/features/iq-register'/><mechanisms "
        "xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1"
        "</mechanism><mechanism>PLAIN</mechanism></mechanisms>"
        "</stream:features>");
  while (glen < min_bytes) {
    unsigned k = rnd(100);
    if (k < 45)
      gen_message();
    else if (k < 75)
      gen_presence();
    else if (k < 90)
      gen_register_form();
    else
      gen_error();
    stanzas++;
    if (rnd(16) == 0) puts_(rnd(2) ? " " : "\n"); /* whitespace keepalive */
  }
  puts_("</stream:stream>");
}

/* ---- the two parsers ---------------------------------------------------- */
typedef struct {
  unsigned long elements, attributes, text_bytes;
  int depth;
} counts;

static int run_ours(const char *d, size_t n, counts *c) {
  static char mem[4096];
  xep0077_xml p;
  size_t off;
  int ev = 0, done = 0;
  memset(c, 0, sizeof *c);
  xep0077_xml_init(&p, mem, sizeof mem);
  for (off = 0; off < n; off += CHUNK) {
    xep0077_xml_feed(&p, d + off, n - off < CHUNK ? n - off : CHUNK);
    while ((ev = xep0077_xml_next(&p)) > 0) {
      if (ev == XEP0077_XML_START) {
        c->elements++;
        c->attributes += (unsigned long)p.nattrs;
      } else if (ev == XEP0077_XML_TEXT) {
        c->text_bytes += p.text_len;
      } else if (ev == XEP0077_XML_STREAM_END) {
        done = 1;
      }
    }
    if (ev < 0) {
      fprintf(stderr, "xep0077: error %d (%s) at offset %lu\n", ev,
              xep0077_strerror(ev), p.offset);
      return -1;
    }
  }
  if (!done) {
    fputs("xep0077: no STREAM_END\n", stderr);
    return -1;
  }
  return 0;
}

static void XMLCALL x_start(void *u, const XML_Char *name,
                            const XML_Char **atts) {
  counts *c = (counts *)u;
  (void)name;
  c->elements++;
  while (atts[0]) {
    c->attributes++;
    atts += 2;
  }
  c->depth++;
}

static void XMLCALL x_end(void *u, const XML_Char *name) {
  (void)name;
  ((counts *)u)->depth--;
}

static void XMLCALL x_text(void *u, const XML_Char *s, int len) {
  counts *c = (counts *)u;
  (void)s;
  if (c->depth >= 2) /* ours drops whitespace between stanzas */
    c->text_bytes += (unsigned long)len;
}

static int run_expat(const char *d, size_t n, counts *c) {
  XML_Parser xp = XML_ParserCreateNS(NULL, '\x01');
  size_t off;
  int rc = 0;
  memset(c, 0, sizeof *c);
  XML_SetUserData(xp, c);
  XML_SetElementHandler(xp, x_start, x_end);
  XML_SetCharacterDataHandler(xp, x_text);
  for (off = 0; off < n && rc == 0; off += CHUNK) {
    size_t len = n - off < CHUNK ? n - off : CHUNK;
    if (XML_Parse(xp, d + off, (int)len, off + len == n) != XML_STATUS_OK) {
      fprintf(stderr, "expat: %s at line %lu\n",
              XML_ErrorString(XML_GetErrorCode(xp)),
              (unsigned long)XML_GetCurrentLineNumber(xp));
      rc = -1;
    }
  }
  XML_ParserFree(xp);
  return rc;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  int reps = argc > 1 ? atoi(argv[1]) : 9, r;
  double mb = argc > 2 ? atof(argv[2]) : 8.5;
  double best_ours = 1e30, best_expat = 1e30, t, ours, expat;
  counts co, cx;
  if (reps < 1) reps = 1;
  if (mb < 8.0) mb = 8.0;
  generate((size_t)(mb * 1e6));
  printf("stream: %lu bytes (%.2f MB), %lu stanzas, chunk %d bytes, "
         "best of %d runs\n",
         (unsigned long)glen, (double)glen / 1e6, stanzas, CHUNK, reps);
  for (r = 0; r < reps; r++) {
    t = now();
    if (run_ours(gbuf, glen, &co) != 0) return 1;
    t = now() - t;
    if (t < best_ours) best_ours = t;
    t = now();
    if (run_expat(gbuf, glen, &cx) != 0) return 1;
    t = now() - t;
    if (t < best_expat) best_expat = t;
  }
  printf("events: xep0077 %lu elements, %lu attributes, %lu text bytes\n",
         co.elements, co.attributes, co.text_bytes);
  printf("events: expat   %lu elements, %lu attributes, %lu text bytes\n",
         cx.elements, cx.attributes, cx.text_bytes);
  if (co.elements != cx.elements || co.attributes != cx.attributes ||
      co.text_bytes != cx.text_bytes) {
    puts("FAIL: the parsers disagree on the counts");
    return 1;
  }
  ours = (double)glen / 1e6 / best_ours;
  expat = (double)glen / 1e6 / best_expat;
  printf("parse: xep0077 %.1f MB/s, expat %.1f MB/s, ratio %.2f\n", ours,
         expat, ours / expat);
  free(gbuf);
  return 0;
}
