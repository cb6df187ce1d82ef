/* fuzz_client.c -- libFuzzer target for the whole client: the XMPP stream
   (xep0077.h section 3: stream open, STARTTLS, SASL, bind) and every
   registration call (section 4), driven by fuzzed SERVER bytes.

   The fuzzer plays the server. A scripted transport hands its bytes to the
   client in turns; a fake TLS passes bytes through unchanged; a fake clock
   moves 1 ms per xep0077_poll, so every call ends, at worst by its timeout.

   INPUT FORMAT
   ============
   4 header bytes, then the server's bytes.

   h0  the session
       bit 0  the TLS certificate does not verify (fake verified() == 0)
       bit 1  direct TLS (XEP-0368): cfg.direct_tls
       bit 2  cfg.insecure_unverified_tls
       bit 3  cfg.insecure_plaintext
       bit 4  log in first, then get_registration_fields and register
              (default: those two first, on the unauthenticated stream)
       bit 5  get_registration_fields and register go to 'reg.localhost'
       bit 6  once the input is used up the server closes the connection
              (default: it falls silent and the calls run to their timeout)
       bit 7  no crypto vtable: SCRAM is off, PLAIN is all there is
   h1  the transport
       bits 0-1  how a turn is cut into reads: 0 as much as the client
                 asks for, 1 one byte per read, 2 random 1..h2+1 bytes,
                 3 always h2+1 bytes
       bits 2-3  the client's writes: 0 taken whole, 1 one byte per send,
                 2 XEP0077_WANT_WRITE on every other send, 3 random short
                 writes and WANT_WRITE
       bit 4     cfg.resource = NULL (the server picks the resource)
       bit 5     the blocking calls (xep0077_connect, ... with a wait
                 callback that moves the clock) instead of *_start + poll
       bits 6-7  TLS fault: 0 none, 1 start() fails, 2 the handshake ends in
                 XEP0077_ERR_TLS_VERIFY, 3 in another TLS error
   h2  the chunk size of modes 2 and 3, and the seed of every random choice
   h3  bits 0-1 WANT_READ/WANT_WRITE rounds before the fake handshake
       completes; bit 2 pbkdf2() fails; bit 3 random() fails; bit 4 the
       CAPTCHA data callback abandons the image (returns -1)

   The server's bytes come in TURNS, each the answer to one request. A turn
   is sent once the client has sent a new request since the previous turn
   began (a stream header, <starttls/>, <auth/>, <response/>, an IQ get or
   set, </stream:stream>: anything but its error replies to the server's
   own IQs) and has nothing left queued, so the directives below see whole
   stanzas. Within a turn the bytes are cut into reads as h1 says. Two
   bytes that UTF-8 never uses are controls:
     0xFF      end of the turn
     0xFE c    a directive:
       '|'       read boundary: the read ends here and the next recv
                 returns XEP0077_WANT_READ once
       'I'       the id of the client's latest <iq type='get'|'set'>
       'S'       base64 SCRAM server-first-message answering the client's
                 <auth>: r=<client nonce>3rfcNHYJY1ZVvWVs7j,s=<salt>,i=4096
       'F'       base64 server-final-message v=<ServerSignature>, right for
                 the client's <response> and the last <challenge> sent
       'N'       the client's SCRAM nonce as it is
       'B' .. 'E' the bytes in between, base64-encoded (for hand-made SCRAM
                 messages: 0xFE 'B' r= 0xFE 'N' xy,s=QUJD,i=4096 0xFE 'E')
       'C'       the server closes the connection here (recv returns 0)
       'X'       the transport fails here (recv returns -1)
       other     both bytes are sent as they are
   Once the input is used up, the server is silent or closes (h0 bit 6).

   THE CLIENT'S SIDE
   =================
   One session per input: connect (timeout 300 ms), get_registration_fields
   (150) and register (150, with username, password and email set on the
   query the server returned), login (300; user "alice"), get_client_info
   (150), change_pass (200, with old_pass, so a section 3.3 form is
   answered), cancel_registration (150), close (50) -- each call made even
   when an earlier one failed; between calls one xep0077_poll with no call
   running. The passwords are derived from a hash of the input, so the
   server can never send them: any copy found is the client's own.

   INVARIANTS (each violation is an abort(), so libFuzzer keeps the input)
   - every status returned has a name in the catalogue (status_name is not
     "UNKNOWN"); a poll with no call running never returns PENDING;
   - no call is PENDING once its deadline has passed, and none runs longer
     than its timeout plus a little slack (a hang); 2000 polls per input;
   - no password, PLAIN payload or SaltedPassword is anywhere in the
     xep0077 struct or the query once a call has returned;
   - credentials (the passwords, <auth>, <response>) go out only where the
     config allows: over TLS that verified (or insecure_unverified_tls),
     in plaintext only with insecure_plaintext; never in the XML console;
   - nothing raw after the TLS handshake, nothing through TLS before it,
     a TLS send that would block is retried with the same bytes, TLS is
     started at most once and with the server name "localhost";
   - c.secure only with a verified certificate; login's 0 means a JID;
   - c.error's strings and c.jid are NUL-terminated inside their arrays;
     the query's strings lie in its pool (or are the caller's) and its
     counts stay in bounds; the CAPTCHA callback gets sane arguments;
   - PBKDF2 is never asked for more than cfg.scram_max_iterations (4096);
     the blocking calls' wait never for more than the call's timeout;
     ERR_REDIRECT comes from get_registration_fields only;
   - everything the client sent is well-formed for our own parser (each
     stream from its <?xml to the next), and nothing follows its
     </stream:stream>.

   BUILD AND RUN
     clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
         -I. fuzz/fuzz_client.c -o /tmp/fc -lmbedtls -lmbedx509 -lmbedcrypto
     /tmp/fc -max_total_time=600 -timeout=10 /tmp/fc_corpus fuzz/corpus/client
   (add -fork=1 -ignore_crashes=1 to go on past a known crash). Fold new
   coverage back, edges only, which keeps the corpus under ~300 files:
     /tmp/fc -merge=1 -use_counters=0 fuzz/corpus/client /tmp/fc_corpus
   Replay one input with a trace of every call and what went both ways:
     FUZZ_CLIENT_VERBOSE=1 /tmp/fc crash-...
   The seeds in fuzz/corpus/client/ (named ones) are written by this file:
     cc -DFUZZ_CLIENT_WRITE_SEEDS -I. fuzz/fuzz_client.c -o /tmp/seeds \
         -lmbedtls -lmbedx509 -lmbedcrypto && /tmp/seeds fuzz/corpus/client
   They are prosody 0.12.3's replies (notes/prosody.md, verbatim but for
   the ids, which are 0xFE 'I') and the XEP-0077 examples the tests use;
   the hash-named files are what fuzzing added. */
#define XEP0077_IMPLEMENTATION
#define XEP0077_MBEDTLS
#include "../xep0077.h"

#include <mbedtls/base64.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOMAIN "localhost"
#define USER "alice"
#define SNONCE "3rfcNHYJY1ZVvWVs7j"
#define SALT64 "UVNYQ1IrUTZzZWs4YmY5Mg==" /* base64 of "QSXCR+Q6sek8bf92" */
#define MAX_POLLS 2000ul
#define SLACK 20ul /* polls past a timeout before it counts as a hang */

/* ======================================================================
   Growable bytes (kept between inputs: no malloc per run)
   ====================================================================== */
typedef struct bytes {
  unsigned char *p;
  size_t len, cap;
} bytes;

static void put(bytes *b, const void *d, size_t n)
{
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + n + 1) cap *= 2;
    b->p = (unsigned char *)realloc(b->p, cap);
    if (!b->p) abort();
    b->cap = cap;
  }
  if (n) memcpy(b->p + b->len, d, n);
  b->len += n;
  b->p[b->len] = 0; /* always a string too */
}
static void puts_(bytes *b, const char *s) { put(b, s, strlen(s)); }

static void reserve(bytes *b, size_t n)
{
  size_t len = b->len;
  if (b->cap >= n + 1) return;
  put(b, "", 0);
  while (b->cap < n + 1) {
    b->cap *= 2;
    b->p = (unsigned char *)realloc(b->p, b->cap);
    if (!b->p) abort();
  }
  b->len = len;
}

/* memmem by hand: libFuzzer hooks memmem and would harvest the passwords
   the checks look for into its dictionary, where they are useless (they
   change with every input). */
static int same(const void *a, const void *b, size_t n) /* memcmp == 0, unhooked */
{
  const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
  while (n && *x == *y) x++, y++, n--;
  return n == 0;
}

static long find(const void *hay, size_t hn, const void *needle, size_t nn, size_t from)
{
  const unsigned char *h = (const unsigned char *)hay, *n = (const unsigned char *)needle, *r;
  size_t i;
  if (!nn || from > hn || hn - from < nn) return -1;
  while ((r = (const unsigned char *)memchr(h + from, n[0], hn - from - nn + 1)) != NULL) {
    for (i = 1; i < nn && r[i] == n[i]; i++) continue;
    if (i == nn) return (long)(r - h);
    from = (size_t)(r - h) + 1;
  }
  return -1;
}

/* The last occurrence of needle in hay, or -1. */
static long find_last(const void *hay, size_t hn, const char *needle)
{
  long at = -1, k;
  size_t nn = strlen(needle), from = 0;
  while ((k = find(hay, hn, needle, nn, from)) >= 0) {
    at = k;
    from = (size_t)k + 1;
  }
  return at;
}

/* ======================================================================
   The harness state
   ====================================================================== */
typedef struct fz {
  xep0077 c;
  xep0077_config cfg;
  xep0077_tls tls;
  xep0077_crypto crypto;
  xep0077_query q;
  /* the input */
  const uint8_t *data;
  size_t size, pos;
  uint8_t h0, h1, h2, h3;
  unsigned rng;
  /* the server: the turn being sent, expanded */
  int turn_open, turns, conn; /* conn: 0 up, 1 closed by the server, 2 failed */
  int turn_end;               /* what happens when this turn is sent: the same */
  size_t tpos;                /* bytes of the turn sent */
  unsigned reqs, reqs_at_open; /* requests the client sent: all, when the turn began */
  size_t scan;                /* where counting them goes on */
  size_t cuts[64];
  int ncut, cuti, want_once;
  /* the client */
  size_t tls_at;
  int tls_up, tls_starts, tls_closes, in_tls, hs_wants;
  xep0077_send_fn raw_send;
  xep0077_recv_fn raw_recv;
  void *raw_io;
  size_t retry_len; /* a TLS send that returned WANT_WRITE: its length */
  unsigned send_calls;
  /* the clock */
  unsigned long now, polls, op_deadline, op_timeout, op_waits, now_calls;
  int blocking;
  /* secrets */
  char login_pw[24], reg_pw[24], new_pw[24];
  char plain64[128];
  unsigned char salted[32];
  size_t salted_len;
  int randoms;
  /* what the calls returned, for the report */
  char trace[600];
  size_t trace_len;
  unsigned long data_bytes;
} fz;

