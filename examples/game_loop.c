/* game_loop.c -- many XMPP accounts at once from one thread, the way a game
   would: a frame loop calls xep0077_poll once per frame for each session,
   and nothing in a frame waits for the network.

   Each session: TCP connect (non-blocking) -> connect (STARTTLS, verified)
   -> register a unique username -> log in on the same stream ->
   cancel_registration (the server deletes the account and ends the
   stream) -> close.

       gcc -std=c99 -O2 -I. examples/game_loop.c -o build/game_loop \
         -lmbedtls -lmbedx509 -lmbedcrypto
       build/game_loop [-n 50] [--fast] [--ramp K] [--connect 127.0.0.1:5222]
                       [--cafile /etc/ssl/certs/ca-certificates.crt] [--domain localhost]

   Without --fast a frame is ~16.7 ms (60 fps): the loop sleeps out what
   the frame did not use. With --fast it never sleeps. --ramp K starts at
   most K sessions per frame instead of all in the first one.

   A line is printed for each frame in which a count changed, then the
   longest frame and the longest single session-frame by step, then
   "done: N ok, M failed, F frames, T ms". Exit status 1 when any failed.

   What a frame costs: the pump never waits for the network, but the CPU
   work that arrives with a reply is done inside that poll -- the TLS
   handshake's public-key operations (several ms per session with mbedTLS)
   and SCRAM's PBKDF2 on login. Fifty handshakes landing in one frame make
   that frame long; a game that cares ramps sessions in (--ramp). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#define XEP0077_IMPLEMENTATION
#define XEP0077_MBEDTLS
#include "xep0077.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define OP_TIMEOUT_MS 30000ul  /* per library operation                  */
#define RUN_LIMIT_MS 180000ul  /* the whole run, whatever happens         */
#define FRAME_US 16667ul       /* 60 fps                                  */

enum state { S_WAIT, S_TCP, S_CONNECT, S_REGISTER, S_LOGIN, S_CANCEL, S_CLOSE, S_OK, S_FAILED };
static const char *const state_name[] = {"waiting", "tcp connect", "connect", "register", "login",
                                         "cancel", "close", "ok", "failed"};

typedef struct session {
  int fd;
  enum state state;
  int busy;              /* an operation runs: poll it once per frame */
  enum state failed_in;
  int status;
  char user[48], pass[24];
  xep0077 c;
  xep0077_query q;
  xep0077_mbedtls t;     /* one TLS context per session */
  xep0077_config cfg;
} session;

static struct {
  const char *cafile, *domain;
  struct sockaddr_in addr;
  int n, fast, ramp;
} opt;

/* How far the sessions got: each count only grows. */
static struct { int connected, registered, logged_in, cancelled, ok, failed; } count;

static unsigned long now_us(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (unsigned long)ts.tv_sec * 1000000ul + (unsigned long)ts.tv_nsec / 1000ul;
}

static unsigned long now_ms(void *user)
{
  (void)user;
  return now_us() / 1000ul;
}

/* The library's transport: a non-blocking socket. */
static int sock_send(void *io, const unsigned char *buf, size_t len)
{
  ssize_t n = send(*(int *)io, buf, len, MSG_NOSIGNAL);
  if (n >= 0) return (int)n;
  return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? XEP0077_WANT_WRITE : -1;
}

static int sock_recv(void *io, unsigned char *buf, size_t len)
{
  ssize_t n = recv(*(int *)io, buf, len, 0);
  if (n >= 0) return (int)n;
  return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? XEP0077_WANT_READ : -1;
}

static void session_end(session *s, enum state final)
{
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
  xep0077_mbedtls_free(&s->t);
  memset(s->pass, 0, sizeof s->pass);
  s->state = final;
  if (final == S_OK) count.ok++;
  else count.failed++;
}

static void session_fail(session *s, int status)
{
  s->failed_in = s->state;
  s->status = status;
  session_end(s, S_FAILED);
}

