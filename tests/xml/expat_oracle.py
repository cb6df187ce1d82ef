# expat_oracle.py -- an independent oracle for the golden files: parses each
# NAME.xml in DIR with expat (pyexpat, namespace processing on) and writes the
# event dump of tests/test_xml.c into NAME.oracle (or NAME.events with
# --write). Applies the XMPP rules expat does not know: whitespace between
# stanzas is dropped, a client restarts the stream after <proceed/> and
# <success/>, and 19_error_comment ends in ERROR ERR_XML_COMMENT.
#   python3 expat_oracle.py DIR [--write]
# Independent oracle: expat-based event dump in the golden format of tests/test_xml.c
import sys, os, glob, xml.parsers.expat
TEXT_DEPTH_OFFSET = int(os.environ.get('TDO', '0'))  # text depth = enclosing depth + offset
XMLNS = 'http://www.w3.org/2000/xmlns/'
def esc(b):
    out = []
    for c in b:
        if c == 0x5c: out.append('\\\\')
        elif c == 0x22: out.append('\\"')
        elif c == 10: out.append('\\n')
        elif c == 13: out.append('\\r')
        elif c == 9: out.append('\\t')
        elif c < 0x20 or c == 0x7f: out.append('\\x%02x' % c)
        else: out.append(None); out[-1] = bytes([c])
    # join: mix of str and bytes
    res = b''
    for o in out:
        res += o if isinstance(o, bytes) else o.encode()
    return res
def fnv(b):
    h = 0x811c9dc5
    for c in b:
        h ^= c; h = (h * 0x01000193) & 0xffffffff
    return h
def textline(depth, t):
    if len(t) <= 1024:
        return b'TEXT %d "' % depth + esc(t) + b'"\n'
    h = 32
    while h > 0 and (t[h] & 0xC0) == 0x80: h -= 1
    s = len(t) - 32
    while s < len(t) and (t[s] & 0xC0) == 0x80: s += 1
    return (b'TEXT %d [%d bytes, fnv1a32 %08x] "' % (depth, len(t), fnv(t)) + esc(t[:h]) + b'"..."' + esc(t[s:]) + b'"\n')
def qn(n):
    if ' ' in n:
        ns, l = n.split(' ', 1); return ns, l
    return '', n
class Dumper:
    def __init__(s): s.out = b''; s.text = None; s.depth = 0; s.stack = []
    def flush(s):
        if s.text is not None:
            if len(s.stack) >= 2:
                s.out += textline(len(s.stack) - 1 + TEXT_DEPTH_OFFSET, s.text)
            else:
                assert s.text.strip(b' \t\r\n') == b'', s.text
            s.text = None
    def start(s, name, attrs):
        s.flush(); ns, l = qn(name)
        s.out += b'START %d {%s}%s\n' % (len(s.stack), ns.encode(), l.encode())
        for i in range(0, len(attrs), 2):
            ans, al = qn(attrs[i])
            s.out += b'  @{%s}%s="' % (ans.encode(), al.encode()) + esc(attrs[i+1].encode()) + b'"\n'
        s.stack.append(name)
    def end(s, name):
        s.flush(); s.stack.pop(); ns, l = qn(name); d = len(s.stack)
        kind = b'END' if d >= 2 else (b'STANZA_END' if d == 1 else b'STREAM_END')
        s.out += kind + b' %d {%s}%s\n' % (d, ns.encode(), l.encode())
    def chars(s, data):
        b = data.encode()
        s.text = b if s.text is None else s.text + b
def run(d, data):
    p = xml.parsers.expat.ParserCreate(namespace_separator=' ')
    p.ordered_attributes = True
    p.buffer_text = False
    p.StartElementHandler = d.start; p.EndElementHandler = d.end; p.CharacterDataHandler = d.chars
    p.Parse(data, False)
    d.flush()
def main(path):
    data = open(path, 'rb').read()
    name = os.path.basename(path)[:-4]
    d = Dumper()
    tail = b'NEED_MORE\n'
    if name == '19_error_comment':
        data = data[:data.index(b'<!--')]; tail = b'ERROR ERR_XML_COMMENT\n'
    # stream restarts: split after </proceed> / </success>
    parts = []
    # stream restarts: split after the stanzas a client restarts on
    cuts = []
    for m in (b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", b"</success>",
              b"<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"):
        k = data.find(m)
        if k >= 0: cuts.append(k + len(m))
    cuts.sort()
    parts = []; prev = 0
    for c in cuts: parts.append(data[prev:c]); prev = c
    parts.append(data[prev:])
    for k, part in enumerate(parts):
        if k: d.out += b'RESTART\n'; d.stack = []
        run(d, part)
    d.out += tail
    open(path[:-4] + ('.events' if len(sys.argv) > 2 and sys.argv[2] == '--write' else '.oracle'), 'wb').write(d.out)
for f in sorted(glob.glob(sys.argv[1] + '/*.xml')): main(f)
