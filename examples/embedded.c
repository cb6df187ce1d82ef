/* embedded.c -- a firmware superloop creates an XMPP account, logs in with
   it and deletes it again, with xep0077.h: static memory only, no heap, no
   stdio, and the library driven by its non-blocking pump.

     net open -> connect (STARTTLS) -> get fields -> register -> log in
              -> cancel registration -> close

   The board is reached only through the BOARD API declared below: a modem
   or network stack that moves bytes without blocking, a millisecond tick,
   a log sink for whole strings, an RNG and a device id. One file, two builds.

   Firmware (the default), e.g. a Cortex-M4:

       arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -Os -ffunction-sections \
         -fdata-sections -std=c99 -Wall -Wextra -Werror -I. examples/embedded.c \
         -Wl,--gc-sections --specs=nosys.specs -o build/embedded-m4.elf

     The board functions are weak placeholders that the real firmware
     overrides (a driver file defines them; nothing here changes). TLS is a
     PLACEHOLDER vtable that claims a verified certificate -- Debian ships no
     mbedTLS for arm-none-eabi, and the point of this build is to compile,
     link and measure (examples/size.sh). It is not meant to run, and
     -DEMBEDDED_RELEASE refuses to build it.

   Host demo (-DEMBEDDED_HOST_DEMO): the same flow over a POSIX socket and
   the library's mbedTLS glue, against a real server. This is the proof
   that the firmware flow works:

       gcc -std=c99 -D_POSIX_C_SOURCE=200809L -DEMBEDDED_HOST_DEMO -I. \
         examples/embedded.c -o build/embedded -lmbedtls -lmbedx509 -lmbedcrypto
       build/embedded --connect 127.0.0.1:5222 --cafile ca.pem --domain localhost

     Options: -v prints the XML console (secrets show as ***); --plain gives
     the library no SCRAM crypto, as on the placeholder firmware build, so
     it logs in with PLAIN (over verified TLS only). -DEMBEDDED_NO_MBEDTLS
     uses the placeholder TLS on the host too (it then cannot talk to a
     server that requires TLS: it only compiles).

   The library never calls malloc and, with XEP0077_ASSERT set as below, no
   stdio either; the host demo's board functions use stdio, the firmware's
   do not. */
#ifdef EMBEDDED_HOST_DEMO
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#else
#ifndef EMBEDDED_NO_MBEDTLS
#define EMBEDDED_NO_MBEDTLS /* no mbedTLS for the target: placeholder TLS */
#endif
#endif

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ==== BOARD API ==========================================================
   What the firmware provides. The network calls never block: they return
   NET_EAGAIN when the modem cannot take or give bytes now. */
#define NET_EAGAIN (-11) /* would block: try again on a later turn        */
#define NET_ERROR (-1)   /* the link failed                                */

/* Start or continue opening the one TCP connection: 0 once it is open,
   NET_EAGAIN while it opens (call again), NET_ERROR when it failed. */
int net_open(const char *host, uint16_t port);
/* Bytes accepted (a short count is normal), NET_EAGAIN, or NET_ERROR. */
int net_send(const void *buf, size_t len);
/* Bytes received, 0 when the peer closed, NET_EAGAIN, or NET_ERROR. */
int net_recv(void *buf, size_t len);
void net_close(void);
uint32_t millis(void);                    /* free-running, wraps at 2^32 */
void board_idle(uint32_t max_ms);         /* sleep until an IRQ or max_ms */
void board_log(const char *s);            /* a UART/RTT sink, whole strings */
void board_random(void *buf, size_t len); /* the TRNG                      */
uint32_t board_device_id(void);           /* e.g. the MCU's unique id      */
void board_fault(void);                   /* does not return               */

/* ==== The library, sized for a small MCU ================================
   Every buffer lives in the two static objects below; these sizes carry
   prosody's registration form and SASL exchange (checked by the host demo
   against prosody 0.12). A server with bigger forms or CAPTCHAs needs more
   XEP0077_QUERY_* and XEP0077_XML_SIZE. */
