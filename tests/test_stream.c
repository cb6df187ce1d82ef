/* tests/test_stream.c -- transcript tests of the XMPP client stream
   (xep0077.h section 3) and the crypto of its mbedTLS glue (section 3b).

   No sockets: a scripted peer plays the server. A script is the transcript
   of the session, one step per stanza or batch of stanzas:

     SRV("...")  the server sends these bytes ($ID: the id of the client's
                 last stanza; $SFIRST / $SFINAL / $SBADSIG: SCRAM messages the
                 test's own SCRAM server computes with mbedTLS)
     CLI("...")  the client must send exactly this next ('*' matches any run
                 of bytes without < > or ', e.g. an id or a base64 payload)
     PAUSE       the server is silent until the test says go on
     CLOSE       the server closes the TCP connection (recv returns 0)

   The transport hands the server's bytes out in random chunks (several
   seeds, and 1 byte at a time), takes the client's bytes with random short
   writes and XEP0077_WANT_WRITE, and every scenario runs both through the
   blocking calls (with a wait callback that moves the fake clock) and the
   pump (xep0077_*_start + xep0077_poll). A fake TLS passes bytes through
   unchanged and records where TLS began, so the tests can prove nothing
   secret went out before it.

   The checks, the script steps and the scripted peer (transport, clock,
   fake TLS) are tests/script.h, shared with tests/test_register.c; this
   file has its own matching of the client's bytes (advance), its SASL
   server, the glue's crypto callbacks and the tests.

   Build and run:
     gcc -std=c99 -Wall -Wextra -Werror -pedantic -g -I. tests/test_stream.c \
         -o /tmp/ts -lmbedtls -lmbedx509 -lmbedcrypto && /tmp/ts
   Prints "FAIL <test>: <detail>" per failed check, then "N passed, N failed";
   exit status 1 on any failure. Argument -v lists every test as it runs. */
#define XEP0077_IMPLEMENTATION
#define XEP0077_MBEDTLS
#include "xep0077.h"
/* ======================================================================
   The scripted peer: this test's modes and its part of the harness
   (the transport, clock, fake TLS and the rest: script.h)
   ====================================================================== */
typedef struct mode {
  int blocking;  /* 1: xep0077_connect/login/close/wait; 0: *_start + poll */
  int byte_mode; /* 1: every recv and send moves one byte                  */
  unsigned seed;
} mode;

#define MAX_POLLS 10000ul
#define HARNESS_SBUF 32768   /* everything the server sends                 */
#define HARNESS_COUT 65536   /* everything the client sends                 */
#define HARNESS_LOG_IN 65536 /* the XML console, received                   */
#define HARNESS_OWN                                                                    \
  size_t s_end[64]; /* slen after each script step */                                 \
  /* crypto */                                                                         \
  const unsigned char *fixed_rnd;                                                      \
  size_t fixed_rnd_len;                                                                \
  int randoms;                                                                         \
  /* the test's SASL server */                                                         \
  const char *user, *pw; /* what the client logs in with */                          \
  const char *srv_pw;    /* the one the server's SCRAM uses */                       \
  const char *snonce;                                                                  \
  int bad_nonce, auths, responses, proof_ok, alg;                                      \
  char mech[32], auth_b64[800], client_first[600], cfb[600], cnonce[200];              \
  unsigned char plain[600];                                                            \
  size_t plain_len;                                                                    \
  char sfirst[600], client_final[600], response_b64[900];                              \
  char sfinal[128];                                                                    \
  unsigned char salted[32];                                                            \
  size_t hl;

#include "script.h" /* checks, helpers, steps, the scripted peer */

/* ======================================================================
   Matching (checks and byte helpers: script.h)
   ====================================================================== */
static int contains(const char *hay, size_t n, const char *s)
{
  return find_bytes(hay, n, s, strlen(s)) != NULL;
}

/* ======================================================================
   The mbedTLS glue: its crypto is the real SCRAM crypto of every test.
   A throwaway self-signed CA (EC P-256) so that xep0077_mbedtls_init has
   trust anchors without touching the file system.
   ====================================================================== */
static const char test_ca_pem[] =
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

/* PBKDF2 is the slow part of SCRAM: results are remembered per input, for
   the client (through the glue) and the test's server (mbedTLS directly)
   alike, so thousands of sessions cost a handful of derivations. */
typedef struct kdf_memo {
  int used, who, alg;
  unsigned char pw[64], salt[64], out[32];
  size_t pwlen, saltlen, outlen;
  unsigned long iter;
} kdf_memo;
static kdf_memo g_memo[32];
static int g_memo_next;

static kdf_memo *memo_find(int who, int alg, const unsigned char *pw, size_t pwlen,
                           const unsigned char *salt, size_t saltlen, unsigned long iter,
                           size_t outlen)
{
  int i;
  for (i = 0; i < 32; i++) {
    kdf_memo *m = &g_memo[i];
    if (m->used && m->who == who && m->alg == alg && m->pwlen == pwlen &&
        m->saltlen == saltlen && m->iter == iter && m->outlen == outlen &&
        !memcmp(m->pw, pw, pwlen) && !memcmp(m->salt, salt, saltlen))
      return m;
  }
  return NULL;
}

static void memo_add(int who, int alg, const unsigned char *pw, size_t pwlen,
                     const unsigned char *salt, size_t saltlen, unsigned long iter,
                     const unsigned char *out, size_t outlen)
{
  kdf_memo *m = &g_memo[g_memo_next++ % 32];
  if (pwlen > sizeof m->pw || saltlen > sizeof m->salt || outlen > sizeof m->out) return;
  m->used = 1;
  m->who = who;
  m->alg = alg;
  memcpy(m->pw, pw, pwlen);
  m->pwlen = pwlen;
  memcpy(m->salt, salt, saltlen);
  m->saltlen = saltlen;
  m->iter = iter;
  memcpy(m->out, out, outlen);
  m->outlen = outlen;
}

/* The server's own PBKDF2, straight from mbedTLS (not through the glue). */
static int srv_pbkdf2(int alg, const char *pw, const unsigned char *salt, size_t saltlen,
                      unsigned long iter, unsigned char *out, size_t outlen)
{
  size_t pwlen = strlen(pw);
  kdf_memo *m = memo_find(2, alg, (const unsigned char *)pw, pwlen, salt, saltlen, iter, outlen);
  int rc;
  if (m) {
    memcpy(out, m->out, outlen);
    return 0;
  }
  rc = pbkdf2(alg, (const unsigned char *)pw, pwlen, salt, saltlen, iter, out, outlen);
  if (!rc) memo_add(2, alg, (const unsigned char *)pw, pwlen, salt, saltlen, iter, out, outlen);
  return rc;
}


/* Anchored match of pattern p against d[0, n): 1 matched (*used bytes),
   0 the data ends before the pattern could be decided, -1 mismatch. */
static int glob(const char *p, const char *d, size_t n, size_t *used)
{
  size_t i = 0;
  for (; *p; p++) {
    if (*p == '*') {
      size_t j;
      int need = 0;
      for (j = i;; j++) {
        size_t u = 0;
        int r = glob(p + 1, d + j, n - j, &u);
        if (r == 1 && !need) {
          *used = j + u;
          return 1;
        }
        if (r == 0) need = 1;
        if (j >= n) return need ? 0 : -1;
        if (d[j] == '<' || d[j] == '>' || d[j] == '\'') return need ? 0 : -1;
      }
    }
    if (i >= n) return 0;
    if (d[i] != *p) return -1;
    i++;
  }
  *used = i;
  return 1;
}

/* ---- the test's SASL server: PLAIN and SCRAM-SHA-1/-256 (RFC 5802) ---- */
static void srv_auth(harness *h, const char *t, size_t n)
{
  const char *m = find_bytes(t, n, "mechanism='", 11);
  const char *gt = (const char *)memchr(t, '>', n);
  const char *end = find_bytes(t, n, "</auth>", 7);
  unsigned char raw[600];
  long rl;
  h->auths++;
  if (!m || !gt || !end) {
    script_fail(h, "server: malformed <auth>");
    return;
  }
  m += 11;
  snprintf(h->mech, sizeof h->mech, "%.*s", (int)strcspn(m, "'"), m);
  snprintf(h->auth_b64, sizeof h->auth_b64, "%.*s", (int)(end - gt - 1), gt + 1);
  rl = b64d(h->auth_b64, strlen(h->auth_b64), raw, sizeof raw - 1);
  if (rl < 0) {
    script_fail(h, "server: <auth> payload is not base64: %s", h->auth_b64);
    return;
  }
  raw[rl] = 0;
  if (!strcmp(h->mech, "PLAIN")) {
    memcpy(h->plain, raw, (size_t)rl);
    h->plain_len = (size_t)rl;
    return;
  }
  h->alg = !strcmp(h->mech, "SCRAM-SHA-256") ? 256 : 1;
  h->hl = h->alg == 256 ? 32 : 20;
  snprintf(h->client_first, sizeof h->client_first, "%s", (const char *)raw);
  if (strncmp(h->client_first, "n,,n=", 5) || !strstr(h->client_first, ",r=")) {
    script_fail(h, "server: bad client-first-message %s", h->client_first);
    return;
  }
  snprintf(h->cfb, sizeof h->cfb, "%s", h->client_first + 3);
  snprintf(h->cnonce, sizeof h->cnonce, "%s", strstr(h->cfb, ",r=") + 3);
  {
    char salt64[120];
    b64e(h->salt, h->saltlen, salt64, sizeof salt64);
    if (h->bad_nonce) /* first character changed: never equal to the client's */
      snprintf(h->sfirst, sizeof h->sfirst, "r=%c%s%s,s=%s,i=%lu",
               h->cnonce[0] == 'X' ? 'Y' : 'X', h->cnonce + 1, h->snonce, salt64, h->iter);
    else
      snprintf(h->sfirst, sizeof h->sfirst, "r=%s%s,s=%s,i=%lu", h->cnonce, h->snonce, salt64,
               h->iter);
  }
  b64e(h->sfirst, strlen(h->sfirst), h->sfirst64, sizeof h->sfirst64);
}

static void srv_response(harness *h, const char *t, size_t n)
{
  const char *gt = (const char *)memchr(t, '>', n);
  const char *end = find_bytes(t, n, "</response>", 11);
  const mbedtls_md_info_t *md = md_of(h->alg);
  unsigned char raw[600], proof[64], ck[32], sk[32], csig[32], key[32], ssig[32], chk[32];
  char am[2000], want[400], sig64[64], v[100];
  const char *p;
  long rl, pl;
  size_t i, wl;
  h->responses++;
  if (!gt || !end || !h->alg) {
    script_fail(h, "server: unexpected <response>");
    return;
  }
  snprintf(h->response_b64, sizeof h->response_b64, "%.*s", (int)(end - gt - 1), gt + 1);
  rl = b64d(h->response_b64, strlen(h->response_b64), raw, sizeof raw - 1);
  if (rl < 0) {
    script_fail(h, "server: <response> payload is not base64");
    return;
  }
  raw[rl] = 0;
  snprintf(h->client_final, sizeof h->client_final, "%s", (const char *)raw);
  /* c=biws,r=<full nonce>,p=<proof> */
  snprintf(want, sizeof want, "c=biws,%.*s,p=", (int)strcspn(h->sfirst, ","), h->sfirst);
  p = strstr(h->client_final, ",p=");
  if (strncmp(h->client_final, want, strlen(want)) || !p) {
    script_fail(h, "server: client-final %s does not start with %s", h->client_final, want);
    return;
  }
  wl = (size_t)(p - h->client_final);
  pl = b64d(p + 3, strlen(p + 3), proof, sizeof proof);
  snprintf(am, sizeof am, "%s,%s,%.*s", h->cfb, h->sfirst, (int)wl, h->client_final);
  if (srv_pbkdf2(h->alg, h->srv_pw, h->salt, h->saltlen, h->iter, h->salted, h->hl)) {
    script_fail(h, "server: pbkdf2 failed");
    return;
  }
  mbedtls_md_hmac(md, h->salted, h->hl, (const unsigned char *)"Client Key", 10, ck);
  mbedtls_md(md, ck, h->hl, sk);
  mbedtls_md_hmac(md, sk, h->hl, (const unsigned char *)am, strlen(am), csig);
  /* ClientKey = ClientProof XOR ClientSignature; its hash must be StoredKey */
  h->proof_ok = 0;
  if (pl == (long)h->hl) {
    for (i = 0; i < h->hl; i++) proof[i] ^= csig[i];
    mbedtls_md(md, proof, h->hl, chk);
    h->proof_ok = !memcmp(chk, sk, h->hl);
  }
  mbedtls_md_hmac(md, h->salted, h->hl, (const unsigned char *)"Server Key", 10, key);
  mbedtls_md_hmac(md, key, h->hl, (const unsigned char *)am, strlen(am), ssig);
  b64e(ssig, h->hl, sig64, sizeof sig64);
  snprintf(h->sfinal, sizeof h->sfinal, "v=%s", sig64);
  b64e(h->sfinal, strlen(h->sfinal), h->sfinal64, sizeof h->sfinal64);
  ssig[h->hl - 1] ^= 0x01; /* one bit of the signature flipped */
  b64e(ssig, h->hl, sig64, sizeof sig64);
  snprintf(v, sizeof v, "v=%s", sig64);
  b64e(v, strlen(v), h->sbad64, sizeof h->sbad64);
}

