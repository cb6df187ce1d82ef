/* tests/script.h -- the scaffolding that tests/test_stream.c and
   tests/test_register.c share: one copy, static functions, no main.

   What it provides:
     checks     CHECK(cond, fmt, ...), CHECK_RC(got, want, what) and
                CHECK_STR(got, want, what; want NULL: got must be NULL)
                count into g_pass / g_fail; a failure prints
                "FAIL <g_test>: <detail> [<file>:<line>]", the file and line
                of the CHECK. g_verbose is the test's -v flag.
     helpers    find_bytes (memmem, which C99 lacks), b64e / b64d (mbedTLS
                base64), md_of (mbedTLS digest for alg 1 or 256), pbkdf2
     scripts    the steps of a transcript: SRV("...") the server sends ($ID,
                $SFIRST, $SFINAL, $SBADSIG filled in from the harness),
                CLI("...") / EXACT("...") the client must send, PAUSE (the
                server waits for `released`), CLOSE (recv returns 0), END
     the peer   struct harness and its one instance H: a transport that hands
                the server's bytes out in random chunks of 1..maxchunk (a
                drop after `cut` bytes) and takes the client's with random
                short writes and XEP0077_WANT_WRITE; a fake clock (t_now,
                and t_wait for the blocking calls); the XML console (t_log);
                a fake TLS that passes bytes through and records where it
                began; h_setup (a fresh session, every callback wired),
                h_pump, DRIVE, check_script_done

   How a test uses it:
     #define XEP0077_IMPLEMENTATION
     #include "xep0077.h"
     typedef struct mode { int blocking; unsigned seed; ... } mode;
     #define MAX_POLLS ...        the pump's and the wait's spin limit
     #define HARNESS_SBUF ...     bytes the server may queue
     #define HARNESS_COUT ...     bytes the client may send
     #define HARNESS_LOG_IN ...   bytes of the received-side console
     #define HARNESS_OWN ...      the test's own harness fields
     #include "script.h"
   and then defines advance() (matching the client's bytes to the CLI and
   EXACT steps, which is each test's own) and the client's crypto callbacks
   fc_random, fc_hash, fc_hmac and fc_pbkdf2. A test's h_new calls h_setup
   and sets maxchunk, stall_one_in (one send in N stalls), one_byte_sends
   and iter; it may set cut, send_stuck, send_closed, no_short_writes,
   release_on_send, hs_wants, hs_result, tls_start_rc and verified. */
#ifndef TESTS_SCRIPT_H
#define TESTS_SCRIPT_H

#include <mbedtls/base64.h>
#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================
   Checks
   ====================================================================== */
static int g_pass, g_fail, g_verbose;
static char g_test[256]; /* the running test (and mode), for FAIL lines */

static void check_at(int ok, const char *file, int line, const char *fmt, ...)
{
  const char *base = strrchr(file, '/');
  va_list ap;
  if (ok) {
    g_pass++;
    return;
  }
  g_fail++;
  printf("FAIL %s: ", g_test);
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf(" [%s:%d]\n", base ? base + 1 : file, line);
  fflush(stdout); /* before a forked child's output, or a crash */
}
#define CHECK(cond, ...) check_at((cond) ? 1 : 0, __FILE__, __LINE__, __VA_ARGS__)

static void check_rc_at(int got, int want, const char *file, int line, const char *what)
{
  check_at(got == want, file, line, "%s returned %s (%d), expected %s (%d)", what,
           xep0077_status_name(got), got, xep0077_status_name(want), want);
}
#define CHECK_RC(got, want, what) check_rc_at((got), (want), __FILE__, __LINE__, (what))

static void check_str_at(const char *got, const char *want, const char *file, int line,
                         const char *what)
{
  if (!want)
    check_at(got == NULL, file, line, "%s is \"%s\", expected NULL", what, got ? got : "");
  else
    check_at(got && !strcmp(got, want), file, line, "%s is %s%s%s, expected \"%s\"", what,
             got ? "\"" : "", got ? got : "NULL", got ? "\"" : "", want);
}
#define CHECK_STR(got, want, what) check_str_at((got), (want), __FILE__, __LINE__, (what))

