/* tests/hostile.c -- xep0077.h against a scripted, misbehaving XMPP server.

     hostile DIR [SCENARIO...]

   DIR holds the certificates `tests/prosody.sh start DIR` generates (ca.pem,
   server.crt/.key, wrongname.crt/.key, other.crt/.key); prosody itself need
   not be running. With scenario names, only those run. Timeouts are 5 s
   (1.5 s in the timeout scenarios); HOSTILE_SLOW=N multiplies them, for a
   machine where even valgrind's TLS handshakes take seconds.

   Each scenario starts a small server in a thread (mbedTLS server side,
   127.0.0.1, ephemeral port) that speaks just enough XMPP -- stream header,
   features, <proceed/>, TLS, SCRAM-SHA-1 -- and then misbehaves in one way.
   The client is the library's blocking API (connect, then login) over
   tests/net.h, with the timeout the scenario gives; its wait callback
   returns after 50 ms at most (always allowed), except in the strict_wait_*
   and tls_records_buffered scenarios, which test the library's own wake-up
   logic and let it sleep as long as it asks. For every scenario:
     - the call ends with the documented status, within timeout + 1 s;
     - every byte the server received before its TLS handshake completed
       (plaintext, and the TLS handshake records) holds no "<auth", no
       password, no "jabber:iq:register";
     - the server's own checks of what the client sent (the SCRAM proof, the
       order of messages) found nothing wrong.
   Nothing crashes or leaks: the runner also runs this under ASan and
   valgrind. Every check prints "FAIL scenario: detail"; the last line is
   "N passed, N failed". */
#define XEP0077_IMPLEMENTATION
#define XEP0077_MBEDTLS
#include "xep0077.h"
#include "net.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/time.h>

#include <mbedtls/base64.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/md.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/ssl.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>

static const char *dir;
static const char *PASSWORD = "Hostile-Secret-pw-9f8e";
static const char *USERNAME = "alice";

#define NS_SASL "urn:ietf:params:xml:ns:xmpp-sasl"
#define HDR                                                                              \
  "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "                           \
  "xmlns:stream='http://etherx.jabber.org/streams' id='hostile-1' from='localhost' "     \
  "version='1.0'>"
#define F_STARTTLS                                                                       \
  "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>"       \
  "</starttls></stream:features>"
#define F_SASL                                                                           \
  "<stream:features><mechanisms xmlns='" NS_SASL "'><mechanism>SCRAM-SHA-1</mechanism>" \
  "</mechanisms><register xmlns='http://jabber.org/features/iq-register'/>"              \
  "</stream:features>"
#define F_BIND                                                                           \
  "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><required/></bind>"   \
  "</stream:features>"
#define PROCEED "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"

/* ======================================================================
   The scripted server
   ====================================================================== */
#define SRV_IN_CAP (1u << 20)

typedef struct srv srv;
typedef void (*script_fn)(srv *s);

struct srv {
  int lfd, fd, port;
  script_fn script;
  const char *cert; /* basename in DIR: server, other, wrongname */
  /* TLS, server side */
  mbedtls_ssl_context ssl;
  mbedtls_ssl_config conf;
  mbedtls_x509_crt crt;
  mbedtls_pk_context key;
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  int tls_on, tls_done, tls_err;
  int direct; /* XEP-0368: the handshake comes first */
  /* Every byte received before the handshake completed, as it arrived. */
  unsigned char plain[65536];
  size_t plain_len;
  /* The application bytes received (plaintext, then decrypted), for
     srv_expect; post_tls counts the decrypted ones. */
  char *in;
  size_t in_len, in_pos, post_tls, mark;
  /* output shaping: cork collects raw writes to send them at once;
     send_limit hangs up after that many raw bytes */
  int cork;
  unsigned char corkbuf[65536];
  size_t cork_len, send_limit, sent_raw, sent_app;
  /* scenario knobs and results */
  const char *iter;     /* SCRAM iteration count, as sent */
  int sig_mode;         /* 0 good, 1 wrong, 2 no v=, 3 zero v= without challenge */
  int nonce_bad;        /* server nonce not extending the client's */
  int got_response;     /* the client answered the challenge */
  char note[512];       /* what the server found wrong with the client */
};

static void srv_note(srv *s, const char *fmt, ...)
{
  va_list ap;
  size_t n = strlen(s->note);
  if (n + 4 >= sizeof s->note) return;
  if (n) { strcat(s->note, "; "); n += 2; }
  va_start(ap, fmt);
  vsnprintf(s->note + n, sizeof s->note - n, fmt, ap);
  va_end(ap);
}

static void srv_sleep(unsigned long ms)
{
  struct timespec ts;
  ts.tv_sec = (time_t)(ms / 1000);
  ts.tv_nsec = (long)(ms % 1000) * 1000000L;
  nanosleep(&ts, NULL);
}