#define XEP0077_IN_SIZE 512      /* one read from the modem                */
#define XEP0077_OUT_SIZE 1024    /* the largest stanza we send             */
#define XEP0077_XML_SIZE 2048    /* open start tags + one text piece       */
#define XEP0077_TEXT_SIZE 128    /* the server's error text, truncated     */
#define XEP0077_JID_SIZE 96
#define XEP0077_QUERY_POOL 1024
#define XEP0077_QUERY_FIELDS 8
#define XEP0077_QUERY_ITEMS 16
#define XEP0077_XML_MAX_DEPTH 10
#define XEP0077_XML_MAX_ATTRS 8
#define XEP0077_XML_MAX_NS 8
/* The default assert() reaches newlib's __assert_func and fiprintf: trap. */
#define XEP0077_ASSERT(x) ((x) ? (void)0 : board_fault())
#ifndef EMBEDDED_NO_MBEDTLS
#define XEP0077_MBEDTLS
#endif
#define XEP0077_IMPLEMENTATION
#include "xep0077.h"

/* ==== What this device does ============================================== */
#ifndef SERVER_HOST
#define SERVER_HOST "127.0.0.1"
#endif
#ifndef SERVER_PORT
#define SERVER_PORT 5222
#endif
#ifndef XMPP_DOMAIN
#define XMPP_DOMAIN "localhost"
#endif
#define OP_TIMEOUT_MS 15000u  /* per library operation                    */
#define APP_DEADLINE_MS 60000u /* the whole flow, network open included   */
#define IDLE_MS 5u            /* longest sleep between two superloop turns */

static struct { /* where the host demo can point the device */
  const char *host, *domain, *cafile;
  uint16_t port;
  int verbose, plain;
} where = {SERVER_HOST, XMPP_DOMAIN, NULL, SERVER_PORT, 0, 0};

/* ==== Memory: all of it, static ========================================== */
static xep0077 conn;        /* the connection: every buffer of the session */
static xep0077_query query; /* the registration form, as the server sent it */
static xep0077_config cfg;
static char username[24];   /* "e" + 8 hex of the device id + 8 random hex */
static char password[20];
#ifdef XEP0077_MBEDTLS
static xep0077_mbedtls tls; /* mbedTLS allocates its record buffers itself */
#endif

/* ==== Transport adapters: the board's errno-style codes to the library's
   mbedTLS-style ones. A modem that takes 0 bytes is full, not closed. */
static int lib_send(void *io, const unsigned char *buf, size_t len)
{
  int n;
  (void)io;
  if (len > 0x4000) len = 0x4000; /* the result must fit an int */
  n = net_send(buf, len);
  if (n == NET_EAGAIN || n == 0) return XEP0077_WANT_WRITE;
  return n < 0 ? NET_ERROR : n;
}

static int lib_recv(void *io, unsigned char *buf, size_t len)
{
  int n;
  (void)io;
  if (len > 0x4000) len = 0x4000;
  n = net_recv(buf, len);
  if (n == NET_EAGAIN) return XEP0077_WANT_READ;
  return n < 0 ? NET_ERROR : n;
}

/* The library compares times as unsigned long; millis() wraps at 2^32,
   which on a 64-bit host is not where unsigned long wraps: count deltas. */
static unsigned long lib_now(void *user)
{
  static uint32_t last;
  static unsigned long now;
  uint32_t m = millis();
  (void)user;
  now += (uint32_t)(m - last);
  last = m;
  return now;
}

static void lib_log(void *user, int dir, const char *text, size_t len)
{
  char chunk[65];
  (void)user;
  board_log(dir == XEP0077_LOG_IN ? "  S: " : dir == XEP0077_LOG_OUT ? "  C: " : "  -- ");
  while (len) { /* the sink takes NUL-terminated strings */
    size_t n = len < sizeof chunk - 1 ? len : sizeof chunk - 1;
    memcpy(chunk, text, n);
    chunk[n] = 0;
    board_log(chunk);
    text += n;
    len -= n;
  }
  board_log("\n");
}

