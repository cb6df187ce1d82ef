/* tests/net.h -- the host side of xep0077.h for the network tests
   (tests/interop.c, tests/hostile.c): a non-blocking POSIX TCP socket on
   127.0.0.1 behind the library's mbedTLS-style callbacks, a monotonic clock,
   a poll()-based wait, and the check counters every test program prints.

   Loopback only: net_connect refuses any other address. */
#ifndef XEP0077_TEST_NET_H
#define XEP0077_TEST_NET_H

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* One socket as the library's cfg.io. The counters let a test see what the
   library did on the wire. */
typedef struct net_sock {
  int fd;
  /* net_wait sleeps at most this long (0: as long as the library asks). A
     wait that returns early is always allowed; a test that wants to see the
     library's own wake-up logic leaves this 0. */
  unsigned long wait_cap_ms;
  unsigned long sends, recvs, would_block, send_blocked;
  unsigned long bytes_out, bytes_in;
} net_sock;

static inline unsigned long net_now_ms(void *user)
{
  struct timespec ts;
  (void)user;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (unsigned long)ts.tv_sec * 1000ul + (unsigned long)(ts.tv_nsec / 1000000);
}

/* Connect to 127.0.0.1:port (a blocking connect: on loopback it completes
   or fails at once), then switch to non-blocking. Returns 0 or -1. */
static inline int net_connect(net_sock *s, int port)
{
  struct sockaddr_in a;
  memset(s, 0, sizeof *s);
  s->fd = socket(AF_INET, SOCK_STREAM, 0);
  if (s->fd < 0) return -1;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(s->fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK) != 0) {
    close(s->fd);
    s->fd = -1;
    return -1;
  }
  return 0;
}

static inline void net_close(net_sock *s)
{
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
}

/* xep0077_send_fn: bytes sent, XEP0077_WANT_WRITE, or -1. */
static inline int net_send(void *io, const unsigned char *buf, size_t len)
{
  net_sock *s = (net_sock *)io;
  int tries;
  for (tries = 0; tries < 100; tries++) {
    ssize_t n = send(s->fd, buf, len, MSG_NOSIGNAL);
    s->sends++;
    if (n >= 0) { s->bytes_out += (unsigned long)n; return (int)n; }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      s->would_block++;
      s->send_blocked++;
      return XEP0077_WANT_WRITE;
    }
    return -1;
  }
  return -1;
}

/* xep0077_recv_fn: bytes received, 0 on EOF, XEP0077_WANT_READ, or -1. */
static inline int net_recv(void *io, unsigned char *buf, size_t len)
{
  net_sock *s = (net_sock *)io;
  int tries;
  for (tries = 0; tries < 100; tries++) {
    ssize_t n = recv(s->fd, buf, len, 0);
    s->recvs++;
    if (n >= 0) { s->bytes_in += (unsigned long)n; return (int)n; }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) { s->would_block++; return XEP0077_WANT_READ; }
    return -1;
  }
  return -1;
}

/* cfg.wait: sleep until readable (or writable too when want_write) or ms. */
static inline void net_wait(void *io, int want_write, unsigned long ms)
{
  net_sock *s = (net_sock *)io;
  struct pollfd p;
  p.fd = s->fd;
  p.events = (short)(POLLIN | (want_write ? POLLOUT : 0));
  p.revents = 0;
  if (s->wait_cap_ms && ms > s->wait_cap_ms) ms = s->wait_cap_ms;
  if (ms > 60000) ms = 60000;
  (void)poll(&p, 1, (int)ms);
}

/* Fill a config with this transport; the caller adds tls, crypto, domain. */
static inline void net_config(xep0077_config *cfg, net_sock *s)
{
  memset(cfg, 0, sizeof *cfg);
  cfg->send = net_send;
  cfg->recv = net_recv;
  cfg->io = s;
  cfg->now_ms = net_now_ms;
  cfg->wait = net_wait;
}

/* ---- checks: "FAIL name: detail" per failure, "N passed, N failed" last */
static int net_passed, net_failed;

static inline int net_check(int ok, const char *name, const char *fmt, ...)
{
  if (ok) {
    net_passed++;
  } else {
    va_list ap;
    net_failed++;
    printf("FAIL %s: ", name);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
  }
  fflush(stdout);
  return ok;
}

/* "ERR_TLS_VERIFY (-54)" into a static buffer, for messages. */
static inline const char *net_st(int st)
{
  static char b[4][48];
  static int i;
  i = (i + 1) & 3;
  snprintf(b[i], sizeof b[i], "%s (%d)", xep0077_status_name(st), st);
  return b[i];
}

static inline int net_summary(void)
{
  printf("%d passed, %d failed\n", net_passed, net_failed);
  return net_failed ? 1 : 0;
}

#endif /* XEP0077_TEST_NET_H */
