/* load.c -- many registration lifecycles at once through the non-blocking
   pump, in one thread, and where the client's CPU goes.

   Each session: TCP connect (non-blocking) -> connect (STARTTLS, verified)
   -> register a unique username -> log in on the same stream ->
   cancel_registration (the server deletes the account and ends the stream)
   -> close. Sessions are dialled as fast as the server's listen backlog
   allows (DIAL_WINDOW), so all of them are in flight together; one poll()
   over every socket sleeps until something is ready, then xep0077_poll runs
   for each ready session (and again, without sleeping, for each that set
   c->again). A step that ends starts the next at once and pumps it once:
   a _start call only queues the request.

       bench/load.sh                      (starts a throwaway prosody; make bench)
       build/load [-n 200] [--port 15722] [--cafile DIR/ca.pem] [--domain localhost]
                  [--limit-s 120] [-v]     (-v: sessions per step on stderr)

   Output, one line each:
     load:   sessions, ok, failed, reg/s (sessions / wall s), client CPU per
             registration (getrusage user+sys over the run / sessions)
     split:  that CPU between mbedTLS, the library and socket syscalls
     memory: what a session needs: the three structs, and mbedTLS's heap
     detail: how the split was measured, and what sits inside "library"
   Exit status 1 unless every session succeeded.

   How the split is measured, not guessed: every call into mbedTLS goes
   through the xep0077_tls / xep0077_crypto vtables (wrapped here) or the
   glue's init/free (timed here); every socket syscall is timed here. Each
   timed call reads CLOCK_THREAD_CPUTIME_ID before and after, and its time
   is made exclusive (a socket send inside an mbedTLS record write counts as
   a syscall, not as mbedTLS). The library's own calls (xep0077_poll,
   *_start, init, query_*) are timed the same way, so "library" is both the
   brief's residual (total - mbedTLS - syscalls) and a direct measurement;
   the difference is this harness's own loop. A clock read costs ~0.2 us
   (it is a real syscall): it is calibrated at start and every timed call's
   share of it is taken out of the bucket it landed in. */
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#include <malloc.h>
#define LOAD_HEAP 1
#else
#define LOAD_HEAP 0
#endif

#define OP_TIMEOUT_MS 60000ul  /* per library operation                      */
#define TCP_TIMEOUT_MS 30000ul /* a non-blocking connect()                   */
#define SWEEP_MS 250ul         /* pump every session at least this often     */
#define POLL_MS 100            /* longest sleep in poll()                    */
#define MAX_ITERS 10000000ul   /* main loop bound, whatever happens          */
#define MAX_CHAIN 16           /* steps one pump may chain without a wait    */
/* Sessions dialled that have not heard from the server yet. prosody listens
   with a backlog of 128 (network_settings.tcp_backlog, not set by
   tests/prosody.sh): 200 SYNs at once overflow it, and each dropped SYN
   costs a 1 s (then 3 s) retransmit. Below the backlog, nothing drops. */
#define DIAL_WINDOW 100

/* ---- CPU accounting ----------------------------------------------------- */
enum bucket { B_MBEDTLS, B_LIB, B_IO, B_SYS, B_MEAS, B_N };
/* Finer split of the mbedTLS bucket. */
enum sub { K_NONE = -1, K_SETUP, K_HANDSHAKE, K_RECORDS, K_PBKDF2, K_HMAC, K_OTHER, K_N };
static const char *const sub_name[K_N] = {"init/free", "handshake", "records", "pbkdf2", "hmac/hash",
                                          "random/verified/close_notify"};

static struct {
  long long ns[B_N];          /* exclusive CPU time                       */
  unsigned long calls[B_N];   /* timed calls                              */
  unsigned long children[B_N];/* timed calls nested directly inside one   */
  long long sub_ns[K_N];
  unsigned long sub_calls[K_N], sub_children[K_N];
  long long measured;         /* sum of every exclusive time so far       */
  int cur, cur_sub;           /* bucket, sub of the innermost open call  */
} acct;

typedef struct tmark {
  long long t0, m0;
  int parent, parent_sub, bucket, sub;
} tmark;

static long long cpu_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (long long)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static tmark tbegin(int bucket, int sub)
{
  tmark m;
  m.parent = acct.cur;
  m.parent_sub = acct.cur_sub;
  m.bucket = bucket;
  m.sub = sub;
  acct.cur = bucket;
  acct.cur_sub = sub;
  m.m0 = acct.measured;
  m.t0 = cpu_ns(); /* last */
  return m;
}