#ifdef EMBEDDED_NO_MBEDTLS
/* ==== PLACEHOLDER TLS -- NOT SECURE, REPLACE BEFORE SHIPPING =============
   A real firmware puts its TLS stack here (an mbedTLS port, wolfSSL, or the
   modem's TLS offload with its certificate check) behind xep0077_tls. This
   stand-in passes bytes through in the clear and CLAIMS that the server's
   certificate and name were verified, only so that the flow compiles and
   links without a TLS library. The library refuses to send credentials
   without verified TLS; this lie is exactly what defeats that refusal. */
#ifdef EMBEDDED_RELEASE
#error "embedded.c: the placeholder TLS claims verified certificates; plug in a real TLS stack"
#endif
typedef struct placeholder_tls {
  xep0077_send_fn send;
  xep0077_recv_fn recv;
  void *io;
} placeholder_tls;
static placeholder_tls ph;

static int ph_start(void *ctx, xep0077_send_fn send, xep0077_recv_fn recv, void *io,
                    const char *server_name)
{
  placeholder_tls *t = (placeholder_tls *)ctx;
  (void)server_name; /* a real stack checks the certificate against it */
  t->send = send;
  t->recv = recv;
  t->io = io;
  return 0;
}
static int ph_handshake(void *ctx) { (void)ctx; return 0; }
static int ph_send(void *ctx, const unsigned char *buf, size_t len)
{
  placeholder_tls *t = (placeholder_tls *)ctx;
  return t->send(t->io, buf, len);
}
static int ph_recv(void *ctx, unsigned char *buf, size_t len)
{
  placeholder_tls *t = (placeholder_tls *)ctx;
  return t->recv(t->io, buf, len);
}
static int ph_verified(void *ctx) { (void)ctx; return 1; /* PLACEHOLDER: a lie */ }
static void ph_close(void *ctx) { (void)ctx; }
static const xep0077_tls placeholder = {&ph, ph_start, ph_handshake, ph_send,
                                        ph_recv, ph_verified, ph_close};
/* No xep0077_crypto either: the library then logs in with SASL PLAIN, which
   it sends only over verified TLS. A firmware with SHA-1/SHA-256, HMAC and
   PBKDF2 (a hash peripheral, an mbedTLS port) fills one in to get SCRAM. */
#endif

/* ==== The XMPP task ====================================================== */
enum step { ST_NET, ST_CONNECT, ST_FIELDS, ST_REGISTER, ST_LOGIN, ST_CANCEL, ST_CLOSE, ST_END };
static const char *const step_name[] = {"net open", "connect", "fields", "register",
                                        "login", "cancel", "close", "end"};

static struct {
  enum step step;
  int busy;          /* an operation runs: pump it                         */
  enum step failed;  /* ST_END: nothing failed                             */
  int status;        /* the first failure's status                         */
  uint32_t t0;
  unsigned long turns;
} app;

static void hex32(char *out, uint32_t v) /* 8 digits and a NUL */
{
  int i;
  for (i = 7; i >= 0; i--, v >>= 4) out[i] = "0123456789abcdef"[v & 15];
  out[8] = 0;
}

static void wipe(void *p, size_t n)
{
  volatile unsigned char *v = (volatile unsigned char *)p;
  while (n--) *v++ = 0;
}

