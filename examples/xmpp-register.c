/* xmpp-register -- create, inspect, re-password and delete an XMPP account
   with In-Band Registration (XEP-0077): xep0077.h over POSIX sockets + mbedTLS.

     xmpp-register [OPTIONS] fields DOMAIN
     xmpp-register [OPTIONS] register JID PASSWORD [NAME=VALUE ...]
     xmpp-register [OPTIONS] info JID PASSWORD
     xmpp-register [OPTIONS] passwd JID OLD_PASSWORD NEW_PASSWORD
     xmpp-register [OPTIONS] cancel JID PASSWORD

   Build (mbedTLS 2.28 or 3.x), from the repository root:

     gcc -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -pedantic -I. \
         examples/xmpp-register.c -o examples/xmpp-register \
         -lmbedtls -lmbedx509 -lmbedcrypto

   TLS is always on and always verified: STARTTLS (or --direct-tls), the
   certificate checked against --cafile and the JID's domain. There is no
   switch to turn that off; nothing secret is ever sent without it.

   A PASSWORD of "-" is read from standard input, one line each, in argument
   order, so it never shows in `ps` (a password given on the command line is
   blanked in argv at once, but it was visible until then). A CAPTCHA answer,
   when the server asks for one, is the next line after the passwords.

   EXIT STATUS
     0  success
     1  the server refused with an XMPP error (conflict, not-acceptable, ...)
     2  usage error, or a required registration field is missing (the
        registration was not sent)
     3  connection, transport or protocol failure (DNS, TCP, stream error)
     4  TLS failure: no STARTTLS, handshake failed, certificate or name not
        verified, trust anchors unreadable
     5  authentication failed (wrong JID or password, account gone)
     6  timeout
     7  the server registers accounts out of band: the URL is printed
   On failure, one line on stderr, e.g.
     xmpp-register: register failed: conflict: The requested username already exists.

   Reading this as an example: the calls to xep0077.h are all in the section
   "THE XEP-0077 FLOW" below. Everything before it is plumbing a program
   has anyway (a socket, a clock, reading a line); everything after it is
   printing and argument parsing. */
#define XEP0077_IMPLEMENTATION
#define XEP0077_MBEDTLS
#include "xep0077.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

enum {
  EXIT_OK = 0,
  EXIT_XMPP = 1,     /* an XMPP error reply                   */
  EXIT_USAGE = 2,    /* bad arguments, missing field          */
  EXIT_NET = 3,      /* connection, transport, protocol       */
  EXIT_TLS = 4,      /* TLS or certificate                    */
  EXIT_AUTH = 5,     /* login refused                         */
  EXIT_TIMEOUT = 6,
  EXIT_REDIRECT = 7  /* register at a URL instead (XEP-0066)  */
};

static const char usage_text[] =
  "xmpp-register [OPTIONS] fields DOMAIN\n"
  "xmpp-register [OPTIONS] register JID PASSWORD [NAME=VALUE ...]\n"
  "xmpp-register [OPTIONS] info JID PASSWORD\n"
  "xmpp-register [OPTIONS] passwd JID OLD_PASSWORD NEW_PASSWORD\n"
  "xmpp-register [OPTIONS] cancel JID PASSWORD\n"
  "OPTIONS: --connect HOST[:PORT]  (default: the domain, port 5222)\n"
  "         --cafile FILE          (PEM trust anchors; default: the system's CA bundle "
  "/etc/ssl/certs/ca-certificates.crt)\n"
  "         --direct-tls           (TLS from the first byte, XEP-0368)\n"
  "         --timeout SECONDS      (per operation; default 30)\n"
  "         -v                     (XML console on stderr, secrets redacted)\n";

static struct options {
  const char *host, *port;  /* where to connect; default: the domain, 5222 */
  const char *cafile;
  int direct_tls, verbose;
  unsigned long timeout_ms;
} opt;

static int console_line; /* -v: the console's last line is unfinished */

/* Start our own line on stderr: "xmpp-register: ". */
static void err_begin(void)
{
  if (console_line) fputc('\n', stderr);
  console_line = 0;
  fputs("xmpp-register: ", stderr);
}

/* One line on stderr, "xmpp-register: ...", and the exit code to return. */
static int say(int code, const char *fmt, ...)
{
  va_list ap;
  err_begin();
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return code;
}