static int session_open(session *s, int i, unsigned long run_id)
{
  static const char alnum[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
  unsigned char rnd[sizeof s->pass - 1];
  size_t k;
  int rc;
  s->fd = -1;
  s->state = S_WAIT;
  if ((rc = xep0077_mbedtls_init(&s->t, NULL, opt.cafile)) != 0) {
    fprintf(stderr, "game_loop: %s: %s\n", opt.cafile, xep0077_strerror(rc));
    return -1; /* the caller frees */
  }
  snprintf(s->user, sizeof s->user, "gl%lx_%d", run_id, i);
  if (s->t.crypto.random(s->t.crypto.ctx, rnd, sizeof rnd) != 0) return -1;
  for (k = 0; k < sizeof rnd; k++) s->pass[k] = alnum[rnd[k] % (sizeof alnum - 1)];
  s->pass[sizeof s->pass - 1] = 0;
  memset(&s->cfg, 0, sizeof s->cfg);
  s->cfg.domain = opt.domain;
  s->cfg.send = sock_send;
  s->cfg.recv = sock_recv;
  s->cfg.io = &s->fd;
  s->cfg.now_ms = now_ms;
  s->cfg.tls = &s->t.tls;
  s->cfg.crypto = &s->t.crypto;
  s->cfg.timeout_ms = OP_TIMEOUT_MS;
  return 0;
}

static int session_start(session *s)
{
  switch (s->state) {
  case S_CONNECT: return xep0077_connect_start(&s->c, OP_TIMEOUT_MS);
  case S_REGISTER:
    /* Straight to the legacy fields, no get_registration_fields first:
       prosody takes <username/><password/>. */
    xep0077_query_clear(&s->q);
    if (xep0077_query_set(&s->q, "username", s->user) || xep0077_query_set(&s->q, "password", s->pass))
      return XEP0077_ERR_ARG;
    return xep0077_register_start(&s->c, NULL, &s->q, OP_TIMEOUT_MS);
  case S_LOGIN: return xep0077_login_start(&s->c, s->user, s->pass, OP_TIMEOUT_MS);
  case S_CANCEL: return xep0077_cancel_registration_start(&s->c, &s->q, OP_TIMEOUT_MS);
  case S_CLOSE: return xep0077_close_start(&s->c, 2000);
  default: return XEP0077_ERR_STATE;
  }
}

/* The running step ended with rc. */
static void session_step_done(session *s, int rc)
{
  if (rc != 0) {
    session_fail(s, rc);
    return;
  }
  switch (s->state) {
  case S_CONNECT: count.connected++; s->state = S_REGISTER; break;
  case S_REGISTER: count.registered++; s->state = S_LOGIN; break;
  case S_LOGIN: count.logged_in++; s->state = S_CANCEL; break;
  case S_CANCEL: count.cancelled++; s->state = S_CLOSE; break;
  case S_CLOSE: session_end(s, S_OK); return;
  default: break;
  }
}

/* A non-blocking connect: a later frame sees it complete. */
static void session_dial(session *s)
{
  s->state = S_TCP;
  s->fd = socket(AF_INET, SOCK_STREAM, 0);
  if (s->fd < 0 || fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK) != 0 ||
      (connect(s->fd, (const struct sockaddr *)&opt.addr, sizeof opt.addr) != 0 &&
       errno != EINPROGRESS))
    session_fail(s, XEP0077_ERR_IO);
}

/* One frame of one session: at most one xep0077_poll. Returns the time the
   poll took, in microseconds. */