/* A username no earlier run took, a password nobody guesses. */
static void make_credentials(void)
{
  static const char alnum[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
  unsigned char rnd[sizeof password - 1];
  uint32_t salt;
  size_t i;
  board_random(&salt, sizeof salt);
  username[0] = 'e';
  hex32(username + 1, board_device_id());
  hex32(username + 9, salt);
  board_random(rnd, sizeof rnd);
  for (i = 0; i < sizeof rnd; i++) password[i] = alnum[rnd[i] % (sizeof alnum - 1)];
  password[sizeof password - 1] = 0;
  wipe(rnd, sizeof rnd);
}

static int step_start(enum step s)
{
  switch (s) {
  case ST_CONNECT: return xep0077_connect_start(&conn, OP_TIMEOUT_MS);
  case ST_FIELDS: return xep0077_get_registration_fields_start(&conn, NULL, &query, OP_TIMEOUT_MS);
  case ST_REGISTER: return xep0077_register_start(&conn, NULL, &query, OP_TIMEOUT_MS);
  case ST_LOGIN: return xep0077_login_start(&conn, username, password, OP_TIMEOUT_MS);
  case ST_CANCEL: return xep0077_cancel_registration_start(&conn, &query, OP_TIMEOUT_MS);
  case ST_CLOSE: return xep0077_close_start(&conn, 2000);
  default: return XEP0077_ERR_STATE;
  }
}

static void report(enum step s, int rc)
{
  board_log(step_name[s]);
  board_log(": ");
  board_log(rc ? xep0077_status_name(rc) : "ok");
  if (rc && conn.error.condition[0]) {
    board_log(" <");
    board_log(conn.error.condition);
    board_log("/>");
  }
  if (rc && conn.error.text[0]) {
    board_log(" '");
    board_log(conn.error.text);
    board_log("'");
  }
  if (!rc && s == ST_CONNECT) board_log(conn.secure ? " (TLS verified)" : " (TLS NOT verified)");
  if (!rc && s == ST_REGISTER) { board_log(" as "); board_log(username); }
  if (!rc && s == ST_LOGIN) { board_log(" as "); board_log(conn.jid); }
  board_log("\n");
}

/* The step s has its result rc: choose what comes next. */
static void step_done(enum step s, int rc)
{
  report(s, rc);
  if (rc == 0 && s == ST_FIELDS) { /* the form (or legacy fields) to fill in */
    const char *missing;
    if (xep0077_query_set(&query, "username", username) != 0 ||
        xep0077_query_set(&query, "password", password) != 0) {
      rc = XEP0077_ERR_ARG;
    } else if ((missing = xep0077_query_missing(&query)) != NULL) {
      board_log("register: the server also wants '");
      board_log(missing);
      board_log("', which this device cannot supply\n");
      rc = XEP0077_ERR_ARG;
    }
  }
  if (rc != 0 && app.failed == ST_END) {
    app.failed = s;
    app.status = rc;
  }
  if (rc == 0 && s < ST_CLOSE) app.step = (enum step)(s + 1);
  else if (s < ST_CLOSE) app.step = ST_CLOSE; /* say goodbye, then stop */
  else app.step = ST_END;
  if (s == ST_LOGIN || app.step == ST_END) wipe(password, sizeof password);
}

/* Start the flow: nothing is sent yet. */
static void app_begin(void)
{
  memset(&app, 0, sizeof app);
  app.step = ST_NET;
  app.failed = ST_END;
  app.t0 = millis();
  make_credentials();
}

/* One superloop turn of the XMPP task. Never blocks: it starts a step or
   pumps the running one once. Returns 1 while there is work, 0 at the end. */
static int app_turn(void)
{
  int rc;
  app.turns++;
  if (app.step == ST_END) return 0;
  if ((uint32_t)(millis() - app.t0) > APP_DEADLINE_MS) { /* whatever hangs */
    if (app.failed == ST_END) {
      app.failed = app.step;
      app.status = XEP0077_ERR_TIMEOUT;
    }
    report(app.step, XEP0077_ERR_TIMEOUT);
    net_close();
    app.step = ST_END;
    return 0;
  }
  if (app.step == ST_NET) {
    rc = net_open(where.host, where.port);
    if (rc == NET_EAGAIN) return 1;
    if (rc != 0) {
      report(ST_NET, XEP0077_ERR_IO);
      app.failed = ST_NET;
      app.status = XEP0077_ERR_IO;
      app.step = ST_END;
      return 0;
    }
    memset(&cfg, 0, sizeof cfg);
    cfg.domain = where.domain;
    cfg.send = lib_send;
    cfg.recv = lib_recv;
    cfg.now_ms = lib_now;
    cfg.timeout_ms = OP_TIMEOUT_MS;
    if (where.verbose) cfg.log = lib_log;
#ifdef XEP0077_MBEDTLS
    cfg.tls = &tls.tls;
    cfg.crypto = where.plain ? NULL : &tls.crypto;
#else
    cfg.tls = &placeholder;
#endif
    if ((rc = xep0077_init(&conn, &cfg)) != 0) {
      report(ST_NET, rc);
      net_close();
      app.failed = ST_NET;
      app.status = rc;
      app.step = ST_END;
      return 0;
    }
    app.step = ST_CONNECT;
  }
  if (!app.busy) {
    rc = step_start(app.step);
    if (rc == XEP0077_PENDING) {
      app.busy = 1;
      return 1;
    }
  } else {
    rc = xep0077_poll(&conn);
    if (rc == XEP0077_PENDING) return 1;
    app.busy = 0;
  }
  step_done(app.step, rc);
  if (app.step == ST_END) net_close();
  return app.step != ST_END;
}

/* The superloop: the XMPP task beside whatever else the device does. The
   task's own deadline bounds it. */
static int run(void)
{
  app_begin();
  while (app_turn()) {
    /* ... sensors, display, watchdog ... */
    board_idle(IDLE_MS);
  }
  board_log(app.failed == ST_END ? "result: ok\n" : "result: FAILED\n");
  return app.failed == ST_END ? 0 : 1;
}

#ifndef EMBEDDED_HOST_DEMO
/* ==== BOARD PLACEHOLDERS (firmware build) ================================
   Weak, so the firmware's drivers replace them without editing this file.
   They only let the example link: nothing here talks to real hardware. */
#define WEAK __attribute__((weak))
WEAK int net_open(const char *host, uint16_t port) { (void)host; (void)port; return NET_EAGAIN; }
WEAK int net_send(const void *buf, size_t len) { (void)buf; (void)len; return NET_EAGAIN; }
WEAK int net_recv(void *buf, size_t len) { (void)buf; (void)len; return NET_EAGAIN; }
WEAK void net_close(void) {}
WEAK uint32_t millis(void)
{
  static uint32_t fake; /* PLACEHOLDER: a SysTick counter; this one only advances */
  return fake++;
}
WEAK void board_idle(uint32_t max_ms) { (void)max_ms; /* __WFI() */ }
WEAK void board_log(const char *s) { (void)s; /* UART or RTT */ }
WEAK void board_random(void *buf, size_t len)
{
  /* PLACEHOLDER, NOT RANDOM: the MCU's TRNG goes here. */
  static uint32_t x = 2463534242u;
  unsigned char *b = (unsigned char *)buf;
  while (len--) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *b++ = (unsigned char)(x ^ millis());
  }
}
WEAK uint32_t board_device_id(void) { return 0x4d344d34u; /* the UID registers */ }
WEAK void board_fault(void)
{
  for (;;) { /* a real firmware logs and resets here */
  }
}