/* A store the compiler may not drop: for buffers that held a password. */
static void wipe(void *p, size_t n)
{
  volatile unsigned char *v = (volatile unsigned char *)p;
  while (n--) *v++ = 0;
}

/* Server text for our terminal: control characters become '?' (C0, DEL and
   UTF-8 C1: an escape sequence could rewrite the screen), line breaks "; "
   (an error is one line). Into one of a few static buffers, cut at 1 KiB,
   for printf. */
static const char *clean(const char *s)
{
  static char buf[4][1024];
  static int k;
  char *o = buf[k = (k + 1) % 4];
  size_t n = 0;
  for (; s && *s && n + 3 < sizeof buf[0]; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '\n') {
      o[n++] = ';';
      o[n++] = ' ';
    } else if (ch == '\t' || ch == '\r') {
      o[n++] = ' ';
    } else if (ch == 0xC2 && (unsigned char)s[1] >= 0x80 && (unsigned char)s[1] < 0xA0) {
      o[n++] = '?'; /* U+0080..U+009F */
      s++;
    } else {
      o[n++] = (char)((ch < 32 || ch == 127) ? '?' : ch);
    }
  }
  o[n] = 0;
  return o;
}

/* ---- the host side: a TCP socket behind the library's callbacks ---------
   Non-blocking, so every wait has a deadline; the callbacks follow the
   mbedTLS BIO contract, so the same pair carries plain TCP and TLS. */
static int sock = -1;

static unsigned long now_ms(void *user)
{
  struct timespec ts;
  (void)user;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (unsigned long)ts.tv_sec * 1000ul + (unsigned long)(ts.tv_nsec / 1000000);
}

static int tcp_send(void *io, const unsigned char *buf, size_t len)
{
  ssize_t n;
  if (len > 65536) len = 65536; /* the result must fit an int */
  do n = send(*(int *)io, buf, len, MSG_NOSIGNAL); /* a dead peer is an error, not SIGPIPE */
  while (n < 0 && errno == EINTR);
  if (n >= 0) return (int)n;
  return errno == EAGAIN || errno == EWOULDBLOCK ? XEP0077_WANT_WRITE : -1;
}

static int tcp_recv(void *io, unsigned char *buf, size_t len)
{
  ssize_t n;
  if (len > 65536) len = 65536;
  do n = recv(*(int *)io, buf, len, 0);
  while (n < 0 && errno == EINTR);
  if (n >= 0) return (int)n;
  return errno == EAGAIN || errno == EWOULDBLOCK ? XEP0077_WANT_READ : -1;
}

/* cfg.wait: the blocking calls sleep here instead of spinning.
   WORKAROUND, remove when xep0077.h is fixed: right after <proceed/> the
   library asks to wait for input before it has sent its ClientHello, so an
   uncapped sleep lasts until the timeout (tests/interop.c,
   blocking_uncapped_wait_starttls). Waking every 100 ms unsticks it. */
#define WAIT_CAP_MS 100ul

static void tcp_wait(void *io, int want_write, unsigned long ms)
{
  struct pollfd p;
  p.fd = *(int *)io;
  p.events = (short)(POLLIN | (want_write ? POLLOUT : 0));
  p.revents = 0;
  (void)poll(&p, 1, (int)(ms < WAIT_CAP_MS ? ms : WAIT_CAP_MS));
}

/* Connect to host:port (every address getaddrinfo gives, in order) within
   the operation timeout, and leave the socket non-blocking. */
static int tcp_connect(const char *host, const char *port)
{
  struct addrinfo hints, *res, *ai;
  unsigned long deadline = now_ms(NULL) + opt.timeout_ms;
  int rc, err = 0, timed_out = 0;

  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if ((rc = getaddrinfo(host, port, &hints, &res)) != 0)
    return say(EXIT_NET, "cannot resolve %s: %s", host, gai_strerror(rc));
  for (ai = res; ai && sock < 0; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) { err = errno; continue; }
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0 &&
        (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS)) {
      struct pollfd p;
      long left = (long)(deadline - now_ms(NULL));
      socklen_t len = sizeof err;
      p.fd = fd;
      p.events = POLLOUT;
      rc = left > 0 ? poll(&p, 1, (int)left) : 0;
      if (rc == 0) timed_out = 1;
      else if (rc > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
        sock = fd;
    } else {
      err = errno;
    }
    if (sock != fd) close(fd);
  }
  freeaddrinfo(res);
  if (sock >= 0) return 0;
  if (timed_out && !err)
    return say(EXIT_TIMEOUT, "cannot connect to %s port %s: timed out", host, port);
  return say(EXIT_NET, "cannot connect to %s port %s: %s", host, port,
             strerror(err ? err : ECONNREFUSED));
}

