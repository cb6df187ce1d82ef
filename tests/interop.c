/* tests/interop.c -- xep0077.h against a real server (prosody 0.12).

     interop DIR PORT DIRECT_TLS_PORT

   DIR is where `tests/prosody.sh start DIR PORT DIRECT_TLS_PORT` put the
   server (ca.pem, other-ca.pem, prosody.cfg.lua). tests/interop.sh does the
   start, run, stop. Accounts are created here with prosodyctl, with a name
   unique to this run. Only 127.0.0.1 is contacted.

   What the transcripts look like is in /work/notes/prosody.md; in short:
     C: <stream:stream to='localhost'>       S: <starttls><required/>
     C: <starttls/>                           S: <proceed/>   (TLS 1.2, mbedTLS 2.28)
     C: <stream:stream>                       S: mechanisms PLAIN SCRAM-SHA-1 [-PLUS]
     C: <auth SCRAM-SHA-1> <response>         S: <challenge> <success v=...>
     C: <stream:stream> <iq><bind>            S: <jid>user@localhost/res</jid>

   Every check prints "FAIL name: detail" when it fails; the last line is
   "N passed, N failed". */
#define XEP0077_IMPLEMENTATION
#define XEP0077_MBEDTLS
#include "xep0077.h"
#include "net.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

static const char *dir;
static int port_starttls, port_direct;
static char ca_good[512], ca_other[512], prosody_cfg[512];

/* One client: socket, TLS, connection, and what the XML console showed. */
typedef struct client {
  net_sock s;
  xep0077_mbedtls t;
  xep0077_config cfg;
  xep0077 c;
  char log[65536];
  size_t log_len;
} client;

static client C; /* large: static, reused by every case */

static void on_log(void *user, int dir_, const char *text, size_t len)
{
  client *k = (client *)user;
  const char *tag = dir_ == XEP0077_LOG_IN ? "\nS: " : dir_ == XEP0077_LOG_OUT ? "\nC: " : "\n-- ";
  size_t tl = strlen(tag);
  if (k->log_len + tl + len + 1 > sizeof k->log) return;
  memcpy(k->log + k->log_len, tag, tl);
  memcpy(k->log + k->log_len + tl, text, len);
  k->log_len += tl + len;
  k->log[k->log_len] = 0;
}

/* Socket + TLS + xep0077_init. ca may be NULL for "no TLS at all". */
static int client_open(client *k, int port, const char *ca, const char *domain, int direct,
                       const char *resource)
{
  int rc;
  memset(&k->c, 0, sizeof k->c);
  k->log_len = 0;
  k->log[0] = 0;
  if (net_connect(&k->s, port) != 0) return -1000;
  k->s.wait_cap_ms = 50; /* see case_blocking_uncapped_wait */
  net_config(&k->cfg, &k->s);
  k->cfg.domain = domain;
  k->cfg.direct_tls = direct;
  k->cfg.resource = resource;
  k->cfg.log = on_log;
  k->cfg.user = k;
  k->cfg.timeout_ms = 10000;
  if (ca) {
    if ((rc = xep0077_mbedtls_init(&k->t, NULL, ca)) != 0) {
      xep0077_mbedtls_free(&k->t);
      net_close(&k->s);
      return rc;
    }
    k->cfg.tls = &k->t.tls;
    k->cfg.crypto = &k->t.crypto;
  } else {
    memset(&k->t, 0, sizeof k->t);
  }
  rc = xep0077_init(&k->c, &k->cfg);
  if (rc) {
    if (ca) xep0077_mbedtls_free(&k->t);
    net_close(&k->s);
  }
  return rc;
}

static void client_free(client *k)
{
  net_close(&k->s);
  if (k->cfg.tls) xep0077_mbedtls_free(&k->t);
  k->cfg.tls = NULL;
}