/* Raw socket I/O, also the mbedTLS BIO of the server. */
static int srv_raw_send(void *ctx, const unsigned char *b, size_t n)
{
  srv *s = (srv *)ctx;
  ssize_t r;
  if (s->fd < 0) return MBEDTLS_ERR_NET_SEND_FAILED;
  if (s->cork) {
    if (s->cork_len + n > sizeof s->corkbuf) return MBEDTLS_ERR_NET_SEND_FAILED;
    memcpy(s->corkbuf + s->cork_len, b, n);
    s->cork_len += n;
    return (int)n;
  }
  if (s->send_limit) {
    if (s->sent_raw >= s->send_limit) return MBEDTLS_ERR_NET_SEND_FAILED;
    if (n > s->send_limit - s->sent_raw) n = s->send_limit - s->sent_raw;
  }
  r = send(s->fd, b, n, MSG_NOSIGNAL);
  if (r < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
                        ? MBEDTLS_ERR_SSL_WANT_WRITE : MBEDTLS_ERR_NET_SEND_FAILED;
  s->sent_raw += (size_t)r;
  return (int)r;
}

static int srv_raw_recv(void *ctx, unsigned char *b, size_t n)
{
  srv *s = (srv *)ctx;
  ssize_t r;
  if (s->fd < 0) return MBEDTLS_ERR_NET_RECV_FAILED;
  r = recv(s->fd, b, n, 0);
  if (r < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
                        ? MBEDTLS_ERR_SSL_WANT_READ : MBEDTLS_ERR_NET_RECV_FAILED;
  if (!s->tls_done) { /* the record the test asserts on */
    size_t k = (size_t)r;
    if (k > sizeof s->plain - s->plain_len) k = sizeof s->plain - s->plain_len;
    memcpy(s->plain + s->plain_len, b, k);
    s->plain_len += k;
  }
  return (int)r;
}

static void srv_uncork(srv *s)
{
  size_t off = 0;
  int tries = 0;
  s->cork = 0;
  while (off < s->cork_len && tries++ < 1000) {
    int r = srv_raw_send(s, s->corkbuf + off, s->cork_len - off);
    if (r > 0) off += (size_t)r;
    else if (r != MBEDTLS_ERR_SSL_WANT_WRITE) break;
  }
  s->cork_len = 0;
}

/* One read (TLS or raw): > 0 bytes, 0 nothing yet (a 50 ms slice), -1 EOF. */
static int srv_read1(srv *s)
{
  unsigned char b[4096];
  int n;
  if (s->fd < 0) return -1;
  n = s->tls_on ? mbedtls_ssl_read(&s->ssl, b, sizeof b) : srv_raw_recv(s, b, sizeof b);
  if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE) return 0;
  if (n <= 0) return -1;
  if (s->tls_on) s->post_tls += (size_t)n;
  if (s->in_len + (size_t)n < SRV_IN_CAP) {
    memcpy(s->in + s->in_len, b, (size_t)n);
    s->in_len += (size_t)n;
    s->in[s->in_len] = 0;
  }
  return n;
}

static const char *find(const char *h, size_t hl, const char *needle)
{
  size_t nl = strlen(needle), i;
  if (nl > hl) return NULL;
  for (i = 0; i + nl <= hl; i++)
    if (h[i] == needle[0] && !memcmp(h + i, needle, nl)) return h + i;
  return NULL;
}

/* Read until needle arrives (then consume through it) or ms pass / EOF. */
static int srv_expect(srv *s, const char *needle, unsigned long ms)
{
  unsigned long end = net_now_ms(NULL) + ms;
  for (;;) {
    const char *p = find(s->in + s->in_pos, s->in_len - s->in_pos, needle);
    if (p) {
      s->in_pos = (size_t)(p - s->in) + strlen(needle);
      return 1;
    }
    if ((long)(net_now_ms(NULL) - end) >= 0 || srv_read1(s) < 0) return 0;
  }
}

/* The client's stream header, through its '>'. */
static int srv_open(srv *s)
{
  return srv_expect(s, "<stream:stream", 10000) && srv_expect(s, ">", 10000);
}

static int srv_write(srv *s, const void *data, size_t n)
{
  const unsigned char *p = (const unsigned char *)data;
  unsigned long end = net_now_ms(NULL) + 10000;
  size_t off = 0;
  while (off < n) {
    int r = s->tls_on ? mbedtls_ssl_write(&s->ssl, p + off, n - off) : srv_raw_send(s, p + off, n - off);
    if (r > 0) off += (size_t)r;
    else if ((r != MBEDTLS_ERR_SSL_WANT_WRITE && r != MBEDTLS_ERR_SSL_WANT_READ) ||
             (long)(net_now_ms(NULL) - end) >= 0)
      return -1;
  }
  s->sent_app += n;
  return 0;
}

static int srv_puts(srv *s, const char *str) { return srv_write(s, str, strlen(str)); }

/* Read and keep everything until the client closes (or ms pass). */
static void srv_drain(srv *s, unsigned long ms)
{
  unsigned long end = net_now_ms(NULL) + ms;
  while ((long)(net_now_ms(NULL) - end) < 0 && srv_read1(s) >= 0) {
  }
}

/* Close at once: FIN (RST if the client's bytes are still unread). */
static void srv_hangup(srv *s)
{
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
}

static int srv_tls(srv *s)
{
  char crt[600], key[600];
  unsigned long end;
  int rc;
  snprintf(crt, sizeof crt, "%s/%s.crt", dir, s->cert);
  snprintf(key, sizeof key, "%s/%s.key", dir, s->cert);
  if ((rc = mbedtls_x509_crt_parse_file(&s->crt, crt)) != 0 ||
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
      (rc = mbedtls_pk_parse_keyfile(&s->key, key, NULL, mbedtls_ctr_drbg_random, &s->drbg)) != 0 ||
#else
      (rc = mbedtls_pk_parse_keyfile(&s->key, key, NULL)) != 0 ||
#endif
      (rc = mbedtls_ssl_config_defaults(&s->conf, MBEDTLS_SSL_IS_SERVER,
                                        MBEDTLS_SSL_TRANSPORT_STREAM,
                                        MBEDTLS_SSL_PRESET_DEFAULT)) != 0) {
    srv_note(s, "server TLS setup failed (-0x%04x) for %s", (unsigned)-rc, crt);
    return rc;
  }
  mbedtls_ssl_conf_rng(&s->conf, mbedtls_ctr_drbg_random, &s->drbg);
  if ((rc = mbedtls_ssl_conf_own_cert(&s->conf, &s->crt, &s->key)) != 0 ||
      (rc = mbedtls_ssl_setup(&s->ssl, &s->conf)) != 0) {
    srv_note(s, "server TLS setup failed (-0x%04x)", (unsigned)-rc);
    return rc;
  }
  mbedtls_ssl_set_bio(&s->ssl, s, srv_raw_send, srv_raw_recv, NULL);
  end = net_now_ms(NULL) + 20000; /* valgrind makes ECDHE slow */
  while ((rc = mbedtls_ssl_handshake(&s->ssl)) != 0) {
    if ((rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE) ||
        (long)(net_now_ms(NULL) - end) >= 0) {
      s->tls_err = rc;
      return rc;
    }
  }
  s->tls_on = s->tls_done = 1;
  return 0;
}

/* Stream header, <starttls/>, <proceed/>, handshake. 1 when TLS is up. */
static int srv_starttls(srv *s)
{
  if (!srv_open(s)) { srv_note(s, "no stream header from the client"); return 0; }
  srv_puts(s, HDR F_STARTTLS);
  if (!srv_expect(s, "<starttls", 10000) || !srv_expect(s, "/>", 10000)) {
    srv_note(s, "no <starttls/> from the client");
    return 0;
  }
  srv_puts(s, PROCEED);
  s->mark = s->in_len;
  return srv_tls(s) == 0;
}

/* STARTTLS, then the client's new header and our post-TLS features. */
static int srv_secure_stream(srv *s, const char *features)
{
  if (!srv_starttls(s)) return 0;
  if (!srv_open(s)) { srv_note(s, "no stream header after TLS"); return 0; }
  return srv_puts(s, HDR) == 0 && (!features || srv_puts(s, features) == 0);
}

/* ---- SCRAM-SHA-1, server side ---------------------------------------- */
static size_t b64enc(const unsigned char *in, size_t n, char *out, size_t cap)
{
  size_t olen = 0;
  if (mbedtls_base64_encode((unsigned char *)out, cap, &olen, in, n)) return 0;
  out[olen] = 0;
  return olen;
}

static long b64dec(const char *in, size_t n, unsigned char *out, size_t cap)
{
  size_t olen = 0;
  if (mbedtls_base64_decode(out, cap - 1, &olen, (const unsigned char *)in, n)) return -1;
  out[olen] = 0;
  return (long)olen;
}

static int pbkdf2_sha1(const char *pw, const unsigned char *salt, size_t sl, unsigned iter,
                       unsigned char out[20])
{
#if MBEDTLS_VERSION_NUMBER >= 0x03030000
  return mbedtls_pkcs5_pbkdf2_hmac_ext(MBEDTLS_MD_SHA1, (const unsigned char *)pw, strlen(pw),
                                       salt, sl, iter, 20, out);
#else
  mbedtls_md_context_t md;
  int rc;
  mbedtls_md_init(&md);
  rc = mbedtls_md_setup(&md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA1), 1);
  if (!rc)
    rc = mbedtls_pkcs5_pbkdf2_hmac(&md, (const unsigned char *)pw, strlen(pw), salt, sl, iter,
                                   20, out);
  mbedtls_md_free(&md);
  return rc;
#endif
}

static void hmac_sha1(const unsigned char *k, size_t kl, const void *m, size_t ml,
                      unsigned char out[20])
{
  mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA1), k, kl, (const unsigned char *)m,
                  ml, out);
}

/* The element's character data: after its start tag, up to "</name>". */
static int srv_element_text(srv *s, const char *name, char *out, size_t cap)
{
  char open[32], close_[32];
  size_t from, n;
  snprintf(open, sizeof open, "<%s", name);
  snprintf(close_, sizeof close_, "</%s>", name);
  if (!srv_expect(s, open, 10000) || !srv_expect(s, ">", 10000)) return -1;
  from = s->in_pos;
  if (s->in[from - 2] == '/') { out[0] = 0; return 0; } /* <name/> */
  if (!srv_expect(s, close_, 10000)) return -1;
  n = s->in_pos - strlen(close_) - from;
  if (n >= cap) return -1;
  memcpy(out, s->in + from, n);
  out[n] = 0;
  return (int)n;
}