/* cfg.log with -v: the XML console. The library hands over pieces, with a
   password or SASL payload already replaced by "***"; a new line starts
   when the direction changes or a stanza starts. */
static void console(void *user, int dir, const char *text, size_t len)
{
  static int last_dir = -1, after_secret;
  (void)user;
  if (dir != last_dir || dir == XEP0077_LOG_INFO || (text[0] == '<' && !after_secret)) {
    if (last_dir >= 0) fputc('\n', stderr);
    fputs(dir == XEP0077_LOG_IN ? "S: " : dir == XEP0077_LOG_OUT ? "C: " : "-- ", stderr);
  }
  fwrite(text, 1, len, stderr);
  last_dir = dir;
  after_secret = len == 3 && !memcmp(text, "***", 3);
  console_line = 1;
}

/* One line of standard input into buf, newline stripped. On a terminal the
   prompt goes to stderr and, for a secret, echo is off. 0, or -1 at end of
   input or when the line does not fit. */
static int read_line(const char *prompt, char *buf, size_t size, int secret)
{
  struct termios old, quiet;
  int tty = isatty(STDIN_FILENO), echo_off = 0, ok;
  size_t n;
  if (tty) {
    fprintf(stderr, "%s", prompt);
    if (secret && tcgetattr(STDIN_FILENO, &old) == 0) {
      quiet = old;
      quiet.c_lflag &= (tcflag_t)~ECHO;
      echo_off = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
    }
  }
  ok = fgets(buf, (int)size, stdin) != NULL;
  if (echo_off) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    fputc('\n', stderr);
  }
  n = ok ? strlen(buf) : 0;
  if (!ok || n == 0 || (buf[n - 1] != '\n' && !feof(stdin))) {
    wipe(buf, size);
    return -1;
  }
  if (buf[n - 1] == '\n') buf[--n] = 0;
  if (n && buf[n - 1] == '\r') buf[--n] = 0;
  return 0;
}

/* ---- CAPTCHA images (XEP-0231 data, XEP-0221 media) ----------------------
   q.on_data receives an image while the reply is being read, in pieces; we
   write it to a file of our own creation and remember its path by cid. */
#define MAX_IMAGES 8
#define MAX_IMAGE_BYTES (1024ul * 1024ul) /* a server must not fill the disk */

static struct images {
  FILE *f;                 /* the image being written, or NULL          */
  size_t bytes;
  int n;
  char cid[MAX_IMAGES][128];
  char path[MAX_IMAGES][512];
} img;

/* A file name piece from server text: only [A-Za-z0-9.+@_-]. */
static void safe_name(char *out, size_t size, const char *s, size_t max)
{
  size_t o = 0;
  for (; s && *s && o + 1 < size && o < max; s++) {
    char ch = *s;
    int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
             ch == '.' || ch == '+' || ch == '@' || ch == '_' || ch == '-';
    out[o++] = ok ? ch : '_';
  }
  out[o] = 0;
}

/* "image/png" -> "png", "image/jpeg" -> "jpg", "image/svg+xml" -> "svg",
   "audio/x-wav" -> "wav"; "bin" when there is nothing usable. */
static void extension(char *out, size_t size, const char *type)
{
  const char *sub = type ? strchr(type, '/') : NULL;
  size_t n;
  if (!sub) { snprintf(out, size, "bin"); return; }
  sub++;
  if (!strncmp(sub, "x-", 2)) sub += 2;
  n = strcspn(sub, "+;");
  if (n == 4 && !strncmp(sub, "jpeg", 4)) {
    sub = "jpg";
    n = 3;
  }
  safe_name(out, size, sub, n < 8 ? n : 8);
  if (!*out || out[0] == '.') snprintf(out, size, "bin");
}

/* A new file, never an existing one or a symlink someone planted in /tmp:
   O_EXCL, with "-2", "-3", ... when the name is taken. */