static unsigned long session_frame(session *s)
{
  unsigned long t0, dt;
  int rc;
  if (s->state == S_WAIT) session_dial(s);
  if (s->state == S_OK || s->state == S_FAILED) return 0;
  if (s->state == S_TCP) { /* has the non-blocking connect completed? */
    struct pollfd p;
    int err = 0;
    socklen_t len = sizeof err;
    p.fd = s->fd;
    p.events = POLLOUT;
    p.revents = 0;
    if (poll(&p, 1, 0) == 0) return 0;
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      session_fail(s, XEP0077_ERR_IO);
      return 0;
    }
    if ((rc = xep0077_init(&s->c, &s->cfg)) != 0) {
      session_fail(s, rc);
      return 0;
    }
    s->state = S_CONNECT;
  }
  t0 = now_us();
  /* Start the next step in the same frame as the previous one ended, and
     pump it from the next frame on: one poll per frame, never more. */
  while (s->state != S_OK && s->state != S_FAILED) {
    if (s->busy) {
      rc = xep0077_poll(&s->c);
      if (rc == XEP0077_PENDING) break;
      s->busy = 0;
      session_step_done(s, rc);
      if (s->state == S_OK || s->state == S_FAILED) break;
    }
    rc = session_start(s);
    if (rc == XEP0077_PENDING) {
      s->busy = 1;
      break;
    }
    session_step_done(s, rc); /* ended at once (close of a closed stream) */
  }
  dt = now_us() - t0;
  return dt;
}