static void srv_success(srv *s, const unsigned char *sig, size_t n)
{
  char v[64] = "v=", b1[128], out[300];
  b64enc(sig, n, v + 2, sizeof v - 2);
  b64enc((const unsigned char *)v, strlen(v), b1, sizeof b1);
  snprintf(out, sizeof out, "<success xmlns='" NS_SASL "'>%s</success>", b1);
  srv_puts(s, out);
}

/* <auth> ... <success/>. Returns 1 when a correct <success> was sent. */
static int srv_scram(srv *s)
{
  static const unsigned char salt[] = "hostile-salt-16b";
  char auth[1024], bare[1024], sfirst[512], resp[1024], am[2900], out[1200], nonce[256];
  unsigned char raw[1024], sp[20], ck[20], sk[20], sig[20], proof[20], svk[20];
  const char *r, *p;
  char salt64[64];
  unsigned long iter;
  long n;
  int i;

  if (srv_element_text(s, "auth", auth, sizeof auth) < 0) {
    srv_note(s, "no <auth> after TLS");
    return 0;
  }
  if (!find(s->in, s->in_pos, "mechanism='SCRAM-SHA-1'")) srv_note(s, "mechanism not SCRAM-SHA-1");
  if (s->sig_mode == 3) { /* <success> straight away: nothing proven */
    static const unsigned char zero[20];
    srv_success(s, zero, sizeof zero);
    return 0;
  }
  if ((n = b64dec(auth, strlen(auth), raw, sizeof raw)) < 0 || strncmp((char *)raw, "n,,n=", 5)) {
    srv_note(s, "client-first not 'n,,n=...': %s", auth);
    return 0;
  }
  snprintf(bare, sizeof bare, "%s", (char *)raw + 3);
  r = strstr(bare, ",r=");
  if (!r || strncmp(bare, "n=alice,", 8)) {
    srv_note(s, "client-first-bare '%s'", bare);
    return 0;
  }
  snprintf(nonce, sizeof nonce, "%s%s", s->nonce_bad ? "XXXXXXXX" : r + 3, "ServerPart+/=9");
  b64enc(salt, sizeof salt - 1, salt64, sizeof salt64);
  snprintf(sfirst, sizeof sfirst, "r=%s,s=%s,i=%s", nonce, salt64, s->iter ? s->iter : "4096");
  b64enc((const unsigned char *)sfirst, strlen(sfirst), out + 600, 600);
  {
    char ch[900];
    snprintf(ch, sizeof ch, "<challenge xmlns='" NS_SASL "'>%s</challenge>", out + 600);
    srv_puts(s, ch);
  }
  if (srv_element_text(s, "response", resp, sizeof resp) < 0) return 0; /* client gave up */
  s->got_response = 1;
  if ((n = b64dec(resp, strlen(resp), raw, sizeof raw)) < 0) {
    srv_note(s, "response not base64");
    return 0;
  }
  /* c=biws,r=<nonce>,p=<proof> */
  p = strstr((char *)raw, ",p=");
  snprintf(out, sizeof out, "c=biws,r=%s", nonce);
  if (!p || (size_t)(p - (char *)raw) != strlen(out) || strncmp((char *)raw, out, strlen(out))) {
    srv_note(s, "client-final '%s'", (char *)raw);
    return 0;
  }
  iter = strtoul(s->iter ? s->iter : "4096", NULL, 10);
  snprintf(am, sizeof am, "%s,%s,%s", bare, sfirst, out);
  if (pbkdf2_sha1(PASSWORD, salt, sizeof salt - 1, (unsigned)iter, sp)) return 0;
  hmac_sha1(sp, 20, "Client Key", 10, ck);
  mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA1), ck, 20, sk);
  hmac_sha1(sk, 20, am, strlen(am), sig);
  {
    unsigned char pr[64];
    if (b64dec(p + 3, strlen(p + 3), pr, sizeof pr) != 20) {
      srv_note(s, "proof is not 20 bytes");
      return 0;
    }
    memcpy(proof, pr, 20);
  }
  for (i = 0; i < 20; i++) proof[i] ^= sig[i];
  if (memcmp(proof, ck, 20)) {
    srv_note(s, "the client's SCRAM proof does not verify");
    srv_puts(s, "<failure xmlns='" NS_SASL "'><not-authorized/></failure>");
    return 0;
  }
  hmac_sha1(sp, 20, "Server Key", 10, svk);
  hmac_sha1(svk, 20, am, strlen(am), sig);
  if (s->sig_mode == 1) sig[7] ^= 0x20;
  if (s->sig_mode == 2) {
    srv_puts(s, "<success xmlns='" NS_SASL "'/>");
    return 0;
  }
  srv_success(s, sig, 20);
  return s->sig_mode == 0;
}

/* ---- scripts --------------------------------------------------------- */

/* After <success/>: restart, bind, answer the close. */
static void srv_bind_and_close(srv *s)
{
  char iq[512], id[64], out[512];
  const char *p, *q;
  if (!srv_open(s)) { srv_note(s, "no stream restart after <success/>"); return; }
  srv_puts(s, HDR F_BIND);
  if (srv_element_text(s, "iq", iq, sizeof iq) < 0) { srv_note(s, "no bind <iq/>"); return; }
  /* the start tag is just before the text: find id='...' in it */
  p = find(s->in, s->in_pos, "<iq");
  for (q = p; q && find(q + 1, s->in_pos - (size_t)(q + 1 - s->in), "<iq"); )
    q = find(q + 1, s->in_pos - (size_t)(q + 1 - s->in), "<iq");
  p = q ? find(q, s->in_pos - (size_t)(q - s->in), "id='") : NULL;
  if (!p || !strchr(p + 4, '\'') || (size_t)(strchr(p + 4, '\'') - (p + 4)) >= sizeof id) {
    srv_note(s, "bind iq without id");
    return;
  }
  snprintf(id, sizeof id, "%.*s", (int)(strchr(p + 4, '\'') - (p + 4)), p + 4);
  if (!strstr(iq, "<resource>hostile</resource>")) srv_note(s, "bind without our resource: %s", iq);
  snprintf(out, sizeof out,
           "<iq type='result' id='%s'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
           "<jid>alice@localhost/hostile</jid></bind></iq>", id);
  srv_puts(s, out);
  if (!srv_expect(s, "</stream:stream>", 10000)) { srv_note(s, "no </stream:stream>"); return; }
  srv_puts(s, "</stream:stream>");
  mbedtls_ssl_close_notify(&s->ssl);
}

/* The whole thing done right: the control that proves the server works. */
static void sc_control(srv *s)
{
  if (!srv_secure_stream(s, F_SASL)) return;
  if (srv_scram(s)) srv_bind_and_close(s);
}

/* Features without <starttls/>, but tempting: PLAIN and registration. */
static void sc_no_starttls(srv *s)
{
  if (!srv_open(s)) return;
  srv_puts(s, HDR "<stream:features><mechanisms xmlns='" NS_SASL "'><mechanism>PLAIN</mechanism>"
              "</mechanisms><register xmlns='http://jabber.org/features/iq-register'/>"
              "</stream:features>");
}

/* STARTTLS with whatever certificate the scenario set; the client aborts. */
static void sc_tls_only(srv *s)
{
  if (s->direct ? srv_tls(s) == 0 : srv_starttls(s)) srv_note(s, "the TLS handshake completed");
}

static void sc_doctype(srv *s)
{
  if (!srv_starttls(s) || !srv_open(s)) return;
  srv_puts(s, "<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a \"aaaa\">]>"
              "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
              "from='localhost' version='1.0'><stream:features>&a;</stream:features>");
}

static void sc_entity_bomb(srv *s)
{
  if (!srv_starttls(s) || !srv_open(s)) return;
  srv_puts(s, "<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
              "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
              "<!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">"
              "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">"
              "<!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">"
              "<!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">"
              "<!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">"
              "<!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">"
              "<!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">"
              "<!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">]>"
              "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
              "from='localhost' version='1.0'><stream:features><lolz>&lol9;</lolz>"
              "</stream:features>");
}