static FILE *image_create(const char *cid, const char *type, char *path, size_t size)
{
  const char *dir = getenv("TMPDIR");
  char name[100], ext[16];
  int i, fd = -1;
  if (!dir || !*dir) dir = "/tmp";
  safe_name(name, sizeof name, cid && *cid ? cid : "captcha", 90);
  extension(ext, sizeof ext, type);
  for (i = 1; i < 100 && fd < 0; i++) {
    if (i == 1) snprintf(path, size, "%s/xmpp-register-%s.%s", dir, name, ext);
    else snprintf(path, size, "%s/xmpp-register-%s-%d.%s", dir, name, i, ext);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
    if (fd < 0 && errno != EEXIST) break;
  }
  return fd < 0 ? NULL : fdopen(fd, "wb");
}

static void image_abandon(void)
{
  if (!img.f) return;
  fclose(img.f);
  img.f = NULL;
  remove(img.path[img.n]);
}

/* xep0077_data_fn. Returning < 0 tells the library to skip the rest of this
   image; the registration goes on. */
static int on_image(void *user, const char *cid, const char *type, const unsigned char *bytes,
                    size_t n, int last)
{
  (void)user;
  if (!img.f) { /* the first piece of a new image */
    if (img.n >= MAX_IMAGES) return -1;
    img.f = image_create(cid, type, img.path[img.n], sizeof img.path[img.n]);
    if (!img.f) {
      say(0, "warning: cannot save the CAPTCHA image: %s", strerror(errno));
      return -1;
    }
    snprintf(img.cid[img.n], sizeof img.cid[img.n], "%s", cid ? cid : "");
    img.bytes = 0;
  }
  img.bytes += n;
  if (img.bytes > MAX_IMAGE_BYTES || fwrite(bytes, 1, n, img.f) != n) {
    image_abandon();
    return -1;
  }
  if (last) {
    if (fclose(img.f) != 0) { img.f = NULL; remove(img.path[img.n]); return -1; }
    img.f = NULL;
    printf("Image %s (%s) saved to %s\n", img.cid[img.n], type ? type : "?", img.path[img.n]);
    img.n++;
  }
  return 0;
}

/* The saved file for a media URI "cid:...", or NULL. */
static const char *image_path(const char *uri)
{
  int i;
  if (!uri || strncmp(uri, "cid:", 4)) return NULL;
  for (i = 0; i < img.n; i++)
    if (!strcmp(img.cid[i], uri + 4)) return img.path[i];
  return NULL;
}

/* ---- printing a query ----------------------------------------------------- */
static int is_secret(const char *name, const char *type)
{
  return (type && !strcmp(type, "text-private")) || (name && strstr(name, "password"));
}

static void print_value(const char *name, const char *type, const char *v)
{
  if (v && *v) printf(" = %s", is_secret(name, type) ? "(hidden)" : clean(v));
}

static void print_form_field(const xep0077_query *q, int i)
{
  const xep0077_form_field *f = &q->form[i];
  const xep0077_item *it;
  int k;
  printf("  %-12s %-13s %-8s", clean(f->var ? f->var : "(no name)"),
         clean(f->type ? f->type : "text-single"), f->required ? "required" : "optional");
  if (f->label) printf(" \"%s\"", clean(f->label));
  for (k = 0; (it = xep0077_form_item(q, i, XEP0077_ITEM_VALUE, k)) != NULL; k++)
    print_value(f->var, f->type, it->text);
  fputc('\n', stdout);
  if (f->desc) printf("      %s\n", clean(f->desc));
  for (k = 0; (it = xep0077_form_item(q, i, XEP0077_ITEM_OPTION, k)) != NULL; k++)
    printf("      option %s%s%s%s\n", clean(it->text), it->label ? " \"" : "",
           it->label ? clean(it->label) : "", it->label ? "\"" : "");
  if (f->media_width || f->media_height || f->nuris)
    printf("      media %dx%d\n", f->media_width, f->media_height);
  for (k = 0; (it = xep0077_form_item(q, i, XEP0077_ITEM_URI, k)) != NULL; k++)
    printf("      %s (%s)%s%s\n", clean(it->text), it->label ? clean(it->label) : "?",
           image_path(it->text) ? " saved to " : "",
           image_path(it->text) ? image_path(it->text) : "");
}

/* asking: the server's answer to "which fields?" (legacy fields are then
   all required, XEP-0077 section 3.1); else an account's details. */