static void tend(tmark m)
{
  long long dt = cpu_ns() - m.t0; /* first */
  long long ex = dt - (acct.measured - m.m0);
  acct.ns[m.bucket] += ex;
  acct.calls[m.bucket]++;
  if (m.sub >= 0) {
    acct.sub_ns[m.sub] += ex;
    acct.sub_calls[m.sub]++;
  }
  acct.measured += ex;
  acct.cur = m.parent;
  acct.cur_sub = m.parent_sub;
  if (m.parent >= 0) acct.children[m.parent]++;
  if (m.parent_sub >= 0) acct.sub_children[m.parent_sub]++;
}

/* The cost of one clock read: a timed call's interval holds about one of
   them, and its parent's (or nobody's) holds the other. */
static double clock_read_ns(void)
{
  long long t0 = cpu_ns(), t1;
  int i;
  for (i = 0; i < 100000; i++) (void)cpu_ns();
  t1 = cpu_ns();
  return (double)(t1 - t0) / 100001.0;
}

static unsigned long now_ms(void *user)
{
  struct timespec ts;
  (void)user;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (unsigned long)ts.tv_sec * 1000ul + (unsigned long)ts.tv_nsec / 1000000ul;
}

static double wall_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long long rusage_ns(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ((long long)ru.ru_utime.tv_sec + (long long)ru.ru_stime.tv_sec) * 1000000000ll +
         ((long long)ru.ru_utime.tv_usec + (long long)ru.ru_stime.tv_usec) * 1000ll;
}

/* ---- sessions ----------------------------------------------------------- */
enum state { S_WAIT, S_TCP, S_CONNECT, S_REGISTER, S_LOGIN, S_CANCEL, S_CLOSE, S_OK, S_FAILED };
static const char *const state_name[] = {"waiting", "tcp connect", "connect", "register", "login",
                                         "cancel", "close", "ok", "failed"};

typedef struct sock_io {
  int fd;
  int want_write; /* the last send would have blocked: wait for POLLOUT */
  int heard;      /* the server sent something: it accepted us          */
} sock_io;

typedef struct session {
  sock_io io;
  enum state state, failed_in;
  int busy;  /* an operation runs                             */
  int again; /* c.again was set: pump before sleeping         */
  int status;
  unsigned long t_dial;
  char user[48], pass[24];
  xep0077 c;
  xep0077_query q;
  xep0077_mbedtls t;
  xep0077_tls wtls;       /* t.tls, timed    */
  xep0077_crypto wcrypto; /* t.crypto, timed */
  xep0077_config cfg;
} session;

static struct {
  const char *cafile, *domain;
  struct sockaddr_in addr;
  int n, verbose;
  unsigned long limit_ms;
} opt;

static struct {
  int live, live_max, ok, failed;
  unsigned long polls, agains, iters;
} count;

/* ---- the transport: non-blocking sockets, each syscall timed ------------ */
static int sock_send(void *io, const unsigned char *buf, size_t len)
{
  sock_io *s = (sock_io *)io;
  tmark m = tbegin(B_IO, K_NONE);
  ssize_t n = send(s->fd, buf, len, MSG_NOSIGNAL);
  int e = errno;
  tend(m);
  if (n >= 0) {
    s->want_write = 0;
    return (int)n;
  }
  if (e == EAGAIN || e == EWOULDBLOCK || e == EINTR) {
    s->want_write = 1;
    return XEP0077_WANT_WRITE;
  }
  return -1;
}

static int sock_recv(void *io, unsigned char *buf, size_t len)
{
  tmark m = tbegin(B_IO, K_NONE);
  ssize_t n = recv(((sock_io *)io)->fd, buf, len, 0);
  int e = errno;
  tend(m);
  if (n > 0) ((sock_io *)io)->heard = 1;
  if (n >= 0) return (int)n;
  return e == EAGAIN || e == EWOULDBLOCK || e == EINTR ? XEP0077_WANT_READ : -1;
}

/* ---- the mbedTLS glue's vtables, timed ------------------------------------ */
static int w_start(void *ctx, xep0077_send_fn send_fn, xep0077_recv_fn recv_fn, void *io,
                   const char *server_name)
{
  session *s = (session *)ctx;
  tmark m = tbegin(B_MBEDTLS, K_HANDSHAKE);
  int rc = s->t.tls.start(s->t.tls.ctx, send_fn, recv_fn, io, server_name);
  tend(m);
  return rc;
}