/* A DOCTYPE after the root has opened, where a stanza would start. */
static void sc_doctype_mid(srv *s)
{
  if (!srv_starttls(s) || !srv_open(s)) return;
  srv_puts(s, HDR "<!DOCTYPE x [<!ENTITY a \"aaaa\">]>" F_SASL);
}

static void sc_entity_text(srv *s)
{
  if (!srv_starttls(s) || !srv_open(s)) return;
  srv_puts(s, HDR "<stream:features><mechanisms xmlns='" NS_SASL "'><mechanism>&a;</mechanism>"
              "</mechanisms></stream:features>");
}

static void sc_entity_attr(srv *s)
{
  if (!srv_starttls(s) || !srv_open(s)) return;
  srv_puts(s, HDR "<stream:features><register xmlns='http://jabber.org/features/iq-register' "
              "x='&a;'/></stream:features>");
}

/* After TLS: one element that never ends, until the client hangs up. */
static void endless(srv *s, const char *prefix, const char *unit)
{
  char chunk[4096];
  unsigned long end = net_now_ms(NULL) + 20000;
  size_t ul = strlen(unit), i;
  if (!srv_secure_stream(s, NULL)) return;
  if (srv_puts(s, prefix)) return;
  for (i = 0; i + ul <= sizeof chunk; i += ul) memcpy(chunk + i, unit, ul);
  while (s->sent_app < (64u << 20) && (long)(net_now_ms(NULL) - end) < 0)
    if (srv_write(s, chunk, i)) break;
}

static void sc_endless_text(srv *s)
{
  endless(s, "<stream:features><mechanisms xmlns='" NS_SASL "'><mechanism>", "AAAAAAAA");
}

static void sc_endless_attr(srv *s)
{
  endless(s, "<stream:features><x xmlns='urn:test' a='", "AAAAAAAA");
}

static void sc_endless_nesting(srv *s)
{
  endless(s, "<stream:features>", "<a>");
}

static void scram_only(srv *s)
{
  if (!srv_secure_stream(s, F_SASL)) return;
  srv_scram(s);
}

static void sc_iter_1(srv *s) { s->iter = "1"; scram_only(s); }
static void sc_iter_4e9(srv *s) { s->iter = "4000000000"; scram_only(s); }
static void sc_iter_wrap(srv *s) { s->iter = "18446744073709551617"; scram_only(s); } /* 2^64 + 1 */
static void sc_iter_above_max(srv *s) { s->iter = "100001"; scram_only(s); }
static void sc_iter_empty(srv *s) { s->iter = ""; scram_only(s); }
static void sc_bad_sig(srv *s) { s->sig_mode = 1; scram_only(s); }
static void sc_no_sig(srv *s) { s->sig_mode = 2; scram_only(s); }
/* An impostor who knows nothing: <success> with v= twenty zero bytes right
   after <auth>, then business as usual (restart, bind) if the client goes on. */
static void sc_zero_sig_no_challenge(srv *s)
{
  s->sig_mode = 3;
  scram_only(s);
  if (srv_expect(s, "<stream:stream", 3000)) {
    s->in_pos -= strlen("<stream:stream");
    srv_bind_and_close(s);
  }
}
static void sc_bad_nonce(srv *s) { s->nonce_bad = 1; scram_only(s); }

/* A server-first message far larger than any real one. */
static void sc_huge_challenge(srv *s)
{
  char auth[1024];
  size_t i;
  if (!srv_secure_stream(s, F_SASL)) return;
  if (srv_element_text(s, "auth", auth, sizeof auth) < 0) return;
  srv_puts(s, "<challenge xmlns='" NS_SASL "'>");
  for (i = 0; i < 100; i++) /* 100 KiB of valid base64 */
    if (srv_puts(s, "cj1BQUFB" "QUFBQUFB" "QUFBQUFB" "QUFBQUFB" "QUFBQUFB" "QUFBQUFB" "QUFBQUFB"
                    "QUFBQUFB" "QUFBQUFB" "QUFBQUFB" "QUFBQUFB" "QUFBQUFB" "QUFBQUFB" "QUFBQUFB"
                    "QUFBQUFB" "QUFBQUFB" "QUFBQUFB" "QUFBQUFB" "QUFBQUFB" "QUFBQUFB" "QUFBQUFB"
                    "QUFBQUFB" "QUFBQUFB" "QUFBQUFB" "QUFBQUFB" "QUFBQUFB" "QUFBQUFB" "QUFBQUFB"
                    "QUFBQUFB" "QUFBQUFB" "QUFBQUFB" "QUFBQUFB" "QUFBQUFB" "QUFBQUFB" "QUFBQUFB"))
      return;
  srv_puts(s, "</challenge>");
}

static void sc_silent_after_tls(srv *s)
{
  srv_starttls(s); /* then nothing: not even the stream header */
}

static void sc_silent_after_auth(srv *s)
{
  char auth[1024];
  if (!srv_secure_stream(s, F_SASL)) return;
  if (srv_element_text(s, "auth", auth, sizeof auth) < 0) srv_note(s, "no <auth>");
}

/* A byte every 100 ms: busy, never done. The deadline must still hold. */
static void sc_trickle(srv *s)
{
  unsigned long end = net_now_ms(NULL) + 20000;
  if (!srv_secure_stream(s, NULL)) return;
  while ((long)(net_now_ms(NULL) - end) < 0) {
    if (srv_puts(s, " ")) break;
    srv_sleep(100);
  }
}

/* STARTTLS command injection: plaintext after <proceed/>, same write. */
static void sc_injection(srv *s)
{
  if (!srv_open(s)) return;
  srv_puts(s, HDR F_STARTTLS);
  if (!srv_expect(s, "<starttls", 10000) || !srv_expect(s, "/>", 10000)) return;
  s->mark = s->in_len;
  srv_puts(s, PROCEED HDR "<stream:features><mechanisms xmlns='" NS_SASL "'>"
              "<mechanism>PLAIN</mechanism></mechanisms></stream:features>");
}

/* The same, but <proceed/> ends exactly at the client's 2048-byte read
   (XEP0077_IN_SIZE): the injected bytes are still in the socket when the
   parser sees </proceed>, so the TLS layer reads them. Either way it fails. */
static void sc_injection_boundary(srv *s)
{
  char buf[4096];
  size_t pad = XEP0077_IN_SIZE - strlen(PROCEED);
  if (!srv_open(s)) return;
  srv_puts(s, HDR F_STARTTLS);
  if (!srv_expect(s, "<starttls", 10000) || !srv_expect(s, "/>", 10000)) return;
  s->mark = s->in_len;
  memset(buf, ' ', pad);
  snprintf(buf + pad, sizeof buf - pad, "%s%s", PROCEED,
           HDR "<stream:features><mechanisms xmlns='" NS_SASL "'>"
           "<mechanism>PLAIN</mechanism></mechanisms></stream:features>");
  srv_write(s, buf, strlen(buf));
}

/* The same bytes, but a moment later: they reach the TLS layer as garbage. */
static void sc_injection_late(srv *s)
{
  if (!srv_open(s)) return;
  srv_puts(s, HDR F_STARTTLS);
  if (!srv_expect(s, "<starttls", 10000) || !srv_expect(s, "/>", 10000)) return;
  srv_puts(s, PROCEED);
  srv_sleep(200);
  srv_puts(s, HDR "<stream:features><mechanisms xmlns='" NS_SASL "'>"
              "<mechanism>PLAIN</mechanism></mechanisms></stream:features>");
}