static void print_query(const xep0077_query *q, int asking)
{
  int i, legacy = 0;
  if (q->instructions) printf("Instructions: %s\n", clean(q->instructions));
  if (q->registered) puts("Registered: yes");
  if (q->form_present) {
    printf("Form:%s%s%s%s%s\n", q->form_title ? " " : "", q->form_title ? clean(q->form_title) : "",
           q->form_type ? " (FORM_TYPE " : "", q->form_type ? clean(q->form_type) : "",
           q->form_type ? ")" : "");
    if (q->form_instructions &&
        (!q->instructions || strcmp(q->form_instructions, q->instructions)))
      printf("  %s\n", clean(q->form_instructions));
    puts("Fields (name, type, required, label, value):");
    for (i = 0; i < q->nform; i++) print_form_field(q, i);
  }
  for (i = 0; i < q->nfields; i++) {
    const xep0077_field *f = &q->field[i];
    if (!strcmp(f->name, "registered") || !strcmp(f->name, "remove")) continue;
    if (q->form_present) { /* the same fields again, for old clients */
      printf("%s%s", legacy++ ? " " : "Legacy fields: ", clean(f->name));
      continue;
    }
    if (!legacy++) puts(asking ? "Fields (legacy; every one is required):" : "Fields:");
    printf("  %s", clean(f->name));
    print_value(f->name, NULL, f->value);
    fputc('\n', stdout);
  }
  if (q->form_present && legacy) fputc('\n', stdout);
  if (q->oob_url)
    printf("Register out of band at: %s%s%s%s\n", clean(q->oob_url), q->oob_desc ? " (" : "",
           q->oob_desc ? clean(q->oob_desc) : "", q->oob_desc ? ")" : "");
}

/* ==== THE XEP-0077 FLOW ======================================================
   Static because they are large (the session holds all its buffers: no heap
   in the library); one of each is all a program needs. */
static xep0077_mbedtls tls;  /* TLS for the stream, and SCRAM's crypto      */
static xep0077 conn;         /* one XMPP session                            */
static xep0077_query query;  /* the server's fields, then what we send back */
static int tls_ready, conn_ready;
static const char *domain;   /* the JID's domain: the certificate must match */

/* A failed call: one line naming what the server said, and the exit code. */
static int failed(const char *what, int rc)
{
  const xep0077_error *e = &conn.error;
  int code = EXIT_NET;
  switch (rc) {
  case XEP0077_ERR_TLS_VERIFY:
    return say(EXIT_TLS, "TLS certificate verification failed for %s (check --cafile)", domain);
  case XEP0077_ERR_REDIRECT: /* XEP-0066: the server wants a web page used */
    return say(EXIT_REDIRECT, "%s: this server registers accounts out of band at %s", what,
               clean(query.oob_url));
  case XEP0077_ERR_TIMEOUT:
    return say(EXIT_TIMEOUT, "%s failed: no answer within %lu s", what, opt.timeout_ms / 1000);
  case XEP0077_ERR_IQ: code = EXIT_XMPP; break;
  case XEP0077_ERR_SASL_FAILED: case XEP0077_ERR_SASL_MECH:
  case XEP0077_ERR_SASL_SIGNATURE: case XEP0077_ERR_SASL_ITERATIONS:
    code = EXIT_AUTH; break;
  case XEP0077_ERR_TLS: case XEP0077_ERR_TLS_REQUIRED: case XEP0077_ERR_TLS_INJECTION:
  case XEP0077_ERR_INSECURE:
    code = EXIT_TLS; break;
  default: break;
  }
  if (!e->condition[0]) return say(code, "%s failed: %s", what, xep0077_strerror(rc));
  /* The server's words: an IQ error, a SASL failure or a stream error. */
  return say(code, "%s failed: %s%s%s%s", what, rc == XEP0077_ERR_STREAM ? "stream error: " : "",
             clean(e->condition), e->text[0] ? ": " : "", clean(e->text));
}

/* TCP, trust anchors, then the stream: STARTTLS (or direct TLS) with the
   certificate verified for the domain, and the stream features. */