static fz F;
static bytes g_turn, g_srv, g_cout, g_logout, g_tmp;
static char g_retry[4096];
static const char *g_where = "setup";
static int g_verbose = -1;

static void dump(const char *title, const unsigned char *p, size_t n);

static void report_context(void)
{
  fprintf(stderr, "  h0=%02x h1=%02x h2=%02x h3=%02x, turn %d, clock +%lu ms, %lu polls\n", F.h0,
          F.h1, F.h2, F.h3, F.turns, F.now - 1000000ul, F.polls);
  fprintf(stderr, "  calls so far: %s\n", F.trace);
  if (g_verbose) {
    dump("client sent", g_cout.p, g_cout.len);
    dump("server sent", g_srv.p, g_srv.len);
  }
}

static void die(const char *fmt, ...)
{
  va_list ap;
  fprintf(stderr, "\nfuzz_client: invariant broken during %s: ", g_where);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  report_context();
  abort();
}

static void trace(const char *what, int rc)
{
  int n = snprintf(F.trace + F.trace_len, sizeof F.trace - F.trace_len, "%s%s=%s", F.trace_len ? " " : "",
                   what, xep0077_status_name(rc));
  if (n > 0 && F.trace_len + (size_t)n < sizeof F.trace) F.trace_len += (size_t)n;
  if (g_verbose) fprintf(stderr, "[%lu ms] %s -> %s (%d)\n", F.now - 1000000ul, what,
                         xep0077_status_name(rc), rc);
}

static unsigned rnd(void)
{
  F.rng ^= F.rng << 13;
  F.rng ^= F.rng >> 17;
  F.rng ^= F.rng << 5;
  return F.rng;
}

static void dump(const char *title, const unsigned char *p, size_t n)
{
  size_t i;
  fprintf(stderr, "---- %s (%lu bytes)\n", title, (unsigned long)n);
  for (i = 0; i < n; i++) {
    if (p[i] == '\n' || (p[i] >= 32 && p[i] < 127)) fputc(p[i], stderr);
    else fprintf(stderr, "\\x%02x", p[i]);
  }
  fputc('\n', stderr);
}

/* ======================================================================
   The mbedTLS glue's crypto, with a deterministic random() and PBKDF2
   remembered (the client and the harness's SCRAM server derive the same)
   ====================================================================== */
static const char test_ca_pem[] = /* tests/test_stream.c's throwaway CA */
  "-----BEGIN CERTIFICATE-----\n"
  "MIIBizCCATGgAwIBAgIUBYQr9yw5eUir9gDrzjBRLySMZ5gwCgYIKoZIzj0EAwIw\n"
  "GjEYMBYGA1UEAwwPeGVwMDA3NyB0ZXN0IENBMCAXDTI2MTEyNDA0Mjk0OVoYDzIx\n"
  "MjYxMDMxMDQyOTQ5WjAaMRgwFgYDVQQDDA94ZXAwMDc3IHRlc3QgQ0EwWTATBgcq\n"
  "hkjOPQIBBggqhkjOPQMBBwNCAAR0CpSVkBIFvQUGEAkqTXteqrW2e9pEN7JzVPyQ\n"
  "kTmeEQtbfav5ZOVGaCdg96080ES37Ju8VTSZzgOQZAp8XfP1o1MwUTAdBgNVHQ4E\n"
  "FgQUncjHgoZ/TkN2lVdNbo6Elm8G+s4wHwYDVR0jBBgwFoAUncjHgoZ/TkN2lVdN\n"
  "bo6Elm8G+s4wDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiBHlJPM\n"
  "AtyDAndQGUNL0GuB3NbHCJvIyKFTgFs/z5d1lwIhALbfoIQaaT4wKie/GrLrNX9M\n"
  "SqJXzORZl4gc4EQZ+RYk\n"
  "-----END CERTIFICATE-----\n";

static xep0077_mbedtls g_mt;

typedef struct memo {
  int used, alg;
  unsigned char pw[32], salt[96], out[32];
  size_t pwlen, saltlen, outlen;
  unsigned long iter;
} memo;
static memo g_memo[8];
static unsigned g_memo_next;

static int pbkdf2_memo(int alg, const unsigned char *pw, size_t pwlen, const unsigned char *salt,
                       size_t saltlen, unsigned long iter, unsigned char *out, size_t outlen)
{
  int i, rc;
  memo *m;
  for (i = 0; i < 8; i++) {
    m = &g_memo[i];
    if (m->used && m->alg == alg && m->pwlen == pwlen && m->saltlen == saltlen &&
        m->iter == iter && m->outlen == outlen && same(m->pw, pw, pwlen) &&
        same(m->salt, salt, saltlen)) {
      memcpy(out, m->out, outlen);
      return 0;
    }
  }
  rc = g_mt.crypto.pbkdf2(g_mt.crypto.ctx, alg, pw, pwlen, salt, saltlen, iter, out, outlen);
  if (rc || pwlen > sizeof m->pw || saltlen > sizeof m->salt || outlen > sizeof m->out)
    return rc;
  m = &g_memo[g_memo_next++ % 8];
  m->used = 1;
  m->alg = alg;
  memcpy(m->pw, pw, m->pwlen = pwlen);
  memcpy(m->salt, salt, m->saltlen = saltlen);
  memcpy(m->out, out, m->outlen = outlen);
  m->iter = iter;
  return 0;
}

static void check_alg(int alg)
{
  if (alg != 1 && alg != 256) die("crypto callback asked for alg %d", alg);
}

static int fc_random(void *ctx, unsigned char *out, size_t len)
{
  size_t i;
  if (ctx != &F) die("crypto ctx is not the config's");
  if (F.h3 & 8) return -1;
  for (i = 0; i < len; i++) out[i] = (unsigned char)(0x5a ^ (i * 29 + (size_t)F.randoms * 101));
  F.randoms++;
  return 0;
}

static int fc_hash(void *ctx, int alg, const unsigned char *in, size_t len, unsigned char *out)
{
  (void)ctx;
  check_alg(alg);
  return g_mt.crypto.hash(g_mt.crypto.ctx, alg, in, len, out);
}

static int fc_hmac(void *ctx, int alg, const unsigned char *key, size_t klen,
                   const unsigned char *in, size_t len, unsigned char *out)
{
  (void)ctx;
  check_alg(alg);
  return g_mt.crypto.hmac(g_mt.crypto.ctx, alg, key, klen, in, len, out);
}

static int fc_pbkdf2(void *ctx, int alg, const unsigned char *pw, size_t pwlen,
                     const unsigned char *salt, size_t saltlen, unsigned long iter,
                     unsigned char *out, size_t outlen)
{
  int rc;
  (void)ctx;
  check_alg(alg);
  if (iter < 4096 || iter > F.cfg.scram_max_iterations)
    die("PBKDF2 asked for %lu iterations (scram_max_iterations %lu)", iter,
        F.cfg.scram_max_iterations);
  if (outlen != (alg == 256 ? 32u : 20u)) die("PBKDF2 output of %lu bytes", (unsigned long)outlen);
  if (F.h3 & 4) return -1;
  rc = pbkdf2_memo(alg, pw, pwlen, salt, saltlen, iter, out, outlen);
  if (!rc) { /* the client's SaltedPassword: it must not outlive login */
    memcpy(F.salted, out, outlen);
    F.salted_len = outlen;
  }
  return rc;
}

/* ======================================================================
   What the client sent: request ids and SASL payloads, read back
   ====================================================================== */
/* Base64-decode s[0, n) into out (NUL-terminated); length or -1. */
static long b64d(const unsigned char *s, size_t n, unsigned char *out, size_t cap)
{
  size_t olen = 0;
  if (!cap || mbedtls_base64_decode(out, cap - 1, &olen, s, n)) return -1;
  out[olen] = 0;
  return (long)olen;
}

static void b64e(bytes *b, const unsigned char *s, size_t n)
{
  size_t olen = 0, need = (n + 2) / 3 * 4 + 1;
  reserve(&g_tmp, need);
  if (mbedtls_base64_encode(g_tmp.p, g_tmp.cap, &olen, s, n)) return;
  put(b, g_tmp.p, olen);
}

/* The payload of the last element that starts with `open` and ends with
   `close` in hay, decoded; also what stood between the open and '>'. */
static long last_payload(const bytes *hay, const char *open, const char *close,
                         unsigned char *out, size_t cap, char *attrs, size_t acap)
{
  long at = find_last(hay->p, hay->len, open), gt, end;
  if (attrs && acap) attrs[0] = 0; /* "" when nothing is found */
  if (at < 0) return -1;
  gt = find(hay->p, hay->len, ">", 1, (size_t)at);
  if (gt < 0) return -1;
  end = find(hay->p, hay->len, close, strlen(close), (size_t)gt);
  if (end < 0) return -1;
  if (attrs) snprintf(attrs, acap, "%.*s", (int)(gt - at), (const char *)hay->p + at);
  return b64d(hay->p + gt + 1, (size_t)(end - gt - 1), out, cap);
}

/* The id of the client's latest request, or "". */
static void last_id(char *id, size_t cap)
{
  long g = find_last(g_cout.p, g_cout.len, "<iq type='get' id='");
  long s = find_last(g_cout.p, g_cout.len, "<iq type='set' id='");
  long at = g > s ? g : s;
  size_t n;
  id[0] = 0;
  if (at < 0) return;
  at += 19;
  n = strcspn((const char *)g_cout.p + at, "'");
  if (n >= cap) n = cap - 1;
  memcpy(id, g_cout.p + at, n);
  id[n] = 0;
}

/* The client's SCRAM client-first-message (decoded) and mechanism. */
static long client_first(unsigned char *out, size_t cap, int *alg)
{
  char attrs[200];
  long n = last_payload(&g_cout, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl'", "</auth>", out,
                        cap, attrs, sizeof attrs);
  *alg = strstr(attrs, "SCRAM-SHA-256") ? 256 : 1;
  return n;
}

static void put_nonce(bytes *b)
{
  unsigned char cf[600];
  int alg;
  const char *r;
  if (client_first(cf, sizeof cf, &alg) < 0 || !(r = strstr((const char *)cf, ",r="))) {
    puts_(b, "nonce");
    return;
  }
  puts_(b, r + 3);
}