static void sc_tls_failure(srv *s)
{
  if (!srv_open(s)) return;
  srv_puts(s, HDR F_STARTTLS);
  if (!srv_expect(s, "<starttls", 10000)) return;
  srv_puts(s, "<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>");
}

/* Read the ClientHello (one whole record), then hang up. */
static void sc_close_after_client_hello(srv *s)
{
  unsigned long end;
  if (!srv_open(s)) return;
  srv_puts(s, HDR F_STARTTLS);
  if (!srv_expect(s, "<starttls", 10000) || !srv_expect(s, "/>", 10000)) return;
  srv_puts(s, PROCEED);
  s->mark = s->in_len;
  end = net_now_ms(NULL) + 10000;
  while ((long)(net_now_ms(NULL) - end) < 0) {
    size_t have = s->in_len - s->mark;
    const unsigned char *h = (const unsigned char *)s->in + s->mark;
    if (have >= 5 && have >= 5 + ((size_t)h[3] << 8 | h[4])) break;
    if (srv_read1(s) < 0) break;
  }
  srv_hangup(s);
}

/* Send 60 bytes of the ServerHello flight, then hang up. */
static void sc_close_mid_server_hello(srv *s)
{
  s->send_limit = 0;
  if (!srv_open(s)) return;
  srv_puts(s, HDR F_STARTTLS);
  if (!srv_expect(s, "<starttls", 10000) || !srv_expect(s, "/>", 10000)) return;
  srv_puts(s, PROCEED);
  s->send_limit = s->sent_raw + 60;
  if (srv_tls(s) == 0) srv_note(s, "handshake completed despite the cut");
  srv_hangup(s);
}

#define HALF_FEATURES "<stream:features><mechanisms xmlns='" NS_SASL "'><mechan"

static void sc_close_mid_stanza_plain(srv *s)
{
  if (!srv_open(s)) return;
  srv_puts(s, HDR HALF_FEATURES);
  srv_sleep(50);
  shutdown(s->fd, SHUT_WR);
}

static void sc_close_mid_stanza_notify(srv *s)
{
  if (!srv_secure_stream(s, HALF_FEATURES)) return;
  srv_sleep(50);
  mbedtls_ssl_close_notify(&s->ssl);
  shutdown(s->fd, SHUT_WR);
}

static void sc_close_mid_stanza_tcp(srv *s)
{
  if (!srv_secure_stream(s, HALF_FEATURES)) return;
  srv_sleep(50);
  shutdown(s->fd, SHUT_WR); /* FIN without close_notify */
}

static void sc_stream_error(srv *s)
{
  if (!srv_secure_stream(s, NULL)) return;
  srv_puts(s, "<stream:error><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
              "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>go away &amp; stay</text>"
              "</stream:error></stream:stream>");
}

/* After TLS: the header, 14 one-byte records, then features in a record of
   6 KB, all in one TCP write. The client reads them in rounds of up to
   XEP0077_IN_SIZE (2048) decrypted bytes; the last record is still partly
   inside mbedTLS when the socket is already empty. */
static void sc_buffered_records_direct(srv *s)
{
  char big[7000];
  size_t n;
  int i;
  if (srv_tls(s) != 0 || !srv_open(s)) { srv_note(s, "no TLS / stream header"); return; }
  s->cork = 1;
  srv_puts(s, HDR);
  for (i = 0; i < 14; i++) srv_puts(s, " ");
  n = (size_t)snprintf(big, sizeof big, "<stream:features><mechanisms xmlns='" NS_SASL "'>"
                       "<mechanism>SCRAM-SHA-1</mechanism></mechanisms><pad xmlns='urn:test'>");
  memset(big + n, 'p', 6000);
  n += 6000;
  n += (size_t)snprintf(big + n, sizeof big - n, "</pad></stream:features>");
  srv_write(s, big, n);
  srv_uncork(s);
  if (srv_expect(s, "</stream:stream>", 20000)) srv_puts(s, "</stream:stream>");
}

/* Direct TLS: plain control for the strict-wait scenarios. */
static void sc_direct_features(srv *s)
{
  if (srv_tls(s) != 0 || !srv_open(s)) { srv_note(s, "no TLS / stream header"); return; }
  srv_puts(s, HDR F_SASL);
  if (!srv_expect(s, "</stream:stream>", 10000)) return;
  srv_puts(s, "</stream:stream>");
}

/* STARTTLS with a wait callback that sleeps as long as it is told. */
static void sc_starttls_features(srv *s)
{
  if (!srv_secure_stream(s, F_SASL)) return;
  if (!srv_expect(s, "</stream:stream>", 10000)) return;
  srv_puts(s, "</stream:stream>");
}

/* Thousands of IQ requests the client cannot handle, written while not
   reading, so the client's TLS writes would block. Every error reply the
   client's console shows as sent must arrive. */
#define FLOOD_N 3000
static void sc_iq_flood(srv *s)
{
  char iq[200];
  int i;
  if (!srv_starttls(s) || !srv_open(s)) return;
  srv_puts(s, HDR);
  /* one TLS record per request: the client reads, answers and flushes
     one at a time, so a blocked write is small and more follow it */
  for (i = 0; i < FLOOD_N; i++) {
    snprintf(iq, sizeof iq, "<iq type='get' id='f%d' from='localhost'><q xmlns='urn:test:flood'/></iq>", i);
    if (srv_puts(s, iq)) return;
  }
  srv_puts(s, F_SASL);
  srv_sleep(300);
  if (srv_expect(s, "</stream:stream>", 20000)) srv_puts(s, "</stream:stream>");
}

static void *srv_main(void *arg)
{
  srv *s = (srv *)arg;
  struct pollfd p;
  struct timeval tv;
  p.fd = s->lfd;
  p.events = POLLIN;
  p.revents = 0;
  if (poll(&p, 1, 10000) <= 0 || (s->fd = accept(s->lfd, NULL, NULL)) < 0) {
    srv_note(s, "no client connected");
    return NULL;
  }
  tv.tv_sec = 0;
  tv.tv_usec = 50000; /* reads block 50 ms at most: every loop checks a deadline */
  setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  tv.tv_sec = 1;
  tv.tv_usec = 0;
  setsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  s->script(s);
  srv_drain(s, 20000); /* until the client closes */
  srv_hangup(s);
  return NULL;
}

static srv *srv_new(script_fn script, const char *cert, int small_rcvbuf)
{
  static const unsigned char pers[] = "hostile-server";
  struct sockaddr_in a;
  socklen_t al = sizeof a;
  srv *s = (srv *)calloc(1, sizeof *s);
  if (!s) return NULL;
  s->in = (char *)malloc(SRV_IN_CAP + 1);
  s->in[0] = 0;
  s->fd = -1;
  s->script = script;
  s->cert = cert ? cert : "server";
  mbedtls_ssl_init(&s->ssl);
  mbedtls_ssl_config_init(&s->conf);
  mbedtls_x509_crt_init(&s->crt);
  mbedtls_pk_init(&s->key);
  mbedtls_entropy_init(&s->entropy);
  mbedtls_ctr_drbg_init(&s->drbg);
  mbedtls_ctr_drbg_seed(&s->drbg, mbedtls_entropy_func, &s->entropy, pers, sizeof pers - 1);
  s->lfd = socket(AF_INET, SOCK_STREAM, 0);
  if (small_rcvbuf) {
    int v = 4096;
    setsockopt(s->lfd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
  }
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&a, sizeof a) || listen(s->lfd, 1) ||
      getsockname(s->lfd, (struct sockaddr *)&a, &al)) {
    s->port = 0;
  } else {
    s->port = ntohs(a.sin_port);
  }
  return s;
}