static int session_open(void)
{
  xep0077_config cfg;
  int rc;
  if ((rc = tcp_connect(opt.host ? opt.host : domain, opt.port)) != 0) return rc;
  tls_ready = 1;
  if (xep0077_mbedtls_init(&tls, NULL, opt.cafile) != 0)
    return say(EXIT_TLS, "cannot load trust anchors from %s", opt.cafile);

  memset(&cfg, 0, sizeof cfg); /* zero is the default for everything else */
  cfg.domain = domain;         /* stream 'to', and the certificate's name */
  cfg.send = tcp_send;
  cfg.recv = tcp_recv;
  cfg.io = &sock;
  cfg.now_ms = now_ms;
  cfg.wait = tcp_wait;         /* blocking calls sleep in poll(), no spin */
  cfg.tls = &tls.tls;
  cfg.crypto = &tls.crypto;    /* SCRAM; without it only PLAIN over TLS  */
  cfg.direct_tls = opt.direct_tls;
  cfg.timeout_ms = opt.timeout_ms;
  if (opt.verbose) cfg.log = console; /* passwords arrive as "***" */
  if (xep0077_init(&conn, &cfg) != 0) return say(EXIT_USAGE, "invalid domain '%s'", domain);
  conn_ready = 1;
  rc = xep0077_connect(&conn, opt.timeout_ms);
  return rc ? failed("connect", rc) : 0;
}

/* SASL (SCRAM, the server's signature checked) and resource binding. */
static int session_login(const char *user, const char *password)
{
  int rc = session_open();
  if (rc) return rc;
  rc = xep0077_login(&conn, user, password, opt.timeout_ms);
  return rc ? failed("login", rc) : 0;
}

/* Polite end: </stream:stream>, close_notify, the socket. Its result does
   not matter: the command's work is done or failed already. */
static void session_close(void)
{
  if (conn_ready) (void)xep0077_close(&conn, 2000); /* the peer may never answer */
  if (tls_ready) xep0077_mbedtls_free(&tls);
  if (sock >= 0) close(sock);
  conn_ready = tls_ready = 0;
  sock = -1;
}

static int cmd_fields(void)
{
  int rc = session_open();
  if (rc) return rc;
  query.on_data = on_image; /* a CAPTCHA image, if any, goes to a file */
  rc = xep0077_get_registration_fields(&conn, NULL, &query, opt.timeout_ms);
  if (rc && rc != XEP0077_ERR_REDIRECT) return failed("fields", rc);
  print_query(&query, 1);
  return rc ? failed("fields", rc) : 0; /* a redirect: URL above, exit 7 */
}

static int ask_captcha(void);

static int cmd_register(const char *user, const char *password, char **pairs, int npairs)
{
  const char *missing;
  int rc, i;
  if ((rc = session_open()) != 0) return rc;
  /* First ask: the server says which fields it wants (a form, or legacy
     elements), or that registration happens on a web page. */
  query.on_data = on_image;
  rc = xep0077_get_registration_fields(&conn, NULL, &query, opt.timeout_ms);
  if (rc) return failed("register", rc);

  /* Fill in by name; query_set picks the form field or the legacy element.
     A server whose form lacks these names is left to query_missing. */
  (void)xep0077_query_set(&query, "username", user);
  (void)xep0077_query_set(&query, "password", password);
  for (i = 0; i < npairs; i++) {
    char *eq = strchr(pairs[i], '=');
    *eq = 0; /* NAME=VALUE split in place: argv lives as long as we do */
    if (xep0077_query_set(&query, pairs[i], eq + 1) != 0)
      return say(EXIT_USAGE, "the server does not ask for a field named '%s'", pairs[i]);
  }
  if ((rc = ask_captcha()) != 0) return rc;

  /* Name what is missing before sending anything: clearer than the
     server's not-acceptable, and a form is not spent on a sure refusal. */
  if ((missing = xep0077_query_missing(&query)) != NULL)
    return say(EXIT_USAGE, "missing required field '%s' (add %s=VALUE)", missing, missing);

  rc = xep0077_register(&conn, NULL, &query, opt.timeout_ms);
  if (rc) return failed("register", rc);
  printf("Registered %s@%s\n", user, domain);
  return 0;
}

static int cmd_info(const char *user, const char *password)
{
  int rc = session_login(user, password);
  if (rc) return rc;
  rc = xep0077_get_client_info(&conn, &query, opt.timeout_ms);
  if (rc) return failed("info", rc);
  printf("Account: %s\n", conn.jid); /* the bound full JID */
  print_query(&query, 0);
  return 0;
}