/* A step of the script matched the client's bytes t[0, n). */
static void on_client(harness *h, const char *t, size_t n)
{
  const char *p = t, *q;
  while ((q = find_bytes(p, n - (size_t)(p - t), "id='", 4)) != NULL) {
    size_t l = strcspn(q + 4, "'");
    if (l < sizeof h->id) snprintf(h->id, sizeof h->id, "%.*s", (int)l, q + 4);
    p = q + 4;
  }
  if (n > 6 && !strncmp(t, "<auth ", 6)) srv_auth(h, t, n);
  else if (n > 10 && !strncmp(t, "<response ", 10)) srv_response(h, t, n);
}

/* Run the script as far as the client's bytes allow. */
static void advance(harness *h)
{
  while (!h->script_failed) {
    const step *s = &h->steps[h->at];
    if (s->kind == ST_S) {
      expand(h, s->text);
    } else if (s->kind == ST_PAUSE) {
      if (!h->released) return;
      h->released = 0;
    } else if (s->kind == ST_C) {
      size_t used = 0;
      int r = glob(s->text, h->cout + h->cpos, h->clen - h->cpos, &used);
      if (r == 0) return;
      if (r < 0) {
        script_fail(h, "step %d: the client sent\n    \"%.*s\"\n  where the script expects\n    \"%s\"",
                    h->at, (int)(h->clen - h->cpos > 300 ? 300 : h->clen - h->cpos),
                    h->cout + h->cpos, s->text);
        return;
      }
      on_client(h, h->cout + h->cpos, used);
      h->cpos += used;
    } else {
      return; /* ST_CLOSE, ST_END */
    }
    if (h->at < 64) h->s_end[h->at] = h->slen;
    h->at++;
  }
}

/* ---- crypto: the glue's, with random() replaceable and PBKDF2 memoised --- */
static int fc_random(void *ctx, unsigned char *out, size_t len)
{
  harness *h = (harness *)ctx;
  size_t i;
  h->randoms++;
  if (!h->fixed_rnd) return g_mt.crypto.random(g_mt.crypto.ctx, out, len);
  for (i = 0; i < len; i++) out[i] = h->fixed_rnd[i % h->fixed_rnd_len];
  return 0;
}

static int fc_hash(void *ctx, int alg, const unsigned char *in, size_t len, unsigned char *out)
{
  (void)ctx;
  return g_mt.crypto.hash(g_mt.crypto.ctx, alg, in, len, out);
}

static int fc_hmac(void *ctx, int alg, const unsigned char *key, size_t klen,
                   const unsigned char *in, size_t len, unsigned char *out)
{
  (void)ctx;
  return g_mt.crypto.hmac(g_mt.crypto.ctx, alg, key, klen, in, len, out);
}

static int fc_pbkdf2(void *ctx, int alg, const unsigned char *pw, size_t pwlen,
                     const unsigned char *salt, size_t saltlen, unsigned long iter,
                     unsigned char *out, size_t outlen)
{
  kdf_memo *m = memo_find(1, alg, pw, pwlen, salt, saltlen, iter, outlen);
  int rc;
  (void)ctx;
  if (m) {
    memcpy(out, m->out, outlen);
    return 0;
  }
  rc = g_mt.crypto.pbkdf2(g_mt.crypto.ctx, alg, pw, pwlen, salt, saltlen, iter, out, outlen);
  if (!rc) memo_add(1, alg, pw, pwlen, salt, saltlen, iter, out, outlen);
  return rc;
}

/* ---- set-up and drivers ------------------------------------------------ */
#define USER "alicef84961"
#define PW "s3cr3t-Pa55-w0rd!"
#define JID "alicef84961@localhost/probe"

static harness *h_new(const mode *m, const step *steps)
{
  static const size_t chunks[4] = { 3, 17, 100, 4096 };
  harness *h = h_setup(m, steps, 1000000);
  h->maxchunk = m->byte_mode ? 1 : chunks[m->seed % 4];
  h->stall_one_in = 5;
  h->one_byte_sends = m->byte_mode;
  h->pw = PW;
  h->srv_pw = PW;
  h->snonce = "efa1d9a6-ea8e-4812-92f1-f951fb9f0e2b";
  h->iter = 10000;
  return h;
}

static int h_init(harness *h) { return xep0077_init(&h->c, &h->cfg); }

static int h_run(harness *h, int rc)
{
  if (rc != XEP0077_PENDING) return rc;
  return h->m->blocking ? xep0077_wait(&h->c) : h_pump(h, rc);
}

static int h_connect(harness *h, unsigned long t)
{
  return DRIVE(h, xep0077_connect(&h->c, t), xep0077_connect_start(&h->c, t));
}

static int h_login(harness *h, const char *user, const char *pw, unsigned long t)
{
  h->user = user;
  h->pw = pw;
  return DRIVE(h, xep0077_login(&h->c, user, pw, t), xep0077_login_start(&h->c, user, pw, t));
}

static int h_close(harness *h, unsigned long t)
{
  return DRIVE(h, xep0077_close(&h->c, t), xep0077_close_start(&h->c, t));
}

/* A session over `steps`, PBKDF2 at 4096 iterations, logged in as USER
   with PW: init, connect and login checked, each reported at the line of
   the H_LOGGED_IN. */
static harness *h_logged_in_at(const mode *m, const step *steps, const char *file, int line)
{
  harness *h = h_new(m, steps);
  h->iter = 4096;
  check_rc_at(h_init(h), 0, file, line, "init");
  check_rc_at(h_connect(h, 0), 0, file, line, "connect");
  check_rc_at(h_login(h, USER, PW, 0), 0, file, line, "login");
  return h;
}
#define H_LOGGED_IN(m, steps) h_logged_in_at((m), (steps), __FILE__, __LINE__)

/* Poll with no operation running until the script reaches step `at`. */
static int h_idle_until(harness *h, int at)
{
  int i, rc = 0;
  for (i = 0; i < 200 && h->at < at; i++) {
    rc = xep0077_poll(&h->c);
    if (rc) return rc;
    h->now++;
    advance(h);
  }
  return h->at >= at ? 0 : -9998;
}

/* Once login is over, successful or not, xep0077 holds neither the
   password, nor the SaltedPassword, nor base64 of PLAIN's \0user\0password. */
static void check_memory(harness *h)
{
  char plain64[900];
  if (h->pw)
    CHECK(!find_bytes(&h->c, sizeof h->c, h->pw, strlen(h->pw)), "password bytes in xep0077");
  if (h->hl && h->responses)
    CHECK(!find_bytes(&h->c, sizeof h->c, h->salted, h->hl), "SaltedPassword in xep0077");
  if (h->user && h->pw) {
    unsigned char raw[300];
    size_t ul = strlen(h->user), pl = strlen(h->pw);
    raw[0] = 0;
    memcpy(raw + 1, h->user, ul);
    raw[ul + 1] = 0;
    memcpy(raw + ul + 2, h->pw, pl);
    b64e(raw, ul + pl + 2, plain64, sizeof plain64);
    CHECK(!find_bytes(&h->c, sizeof h->c, plain64, strlen(plain64)),
          "base64(\\0user\\0password), PLAIN's payload, is still in xep0077");
  }
}

/* What nobody may ever see: the password, the SASL payloads, a proof. */
static void check_secrets(harness *h)
{
  const char *pw = h->pw;
  size_t tls_end = h->tls_up ? h->tls_at : h->clen;
  /* 1. nothing before TLS was verified carries credentials */
  CHECK(!find_bytes(h->cout, tls_end, "<auth", 5), "<auth> sent before TLS");
  CHECK(!find_bytes(h->cout, tls_end, "<response", 9), "<response> sent before TLS");
  CHECK(!find_bytes(h->cout, tls_end, "jabber:iq:register", 18),
        "jabber:iq:register payload sent before TLS");
  CHECK(!pw || !find_bytes(h->cout, tls_end, pw, strlen(pw)), "password sent before TLS");
  CHECK(h->raw_after_tls == 0, "%d raw sends bypassed TLS after the handshake",
        h->raw_after_tls);
  CHECK(h->tls_send_before_hs == 0, "TLS send before the handshake finished");
  /* 2. the XML console */
  if (pw) {
    CHECK(!find_bytes(h->log_out, h->log_out_len, pw, strlen(pw)), "password in the log");
    CHECK(!find_bytes(h->log_in, h->log_in_len, pw, strlen(pw)), "password in the log (in)");
  }
  if (h->auth_b64[0]) {
    CHECK(!find_bytes(h->log_out, h->log_out_len, h->auth_b64, strlen(h->auth_b64)),
          "the <auth> payload is in the log");
    CHECK(find_bytes(h->log_out, h->log_out_len, "***", 3) != NULL,
          "the <auth> payload is not shown as ***");
  }
  if (h->response_b64[0])
    CHECK(!find_bytes(h->log_out, h->log_out_len, h->response_b64, strlen(h->response_b64)),
          "the <response> payload is in the log");
  if (h->sfirst64[0])
    CHECK(!find_bytes(h->log_in, h->log_in_len, h->sfirst64, strlen(h->sfirst64)),
          "the server-first payload is in the log");
  CHECK(!find_bytes(h->log_out, h->log_out_len, "p=", 2), "p= in the log (out)");
  CHECK(!find_bytes(h->log_in, h->log_in_len, "p=", 2), "p= in the log (in)");
  /* 3. the connection's memory, once login is over */
  check_memory(h);
  if (h->auth_b64[0])
    CHECK(!find_bytes(&h->c, sizeof h->c, h->auth_b64, strlen(h->auth_b64)),
          "the <auth> payload is still in xep0077");
  if (h->response_b64[0])
    CHECK(!find_bytes(&h->c, sizeof h->c, h->response_b64, strlen(h->response_b64)),
          "the <response> payload (the proof) is still in xep0077");
}

/* End of a scenario: the script ran to its end, the client sent nothing
   the script did not expect, no secret leaked, nothing spun. */
static void h_finish(harness *h)
{
  check_script_done(h);
  check_secrets(h);
}

/* ======================================================================
   Transcripts (prosody 0.12.3, verbatim from notes/prosody.md)
   ====================================================================== */
#define C_HDR                                                                          \
  "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "                          \
  "xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0' "       \
  "xml:lang='en'>"
#define S_HDR(id)                                                                      \
  "<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' " \
  "id='" id "' version='1.0' xml:lang='en' xmlns='jabber:client' from='localhost'>"
#define S_HDR1 S_HDR("8a046a41-e133-4b5c-a22b-4c490bc18ec9")
#define S_HDR2 S_HDR("a78b2ceb-b17e-4f1e-a5ca-1374b9a4ddb5")
#define S_HDR3 S_HDR("f54ed9a6-4583-4517-8cbf-958b6cf82d5b")
#define S_FEAT_TLS                                                                     \
  "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>"      \
  "</starttls></stream:features>"
#define C_STARTTLS "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
#define S_PROCEED "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
#define MECH(x) "<mechanism>" x "</mechanism>"
#define S_FEAT_SASL(mechs)                                                             \
  "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" mechs        \
  "</mechanisms><register xmlns='http://jabber.org/features/iq-register'/>"             \
  "</stream:features>"