static void sleep_us(unsigned long us)
{
  struct timespec ts;
  ts.tv_sec = (time_t)(us / 1000000ul);
  ts.tv_nsec = (long)(us % 1000000ul) * 1000l;
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static int usage(void)
{
  fprintf(stderr, "usage: game_loop [-n N] [--fast] [--ramp K] [--connect IPV4:PORT] "
                  "[--cafile FILE] [--domain D]\n"
                  "  defaults: -n 50 --connect 127.0.0.1:5222 --domain localhost\n"
                  "            --cafile /etc/ssl/certs/ca-certificates.crt\n"
                  "  --ramp K: start at most K sessions per frame (default: all in frame 1)\n");
  return 2;
}

static int parse_args(int argc, char **argv)
{
  const char *connect_to = "127.0.0.1:5222";
  char host[64];
  const char *colon;
  long port;
  int i;
  opt.n = 50;
  opt.cafile = "/etc/ssl/certs/ca-certificates.crt";
  opt.domain = "localhost";
  for (i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--fast")) opt.fast = 1;
    else if ((!strcmp(a, "-n") || !strcmp(a, "--ramp")) && v) {
      char *end;
      long n = strtol(v, &end, 10);
      if (*end || n < 1 || n > 10000) return usage();
      if (a[1] == 'n') opt.n = (int)n;
      else opt.ramp = (int)n;
      i++;
    } else if (!strcmp(a, "--connect") && v) connect_to = argv[++i];
    else if (!strcmp(a, "--cafile") && v) opt.cafile = argv[++i];
    else if (!strcmp(a, "--domain") && v) opt.domain = argv[++i];
    else return usage();
  }
  colon = strrchr(connect_to, ':');
  port = colon ? strtol(colon + 1, NULL, 10) : 0;
  if (!colon || (size_t)(colon - connect_to) >= sizeof host || port <= 0 || port > 65535)
    return usage();
  memcpy(host, connect_to, (size_t)(colon - connect_to));
  host[colon - connect_to] = 0;
  memset(&opt.addr, 0, sizeof opt.addr);
  opt.addr.sin_family = AF_INET;
  opt.addr.sin_port = htons((unsigned short)port);
  if (inet_pton(AF_INET, host, &opt.addr.sin_addr) != 1) {
    fprintf(stderr, "game_loop: '%s' is not an IPv4 address\n", host);
    return 2;
  }
  return 0;
}

int main(int argc, char **argv)
{
  session *ss;
  unsigned long t_start, t_setup, frame = 0, longest = 0, longest_frame = 0;
  unsigned long longest_poll = 0, longest_poll_frame = 0, step_max[S_OK] = {0};
  enum state longest_poll_state = S_TCP;
  int i, rc, last[6] = {0, 0, 0, 0, 0, 0};

  if ((rc = parse_args(argc, argv)) != 0) return rc;
  printf("game_loop: %d sessions, %s; per session: xep0077 %lu B, xep0077_query %lu B, "
         "xep0077_mbedtls %lu B (+ mbedTLS's own record buffers)\n",
         opt.n, opt.fast ? "as fast as possible" : "60 fps", (unsigned long)sizeof(xep0077),
         (unsigned long)sizeof(xep0077_query), (unsigned long)sizeof(xep0077_mbedtls));
  /* The game owns the memory; the library never allocates. */
  ss = (session *)calloc((size_t)opt.n, sizeof *ss);
  if (!ss) {
    fprintf(stderr, "game_loop: out of memory\n");
    return 1;
  }
  t_start = now_us();
  for (i = 0; i < opt.n; i++) ss[i].fd = -1;
  for (i = 0; i < opt.n; i++) {
    if (session_open(&ss[i], i, (unsigned long)getpid() ^ (t_start & 0xfffffful)) != 0) {
      for (; i >= 0; i--) {
        if (ss[i].fd >= 0) close(ss[i].fd);
        xep0077_mbedtls_free(&ss[i].t);
      }
      free(ss);
      return 1;
    }
  }
  t_setup = now_us();
  printf("setup: %d TLS contexts (CA loaded, DRBG seeded) in %lu ms, before the first frame\n", opt.n,
         (t_setup - t_start) / 1000ul);

  while (count.ok + count.failed < opt.n) {
    unsigned long f0 = now_us(), dt;
    frame++;
    for (i = 0; i < opt.n; i++) {
      enum state st = ss[i].state;
      unsigned long p;
      if (st == S_WAIT && opt.ramp && (unsigned long)i >= frame * (unsigned long)opt.ramp) continue;
      p = session_frame(&ss[i]);
      if (st < S_OK && p > step_max[st]) step_max[st] = p;
      if (p > longest_poll) {
        longest_poll = p;
        longest_poll_frame = frame;
        longest_poll_state = st;
      }
    }
    dt = now_us() - f0;
    if (dt > longest) {
      longest = dt;
      longest_frame = frame;
    }
    if (count.connected != last[0] || count.registered != last[1] ||
        count.logged_in != last[2] || count.cancelled != last[3] || count.ok != last[4] ||
        count.failed != last[5]) {
      printf("frame %lu: %d connected, %d registered, %d logged in, %d cancelled, %d closed, "
             "%d failed\n",
             frame, count.connected, count.registered, count.logged_in, count.cancelled,
             count.ok, count.failed);
      last[0] = count.connected;
      last[1] = count.registered;
      last[2] = count.logged_in;
      last[3] = count.cancelled;
      last[4] = count.ok;
      last[5] = count.failed;
    }
    if ((now_us() - t_setup) / 1000ul > RUN_LIMIT_MS) { /* the loop is bounded */
      for (i = 0; i < opt.n; i++)
        if (ss[i].state != S_OK && ss[i].state != S_FAILED) session_fail(&ss[i], XEP0077_ERR_TIMEOUT);
      printf("game_loop: gave up after %lu ms\n", RUN_LIMIT_MS);
    }
    if (!opt.fast) {
      dt = now_us() - f0;
      if (dt < FRAME_US) sleep_us(FRAME_US - dt);
    }
  }

  for (i = 0; i < opt.n; i++) {
    session *s = &ss[i];
    if (s->state != S_FAILED) continue;
    printf("session %d (%s): %s failed: %s", i, s->user, state_name[s->failed_in],
           xep0077_status_name(s->status));
    if (s->c.error.condition[0]) printf(" <%s/>", s->c.error.condition);
    if (s->c.error.text[0]) printf(" '%s'", s->c.error.text);
    printf("\n");
  }
  printf("longest frame: %.2f ms (frame %lu)", (double)longest / 1000.0, longest_frame);
  if (longest_poll_frame)
    printf("; longest single poll: %.2f ms (frame %lu, %s)", (double)longest_poll / 1000.0,
           longest_poll_frame, state_name[longest_poll_state]);
  printf("\n");
  printf("longest poll by step:");
  for (i = S_CONNECT; i < S_OK; i++)
    printf(" %s %.2f ms%s", state_name[i], (double)step_max[i] / 1000.0, i + 1 < S_OK ? "," : "\n");
  printf("done: %d ok, %d failed, %lu frames, %lu ms\n", count.ok, count.failed, frame,
         (now_us() - t_setup) / 1000ul);
  rc = count.failed ? 1 : 0;
  free(ss);
  return rc;
}