static void put_sfirst(bytes *b)
{
  bytes s = {0, 0, 0};
  puts_(&s, "r=");
  put_nonce(&s);
  puts_(&s, SNONCE ",s=" SALT64 ",i=4096");
  b64e(b, s.p, s.len);
  free(s.p);
}

/* v=ServerSignature for the client's messages: RFC 5802 section 3. */
static void put_sfinal(bytes *b)
{
  unsigned char cf[600], sf[600], cfin[600], salt[128], sp[32], key[32], sig[32];
  bytes am = {0, 0, 0}, v = {0, 0, 0};
  const char *s, *i, *p;
  long saltlen;
  unsigned long iter;
  int alg;
  size_t hl;
  if (client_first(cf, sizeof cf, &alg) < 0 || strncmp((const char *)cf, "n,,", 3) ||
      last_payload(&g_srv, "<challenge", "</challenge>", sf, sizeof sf, NULL, 0) < 0 ||
      last_payload(&g_cout, "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'", "</response>",
                   cfin, sizeof cfin, NULL, 0) < 0 ||
      !(s = strstr((const char *)sf, ",s=")) || !(i = strstr((const char *)sf, ",i=")) || i < s ||
      !(p = strstr((const char *)cfin, ",p=")))
    goto fallback;
  saltlen = b64d((const unsigned char *)s + 3, (size_t)(i - s - 3), salt, sizeof salt);
  iter = strtoul(i + 3, NULL, 10);
  if (saltlen < 0 || iter < 1 || iter > 4096) goto fallback;
  hl = alg == 256 ? 32 : 20;
  if (pbkdf2_memo(alg, (const unsigned char *)F.login_pw, strlen(F.login_pw), salt,
                  (size_t)saltlen, iter, sp, hl))
    goto fallback;
  puts_(&am, (const char *)cf + 3);
  puts_(&am, ",");
  puts_(&am, (const char *)sf);
  puts_(&am, ",");
  put(&am, cfin, (size_t)(p - (const char *)cfin));
  if (g_mt.crypto.hmac(g_mt.crypto.ctx, alg, sp, hl, (const unsigned char *)"Server Key", 10, key) ||
      g_mt.crypto.hmac(g_mt.crypto.ctx, alg, key, hl, am.p, am.len, sig))
    goto fallback;
  puts_(&v, "v=");
  b64e(&v, sig, hl);
  b64e(b, v.p, v.len);
  free(am.p);
  free(v.p);
  return;
fallback:
  free(am.p);
  free(v.p);
  puts_(b, "dj1BQUFB"); /* v=AAAA */
}

/* ======================================================================
   The server: turns, expanded when they open
   ====================================================================== */
static void open_turn(void)
{
  long b64_from = -1;
  F.reqs_at_open = F.reqs;
  g_turn.len = 0;
  F.tpos = 0;
  F.ncut = F.cuti = 0;
  F.turn_end = 0;
  F.turns++;
  while (F.pos < F.size) {
    uint8_t b = F.data[F.pos++], d;
    char id[64];
    if (b == 0xFF) break;
    if (b != 0xFE || F.pos >= F.size) {
      put(&g_turn, &b, 1);
      continue;
    }
    d = F.data[F.pos++];
    switch (d) {
    case '|':
      if (F.ncut < 64) F.cuts[F.ncut++] = g_turn.len;
      break;
    case 'I':
      last_id(id, sizeof id);
      puts_(&g_turn, id);
      break;
    case 'S': put_sfirst(&g_turn); break;
    case 'F': put_sfinal(&g_turn); break;
    case 'N': put_nonce(&g_turn); break;
    case 'B': b64_from = (long)g_turn.len; break;
    case 'E':
      if (b64_from >= 0) {
        bytes raw = {0, 0, 0};
        put(&raw, g_turn.p + b64_from, g_turn.len - (size_t)b64_from);
        g_turn.len = (size_t)b64_from;
        b64e(&g_turn, raw.p, raw.len);
        free(raw.p);
        b64_from = -1;
      }
      break;
    case 'C':
    case 'X':
      F.turn_end = d == 'C' ? 1 : 2;
      F.pos = F.size; /* nothing after it is ever sent */
      break;
    default:
      put(&g_turn, &b, 1);
      put(&g_turn, &d, 1);
      break;
    }
    if (F.turn_end) break;
  }
  F.turn_open = 1;
  if (g_verbose) dump("server turn", g_turn.p, g_turn.len);
}

/* A turn answers a request: anything the client sends but its error replies
   to the server's own IQs. Counted as the bytes come (a request is longer
   than the longest pattern, so one that is all sent is counted). */
static void count_requests(void)
{
  static const char *const pat[] = {"<?xml",          "<starttls",      "<auth ",
                                    "<response ",     "<iq type='get'", "<iq type='set'",
                                    "</stream:stream>"};
  enum { MAXP = 16 };
  size_t i, k;
  for (i = F.scan; i + MAXP <= g_cout.len; i++) {
    if (g_cout.p[i] != '<') continue;
    for (k = 0; k < sizeof pat / sizeof pat[0]; k++)
      if (!memcmp(g_cout.p + i, pat[k], strlen(pat[k]))) F.reqs++;
  }
  if (i > F.scan) F.scan = i;
}

static int t_recv(void *io, unsigned char *buf, size_t len)
{
  size_t end, n;
  if (io != &F) die("recv with the wrong io");
  if (F.tls_up && !F.in_tls) die("a raw recv bypassed TLS after the handshake");
  if (!buf || !len) die("recv into %p, %lu bytes", (void *)buf, (unsigned long)len);
  for (;;) {
    if (F.conn == 1) return 0;
    if (F.conn == 2) return -1;
    if (F.want_once) {
      F.want_once = 0;
      return XEP0077_WANT_READ;
    }
    if (!F.turn_open) {
      if (F.pos >= F.size) return (F.h0 & 0x40) ? 0 : XEP0077_WANT_READ;
      count_requests();
      if (F.reqs <= F.reqs_at_open || xep0077_writer(&F.c)->len != 0) return XEP0077_WANT_READ;
      open_turn();
    }
    end = F.cuti < F.ncut ? F.cuts[F.cuti] : g_turn.len;
    if (F.tpos < end) break;
    if (F.cuti < F.ncut) { /* a read boundary: one WANT_READ */
      F.cuti++;
      F.want_once = 1;
      continue;
    }
    F.turn_open = 0; /* all of it sent */
    F.conn = F.turn_end;
  }
  n = end - F.tpos;
  switch (F.h1 & 3) {
  case 1: n = 1; break;
  case 2: {
    size_t k = 1 + rnd() % (1u + F.h2);
    if (n > k) n = k;
    break;
  }
  case 3: if (n > 1u + F.h2) n = 1u + F.h2; break;
  default: break;
  }
  if (n > end - F.tpos) n = end - F.tpos;
  if (n > len) n = len;
  memcpy(buf, g_turn.p + F.tpos, n);
  put(&g_srv, g_turn.p + F.tpos, n);
  F.tpos += n;
  if (F.tpos == g_turn.len && F.cuti >= F.ncut) {
    F.turn_open = 0;
    F.conn = F.turn_end;
  }
  return (int)n;
}

static int t_send(void *io, const unsigned char *buf, size_t len)
{
  size_t n = len;
  unsigned k = F.send_calls++;
  if (io != &F) die("send with the wrong io");
  if (F.tls_up && !F.in_tls) die("a raw send bypassed TLS after the handshake");
  if (!buf || !len) die("send of %p, %lu bytes", (void *)buf, (unsigned long)len);
  switch ((F.h1 >> 2) & 3) {
  case 1: n = 1; break;
  case 2: if (k & 1) return XEP0077_WANT_WRITE; break;
  case 3:
    if (rnd() % 4 == 0) return XEP0077_WANT_WRITE;
    n = 1 + rnd() % len;
    break;
  default: break;
  }
  put(&g_cout, buf, n);
  return (int)n;
}

/* ======================================================================
   The fake TLS: bytes pass unchanged
   ====================================================================== */
static int ft_start(void *ctx, xep0077_send_fn send, xep0077_recv_fn recv, void *io,
                    const char *server_name)
{
  if (ctx != &F) die("TLS ctx is not the config's");
  if (++F.tls_starts > 1) die("TLS started %d times on one connection", F.tls_starts);
  if (!server_name || strcmp(server_name, DOMAIN))
    die("TLS expects the certificate of \"%s\"", server_name ? server_name : "(null)");
  if (send != F.cfg.send || recv != F.cfg.recv || io != F.cfg.io)
    die("TLS is not given the raw transport");
  F.raw_send = send;
  F.raw_recv = recv;
  F.raw_io = io;
  F.hs_wants = F.h3 & 3;
  return (F.h1 >> 6) == 1 ? -1 : 0;
}

static int ft_handshake(void *ctx)
{
  (void)ctx;
  if (!F.tls_starts || (F.h1 >> 6) == 1) die("TLS handshake without a successful start()");
  if (F.tls_up) die("TLS handshake stepped after it completed");
  if (F.hs_wants > 0) {
    F.hs_wants--;
    return (F.hs_wants & 1) ? XEP0077_WANT_WRITE : XEP0077_WANT_READ;
  }
  if ((F.h1 >> 6) == 2) return XEP0077_ERR_TLS_VERIFY;
  if ((F.h1 >> 6) == 3) return -0x7780; /* MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE */
  F.tls_up = 1;
  F.tls_at = g_cout.len;
  return 0;
}

static int ft_send(void *ctx, const unsigned char *buf, size_t len)
{
  int n;
  (void)ctx;
  if (!F.tls_up) die("TLS send before the handshake completed");
  if (F.retry_len) { /* mbedtls_ssl_write: again with the same arguments */
    if (len != F.retry_len || !same(buf, g_retry, len < sizeof g_retry ? len : sizeof g_retry))
      die("a TLS send that would block was retried with %lu other bytes (first: %lu)",
          (unsigned long)len, (unsigned long)F.retry_len);
    F.retry_len = 0;
  }
  F.in_tls = 1;
  n = F.raw_send(F.raw_io, buf, len);
  F.in_tls = 0;
  if (n == XEP0077_WANT_WRITE) {
    F.retry_len = len;
    memcpy(g_retry, buf, len < sizeof g_retry ? len : sizeof g_retry);
  }
  return n;
}

static int ft_recv(void *ctx, unsigned char *buf, size_t len)
{
  int n;
  (void)ctx;
  if (!F.tls_up) die("TLS recv before the handshake completed");
  F.in_tls = 1;
  n = F.raw_recv(F.raw_io, buf, len);
  F.in_tls = 0;
  return n;
}

static int ft_verified(void *ctx)
{
  (void)ctx;
  if (!F.tls_up) die("verified() asked before the handshake completed");
  return !(F.h0 & 1);
}

