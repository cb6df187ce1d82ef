/* xml_dump: print the events xep0077.h's XML pull parser reports for a stream
   read from standard input, in chunks of any size.

     cc -std=c99 -I.. xml_dump.c -o xml_dump
     printf "<s:stream xmlns:s='x'><iq id='1'/>" | ./xml_dump 3

   The one argument is the chunk size (default 4096): the events are the same
   for every size, which is the point of an incremental parser. */
#define XEP0077_IMPLEMENTATION
#include "../xep0077.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
  static char mem[4096];  /* open start tags + the current event's text   */
  static char chunk[65536];
  size_t size = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 4096;
  xep0077_xml p;
  int ev = 0, i;

  if (size == 0 || size > sizeof chunk) size = 4096;
  xep0077_xml_init(&p, mem, sizeof mem);
  for (;;) {
    size_t n = fread(chunk, 1, size, stdin);
    if (n == 0) break;
    xep0077_xml_feed(&p, chunk, n);
    while ((ev = xep0077_xml_next(&p)) > 0) {
      switch (ev) {
      case XEP0077_XML_START:
        printf("%*sSTART {%s}%s\n", 2 * p.depth, "", p.ns, p.name);
        for (i = 0; i < p.nattrs; i++)
          printf("%*s  @{%s}%s='%s'\n", 2 * p.depth, "", p.attrs[i].ns,
                 p.attrs[i].name, p.attrs[i].value);
        break;
      case XEP0077_XML_TEXT:
        printf("%*sTEXT%s '%s'\n", 2 * p.depth, "", p.text_partial ? " (piece)" : "", p.text);
        break;
      case XEP0077_XML_END:
        printf("%*sEND {%s}%s\n", 2 * p.depth, "", p.ns, p.name);
        break;
      case XEP0077_XML_STANZA_END:
        printf("%*sSTANZA COMPLETE {%s}%s\n", 2 * p.depth, "", p.ns, p.name);
        break;
      case XEP0077_XML_STREAM_END:
        printf("STREAM CLOSED\n");
        break;
      }
    }
    if (ev < 0) {
      fprintf(stderr, "error at byte %lu: %s (%s)\n", p.offset, xep0077_strerror(ev),
              xep0077_status_name(ev));
      return 1;
    }
  }
  return 0;
}