static int w_handshake(void *ctx)
{
  session *s = (session *)ctx;
  tmark m = tbegin(B_MBEDTLS, K_HANDSHAKE);
  int rc = s->t.tls.handshake(s->t.tls.ctx);
  tend(m);
  return rc;
}

static int w_send(void *ctx, const unsigned char *buf, size_t len)
{
  session *s = (session *)ctx;
  tmark m = tbegin(B_MBEDTLS, K_RECORDS);
  int rc = s->t.tls.send(s->t.tls.ctx, buf, len);
  tend(m);
  return rc;
}

static int w_recv(void *ctx, unsigned char *buf, size_t len)
{
  session *s = (session *)ctx;
  tmark m = tbegin(B_MBEDTLS, K_RECORDS);
  int rc = s->t.tls.recv(s->t.tls.ctx, buf, len);
  tend(m);
  return rc;
}

static int w_verified(void *ctx)
{
  session *s = (session *)ctx;
  tmark m = tbegin(B_MBEDTLS, K_OTHER);
  int rc = s->t.tls.verified(s->t.tls.ctx);
  tend(m);
  return rc;
}

static void w_close(void *ctx)
{
  session *s = (session *)ctx;
  tmark m = tbegin(B_MBEDTLS, K_OTHER);
  s->t.tls.close(s->t.tls.ctx);
  tend(m);
}

static int w_random(void *ctx, unsigned char *out, size_t len)
{
  session *s = (session *)ctx;
  tmark m = tbegin(B_MBEDTLS, K_OTHER);
  int rc = s->t.crypto.random(s->t.crypto.ctx, out, len);
  tend(m);
  return rc;
}

static int w_hash(void *ctx, int alg, const unsigned char *in, size_t len, unsigned char *out)
{
  session *s = (session *)ctx;
  tmark m = tbegin(B_MBEDTLS, K_HMAC);
  int rc = s->t.crypto.hash(s->t.crypto.ctx, alg, in, len, out);
  tend(m);
  return rc;
}

static int w_hmac(void *ctx, int alg, const unsigned char *key, size_t klen,
                  const unsigned char *in, size_t len, unsigned char *out)
{
  session *s = (session *)ctx;
  tmark m = tbegin(B_MBEDTLS, K_HMAC);
  int rc = s->t.crypto.hmac(s->t.crypto.ctx, alg, key, klen, in, len, out);
  tend(m);
  return rc;
}

static int w_pbkdf2(void *ctx, int alg, const unsigned char *pw, size_t pwlen,
                    const unsigned char *salt, size_t saltlen, unsigned long iterations,
                    unsigned char *out, size_t outlen)
{
  session *s = (session *)ctx;
  tmark m = tbegin(B_MBEDTLS, K_PBKDF2);
  int rc = s->t.crypto.pbkdf2(s->t.crypto.ctx, alg, pw, pwlen, salt, saltlen, iterations, out,
                              outlen);
  tend(m);
  return rc;
}

/* ---- session steps -------------------------------------------------------- */
static void session_end(session *s, enum state final)
{
  tmark m;
  if (s->io.fd >= 0) {
    m = tbegin(B_SYS, K_NONE);
    close(s->io.fd);
    tend(m);
    s->io.fd = -1;
  }
  m = tbegin(B_MBEDTLS, K_SETUP);
  xep0077_mbedtls_free(&s->t);
  tend(m);
  memset(s->pass, 0, sizeof s->pass);
  s->state = final;
  s->busy = s->again = 0;
  count.live--;
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
  tmark m = tbegin(B_MBEDTLS, K_SETUP);
  rc = xep0077_mbedtls_init(&s->t, NULL, opt.cafile);
  tend(m);
  if (rc != 0) {
    fprintf(stderr, "load: %s: %s\n", opt.cafile, xep0077_strerror(rc));
    return -1;
  }
  s->wtls = s->t.tls;
  s->wtls.ctx = s;
  s->wtls.start = w_start;
  s->wtls.handshake = w_handshake;
  s->wtls.send = w_send;
  s->wtls.recv = w_recv;
  s->wtls.verified = w_verified;
  s->wtls.close = w_close;
  s->wcrypto.ctx = s;
  s->wcrypto.random = w_random;
  s->wcrypto.hash = w_hash;
  s->wcrypto.hmac = w_hmac;
  s->wcrypto.pbkdf2 = w_pbkdf2;
  snprintf(s->user, sizeof s->user, "load%lx_%d", run_id, i);
  if (w_random(s, rnd, sizeof rnd) != 0) return -1;
  for (k = 0; k < sizeof rnd; k++) s->pass[k] = alnum[rnd[k] % (sizeof alnum - 1)];
  s->pass[sizeof s->pass - 1] = 0;
  memset(&s->cfg, 0, sizeof s->cfg);
  s->cfg.domain = opt.domain;
  s->cfg.send = sock_send;
  s->cfg.recv = sock_recv;
  s->cfg.io = &s->io;
  s->cfg.now_ms = now_ms;
  s->cfg.tls = &s->wtls;
  s->cfg.crypto = &s->wcrypto;
  s->cfg.timeout_ms = OP_TIMEOUT_MS;
  s->state = S_WAIT;
  return 0;
}