int main(void)
{
  return run();
}

#else /* EMBEDDED_HOST_DEMO */
/* ==== BOARD: a POSIX host ================================================ */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int sock = -1, connecting;

int net_open(const char *host, uint16_t port)
{
  struct sockaddr_in a;
  if (sock < 0) { /* first call: start a non-blocking connect */
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) return NET_ERROR;
    if ((sock = socket(AF_INET, SOCK_STREAM, 0)) < 0) return NET_ERROR;
    if (fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK) != 0) {
      net_close();
      return NET_ERROR;
    }
    if (connect(sock, (struct sockaddr *)&a, sizeof a) == 0) return 0;
    if (errno != EINPROGRESS) {
      net_close();
      return NET_ERROR;
    }
    connecting = 1;
    return NET_EAGAIN;
  }
  if (connecting) {
    struct pollfd p;
    int err = 0;
    socklen_t len = sizeof err;
    p.fd = sock;
    p.events = POLLOUT;
    p.revents = 0;
    if (poll(&p, 1, 0) == 0) return NET_EAGAIN;
    if (getsockopt(sock, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      net_close();
      return NET_ERROR;
    }
    connecting = 0;
  }
  return 0;
}

int net_send(const void *buf, size_t len)
{
  ssize_t n = send(sock, buf, len, MSG_NOSIGNAL);
  if (n >= 0) return (int)n;
  return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? NET_EAGAIN : NET_ERROR;
}