static void ft_close(void *ctx)
{
  (void)ctx;
  F.tls_closes++;
}

/* ======================================================================
   Clock, wait, log, CAPTCHA data
   ====================================================================== */
static unsigned long f_now(void *user)
{
  if (user != &F) die("now_ms with the wrong user");
  if (++F.now_calls > 200000ul) die("the client spins: 200000 clock reads in one input");
  return F.now;
}

/* The blocking calls' wait: called only after a poll said PENDING. */
static void f_wait(void *io, int want_write, unsigned long ms)
{
  (void)want_write;
  if (io != &F) die("wait with the wrong io");
  if (F.now >= F.op_deadline)
    die("PENDING at +%lu ms, past the deadline +%lu ms", F.now - 1000000ul,
        F.op_deadline - 1000000ul);
  if (ms > F.op_timeout) die("wait asked for %lu ms of a %lu ms call", ms, F.op_timeout);
  if (++F.op_waits > F.op_timeout + SLACK) die("hang: %lu waits", F.op_waits);
  if (++F.polls > MAX_POLLS) die("more than %lu polls in one input", MAX_POLLS);
  F.now++;
}

static void f_log(void *user, int dir, const char *text, size_t len)
{
  if (user != &F) die("log with the wrong user");
  if (dir != XEP0077_LOG_IN && dir != XEP0077_LOG_OUT && dir != XEP0077_LOG_INFO)
    die("log direction %d", dir);
  if (len && !text) die("log of NULL text");
  if (dir == XEP0077_LOG_OUT) put(&g_logout, text, len);
}

static int on_data(void *user, const char *cid, const char *type, const unsigned char *b,
                   size_t n, int last)
{
  size_t i;
  if (user != &F) die("data callback with the wrong user");
  if (cid) F.data_bytes += strlen(cid);
  if (type) F.data_bytes += strlen(type);
  if (n && !b) die("data callback: %lu bytes at NULL", (unsigned long)n);
  for (i = 0; i < n; i++) F.data_bytes += b[i]; /* every byte readable */
  if (last != 0 && last != 1) die("data callback: last = %d", last);
  return (F.h3 & 16) ? -1 : 0;
}

/* ======================================================================
   Invariants
   ====================================================================== */
static void check_rc(int rc)
{
  if (!strcmp(xep0077_status_name(rc), "UNKNOWN") || !xep0077_strerror(rc))
    die("status %d is not in the catalogue", rc);
}

static void check_nul(const char *a, size_t n, const char *what)
{
  if (!memchr(a, 0, n)) die("%s is not NUL-terminated within its %lu bytes", what, (unsigned long)n);
}

/* A string the query hands out: in its pool, or one of the caller's. */
static const char s_username[] = "username", s_password[] = "password", s_email[] = "email",
                  s_email_v[] = "a@example.org", s_yes[] = "yes", s_user[] = USER;
static const char *const g_mine[] = {s_user, s_email_v, s_yes, s_username, s_password, s_email};
static void check_qstr(const xep0077_query *q, const char *s, const char *what)
{
  size_t i;
  if (!s) return;
  if (s >= q->pool && s < q->pool + sizeof q->pool) {
    if (!memchr(s, 0, (size_t)(q->pool + sizeof q->pool - s))) die("%s runs off the pool", what);
    return;
  }
  if (s == F.reg_pw || s == F.new_pw || s == F.login_pw) return;
  for (i = 0; i < sizeof g_mine / sizeof g_mine[0]; i++)
    if (s == g_mine[i]) return;
  /* change_pass puts the localpart of the JID (kept in the connection) */
  if ((const char *)s >= (const char *)&F.c && (const char *)s < (const char *)(&F.c + 1)) {
    check_nul(s, (size_t)((const char *)(&F.c + 1) - s), what);
    return;
  }
  if (!*s) return; /* a literal "" */
  die("%s (\"%.40s\") points neither into the query's pool nor at the caller's strings", what, s);
}

static void check_query(const xep0077_query *q)
{
  int i;
  char w[64];
  if (q->nfields < 0 || q->nfields > XEP0077_QUERY_FIELDS || q->nform < 0 ||
      q->nform > XEP0077_QUERY_FIELDS || q->nitems < 0 || q->nitems > XEP0077_QUERY_ITEMS ||
      q->pool_len > sizeof q->pool)
    die("query counts out of bounds: nfields %d nform %d nitems %d pool_len %lu", q->nfields,
        q->nform, q->nitems, (unsigned long)q->pool_len);
  check_qstr(q, q->instructions, "q.instructions");
  check_qstr(q, q->form_type, "q.form_type");
  check_qstr(q, q->form_title, "q.form_title");
  check_qstr(q, q->form_instructions, "q.form_instructions");
  check_qstr(q, q->oob_url, "q.oob_url");
  check_qstr(q, q->oob_desc, "q.oob_desc");
  check_qstr(q, q->data_cid, "q.data_cid");
  check_qstr(q, q->data_type, "q.data_type");
  for (i = 0; i < q->nfields; i++) {
    snprintf(w, sizeof w, "q.field[%d]", i);
    if (!q->field[i].name) die("%s has no name", w);
    check_qstr(q, q->field[i].name, w);
    check_qstr(q, q->field[i].value, w);
    check_qstr(q, q->field[i].set, w);
  }
  for (i = 0; i < q->nform; i++) {
    const xep0077_form_field *f = &q->form[i];
    snprintf(w, sizeof w, "q.form[%d]", i);
    check_qstr(q, f->var, w);
    check_qstr(q, f->type, w);
    check_qstr(q, f->label, w);
    check_qstr(q, f->desc, w);
    check_qstr(q, f->set, w);
    if (f->nvalues < 0 || f->noptions < 0 || f->nuris < 0 ||
        f->nvalues + f->noptions + f->nuris > q->nitems)
      die("%s item counts %d/%d/%d of %d items", w, f->nvalues, f->noptions, f->nuris, q->nitems);
  }
  for (i = 0; i < q->nitems; i++) {
    snprintf(w, sizeof w, "q.item[%d]", i);
    if (q->item[i].field < 0 || q->item[i].field >= q->nform || q->item[i].kind < 0 ||
        q->item[i].kind > XEP0077_ITEM_URI)
      die("%s: field %d kind %d (nform %d)", w, q->item[i].field, q->item[i].kind, q->nform);
    check_qstr(q, q->item[i].text, w);
    check_qstr(q, q->item[i].label, w);
  }
}

/* The query's own API over whatever the server filled in. */
static void touch_query(const xep0077_query *q)
{
  const char *names[2 * XEP0077_QUERY_FIELDS + 4];
  const char *s;
  int i, k, kind, n = xep0077_get_used_fields(q, names, (int)(sizeof names / sizeof names[0]));
  if (n < 0 || n > (int)(sizeof names / sizeof names[0])) die("get_used_fields returned %d", n);
  for (i = 0; i < n; i++) {
    if (!names[i]) die("get_used_fields: name %d is NULL", i);
    check_qstr(q, names[i], "a used field's name");
    if ((s = xep0077_query_get(q, names[i])) != NULL) check_qstr(q, s, "query_get");
  }
  if ((s = xep0077_query_missing(q)) != NULL) check_qstr(q, s, "query_missing");
  for (i = 0; i < q->nform; i++)
    for (kind = XEP0077_ITEM_VALUE; kind <= XEP0077_ITEM_URI; kind++)
      for (k = 0;; k++) {
        const xep0077_item *it = xep0077_form_item(q, i, kind, k);
        if (!it) break;
        if (it < q->item || it >= q->item + q->nitems || it->field != i || it->kind != kind)
          die("form_item(%d, %d, %d) is not that item", i, kind, k);
        if (k > XEP0077_QUERY_ITEMS) die("form_item never ends");
      }
  if (xep0077_form_item(q, -1, 0, 0) || xep0077_form_item(q, q->nform, 0, 0))
    die("form_item out of range is not NULL");
}

static void check_no(const void *hay, size_t n, const void *secret, size_t sn, const char *what,
                     const char *where)
{
  long at = find(hay, n, secret, sn, 0);
  if (at >= 0) die("%s found in %s at offset %ld", what, where, at);
}

/* Once a call has returned: no secret stays behind. */
static void check_memory(void)
{
  const char *pws[3] = {F.login_pw, F.reg_pw, F.new_pw};
  static const char *const names[3] = {"the login password", "the registered password",
                                       "the new password"};
  int i;
  for (i = 0; i < 3; i++) {
    check_no(&F.c, sizeof F.c, pws[i], strlen(pws[i]), names[i], "the xep0077 struct");
    check_no(&F.q, sizeof F.q, pws[i], strlen(pws[i]), names[i], "the query");
  }
  check_no(&F.c, sizeof F.c, F.plain64, strlen(F.plain64), "PLAIN's base64 payload",
           "the xep0077 struct");
  if (F.salted_len)
    check_no(&F.c, sizeof F.c, F.salted, F.salted_len, "the SaltedPassword",
             "the xep0077 struct");
}

static void check_conn(void)
{
  check_nul(F.c.error.condition, sizeof F.c.error.condition, "c.error.condition");
  check_nul(F.c.error.type, sizeof F.c.error.type, "c.error.type");
  check_nul(F.c.error.text, sizeof F.c.error.text, "c.error.text");
  check_nul(F.c.jid, sizeof F.c.jid, "c.jid");
  if (F.c.secure && (!F.tls_up || (F.h0 & 1)))
    die("c.secure = 1 without a verified TLS handshake");
  if (F.c.tls_active && !F.tls_up) die("c.tls_active = 1 before the handshake completed");
}

/* A call returned (not PENDING). */
static void after_call(const char *name, int rc)
{
  check_rc(rc);
  trace(name, rc);
  check_conn();
  check_memory();
  check_query(&F.q);
  if (!strcmp(name, "login") && rc == 0 && (!F.c.authenticated || !F.c.jid[0]))
    die("login returned 0 but authenticated=%d jid=\"%s\"", F.c.authenticated, F.c.jid);
  if (rc == XEP0077_ERR_REDIRECT && strcmp(name, "get_registration_fields"))
    die("ERR_REDIRECT from %s", name);
}

/* Run a call started with *_start through the pump. */
static int pump(int rc, unsigned long timeout)
{
  unsigned long deadline = F.now + timeout, polls = 0;
  check_rc(rc);
  while (rc == XEP0077_PENDING) {
    rc = xep0077_poll(&F.c);
    check_rc(rc);
    if (rc == XEP0077_PENDING && F.now >= deadline)
      die("PENDING at +%lu ms, past the deadline +%lu ms", F.now - 1000000ul,
          deadline - 1000000ul);
    F.now++;
    if (++F.polls > MAX_POLLS) die("more than %lu polls in one input", MAX_POLLS);
    if (++polls > timeout + SLACK) die("hang: still PENDING after %lu polls", polls);
  }
  return rc;
}