static int cmd_passwd(const char *user, const char *old_password, const char *new_password)
{
  int rc = session_login(user, old_password);
  if (rc) return rc;
  /* old_password answers a server that asks for it in a form (XEP-0077
     section 3.3); query receives that form. */
  rc = xep0077_change_pass(&conn, &query, new_password, old_password, opt.timeout_ms);
  if (rc) return failed("passwd", rc);
  printf("Password changed for %s@%s\n", user, domain);
  return 0;
}

static int cmd_cancel(const char *user, const char *password)
{
  int rc = session_login(user, password);
  if (rc) return rc;
  /* Success includes the server closing the stream right after (the
     account that owned it is gone); the library sorts that out. */
  rc = xep0077_cancel_registration(&conn, &query, opt.timeout_ms);
  if (rc) return failed("cancel", rc);
  printf("Deleted %s@%s\n", user, domain);
  return 0;
}
/* ==== end of the XEP-0077 flow ============================================ */

/* XEP-0158: a CAPTCHA form, or fields carrying XEP-0221 media. Each media
   field not given as NAME=VALUE is asked on standard input, after showing
   where its image was saved; in a CAPTCHA form, so is any other required
   field still empty. */
static int ask_captcha(void)
{
  static char answer[4][256];
  int i, k, n = 0, captcha = query.form_type && !strcmp(query.form_type, "urn:xmpp:captcha");
  for (i = 0; i < query.nform; i++) {
    xep0077_form_field *f = &query.form[i];
    const xep0077_item *uri;
    int media = f->nuris || f->media_width || f->media_height;
    int hidden = f->type && (!strcmp(f->type, "hidden") || !strcmp(f->type, "fixed"));
    if (!f->var || f->set || hidden) continue;
    if (!media && !(captcha && f->required && !xep0077_query_get(&query, f->var))) continue;
    if (n == 4) return say(EXIT_USAGE, "too many CAPTCHA questions");
    fprintf(stderr, "CAPTCHA: %s\n", clean(f->label ? f->label : f->var));
    for (k = 0; (uri = xep0077_form_item(&query, i, XEP0077_ITEM_URI, k)) != NULL; k++)
      fprintf(stderr, "  %s\n", image_path(uri->text) ? image_path(uri->text) : clean(uri->text));
    if (read_line("Answer: ", answer[n], sizeof answer[n], 0) != 0)
      return say(EXIT_USAGE, "no answer for the CAPTCHA field '%s' on standard input", f->var);
    if (xep0077_query_set(&query, f->var, answer[n++]) != 0)
      return say(EXIT_USAGE, "cannot set the CAPTCHA field '%s'", f->var);
  }
  return 0;
}

/* ---- arguments ------------------------------------------------------------ */
static char jid_buf[XEP0077_JID_SIZE];
static char password[2][1024]; /* wiped before exit */

/* "user@domain/resource" into its parts (in jid_buf); the resource, if any,
   is dropped: binding lets the server pick one. need_user: a bare domain
   is not enough. Returns the local part ("" for none) or NULL. */
static const char *split_jid(const char *jid, int need_user)
{
  char *at, *slash;
  if (strlen(jid) >= sizeof jid_buf) return NULL;
  strcpy(jid_buf, jid);
  if ((slash = strchr(jid_buf, '/')) != NULL) *slash = 0;
  if ((at = strchr(jid_buf, '@')) != NULL) {
    *at = 0;
    domain = at + 1;
  } else {
    domain = jid_buf;
  }
  if (!*domain || strchr(domain, '@') || (need_user && (!at || !*jid_buf))) return NULL;
  return at ? jid_buf : "";
}

/* A password argument into password[i]: "-" reads a line of standard
   input; anything else is copied and blanked in argv, so `ps` shows it for
   as short a time as we can make it. */
static int get_password(int i, char *arg, const char *prompt)
{
  if (!strcmp(arg, "-")) {
    if (read_line(prompt, password[i], sizeof password[i], 1) != 0)
      return say(EXIT_USAGE, "no password on standard input");
  } else {
    if (strlen(arg) >= sizeof password[i]) return say(EXIT_USAGE, "password too long");
    strcpy(password[i], arg);
    wipe(arg, strlen(arg));
  }
  if (!password[i][0]) return say(EXIT_USAGE, "empty password");
  return 0;
}