/* prosodyctl register USER localhost PASS, bounded to 20 s. */
static int make_account(const char *user, const char *pass)
{
  pid_t pid = fork();
  int status = 0, i;
  if (pid < 0) return -1;
  if (pid == 0) {
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) { dup2(devnull, 1); dup2(devnull, 2); }
    execlp("prosodyctl", "prosodyctl", "--config", prosody_cfg, "register", user, "localhost",
           pass, (char *)NULL);
    _exit(127);
  }
  for (i = 0; i < 2000; i++) {
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
    {
      struct timespec ts = {0, 10000000};
      nanosleep(&ts, NULL);
    }
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

static unsigned long t0;
static void tick(void) { t0 = net_now_ms(NULL); }
static unsigned long tock(const char *name)
{
  unsigned long ms = net_now_ms(NULL) - t0;
  printf("  %-28s %5lu ms\n", name, ms);
  return ms;
}

static char user1[64], user2[64];
static const char *pass1 = "Interop-pw 1";
static const char *pass2 = "p\xC3\xA4ss,=w\xC3\xB6rd"; /* UTF-8, ',' and '=' */

/* STARTTLS, verified against the test CA, SCRAM, bind to a chosen resource. */
static void case_starttls_login(void)
{
  const char *n = "starttls_login";
  char want[128];
  int rc;
  tick();
  rc = client_open(&C, port_starttls, ca_good, "localhost", 0, "interop");
  if (!net_check(rc == 0, n, "client_open: %s", net_st(rc))) return;
  rc = xep0077_connect(&C.c, 10000);
  net_check(rc == 0, n, "connect: %s", net_st(rc));
  net_check(C.c.secure == 1 && C.c.tls_active == 1, n, "secure=%d tls_active=%d", C.c.secure,
            C.c.tls_active);
  net_check(C.c.authenticated == 0 && C.c.jid[0] == 0, n, "authenticated before login");
  rc = xep0077_login(&C.c, user1, pass1, 10000);
  net_check(rc == 0, n, "login: %s (condition '%s', text '%s')", net_st(rc),
            C.c.error.condition, C.c.error.text);
  snprintf(want, sizeof want, "%s@localhost/interop", user1);
  net_check(!strcmp(C.c.jid, want), n, "jid '%s', want '%s'", C.c.jid, want);
  net_check(C.c.authenticated == 1 && C.c.secure == 1, n, "authenticated=%d secure=%d",
            C.c.authenticated, C.c.secure);
  /* The console must have shown the exchange, with the secrets redacted. */
  net_check(strstr(C.log, "<auth") && strstr(C.log, "SCRAM-SHA-1") && strstr(C.log, "***"), n,
            "console lacks the redacted <auth>:%s", C.log);
  net_check(!strstr(C.log, pass1), n, "the password appears in the XML console");
  net_check(strstr(C.log, "<jid>") != NULL, n, "console lacks the bind reply");
  rc = xep0077_close(&C.c, 5000);
  net_check(rc == 0, n, "close: %s", net_st(rc));
  /* after close: no operation may start */
  rc = xep0077_login(&C.c, user1, pass1, 1000);
  net_check(rc == XEP0077_ERR_STATE, n, "login after close: %s", net_st(rc));
  client_free(&C);
  tock(n);
}

/* No resource asked for: the server picks one. Username with ',' and '='
   (SCRAM saslname escaping), password with UTF-8. */
static void case_server_resource(void)
{
  const char *n = "server_resource_escaped_user";
  char want[128];
  int rc;
  tick();
  rc = client_open(&C, port_starttls, ca_good, "localhost", 0, NULL);
  if (!net_check(rc == 0, n, "client_open: %s", net_st(rc))) return;
  rc = xep0077_connect(&C.c, 10000);
  net_check(rc == 0, n, "connect: %s", net_st(rc));
  rc = xep0077_login(&C.c, user2, pass2, 10000);
  net_check(rc == 0, n, "login as '%s': %s (condition '%s', text '%s')", user2, net_st(rc),
            C.c.error.condition, C.c.error.text);
  snprintf(want, sizeof want, "%s@localhost/", user2);
  net_check(!strncmp(C.c.jid, want, strlen(want)) && strlen(C.c.jid) > strlen(want), n,
            "jid '%s', want '%s<something>'", C.c.jid, want);
  rc = xep0077_close(&C.c, 5000);
  net_check(rc == 0, n, "close: %s", net_st(rc));
  client_free(&C);
  tock(n);
}

/* XEP-0368: TLS from the first byte on the direct port. */
static void case_direct_tls(void)
{
  const char *n = "direct_tls_login";
  char want[128];
  int rc;
  tick();
  rc = client_open(&C, port_direct, ca_good, "localhost", 1, "direct");
  if (!net_check(rc == 0, n, "client_open: %s", net_st(rc))) return;
  rc = xep0077_connect(&C.c, 10000);
  net_check(rc == 0, n, "connect: %s", net_st(rc));
  net_check(C.c.secure == 1, n, "secure=%d", C.c.secure);
  net_check(!strstr(C.log, "starttls"), n, "STARTTLS on the direct TLS port:%s", C.log);
  rc = xep0077_login(&C.c, user1, pass1, 10000);
  net_check(rc == 0, n, "login: %s", net_st(rc));
  snprintf(want, sizeof want, "%s@localhost/direct", user1);
  net_check(!strcmp(C.c.jid, want), n, "jid '%s', want '%s'", C.c.jid, want);
  rc = xep0077_close(&C.c, 5000);
  net_check(rc == 0, n, "close: %s", net_st(rc));
  client_free(&C);
  tock(n);
}

/* Wrong password: SASL <failure><not-authorized/><text>…</text></failure>. */
static void case_wrong_password(void)
{
  const char *n = "wrong_password";
  int rc;
  tick();
  rc = client_open(&C, port_starttls, ca_good, "localhost", 0, NULL);
  if (!net_check(rc == 0, n, "client_open: %s", net_st(rc))) return;
  rc = xep0077_connect(&C.c, 10000);
  net_check(rc == 0, n, "connect: %s", net_st(rc));
  rc = xep0077_login(&C.c, user1, "not the password", 10000);
  net_check(rc == XEP0077_ERR_SASL_FAILED, n, "login: %s, want ERR_SASL_FAILED", net_st(rc));
  net_check(!strcmp(C.c.error.condition, "not-authorized"), n, "condition '%s'",
            C.c.error.condition);
  /* prosody: "The response provided by the client doesn&apos;t match ..." */
  net_check(strstr(C.c.error.text, "doesn't match") != NULL, n, "text '%s'", C.c.error.text);
  net_check(C.c.authenticated == 0 && C.c.jid[0] == 0, n, "authenticated=%d jid='%s'",
            C.c.authenticated, C.c.jid);
  rc = xep0077_login(&C.c, user1, pass1, 1000);
  net_check(rc == XEP0077_ERR_STATE, n, "login on the failed stream: %s", net_st(rc));
  client_free(&C);
  tock(n);
}

/* Unknown account: prosody fails right after <auth>, without a challenge. */
static void case_unknown_user(void)
{
  const char *n = "unknown_user";
  int rc;
  tick();
  rc = client_open(&C, port_starttls, ca_good, "localhost", 0, NULL);
  if (!net_check(rc == 0, n, "client_open: %s", net_st(rc))) return;
  rc = xep0077_connect(&C.c, 10000);
  net_check(rc == 0, n, "connect: %s", net_st(rc));
  rc = xep0077_login(&C.c, "nosuchuser-interop", "whatever", 10000);
  net_check(rc == XEP0077_ERR_SASL_FAILED, n, "login: %s", net_st(rc));
  net_check(!strcmp(C.c.error.condition, "not-authorized"), n, "condition '%s'",
            C.c.error.condition);
  client_free(&C);
  tock(n);
}

/* A trust store without the server's CA: the handshake itself fails. */
static void case_unknown_ca(int direct)
{
  const char *n = direct ? "unknown_ca_direct_tls" : "unknown_ca_starttls";
  int rc;
  tick();
  rc = client_open(&C, direct ? port_direct : port_starttls, ca_other, "localhost", direct, NULL);
  if (!net_check(rc == 0, n, "client_open: %s", net_st(rc))) return;
  rc = xep0077_connect(&C.c, 10000);
  net_check(rc == XEP0077_ERR_TLS_VERIFY, n, "connect: %s, want ERR_TLS_VERIFY", net_st(rc));
  net_check(C.c.secure == 0 && C.c.tls_active == 0, n, "secure=%d tls_active=%d", C.c.secure,
            C.c.tls_active);
  rc = xep0077_login(&C.c, user1, pass1, 1000);
  net_check(rc == XEP0077_ERR_STATE, n, "login after the failure: %s", net_st(rc));
  client_free(&C);
  tock(n);
}

/* The hostname check, as far as prosody lets us reach it. cfg.domain is at
   once the stream's to=, the SNI and the name the certificate must carry:
   - STARTTLS port, domain wrong.example: prosody answers the stream header
     with <host-unknown/> in plaintext; TLS never starts (ERR_STREAM).
   - direct TLS port, domain wrong.example: prosody 0.12.3 aborts the
     handshake with a fatal unrecognized_name alert (112) for every SNI it
     does not serve ("TLS handshake error: callback failed" in its log),
     before it sends any certificate; `openssl s_client -servername X` sees
     the same for wrong.example, localhost., LOCALHOST, foo.localhost. So
     the answer is ERR_TLS, not a certificate verdict.
   Neither isolates the name check: with a real server the name that fails
   the check is never one the server will present a certificate for. The
   isolated case (chain trusted, name wrong) is in tests/hostile.c, where a
   scripted server presents wrongname.crt (signed by ca.pem, SAN
   wrong.example) to a client that expects localhost: ERR_TLS_VERIFY.
   Here: both wrong.example cases fail without credentials, and a second
   SAN name (email.localhost) verifies, so the check is a name match. */
static void case_wrong_name(void)
{
  const char *n = "unserved_name_direct_tls";
  int rc;
  tick();
  rc = client_open(&C, port_direct, ca_good, "wrong.example", 1, NULL);
  if (!net_check(rc == 0, n, "client_open: %s", net_st(rc))) return;
  rc = xep0077_connect(&C.c, 10000);
  net_check(rc == XEP0077_ERR_TLS, n, "connect: %s, want ERR_TLS (prosody: unrecognized_name)",
            net_st(rc));
  net_check(C.c.secure == 0 && C.c.tls_active == 0, n, "secure=%d", C.c.secure);
  client_free(&C);
  tock(n);

  /* A second name from the certificate's SANs verifies (the check is a name
     match, not "always localhost"). */
  n = "hostname_san_direct_tls";
  tick();
  rc = client_open(&C, port_direct, ca_good, "email.localhost", 1, NULL);
  if (!net_check(rc == 0, n, "client_open: %s", net_st(rc))) return;
  rc = xep0077_connect(&C.c, 10000);
  net_check(rc == 0 && C.c.secure == 1, n, "connect: %s secure=%d", net_st(rc), C.c.secure);
  rc = xep0077_close(&C.c, 5000);
  net_check(rc == 0, n, "close: %s", net_st(rc));
  client_free(&C);
  tock(n);

  /* STARTTLS to an unserved name: a stream error, not a TLS verdict. */
  n = "unserved_domain_starttls";
  tick();
  rc = client_open(&C, port_starttls, ca_good, "wrong.example", 0, NULL);
  if (!net_check(rc == 0, n, "client_open: %s", net_st(rc))) return;
  rc = xep0077_connect(&C.c, 10000);
  net_check(rc == XEP0077_ERR_STREAM, n, "connect: %s, want ERR_STREAM", net_st(rc));
  net_check(!strcmp(C.c.error.condition, "host-unknown"), n, "condition '%s'", C.c.error.condition);
  net_check(!strstr(C.log, "<starttls"), n, "client sent STARTTLS after a stream error");
  client_free(&C);
  tock(n);
}

/* No TLS implementation configured: never a plaintext fallback. */
static void case_no_tls(void)
{
  const char *n = "no_tls_configured";
  int rc;
  tick();
  rc = client_open(&C, port_starttls, NULL, "localhost", 0, NULL);
  if (!net_check(rc == 0, n, "client_open: %s", net_st(rc))) return;
  rc = xep0077_connect(&C.c, 10000);
  net_check(rc == XEP0077_ERR_TLS_REQUIRED, n, "connect: %s", net_st(rc));
  client_free(&C);
  tock(n);
}

/* Certificate not verified but the handshake allowed to finish (test-only
   switch): the stream is up, not secure, and login refuses. */
static void case_skip_verify(void)
{
  const char *n = "skip_verify_refuses_login";
  int rc;
  tick();
  rc = client_open(&C, port_starttls, ca_other, "localhost", 0, NULL);
  if (!net_check(rc == 0, n, "client_open: %s", net_st(rc))) return;
  xep0077_mbedtls_insecure_skip_verify(&C.t);
  rc = xep0077_connect(&C.c, 10000);
  net_check(rc == 0, n, "connect: %s", net_st(rc));
  net_check(C.c.secure == 0 && C.c.tls_active == 1, n, "secure=%d tls_active=%d", C.c.secure,
            C.c.tls_active);
  rc = xep0077_login(&C.c, user1, pass1, 5000);
  net_check(rc == XEP0077_ERR_INSECURE, n, "login: %s, want ERR_INSECURE", net_st(rc));
  net_check(!strstr(C.log, "<auth"), n, "<auth> sent over unverified TLS");
  rc = xep0077_close(&C.c, 5000);
  net_check(rc == 0, n, "close: %s", net_st(rc));
  client_free(&C);
  tock(n);
}

/* The blocking calls with a wait callback that sleeps as long as asked:
   STARTTLS must not stall. (Every other case caps the sleep at 50 ms, which
   a wait callback may always do, so that this one bug shows up here only.) */
static void case_blocking_uncapped_wait(int direct)
{
  const char *n = direct ? "blocking_uncapped_wait_direct" : "blocking_uncapped_wait_starttls";
  unsigned long ms;
  int rc;
  tick();
  rc = client_open(&C, direct ? port_direct : port_starttls, ca_good, "localhost", direct, NULL);
  if (!net_check(rc == 0, n, "client_open: %s", net_st(rc))) return;
  C.s.wait_cap_ms = 0;
  rc = xep0077_connect(&C.c, 3000);
  ms = net_now_ms(NULL) - t0;
  net_check(rc == 0, n, "connect: %s after %lu ms (log:%s)", net_st(rc), ms, C.log);
  net_check(ms < 2000, n, "connect took %lu ms", ms);
  if (rc == 0) {
    rc = xep0077_login(&C.c, user1, pass1, 3000);
    net_check(rc == 0, n, "login: %s", net_st(rc));
    rc = xep0077_close(&C.c, 3000);
    net_check(rc == 0, n, "close: %s", net_st(rc));
  }
  client_free(&C);
  tock(n);
}

/* API order: login before connect, connect twice. */
static void case_state(void)
{
  const char *n = "call_order";
  int rc;
  tick();
  rc = client_open(&C, port_starttls, ca_good, "localhost", 0, NULL);
  if (!net_check(rc == 0, n, "client_open: %s", net_st(rc))) return;
  rc = xep0077_login(&C.c, user1, pass1, 1000);
  net_check(rc == XEP0077_ERR_STATE, n, "login before connect: %s", net_st(rc));
  rc = xep0077_connect(&C.c, 10000);
  net_check(rc == 0, n, "connect: %s", net_st(rc));
  rc = xep0077_connect(&C.c, 10000);
  net_check(rc == XEP0077_ERR_STATE, n, "second connect: %s", net_st(rc));
  rc = xep0077_login(&C.c, user1, "", 1000);
  net_check(rc == XEP0077_ERR_ARG || rc == XEP0077_ERR_SASL_FAILED, n, "empty password: %s",
            net_st(rc));
  rc = xep0077_close(&C.c, 5000);
  net_check(rc == 0, n, "close: %s", net_st(rc));
  client_free(&C);
  tock(n);
}

/* A game loop: poll() the socket for at most one 16 ms frame, then pump the
   library once, whatever poll() said. Returns the operation's status. */
static int frames_run(xep0077 *c, int rc, unsigned long budget_ms, unsigned long *frames,
                      unsigned long *readable, unsigned long *slowest)
{
  unsigned long start = net_now_ms(NULL);
  while (rc == XEP0077_PENDING && *frames < 100000 && net_now_ms(NULL) - start < budget_ms) {
    struct pollfd p;
    unsigned long a;
    p.fd = C.s.fd;
    p.events = POLLIN;
    p.revents = 0;
    if (poll(&p, 1, 16) > 0) (*readable)++;
    a = net_now_ms(NULL);
    rc = xep0077_poll(c);
    a = net_now_ms(NULL) - a;
    if (a > *slowest) *slowest = a;
    (*frames)++;
  }
  return rc;
}

static void case_nonblocking(void)
{
  const char *n = "nonblocking_frames";
  unsigned long f1 = 0, f2 = 0, f3 = 0, r = 0, slow = 0, idle;
  char want[128];
  int rc;
  tick();
  rc = client_open(&C, port_starttls, ca_good, "localhost", 0, "frames");
  if (!net_check(rc == 0, n, "client_open: %s", net_st(rc))) return;
  C.c.cfg.wait = NULL; /* nobody may block: the loop below is the only wait */
  rc = xep0077_connect_start(&C.c, 10000);
  net_check(rc == XEP0077_PENDING, n, "connect_start: %s", net_st(rc));
  rc = frames_run(&C.c, rc, 15000, &f1, &r, &slow);
  net_check(rc == 0, n, "connect: %s after %lu frames", net_st(rc), f1);
  net_check(f1 >= 3, n, "connect done in %lu frames: the calls blocked?", f1);
  net_check(C.c.secure == 1, n, "secure=%d", C.c.secure);
  rc = xep0077_login_start(&C.c, user1, pass1, 10000);
  net_check(rc == XEP0077_PENDING, n, "login_start: %s", net_st(rc));
  rc = frames_run(&C.c, rc, 15000, &f2, &r, &slow);
  net_check(rc == 0, n, "login: %s after %lu frames", net_st(rc), f2);
  snprintf(want, sizeof want, "%s@localhost/frames", user1);
  net_check(!strcmp(C.c.jid, want), n, "jid '%s', want '%s'", C.c.jid, want);
  /* Idle frames with no operation: poll() returns 0 and changes nothing. */
  for (idle = 0; idle < 5; idle++) {
    rc = xep0077_poll(&C.c);
    if (rc != 0) break;
  }
  net_check(rc == 0, n, "idle poll: %s", net_st(rc));
  rc = xep0077_close_start(&C.c, 5000);
  net_check(rc == XEP0077_PENDING, n, "close_start: %s", net_st(rc));
  rc = frames_run(&C.c, rc, 10000, &f3, &r, &slow);
  net_check(rc == 0, n, "close: %s after %lu frames", net_st(rc), f3);
  /* PBKDF2 of prosody's 10000 iterations runs inside one frame. */
  net_check(slow < 2000, n, "one xep0077_poll call took %lu ms", slow);
  printf("  frames: connect %lu, login %lu, close %lu; socket readable in %lu; slowest call %lu ms\n",
         f1, f2, f3, r, slow);
  client_free(&C);
  tock(n);
}

int main(int argc, char **argv)
{
  unsigned long all;
  if (argc != 4) {
    fprintf(stderr, "usage: %s DIR PORT DIRECT_TLS_PORT\n", argv[0]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  dir = argv[1];
  port_starttls = atoi(argv[2]);
  port_direct = atoi(argv[3]);
  snprintf(ca_good, sizeof ca_good, "%s/ca.pem", dir);
  snprintf(ca_other, sizeof ca_other, "%s/other-ca.pem", dir);
  snprintf(prosody_cfg, sizeof prosody_cfg, "%s/prosody.cfg.lua", dir);
  if (access(ca_good, R_OK) || access(prosody_cfg, R_OK)) {
    printf("FAIL setup: %s or %s missing: was prosody started with tests/prosody.sh?\n", ca_good,
           prosody_cfg);
    printf("0 passed, 1 failed\n");
    return 1;
  }
  /* Names unique to this run, so a rerun against the same DIR still works. */
  snprintf(user1, sizeof user1, "interop%ld", (long)getpid());
  /* ',' and '=' travel as =2C / =3D. Not "n=" anywhere in the escaped
     form: prosody 0.12.3's client-first pattern (util/sasl/scram.lua,
     "m?=?[^,]*,?n=([^,]*)") backtracks onto a later "n=" and looks up the
     wrong user, so "i,n=x" fails there whatever the client does. */
  snprintf(user2, sizeof user2, "u,x=y%ld", (long)getpid());
  if (!net_check(make_account(user1, pass1) == 0, "setup", "prosodyctl register %s failed", user1) ||
      !net_check(make_account(user2, pass2) == 0, "setup", "prosodyctl register %s failed", user2))
    return net_summary();

  all = net_now_ms(NULL);
  case_starttls_login();
  case_server_resource();
  case_direct_tls();
  case_wrong_password();
  case_unknown_user();
  case_unknown_ca(0);
  case_unknown_ca(1);
  case_wrong_name();
  case_no_tls();
  case_skip_verify();
  case_state();
  case_blocking_uncapped_wait(1);
  case_blocking_uncapped_wait(0);
  case_nonblocking();
  printf("  total %lu ms\n", net_now_ms(NULL) - all);
  return net_summary();
}