/* The library's entry points, timed as "library". */
static int lib_start(session *s)
{
  tmark m = tbegin(B_LIB, K_NONE);
  int rc;
  switch (s->state) {
  case S_CONNECT: rc = xep0077_connect_start(&s->c, OP_TIMEOUT_MS); break;
  case S_REGISTER:
    /* Straight to the legacy fields: prosody takes <username/><password/>. */
    xep0077_query_clear(&s->q);
    if (xep0077_query_set(&s->q, "username", s->user) || xep0077_query_set(&s->q, "password", s->pass))
      rc = XEP0077_ERR_ARG;
    else
      rc = xep0077_register_start(&s->c, NULL, &s->q, OP_TIMEOUT_MS);
    break;
  case S_LOGIN: rc = xep0077_login_start(&s->c, s->user, s->pass, OP_TIMEOUT_MS); break;
  case S_CANCEL: rc = xep0077_cancel_registration_start(&s->c, &s->q, OP_TIMEOUT_MS); break;
  case S_CLOSE: rc = xep0077_close_start(&s->c, 5000); break;
  default: rc = XEP0077_ERR_STATE; break;
  }
  tend(m);
  return rc;
}

static int lib_poll(session *s)
{
  tmark m = tbegin(B_LIB, K_NONE);
  int rc = xep0077_poll(&s->c);
  tend(m);
  count.polls++;
  if (s->c.again) count.agains++;
  return rc;
}

static int lib_init(session *s)
{
  tmark m = tbegin(B_LIB, K_NONE);
  int rc = xep0077_init(&s->c, &s->cfg);
  tend(m);
  return rc;
}

/* The running step ended with rc: on to the next one. */
static void step_done(session *s, int rc)
{
  if (rc != 0) {
    session_fail(s, rc);
    return;
  }
  switch (s->state) {
  case S_CONNECT: s->state = S_REGISTER; break;
  case S_REGISTER: s->state = S_LOGIN; break;
  case S_LOGIN: s->state = S_CANCEL; break;
  case S_CANCEL: s->state = S_CLOSE; break;
  case S_CLOSE: session_end(s, S_OK); break;
  default: session_fail(s, XEP0077_ERR_STATE); break;
  }
}

/* Advance a session whose socket is ready (or that asked to be called
   again). A step that ends starts the next one at once, and a step just
   started is pumped at once: _start only queues the request. */
static void pump(session *s)
{
  int k, rc;
  s->again = 0;
  for (k = 0; k < MAX_CHAIN; k++) {
    if (s->busy) {
      rc = lib_poll(s);
      if (rc == XEP0077_PENDING) {
        s->again = s->c.again;
        return;
      }
      s->busy = 0;
      step_done(s, rc);
      if (s->state >= S_OK) return;
    }
    rc = lib_start(s);
    if (rc == XEP0077_PENDING) s->busy = 1;
    else {
      step_done(s, rc); /* ended at once (close of a closed stream) */
      if (s->state >= S_OK) return;
    }
  }
  s->again = 1; /* chained enough for one turn */
}