#define C_AUTH(m) "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='" m "'>*</auth>"
#define S_CHALLENGE "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>$SFIRST</challenge>"
#define C_RESPONSE "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>*</response>"
#define S_SUCCESS "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>$SFINAL</success>"
#define S_FEAT_BIND                                                                    \
  "<stream:features><c hash='sha-1' xmlns='http://jabber.org/protocol/caps' "           \
  "node='http://prosody.im' ver='SBFeVmHjn/0sIxhdtS0CecdSGs8='/>"                       \
  "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><required/></bind>"                   \
  "<session xmlns='urn:ietf:params:xml:ns:xmpp-session'><optional/></session>"          \
  "<sub xmlns='urn:xmpp:features:pre-approval'/></stream:features>"
#define C_BIND                                                                         \
  "<iq type='set' id='*'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"               \
  "<resource>probe</resource></bind></iq>"
#define S_BOUND                                                                        \
  "<iq type='result' id='$ID'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"          \
  "<jid>alicef84961@localhost/probe</jid></bind></iq>"
#define C_END "</stream:stream>"
#define S_END "</stream:stream>"
#define NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"
#define NS_STREAMS "urn:ietf:params:xml:ns:xmpp-streams"

#define CONNECT_STEPS(features)                                                        \
  CLI(C_HDR), SRV(S_HDR1 S_FEAT_TLS), CLI(C_STARTTLS), SRV(S_PROCEED), CLI(C_HDR),      \
      SRV(S_HDR2 features)
#define PROSODY_FEATURES S_FEAT_SASL(MECH("PLAIN") MECH("SCRAM-SHA-1"))
#define SCRAM_STEPS(m) CLI(C_AUTH(m)), SRV(S_CHALLENGE), CLI(C_RESPONSE), SRV(S_SUCCESS)
#define BIND_STEPS CLI(C_HDR), SRV(S_HDR3 S_FEAT_BIND), CLI(C_BIND), SRV(S_BOUND)
#define CLOSE_STEPS CLI(C_END), SRV(S_END), CLOSE

/* ======================================================================
   1. The happy path
   ====================================================================== */
static const step happy_sha1[] = {
  CONNECT_STEPS(PROSODY_FEATURES), SCRAM_STEPS("SCRAM-SHA-1"), BIND_STEPS, CLOSE_STEPS, END
};

/* connect, login, close over a script; the returned codes for the cut test */
static void happy_session(harness *h, const char *user, int *rc_connect, int *rc_login,
                          int *rc_close)
{
  *rc_login = *rc_close = -9997;
  *rc_connect = h_connect(h, 0);
  if (*rc_connect) return;
  *rc_login = h_login(h, user, PW, 0);
  if (*rc_login) return;
  *rc_close = h_close(h, 0);
}

static void t_happy_sha1(const mode *m)
{
  harness *h = h_new(m, happy_sha1);
  int rc;
  CHECK_RC(h_init(h), 0, "init");
  CHECK_RC(h_connect(h, 0), 0, "connect");
  CHECK(h->c.secure == 1 && h->c.tls_active == 1, "after connect secure=%d tls_active=%d",
        h->c.secure, h->c.tls_active);
  CHECK(h->tls_starts == 1 && h->tls_up, "TLS started %d times", h->tls_starts);
  CHECK_STR(h->sni, DOMAIN, "the name TLS must verify");
  CHECK(h->tls_at == strlen(C_HDR C_STARTTLS), "TLS began after %lu bytes, expected %lu",
        (unsigned long)h->tls_at, (unsigned long)strlen(C_HDR C_STARTTLS));
  CHECK(!h->c.authenticated && !h->c.jid[0], "authenticated before login");
  CHECK((h->c.features & XEP0077__FT_REGISTER) != 0, "the register feature was not seen");
  rc = h_login(h, USER, PW, 0);
  CHECK_RC(rc, 0, "login");
  CHECK_STR(h->mech, "SCRAM-SHA-1", "mechanism");
  CHECK(h->proof_ok, "the server could not verify the client's proof");
  CHECK(h->auths == 1 && h->responses == 1, "auth/response counts %d/%d", h->auths,
        h->responses);
  CHECK_STR(h->c.jid, JID, "c->jid");
  CHECK(h->c.authenticated == 1, "authenticated=%d", h->c.authenticated);
  /* client-first-message: n,,n=user,r=<24 base64 chars from 18 random bytes> */
  CHECK(!strncmp(h->client_first, "n,,n=" USER ",r=", 5 + strlen(USER) + 3) &&
            strlen(h->cnonce) == 24,
        "client-first-message %s", h->client_first);
  CHECK(h->c.error.condition[0] == 0, "error.condition set after success: %s",
        h->c.error.condition);
  /* the console did log the session (so the secret checks see something) */
  CHECK(contains(h->log_out, h->log_out_len, C_HDR C_STARTTLS), "log: no stream header");
  CHECK(contains(h->log_out, h->log_out_len, "mechanism='SCRAM-SHA-1'>***</auth>"),
        "log: <auth> is not shown with its payload as ***");
  CHECK(contains(h->log_out, h->log_out_len,
                 "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>***</response>"),
        "log: <response> is not shown with its payload as ***");
  CHECK(contains(h->log_in, h->log_in_len, S_FEAT_BIND), "log: no features after SASL");
  CHECK(contains(h->log_info, h->log_info_len, "TLS verified"), "log: no 'TLS verified'");
  if (g_verbose)
    printf("   %lu polls, %lu waits, %lu ms on the fake clock\n", h->polls, h->waits,
           h->now - 1000000);
  check_secrets(h);
  CHECK_RC(h_close(h, 0), 0, "close");
  CHECK(h->tls_closes == 1, "TLS close_notify sent %d times", h->tls_closes);
  CHECK(!h->c.tls_active, "tls_active after close");
  CHECK_RC(xep0077_close(&h->c, 0), 0, "close again");
  CHECK_RC(xep0077_login_start(&h->c, USER, PW, 0), XEP0077_ERR_STATE, "login after close");
  h_finish(h);
}

/* SCRAM-SHA-256 is preferred whenever it is offered, wherever it is listed. */
static const step happy_sha256[] = {
  CONNECT_STEPS(S_FEAT_SASL(MECH("PLAIN") MECH("SCRAM-SHA-1") MECH("SCRAM-SHA-256"))),
  SCRAM_STEPS("SCRAM-SHA-256"), BIND_STEPS, CLOSE_STEPS, END
};

static void t_happy_sha256(const mode *m)
{
  harness *h = h_new(m, happy_sha256);
  CHECK_RC(h_init(h), 0, "init");
  CHECK_RC(h_connect(h, 0), 0, "connect");
  CHECK_RC(h_login(h, USER, PW, 0), 0, "login");
  CHECK_STR(h->mech, "SCRAM-SHA-256", "mechanism");
  CHECK(h->alg == 256 && h->proof_ok, "SHA-256 proof not verified by the server");
  CHECK_STR(h->c.jid, JID, "c->jid");
  check_secrets(h);
  CHECK_RC(h_close(h, 0), 0, "close");
  h_finish(h);
}

/* Only PLAIN: allowed because TLS is verified. The server picks the
   resource (cfg.resource NULL: an empty <bind/>); PLAIN success has no data. */
static const step happy_plain[] = {
  CONNECT_STEPS(S_FEAT_SASL(MECH("PLAIN"))),
  CLI(C_AUTH("PLAIN")),
  SRV("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"),
  CLI(C_HDR),
  SRV(S_HDR3 S_FEAT_BIND),
  CLI("<iq type='set' id='*'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>"),
  SRV("<iq type='result' id='$ID'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
      "<jid>plainusere1d5cf@localhost/OAQL_3_JtaG6</jid></bind></iq>"),
  CLOSE_STEPS,
  END
};

static void t_happy_plain(const mode *m)
{
  harness *h = h_new(m, happy_plain);
  static const char want[] = "\0plainusere1d5cf\0" PW;
  char want64[200];
  h->cfg.resource = NULL;
  CHECK_RC(h_init(h), 0, "init");
  CHECK_RC(h_connect(h, 0), 0, "connect");
  CHECK_RC(h_login(h, "plainusere1d5cf", PW, 0), 0, "login");
  CHECK_STR(h->mech, "PLAIN", "mechanism");
  CHECK(h->plain_len == sizeof want - 1 && !memcmp(h->plain, want, sizeof want - 1),
        "PLAIN payload is not \\0user\\0pass");
  b64e(want, sizeof want - 1, want64, sizeof want64);
  CHECK_STR(h->auth_b64, want64, "the <auth> text");
  CHECK(h->randoms == 0, "PLAIN asked for random bytes");
  CHECK_STR(h->c.jid, "plainusere1d5cf@localhost/OAQL_3_JtaG6", "c->jid");
  check_secrets(h);
  CHECK_RC(h_close(h, 0), 0, "close");
  h_finish(h);
}

/* PLAIN over TLS that did not verify, with the escape hatch on. */
static void t_plain_unverified_allowed(const mode *m)
{
  harness *h = h_new(m, happy_plain);
  h->cfg.resource = NULL;
  h->cfg.insecure_unverified_tls = 1;
  h->verified = 0;
  CHECK_RC(h_init(h), 0, "init");
  CHECK_RC(h_connect(h, 0), 0, "connect");
  CHECK(h->c.secure == 0 && h->c.tls_active == 1, "secure=%d tls_active=%d", h->c.secure,
        h->c.tls_active);
  CHECK_RC(h_login(h, "plainusere1d5cf", PW, 0), 0, "login (insecure_unverified_tls)");
  CHECK_RC(h_close(h, 0), 0, "close");
  h_finish(h);
}

/* XEP-0368 direct TLS: the handshake comes before the first byte. */
static const step direct_tls[] = {
  CLI(C_HDR), SRV(S_HDR2 PROSODY_FEATURES), SCRAM_STEPS("SCRAM-SHA-1"), BIND_STEPS,
  CLOSE_STEPS, END
};

static void t_direct_tls(const mode *m)
{
  harness *h = h_new(m, direct_tls);
  h->cfg.direct_tls = 1;
  CHECK_RC(h_init(h), 0, "init");
  CHECK_RC(h_connect(h, 0), 0, "connect");
  CHECK(h->tls_up && h->tls_at == 0, "direct TLS: %lu bytes went out before the handshake",
        (unsigned long)h->tls_at);
  CHECK(h->c.secure == 1, "secure=%d", h->c.secure);
  CHECK_RC(h_login(h, USER, PW, 0), 0, "login");
  CHECK_STR(h->c.jid, JID, "c->jid");
  CHECK_RC(h_close(h, 0), 0, "close");
  h_finish(h);
}

/* The stream namespace under another prefix, and ',' '=' in the username
   (RFC 5802 saslname: "=2C" and "=3D"). */
static const step other_prefix[] = {
  CLI(C_HDR),
  SRV("<?xml version='1.0'?><s:stream xmlns:s='http://etherx.jabber.org/streams' "
      "xmlns='jabber:client' version='1.0' from='localhost' id='p1'><s:features><starttls "
      "xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></s:features>"),
  CLI(C_STARTTLS), SRV(S_PROCEED), CLI(C_HDR),
  SRV("<?xml version='1.0'?><s:stream xmlns:s='http://etherx.jabber.org/streams' "
      "xmlns='jabber:client' version='1.0' from='localhost' id='p2'><s:features><mechanisms "
      "xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism>"
      "</mechanisms></s:features>"),
  SCRAM_STEPS("SCRAM-SHA-1"), CLI(C_HDR),
  SRV("<?xml version='1.0'?><s:stream xmlns:s='http://etherx.jabber.org/streams' "
      "xmlns='jabber:client' version='1.0' from='localhost' id='p3'><s:features><bind "
      "xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></s:features>"),
  CLI(C_BIND),
  SRV("<iq type='result' id='$ID'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>"
      "a,b=c@localhost/probe</jid></bind></iq>"),
  PAUSE,
  SRV("</s:stream>"),
  CLOSE
};

static void t_other_prefix(const mode *m)
{
  harness *h = h_new(m, other_prefix);
  CHECK_RC(h_init(h), 0, "init");
  CHECK_RC(h_connect(h, 0), 0, "connect (stream prefix s:)");
  CHECK_RC(h_login(h, "a,b=c", PW, 0), 0, "login as a,b=c");
  CHECK(!strncmp(h->client_first, "n,,n=a=2Cb=3Dc,r=", 17), "client-first-message %s",
        h->client_first);
  CHECK(h->proof_ok, "the server could not verify the proof");
  CHECK_STR(h->c.jid, "a,b=c@localhost/probe", "c->jid");
  h->released = 1;
  CHECK_RC(xep0077_poll(&h->c), XEP0077_ERR_CLOSED, "poll: the server ended the stream");
  CHECK_RC(xep0077_close(&h->c, 0), 0, "close on a closed stream");
  h_finish(h);
}