/* ======================================================================
   Bytes and crypto helpers
   ====================================================================== */
/* memmem, which C99 lacks. Under valgrind, "uninitialised value" reported
   here from a secrets check means the library copied uninitialised bytes
   into the xep0077 struct that is being scanned (seen: iq_id[9..11]). */
static const char *find_bytes(const void *hay, size_t hn, const void *needle, size_t nn)
{
  const char *h = (const char *)hay;
  size_t i;
  if (!nn) return h;
  for (i = 0; i + nn <= hn; i++)
    if (h[i] == *(const char *)needle && !memcmp(h + i, needle, nn)) return h + i;
  return NULL;
}

static size_t b64e(const void *in, size_t n, char *out, size_t cap)
{
  size_t olen = 0;
  if (mbedtls_base64_encode((unsigned char *)out, cap, &olen, (const unsigned char *)in, n))
    return 0;
  out[olen] = 0;
  return olen;
}

static long b64d(const char *in, size_t n, void *out, size_t cap)
{
  size_t olen = 0;
  if (mbedtls_base64_decode((unsigned char *)out, cap, &olen, (const unsigned char *)in, n))
    return -1;
  return (long)olen;
}

static const mbedtls_md_info_t *md_of(int alg)
{
  return mbedtls_md_info_from_type(alg == 256 ? MBEDTLS_MD_SHA256 : MBEDTLS_MD_SHA1);
}

/* PBKDF2-HMAC-SHA-1 / -256 straight from mbedTLS: 0, or -1 on failure. */
static int pbkdf2(int alg, const unsigned char *pw, size_t pwlen, const unsigned char *salt,
                  size_t saltlen, unsigned long iter, unsigned char *out, size_t outlen)
{
  mbedtls_md_context_t md;
  int rc;
  mbedtls_md_init(&md);
  rc = mbedtls_md_setup(&md, md_of(alg), 1);
  if (!rc)
    rc = mbedtls_pkcs5_pbkdf2_hmac(&md, pw, pwlen, salt, saltlen, (unsigned int)iter,
                                   (uint32_t)outlen, out);
  mbedtls_md_free(&md);
  return rc ? -1 : 0;
}

/* ======================================================================
   Script steps
   ====================================================================== */
enum { ST_END, ST_S, ST_C, ST_X, ST_CLOSE, ST_PAUSE };
typedef struct step {
  int kind;
  const char *text;
} step;
#define SRV(x) { ST_S, x }
#define CLI(x) { ST_C, x }
#define EXACT(x) { ST_X, x }
#define CLOSE { ST_CLOSE, NULL }
#define PAUSE { ST_PAUSE, NULL }
#define END { ST_END, NULL }

/* ======================================================================
   The scripted peer: one session, no sockets
   ====================================================================== */
#define DOMAIN "localhost"
/* prosody's salt: base64 of a UUID string */
#define PROSODY_SALT "c1d14bd0-b6e9-4d18-ad99-453daa5d712a"