static void dial(session *s)
{
  tmark m = tbegin(B_SYS, K_NONE);
  int ok;
  s->io.fd = socket(AF_INET, SOCK_STREAM, 0);
  s->io.want_write = s->io.heard = 0;
  ok = s->io.fd >= 0 && fcntl(s->io.fd, F_SETFL, fcntl(s->io.fd, F_GETFL) | O_NONBLOCK) == 0 &&
       (connect(s->io.fd, (const struct sockaddr *)&opt.addr, sizeof opt.addr) == 0 ||
        errno == EINPROGRESS);
  tend(m);
  s->state = S_TCP;
  s->t_dial = now_ms(NULL);
  count.live++;
  if (count.live > count.live_max) count.live_max = count.live;
  if (!ok) session_fail(s, XEP0077_ERR_IO);
}

/* The non-blocking connect reported: open the XMPP stream. */
static void tcp_ready(session *s)
{
  int err = 0, rc;
  socklen_t len = sizeof err;
  tmark m = tbegin(B_SYS, K_NONE);
  rc = getsockopt(s->io.fd, SOL_SOCKET, SO_ERROR, &err, &len);
  tend(m);
  if (rc != 0 || err != 0) {
    session_fail(s, XEP0077_ERR_IO);
    return;
  }
  if ((rc = lib_init(s)) != 0) {
    session_fail(s, rc);
    return;
  }
  s->state = S_CONNECT;
  pump(s);
}

static void serve(session *s)
{
  if (s->state == S_TCP) tcp_ready(s);
  else if (s->state > S_TCP && s->state < S_OK) pump(s);
}

/* ---- heap: mbedTLS is the only allocator in this process after setup ---- */
static long long heap_now(void)
{
#if LOAD_HEAP
  struct mallinfo2 mi;
  tmark m = tbegin(B_MEAS, K_NONE);
  mi = mallinfo2();
  tend(m);
  return (long long)(mi.uordblks + mi.hblkhd);
#else
  return 0;
#endif
}

static int usage(void)
{
  fprintf(stderr, "usage: load [-n N] [--port P] [--cafile FILE] [--domain D] [--limit-s S] [-v]\n"
                  "  -v: sessions per step on stderr, each SWEEP_MS\n"
                  "  defaults: -n 200 --port 15722 --cafile ca.pem --domain localhost --limit-s 120\n"
                  "  connects to 127.0.0.1 only\n");
  return 2;
}

static int parse_args(int argc, char **argv)
{
  long port = 15722, limit = 120;
  int i;
  opt.n = 200;
  opt.cafile = "ca.pem";
  opt.domain = "localhost";
  i = 1;
  while (i < argc) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    char *end;
    long x;
    if (!strcmp(a, "-v")) { /* the only option without a value */
      opt.verbose = 1;
      i++;
      continue;
    }
    if (!v) return usage();
    i += 2;
    if (!strcmp(a, "--cafile")) opt.cafile = v;
    else if (!strcmp(a, "--domain")) opt.domain = v;
    else if (!strcmp(a, "-n") || !strcmp(a, "--port") || !strcmp(a, "--limit-s")) {
      x = strtol(v, &end, 10);
      if (*end || x < 1) return usage();
      if (a[1] == 'n') {
        if (x > 5000) return usage();
        opt.n = (int)x;
      } else if (a[2] == 'p') {
        if (x > 65535) return usage();
        port = x;
      } else {
        if (x > 3600) return usage();
        limit = x;
      }
    } else return usage();
  }
  opt.limit_ms = (unsigned long)limit * 1000ul;
  memset(&opt.addr, 0, sizeof opt.addr);
  opt.addr.sin_family = AF_INET;
  opt.addr.sin_port = htons((unsigned short)port);
  opt.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* loopback only */
  return 0;
}

/* Each session holds one descriptor; leave room for stdio and mbedTLS. */
static int check_fds(void)
{
  struct rlimit rl;
  rlim_t need = (rlim_t)opt.n + 32;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
    if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need) rl.rlim_cur = need;
    else rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
      fprintf(stderr, "load: %d sessions need %lu file descriptors, ulimit -n allows %lu\n",
              opt.n, (unsigned long)need, (unsigned long)rl.rlim_cur);
      return -1;
    }
  }
  return 0;
}

