/* tests/interop_register.c -- In-Band Registration (xep0077.h section 4)
   against a real prosody 0.12, virtual hosts as tests/prosody.sh sets them up:

     localhost           open registration: the whole account lifecycle
     reg.localhost       open: registration addressed to a service JID
     closed.localhost    allow_registration = false
     email.localhost     additional_registration_fields = { "email+" }
     throttle.localhost  one registration per IP per hour, loopback included

     interop_register DIR PORT DIRECT_TLS_PORT

   DIR is where `tests/prosody.sh start DIR PORT DIRECT_TLS_PORT` put the
   server (ca.pem for the STARTTLS certificate check). tests/interop_register.sh
   starts prosody on 15322/15323, runs this, stops it. Only 127.0.0.1 is
   contacted. Usernames are unique per run (time and pid).

   The lifecycle steps print as "step                          OK" (or FAIL)
   so the output pastes into a report; every failed check also prints
   "FAIL name: detail"; the last line is "N passed, N failed".

   What prosody sends is in /work/notes/prosody.md. */
#define XEP0077_IMPLEMENTATION
#define XEP0077_MBEDTLS
#include "xep0077.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- a loopback TCP socket behind the library's callbacks ----------------
   (the same contract as tests/net.h, kept here so that file can change) */
static unsigned long now_ms(void *user)
{
  struct timespec ts;
  (void)user;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (unsigned long)ts.tv_sec * 1000ul + (unsigned long)(ts.tv_nsec / 1000000);
}