/* One poll with no call running: answers the server, reports a failure
   once, never PENDING. */
static void idle_poll(void)
{
  int rc;
  g_where = "an idle poll";
  rc = xep0077_poll(&F.c);
  check_rc(rc);
  if (rc == XEP0077_PENDING) die("a poll with no call running returned PENDING");
  F.now++;
  F.polls++;
  if (rc) trace("idle", rc);
  check_conn();
  check_memory();
}

enum { OP_CONNECT, OP_FIELDS, OP_REGISTER, OP_LOGIN, OP_INFO, OP_CHANGE, OP_CANCEL, OP_CLOSE };
static const char *const op_names[] = {"connect", "get_registration_fields", "register", "login",
                                       "get_client_info", "change_pass", "cancel_registration",
                                       "close"};
static const unsigned long op_timeouts[] = {300, 150, 150, 300, 150, 200, 150, 50};

static int call(int op)
{
  xep0077 *c = &F.c;
  xep0077_query *q = &F.q;
  const char *to = (F.h0 & 0x20) ? "reg." DOMAIN : NULL;
  unsigned long t = op_timeouts[op];
  int rc, i;
  g_where = op_names[op];
  if (op == OP_REGISTER) { /* fill in what the server asked for */
    check_rc(xep0077_query_set(q, s_username, s_user));
    check_rc(xep0077_query_set(q, s_password, F.reg_pw));
    check_rc(xep0077_query_set(q, s_email, s_email_v));
    for (i = 0; i < q->nform; i++)
      if (q->form[i].required && q->form[i].var && !q->form[i].set &&
          !xep0077_form_item(q, i, XEP0077_ITEM_VALUE, 0))
        check_rc(xep0077_query_set(q, q->form[i].var, s_yes));
  }
  F.op_deadline = F.now + t;
  F.op_timeout = t;
  F.op_waits = 0;
  if (F.blocking) {
    switch (op) {
    case OP_CONNECT: rc = xep0077_connect(c, t); break;
    case OP_FIELDS: rc = xep0077_get_registration_fields(c, to, q, t); break;
    case OP_REGISTER: rc = xep0077_register(c, to, q, t); break;
    case OP_LOGIN: rc = xep0077_login(c, USER, F.login_pw, t); break;
    case OP_INFO: rc = xep0077_get_client_info(c, q, t); break;
    case OP_CHANGE: rc = xep0077_change_pass(c, q, F.new_pw, F.login_pw, t); break;
    case OP_CANCEL: rc = xep0077_cancel_registration(c, q, t); break;
    default: rc = xep0077_close(c, t); break;
    }
    if (rc == XEP0077_PENDING) die("a blocking call returned PENDING");
  } else {
    switch (op) {
    case OP_CONNECT: rc = xep0077_connect_start(c, t); break;
    case OP_FIELDS: rc = xep0077_get_registration_fields_start(c, to, q, t); break;
    case OP_REGISTER: rc = xep0077_register_start(c, to, q, t); break;
    case OP_LOGIN: rc = xep0077_login_start(c, USER, F.login_pw, t); break;
    case OP_INFO: rc = xep0077_get_client_info_start(c, q, t); break;
    case OP_CHANGE: rc = xep0077_change_pass_start(c, q, F.new_pw, F.login_pw, t); break;
    case OP_CANCEL: rc = xep0077_cancel_registration_start(c, q, t); break;
    default: rc = xep0077_close_start(c, t); break;
    }
    rc = pump(rc, t);
  }
  after_call(op_names[op], rc);
  if (op == OP_FIELDS || op == OP_INFO) touch_query(q);
  idle_poll();
  return rc;
}

/* Credentials only where the config lets them go: raw bytes (before the
   handshake) need insecure_plaintext, TLS bytes a verified certificate or
   insecure_unverified_tls. */
static void check_sent_where(const void *secret, size_t n, const char *what)
{
  size_t tls_at = F.tls_up ? F.tls_at : g_cout.len;
  int raw_ok = F.cfg.insecure_plaintext, tls_ok = !(F.h0 & 1) || F.cfg.insecure_unverified_tls;
  long at = -1;
  while ((at = find(g_cout.p, g_cout.len, secret, n, (size_t)(at + 1))) >= 0) {
    if ((size_t)at < tls_at && !raw_ok)
      die("%s sent in plaintext (offset %ld, TLS began at %lu)", what, at, (unsigned long)tls_at);
    if ((size_t)at + n > tls_at && !tls_ok)
      die("%s sent over TLS that did not verify (offset %ld)", what, at);
  }
}

/* Each stream the client opened, from its <?xml to the next, must parse. */
static void check_well_formed(void)
{
  static char mem[4096];
  static const char decl[] = "<?xml version='1.0'?>";
  size_t len = g_cout.len, k;
  long at, next, end;
  /* The connection may have died in the middle of a stream header: leave
     out a tail that is the start of one. */
  for (k = len < sizeof decl - 1 ? len : sizeof decl - 1; k > 0; k--)
    if (same(g_cout.p + len - k, decl, k)) {
      len -= k;
      break;
    }
  at = find(g_cout.p, len, decl, strlen(decl), 0);
  if (len && at != 0) die("the client's output does not begin with <?xml");
  while (at >= 0) {
    xep0077_xml p;
    int ev;
    next = find(g_cout.p, len, decl, strlen(decl), (size_t)at + 1);
    end = next >= 0 ? next : (long)len;
    xep0077_xml_init(&p, mem, sizeof mem);
    xep0077_xml_feed(&p, g_cout.p + at, (size_t)(end - at));
    while ((ev = xep0077_xml_next(&p)) > 0)
      if (ev == XEP0077_XML_STREAM_END && xep0077_xml_pending(&p))
        die("the client sent %lu bytes after its </stream:stream>",
            (unsigned long)xep0077_xml_pending(&p));
    if (ev < 0) {
      if (g_verbose) dump("client stream", g_cout.p + at, (size_t)(end - at));
      die("the client's stream at offset %ld is not well-formed: %s (at byte %lu)", at,
          xep0077_status_name(ev), p.offset);
    }
    at = next;
  }
}

static void final_checks(void)
{
  const char *pws[3] = {F.login_pw, F.reg_pw, F.new_pw};
  int i;
  g_where = "the end of the session";
  for (i = 0; i < 3; i++) {
    check_sent_where(pws[i], strlen(pws[i]), "a password");
    check_no(g_logout.p, g_logout.len, pws[i], strlen(pws[i]), "a password", "the XML console");
  }
  check_sent_where(F.plain64, strlen(F.plain64), "PLAIN's payload");
  check_sent_where("<auth ", 6, "<auth>");
  check_sent_where("<response ", 10, "<response>");
  check_no(g_logout.p, g_logout.len, F.plain64, strlen(F.plain64), "PLAIN's payload",
           "the XML console");
  check_well_formed();
}

/* ======================================================================
   One session per input
   ====================================================================== */
static void setup_once(void)
{
  if (g_verbose >= 0) return;
  g_verbose = getenv("FUZZ_CLIENT_VERBOSE") != NULL;
  if (xep0077_mbedtls_init(&g_mt, test_ca_pem, NULL)) {
    fprintf(stderr, "fuzz_client: xep0077_mbedtls_init failed\n");
    abort();
  }
}

static void reset(const uint8_t *data, size_t size)
{
  uint64_t h = 1469598103934665603ull;
  size_t i;
  unsigned char raw[64];
  size_t ul = strlen(USER), pl;
  memset(&F, 0, sizeof F);
  g_turn.len = g_srv.len = g_cout.len = g_logout.len = g_tmp.len = 0;
  F.data = data;
  F.size = size;
  F.h0 = data[0];
  F.h1 = data[1];
  F.h2 = data[2];
  F.h3 = data[3];
  F.pos = 4;
  F.rng = 0x9e3779b9u ^ (F.h2 * 2654435761u);
  if (!F.rng) F.rng = 1;
  F.now = 1000000ul;
  F.blocking = (F.h1 & 0x20) != 0;
  /* the passwords: a hash of the whole input, never in the input */
  for (i = 0; i < size; i++) h = (h ^ data[i]) * 1099511628211ull;
  snprintf(F.login_pw, sizeof F.login_pw, "L%012llx", (unsigned long long)(h & 0xffffffffffffull));
  h = (h ^ 0x5bd1e995u) * 1099511628211ull;
  snprintf(F.reg_pw, sizeof F.reg_pw, "R%012llx", (unsigned long long)(h >> 16));
  h = (h ^ 0x27d4eb2fu) * 1099511628211ull;
  snprintf(F.new_pw, sizeof F.new_pw, "N%012llx", (unsigned long long)(h >> 16));
  /* PLAIN's payload: base64 of \0user\0password */
  pl = strlen(F.login_pw);
  raw[0] = 0;
  memcpy(raw + 1, USER, ul);
  raw[ul + 1] = 0;
  memcpy(raw + ul + 2, F.login_pw, pl);
  {
    size_t olen = 0;
    mbedtls_base64_encode((unsigned char *)F.plain64, sizeof F.plain64, &olen, raw, ul + pl + 2);
    F.plain64[olen] = 0;
  }

  F.tls.ctx = &F;
  F.tls.start = ft_start;
  F.tls.handshake = ft_handshake;
  F.tls.send = ft_send;
  F.tls.recv = ft_recv;
  F.tls.verified = ft_verified;
  F.tls.close = ft_close;
  F.crypto.ctx = &F;
  F.crypto.random = fc_random;
  F.crypto.hash = fc_hash;
  F.crypto.hmac = fc_hmac;
  F.crypto.pbkdf2 = fc_pbkdf2;
  F.cfg.domain = DOMAIN;
  F.cfg.send = t_send;
  F.cfg.recv = t_recv;
  F.cfg.io = &F;
  F.cfg.now_ms = f_now;
  F.cfg.wait = F.blocking ? f_wait : NULL;
  F.cfg.log = f_log;
  F.cfg.user = &F;
  F.cfg.tls = &F.tls;
  F.cfg.crypto = (F.h0 & 0x80) ? NULL : &F.crypto;
  F.cfg.direct_tls = (F.h0 & 2) != 0;
  F.cfg.resource = (F.h1 & 0x10) ? NULL : "probe";
  F.cfg.timeout_ms = 100;
  F.cfg.scram_max_iterations = 4096;
  F.cfg.insecure_unverified_tls = (F.h0 & 4) != 0;
  F.cfg.insecure_plaintext = (F.h0 & 8) != 0;
  xep0077_query_clear(&F.q);
  F.q.on_data = on_data;
  F.q.data_user = &F;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  int rc;
  if (size < 4) return 0;
  setup_once();
  reset(data, size);
  g_where = "xep0077_init";
  rc = xep0077_init(&F.c, &F.cfg);
  if (rc) die("xep0077_init returned %s", xep0077_status_name(rc));

  call(OP_CONNECT);
  if (!(F.h0 & 0x10)) {
    call(OP_FIELDS);
    call(OP_REGISTER);
  }
  call(OP_LOGIN);
  if (F.h0 & 0x10) {
    call(OP_FIELDS);
    call(OP_REGISTER);
  }
  call(OP_INFO);
  call(OP_CHANGE);
  call(OP_CANCEL);
  call(OP_CLOSE);
  /* a closed connection takes no new call */
  g_where = "a call after close";
  rc = xep0077_get_registration_fields_start(&F.c, NULL, &F.q, 50);
  check_rc(rc);
  if (rc == XEP0077_PENDING) die("get_registration_fields_start after close returned PENDING");
  idle_poll();
  final_checks();
  if (g_verbose) {
    dump("client sent", g_cout.p, g_cout.len);
    dump("XML console, out", g_logout.p, g_logout.len);
    fprintf(stderr, "calls: %s\n", F.trace);
  }
  return 0;
}