static int iq_record_null(xep0077 *c, int ev)
{
  (void)c;
  (void)ev;
  return 0;
}

/* API misuse is refused before anything is sent. */
static const step misuse[] = { CONNECT_STEPS(PROSODY_FEATURES), CLOSE_STEPS, END };

static void t_misuse(const mode *m)
{
  harness *h = h_new(m, misuse);
  xep0077_config cfg = h->cfg;
  xep0077_tls bad_tls = h->tls;
  static xep0077 c;
  cfg.domain = NULL;
  CHECK_RC(xep0077_init(&c, &cfg), XEP0077_ERR_ARG, "init without domain");
  cfg.domain = "";
  CHECK_RC(xep0077_init(&c, &cfg), XEP0077_ERR_ARG, "init with an empty domain");
  cfg.domain = "local\x01host";
  CHECK_RC(xep0077_init(&c, &cfg), XEP0077_ERR_ARG, "init with a control char in domain");
  cfg = h->cfg;
  cfg.now_ms = NULL;
  CHECK_RC(xep0077_init(&c, &cfg), XEP0077_ERR_ARG, "init without now_ms");
  cfg = h->cfg;
  cfg.send = NULL;
  CHECK_RC(xep0077_init(&c, &cfg), XEP0077_ERR_ARG, "init without send");
  cfg = h->cfg;
  bad_tls.verified = NULL;
  cfg.tls = &bad_tls;
  CHECK_RC(xep0077_init(&c, &cfg), XEP0077_ERR_ARG, "init with a TLS vtable lacking verified");
  cfg = h->cfg;
  cfg.tls = NULL;
  cfg.direct_tls = 1;
  CHECK_RC(xep0077_init(&c, &cfg), XEP0077_ERR_ARG, "direct TLS without TLS");
  CHECK(h->clen == 0, "init sent bytes");

  CHECK_RC(h_init(h), 0, "init");
  CHECK_RC(xep0077_login_start(&h->c, USER, PW, 0), XEP0077_ERR_STATE, "login before connect");
  CHECK_RC(xep0077_close_start(&h->c, 0), XEP0077_ERR_STATE, "close before connect");
  CHECK_RC(xep0077_iq_begin(&h->c, "get", NULL), XEP0077_ERR_STATE, "iq_begin before connect");
  CHECK_RC(xep0077_poll(&h->c), 0, "poll with nothing to do");
  CHECK(h->clen == 0, "the client sent %lu bytes before connect", (unsigned long)h->clen);
  CHECK_RC(xep0077_connect_start(&h->c, 0), XEP0077_PENDING, "connect_start");
  CHECK_RC(xep0077_connect_start(&h->c, 0), XEP0077_ERR_STATE, "connect_start twice");
  CHECK_RC(xep0077_login_start(&h->c, USER, PW, 0), XEP0077_ERR_STATE, "login during connect");
  CHECK_RC(h_run(h, XEP0077_PENDING), 0, "connect");
  CHECK_RC(xep0077_connect(&h->c, 0), XEP0077_ERR_STATE, "connect again");
  CHECK_RC(xep0077_iq_send(&h->c, iq_record_null, NULL, 0), XEP0077_ERR_STATE,
           "iq_send without iq_begin");
  CHECK_RC(h_close(h, 0), 0, "close");
  h_finish(h);
}

/* close: the server never answers </stream:stream> (2 s default), or
   hangs up instead. */
static const step close_silent[] = { CONNECT_STEPS(PROSODY_FEATURES), CLI(C_END), END };
static const step close_hangup[] = { CONNECT_STEPS(PROSODY_FEATURES), CLI(C_END), CLOSE };

/* A stream header that does not fit the output buffer (a huge domain) fails
   the connect and leaves the stream closed: nothing is sent, and a close
   has nothing to say. */
static const step nothing[] = { END };

static void t_header_too_big(const mode *m)
{
  static char dom[XEP0077_OUT_SIZE + 8];
  harness *h = h_new(m, nothing);
  memset(dom, 'a', sizeof dom - 1);
  h->cfg.domain = dom;
  CHECK_RC(h_init(h), 0, "init with a long domain");
  CHECK_RC(h_connect(h, 0), XEP0077_ERR_TOO_BIG, "connect with a header too big");
  CHECK_RC(xep0077_poll(&h->c), 0, "poll after the failed connect");
  CHECK_RC(xep0077_close_start(&h->c, 0), 0, "close after the failed connect: closed already");
  CHECK(h->clen == 0, "the client sent %lu bytes", (unsigned long)h->clen);
}

static void t_close(const mode *m)
{
  harness *h = h_new(m, close_silent);
  unsigned long t0;
  CHECK_RC(h_init(h), 0, "init");
  CHECK_RC(h_connect(h, 0), 0, "connect");
  t0 = h->now;
  if (m->blocking) {
    CHECK_RC(xep0077_close(&h->c, 0), 0, "close, silent server");
    CHECK(h->now == t0 + 2000, "close gave up after %lu ms, expected 2000", h->now - t0);
  } else {
    int i;
    CHECK_RC(xep0077_close_start(&h->c, 0), XEP0077_PENDING, "close_start");
    for (i = 0; i < 200 && h->steps[h->at].kind == ST_C; i++) {
      CHECK_RC(xep0077_poll(&h->c), XEP0077_PENDING, "poll while </stream:stream> goes out");
      advance(h);
    }
    h->now = t0 + 1999;
    CHECK_RC(xep0077_poll(&h->c), XEP0077_PENDING, "poll at +1999 ms");
    h->now = t0 + 2000;
    CHECK_RC(xep0077_poll(&h->c), 0, "poll at +2000 ms");
  }
  CHECK(h->tls_closes == 1 && !h->c.tls_active, "TLS closed %d times", h->tls_closes);
  h_finish(h);

  h = h_new(m, close_hangup);
  CHECK_RC(h_init(h), 0, "init");
  CHECK_RC(h_connect(h, 0), 0, "connect");
  CHECK_RC(h_close(h, 0), 0, "close, the server hangs up");
  CHECK(h->tls_closes == 1, "TLS closed %d times", h->tls_closes);
  h_finish(h);
}

/* ======================================================================
   2. SCRAM test vectors
   ====================================================================== */
#define RFC5802_CFINAL "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
#define RFC5802_SFINAL "v=rmF9pqV8S7suAoZWja4dJRkFsKQ="
static unsigned char rfc5802_rnd[18];

/* RFC 5802 section 5 end to end through the public API: random() returns
   the 18 bytes whose base64 is the RFC's client nonce. */
static const step rfc5802[] = {
  CONNECT_STEPS(PROSODY_FEATURES),
  CLI("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>"
      "biwsbj11c2VyLHI9ZnlrbytkMmxiYkZnT05Sdjlxa3hkYXdM</auth>"),
  SRV(S_CHALLENGE), CLI(C_RESPONSE), SRV(S_SUCCESS), BIND_STEPS, CLOSE_STEPS, END
};

static void t_rfc5802(const mode *m)
{
  harness *h = h_new(m, rfc5802);
  h->fixed_rnd = rfc5802_rnd;
  h->fixed_rnd_len = sizeof rfc5802_rnd;
  h->srv_pw = "pencil";
  h->snonce = "3rfcNHYJY1ZVvWVs7j";
  h->saltlen = (size_t)b64d("QSXCR+Q6sek8bf92", 16, h->salt, sizeof h->salt);
  h->iter = 4096;
  CHECK_RC(h_init(h), 0, "init");
  CHECK_RC(h_connect(h, 0), 0, "connect");
  CHECK_RC(h_login(h, "user", "pencil", 0), 0, "login");
  CHECK_STR(h->client_first, "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL", "client-first-message");
  CHECK_STR(h->sfirst, "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
            "server-first-message");
  CHECK_STR(h->client_final, RFC5802_CFINAL, "client-final-message");
  CHECK_STR(h->sfinal, RFC5802_SFINAL, "server-final-message (the test's server)");
  check_secrets(h);
  CHECK_RC(h_close(h, 0), 0, "close");
  h_finish(h);
}

/* Drive the SCRAM steps on their own, through the internal functions (the
   test includes the implementation). Returns the client-final-message. */
static int scram_direct(int alg, const char *cfb, const char *sfirst, const char *password,
                        char *cfinal, size_t cap, xep0077 *c)
{
  xep0077_config cfg;
  const char *gt, *end;
  unsigned char raw[600];
  long rl;
  int rc;
  memset(&cfg, 0, sizeof cfg);
  cfg.domain = "example.com";
  cfg.send = t_send;
  cfg.recv = t_recv;
  cfg.now_ms = t_now;
  cfg.user = cfg.io = &H;
  cfg.crypto = &g_mt.crypto; /* the glue itself, nothing in between */
  if (xep0077_init(c, &cfg)) return -9000;
  snprintf(c->scram, sizeof c->scram, "%s", cfb);
  c->scram_len = strlen(cfb);
  c->acc_len = b64e(sfirst, strlen(sfirst), c->acc, sizeof c->acc);
  c->sasl_alg = alg;
  c->password = password;
  c->scram_step = 1; /* as after <auth>: the one challenge is expected */
  cfinal[0] = 0;
  rc = xep0077__sasl_challenge(c);
  if (rc) return rc;
  c->out[c->w.len] = 0;
  gt = strchr(c->out, '>');
  end = strstr(c->out, "</response>");
  if (strncmp(c->out, "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>", 51) || !gt || !end)
    return -9001;
  rl = b64d(gt + 1, (size_t)(end - gt - 1), raw, sizeof raw - 1);
  if (rl < 0) return -9002;
  snprintf(cfinal, cap, "%.*s", (int)rl, (const char *)raw);
  return 0;
}

static int scram_verify(xep0077 *c, const char *server_final)
{
  c->acc_len = b64e(server_final, strlen(server_final), c->acc, sizeof c->acc);
  return xep0077__sasl_success(c);
}

/* The client's answer to this server-first-message in RFC 5802's exchange
   (user "user", password "pencil"): what its challenge step returns. */
static int rfc5802_first(xep0077 *c, const char *sfirst)
{
  char cf[600];
  return scram_direct(1, "n=user,r=fyko+d2lbbFgONRv9qkxdawL", sfirst, "pencil", cf, sizeof cf,
                      c);
}