static int sock_connect(int port)
{
  struct sockaddr_in a;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int sock_send(void *io, const unsigned char *buf, size_t len)
{
  int fd = *(int *)io;
  for (;;) {
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
    if (n >= 0) return (int)n;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK ? XEP0077_WANT_WRITE : -1;
  }
}

static int sock_recv(void *io, unsigned char *buf, size_t len)
{
  int fd = *(int *)io;
  for (;;) {
    ssize_t n = recv(fd, buf, len, 0);
    if (n >= 0) return (int)n;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK ? XEP0077_WANT_READ : -1;
  }
}

static void sock_wait(void *io, int want_write, unsigned long ms)
{
  struct pollfd p;
  p.fd = *(int *)io;
  p.events = (short)(POLLIN | (want_write ? POLLOUT : 0));
  p.revents = 0;
  if (ms > 100) ms = 100; /* a wake-up now and then costs nothing here */
  (void)poll(&p, 1, (int)ms);
}

/* ---- checks ---------------------------------------------------------------- */
static const char *find_bytes(const void *hay, size_t hn, const char *needle, size_t nn)
{
  const char *h = (const char *)hay;
  size_t i;
  for (i = 0; i + nn <= hn; i++)
    if (!memcmp(h + i, needle, nn)) return h + i;
  return NULL;
}

static int n_pass, n_fail;

static int check(int ok, const char *name, const char *fmt, ...)
{
  if (ok) {
    n_pass++;
  } else {
    va_list ap;
    n_fail++;
    printf("FAIL %s: ", name);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
  }
  fflush(stdout);
  return ok;
}

/* One lifecycle line: "name                          OK". */
static void step(const char *name, int ok)
{
  printf("%-31s %s\n", name, ok ? "OK" : "FAIL");
  fflush(stdout);
}

static const char *st(int rc)
{
  static char b[4][64];
  static int i;
  i = (i + 1) & 3;
  snprintf(b[i], sizeof b[i], "%s (%d)", xep0077_status_name(rc), rc);
  return b[i];
}

/* ---- one client connection ------------------------------------------------ */
typedef struct conn {
  int fd;
  xep0077_mbedtls t;
  int t_ready;
  xep0077_config cfg;
  xep0077 c;
  char log[65536];
  size_t log_len;
} conn;

static conn C;
static char ca_file[512];
static int port_starttls, port_direct;

static void on_log(void *user, int dir, const char *text, size_t len)
{
  conn *k = (conn *)user;
  const char *tag = dir == XEP0077_LOG_IN ? "\nS: " : dir == XEP0077_LOG_OUT ? "\nC: " : "\n-- ";
  size_t tl = strlen(tag);
  if (k->log_len + tl + len + 1 > sizeof k->log) return;
  memcpy(k->log + k->log_len, tag, tl);
  memcpy(k->log + k->log_len + tl, text, len);
  k->log_len += tl + len;
  k->log[k->log_len] = 0;
}

static void conn_free(conn *k)
{
  if (k->fd >= 0) close(k->fd);
  k->fd = -1;
  if (k->t_ready) xep0077_mbedtls_free(&k->t);
  k->t_ready = 0;
}

/* TCP + TLS (verified against the test CA, for `domain`) + stream features. */
static int conn_open(conn *k, const char *domain, int direct)
{
  int rc;
  memset(&k->c, 0, sizeof k->c);
  k->log_len = 0;
  k->log[0] = 0;
  k->t_ready = 0;
  k->fd = sock_connect(direct ? port_direct : port_starttls);
  if (k->fd < 0) return -1000;
  if ((rc = xep0077_mbedtls_init(&k->t, NULL, ca_file)) != 0) {
    xep0077_mbedtls_free(&k->t);
    conn_free(k);
    return rc;
  }
  k->t_ready = 1;
  memset(&k->cfg, 0, sizeof k->cfg);
  k->cfg.domain = domain;
  k->cfg.send = sock_send;
  k->cfg.recv = sock_recv;
  k->cfg.io = &k->fd;
  k->cfg.now_ms = now_ms;
  k->cfg.wait = sock_wait;
  k->cfg.log = on_log;
  k->cfg.user = k;
  k->cfg.tls = &k->t.tls;
  k->cfg.crypto = &k->t.crypto;
  k->cfg.direct_tls = direct;
  k->cfg.resource = "ibr";
  k->cfg.timeout_ms = 10000;
  if ((rc = xep0077_init(&k->c, &k->cfg)) != 0) {
    conn_free(k);
    return rc;
  }
  rc = xep0077_connect(&k->c, 10000);
  if (rc) conn_free(k);
  return rc;
}

static void conn_close(conn *k)
{
  (void)xep0077_close(&k->c, 3000);
  conn_free(k);
}

/* ---- the cases ------------------------------------------------------------ */
static char user[64], user_dup[64], user_svc[64], user_email[64], user_t1[64], user_t2[64];
static char pass1[] = "Ibr-pass 1 <&>";
static char pass2[] = "Ibr-pass 2 \xC3\xA4\xC3\xB6";

static xep0077_query Q;

static void fields_to_register(xep0077_query *q, const char *u, const char *p)
{
  xep0077_query_set(q, "username", u);
  xep0077_query_set(q, "password", p);
}

/* Register `u` with `p` on `domain` (a fresh connection, fields first). */
static int register_on(const char *domain, const char *u, const char *p, const char *name)
{
  int rc = conn_open(&C, domain, 0);
  if (!check(rc == 0, name, "connect to %s: %s", domain, st(rc))) return rc;
  xep0077_query_clear(&Q);
  rc = xep0077_get_registration_fields(&C.c, NULL, &Q, 10000);
  if (rc == 0) {
    fields_to_register(&Q, u, p);
    rc = xep0077_register(&C.c, NULL, &Q, 10000);
  }
  return rc;
}

static void lifecycle(void)
{
  const char *n;
  const char *names[16];
  int rc, nn, ok;

  /* 1. the fields, on localhost (open registration) */
  n = "fields";
  rc = conn_open(&C, "localhost", 0);
  if (!check(rc == 0, n, "connect: %s", st(rc))) {
    step(n, 0);
    return;
  }
  check(C.c.secure == 1, n, "TLS not verified (secure=%d)", C.c.secure);
  xep0077_query_clear(&Q);
  rc = xep0077_get_registration_fields(&C.c, NULL, &Q, 10000);
  ok = check(rc == 0, n, "get_registration_fields: %s", st(rc));
  nn = xep0077_get_used_fields(&Q, names, 16);
  ok &= check(nn == 2 && !strcmp(names[0], "username") && !strcmp(names[1], "password"), n,
              "used fields: %d (%s, %s)", nn, nn > 0 ? names[0] : "-", nn > 1 ? names[1] : "-");
  ok &= check(Q.instructions && !strcmp(Q.instructions, "Choose a username and password for use with this service."),
              n, "instructions: %s", Q.instructions ? Q.instructions : "NULL");
  ok &= check(Q.form_present && Q.form_type && !strcmp(Q.form_type, "jabber:iq:register") &&
                  Q.form_title && !strcmp(Q.form_title, "Creating a new account"),
              n, "form: present %d, type %s, title %s", Q.form_present,
              Q.form_type ? Q.form_type : "NULL", Q.form_title ? Q.form_title : "NULL");
  ok &= check(Q.registered == 0, n, "registered = %d", Q.registered);
  ok &= check(xep0077_query_missing(&Q) && !strcmp(xep0077_query_missing(&Q), "username"), n,
              "query_missing: %s", xep0077_query_missing(&Q) ? xep0077_query_missing(&Q) : "NULL");
  step("get_registration_fields", ok);

  /* 2. register */
  n = "register";
  fields_to_register(&Q, user, pass1);
  rc = xep0077_register(&C.c, NULL, &Q, 10000);
  ok = check(rc == 0, n, "register %s: %s (%s: %s)", user, st(rc), C.c.error.condition,
             C.c.error.text);
  ok &= check(!strstr(C.log, pass1), n, "the password is in the XML console");
  ok &= check(!find_bytes(&C.c, sizeof C.c, pass1, strlen(pass1)), n,
              "the password is still in the xep0077 struct");
  ok &= check(strstr(C.log, "type='submit'") != NULL, n, "the form was not submitted:%s", C.log);
  step("register", ok);

  /* 3. log in on the same stream */
  n = "login (same stream)";
  rc = xep0077_login(&C.c, user, pass1, 10000);
  ok = check(rc == 0, n, "login: %s (%s: %s)", st(rc), C.c.error.condition, C.c.error.text);
  {
    char want[128];
    snprintf(want, sizeof want, "%s@localhost/ibr", user);
    ok &= check(!strcmp(C.c.jid, want), n, "jid %s, want %s", C.c.jid, want);
  }
  step("login on the same stream", ok);

  /* 4. what the server holds */
  n = "get_client_info";
  rc = xep0077_get_client_info(&C.c, &Q, 10000);
  ok = check(rc == 0, n, "%s", st(rc));
  ok &= check(Q.registered == 1, n, "registered = %d", Q.registered);
  ok &= check(xep0077_query_get(&Q, "username") && !strcmp(xep0077_query_get(&Q, "username"), user),
              n, "username %s", xep0077_query_get(&Q, "username") ? xep0077_query_get(&Q, "username") : "NULL");
  step("get_client_info", ok);

  /* 5. change the password */
  n = "change_pass";
  rc = xep0077_change_pass(&C.c, NULL, pass2, pass1, 10000);
  ok = check(rc == 0, n, "%s (%s: %s)", st(rc), C.c.error.condition, C.c.error.text);
  ok &= check(!strstr(C.log, pass1) && !strstr(C.log, pass2), n, "a password is in the console");
  ok &= check(!find_bytes(&C.c, sizeof C.c, pass1, strlen(pass1)) &&
                  !find_bytes(&C.c, sizeof C.c, pass2, strlen(pass2)),
              n, "a password is still in the xep0077 struct");
  step("change_pass", ok);
  conn_close(&C);

  /* 6. the old password no longer works */
  n = "old password refused";
  rc = conn_open(&C, "localhost", 0);
  ok = check(rc == 0, n, "connect: %s", st(rc));
  if (rc == 0) {
    rc = xep0077_login(&C.c, user, pass1, 10000);
    ok &= check(rc == XEP0077_ERR_SASL_FAILED, n, "login with the old password: %s", st(rc));
    ok &= check(!strcmp(C.c.error.condition, "not-authorized"), n, "condition %s",
                C.c.error.condition);
    conn_close(&C);
  }
  step("old password refused", ok);

  /* 7. the new one does */
  n = "new password";
  rc = conn_open(&C, "localhost", 0);
  ok = check(rc == 0, n, "connect: %s", st(rc));
  if (rc == 0) {
    rc = xep0077_login(&C.c, user, pass2, 10000);
    ok &= check(rc == 0, n, "login with the new password: %s (%s)", st(rc), C.c.error.condition);
  }
  step("new password works", ok);

  /* 8. delete the account: prosody answers with the result, then
     <not-authorized/> "Account deleted" and closes */
  n = "cancel_registration";
  if (rc == 0) {
    rc = xep0077_cancel_registration(&C.c, &Q, 10000);
    ok = check(rc == 0, n, "%s (%s: %s)", st(rc), C.c.error.condition, C.c.error.text);
    ok &= check(C.c.error.condition[0] == 0, n, "c.error after success: %s / %s",
                C.c.error.condition, C.c.error.text);
    rc = xep0077_poll(&C.c);
    ok &= check(rc == 0, n, "poll after the cancel: %s", st(rc));
    rc = xep0077_close(&C.c, 3000);
    ok &= check(rc == 0, n, "close after the cancel: %s", st(rc));
  } else {
    ok = 0;
  }
  conn_free(&C);
  step("cancel_registration", ok);

  /* 9. the account is gone */
  n = "login after cancel";
  rc = conn_open(&C, "localhost", 0);
  ok = check(rc == 0, n, "connect: %s", st(rc));
  if (rc == 0) {
    rc = xep0077_login(&C.c, user, pass2, 10000);
    ok &= check(rc == XEP0077_ERR_SASL_FAILED, n, "login to the deleted account: %s", st(rc));
    ok &= check(!strcmp(C.c.error.condition, "not-authorized"), n, "condition %s",
                C.c.error.condition);
    conn_close(&C);
  }
  step("login after cancel refused", ok);
}

/* The same username twice: conflict, with prosody's text. */
static void conflict(void)
{
  const char *n = "conflict";
  int rc, ok;
  rc = register_on("localhost", user_dup, pass1, n);
  ok = check(rc == 0, n, "first registration: %s (%s)", st(rc), C.c.error.condition);
  conn_close(&C);
  rc = register_on("localhost", user_dup, pass2, n);
  ok &= check(rc == XEP0077_ERR_IQ, n, "second registration: %s", st(rc));
  ok &= check(!strcmp(C.c.error.condition, "conflict") && !strcmp(C.c.error.type, "cancel"), n,
              "error %s/%s", C.c.error.condition, C.c.error.type);
  ok &= check(!strcmp(C.c.error.text, "The requested username already exists."), n, "text '%s'",
              C.c.error.text);
  conn_close(&C);
  step("same username twice: conflict", ok);
}

/* closed.localhost: no registration at all. */
static void closed_host(void)
{
  const char *n = "closed.localhost";
  int rc, ok;
  rc = conn_open(&C, "closed.localhost", 0);
  ok = check(rc == 0, n, "connect: %s", st(rc));
  if (rc == 0) {
    check(!(C.c.features & XEP0077__FT_REGISTER), n, "closed.localhost advertises <register/>");
    xep0077_query_clear(&Q);
    rc = xep0077_get_registration_fields(&C.c, NULL, &Q, 10000);
    ok &= check(rc == XEP0077_ERR_IQ, n, "get_registration_fields: %s", st(rc));
    ok &= check(!strcmp(C.c.error.condition, "service-unavailable") &&
                    !strcmp(C.c.error.type, "cancel"),
                n, "error %s/%s", C.c.error.condition, C.c.error.type);
    xep0077_query_clear(&Q);
    fields_to_register(&Q, user_dup, pass1);
    rc = xep0077_register(&C.c, NULL, &Q, 10000);
    ok &= check(rc == XEP0077_ERR_IQ, n, "register: %s", st(rc));
    ok &= check(!strcmp(C.c.error.condition, "service-unavailable"), n, "error %s",
                C.c.error.condition);
    conn_close(&C);
  }
  step("closed.localhost refused", ok);
}

/* email.localhost: email is required; set through the form it passes. */
static void email_host(void)
{
  const char *n = "email.localhost";
  int rc, ok, i, found = 0;
  rc = conn_open(&C, "email.localhost", 0);
  ok = check(rc == 0, n, "connect: %s", st(rc));
  if (rc != 0) {
    step("email.localhost", 0);
    return;
  }
  xep0077_query_clear(&Q);
  rc = xep0077_get_registration_fields(&C.c, NULL, &Q, 10000);
  ok &= check(rc == 0, n, "get_registration_fields: %s", st(rc));
  for (i = 0; i < Q.nform; i++)
    if (Q.form[i].var && !strcmp(Q.form[i].var, "email"))
      found = Q.form[i].required && Q.form[i].label && !strcmp(Q.form[i].label, "Email");
  ok &= check(found, n, "no required 'Email' field in the form");
  fields_to_register(&Q, user_email, pass1);
  ok &= check(xep0077_query_missing(&Q) && !strcmp(xep0077_query_missing(&Q), "email"), n,
              "query_missing: %s", xep0077_query_missing(&Q) ? xep0077_query_missing(&Q) : "NULL");
  rc = xep0077_register(&C.c, NULL, &Q, 10000);
  ok &= check(rc == XEP0077_ERR_IQ, n, "register without email: %s", st(rc));
  ok &= check(!strcmp(C.c.error.condition, "not-acceptable") && !strcmp(C.c.error.type, "modify"),
              n, "error %s/%s", C.c.error.condition, C.c.error.type);
  ok &= check(!strcmp(C.c.error.text, "Email: Required value missing"), n, "text '%s'",
              C.c.error.text);
  step("email.localhost without email", ok);

  ok = 1;
  xep0077_query_clear(&Q);
  rc = xep0077_get_registration_fields(&C.c, NULL, &Q, 10000);
  ok &= check(rc == 0 && Q.form_present, n, "get_registration_fields again: %s", st(rc));
  fields_to_register(&Q, user_email, pass1);
  xep0077_query_set(&Q, "email", "ibr@example.org");
  rc = xep0077_register(&C.c, NULL, &Q, 10000);
  ok &= check(rc == 0, n, "register with email (form): %s (%s: %s)", st(rc), C.c.error.condition,
              C.c.error.text);
  ok &= check(strstr(C.log, "<field var='email'><value>ibr@example.org</value></field>") != NULL,
              n, "the email did not go in the form");
  rc = xep0077_login(&C.c, user_email, pass1, 10000);
  ok &= check(rc == 0, n, "login as the new account: %s", st(rc));
  conn_close(&C);
  step("email.localhost with email", ok);
}

/* throttle.localhost: the second registration from 127.0.0.1 is refused. */
static void throttle_host(void)
{
  const char *n = "throttle.localhost";
  int rc, ok;
  rc = register_on("throttle.localhost", user_t1, pass1, n);
  ok = check(rc == 0, n, "first registration: %s (%s: %s)", st(rc), C.c.error.condition,
             C.c.error.text);
  conn_close(&C);
  rc = register_on("throttle.localhost", user_t2, pass1, n);
  ok &= check(rc == XEP0077_ERR_IQ, n, "second registration: %s", st(rc));
  ok &= check(!strcmp(C.c.error.condition, "policy-violation") && !strcmp(C.c.error.type, "wait"),
              n, "error %s/%s", C.c.error.condition, C.c.error.type);
  ok &= check(!strcmp(C.c.error.text, "Too many registrations from this IP address recently"), n,
              "text '%s'", C.c.error.text);
  conn_close(&C);
  step("throttle.localhost 2nd refused", ok);
}

/* A stream to localhost registering with the service JID reg.localhost:
   the reply comes from it; the account works there. closed.localhost
   addressed the same way answers service-unavailable. */
static void service_jid(void)
{
  const char *n = "service JID";
  int rc, ok;
  rc = conn_open(&C, "localhost", 0);
  ok = check(rc == 0, n, "connect: %s", st(rc));
  if (rc != 0) {
    step("register to reg.localhost", 0);
    return;
  }
  xep0077_query_clear(&Q);
  rc = xep0077_get_registration_fields(&C.c, "reg.localhost", &Q, 10000);
  ok &= check(rc == 0 && Q.form_present, n, "fields from reg.localhost: %s", st(rc));
  fields_to_register(&Q, user_svc, pass1);
  rc = xep0077_register(&C.c, "reg.localhost", &Q, 10000);
  ok &= check(rc == 0, n, "register to reg.localhost: %s (%s)", st(rc), C.c.error.condition);
  xep0077_query_clear(&Q);
  rc = xep0077_get_registration_fields(&C.c, "closed.localhost", &Q, 10000);
  ok &= check(rc == XEP0077_ERR_IQ && !strcmp(C.c.error.condition, "service-unavailable"), n,
              "fields from closed.localhost: %s %s", st(rc), C.c.error.condition);
  conn_close(&C);
  rc = conn_open(&C, "reg.localhost", 0);
  ok &= check(rc == 0, n, "connect to reg.localhost: %s", st(rc));
  if (rc == 0) {
    rc = xep0077_login(&C.c, user_svc, pass1, 10000);
    ok &= check(rc == 0, n, "login at reg.localhost: %s", st(rc));
    conn_close(&C);
  }
  step("register to reg.localhost", ok);
}

/* XEP-0368 direct TLS: the fields over the other port, the pump API. */
static void direct_tls_pump(void)
{
  const char *n = "direct TLS, pump";
  int rc, ok, polls = 0;
  rc = conn_open(&C, "localhost", 1);
  ok = check(rc == 0, n, "connect: %s", st(rc));
  if (rc == 0) {
    xep0077_query_clear(&Q);
    rc = xep0077_get_registration_fields_start(&C.c, NULL, &Q, 10000);
    while (rc == XEP0077_PENDING && polls++ < 100000) {
      sock_wait(&C.fd, 0, 50);
      rc = xep0077_poll(&C.c);
    }
    ok &= check(rc == 0 && Q.form_present, n, "get_registration_fields_start + poll: %s", st(rc));
    conn_close(&C);
  }
  step("fields over direct TLS (pump)", ok);
}

int main(int argc, char **argv)
{
  unsigned long t = (unsigned long)time(NULL) % 100000000ul;
  long pid = (long)getpid();
  if (argc != 4) {
    fprintf(stderr, "usage: %s DIR PORT DIRECT_TLS_PORT\n", argv[0]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  snprintf(ca_file, sizeof ca_file, "%s/ca.pem", argv[1]);
  port_starttls = atoi(argv[2]);
  port_direct = atoi(argv[3]);
  C.fd = -1;
  if (access(ca_file, R_OK)) {
    printf("FAIL setup: %s missing: was prosody started with tests/prosody.sh?\n", ca_file);
    printf("0 passed, 1 failed\n");
    return 1;
  }
  snprintf(user, sizeof user, "ibr%lu%ld", t, pid);
  snprintf(user_dup, sizeof user_dup, "dup%lu%ld", t, pid);
  snprintf(user_svc, sizeof user_svc, "svc%lu%ld", t, pid);
  snprintf(user_email, sizeof user_email, "mail%lu%ld", t, pid);
  snprintf(user_t1, sizeof user_t1, "thr1x%lu%ld", t, pid);
  snprintf(user_t2, sizeof user_t2, "thr2x%lu%ld", t, pid);
  printf("prosody on 127.0.0.1:%d (STARTTLS) and :%d (direct TLS), user %s\n", port_starttls,
         port_direct, user);
  lifecycle();
  conflict();
  closed_host();
  email_host();
  throttle_host();
  service_jid();
  direct_tls_pump();
  printf("%d passed, %d failed\n", n_pass, n_fail);
  return n_fail ? 1 : 0;
}