typedef struct harness {
  xep0077 c;
  xep0077_config cfg;
  xep0077_tls tls;
  xep0077_crypto crypto;
  const mode *m;
  /* script */
  const step *steps;
  int at, released;           /* the step the script is at; PAUSE let go     */
  char sbuf[HARNESS_SBUF];    /* everything the server sent or queued        */
  size_t slen, spos;          /* queued / handed to the client               */
  unsigned long s_total;      /* handed to the client in all                 */
  long cut;                   /* >= 0: the connection drops after this many  */
  char cout[HARNESS_COUT];    /* everything the client sent                  */
  size_t clen, cpos;          /* sent / matched by the script                */
  char id[64];                /* $ID                                         */
  char sfirst64[1000], sfinal64[200], sbad64[200]; /* $SFIRST $SFINAL $SBADSIG */
  char err[1200];
  int script_failed;
  /* transport */
  unsigned rng;
  size_t maxchunk;  /* server bytes in chunks of 1..maxchunk (>= 100000: all) */
  int stall_one_in; /* one send in this many returns XEP0077_WANT_WRITE       */
  int one_byte_sends, no_short_writes;
  int send_stuck;   /* every send returns XEP0077_WANT_WRITE                  */
  int send_closed;  /* every send returns 0: the peer closed                  */
  int release_on_send; /* a send lets a PAUSE go                             */
  /* clock */
  unsigned long now, waits, polls, last_sig;
  int spin, same;
  /* fake TLS */
  int hs_result, hs_wants, verified, tls_up, in_tls, tls_start_rc;
  int tls_starts, tls_closes, raw_after_tls, tls_send_before_hs;
  size_t tls_at; /* clen when the handshake finished */
  xep0077_send_fn raw_send;
  xep0077_recv_fn raw_recv;
  void *raw_io;
  char sni[128];
  /* the test's SCRAM server: the salt and iteration count it announces */
  unsigned char salt[64];
  size_t saltlen;
  unsigned long iter;
  /* XML console, one text per direction, bytes concatenated */
  char log_in[HARNESS_LOG_IN], log_out[65536], log_info[4096];
  size_t log_in_len, log_out_len, log_info_len;
  /* the test's own */
  HARNESS_OWN
} harness;

static harness H;

/* What the test provides: reading the client's bytes against the script,
   and the client's crypto callbacks. */
static void advance(harness *h);
static int fc_random(void *ctx, unsigned char *out, size_t len);
static int fc_hash(void *ctx, int alg, const unsigned char *in, size_t len, unsigned char *out);
static int fc_hmac(void *ctx, int alg, const unsigned char *key, size_t klen,
                   const unsigned char *in, size_t len, unsigned char *out);
static int fc_pbkdf2(void *ctx, int alg, const unsigned char *pw, size_t pwlen,
                     const unsigned char *salt, size_t saltlen, unsigned long iter,
                     unsigned char *out, size_t outlen);

static unsigned rnd(harness *h)
{
  h->rng ^= h->rng << 13;
  h->rng ^= h->rng >> 17;
  h->rng ^= h->rng << 5;
  return h->rng;
}

static void script_fail(harness *h, const char *fmt, ...)
{
  va_list ap;
  if (h->script_failed++) return;
  va_start(ap, fmt);
  vsnprintf(h->err, sizeof h->err, fmt, ap);
  va_end(ap);
}

static void sbuf_add(harness *h, const char *s, size_t n)
{
  if (h->slen + n >= sizeof h->sbuf) {
    script_fail(h, "the server's transcript is too long");
    return;
  }
  memcpy(h->sbuf + h->slen, s, n);
  h->slen += n;
}

/* Queue an SRV step's text, its $ID / $SFIRST / $SFINAL / $SBADSIG
   replaced by what the harness holds. */
static void expand(harness *h, const char *t)
{
  static const struct { const char *name; size_t off; } vars[] = {
    { "$SFIRST", offsetof(harness, sfirst64) },
    { "$SFINAL", offsetof(harness, sfinal64) },
    { "$SBADSIG", offsetof(harness, sbad64) },
    { "$ID", offsetof(harness, id) },
  };
  while (*t) {
    size_t k, n = strcspn(t, "$");
    sbuf_add(h, t, n);
    t += n;
    if (!*t) break;
    for (k = 0; k < sizeof vars / sizeof vars[0]; k++) {
      size_t vl = strlen(vars[k].name);
      if (!strncmp(t, vars[k].name, vl)) {
        const char *v = (const char *)h + vars[k].off;
        sbuf_add(h, v, strlen(v));
        t += vl;
        break;
      }
    }
    if (k == sizeof vars / sizeof vars[0]) {
      sbuf_add(h, t, 1);
      t++;
    }
  }
}