static void t_scram_vectors(void)
{
  static xep0077 c;
  char cf[600];
  int rc;
  /* RFC 7677 section 3 (SHA-256). Its 20-char nonce can't come from 18 bytes. */
  rc = scram_direct(256, "n=user,r=rOprNGfwEbeRWgbNEkqO",
                    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                    "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
                    "pencil", cf, sizeof cf, &c);
  CHECK_RC(rc, 0, "RFC 7677 challenge");
  CHECK_STR(cf,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
            "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            "RFC 7677 client-final-message");
  CHECK_RC(scram_verify(&c, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="), 0,
           "RFC 7677 server signature");
  CHECK_RC(scram_verify(&c, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5="),
           XEP0077_ERR_SASL_SIGNATURE, "RFC 7677 with the last bit flipped");
  CHECK_RC(scram_verify(&c, "v=rmF9pqV8S7suAoZWja4dJRkFsKQ="), XEP0077_ERR_SASL_SIGNATURE,
           "RFC 7677 with a SHA-1 sized signature");
  CHECK_RC(scram_verify(&c, "e=invalid-proof"), XEP0077_ERR_SASL_SIGNATURE,
           "server-error e= instead of v=");

  /* RFC 5802 section 5 (SHA-1), the same way */
  rc = scram_direct(1, "n=user,r=fyko+d2lbbFgONRv9qkxdawL",
                    "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
                    "pencil", cf, sizeof cf, &c);
  CHECK_RC(rc, 0, "RFC 5802 challenge");
  CHECK_STR(cf, RFC5802_CFINAL, "RFC 5802 client-final-message");
  CHECK_RC(scram_verify(&c, RFC5802_SFINAL), 0, "RFC 5802 server signature");
  CHECK_RC(scram_verify(&c, "v=rmF9pqV8S7suAoZWja4dJRkFsKQ"), XEP0077_ERR_SASL_SIGNATURE,
           "RFC 5802 signature without its padding");
  CHECK_RC(scram_verify(&c, ""), XEP0077_ERR_SASL_SIGNATURE, "empty server-final");

  /* the server-first checks, before any key is derived */
  CHECK_RC(rfc5802_first(&c, "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
                             "s=QSXCR+Q6sek8bf92,i=4095"),
           XEP0077_ERR_SASL_ITERATIONS, "i=4095");
  CHECK_RC(rfc5802_first(&c, "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
                             "s=QSXCR+Q6sek8bf92,i=99999999999999999999"),
           XEP0077_ERR_SASL_ITERATIONS, "i=99999999999999999999 (overflow)");
  CHECK_RC(rfc5802_first(&c, "r=fyko+d2lbbFgONRv9qkxdawL,s=QSXCR+Q6sek8bf92,i=4096"),
           XEP0077_ERR_PROTOCOL, "server nonce == client nonce (not extended)");
  CHECK_RC(rfc5802_first(&c, "r=fyko+d2lbbFgONRv9qkxdawX3rfcNHYJY1ZVvWVs7j,"
                             "s=QSXCR+Q6sek8bf92,i=4096"),
           XEP0077_ERR_PROTOCOL, "server nonce differing in the client part");
  CHECK_RC(rfc5802_first(&c, "m=ext,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
                             "s=QSXCR+Q6sek8bf92,i=4096"),
           XEP0077_ERR_PROTOCOL, "mandatory extension m= first");
  CHECK_RC(rfc5802_first(&c, "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
                             "s=,i=4096"),
           XEP0077_ERR_PROTOCOL, "empty salt");
  CHECK_RC(rfc5802_first(&c, "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
                             "s=QSXCR+Q6sek8bf92,i="),
           XEP0077_ERR_PROTOCOL, "empty i=");
  CHECK_RC(rfc5802_first(&c, "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
                             "s=QSXCR+Q6sek8bf92,i=4096x"),
           XEP0077_ERR_PROTOCOL, "i=4096x");
  /* the glue's primitives on their own */
  {
    unsigned char out[32];
    char hex[65];
    int i;
    CHECK_RC(g_mt.crypto.hash(g_mt.crypto.ctx, 256, (const unsigned char *)"abc", 3, out), 0,
             "glue hash");
    for (i = 0; i < 32; i++) sprintf(hex + 2 * i, "%02x", out[i]);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
              "SHA-256(abc) from the glue");
    CHECK_RC(g_mt.crypto.random(g_mt.crypto.ctx, out, sizeof out), 0, "glue random");
  }
}

/* The same server-side failures end to end: the session, then the status. */
static const step scram_bad_sig[] = {
  CONNECT_STEPS(PROSODY_FEATURES), CLI(C_AUTH("SCRAM-SHA-1")), SRV(S_CHALLENGE),
  CLI(C_RESPONSE), SRV("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>$SBADSIG</success>"),
  END
};
static const step scram_no_v[] = {
  CONNECT_STEPS(PROSODY_FEATURES), CLI(C_AUTH("SCRAM-SHA-1")), SRV(S_CHALLENGE),
  CLI(C_RESPONSE), SRV("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"), END
};
static const step scram_not_v[] = { /* base64("x=abc") */
  CONNECT_STEPS(PROSODY_FEATURES), CLI(C_AUTH("SCRAM-SHA-1")), SRV(S_CHALLENGE),
  CLI(C_RESPONSE), SRV("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>eD1hYmM=</success>"),
  END
};
/* the client must not answer a challenge it refuses */
static const step scram_refused_challenge[] = {
  CONNECT_STEPS(PROSODY_FEATURES), CLI(C_AUTH("SCRAM-SHA-1")), SRV(S_CHALLENGE), END
};
static const step scram_ok_short[] = {
  CONNECT_STEPS(PROSODY_FEATURES), SCRAM_STEPS("SCRAM-SHA-1"), BIND_STEPS, END
};

static void scram_case(const mode *m, const step *steps, const char *what, int want,
                       unsigned long iter, unsigned long max_iter, int bad_nonce)
{
  harness *h = h_new(m, steps);
  int rc;
  h->iter = iter;
  h->bad_nonce = bad_nonce;
  h->cfg.scram_max_iterations = max_iter;
  CHECK_RC(h_init(h), 0, "init");
  CHECK_RC(h_connect(h, 0), 0, "connect");
  rc = h_login(h, USER, PW, 0);
  CHECK_RC(rc, want, what);
  CHECK(want != 0 || !strcmp(h->c.jid, JID), "%s: jid %s", what, h->c.jid);
  CHECK(want == 0 || (!h->c.authenticated && !h->c.jid[0]),
        "%s: authenticated=%d jid=%s after a failed login", what, h->c.authenticated, h->c.jid);
  if (want) {
    CHECK_RC(xep0077_poll(&h->c), 0, "poll after the failure");
    CHECK_RC(xep0077_login_start(&h->c, USER, PW, 0), XEP0077_ERR_STATE,
             "login again on the failed stream");
  }
  h_finish(h);
}

static void t_scram_failures(const mode *m)
{
  scram_case(m, scram_bad_sig, "success with one bit of v= flipped", XEP0077_ERR_SASL_SIGNATURE,
             4096, 0, 0);
  scram_case(m, scram_no_v, "success without v=", XEP0077_ERR_SASL_SIGNATURE, 4096, 0, 0);
  scram_case(m, scram_not_v, "success with x= instead of v=", XEP0077_ERR_SASL_SIGNATURE, 4096,
             0, 0);
  scram_case(m, scram_refused_challenge, "server nonce not extending ours",
             XEP0077_ERR_PROTOCOL, 4096, 0, 1);
  scram_case(m, scram_refused_challenge, "i=4095", XEP0077_ERR_SASL_ITERATIONS, 4095, 0, 0);
  scram_case(m, scram_ok_short, "i=4096", 0, 4096, 0, 0);
  scram_case(m, scram_refused_challenge, "i=5001 > scram_max_iterations=5000",
             XEP0077_ERR_SASL_ITERATIONS, 5001, 5000, 0);
  scram_case(m, scram_ok_short, "i=5000 == scram_max_iterations", 0, 5000, 5000, 0);
  scram_case(m, scram_refused_challenge, "i=100001 > default maximum",
             XEP0077_ERR_SASL_ITERATIONS, 100001, 0, 0);
  scram_case(m, scram_refused_challenge, "scram_max_iterations=1000 refuses i=4096",
             XEP0077_ERR_SASL_ITERATIONS, 4096, 1000, 0);
}

/* A server that never saw our proof, answering <auth> with <success/> at
   once: its v= is what an all-zero ServerSignature would be. No challenge
   was answered, so there is nothing it could have proved. */
static const step scram_early_success[] = {
  CONNECT_STEPS(PROSODY_FEATURES), CLI(C_AUTH("SCRAM-SHA-1")),
  SRV("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
      "dj1BQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE9</success>"), /* v=base64(20 zero bytes) */
  END
};

static void t_scram_early_success(const mode *m)
{
  harness *h = h_new(m, scram_early_success);
  int rc;
  CHECK_RC(h_init(h), 0, "init");
  CHECK_RC(h_connect(h, 0), 0, "connect");
  rc = h_login(h, USER, PW, 2000);
  CHECK(rc == XEP0077_ERR_SASL_SIGNATURE || rc == XEP0077_ERR_PROTOCOL,
        "SCRAM <success/> before any challenge (v= all zero): login returned %s, expected "
        "ERR_SASL_SIGNATURE or ERR_PROTOCOL",
        xep0077_status_name(rc));
  CHECK(!h->c.authenticated, "authenticated=1 without the server proving anything");
  advance(h);
  CHECK(h->cpos == h->clen, "after the forged success the client sent: \"%.*s\"",
        (int)(h->clen - h->cpos > 120 ? 120 : h->clen - h->cpos), h->cout + h->cpos);
  h->cpos = h->clen;
  h_finish(h);
}

/* ======================================================================
   3. Failures
   ====================================================================== */
/* Connect against a script and expect status `want`; the script must end
   exactly where the client stops talking. */
static harness *connect_case(const mode *m, const step *steps, const char *what, int want)
{
  harness *h = h_new(m, steps);
  CHECK_RC(h_init(h), 0, "init");
  CHECK_RC(h_connect(h, 0), want, what);
  return h;
}

static const step no_starttls[] = {
  CLI(C_HDR), SRV(S_HDR1 S_FEAT_SASL(MECH("PLAIN") MECH("SCRAM-SHA-1"))), END
};
static const step tls_failure[] = {
  CLI(C_HDR), SRV(S_HDR1 S_FEAT_TLS), CLI(C_STARTTLS),
  SRV("<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>"), END
};
/* a man in the middle appends plaintext to <proceed/> */
static const step tls_injection[] = {
  CLI(C_HDR), SRV(S_HDR1 S_FEAT_TLS), CLI(C_STARTTLS),
  SRV(S_PROCEED "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"), END
};
static const step tls_only[] = {
  CLI(C_HDR), SRV(S_HDR1 S_FEAT_TLS), CLI(C_STARTTLS), SRV(S_PROCEED), END
};
static const step stream_error[] = {
  CLI(C_HDR),
  SRV("<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' "
      "id='30e394fc-17c2-4c67-86a0-a407d431ce7b' version='1.0' xml:lang='en' "
      "xmlns='jabber:client' from='nosuch.example'><stream:error><host-unknown "
      "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text "
      "xmlns='urn:ietf:params:xml:ns:xmpp-streams'>This server does not serve "
      "nosuch.example</text></stream:error></stream:stream>"),
  END
};
static const step server_closes[] = {
  CLI(C_HDR), SRV(S_HDR1 "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>"),
  CLOSE
};
static const step xml_doctype[] = {
  CLI(C_HDR),
  SRV("<?xml version='1.0'?><!DOCTYPE stream:stream [<!ENTITY x 'y'>]>" S_HDR1 S_FEAT_TLS), END
};
static const step xml_entity[] = {
  CLI(C_HDR),
  SRV(S_HDR1 "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required>"
             "&xxe;</required></starttls></stream:features>"),
  END
};
static const step xml_comment[] = {
  CLI(C_HDR), SRV(S_HDR1 "<!-- hi -->" S_FEAT_TLS), END
};
static const step not_a_stream[] = {
  CLI(C_HDR), SRV("<?xml version='1.0'?><html xmlns='http://www.w3.org/1999/xhtml'>"), END
};

static void t_connect_failures(const mode *m)
{
  harness *h;
  h = connect_case(m, no_starttls, "connect, no STARTTLS offered", XEP0077_ERR_TLS_REQUIRED);
  CHECK(h->clen == strlen(C_HDR) && !memcmp(h->cout, C_HDR, h->clen),
        "the client sent more than its stream header: %.*s", (int)h->clen, h->cout);
  CHECK(h->tls_starts == 0, "TLS started");
  h_finish(h);

  h = connect_case(m, tls_failure, "connect, <failure/> to <starttls/>", XEP0077_ERR_TLS);
  CHECK(h->tls_starts == 0, "TLS started after <failure/>");
  h_finish(h);

  h = h_new(m, tls_injection);
  h->maxchunk = 4096; /* <proceed/> and what follows arrive in one read */
  CHECK_RC(h_init(h), 0, "init");
  CHECK_RC(h_connect(h, 0), XEP0077_ERR_TLS_INJECTION, "connect, bytes after <proceed/>");
  CHECK(h->tls_starts == 0 && !h->tls_up, "TLS started over injected bytes");
  h_finish(h);

  h = h_new(m, tls_only);
  h->hs_result = XEP0077_ERR_TLS_VERIFY;
  CHECK_RC(h_init(h), 0, "init");
  CHECK_RC(h_connect(h, 0), XEP0077_ERR_TLS_VERIFY, "connect, certificate does not verify");
  CHECK(!h->c.secure && !h->c.tls_active, "secure=%d tls_active=%d", h->c.secure,
        h->c.tls_active);
  h_finish(h);

  h = h_new(m, tls_only);
  h->hs_result = -0x7780; /* MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE */
  CHECK_RC(h_init(h), 0, "init");
  CHECK_RC(h_connect(h, 0), XEP0077_ERR_TLS, "connect, handshake alert");
  h_finish(h);

  h = h_new(m, tls_only);
  h->tls_start_rc = -1;
  CHECK_RC(h_init(h), 0, "init");
  CHECK_RC(h_connect(h, 0), XEP0077_ERR_TLS, "connect, tls->start fails");
  h_finish(h);

  h = connect_case(m, stream_error, "connect, host-unknown", XEP0077_ERR_STREAM);
  CHECK_STR(h->c.error.condition, "host-unknown", "error.condition");
  CHECK_STR(h->c.error.text, "This server does not serve nosuch.example", "error.text");
  h_finish(h);

  h = connect_case(m, server_closes, "connect, server closes mid-features", XEP0077_ERR_CLOSED);
  h_finish(h);
  h = connect_case(m, xml_doctype, "connect, DOCTYPE", XEP0077_ERR_XML_DOCTYPE);
  h_finish(h);
  h = connect_case(m, xml_entity, "connect, undeclared entity", XEP0077_ERR_XML_ENTITY);
  h_finish(h);
  h = connect_case(m, xml_comment, "connect, comment", XEP0077_ERR_XML_COMMENT);
  h_finish(h);
  h = connect_case(m, not_a_stream, "connect, root is not a stream", XEP0077_ERR_PROTOCOL);
  h_finish(h);
}

/* TLS works but the certificate did not verify: connect succeeds, login
   refuses without a byte on the wire. */
static const step unverified[] = { CONNECT_STEPS(PROSODY_FEATURES), END };

static void t_unverified_tls(const mode *m)
{
  harness *h = h_new(m, unverified);
  size_t before;
  h->verified = 0;
  CHECK_RC(h_init(h), 0, "init");
  CHECK_RC(h_connect(h, 0), 0, "connect over unverified TLS");
  CHECK(h->c.secure == 0 && h->c.tls_active == 1, "secure=%d tls_active=%d", h->c.secure,
        h->c.tls_active);
  before = h->clen;
  CHECK_RC(xep0077_login(&h->c, USER, PW, 0), XEP0077_ERR_INSECURE, "login over unverified TLS");
  CHECK_RC(xep0077_login_start(&h->c, USER, PW, 0), XEP0077_ERR_INSECURE,
           "login_start over unverified TLS");
  CHECK_RC(xep0077_poll(&h->c), 0, "poll after the refusal");
  CHECK(h->clen == before, "login sent %lu bytes", (unsigned long)(h->clen - before));
  CHECK(h->randoms == 0, "login asked for a nonce");
  h_finish(h);

  /* the escape hatch: SCRAM goes ahead */
  {
    static const step s[] = {
      CONNECT_STEPS(PROSODY_FEATURES), SCRAM_STEPS("SCRAM-SHA-1"), BIND_STEPS, END
    };
    h = h_new(m, s);
    h->verified = 0;
    h->cfg.insecure_unverified_tls = 1;
    CHECK_RC(h_init(h), 0, "init");
    CHECK_RC(h_connect(h, 0), 0, "connect");
    CHECK_RC(h_login(h, USER, PW, 0), 0, "login with insecure_unverified_tls");
    CHECK(h->c.secure == 0, "secure=%d", h->c.secure);
    h_finish(h);
  }
}

static const step sasl_fail_after_response[] = {
  CONNECT_STEPS(PROSODY_FEATURES), CLI(C_AUTH("SCRAM-SHA-1")), SRV(S_CHALLENGE), CLI(C_RESPONSE),
  SRV("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/><text>The response "
      "provided by the client doesn&apos;t match the one we calculated.</text></failure>"),
  END
};
static const step sasl_fail_unknown_user[] = {
  CONNECT_STEPS(PROSODY_FEATURES), CLI(C_AUTH("SCRAM-SHA-1")),
  SRV("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>"), END
};
static const step sasl_stream_error[] = {
  CONNECT_STEPS(PROSODY_FEATURES), CLI(C_AUTH("SCRAM-SHA-1")),
  SRV("<stream:error><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text "
      "xmlns='urn:ietf:params:xml:ns:xmpp-streams'>XML stanza is too big</text><stanza-too-big "
      "xmlns='urn:xmpp:errors'/></stream:error></stream:stream>"),
  END
};
static const step external_only[] = {
  CONNECT_STEPS(S_FEAT_SASL(MECH("EXTERNAL") MECH("SCRAM-SHA-1-PLUS"))), END
};
static const step bind_error[] = {
  CONNECT_STEPS(PROSODY_FEATURES), SCRAM_STEPS("SCRAM-SHA-1"), CLI(C_HDR),
  SRV(S_HDR3 S_FEAT_BIND), CLI(C_BIND),
  SRV("<iq type='error' id='$ID'><error type='cancel'><not-allowed "
      "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text "
      "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>no resources today</text></error></iq>"),
  END /* an unbound stream is useless: the library hangs up */
};
/* A bound JID longer than the library keeps (XEP0077_JID_SIZE): cut, it
   would be a JID that is not ours, and replies to it would be refused. */
static const step bind_too_long[] = {
  CONNECT_STEPS(PROSODY_FEATURES), SCRAM_STEPS("SCRAM-SHA-1"), CLI(C_HDR),
  SRV(S_HDR3 S_FEAT_BIND), CLI(C_BIND),
  SRV("<iq type='result' id='$ID'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>"
      "user@localhost/0123456789012345678901234567890123456789012345678901234567890123456789"
      "0123456789012345678901234567890123456789012345678901234567890123456789</jid></bind></iq>"),
  END
};
static const step bind_missing[] = {
  CONNECT_STEPS(PROSODY_FEATURES), SCRAM_STEPS("SCRAM-SHA-1"), CLI(C_HDR),
  SRV(S_HDR3 "<stream:features/>"), END
};
static const step login_closed[] = {
  CONNECT_STEPS(PROSODY_FEATURES), CLI(C_AUTH("SCRAM-SHA-1")), SRV(S_CHALLENGE), CLI(C_RESPONSE),
  CLOSE
};

static harness *login_case(const mode *m, const step *steps, const char *what, int want,
                           int fatal)
{
  harness *h = h_new(m, steps);
  h->iter = 4096;
  CHECK_RC(h_init(h), 0, "init");
  CHECK_RC(h_connect(h, 0), 0, "connect");
  CHECK_RC(h_login(h, USER, PW, 0), want, what);
  CHECK(!h->c.jid[0], "%s: jid is %s", what, h->c.jid);
  if (fatal)
    CHECK(h->tls_closes == 1 && !h->c.tls_active, "%s: TLS closed %d times, tls_active=%d",
          what, h->tls_closes, h->c.tls_active);
  return h;
}

static void t_login_failures(const mode *m)
{
  harness *h;
  h = login_case(m, sasl_fail_after_response, "login, wrong password", XEP0077_ERR_SASL_FAILED,
                 1);
  CHECK_STR(h->c.error.condition, "not-authorized", "error.condition");
  CHECK_STR(h->c.error.text,
            "The response provided by the client doesn't match the one we calculated.",
            "error.text");
  h_finish(h);

  h = login_case(m, sasl_fail_unknown_user, "login, unknown user", XEP0077_ERR_SASL_FAILED, 1);
  CHECK_STR(h->c.error.condition, "not-authorized", "error.condition");
  CHECK_STR(h->c.error.text, "", "error.text");
  h_finish(h);

  h = login_case(m, sasl_stream_error, "login, stream error during SASL", XEP0077_ERR_STREAM, 1);
  CHECK_STR(h->c.error.condition, "policy-violation", "error.condition");
  CHECK_STR(h->c.error.text, "XML stanza is too big", "error.text");
  h_finish(h);

  h = h_new(m, external_only);
  CHECK_RC(h_init(h), 0, "init");
  CHECK_RC(h_connect(h, 0), 0, "connect");
  {
    size_t before = h->clen;
    CHECK_RC(h_login(h, USER, PW, 0), XEP0077_ERR_SASL_MECH, "login, only EXTERNAL and -PLUS");
    CHECK(h->clen == before, "login sent %lu bytes", (unsigned long)(h->clen - before));
  }
  h_finish(h);

  /* no crypto: SCRAM is out, and PLAIN is not offered */
  h = h_new(m, unverified);
  h->cfg.crypto = NULL;
  {
    static const step s[] = { CONNECT_STEPS(S_FEAT_SASL(MECH("SCRAM-SHA-1"))), END };
    h->steps = s;
    CHECK_RC(h_init(h), 0, "init");
    CHECK_RC(h_connect(h, 0), 0, "connect");
    CHECK_RC(h_login(h, USER, PW, 0), XEP0077_ERR_SASL_MECH, "login, SCRAM only, no crypto");
    h_finish(h);
  }

  h = login_case(m, bind_error, "login, bind refused", XEP0077_ERR_BIND, 0);
  CHECK_STR(h->c.error.condition, "not-allowed", "error.condition");
  CHECK_STR(h->c.error.type, "cancel", "error.type");
  CHECK_STR(h->c.error.text, "no resources today", "error.text");
  CHECK(h->c.authenticated == 1, "authenticated=%d (SASL did succeed)", h->c.authenticated);
  CHECK_RC(h_close(h, 0), 0, "close after the bind error"); /* already closed: 0 */
  CHECK_RC(xep0077_iq_begin(&h->c, "get", NULL), XEP0077_ERR_STATE, "no IQ on an unbound stream");
  h_finish(h);

  h = login_case(m, bind_missing, "login, no <bind/> feature after SASL", XEP0077_ERR_BIND, 1);
  h_finish(h);

  h = login_case(m, bind_too_long, "login, bound JID longer than XEP0077_JID_SIZE",
                 XEP0077_ERR_BIND, 1);
  CHECK_STR(h->c.jid, "", "c.jid");
  h_finish(h);

  h = login_case(m, login_closed, "login, server closes after the response", XEP0077_ERR_CLOSED,
                 1);
  h_finish(h);

  /* bad arguments never touch the wire */
  h = h_new(m, unverified);
  CHECK_RC(h_init(h), 0, "init");
  CHECK_RC(h_connect(h, 0), 0, "connect");
  CHECK_RC(xep0077_login_start(&h->c, "", PW, 0), XEP0077_ERR_ARG, "empty username");
  CHECK_RC(xep0077_login_start(&h->c, USER, NULL, 0), XEP0077_ERR_ARG, "NULL password");
  CHECK_RC(xep0077_login_start(&h->c, "a\x01", PW, 0), XEP0077_ERR_ARG, "control char in user");
  CHECK_RC(xep0077_login_start(&h->c, USER, "\xff\xfe", 0), XEP0077_ERR_ARG,
           "password not UTF-8");
  h_finish(h);
}

/* ---- timeouts on the fake clock ------------------------------------------ */
static const step silent_after_header[] = { CLI(C_HDR), END };
static const step silent_after_auth[] = {
  CONNECT_STEPS(PROSODY_FEATURES), CLI(C_AUTH("SCRAM-SHA-1")), END
};

static void t_timeouts(const mode *m)
{
  harness *h;
  unsigned long t0, deadline;
  int rc = XEP0077_PENDING;

  /* connect, 5000 ms, the server never answers the header */
  h = h_new(m, silent_after_header);
  CHECK_RC(h_init(h), 0, "init");
  t0 = h->now;
  deadline = t0 + 5000;
  if (m->blocking) {
    rc = xep0077_connect(&h->c, 5000);
    CHECK_RC(rc, XEP0077_ERR_TIMEOUT, "connect to a silent server");
    CHECK(h->now == deadline, "blocking connect timed out at +%lu ms, deadline +5000",
          h->now - t0);
  } else {
    CHECK_RC(xep0077_connect_start(&h->c, 5000), XEP0077_PENDING, "connect_start");
    for (h->now = t0; h->now < deadline; h->now += h->now + 250 < deadline ? 250 : 1) {
      rc = xep0077_poll(&h->c);
      if (rc != XEP0077_PENDING) break;
    }
    CHECK(h->now == deadline, "connect ended at +%lu ms, before its deadline +5000 (%s)",
          h->now - t0, xep0077_status_name(rc));
    CHECK_RC(xep0077_poll(&h->c), XEP0077_ERR_TIMEOUT, "poll at the deadline");
  }
  CHECK_RC(xep0077_poll(&h->c), 0, "poll after the timeout");
  h_finish(h);

  /* cfg.timeout_ms = 0 means 30000 */
  h = h_new(m, silent_after_header);
  CHECK_RC(h_init(h), 0, "init");
  t0 = h->now;
  if (m->blocking) {
    CHECK_RC(xep0077_connect(&h->c, 0), XEP0077_ERR_TIMEOUT, "connect, default timeout");
    CHECK(h->now == t0 + 30000, "default timeout after %lu ms", h->now - t0);
  } else {
    CHECK_RC(xep0077_connect_start(&h->c, 0), XEP0077_PENDING, "connect_start");
    h->now = t0 + 29999;
    CHECK_RC(xep0077_poll(&h->c), XEP0077_PENDING, "poll at +29999 ms");
    h->now = t0 + 30000;
    CHECK_RC(xep0077_poll(&h->c), XEP0077_ERR_TIMEOUT, "poll at +30000 ms");
  }
  h_finish(h);

  /* a clock about to wrap around */
  h = h_new(m, silent_after_header);
  h->now = (unsigned long)-2000;
  CHECK_RC(h_init(h), 0, "init");
  if (m->blocking) {
    CHECK_RC(xep0077_connect(&h->c, 5000), XEP0077_ERR_TIMEOUT, "connect across the wrap");
    CHECK(h->now == 3000, "timed out at %lu, expected 3000 after the wrap", h->now);
  } else {
    CHECK_RC(xep0077_connect_start(&h->c, 5000), XEP0077_PENDING, "connect_start");
    CHECK_RC(xep0077_poll(&h->c), XEP0077_PENDING, "poll just before the wrap");
    h->now = 10;
    CHECK_RC(xep0077_poll(&h->c), XEP0077_PENDING, "poll just after the wrap");
    h->now = 2999;
    CHECK_RC(xep0077_poll(&h->c), XEP0077_PENDING, "poll 1 ms before the deadline");
    h->now = 3000;
    CHECK_RC(xep0077_poll(&h->c), XEP0077_ERR_TIMEOUT, "poll at the deadline");
  }
  h_finish(h);

  /* a TLS handshake that never completes */
  h = h_new(m, tls_only);
  h->hs_wants = 1 << 30;
  CHECK_RC(h_init(h), 0, "init");
  t0 = h->now;
  CHECK_RC(h_connect(h, 4000), XEP0077_ERR_TIMEOUT, "connect, handshake never ends");
  CHECK(h->now == t0 + 4000, "handshake timeout after %lu ms, expected 4000", h->now - t0);
  CHECK(!h->tls_up && !h->c.secure, "TLS up");
  h_finish(h);

  /* login: the server never answers <auth> */
  h = h_new(m, silent_after_auth);
  CHECK_RC(h_init(h), 0, "init");
  CHECK_RC(h_connect(h, 0), 0, "connect");
  t0 = h->now;
  if (m->blocking) {
    CHECK_RC(xep0077_login(&h->c, USER, PW, 3000), XEP0077_ERR_TIMEOUT, "login, silent server");
    CHECK(h->now == t0 + 3000, "login timed out after %lu ms, expected 3000", h->now - t0);
  } else {
    CHECK_RC(xep0077_login_start(&h->c, USER, PW, 3000), XEP0077_PENDING, "login_start");
    CHECK_RC(xep0077_poll(&h->c), XEP0077_PENDING, "poll at +0 ms");
    h->now = t0 + 2999;
    CHECK_RC(xep0077_poll(&h->c), XEP0077_PENDING, "poll at +2999 ms");
    h->now = t0 + 3000;
    CHECK_RC(xep0077_poll(&h->c), XEP0077_ERR_TIMEOUT, "poll at +3000 ms");
  }
  h_finish(h);
}

/* A pump that hits the deadline while still busy returns TIMEOUT: checked
   separately so the pump's 1 ms per poll can't hide an early timeout. */
static void t_timeout_exact(const mode *m)
{
  harness *h = h_new(m, silent_after_auth);
  unsigned long t0;
  int rc = XEP0077_PENDING;
  unsigned long i;
  CHECK_RC(h_init(h), 0, "init");
  CHECK_RC(h_connect(h, 0), 0, "connect");
  t0 = h->now;
  CHECK_RC(xep0077_login_start(&h->c, USER, PW, 3000), XEP0077_PENDING, "login_start");
  for (i = 0; i < 3000 && rc == XEP0077_PENDING; i++) {
    h->now = t0 + i;
    rc = xep0077_poll(&h->c);
  }
  CHECK(rc == XEP0077_PENDING, "login ended with %s at +%lu ms, before its deadline",
        xep0077_status_name(rc), i - 1);
  h->now = t0 + 3000;
  CHECK_RC(xep0077_poll(&h->c), XEP0077_ERR_TIMEOUT, "poll at +3000 ms");
  CHECK(!h->c.authenticated, "authenticated");
  h_finish(h);
}

/* ======================================================================
   4. IQ tracking
   ====================================================================== */
static char g_events[2048];
static int g_fn_ret;

static int iq_record(xep0077 *c, int ev)
{
  xep0077_xml *p = &c->xml;
  size_t l = strlen(g_events);
  if (ev == XEP0077_XML_START) {
    const char *from = xep0077_xml_attr(p, "", "from");
    snprintf(g_events + l, sizeof g_events - l, "<%s%s%s>", p->name,
             p->depth == 1 && from ? " from=" : "", p->depth == 1 && from ? from : "");
  } else if (ev == XEP0077_XML_TEXT) {
    snprintf(g_events + l, sizeof g_events - l, "%.*s", (int)p->text_len, p->text);
  } else if (ev == XEP0077_XML_END) {
    snprintf(g_events + l, sizeof g_events - l, "</%s>", p->name);
  } else if (ev == XEP0077_XML_STANZA_END) {
    snprintf(g_events + l, sizeof g_events - l, "|");
    return g_fn_ret;
  }
  return 0;
}

/* the register query to svc.example, as the registration layer sends it */
static int iq_query(harness *h, const char *type, const char *to)
{
  xep0077_xmlw *w;
  int rc = xep0077_iq_begin(&h->c, type, to);
  if (rc) return rc;
  w = xep0077_writer(&h->c);
  xep0077_xmlw_start(w, "query");
  xep0077_xmlw_attr(w, "xmlns", "jabber:iq:register");
  g_events[0] = 0;
  return xep0077_iq_send(&h->c, iq_record, h, 0);
}

#define LOGIN_STEPS CONNECT_STEPS(PROSODY_FEATURES), SCRAM_STEPS("SCRAM-SHA-1"), BIND_STEPS
#define C_QUERY_SVC "<iq type='get' id='*' to='svc.example'><query xmlns='jabber:iq:register'/></iq>"

static const step iq_script[] = {
  LOGIN_STEPS,
  CLI(C_QUERY_SVC),
  /* ignored: an id we never used, the right id from the wrong entity or
     with no from at all, a message, a presence */
  SRV("<iq type='result' id='spoofed' from='svc.example'><query "
      "xmlns='jabber:iq:register'><username>evil1</username></query></iq>"),
  SRV("<iq type='result' id='$ID' from='evil.example'><query "
      "xmlns='jabber:iq:register'><username>evil2</username></query></iq>"),
  SRV("<iq type='result' id='$ID'><query xmlns='jabber:iq:register'><username>evil3</username>"
      "</query></iq>"),
  SRV("<iq type='error' id='$ID' from='" JID "'><error type='cancel'><conflict "
      "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"),
  SRV("<message from='a@b/c' type='chat' id='$ID'><body>hi</body></message>"
      "<presence from='a@b/c'/><iq type='set' id='$ID' from='svc.example'/>"),
  PAUSE,
  SRV("<iq type='result' id='$ID' from='svc.example'><query xmlns='jabber:iq:register'>"
      "<registered/><username>" USER "</username></query></iq>"),
  /* the same again: no operation is waiting for it now */
  SRV("<iq type='result' id='$ID' from='svc.example'/>"),
  /* the set with our id was a request: it got its error reply */
  CLI("<iq type='error' id='*' to='svc.example'><error type='cancel'><service-unavailable "
      "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"),
  /* an error reply */
  CLI(C_QUERY_SVC),
  SRV("<iq type='error' id='$ID' from='svc.example'><error type='cancel' code='503'>"
      "<service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text "
      "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>Not here</text></error></iq>"),
  /* to the server itself (no 'to'): from absent, the domain, our bare or full
     JID is the server; anyone else is not */
  CLI("<iq type='get' id='*'><query xmlns='jabber:iq:register'/></iq>"),
  SRV("<iq type='result' id='$ID' from='other@localhost'/>"),
  SRV("<iq type='result' id='$ID' from='alicef84961@localhost'><query "
      "xmlns='jabber:iq:register'/></iq>"),
  /* an unsolicited request gets service-unavailable */
  SRV("<iq type='get' id='u1' from='x@y/z'><ping xmlns='urn:xmpp:ping'/></iq>"),
  CLI("<iq type='error' id='u1' to='x@y/z'><error type='cancel'><service-unavailable "
      "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"),
  CLOSE_STEPS,
  END
};

static void t_iq(const mode *m)
{
  harness *h = h_new(m, iq_script);
  int rc, i, at_pause;
  g_fn_ret = 0;
  CHECK_RC(h_init(h), 0, "init");
  CHECK_RC(h_connect(h, 0), 0, "connect");
  CHECK_RC(h_login(h, USER, PW, 0), 0, "login");
  CHECK_RC(iq_query(h, "get", "svc.example"), XEP0077_PENDING, "iq_send");
  CHECK_RC(xep0077_iq_begin(&h->c, "get", NULL), XEP0077_ERR_STATE, "iq_begin while one runs");
  for (at_pause = 0; iq_script[at_pause].kind != ST_PAUSE; at_pause++) {}
  if (!m->blocking) {
    /* everything before the pause arrives: the operation stays pending */
    for (i = 0, rc = XEP0077_PENDING; i < 400 && rc == XEP0077_PENDING; i++) {
      rc = xep0077_poll(&h->c);
      h->now++;
    }
    CHECK_RC(rc, XEP0077_PENDING, "the IQ after spoofed replies");
    CHECK(h->at == at_pause && h->spos == h->slen, "the script did not reach its pause (%d)",
          h->at);
    CHECK_STR(g_events, "", "events handed to fn by spoofed replies");
  }
  h->released = 1;
  rc = h_run(h, XEP0077_PENDING);
  CHECK_RC(rc, 0, "the IQ");
  CHECK_STR(g_events,
            "<iq from=svc.example><query><registered></registered><username>" USER
            "</username></query>|",
            "events of the reply");

  CHECK_RC(iq_query(h, "get", "svc.example"), XEP0077_PENDING, "iq_send (error)");
  rc = h_run(h, XEP0077_PENDING);
  CHECK_RC(rc, XEP0077_ERR_IQ, "the IQ answered with type='error'");
  CHECK_STR(h->c.error.condition, "service-unavailable", "error.condition");
  CHECK_STR(h->c.error.type, "cancel", "error.type");
  CHECK(h->c.error.code == 503, "error.code %d", h->c.error.code);
  CHECK_STR(h->c.error.text, "Not here", "error.text");
  CHECK(strncmp(g_events, "<iq from=svc.example><error>", 28) == 0,
        "fn did not see the error reply: %s", g_events);

  CHECK_RC(iq_query(h, "get", NULL), XEP0077_PENDING, "iq_send (to the server)");
  rc = h_run(h, XEP0077_PENDING);
  CHECK_RC(rc, 0, "the IQ to the server");
  CHECK_STR(g_events, "<iq from=alicef84961@localhost><query></query>|",
            "events (bare JID reply)");
  CHECK(h->c.error.condition[0] == 0, "error.condition %s", h->c.error.condition);

  {
    int at;
    for (at = 0; iq_script[at].kind != ST_C || strncmp(iq_script[at].text, "<iq type='error' id='u1'", 24);
         at++) {}
    CHECK_RC(h_idle_until(h, at + 1), 0, "idle polls answering the ping");
  }
  CHECK_RC(h_close(h, 0), 0, "close");
  h_finish(h);
}

/* The handler returns something else than 0 for a reply. */
static const step iq_simple[] = {
  LOGIN_STEPS,
  CLI(C_QUERY_SVC),
  SRV("<iq type='result' id='$ID' from='svc.example'/>"),
  END
};

static void t_iq_fn_return(const mode *m)
{
  harness *h = H_LOGGED_IN(m, iq_simple);
  int rc;
  g_fn_ret = XEP0077_ERR_PROTOCOL;
  CHECK_RC(iq_query(h, "get", "svc.example"), XEP0077_PENDING, "iq_send");
  rc = h_run(h, XEP0077_PENDING);
  CHECK_RC(rc, XEP0077_ERR_PROTOCOL, "the IQ whose fn returned ERR_PROTOCOL");
  h_finish(h);

  /* fn returns 1 (the header: "or ERR_IQ for type='error' ... when fn
     returns 1 for it"): whatever it means, the reply is in and the
     operation must end, not wait for its deadline. */
  h = H_LOGGED_IN(m, iq_simple);
  g_fn_ret = 1;
  CHECK_RC(iq_query(h, "get", "svc.example"), XEP0077_PENDING, "iq_send");
  {
    unsigned long t0 = h->now;
    rc = h_run(h, XEP0077_PENDING);
    CHECK(rc != XEP0077_ERR_TIMEOUT && rc != -9999,
          "fn returned 1 at the reply's end: the IQ ended with %s after %lu ms (the reply "
          "had arrived)",
          rc == -9999 ? "a spin" : xep0077_status_name(rc), h->now - t0);
  }
  h->spin = 0;
  g_fn_ret = 0;
  h_finish(h);
}

/* prosody on account removal: the result, then a stream error, one write. */
static const step iq_then_stream_error[] = {
  LOGIN_STEPS,
  CLI(C_QUERY_SVC),
  SRV("<iq type='result' id='$ID' from='svc.example' to='" JID "'/><stream:error>"
      "<not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text "
      "xmlns='urn:ietf:params:xml:ns:xmpp-streams'>Account deleted</text></stream:error>"
      "</stream:stream>"),
  END
};

static void t_iq_result_then_stream_error(const mode *m)
{
  harness *h = H_LOGGED_IN(m, iq_then_stream_error);
  int rc;
  g_fn_ret = 0;
  h->maxchunk = 4096; /* the reply and the error in one read, as prosody does */
  CHECK_RC(iq_query(h, "get", "svc.example"), XEP0077_PENDING, "iq_send");
  rc = h_run(h, XEP0077_PENDING);
  CHECK_STR(g_events, "<iq from=svc.example>|", "events of the reply");
  CHECK_RC(rc, 0, "the IQ whose result arrived just before a stream error");
  if (rc == 0) { /* then the stream error is news for the next poll */
    CHECK_RC(xep0077_poll(&h->c), XEP0077_ERR_STREAM, "poll after the IQ");
    CHECK_STR(h->c.error.condition, "not-authorized", "error.condition");
    CHECK_STR(h->c.error.text, "Account deleted", "error.text");
  }
  h_finish(h);
}

/* ======================================================================
   5. The connection drops at every byte offset of the happy session
   ====================================================================== */
static void cut_everywhere(const mode *m, const step *script, const char *auth, const char *user,
                           const char *resource)
{
  static char full[32768];
  size_t n, k;
  size_t connect_end, login_end;
  int rcs[3], bad = 0, at;
  unsigned long outcome[4] = { 0, 0, 0, 0 }; /* connect / login / close failed, all ok */
  harness *h = h_new(m, script);
  h->fixed_rnd = rfc5802_rnd;
  h->fixed_rnd_len = sizeof rfc5802_rnd;
  h->iter = 4096;
  h->cfg.resource = resource;
  CHECK_RC(h_init(h), 0, "init");
  happy_session(h, user, &rcs[0], &rcs[1], &rcs[2]);
  CHECK(rcs[0] == 0 && rcs[1] == 0 && rcs[2] == 0, "the uncut session: %s %s %s",
        xep0077_status_name(rcs[0]), xep0077_status_name(rcs[1]), xep0077_status_name(rcs[2]));
  h_finish(h);
  n = h->slen;
  memcpy(full, h->sbuf, n);
  /* where connect and login may first succeed: after the post-TLS features
     and after the bind result */
  for (at = 0; script[at].kind != ST_C || strcmp(script[at].text, auth);
       at++) {}
  connect_end = h->s_end[at - 1];
  for (at = 0; script[at].kind != ST_C || strcmp(script[at].text, C_END); at++) {}
  login_end = h->s_end[at - 1];

  for (k = 0; k <= n; k++) {
    char name[64];
    h = h_new(m, script);
    h->fixed_rnd = rfc5802_rnd;
    h->fixed_rnd_len = sizeof rfc5802_rnd;
    h->iter = 4096;
    h->cut = (long)k;
    h->cfg.resource = resource;
    if (h_init(h)) break;
    happy_session(h, user, &rcs[0], &rcs[1], &rcs[2]);
    snprintf(name, sizeof name, "cut at %lu of %lu", (unsigned long)k, (unsigned long)n);
    /* the same bytes as the uncut session, as far as they go */
    if (memcmp(h->sbuf, full, h->slen < n ? h->slen : n) || h->script_failed || h->spin ||
        !(rcs[0] == 0 || rcs[0] == XEP0077_ERR_CLOSED) ||
        !(rcs[0] || rcs[1] == 0 || rcs[1] == XEP0077_ERR_CLOSED) ||
        !(rcs[0] || rcs[1] || rcs[2] == 0) || (rcs[0] == 0 && k < connect_end) ||
        (rcs[1] == 0 && k < login_end)) {
      if (bad++ < 5)
        CHECK(0, "%s: connect %s, login %s, close %s%s%s", name, xep0077_status_name(rcs[0]),
              xep0077_status_name(rcs[1]), xep0077_status_name(rcs[2]),
              h->spin ? " (spun)" : "", h->script_failed ? h->err : "");
    }
    if (rcs[0] == 0 && rcs[1] == 0) check_secrets(h);
    else if (rcs[0] == 0) check_memory(h);
    outcome[rcs[0] ? 0 : rcs[1] ? 1 : rcs[2] ? 2 : 3]++;
  }
  if (g_verbose)
    printf("   %lu offsets: connect failed %lu, login failed %lu, close failed %lu, all ok %lu; "
           "connect may succeed from %lu, login from %lu\n",
           (unsigned long)n + 1, outcome[0], outcome[1], outcome[2], outcome[3],
           (unsigned long)connect_end, (unsigned long)login_end);
  CHECK(bad == 0, "%d of %lu cut offsets misbehaved", bad, (unsigned long)n + 1);
}

static void t_cut_everywhere(const mode *m)
{
  cut_everywhere(m, happy_sha1, C_AUTH("SCRAM-SHA-1"), USER, "probe");
}

static void t_cut_everywhere_plain(const mode *m)
{
  cut_everywhere(m, happy_plain, C_AUTH("PLAIN"), "plainusere1d5cf", NULL);
}

/* ======================================================================
   6/7. Logging and memory after failures
   ====================================================================== */
/* The transport is stuck (send always WANT_WRITE) while <auth> PLAIN waits
   in the output buffer; then the login gives up. */
static const step plain_stuck[] = { CONNECT_STEPS(S_FEAT_SASL(MECH("PLAIN"))), PAUSE, CLOSE };
static const step plain_stuck_silent[] = { CONNECT_STEPS(S_FEAT_SASL(MECH("PLAIN"))), END };

static void t_hygiene_unsent(const mode *m)
{
  static const char raw[] = "\0" USER "\0" PW;
  char b64[200];
  harness *h;
  int rc;
  b64e(raw, sizeof raw - 1, b64, sizeof b64);

  h = h_new(m, plain_stuck);
  CHECK_RC(h_init(h), 0, "init");
  CHECK_RC(h_connect(h, 0), 0, "connect");
  h->send_stuck = 1;
  h->release_on_send = 1; /* the server hangs up once <auth> waits to go out */
  rc = h_login(h, USER, PW, 0);
  CHECK_RC(rc, XEP0077_ERR_CLOSED, "login, server closes while <auth> is unsent");
  CHECK(!find_bytes(&h->c, sizeof h->c, b64, strlen(b64)),
        "after the failed login, base64(\\0user\\0password) is still in xep0077 (unsent <auth>)");
  h->user = NULL; /* checked just above: h_finish need not say it again */
  h_finish(h);

  h = h_new(m, plain_stuck_silent);
  CHECK_RC(h_init(h), 0, "init");
  CHECK_RC(h_connect(h, 0), 0, "connect");
  h->send_stuck = 1;
  if (m->blocking) {
    rc = xep0077_login(&h->c, USER, PW, 50);
  } else {
    CHECK_RC(xep0077_login_start(&h->c, USER, PW, 50), XEP0077_PENDING, "login_start");
    h->now += 50;
    rc = xep0077_poll(&h->c);
  }
  CHECK_RC(rc, XEP0077_ERR_TIMEOUT, "login, transport stuck");
  CHECK(!find_bytes(&h->c, sizeof h->c, b64, strlen(b64)),
        "after the timed-out login, base64(\\0user\\0password) is still in xep0077 (unsent "
        "<auth>)");
  h->user = NULL;
  h_finish(h);
}

/* ======================================================================
   Runner
   ====================================================================== */
static const mode MODES[] = {
  { 1, 0, 1 }, { 0, 0, 2 }, { 1, 0, 3 }, { 0, 0, 4 },
  { 0, 0, 5 }, { 1, 0, 6 }, { 1, 1, 7 }, { 0, 1, 8 },
};
#define NMODES (sizeof MODES / sizeof MODES[0])

static void run(const char *name, void (*fn)(const mode *), size_t nmodes)
{
  size_t i;
  for (i = 0; i < nmodes && i < NMODES; i++) {
    const mode *m = &MODES[i];
    snprintf(g_test, sizeof g_test, "%s [%s, %s, seed %u]", name,
             m->blocking ? "blocking" : "pump",
             m->byte_mode ? "1-byte chunks" : "random chunks", m->seed);
    if (g_verbose) printf("-- %s\n", g_test);
    fn(m);
  }
}

int main(int argc, char **argv)
{
  int rc;
  g_verbose = argc > 1 && !strcmp(argv[1], "-v");
  snprintf(g_test, sizeof g_test, "mbedtls glue");
  rc = xep0077_mbedtls_init(&g_mt, test_ca_pem, NULL);
  CHECK_RC(rc, 0, "xep0077_mbedtls_init with a PEM CA");
  if (rc) {
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return 1;
  }
  {
    static xep0077_mbedtls t;
    CHECK_RC(xep0077_mbedtls_init(&t, NULL, NULL), XEP0077_ERR_ARG, "mbedtls_init without CA");
    xep0077_mbedtls_free(&t);
    CHECK_RC(xep0077_mbedtls_init(&t, "not a certificate", NULL), XEP0077_ERR_ARG,
             "mbedtls_init with a bad PEM");
    xep0077_mbedtls_free(&t);
  }
  b64d("fyko+d2lbbFgONRv9qkxdawL", 24, rfc5802_rnd, sizeof rfc5802_rnd);

  snprintf(g_test, sizeof g_test, "scram vectors");
  t_scram_vectors();
  run("happy SCRAM-SHA-1 (prosody 0.12)", t_happy_sha1, NMODES);
  run("happy SCRAM-SHA-256 preferred", t_happy_sha256, NMODES);
  run("happy PLAIN only", t_happy_plain, NMODES);
  run("PLAIN over unverified TLS, allowed", t_plain_unverified_allowed, 2);
  run("direct TLS", t_direct_tls, NMODES);
  run("stream prefix s: and username a,b=c", t_other_prefix, NMODES);
  run("API misuse", t_misuse, 2);
  run("close", t_close, NMODES);
  run("stream header too big", t_header_too_big, 2);
  run("RFC 5802 end to end", t_rfc5802, NMODES);
  run("SCRAM failures", t_scram_failures, 4);
  run("SCRAM success without a challenge", t_scram_early_success, 2);
  run("connect failures", t_connect_failures, NMODES);
  run("unverified TLS", t_unverified_tls, NMODES);
  run("login failures", t_login_failures, NMODES);
  run("timeouts", t_timeouts, 2);
  run("timeout exactly at the deadline", t_timeout_exact, 1);
  run("IQ tracking", t_iq, NMODES);
  run("IQ fn return values", t_iq_fn_return, 2);
  run("IQ result then stream error", t_iq_result_then_stream_error, 2);
  run("hygiene with unsent output", t_hygiene_unsent, 2);
  run("disconnect at every byte", t_cut_everywhere, 2);
  run("disconnect at every byte, PLAIN", t_cut_everywhere_plain, 2);
  snprintf(g_test, sizeof g_test, "disconnect at every byte, 1-byte chunks");
  {
    static const mode one = { 0, 1, 9 };
    t_cut_everywhere(&one);
  }

  xep0077_mbedtls_free(&g_mt);
  printf("%d passed, %d failed\n", g_pass, g_fail);
  return g_fail ? 1 : 0;
}