static void srv_free(srv *s)
{
  if (s->lfd >= 0) close(s->lfd);
  srv_hangup(s);
  mbedtls_ssl_free(&s->ssl);
  mbedtls_ssl_config_free(&s->conf);
  mbedtls_x509_crt_free(&s->crt);
  mbedtls_pk_free(&s->key);
  mbedtls_ctr_drbg_free(&s->drbg);
  mbedtls_entropy_free(&s->entropy);
  free(s->in);
  free(s);
}

/* ======================================================================
   The client side
   ====================================================================== */

/* Crypto that counts PBKDF2: the iteration scenarios must never reach it. */
static const xep0077_crypto *real_crypto;
static unsigned long pbkdf2_calls, pbkdf2_ms, pbkdf2_iter;
static int counting_pbkdf2(void *ctx, int alg, const unsigned char *pw, size_t pwlen,
                           const unsigned char *salt, size_t saltlen, unsigned long iterations,
                           unsigned char *out, size_t outlen)
{
  unsigned long t = net_now_ms(NULL);
  int rc = real_crypto->pbkdf2(ctx, alg, pw, pwlen, salt, saltlen, iterations, out, outlen);
  pbkdf2_calls++;
  pbkdf2_iter = iterations;
  pbkdf2_ms += net_now_ms(NULL) - t;
  return rc;
}

typedef struct cli {
  net_sock s;
  xep0077_mbedtls t;
  xep0077_crypto crypto;
  xep0077_config cfg;
  xep0077 c;
  unsigned long out_error_iqs; /* <iq type='error'> the console shows sent */
  char log[16384];
  size_t log_len;
} cli;

static cli K;

static void cli_log(void *user, int d, const char *text, size_t len)
{
  cli *k = (cli *)user;
  if (d == XEP0077_LOG_OUT) {
    const char *p = text, *e = text + len;
    while ((p = find(p, (size_t)(e - p), "<iq type='error'")) != NULL) {
      k->out_error_iqs++;
      p++;
    }
  }
  if (k->log_len + len + 5 < sizeof k->log) {
    memcpy(k->log + k->log_len, d == XEP0077_LOG_IN ? "\nS: " : d == XEP0077_LOG_OUT ? "\nC: " : "\n-- ", 4);
    memcpy(k->log + k->log_len + 4, text, len);
    k->log_len += 4 + len;
    k->log[k->log_len] = 0;
  }
}

typedef struct scenario {
  const char *name;
  script_fn script;
  const char *cert;      /* server certificate (basename); NULL: server   */
  int direct;            /* XEP-0368 direct TLS                           */
  int short_timeout;     /* the timeout scenarios                         */
  int login;             /* connect must succeed; login gives the status  */
  int want;              /* the documented status it must end with        */
  size_t max_stanza;     /* c.xml.max_stanza after init; 0 keeps default  */
  int strict_wait;       /* wait callback sleeps as long as asked         */
  int flood;             /* small buffers, compare reply counts           */
  const char *why;
  int alt;               /* a second acceptable status (0: none)          */
} scenario;

static unsigned long T_NORMAL = 5000, T_SHORT = 1500;

/* "[timeout]" checks for one operation. */
static void check_time(const scenario *sc, const char *op, unsigned long ms, unsigned long timeout,
                       int rc)
{
  net_check(ms < timeout + 1000, sc->name, "%s took %lu ms, timeout %lu ms (+1 s allowed)", op, ms,
            timeout);
  if (rc == XEP0077_ERR_TIMEOUT)
    net_check(ms + 20 >= timeout, sc->name, "%s timed out early: %lu ms of %lu", op, ms, timeout);
}

static int contains(const unsigned char *h, size_t n, const char *needle)
{
  return find((const char *)h, n, needle) != NULL;
}