int net_recv(void *buf, size_t len)
{
  ssize_t n = recv(sock, buf, len, 0);
  if (n >= 0) return (int)n;
  return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? NET_EAGAIN : NET_ERROR;
}

void net_close(void)
{
  if (sock >= 0) close(sock);
  sock = -1;
  connecting = 0;
}

uint32_t millis(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint32_t)((unsigned long)ts.tv_sec * 1000ul + (unsigned long)ts.tv_nsec / 1000000ul);
}

/* Like a WFI that the network IRQ ends: wake on input, or after max_ms.
   (Bytes mbedTLS already holds do not wake it; the short IDLE_MS covers
   them.) */
void board_idle(uint32_t max_ms)
{
  struct pollfd p;
  p.fd = sock;
  p.events = POLLIN;
  p.revents = 0;
  (void)poll(&p, sock >= 0 ? 1 : 0, (int)max_ms);
}

void board_log(const char *s)
{
  fputs(s, stdout);
  fflush(stdout);
}

void board_random(void *buf, size_t len)
{
  int fd = open("/dev/urandom", O_RDONLY);
  ssize_t n = fd >= 0 ? read(fd, buf, len) : -1;
  if (fd >= 0) close(fd);
  if (n != (ssize_t)len) board_fault();
}

uint32_t board_device_id(void) { return (uint32_t)getpid(); }

void board_fault(void)
{
  fputs("embedded: fault\n", stderr);
  abort();
}

static int usage(void)
{
  fputs("usage: embedded [--connect IPV4:PORT] [--cafile FILE] [--domain D] [--plain] [-v]\n"
        "  defaults: --connect " SERVER_HOST ":5222 --domain " XMPP_DOMAIN
        " --cafile /etc/ssl/certs/ca-certificates.crt\n",
        stderr);
  return 2;
}

int main(int argc, char **argv)
{
  static char host[64];
  int i, rc;
  where.cafile = "/etc/ssl/certs/ca-certificates.crt";
  for (i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "-v")) where.verbose = 1;
    else if (!strcmp(a, "--plain")) where.plain = 1;
    else if (!strcmp(a, "--cafile") && v) where.cafile = argv[++i];
    else if (!strcmp(a, "--domain") && v) where.domain = argv[++i];
    else if (!strcmp(a, "--connect") && v) {
      const char *colon = strrchr(v, ':');
      long port = colon ? strtol(colon + 1, NULL, 10) : 0;
      if (!colon || (size_t)(colon - v) >= sizeof host || port <= 0 || port > 65535)
        return usage();
      memcpy(host, v, (size_t)(colon - v));
      host[colon - v] = 0;
      where.host = host;
      where.port = (uint16_t)port;
      i++;
    } else {
      return usage();
    }
  }
  printf("embedded: static memory %lu bytes (xep0077 %lu, xep0077_query %lu)",
         (unsigned long)(sizeof conn + sizeof query + sizeof cfg + sizeof username + sizeof password),
         (unsigned long)sizeof conn, (unsigned long)sizeof query);
#ifdef XEP0077_MBEDTLS
  printf(" + xep0077_mbedtls %lu\n", (unsigned long)sizeof tls);
  if ((rc = xep0077_mbedtls_init(&tls, NULL, where.cafile)) != 0) {
    fprintf(stderr, "embedded: %s: %s\n", where.cafile, xep0077_strerror(rc));
    xep0077_mbedtls_free(&tls);
    return 1;
  }
#else
  printf(" + placeholder TLS (NOT SECURE)\n");
#endif
  rc = run();
  printf("superloop: %lu turns, %lu ms\n", app.turns, (unsigned long)(uint32_t)(millis() - app.t0));
#ifdef XEP0077_MBEDTLS
  xep0077_mbedtls_free(&tls);
#endif
  return rc;
}
#endif /* EMBEDDED_HOST_DEMO */