/* ---- transport callbacks (the raw TCP side) ---------------------------- */
static int t_recv(void *io, unsigned char *buf, size_t len)
{
  harness *h = (harness *)io;
  size_t n, k;
  advance(h);
  if (h->script_failed) return -1;
  if (h->cut >= 0 && h->s_total >= (unsigned long)h->cut) return 0;
  if (h->spos == h->slen) return h->steps[h->at].kind == ST_CLOSE ? 0 : XEP0077_WANT_READ;
  n = h->slen - h->spos;
  if (n > len) n = len;
  k = h->maxchunk >= 100000 ? n : 1 + rnd(h) % h->maxchunk;
  if (n > k) n = k;
  if (h->cut >= 0 && h->s_total + n > (unsigned long)h->cut) n = (size_t)h->cut - h->s_total;
  memcpy(buf, h->sbuf + h->spos, n);
  h->spos += n;
  h->s_total += n;
  return (int)n;
}

static int t_send(void *io, const unsigned char *buf, size_t len)
{
  harness *h = (harness *)io;
  size_t n = len;
  if (h->tls_up && !h->in_tls) h->raw_after_tls++;
  if (h->send_closed) return 0;
  if (!len) return 0;
  if (h->release_on_send) h->released = 1;
  if (h->send_stuck) return XEP0077_WANT_WRITE;
  if (!h->no_short_writes) {
    if (rnd(h) % (unsigned)h->stall_one_in == 0) return XEP0077_WANT_WRITE;
    if (h->one_byte_sends) n = 1;
    else if (rnd(h) % 2) n = 1 + rnd(h) % len;
  }
  if (h->clen + n > sizeof h->cout) {
    script_fail(h, "the client sent more than %u bytes", (unsigned)sizeof h->cout);
    return -1;
  }
  memcpy(h->cout + h->clen, buf, n);
  h->clen += n;
  return (int)n;
}

/* ---- the fake clock ---------------------------------------------------- */
static unsigned long t_now(void *user) { return ((harness *)user)->now; }

/* The blocking calls' wait: 1 ms while the session moves, else (nothing
   changed over the last two waits: a silent server) sleep the whole time
   asked for, which takes the clock straight to the deadline. */
static void t_wait(void *io, int want_write, unsigned long ms)
{
  harness *h = (harness *)io;
  unsigned long sig;
  advance(h);
  sig = (unsigned long)h->clen * 7919ul + h->spos * 104729ul + (unsigned long)h->at * 31ul +
        (unsigned long)h->hs_wants * 3ul + (unsigned long)h->tls_up + (unsigned long)h->released;
  h->same = sig == h->last_sig ? h->same + 1 : 0;
  h->last_sig = sig;
  if (++h->waits > MAX_POLLS) {
    h->spin = 1;
    h->now += 1000000000ul; /* end it: the deadline passes */
    return;
  }
  h->now += (want_write || h->same < 2) ? 1 : (ms ? ms : 1);
}

/* ---- the XML console ----------------------------------------------------- */
static void t_log(void *user, int dir, const char *text, size_t len)
{
  harness *h = (harness *)user;
  char *b = dir == XEP0077_LOG_IN ? h->log_in : dir == XEP0077_LOG_OUT ? h->log_out : h->log_info;
  size_t *l = dir == XEP0077_LOG_IN ? &h->log_in_len
              : dir == XEP0077_LOG_OUT ? &h->log_out_len : &h->log_info_len;
  size_t cap = dir == XEP0077_LOG_IN ? sizeof h->log_in
               : dir == XEP0077_LOG_OUT ? sizeof h->log_out : sizeof h->log_info;
  if (*l + len > cap) len = cap - *l;
  memcpy(b + *l, text, len);
  *l += len;
}

/* ---- the fake TLS: bytes pass unchanged; records where TLS began ---------- */
static int ft_start(void *ctx, xep0077_send_fn send, xep0077_recv_fn recv, void *io,
                    const char *server_name)
{
  harness *h = (harness *)ctx;
  h->tls_starts++;
  h->raw_send = send;
  h->raw_recv = recv;
  h->raw_io = io;
  snprintf(h->sni, sizeof h->sni, "%s", server_name ? server_name : "(null)");
  return h->tls_start_rc;
}

static int ft_handshake(void *ctx)
{
  harness *h = (harness *)ctx;
  if (h->hs_wants > 0) {
    h->hs_wants--;
    return (h->hs_wants & 1) ? XEP0077_WANT_WRITE : XEP0077_WANT_READ;
  }
  if (h->hs_result) return h->hs_result;
  if (!h->tls_up) {
    h->tls_up = 1;
    h->tls_at = h->clen;
  }
  return 0;
}