/* ======================================================================
   The seed corpus (cc -DFUZZ_CLIENT_WRITE_SEEDS ...; see the top)
   ====================================================================== */
#ifdef FUZZ_CLIENT_WRITE_SEEDS
#define T "\xff"          /* end of turn */
#define ID "\xfe" "I"     /* the client's last request id */
#define SFIRST "\xfe" "S"
#define SFINAL "\xfe" "F"
#define CUT "\xfe" "|"
#define CLOSE "\xfe" "C"
#define B64 "\xfe" "B"
#define END64 "\xfe" "E"
#define NONCE "\xfe" "N"

#define NS_ST "urn:ietf:params:xml:ns:xmpp-stanzas"
#define NS_SS "urn:ietf:params:xml:ns:xmpp-streams"
#define P_HDR(id, from)                                                                \
  "<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' " \
  "id='" id "' version='1.0' xml:lang='en' xmlns='jabber:client' from='" from "'>"
#define P_HDR1 P_HDR("8a046a41-e133-4b5c-a22b-4c490bc18ec9", "localhost")
#define P_HDR2 P_HDR("a78b2ceb-b17e-4f1e-a5ca-1374b9a4ddb5", "localhost")
#define P_HDR3 P_HDR("f54ed9a6-4583-4517-8cbf-958b6cf82d5b", "localhost")
#define P_HDRD P_HDR("ba746ebb-8508-4f51-8ab6-053067e03126", "localhost")
#define P_FEAT_TLS                                                                     \
  "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>"      \
  "</starttls></stream:features>"
#define P_PROCEED "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
#define P_MECHS(m)                                                                     \
  "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" m            \
  "</mechanisms><register xmlns='http://jabber.org/features/iq-register'/>"             \
  "</stream:features>"
#define P_FEAT_SASL P_MECHS("<mechanism>PLAIN</mechanism><mechanism>SCRAM-SHA-1</mechanism>")
#define P_FEAT_BIND                                                                    \
  "<stream:features><c hash='sha-1' xmlns='http://jabber.org/protocol/caps' "           \
  "node='http://prosody.im' ver='SBFeVmHjn/0sIxhdtS0CecdSGs8='/>"                       \
  "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><required/></bind>"                   \
  "<session xmlns='urn:ietf:params:xml:ns:xmpp-session'><optional/></session>"          \
  "<sub xmlns='urn:xmpp:features:pre-approval'/></stream:features>"
#define PREAMBLE_F(features) P_HDR1 P_FEAT_TLS T P_PROCEED T P_HDR2 features T
#define PREAMBLE PREAMBLE_F(P_FEAT_SASL)
#define CHALLENGE "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" SFIRST "</challenge>" T
#define SUCCESS "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" SFINAL "</success>" T
#define BIND_OK(jid)                                                                   \
  "<iq type='result' id='" ID "'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>" jid \
  "</jid></bind></iq>" T
#define BIND P_HDR3 P_FEAT_BIND T BIND_OK("alice@localhost/probe")
#define LOGIN CHALLENGE SUCCESS BIND
#define RESULT "<iq type='result' id='" ID "'/>" T
#define P_FIELDS                                                                       \
  "<iq type='result' id='" ID "'><query xmlns='jabber:iq:register'><instructions>Choose a " \
  "username and password for use with this service.</instructions><username/><password/>" \
  "<x type='form' xmlns='jabber:x:data'><title>Creating a new account</title>"          \
  "<instructions>Choose a username and password for use with this service.</instructions>" \
  "<field type='hidden' var='FORM_TYPE'><value>jabber:iq:register</value></field>"     \
  "<field type='text-single' label='Username' var='username'><required/></field>"       \
  "<field type='text-private' label='Password' var='password'><required/></field></x>"  \
  "</query></iq>" T
#define P_INFO                                                                         \
  "<iq type='result' id='" ID "' to='alice@localhost/probe'><query "                    \
  "xmlns='jabber:iq:register'><registered/><username>alice</username><password/></query>" \
  "</iq>" T
#define P_CHANGED "<iq type='result' id='" ID "' to='alice@localhost/probe'/>" T
#define P_DELETED                                                                      \
  "<iq type='result' id='" ID "' to='alice@localhost/probe'/><stream:error><not-authorized " \
  "xmlns='" NS_SS "'/><text xmlns='" NS_SS "'>Account deleted</text></stream:error>"     \
  "</stream:stream>" T
#define BYE "</stream:stream>" T
#define IQ_ERR(type, cond, text)                                                       \
  "<iq type='error' id='" ID "'><error type='" type "'><" cond " xmlns='" NS_ST "'/>"   \
  "<text xmlns='" NS_ST "'>" text "</text></error></iq>" T
#define IQ_ERR0(type, cond)                                                            \
  "<iq type='error' id='" ID "'><error type='" type "'><" cond " xmlns='" NS_ST "'/>"   \
  "</error></iq>" T
#define CHANGE_FORM_ERROR                                                              \
  "<iq type='error' from='localhost' to='alice@localhost/probe' id='" ID "'>"           \
  "<query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' type='form'>"             \
  "<title>Password Change</title><instructions>Use this form to change your password."  \
  "</instructions><field type='hidden' var='FORM_TYPE'>"                                \
  "<value>jabber:iq:register:changepassword</value></field>"                            \
  "<field type='text-single' label='Username' var='username'><required/></field>"       \
  "<field type='text-private' label='Old Password' var='old_password'><required/></field>" \
  "<field type='text-private' label='New Password' var='password'><required/></field>"  \
  "</x></query><error code='401' type='modify'><not-authorized xmlns='" NS_ST "'/>"     \
  "</error></iq>" T
#define LIFECYCLE PREAMBLE P_FIELDS RESULT LOGIN P_INFO P_CHANGED P_DELETED

#define X10 "xxxxxxxxxx"
#define X100 X10 X10 X10 X10 X10 X10 X10 X10 X10 X10

typedef struct seed {
  const char *name;
  unsigned char h[4];
  const char *body;
} seed;

/* A CAPTCHA form (XEP-0158) with a 1 KB XEP-0231 image: two seeds share it. */
#define CAPTCHA_BIG_DATA \
  "<iq type='result' id='" ID "'><query xmlns='jabber:iq:register'>" \
  "<x xmlns='jabber:x:data' type='form'><field type='hidden' var='FORM_TYPE'><value>" \
  "urn:xmpp:captcha</value></field><field var='ocr' label='Enter the text you see'>" \
  "<media xmlns='urn:xmpp:media-element' height='80' width='290'><uri type='image/png'>" \
  "cid:sha1+0123@bob.xmpp.org</uri></media><required/></field>" \
  "<field type='text-single' var='username'><required/></field>" \
  "<field type='text-private' var='password'><required/></field></x></query>" \
  "<data xmlns='urn:xmpp:bob' cid='sha1+0123@bob.xmpp.org' type='image/png' max-age='0'>\n" \
  "CzBVep/E6Q4zWH2ix+wRNluApcrvFDleg6jN8hc8YYar0PUaP2SJrtP4HUJnjLHW+yBFao+02f4j\n" \
  "SG2St9wBJktwlbrfBClOc5i94gcsUXabwOUKL1R5nsPoDTJXfKHG6xA1Wn+kye4TOF2Cp8zxFjtg\n" \
  "harP9Bk+Y4it0vccQWaLsNX6H0RpjrPY/SJHbJG22wAlSm+Uud4DKE1yl7zhBitQdZq/5AkuU3id\n" \
  "wucMMVZ7oMXqDzRZfqPI7RI3XIGmy/AVOl+Eqc7zGD1ih6zR9htAZYqv1PkeQ2iNstf8IUZrkLXa\n" \
  "/yRJbpO43QInTHGWu+AFKk90mb7jCC1Sd5zB5gswVXqfxOkOM1h9osfsETZbgKXK7xQ5XoOozfIX\n" \
  "PGGGq9D1Gj9kia7T+B1CZ4yx1vsgRWqPtNn+I0htkrfcASZLcJW63wQpTnOYveIHLFF2m8DlCi9U\n" \
  "eZ7D6A0yV3yhxusQNVp/pMnuEzhdgqfM8RY7YIWqz/QZPmOIrdL3HEFmi7DV+h9EaY6z2P0iR2yR\n" \
  "ttsAJUpvlLneAyhNcpe84QYrUHWav+QJLlN4ncLnDDFWe6DF6g80WX6jyO0SN1yBpsvwFTpfhKnO\n" \
  "8xg9Yoes0fYbQGWKr9T5HkNojbLX/CFGa5C12v8kSW6TuN0CJ0xxlrvgBSpPdJm+4wgtUnecweYL\n" \
  "MFV6n8TpDjNYfaLH7BE2W4Clyu8UOV6DqM3yFzxhhqvQ9Ro/ZImu0/gdQmeMsdb7IEVqj7TZ/iNI\n" \
  "bZK33AEmS3CVut8EKU5zmL3iByxRdpvA5QovVHme\n" \
  "</data></iq>"

