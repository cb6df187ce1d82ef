/* tests/script.h -- the scaffolding that tests/test_stream.c and
   tests/test_register.c share: one copy, static functions, no main.

   What it provides:
     checks     CHECK(cond, fmt, ...), CHECK_RC(got, want, what) and
                CHECK_STR(got, want, what; want NULL: got must be NULL)
                count into g_pass / g_fail; a failure prints
                "FAIL <g_test>: <detail> [<test file>:<line>]" (__FILE__ and
                __LINE__ of the CHECK). g_verbose is the test's -v flag.
     bytes      find_bytes (memmem, which C99 lacks), b64e / b64d (mbedTLS
                base64), md_of (mbedTLS digest of alg 1 or 256)
     scripts    the steps of a transcript: SRV("...") the server sends,
                CLI("...") / EXACT("...") the client must send (what each
                test's advance() makes of them is its own), PAUSE, CLOSE,
                END.

   How a test uses it: define XEP0077_IMPLEMENTATION (and any XEP0077_*
   options), include "xep0077.h", then this file; the test keeps only its
   own harness and tests. */
#ifndef TESTS_SCRIPT_H
#define TESTS_SCRIPT_H

#include <mbedtls/base64.h>
#include <mbedtls/md.h>
#include <stdarg.h>
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

#endif