static int ft_send(void *ctx, const unsigned char *buf, size_t len)
{
  harness *h = (harness *)ctx;
  int n;
  if (!h->tls_up) h->tls_send_before_hs++;
  h->in_tls = 1;
  n = h->raw_send(h->raw_io, buf, len);
  h->in_tls = 0;
  return n;
}

static int ft_recv(void *ctx, unsigned char *buf, size_t len)
{
  harness *h = (harness *)ctx;
  return h->raw_recv(h->raw_io, buf, len);
}

static int ft_verified(void *ctx) { return ((harness *)ctx)->verified; }
static void ft_close(void *ctx) { ((harness *)ctx)->tls_closes++; }

/* ---- set-up and drivers ------------------------------------------------ */
/* A fresh session in H: the mode's seed, the clock at `now`, TLS verified,
   every callback wired, prosody's salt. The test sets the rest (maxchunk,
   stall_one_in, iter, ...). */
static harness *h_setup(const mode *m, const step *steps, unsigned long now)
{
  harness *h = &H;
  memset(h, 0, sizeof *h);
  h->m = m;
  h->steps = steps;
  h->cut = -1;
  h->rng = m->seed * 2654435761u + 0x9e3779b9u;
  if (!h->rng) h->rng = 1;
  h->now = now;
  h->hs_wants = (int)(rnd(h) % 3);
  h->verified = 1;
  h->tls.ctx = h;
  h->tls.start = ft_start;
  h->tls.handshake = ft_handshake;
  h->tls.send = ft_send;
  h->tls.recv = ft_recv;
  h->tls.verified = ft_verified;
  h->tls.close = ft_close;
  h->crypto.ctx = h;
  h->crypto.random = fc_random;
  h->crypto.hash = fc_hash;
  h->crypto.hmac = fc_hmac;
  h->crypto.pbkdf2 = fc_pbkdf2;
  h->cfg.domain = DOMAIN;
  h->cfg.send = t_send;
  h->cfg.recv = t_recv;
  h->cfg.io = h;
  h->cfg.now_ms = t_now;
  if (m->blocking) h->cfg.wait = t_wait;
  h->cfg.log = t_log;
  h->cfg.user = h;
  h->cfg.tls = &h->tls;
  h->cfg.crypto = &h->crypto;
  h->cfg.resource = "probe";
  memcpy(h->salt, PROSODY_SALT, strlen(PROSODY_SALT));
  h->saltlen = strlen(PROSODY_SALT);
  return h;
}

/* Run the operation just started to its end through the pump, counting
   polls; the fake clock moves 1 ms per poll. */
static int h_pump(harness *h, int rc)
{
  unsigned long polls = 0;
  if (rc != XEP0077_PENDING) return rc;
  for (;;) {
    rc = xep0077_poll(&h->c);
    h->polls++;
    if (rc != XEP0077_PENDING) return rc;
    if (++polls > MAX_POLLS) {
      h->spin = 1;
      return -9999;
    }
    h->now++;
  }
}

/* Blocking call or _start + pump, as the mode says. */
#define DRIVE(h, blocking_call, start_call)                                            \
  ((h)->m->blocking ? (blocking_call) : h_pump((h), (start_call)))

/* End of a scenario's script: it ran to its end, the client sent nothing
   it did not expect, nothing spun. */
static void check_script_done(harness *h)
{
  advance(h);
  CHECK(!h->script_failed, "script: %s", h->err);
  CHECK(h->steps[h->at].kind == ST_END || h->steps[h->at].kind == ST_CLOSE,
        "the script stopped at step %d of its transcript", h->at);
  CHECK(h->cpos == h->clen, "the client sent bytes the script did not expect: \"%.*s\"",
        (int)(h->clen - h->cpos > 400 ? 400 : h->clen - h->cpos), h->cout + h->cpos);
  CHECK(!h->spin, "an operation spun past %lu polls/waits", MAX_POLLS);
}

#endif