static const seed seeds[] = {
  /* prosody 0.12.3: the whole account lifecycle on one stream */
  {"prosody_lifecycle", {0, 0, 0, 0}, LIFECYCLE},
  {"prosody_lifecycle_1byte", {0x40, 0x01 | 0x04, 0, 0}, LIFECYCLE},
  {"prosody_lifecycle_random_chunks", {0, 0x02 | 0x0c, 0x2a, 2}, LIFECYCLE},
  {"prosody_lifecycle_fixed7_wantwrite", {0, 0x03 | 0x08, 6, 3}, LIFECYCLE},
  {"prosody_lifecycle_blocking", {0x40, 0x20 | 0x02, 0x11, 1}, LIFECYCLE},
  {"prosody_lifecycle_cuts",
   {0, 0, 0, 0},
   P_HDR1 CUT P_FEAT_TLS T P_PROCEED T P_HDR2 "<stream:features><mechanisms xmlns='urn:ietf:"
   "params:xml:ns:xmpp-sasl'><mech" CUT "anism>PLAIN</mechanism><mechanism>SCRAM-SHA-1"
   "</mechanism></mechanisms><register xmlns='http://jabber.org/features/iq-register'/>"
   "</stream:features>" T P_FIELDS RESULT "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
   SFIRST CUT "</challenge>" T SUCCESS BIND P_INFO P_CHANGED
   "<iq type='result' id='" ID "' to='alice@localhost/probe'/>" CUT "<stream:error>"
   "<not-authorized xmlns='" NS_SS "'/>" CUT "<text xmlns='" NS_SS "'>Account deleted</text>"
   "</stream:error></stream:stream>" T},
  /* logged in first: mod_user_account_management answers the queries */
  {"prosody_login_first",
   {0x10, 0, 0, 0},
   PREAMBLE LOGIN P_INFO IQ_ERR0("modify", "bad-request") P_INFO P_CHANGED P_DELETED},
  {"prosody_direct_tls",
   {0x02, 0, 0, 1},
   P_HDRD P_FEAT_SASL T P_FIELDS RESULT LOGIN P_INFO P_CHANGED P_DELETED},
  {"prosody_plain_only",
   {0x80, 0, 0, 0},
   PREAMBLE P_FIELDS RESULT "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>" T BIND
   P_INFO P_CHANGED P_DELETED},
  {"prosody_bind_random_resource",
   {0x80, 0x10, 0, 0},
   PREAMBLE P_FIELDS RESULT "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>" T P_HDR3
   P_FEAT_BIND T BIND_OK("plainusere1d5cf@localhost/OAQL_3_JtaG6") BYE},
  {"prosody_scram_sha256",
   {0, 0, 0, 0},
   PREAMBLE_F(P_MECHS("<mechanism>PLAIN</mechanism><mechanism>SCRAM-SHA-1</mechanism>"
                      "<mechanism>SCRAM-SHA-256</mechanism>")) P_FIELDS RESULT LOGIN P_INFO BYE},
  {"prosody_scram_plus_tls12",
   {0x10, 0, 0, 0},
   PREAMBLE_F(P_MECHS("<mechanism>PLAIN</mechanism><mechanism>SCRAM-SHA-1</mechanism>"
                      "<mechanism>SCRAM-SHA-1-PLUS</mechanism>")) LOGIN P_INFO BYE},
  /* registration errors, verbatim */
  {"prosody_register_conflict",
   {0, 0, 0, 0},
   PREAMBLE P_FIELDS IQ_ERR("cancel", "conflict", "The requested username already exists.") BYE},
  {"prosody_register_not_acceptable",
   {0x40, 0, 0, 0},
   PREAMBLE P_FIELDS IQ_ERR("modify", "not-acceptable",
                            "Username: Required value missing\nPassword: Required value missing")},
  {"prosody_register_bad_username",
   {0, 0, 0, 0},
   PREAMBLE P_FIELDS IQ_ERR("modify", "not-acceptable", "The requested username is invalid.")
   BYE},
  {"prosody_closed_host",
   {0, 0, 0, 0},
   P_HDR1 P_FEAT_TLS T P_PROCEED T P_HDR("6c5ac2ea-3cbd-4f8b-a6b4-61a4a7d3f0c2",
                                         "closed.localhost")
   "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN"
   "</mechanism><mechanism>SCRAM-SHA-1</mechanism></mechanisms></stream:features>" T
   IQ_ERR0("cancel", "service-unavailable") IQ_ERR0("cancel", "service-unavailable") BYE},
  {"prosody_email_host",
   {0, 0, 0, 0},
   PREAMBLE "<iq type='result' id='" ID "'><query xmlns='jabber:iq:register'><instructions>"
   "Choose a username and password for use with this service.</instructions><username/>"
   "<password/><email/><x type='form' xmlns='jabber:x:data'><title>Creating a new account"
   "</title><instructions>Choose a username and password for use with this service."
   "</instructions><field type='hidden' var='FORM_TYPE'><value>jabber:iq:register</value>"
   "</field><field type='text-single' label='Username' var='username'><required/></field>"
   "<field type='text-private' label='Password' var='password'><required/></field>"
   "<field type='text-single' label='Email' var='email'><required/></field></x></query></iq>" T
   IQ_ERR("modify", "not-acceptable", "Email: Required value missing") BYE},
  {"prosody_throttle",
   {0, 0, 0, 0},
   PREAMBLE P_FIELDS IQ_ERR("wait", "policy-violation",
                            "Too many registrations from this IP address recently") BYE},
  {"prosody_encryption_required_plaintext",
   {0x08, 0, 0, 0},
   P_HDR1 "<stream:features><register xmlns='http://jabber.org/features/iq-register'/>"
   "</stream:features>" T IQ_ERR("modify", "policy-violation", "Encryption is required")
   "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><encryption-required/></failure>" T BYE},
  {"prosody_plaintext_scram",
   {0x08, 0, 0, 0},
   P_HDR1 P_FEAT_SASL T P_FIELDS RESULT LOGIN P_INFO BYE},
  /* SASL failures, verbatim */
  {"prosody_sasl_not_authorized",
   {0, 0, 0, 0},
   PREAMBLE P_FIELDS RESULT CHALLENGE
   "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/><text>The response "
   "provided by the client doesn&apos;t match the one we calculated.</text></failure>" T},
  {"prosody_sasl_wrong_nonce",
   {0x50, 0, 0, 0},
   PREAMBLE CHALLENGE "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><malformed-request/>"
   "<text>Wrong nonce in client-final-message.</text></failure>" T},
  {"prosody_sasl_unknown_user",
   {0x10, 0, 0, 0},
   PREAMBLE "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>"
   T},
  {"prosody_scram_10000_iterations", /* the verbatim challenge: above our cap */
   {0x10, 0, 0, 0},
   PREAMBLE "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>cj1rYlpvUUkxeHJxQWtwQ1RSS"
   "U5iYS9JS29lZmExZDlhNi1lYThlLTQ4MTItOTJmMS1mOTUxZmI5ZjBlMmIscz1ZekZrTVRSaVpEQXRZalpsT1Mw"
   "MFpERTRMV0ZrT1RrdE5EVXpaR0ZoTldRM01USmgsaT0xMDAwMA==</challenge>" T},
  {"prosody_scram_success_verbatim", /* a signature for another session */
   {0x10, 0, 0, 0},
   PREAMBLE CHALLENGE "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>dj13R0xwRzRZdEt"
   "VWmU3REdUbW1iMG84aTZvL2c9</success>" T},
  {"scram_handmade_challenge",
   {0x10, 0, 0, 0},
   PREAMBLE "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" B64 "r=" NONCE
   "xyz,s=" SALT64 ",i=4096,e=ext" END64 "</challenge>" T SUCCESS BIND BYE},
  /* stream errors, verbatim */
  {"prosody_host_unknown",
   {0, 0, 0, 0},
   P_HDR("30e394fc-17c2-4c67-86a0-a407d431ce7b", "nosuch.example")
   "<stream:error><host-unknown xmlns='" NS_SS "'/><text xmlns='" NS_SS "'>This server does "
   "not serve nosuch.example</text></stream:error></stream:stream>" T},
  {"prosody_improper_addressing",
   {0, 0, 0, 0},
   "<?xml version='1.0'?><stream:stream xml:lang='en' xmlns:stream='http://etherx.jabber.org/"
   "streams' id='' xmlns='jabber:client'><stream:error><improper-addressing xmlns='" NS_SS
   "'/><text xmlns='" NS_SS "'>A &apos;to&apos; attribute is required on stream headers"
   "</text></stream:error></stream:stream>" T},
  {"prosody_stanza_too_big",
   {0, 0, 0, 0},
   PREAMBLE "<stream:error><policy-violation xmlns='" NS_SS "'/><text xmlns='" NS_SS "'>XML "
   "stanza is too big</text><stanza-too-big xmlns='urn:xmpp:errors'/></stream:error>"
   "</stream:stream>" T},
  {"prosody_not_well_formed",
   {0, 0, 0, 0},
   PREAMBLE P_FIELDS "<stream:error><not-well-formed xmlns='" NS_SS "'/></stream:error>"
   "</stream:stream>" T},
  {"prosody_password_changed_reset",
   {0, 0, 0, 0},
   PREAMBLE P_FIELDS RESULT LOGIN "<stream:error><reset xmlns='" NS_SS "'/><text xmlns='" NS_SS
   "'>Password changed</text></stream:error></stream:stream>" T},
  {"prosody_registration_required",
   {0, 0, 0, 0},
   PREAMBLE P_FIELDS IQ_ERR0("auth", "registration-required") BYE},
  /* TLS */
  {"starttls_failure",
   {0, 0, 0, 0},
   P_HDR1 P_FEAT_TLS T "<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>" T},
  {"starttls_injection",
   {0, 0, 0, 0},
   P_HDR1 P_FEAT_TLS T P_PROCEED P_HDR2 P_FEAT_SASL T},
  {"starttls_not_offered",
   {0, 0, 0, 0},
   P_HDR1 "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>"
   "PLAIN</mechanism></mechanisms></stream:features>" T},
  {"tls_unverified", {0x01, 0, 0, 0}, LIFECYCLE},
  {"tls_unverified_allowed", {0x05, 0, 0, 0}, LIFECYCLE},
  {"tls_handshake_verify_error", {0, 0x80, 0, 2}, PREAMBLE},
  {"tls_start_fails", {0x02, 0x40, 0, 0}, P_HDRD P_FEAT_SASL T},
  /* XEP-0077 examples */
  {"xep_legacy_fields",
   {0, 0, 0, 0},
   PREAMBLE "<iq type='result' id='" ID "'>\n  <query xmlns='jabber:iq:register'>\n"
   "    <instructions>\n      Choose a username and password for use with this service.\n"
   "      Please also provide your email address.\n    </instructions>\n    <username/>\n"
   "    <password/>\n    <email/>\n  </query>\n</iq>" T RESULT LOGIN BYE},
  {"xep_registered_already",
   {0, 0, 0, 0},
   PREAMBLE "<iq type='result' id='" ID "'>\n  <query xmlns='jabber:iq:register'>\n"
   "    <registered/>\n    <username>juliet</username>\n    <password>R0m30</password>\n"
   "    <email>juliet@capulet.com</email>\n  </query>\n</iq>" T RESULT BYE},
  {"xep_contest_form_to_service",
   {0x20, 0, 0, 0},
   PREAMBLE "<iq type='result'\n    from='reg.localhost'\n    to='juliet@capulet.com/balcony'\n"
   "    id='" ID "'>\n  <query xmlns='jabber:iq:register'>\n    <instructions>\n"
   "      Use the enclosed form to register.\n    </instructions>\n"
   "    <x xmlns='jabber:x:data' type='form'>\n      <title>Contest Registration</title>\n"
   "      <field type='hidden' var='FORM_TYPE'>\n        <value>jabber:iq:register</value>\n"
   "      </field>\n      <field type='text-single' label='Given Name' var='first'>\n"
   "        <required/>\n      </field>\n"
   "      <field type='text-single' label='Email Address' var='email'>\n"
   "        <required/>\n      </field>\n"
   "      <field type='list-single' label='Gender' var='x-gender'>\n"
   "        <option label='Male'><value>M</value></option>\n"
   "        <option label='Female'><value>F</value></option>\n      </field>\n    </x>\n"
   "  </query>\n</iq>" T "<iq type='result' from='reg.localhost' id='" ID "'/>" T BYE},
  {"xep_form_kinds",
   {0, 0, 0, 0},
   PREAMBLE "<iq type='result' id='" ID "'><query xmlns='jabber:iq:register'><x xmlns='jabber:"
   "x:data' type='form'><title>Sign up</title><field type='hidden' var='FORM_TYPE'><value>"
   "jabber:iq:register</value></field><field type='fixed'><value>Section 1: the account"
   "</value></field><field var='username' label='Username'><desc>Letters and digits only"
   "</desc><required/></field><field type='text-private' var='password' label='Password'>"
   "<required/></field><field type='list-multi' var='x-topics' label='Topics'><value>news"
   "</value><value>sports</value><option label='News'><value>news</value></option><option "
   "label='Sports'><value>sports</value></option></field><field type='boolean' var='x-tos' "
   "label='I accept the terms'><required/><value>0</value></field><field type='text-multi' "
   "var='x-about' label='About you'/></x></query></iq>" T RESULT BYE},
  {"xep_captcha_bob",
   {0, 0, 0, 0},
   PREAMBLE "<iq type='result' id='" ID "' xml:lang='en'><query xmlns='jabber:iq:register'>"
   "<instructions>You need a client that supports x:data and CAPTCHA to register"
   "</instructions><x xmlns='jabber:x:data' type='form'><title>Account Registration</title>"
   "<field type='hidden' var='FORM_TYPE'><value>urn:xmpp:captcha</value></field>"
   "<field type='hidden' var='challenge'><value>F3A6292C</value></field>"
   "<field type='hidden' var='sid'><value>reg1</value></field>"
   "<field var='ocr' label='Enter the text you see'>"
   "<media xmlns='urn:xmpp:media-element' height='80' width='290'>"
   "<uri type='image/png'>http://www.victim.com/challenges/ocr.png?F3A6292C</uri>"
   "<uri type='image/png'>cid:sha1+f24030b8d91d233bac14777be5ab531ca3b9f102@bob.xmpp.org</uri>"
   "</media><required/></field>"
   "<field type='text-single' var='username' label='User'><required/></field>"
   "<field type='text-private' var='password' label='Password'><required/></field></x>"
   "<data xmlns='urn:xmpp:bob' cid='sha1+f24030b8d91d233bac14777be5ab531ca3b9f102@bob.xmpp.org'"
   " type='image/png' max-age='0'>iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4\n"
   "2mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==</data></query></iq>" T RESULT BYE},
  {"xep_oob_redirect",
   {0, 0, 0, 0},
   PREAMBLE "<iq type='result' id='" ID "'>\n  <query xmlns='jabber:iq:register'>\n"
   "    <instructions>\n      To register, visit http://www.shakespeare.lit/contests.php\n"
   "    </instructions>\n    <x xmlns='jabber:x:oob'>\n"
   "      <url>http://www.shakespeare.lit/contests.php</url>\n    </x>\n  </query>\n</iq>" T
   IQ_ERR0("cancel", "not-allowed") BYE},
  {"xep_register_error_echo",
   {0, 0, 0, 0},
   PREAMBLE P_FIELDS "<iq type='error' id='" ID "'>\n  <query xmlns='jabber:iq:register'>\n"
   "    <username>bill</username>\n    <password>m1cro$oft</password>\n"
   "    <email>billg@bigcompany.com</email>\n  </query>\n  <error code='409' type='cancel'>\n"
   "    <conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>\n  </error>\n</iq>" T BYE},
  {"xep_change_pass_form",
   {0, 0, 0, 0},
   PREAMBLE P_FIELDS RESULT LOGIN P_INFO CHANGE_FORM_ERROR
   "<iq type='result' from='localhost' to='alice@localhost/probe' id='" ID "'/>" T P_DELETED},
  {"xep_change_pass_errors",
   {0x10, 0, 0, 0},
   PREAMBLE LOGIN P_INFO RESULT P_INFO
   "<iq type='error' from='localhost' to='alice@localhost/probe' id='" ID "'>\n"
   "  <error code='400' type='modify'>\n    <bad-request xmlns='" NS_ST "'/>\n  </error>\n"
   "</iq>" T
   "<iq type='error' from='localhost' to='alice@localhost/probe' id='" ID "'>\n"
   "  <error code='405' type='cancel'><not-allowed xmlns='" NS_ST "'/></error></iq>" T BYE},
  {"cancel_ejabberd_conflict",
   {0, 0, 0, 0},
   PREAMBLE P_FIELDS RESULT LOGIN P_INFO P_CHANGED
   "<stream:error><conflict xmlns='" NS_SS "'/></stream:error></stream:stream>" T},
  {"cancel_connection_closed", {0, 0, 0, 0}, PREAMBLE P_FIELDS RESULT LOGIN P_INFO P_CHANGED
   CLOSE},
  /* the server talks first: an IQ get, a ping, whitespace keepalives */
  {"server_ping_and_keepalive",
   {0, 0, 0, 0},
   PREAMBLE "<iq type='get' id='ping1' from='localhost'><ping xmlns='urn:xmpp:ping'/></iq> \n "
   P_FIELDS "<iq type='set' id='push1'><query xmlns='jabber:iq:roster'/></iq>" RESULT LOGIN
   "<iq type='result' id='someone-elses' to='alice@localhost/probe'/>" P_INFO BYE},
  {"bind_conflict",
   {0, 0, 0, 0},
   PREAMBLE P_FIELDS RESULT CHALLENGE SUCCESS P_HDR3 P_FEAT_BIND T
   IQ_ERR0("cancel", "conflict")},
  {"bind_result_without_jid",
   {0, 0, 0, 0},
   PREAMBLE P_FIELDS RESULT CHALLENGE SUCCESS P_HDR3 P_FEAT_BIND T RESULT},
  {"bind_not_offered",
   {0, 0, 0, 0},
   PREAMBLE P_FIELDS RESULT CHALLENGE SUCCESS P_HDR3 "<stream:features/>" T},
  /* the gaps coverage showed: a stanza too big for the output buffer, a
     reply from our own JID, a CAPTCHA in many pieces, an OOB <desc/> */
  {"register_echo_too_big",
   {0, 0, 0, 0},
   PREAMBLE "<iq type='result' id='" ID "'><query xmlns='jabber:iq:register'><x xmlns='jabber:"
   "x:data' type='form'><field type='hidden' var='FORM_TYPE'><value>jabber:iq:register</value>"
   "</field><field type='hidden' var='token'><value>" X100 X100 X100 X100 X100 X100 X100 X100 X100 X100 X100 X100 X100 X100 X100 X100 X100 X100 X100 "</value></field>"
   "<field var='username'><required/></field><field type='text-private' var='password'>"
   "<required/></field></x></query></iq>" T RESULT BYE},
  {"reply_from_own_jid",
   {0x10, 0, 0, 0},
   PREAMBLE LOGIN "<iq type='result' id='" ID "' from='evil@localhost'/>"
   "<iq type='result' id='" ID "' from='alice@localhost'><query xmlns='jabber:iq:register'>"
   "<registered/><username>alice</username></query></iq>" T
   "<iq type='result' id='" ID "' from='alice@localhost/probe'/>" T
   "<iq type='result' id='" ID "' from='ALICE@LOCALHOST/other'/>"
   "<iq type='result' id='" ID "' from='LocalHost'/>" T
   "<iq type='result' id='" ID "' from='alice@localhost/probe' to='alice@localhost/probe'>"
   "<query xmlns='jabber:iq:register'><registered/><username>alice</username><password/>"
   "</query></iq>" T RESULT BYE},
  {"captcha_big_data",
   {0, 0x02, 0x7f, 0},
   PREAMBLE CAPTCHA_BIG_DATA T RESULT BYE},
  {"captcha_big_data_abandoned",
   {0, 0, 0, 0x10},
   PREAMBLE CAPTCHA_BIG_DATA T RESULT BYE},
  {"oob_with_desc",
   {0, 0, 0, 0},
   PREAMBLE "<iq type='result' id='" ID "'><query xmlns='jabber:iq:register'><instructions>"
   "Register here or on the web</instructions><username/><password/><x xmlns='jabber:x:oob'>"
   "<url>https://example.org/register?a=1&amp;b=2</url><desc>Web sign-up</desc></x>"
   "</query></iq>" T RESULT BYE},
  {"silent_after_features", {0, 0, 0, 0}, PREAMBLE},
  {"closed_after_features", {0x40, 0, 0, 0}, PREAMBLE},
  {"transport_error", {0, 0, 0, 0}, PREAMBLE P_FIELDS "\xfe" "X"},
};

int main(int argc, char **argv)
{
  size_t i;
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  for (i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
    char path[1024];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", argv[1], seeds[i].name);
    if (!(f = fopen(path, "wb"))) {
      perror(path);
      return 1;
    }
    fwrite(seeds[i].h, 1, 4, f);
    fwrite(seeds[i].body, 1, strlen(seeds[i].body), f);
    fclose(f);
  }
  printf("%lu seeds written to %s\n", (unsigned long)(sizeof seeds / sizeof seeds[0]), argv[1]);
  return 0;
}
#endif /* FUZZ_CLIENT_WRITE_SEEDS */
