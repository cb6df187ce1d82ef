// tests/test_cpp.cpp -- xep0077.h from C++11: the header compiles as C++
// (first without the implementation, as every other C++ file of a program
// sees it, then once more with it), and the parser and writer work.
//
//   g++ -std=c++11 -Wall -Wextra -Werror -I. tests/test_cpp.cpp -o /tmp/tcpp
//   /tmp/tcpp
//
// Prints "FAIL <test>: <detail>" per failed check and ends with exactly one
// line "N passed, N failed"; exit status 1 if anything failed.
#include "../xep0077.h"  // declarations only: no XEP0077_IMPLEMENTATION yet

// The include guard keeps the declarations; the implementation, which sits
// outside the guard, is compiled by this second include.
#define XEP0077_IMPLEMENTATION
#include "../xep0077.h"

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

int passed = 0, failed = 0;

void check(bool ok, const char *test, const std::string &detail)
{
  if (ok) {
    passed++;
  } else {
    failed++;
    std::printf("FAIL %s: %s\n", test, detail.c_str());
  }
}

// The events of a document as "START 1 {ns}name" lines, text merged.
std::string dump(const std::string &doc, size_t chunk)
{
  std::vector<char> mem(4096);
  xep0077_xml p;
  xep0077_xml_init(&p, mem.data(), mem.size());
  std::string out, text;
  int ev = 0;
  for (size_t pos = 0; pos < doc.size(); pos += chunk) {
    std::string piece = doc.substr(pos, chunk);
    xep0077_xml_feed(&p, piece.data(), piece.size());
    while ((ev = xep0077_xml_next(&p)) > 0) {
      if (ev == XEP0077_XML_TEXT) {
        text.append(p.text, p.text_len);
        if (p.text_partial) continue;
        out += "TEXT " + std::to_string(p.depth) + " " + text + "\n";
        text.clear();
        continue;
      }
      static const char *const names[] = {"", "START", "", "END", "STANZA_END",
                                          "STREAM_END"};
      out += std::string(names[ev]) + " " + std::to_string(p.depth) + " {" +
             p.ns + "}" + p.name + "\n";
      for (int i = 0; ev == XEP0077_XML_START && i < p.nattrs; i++)
        out += std::string("  @{") + p.attrs[i].ns + "}" + p.attrs[i].name +
               "=" + p.attrs[i].value + "\n";
    }
    if (ev < 0) break;
  }
  out += ev < 0 ? std::string("ERROR ") + xep0077_status_name(ev) : "NEED_MORE";
  return out;
}

int to_string_sink(void *user, const char *data, size_t len)
{
  static_cast<std::string *>(user)->append(data, len);
  return 0;
}

}  // namespace

int main()
{
  const std::string hdr =
      "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
      "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";

  {
    const char *t = "parse a registration form";
    std::string doc = hdr +
        "<iq type='result' id='reg1'><query xmlns='jabber:iq:register'>"
        "<instructions>Choose a name &amp; password</instructions>"
        "<username/><password/></query></iq>";
    const std::string want =
        "START 0 {http://etherx.jabber.org/streams}stream\n"
        "  @{}version=1.0\n"
        "START 1 {jabber:client}iq\n"
        "  @{}type=result\n"
        "  @{}id=reg1\n"
        "START 2 {jabber:iq:register}query\n"
        "START 3 {jabber:iq:register}instructions\n"
        "TEXT 3 Choose a name & password\n"
        "END 3 {jabber:iq:register}instructions\n"
        "START 3 {jabber:iq:register}username\n"
        "END 3 {jabber:iq:register}username\n"
        "START 3 {jabber:iq:register}password\n"
        "END 3 {jabber:iq:register}password\n"
        "END 2 {jabber:iq:register}query\n"
        "STANZA_END 1 {jabber:client}iq\n"
        "NEED_MORE";
    std::string whole = dump(doc, doc.size()), bytes = dump(doc, 1);
    check(whole == want, t, "whole document:\n" + whole);
    check(bytes == want, t, "byte by byte:\n" + bytes);
  }
  {
    const char *t = "reject a comment";
    std::string got = dump(hdr + "<!-- x -->", 1 << 20);
    check(got.size() > 20 &&
              got.compare(got.size() - 21, 21, "ERROR ERR_XML_COMMENT") == 0,
          t, got);
    check(std::strcmp(xep0077_strerror(XEP0077_ERR_XML_COMMENT),
                      "XML: comments are forbidden in XMPP") == 0,
          t, xep0077_strerror(XEP0077_ERR_XML_COMMENT));
  }
  {
    const char *t = "write a stanza through a small buffer";
    std::string out;
    char buf[8];
    xep0077_xmlw w;
    xep0077_xmlw_init(&w, buf, sizeof buf, to_string_sink, &out);
    xep0077_xmlw_start(&w, "iq");
    xep0077_xmlw_attr(&w, "type", "set");
    xep0077_xmlw_attr(&w, "id", "a'b");
    xep0077_xmlw_start(&w, "query");
    xep0077_xmlw_attr(&w, "xmlns", "jabber:iq:register");
    xep0077_xmlw_start(&w, "username");
    xep0077_xmlw_text(&w, "bill & <ted>");
    xep0077_xmlw_end(&w);
    xep0077_xmlw_end(&w);
    xep0077_xmlw_end(&w);
    int r = xep0077_xmlw_flush(&w);
    check(r == 0, t, std::string("flush: ") + xep0077_status_name(r));
    check(out == "<iq type='set' id='a&apos;b'><query xmlns='jabber:iq:register'>"
                 "<username>bill &amp; &lt;ted&gt;</username></query></iq>",
          t, out);
    r = xep0077_xmlw_text(&w, "\xC0\x80");
    check(r == XEP0077_ERR_XMLW_STATE || r == XEP0077_ERR_XMLW_INPUT, t,
          std::string("text with nothing open: ") + xep0077_status_name(r));
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