static void run(const scenario *sc)
{
  srv *s = srv_new(sc->script, sc->cert, sc->flood);
  pthread_t th;
  if (s) s->direct = sc->direct;
  unsigned long timeout = sc->short_timeout ? T_SHORT : T_NORMAL, t0, ms_c = 0, ms_l = 0;
  int rc, rc_c, rc_l = 1, final;
  char ca[600];

  printf("-- %s: %s\n", sc->name, sc->why);
  fflush(stdout);
  if (!net_check(s && s->port > 0, sc->name, "server socket")) {
    if (s) srv_free(s);
    return;
  }
  if (!net_check(pthread_create(&th, NULL, srv_main, s) == 0, sc->name, "pthread_create")) {
    srv_free(s);
    return;
  }
  pbkdf2_calls = pbkdf2_ms = pbkdf2_iter = 0;
  memset(&K.c, 0, sizeof K.c);
  K.out_error_iqs = 0;
  K.log_len = 0;
  K.log[0] = 0;
  snprintf(ca, sizeof ca, "%s/ca.pem", dir);
  rc = net_connect(&K.s, s->port);
  net_check(rc == 0, sc->name, "connect to 127.0.0.1:%d", s->port);
  K.s.wait_cap_ms = sc->strict_wait ? 0 : 50;
  if (sc->flood) {
    int v = 4096;
    setsockopt(K.s.fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
  }
  rc = xep0077_mbedtls_init(&K.t, NULL, ca);
  net_check(rc == 0, sc->name, "xep0077_mbedtls_init: %s", net_st(rc));
  K.crypto = K.t.crypto;
  real_crypto = &K.t.crypto;
  K.crypto.pbkdf2 = counting_pbkdf2;
  net_config(&K.cfg, &K.s);
  K.cfg.domain = "localhost";
  K.cfg.tls = &K.t.tls;
  K.cfg.crypto = &K.crypto;
  K.cfg.direct_tls = sc->direct;
  K.cfg.resource = "hostile";
  K.cfg.log = cli_log;
  K.cfg.user = &K;
  rc = xep0077_init(&K.c, &K.cfg);
  net_check(rc == 0, sc->name, "xep0077_init: %s", net_st(rc));
  if (sc->max_stanza) K.c.xml.max_stanza = sc->max_stanza;

  t0 = net_now_ms(NULL);
  rc_c = xep0077_connect(&K.c, timeout);
  ms_c = net_now_ms(NULL) - t0;
  final = rc_c;
  check_time(sc, "connect", ms_c, timeout, rc_c);
  if (sc->login) {
    net_check(rc_c == 0, sc->name, "connect: %s (condition '%s'), want OK before login", net_st(rc_c),
              K.c.error.condition);
    if (rc_c == 0) {
      t0 = net_now_ms(NULL);
      rc_l = xep0077_login(&K.c, USERNAME, PASSWORD, timeout);
      ms_l = net_now_ms(NULL) - t0;
      final = rc_l;
      check_time(sc, "login", ms_l, timeout, rc_l);
    }
  }
  net_check(final == sc->want || (sc->alt && final == sc->alt), sc->name,
            "ended with %s, want %s%s%s (condition '%s')", net_st(final), net_st(sc->want),
            sc->alt ? " or " : "", sc->alt ? net_st(sc->alt) : "", K.c.error.condition);
  printf("   %s: connect %lu ms%s", net_st(final), ms_c, sc->login ? "" : "\n");
  if (sc->login) printf(", login %lu ms, PBKDF2 %lu call(s) %lu ms\n", ms_l, pbkdf2_calls, pbkdf2_ms);
  if (final == 0) { /* success must not wait for a deadline */
    net_check(ms_c < timeout / 2 && ms_l < timeout / 2, sc->name,
              "succeeded, but only after connect %lu ms / login %lu ms of %lu: a stall", ms_c, ms_l,
              timeout);
  }
  if (final != 0) {
    net_check(!K.c.authenticated && !K.c.jid[0], sc->name, "failed, yet authenticated=%d jid='%s'",
              K.c.authenticated, K.c.jid);
  }
  if (sc->want == XEP0077_ERR_TLS_VERIFY) { /* which check said no */
    uint32_t flags = mbedtls_ssl_get_verify_result(&K.t.ssl);
    int name_only = sc->cert && !strcmp(sc->cert, "wrongname");
    net_check(name_only ? flags == MBEDTLS_X509_BADCERT_CN_MISMATCH
                        : (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED) != 0,
              sc->name, "mbedTLS verify flags 0x%lx, want %s", (unsigned long)flags,
              name_only ? "CN_MISMATCH alone (chain trusted)" : "NOT_TRUSTED");
    printf("   client verify flags 0x%lx\n", (unsigned long)flags);
  }
  if (final == 0) {
    rc = xep0077_close(&K.c, timeout);
    net_check(rc == 0, sc->name, "close: %s", net_st(rc));
  } else {
    t0 = net_now_ms(NULL);
    rc = xep0077_close(&K.c, 500); /* whatever it says, it must not hang */
    net_check(net_now_ms(NULL) - t0 < 1500, sc->name, "close after failure took %lu ms",
              net_now_ms(NULL) - t0);
  }
  net_close(&K.s);
  xep0077_mbedtls_free(&K.t);
  pthread_join(th, NULL);
  if (s->tls_err)
    printf("   server handshake ended with -0x%04x\n", (unsigned)-s->tls_err);

  /* What the server saw before TLS was up. */
  net_check(s->plain_len > 0, sc->name, "the server recorded nothing before TLS");
  net_check(!contains(s->plain, s->plain_len, "<auth"), sc->name, "<auth> sent before TLS");
  net_check(!contains(s->plain, s->plain_len, PASSWORD), sc->name, "password sent before TLS");
  net_check(!contains(s->plain, s->plain_len, "jabber:iq:register"), sc->name,
            "jabber:iq:register sent before TLS");
  net_check(!contains((const unsigned char *)s->in, s->in_len, PASSWORD), sc->name,
            "the password itself went over the wire");
  net_check(s->note[0] == 0, sc->name, "server: %s", s->note);
  if (sc->want == XEP0077_ERR_TLS_VERIFY)
    net_check(s->post_tls == 0 && !s->tls_done, sc->name,
              "server got %lu bytes over a TLS the client should have refused",
              (unsigned long)s->post_tls);
  if (final == XEP0077_ERR_TLS_INJECTION)
    net_check(s->in_len == s->mark, sc->name,
              "client sent %lu bytes after the injected <proceed/> (a ClientHello?)",
              (unsigned long)(s->in_len - s->mark));
  if (sc->want == XEP0077_ERR_SASL_ITERATIONS || sc->want == XEP0077_ERR_PROTOCOL) {
    net_check(pbkdf2_calls == 0 && !s->got_response, sc->name,
              "client ran PBKDF2 %lu time(s) (%lu ms, %lu iterations) / answered", pbkdf2_calls,
              pbkdf2_ms, pbkdf2_iter);
    net_check(ms_l < 1000, sc->name, "login took %lu ms: PBKDF2 work?", ms_l);
  }
  if (sc->want == XEP0077_ERR_SASL_SIGNATURE) {
    const char *succ = find(s->in, s->in_len, "</auth>");
    net_check(succ && !find(succ, s->in_len - (size_t)(succ - s->in), "<stream:stream") &&
                  !find(succ, s->in_len - (size_t)(succ - s->in), "<iq"),
              sc->name, "client restarted the stream / bound after an unproven <success/>");
  }
  if (!strcmp(sc->name, "control_scram_bind")) {
    net_check(pbkdf2_calls == 1 && pbkdf2_iter == 4096, sc->name, "PBKDF2 calls %lu, iterations %lu",
              pbkdf2_calls, pbkdf2_iter);
    net_check(!strcmp(K.c.jid, "alice@localhost/hostile"), sc->name, "jid '%s'", K.c.jid);
  }
  if (!strcmp(sc->name, "stream_error_after_tls"))
    net_check(!strcmp(K.c.error.condition, "policy-violation") &&
                  !strcmp(K.c.error.text, "go away & stay"),
              sc->name, "error condition '%s' text '%s'", K.c.error.condition, K.c.error.text);
  if (sc->script == sc_endless_text || sc->script == sc_endless_attr)
    printf("   server wrote %lu KiB before the client hung up\n", (unsigned long)(s->sent_app >> 10));
  if (sc->flood) {
    const char *p = s->in, *e = s->in + s->in_len;
    unsigned long got = 0;
    while ((p = find(p, (size_t)(e - p), "<iq type='error'")) != NULL) { got++; p++; }
    printf("   flood: %d requests; client console shows %lu error replies sent, server got %lu;"
           " client socket: %lu sends, %lu would-block\n",
           FLOOD_N, K.out_error_iqs, got, K.s.sends, K.s.send_blocked);
    net_check(got == K.out_error_iqs, sc->name,
              "the console shows %lu <iq type='error'/> sent, the server received %lu",
              K.out_error_iqs, got);
    net_check(got > 0, sc->name, "no reply at all to %d requests", FLOOD_N);
  }
  srv_free(s);
}

/* ---- the catalogue ------------------------------------------------------ */
#define OK 0
static const scenario scenarios[] = {
  {"control_scram_bind", sc_control, NULL, 0, 0, 1, OK, 0, 0, 0,
   "STARTTLS, SCRAM-SHA-1 with a correct server signature, bind, close", 0},
  {"no_starttls", sc_no_starttls, NULL, 0, 0, 0, XEP0077_ERR_TLS_REQUIRED, 0, 0, 0,
   "features offer PLAIN and <register/> but no <starttls/>", 0},
  {"unknown_ca", sc_tls_only, "other", 0, 0, 0, XEP0077_ERR_TLS_VERIFY, 0, 0, 0,
   "certificate for localhost from a CA the client does not trust", 0},
  {"wrong_name", sc_tls_only, "wrongname", 0, 0, 0, XEP0077_ERR_TLS_VERIFY, 0, 0, 0,
   "trusted CA, certificate for wrong.example", 0},
  {"wrong_name_direct_tls", sc_tls_only, "wrongname", 1, 0, 0, XEP0077_ERR_TLS_VERIFY, 0, 0, 0,
   "the same over direct TLS", 0},
  {"doctype_prolog", sc_doctype, NULL, 0, 0, 0, XEP0077_ERR_XML_DOCTYPE, 0, 0, 0,
   "after TLS: <!DOCTYPE x [<!ENTITY a \"aaaa\">]> before the root", 0},
  {"entity_bomb", sc_entity_bomb, NULL, 0, 0, 0, XEP0077_ERR_XML_DOCTYPE, 0, 0, 0,
   "after TLS: billion laughs", 0},
  {"doctype_mid_stream", sc_doctype_mid, NULL, 0, 0, 0, XEP0077_ERR_XML_DOCTYPE, 0, 0, 0,
   "after TLS: a DOCTYPE where a stanza would start", 0},
  {"undeclared_entity_text", sc_entity_text, NULL, 0, 0, 0, XEP0077_ERR_XML_ENTITY, 0, 0, 0,
   "after TLS: <mechanism>&a;</mechanism>", 0},
  {"undeclared_entity_attr", sc_entity_attr, NULL, 0, 0, 0, XEP0077_ERR_XML_ENTITY, 0, 0, 0,
   "after TLS: x='&a;'", 0},
  {"endless_stanza_64k", sc_endless_text, NULL, 0, 0, 0, XEP0077_ERR_XML_STANZA_SIZE, 65536, 0, 0,
   "after TLS: text inside one element forever, c.xml.max_stanza = 65536", 0},
  {"endless_stanza_default", sc_endless_text, NULL, 0, 0, 0, XEP0077_ERR_XML_STANZA_SIZE, 0, 0, 0,
   "the same with the default limit (262144)", 0},
  {"endless_attribute", sc_endless_attr, NULL, 0, 0, 0, XEP0077_ERR_XML_BUFFER, 0, 0, 0,
   "after TLS: an attribute value that never ends (start tags live in the 4 KiB parser buffer)", 0},
  {"endless_nesting", sc_endless_nesting, NULL, 0, 0, 0, XEP0077_ERR_XML_DEPTH, 0, 0, 0,
   "after TLS: <a><a><a>... forever", 0},
  {"scram_wrong_signature", sc_bad_sig, NULL, 0, 0, 1, XEP0077_ERR_SASL_SIGNATURE, 0, 0, 0,
   "<success> carries a server signature with one bit flipped", 0},
  {"scram_no_signature", sc_no_sig, NULL, 0, 0, 1, XEP0077_ERR_SASL_SIGNATURE, 0, 0, 0,
   "<success/> with no v= at all", 0},
  {"scram_success_without_challenge", sc_zero_sig_no_challenge, NULL, 0, 1, 1,
   XEP0077_ERR_SASL_SIGNATURE, 0, 0, 0,
   "<success> right after <auth>, v= twenty zero bytes: nothing was proven", 0},
  {"scram_nonce_not_extended", sc_bad_nonce, NULL, 0, 0, 1, XEP0077_ERR_PROTOCOL, 0, 0, 0,
   "server nonce does not start with the client's", 0},
  {"scram_iterations_1", sc_iter_1, NULL, 0, 0, 1, XEP0077_ERR_SASL_ITERATIONS, 0, 0, 0, "i=1", 0},
  {"scram_iterations_4e9", sc_iter_4e9, NULL, 0, 0, 1, XEP0077_ERR_SASL_ITERATIONS, 0, 0, 0,
   "i=4000000000", 0},
  {"scram_iterations_2p64_plus_1", sc_iter_wrap, NULL, 0, 0, 1, XEP0077_ERR_SASL_ITERATIONS, 0, 0, 0,
   "i=18446744073709551617 (wraps to 1 in 64 bits)", 0},
  {"scram_iterations_above_max", sc_iter_above_max, NULL, 0, 0, 1, XEP0077_ERR_SASL_ITERATIONS, 0, 0,
   0, "i=100001 (default scram_max_iterations 100000)", 0},
  {"scram_huge_challenge", sc_huge_challenge, NULL, 0, 0, 1, XEP0077_ERR_PROTOCOL, 0, 0, 0,
   "a 28 KB <challenge/>: too long for any real server-first message", 0},
  {"scram_iterations_empty", sc_iter_empty, NULL, 0, 0, 1, XEP0077_ERR_PROTOCOL, 0, 0, 0, "i=", 0},
  {"silent_after_tls", sc_silent_after_tls, NULL, 0, 1, 0, XEP0077_ERR_TIMEOUT, 0, 0, 0,
   "handshake done, then not a byte", 0},
  {"silent_after_auth", sc_silent_after_auth, NULL, 0, 1, 1, XEP0077_ERR_TIMEOUT, 0, 0, 0,
   "no answer to <auth>", 0},
  {"trickle_keeps_busy", sc_trickle, NULL, 0, 1, 0, XEP0077_ERR_TIMEOUT, 0, 0, 0,
   "after TLS: one space every 100 ms, never a stanza: the deadline holds", 0},
  {"starttls_injection", sc_injection, NULL, 0, 0, 0, XEP0077_ERR_TLS_INJECTION, 0, 0, 0,
   "<proceed/> and a plaintext stream header + features in the same write", 0},
  {"starttls_injection_boundary", sc_injection_boundary, NULL, 0, 0, 0, XEP0077_ERR_TLS_INJECTION, 0,
   0, 0, "the same, <proceed/> ending exactly at the client's 2048-byte read", XEP0077_ERR_TLS},
  {"starttls_injection_late", sc_injection_late, NULL, 0, 0, 0, XEP0077_ERR_TLS, 0, 0, 0,
   "<proceed/>, then plaintext 200 ms later: garbage for the TLS layer", 0},
  {"starttls_failure", sc_tls_failure, NULL, 0, 0, 0, XEP0077_ERR_TLS, 0, 0, 0,
   "<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/> instead of <proceed/>", 0},
  {"close_after_client_hello", sc_close_after_client_hello, NULL, 0, 0, 0, XEP0077_ERR_TLS, 0, 0, 0,
   "TCP close right after reading the ClientHello", 0},
  {"close_mid_server_hello", sc_close_mid_server_hello, NULL, 0, 0, 0, XEP0077_ERR_TLS, 0, 0, 0,
   "TCP close after 60 bytes of the server's first flight", 0},
  {"close_mid_stanza_plaintext", sc_close_mid_stanza_plain, NULL, 0, 0, 0, XEP0077_ERR_CLOSED, 0, 0,
   0, "before TLS: half a <stream:features>, then FIN", 0},
  {"close_mid_stanza_close_notify", sc_close_mid_stanza_notify, NULL, 0, 0, 0, XEP0077_ERR_CLOSED, 0,
   0, 0, "after TLS: half a <stream:features>, close_notify, FIN", 0},
  {"close_mid_stanza_tcp", sc_close_mid_stanza_tcp, NULL, 0, 0, 0, XEP0077_ERR_CLOSED, 0, 0, 0,
   "after TLS: half a <stream:features>, FIN without close_notify", 0},
  {"stream_error_after_tls", sc_stream_error, NULL, 0, 0, 0, XEP0077_ERR_STREAM, 0, 0, 0,
   "<stream:error><policy-violation/><text>go away &amp; stay</text>", 0},
  {"strict_wait_direct_tls", sc_direct_features, NULL, 1, 0, 0, OK, 0, 1, 0,
   "control: direct TLS, wait callback sleeps as long as asked", 0},
  {"strict_wait_starttls", sc_starttls_features, NULL, 0, 0, 0, OK, 0, 1, 0,
   "STARTTLS, wait callback sleeps as long as asked: the handshake must start", 0},
  {"tls_records_buffered", sc_buffered_records_direct, NULL, 1, 0, 0, OK, 0, 1, 0,
   "direct TLS, strict wait: 16 records in one TCP write, the last one 6 KB", 0},
  {"iq_flood_blocked_writes", sc_iq_flood, NULL, 0, 0, 0, OK, 0, 0, 1,
   "3000 unsolicited IQ gets while the server does not read (client TLS writes block)", 0},
};

int main(int argc, char **argv)
{
  size_t i, ran = 0;
  int a;
  char path[600];
  const char *scale;
  if (argc < 2) {
    fprintf(stderr, "usage: %s DIR [SCENARIO...]\n", argv[0]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  dir = argv[1];
  snprintf(path, sizeof path, "%s/wrongname.key", dir);
  if (access(path, R_OK)) {
    printf("FAIL setup: %s missing (run tests/prosody.sh start DIR first)\n", path);
    printf("0 passed, 1 failed\n");
    return 1;
  }
  /* HOSTILE_SLOW=N multiplies the timeouts (valgrind: TLS is ~50x slower). */
  if ((scale = getenv("HOSTILE_SLOW")) != NULL && atoi(scale) > 1) {
    T_NORMAL *= (unsigned long)atoi(scale);
    T_SHORT *= (unsigned long)atoi(scale);
  }
  printf("timeouts: %lu ms, %lu ms for the timeout scenarios\n", T_NORMAL, T_SHORT);
  for (i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
    unsigned long t = net_now_ms(NULL);
    int pick = argc == 2;
    for (a = 2; a < argc; a++) pick |= !strcmp(argv[a], scenarios[i].name);
    if (!pick) continue;
    run(&scenarios[i]);
    printf("   (%lu ms)\n", net_now_ms(NULL) - t);
    ran++;
  }
  net_check(ran > 0, "setup", "no scenario matched");
  return net_summary();
}