int main(int argc, char **argv)
{
  session *ss;
  struct pollfd *pfd;
  int *pidx;
  double t_read, w0, w_setup, w1;
  long long ru0, ru1, heap0, heap_init, heap_peak = 0;
  int i, rc, live_at_peak = 0, shown = 0;
  unsigned long t_sweep;

  if ((rc = parse_args(argc, argv)) != 0) return rc;
  if (check_fds() != 0) return 1;
  ss = (session *)calloc((size_t)opt.n, sizeof *ss);
  pfd = (struct pollfd *)calloc((size_t)opt.n, sizeof *pfd);
  pidx = (int *)calloc((size_t)opt.n, sizeof *pidx);
  if (!ss || !pfd || !pidx) {
    fprintf(stderr, "load: out of memory\n");
    return 1;
  }
  for (i = 0; i < opt.n; i++) ss[i].io.fd = -1;

  /* Before the measured window: calibration, and stdout's buffer. */
  t_read = clock_read_ns();
  fflush(stdout);
  heap0 = heap_now();
  memset(&acct, 0, sizeof acct);
  acct.cur = acct.cur_sub = -1;

  w0 = wall_s();
  ru0 = rusage_ns();
  for (i = 0; i < opt.n; i++) {
    if (session_open(&ss[i], i, (unsigned long)getpid() ^ ((unsigned long)time(NULL) & 0xffffful)) != 0) {
      for (; i >= 0; i--) xep0077_mbedtls_free(&ss[i].t);
      return 1;
    }
  }
  heap_init = heap_now();
  w_setup = wall_s();

  t_sweep = now_ms(NULL);
  for (count.iters = 0; count.ok + count.failed < opt.n && count.iters < MAX_ITERS; count.iters++) {
    int np = 0, any_again = 0, sweep, unheard = 0;
    unsigned long now;
    long long h;
    for (i = 0; i < opt.n; i++)
      if (ss[i].state > S_WAIT && ss[i].state < S_OK && !ss[i].io.heard) unheard++;
    for (i = 0; i < opt.n && unheard < DIAL_WINDOW; i++)
      if (ss[i].state == S_WAIT) {
        dial(&ss[i]);
        unheard++;
      }
    for (i = 0; i < opt.n; i++) {
      session *s = &ss[i];
      if (s->state < S_TCP || s->state >= S_OK) continue;
      if (s->again) any_again = 1;
      pfd[np].fd = s->io.fd;
      pfd[np].events = (short)(s->state == S_TCP ? POLLOUT : POLLIN | (s->io.want_write ? POLLOUT : 0));
      pfd[np].revents = 0;
      pidx[np++] = i;
    }
    {
      tmark m = tbegin(B_SYS, K_NONE);
      rc = poll(pfd, (nfds_t)np, any_again ? 0 : POLL_MS);
      tend(m);
    }
    if (rc < 0 && errno != EINTR) {
      perror("load: poll");
      break;
    }
    now = now_ms(NULL);
    /* A session is pumped when its socket is ready, when it asked to be
       called again, and on a sweep (so deadlines fire with a silent peer). */
    sweep = rc == 0 || now - t_sweep >= SWEEP_MS;
    if (sweep && opt.verbose && now - t_sweep >= SWEEP_MS) {
      int st[S_FAILED + 1] = {0}, j;
      for (j = 0; j < opt.n; j++) st[ss[j].state]++;
      fprintf(stderr, "%6.0f ms:", (wall_s() - w_setup) * 1000.0);
      for (j = S_TCP; j <= S_FAILED; j++) fprintf(stderr, " %s %d%s", state_name[j], st[j], j < S_FAILED ? "," : "\n");
    }
    if (sweep) t_sweep = now;
    for (i = 0; i < np; i++) {
      session *s = &ss[pidx[i]];
      if (s->state >= S_OK) continue;
      if (pfd[i].revents || s->again) serve(s);
      else if (sweep && s->state == S_TCP && now - s->t_dial > TCP_TIMEOUT_MS)
        session_fail(s, XEP0077_ERR_TIMEOUT);
      else if (sweep && s->state > S_TCP) serve(s);
    }
    h = heap_now();
    if (h > heap_peak) {
      heap_peak = h;
      live_at_peak = count.live;
    }
    if ((wall_s() - w_setup) * 1000.0 > (double)opt.limit_ms) {
      fprintf(stderr, "load: gave up after %lu s\n", opt.limit_ms / 1000ul);
      break;
    }
  }
  for (i = 0; i < opt.n; i++) /* the loop is bounded: whatever is left failed */
    if (ss[i].state < S_OK) session_fail(&ss[i], XEP0077_ERR_TIMEOUT);
  ru1 = rusage_ns();
  w1 = wall_s();

  for (i = 0; i < opt.n && shown < 10; i++) {
    session *s = &ss[i];
    if (s->state != S_FAILED) continue;
    shown++;
    fprintf(stderr, "load: session %d (%s): %s failed: %s", i, s->user, state_name[s->failed_in],
            xep0077_status_name(s->status));
    if (s->c.error.condition[0]) fprintf(stderr, " <%s/>", s->c.error.condition);
    if (s->c.error.text[0]) fprintf(stderr, " '%s'", s->c.error.text);
    fprintf(stderr, "\n");
  }
  if (count.failed > shown) fprintf(stderr, "load: ... %d failed in all\n", count.failed);

  {
    double n = (double)opt.n, T = t_read;
    double total, corr[B_N], mbed, sys, lib_resid, lib_direct, other, reads = 0, k;
    int b;
    for (b = 0; b < B_N; b++) {
      corr[b] = (double)acct.ns[b] - T * (double)(acct.calls[b] + acct.children[b]);
      reads += 2.0 * (double)acct.calls[b];
    }
    /* CPU of the run without the clock reads and the heap sampling. */
    total = (double)(ru1 - ru0) - T * reads - corr[B_MEAS];
    mbed = corr[B_MBEDTLS];
    sys = corr[B_IO] + corr[B_SYS];
    lib_resid = total - mbed - sys;
    lib_direct = corr[B_LIB];
    other = lib_resid - lib_direct;
    k = 1e-6 / n; /* ns in all -> ms per registration */

    printf("load: %d sessions, %d ok, %d failed, %.1f reg/s, %.2f ms client CPU per registration\n",
           opt.n, count.ok, count.failed, n / (w1 - w0), (double)(ru1 - ru0) * k);
    printf("split: mbedTLS %.3f ms (%.1f%%), library %.3f ms (%.1f%%), syscalls %.3f ms (%.1f%%)\n",
           mbed * k, 100.0 * mbed / total, lib_resid * k, 100.0 * lib_resid / total, sys * k,
           100.0 * sys / total);
    printf("memory: %lu B per session (xep0077 %lu + xep0077_query %lu + xep0077_mbedtls %lu), "
           "no heap from the library;",
           (unsigned long)(sizeof(xep0077) + sizeof(xep0077_query) + sizeof(xep0077_mbedtls)),
           (unsigned long)sizeof(xep0077), (unsigned long)sizeof(xep0077_query),
           (unsigned long)sizeof(xep0077_mbedtls));
    if (LOAD_HEAP && live_at_peak > 0)
      printf(" mbedTLS heap %.1f KiB per session after init (CA, DRBG), peak %.1f KiB for %d live "
             "sessions = %.1f KiB per session\n",
             (double)(heap_init - heap0) / 1024.0 / n, (double)(heap_peak - heap0) / 1024.0,
             live_at_peak, (double)(heap_peak - heap0) / 1024.0 / live_at_peak);
    else
      printf(" mbedTLS heap not measured (no mallinfo2)\n");
    printf("detail: library measured inside xep0077_* calls %.3f ms (%.2f%% of client CPU), "
           "this harness's loop %.3f ms; syscalls: send/recv %.3f ms, poll/socket/connect/close "
           "%.3f ms; mbedTLS:",
           lib_direct * k, 100.0 * lib_direct / total, other * k, corr[B_IO] * k, corr[B_SYS] * k);
    for (b = 0; b < K_N; b++)
      printf(" %s %.3f ms%s", sub_name[b],
             ((double)acct.sub_ns[b] - T * (double)(acct.sub_calls[b] + acct.sub_children[b])) * k, b + 1 < K_N ? "," : ";");
    printf(" the split adds up to %.3f ms: getrusage less %.3f ms of measuring (%.0f clock reads of "
           "%.0f ns, heap sampling); %.1f xep0077_poll per registration, c->again %lu times; %d "
           "sessions in flight at most; setup %.0f ms, wall %.0f ms, %lu loop turns\n",
           total * k, ((double)(ru1 - ru0) - total) * k, reads, T, (double)count.polls / n,
           count.agains, count.live_max, (w_setup - w0) * 1000.0, (w1 - w0) * 1000.0, count.iters);
  }
  free(pidx);
  free(pfd);
  free(ss);
  return count.ok == opt.n ? 0 : 1;
}
