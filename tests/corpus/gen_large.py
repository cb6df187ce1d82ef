#!/usr/bin/env python3
"""Regenerates the large differential-test streams 15_*.xml .. 17_*.xml.

Deterministic (fixed seeds); run from anywhere: python3 tests/corpus/gen_large.py
The output is committed, so the test never depends on this script running."""
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
HEADER = ("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
          "xmlns:stream='http://etherx.jabber.org/streams' id='%s' "
          "from='example.net' version='1.0' xml:lang='en'>")

WORDS = ["hello", "world", "register", "account", "café", "naïve", "Straße",
         "日本語", "中文", "한국어", "Привет", "Ελληνικά", "עברית", "😀", "🎉",
         "𝄞", "𠜎", "&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#233;",
         "&#x1F600;", "&#x20AC;", "&#10;", "<![CDATA[<raw> & ]]>", "x>y",
         "]]&gt;", "tab\there", "new\nline"]


def text(r, n):
    return " ".join(r.choice(WORDS) for _ in range(n))


def attr_text(r, n):
    # no CDATA or '<' in attribute values
    ok = [w for w in WORDS if "CDATA" not in w]
    return " ".join(r.choice(ok) for _ in range(n)).replace("'", "&apos;")


def form(r, i):
    out = ["<iq type='result' id='reg%d' from='example.net'>"
           "<query xmlns='jabber:iq:register'><instructions>%s</instructions>"
           "<x xmlns='jabber:x:data' type='form'><title>Registration %d</title>"
           "<field type='hidden' var='FORM_TYPE'><value>jabber:iq:register"
           "</value></field>" % (i, text(r, 8), i)]
    for f in range(r.randrange(2, 9)):
        kind = r.choice(["text-single", "text-private", "list-single",
                         "list-multi", "boolean", "fixed", "text-multi"])
        out.append("<field type='%s' var='f%d' label='%s'>" %
                   (kind, f, attr_text(r, 2)))
        if r.random() < 0.5:
            out.append("<required/>")
        if r.random() < 0.3:
            out.append("<desc>%s</desc>" % text(r, 5))
        if kind.startswith("list"):
            for o in range(r.randrange(1, 6)):
                out.append("<option label='%s'><value>o%d</value></option>" %
                           (attr_text(r, 1), o))
        for _ in range(r.randrange(0, 3)):
            out.append("<value>%s</value>" % text(r, 3))
        out.append("</field>")
    out.append("</x>")
    if r.random() < 0.2:
        out.append("<data xmlns='urn:xmpp:bob' cid='sha1+%040x@bob.xmpp.org' "
                   "type='image/png' max-age='0'>" % r.getrandbits(160))
        b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        blob = "".join(r.choice(b64) for _ in range(r.randrange(100, 3000)))
        out.append("\n".join(blob[k:k + 76] for k in range(0, len(blob), 76)))
        out.append("</data>")
    out.append("</query></iq>")
    return "".join(out)


def error(r, i):
    cond, typ = r.choice([("conflict", "cancel"), ("not-acceptable", "modify"),
                          ("not-allowed", "cancel"), ("bad-request", "modify"),
                          ("resource-constraint", "wait"),
                          ("not-authorized", "modify")])
    return ("<iq type='error' id='e%d'><query xmlns='jabber:iq:register'>"
            "<username>u%d</username></query><error type='%s'><%s "
            "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text "
            "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='%s'>%s"
            "</text></error></iq>" % (i, i, typ, cond,
                                      r.choice(["en", "de", "fr", "ja"]),
                                      text(r, 6)))


def message(r, i):
    s = ("<message from='u%d@example.net/r%d' to='me@example.net/home' "
         "type='chat' id='m%d'><body>%s</body>" %
         (r.randrange(100), r.randrange(9), i, text(r, r.randrange(1, 40))))
    if r.random() < 0.3:
        s += "<thread>t%d</thread>" % r.randrange(1000)
    if r.random() < 0.3:
        s += "<active xmlns='http://jabber.org/protocol/chatstates'/>"
    return s + "</message>"


def presence(r, i):
    return ("<presence from='u%d@example.net/r%d' id='p%d'><show>%s</show>"
            "<status>%s</status><priority>%d</priority><c "
            "xmlns='http://jabber.org/protocol/caps' hash='sha-1' "
            "node='https://example.org/client' ver='%x='/></presence>" %
            (r.randrange(100), r.randrange(9), i,
             r.choice(["away", "chat", "dnd", "xa"]), text(r, 4),
             r.randrange(-5, 50), r.getrandbits(100)))


def gen(name, seed, size, kinds):
    r = random.Random(seed)
    parts = [HEADER % name, "\n"]
    n = 0
    i = 0
    while n < size:
        s = r.choice(kinds)(r, i)
        i += 1
        parts.append(s)
        n += len(s)
        parts.append(r.choice(["", "", "\n", " ", "\r\n", "\n\n\t "]))
    parts.append("</stream:stream>\n")
    with open(os.path.join(HERE, name + ".xml"), "w", encoding="utf-8",
              newline="") as f:
        f.write("".join(parts))


def big_text(name, seed):
    # one body far larger than any parser buffer, then ordinary traffic
    r = random.Random(seed)
    body = text(r, 18000)
    s = (HEADER % name + "<message id='huge' type='chat'><body>" + body +
         "</body></message>\n" + "".join(message(r, k) for k in range(50)) +
         "</stream:stream>")
    with open(os.path.join(HERE, name + ".xml"), "w", encoding="utf-8",
              newline="") as f:
        f.write(s)


gen("15_large_register", 15, 300000, [form, form, error])
gen("16_large_mixed", 16, 400000, [message, message, presence, form, error])
big_text("17_large_text", 17)