/* HOST, HOST:PORT, [V6]:PORT or a bare IPv6 address. */
static int parse_connect(char *arg)
{
  char *colon = strrchr(arg, ':');
  if (arg[0] == '[') {
    char *end = strchr(arg, ']');
    if (!end || (end[1] && end[1] != ':')) return -1;
    *end = 0;
    opt.host = arg + 1;
    if (end[1] == ':') opt.port = end + 2;
  } else if (colon && colon == strchr(arg, ':')) { /* exactly one colon */
    *colon = 0;
    opt.host = arg;
    opt.port = colon + 1;
  } else {
    opt.host = arg;
  }
  return *opt.host && *opt.port ? 0 : -1;
}

int main(int argc, char **argv)
{
  const char *cmd, *user;
  char **arg;
  int i, n, rc;

  opt.port = "5222";
  opt.cafile = "/etc/ssl/certs/ca-certificates.crt";
  opt.timeout_ms = 30000;
  for (i = 1; i < argc && argv[i][0] == '-'; i++) {
    const char *o = argv[i];
    if (!strcmp(o, "--")) { i++; break; }
    if (!strcmp(o, "-h") || !strcmp(o, "--help")) { fputs(usage_text, stdout); return EXIT_OK; }
    if (!strcmp(o, "-v")) { opt.verbose = 1; continue; }
    if (!strcmp(o, "--direct-tls")) { opt.direct_tls = 1; continue; }
    if (i + 1 >= argc) return say(EXIT_USAGE, "%s needs a value (try --help)", o);
    if (!strcmp(o, "--connect")) {
      if (parse_connect(argv[++i]) != 0) return say(EXIT_USAGE, "bad --connect: want HOST[:PORT]");
    } else if (!strcmp(o, "--cafile")) {
      opt.cafile = argv[++i];
    } else if (!strcmp(o, "--timeout")) {
      char *end;
      unsigned long s = strtoul(argv[++i], &end, 10);
      if (*end || s == 0 || s > 86400 || argv[i][0] == '-')
        return say(EXIT_USAGE, "bad --timeout: want 1 to 86400 seconds");
      opt.timeout_ms = s * 1000;
    } else {
      return say(EXIT_USAGE, "unknown option %s (try --help)", o);
    }
  }
  if (i >= argc) { fputs(usage_text, stderr); return EXIT_USAGE; }
  cmd = argv[i];
  arg = argv + i + 1;
  n = argc - i - 1;

  if (!strcmp(cmd, "fields") && n == 1) {
    if (!split_jid(arg[0], 0)) return say(EXIT_USAGE, "bad domain '%s'", arg[0]);
    rc = cmd_fields();
  } else if ((!strcmp(cmd, "register") && n >= 2) || (!strcmp(cmd, "info") && n == 2) ||
             (!strcmp(cmd, "passwd") && n == 3) || (!strcmp(cmd, "cancel") && n == 2)) {
    int is_passwd = !strcmp(cmd, "passwd");
    if (!(user = split_jid(arg[0], 1)))
      return say(EXIT_USAGE, "bad JID '%s': want user@domain", arg[0]);
    for (i = 2; !strcmp(cmd, "register") && i < n; i++) { /* NAME=VALUE */
      if (!strchr(arg[i], '=') || arg[i][0] == '=')
        return say(EXIT_USAGE, "bad field '%s': want NAME=VALUE", arg[i]);
      if (!strncmp(arg[i], "username=", 9) || !strncmp(arg[i], "password=", 9))
        return say(EXIT_USAGE, "%.8s comes from the JID and PASSWORD, not NAME=VALUE", arg[i]);
    }
    rc = get_password(0, arg[1], is_passwd ? "Old password: " : "Password: ");
    if (!rc && is_passwd) rc = get_password(1, arg[2], "New password: ");
    if (rc) {
      /* usage error: nothing to do */
    } else if (!strcmp(cmd, "register")) {
      rc = cmd_register(user, password[0], arg + 2, n - 2);
    } else if (!strcmp(cmd, "info")) {
      rc = cmd_info(user, password[0]);
    } else if (is_passwd) {
      rc = cmd_passwd(user, password[0], password[1]);
    } else {
      rc = cmd_cancel(user, password[0]);
    }
  } else {
    fputs(usage_text, stderr);
    return EXIT_USAGE;
  }
  session_close();
  image_abandon(); /* an image cut short by a failure: not worth keeping */
  if (console_line) fputc('\n', stderr);
  wipe(password, sizeof password);
  return rc;
}
