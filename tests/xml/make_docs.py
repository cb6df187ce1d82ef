# make_docs.py -- writes the golden input documents NAME.xml of this folder
# (byte-exact: CRLF, BOM, raw UTF-8, the generated CAPTCHA base64). The
# committed files are the reference; run this only to change a document, then
# python3 expat_oracle.py . to rebuild the expected NAME.events independently
# of xep0077.h, and review the diff by hand.
import os, random, base64
D = os.path.dirname(os.path.abspath(__file__))
S = "xmlns:stream='http://etherx.jabber.org/streams'"
HDR = "<stream:stream xmlns='jabber:client' " + S + " version='1.0'>\n"
def w(name, s):
    if isinstance(s, str): s = s.encode('utf-8')
    open(os.path.join(D, name + '.xml'), 'wb').write(s)

w('01_session',
"<?xml version='1.0'?><stream:stream from='example.net' id='t7AMCin9zjMNwQKDnplntZPIDEI=' to='example.net' version='1.0' xml:lang='en' xmlns='jabber:client' " + S + ">\n"
"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls><register xmlns='http://jabber.org/features/iq-register'/></stream:features>\n"
"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
"<?xml version='1.0'?><stream:stream from='example.net' id='gPybzaOzBmaADgxKXu9UClbprp0=' to='example.net' version='1.0' xml:lang='en' xmlns='jabber:client' " + S + ">\n"
"<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1-PLUS</mechanism><mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism></mechanisms><register xmlns='http://jabber.org/features/iq-register'/></stream:features>\n"
"<iq type='result' id='reg1'><query xmlns='jabber:iq:register'><instructions>Choose a username and password.</instructions><username/><password/></query></iq>\n"
"<iq type='result' id='reg2'/>\n"
"<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>cj1vTXNUQUF3QUFBQU1BQUFBTlAwVEFBQUFBQUJQVTBBQSxzPU1UZzJNekV3TURrNU1UYzI=</challenge>\n"
"<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>dj1wTk5ERlZFUXh1WHhDb1NFaVc4R0VaKzFSU289</success>"
"<stream:stream from='example.net' id='s3' version='1.0' xml:lang='en' xmlns='jabber:client' " + S + ">\n"
"<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>\n"
"<iq id='bind_1' type='result'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>juliet@example.net/balcony</jid></bind></iq>\n"
"</stream:stream>")

w('02_register_legacy', HDR +
"<iq type='result' id='reg1' from='shakespeare.lit'><query xmlns='jabber:iq:register'><instructions>\n"
"    Choose a username and password for use with this service.\n"
"    Please also provide your email address.\n"
"  </instructions><username/><password/><email/></query></iq>\n"
"<iq type='result' id='reg3'><query xmlns='jabber:iq:register'><registered/><username>juliet</username><password>R0m30</password><email>juliet@capulet.com</email></query></iq>\n")

w('03_data_form', HDR +
"<iq type='result' from='marlowe.shakespeare.lit' to='juliet@capulet.com' id='reg3'><query xmlns='jabber:iq:register'>"
"<instructions>Use the enclosed form to register.</instructions>"
"<x xmlns='jabber:x:data' type='form'><title>Contest Registration</title>"
"<instructions>Please provide the following information to sign up for our special contests!</instructions>"
"<field type='hidden' var='FORM_TYPE'><value>jabber:iq:register</value></field>"
"<field type='text-single' label='Given Name' var='first'><required/></field>"
"<field type='text-private' label='Password' var='password'><required/></field>"
"<field type='list-single' label='Gender' var='x-gender'><value>F</value><option label='Male'><value>M</value></option><option label='Female'><value>F</value></option></field>"
"<field type='boolean' label='Subscribe to newsletter' var='newsletter'><value>1</value></field>"
"<field type='fixed'><value>Section 2: Contact</value></field>"
"<field type='jid-single' label='Sponsor' var='sponsor'/>"
"<field type='list-multi' label='Interests' var='interests'><value>sports</value><value>music</value><value>poetry</value>"
"<option label='Sports'><value>sports</value></option><option label='Music'><value>music</value></option><option label='Poetry'><value>poetry</value></option></field>"
"<field type='text-multi' label='About' var='about'><value>line one</value><value>line two</value></field>"
"<field type='jid-multi' label='Friends' var='friends'><value>romeo@montague.lit</value><value>mercutio@shakespeare.lit</value></field>"
"<field type='text-single' label='Verify' var='ocr'><media xmlns='urn:xmpp:media-element' height='80' width='290'>"
"<uri type='image/jpeg'>http://www.victim.com/challenges/ocr.jpeg?F3A6292C</uri>"
"<uri type='image/png'>cid:sha1+f24030b8d91d233bac14777be5ab531ca3b9f102@bob.xmpp.org</uri></media><required/></field>"
"</x></query></iq>\n")

rnd = random.Random(77)
raw = bytes(rnd.getrandbits(8) for _ in range(67500))
b64 = base64.b64encode(raw).decode()
assert len(b64) == 90000
w('04_captcha', HDR +
"<iq type='result' from='victim.example.com' to='attacker@example.com/pda' id='reg1'><query xmlns='jabber:iq:register'>"
"<instructions>Fill in the form and solve the challenge to register.</instructions>"
"<x xmlns='jabber:x:data' type='form'>"
"<field type='hidden' var='FORM_TYPE'><value>urn:xmpp:captcha</value></field>"
"<field type='hidden' var='from'><value>victim.example.com</value></field>"
"<field type='hidden' var='challenge'><value>reg1</value></field>"
"<field type='hidden' var='sid'><value>F3A6292C</value></field>"
"<field type='text-single' label='Enter the text you see' var='ocr'><media xmlns='urn:xmpp:media-element' height='80' width='290'>"
"<uri type='image/png'>cid:sha1+f24030b8d91d233bac14777be5ab531ca3b9f102@bob.xmpp.org</uri></media><required/></field>"
"<field type='text-single' var='username'><required/></field><field type='text-private' var='password'><required/></field>"
"</x></query>"
"<data xmlns='urn:xmpp:bob' cid='sha1+f24030b8d91d233bac14777be5ab531ca3b9f102@bob.xmpp.org' type='image/png' max-age='0'>" + b64 + "</data>"
"</iq>\n")

w('05_error_conflict', HDR +
"<iq type='error' id='reg2'><query xmlns='jabber:iq:register'><username>bill</username><password>Calliope</password><email>bard@shakespeare.lit</email></query>"
"<error type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>\n")

w('06_error_not_acceptable', HDR +
"<iq type='error' id='reg2'><query xmlns='jabber:iq:register'><username>bill</username><password>Calliope</password></query>"
"<error code='406' type='modify'><not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
"<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>Missing email address</text></error></iq>\n")

w('07_stream_error', HDR +
"<stream:error><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
"<text xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='en'>Too many registrations from your IP address</text></stream:error></stream:stream>")

w('08_utf8', "<stream:stream xmlns='jabber:client' " + S + " xml:lang='fr'>\n"
"<message from='j\u00fcrgen@example.de' to='\u5f20\u4f1f@example.cn/\u7535\u8111' type='chat' id='\u00fc1'><body>Gr\u00fc\u00dfe, \u4f60\u597d, \U0001F389 \u2014 na\u00efve caf\u00e9</body><subject xml:lang='ja'>\u65e5\u672c\u8a9e</subject></message>\n"
"<message type='chat'><body>2: \u00a9\u00e9 \u00f1; 3: \u20ac \u2211 \u6f22; 4: \U0001D11E \U0001F600 \U00010348</body><donn\u00e9es xmlns='urn:example:donn\u00e9es' cl\u00e9='valeur \U0001F511'/></message>\n")

w('09_entities', HDR +
"<message id='a&amp;b' to='&lt;x&gt;' type=\"ch&apos;at\" x='&quot;q&quot;' y='&#65;&#x42;&#x1F600;&#233;&#xe9;&#xE9;' z='&#9;|&#xA;|&#13;' q=\"it's\" r='say \"hi\"' g='a>b'>"
"<body>1 &lt; 2 &amp;&amp; 3 &gt; 2; &quot;quoted&quot; &apos;single&apos; &#65;&#x42;&#0067;&#x000044; &#x1F600;&#128512; &#10;|&#13;|&#9;| a>b</body>"
"<subject>&amp;lt; is not &lt;</subject></message>\n")

w('10_cdata', HDR +
"<message><body>before <![CDATA[<b>bold</b> & &amp; ]] ]>]]> after</body></message>\n"
"<message><body><![CDATA[only cdata]]></body></message>\n"
"<message><body>x<![CDATA[]]>y</body></message>\n"
"<message><body><![CDATA[a]]]]><![CDATA[>b]]></body></message>\n"
"<message><body>&lt;<![CDATA[&lt;]]>&lt;<![CDATA[line1\r\nline2\rline3]]></body></message>\n")

w('11_prefixes', HDR +
"<iq type='set' id='p1'><pubsub:pubsub xmlns:pubsub='http://jabber.org/protocol/pubsub'><pubsub:publish node='princely_musings'>"
"<pubsub:item id='ae890ac52d0df67ed7cfdf51b644e901'><entry xmlns='http://www.w3.org/2005/Atom' xmlns:foo='urn:example:foo' foo:rank='1' rank='2' xml:lang='en'>"
"<title>Soliloquy</title><foo:meta foo:a='x'/></entry></pubsub:item></pubsub:publish></pubsub:pubsub></iq>\n"
"<db:result xmlns:db='jabber:server:dialback' from='a.example' to='b.example'>b4835385f37fe2895af6c196b59097b16862406db80559900d96bf6fa7d23df3</db:result>\n"
"<x:a x:b='1' xmlns:x='urn:example:late'><x:c/></x:a>\n"
"<stream:features><p:q xmlns:p='urn:p' p:r='1' s='2' xml:lang='de'/></stream:features>\n")

w('12_ns_scope', HDR +
"<iq type='get' id='n1'><query xmlns='jabber:iq:register'><x xmlns='jabber:x:data'><field/></x><username/></query><query2/></iq>\n"
"<message xmlns:p='urn:p1'><p:b/><c xmlns:p='urn:p2'><p:d/></c><p:e/><f xmlns=''><g/></f><h/></message>\n"
"<presence/>\n")

w('13_keepalive', HDR + " \n \t\r\n" +
"<presence/>\n \n" + " " * 5000 + "\n<presence type='unavailable'/>" + "\n" * 3 + "\t" * 10 + "<message/>" + "\r\n" * 2 + " ")

w('14_crlf', "<stream:stream xmlns='jabber:client' " + S + ">\r\n"
"<message\r\n to='a@b'\r\n type='chat'><body>line1\r\nline2\rline3\n\rline4\r\r\nend</body><subject>t\r</subject>"
"<x a='1\r\n2' b='x\ty\nz\rw' c='&#13;&#10;&#9;' d='\r'/></message>\r\n")

w('15_bom', b"\xEF\xBB\xBF<?xml version='1.0' encoding='UTF-8'?><stream:stream xmlns='jabber:client' " + S.encode() + b"><presence/></stream:stream>")

w('16_stream_close', HDR + "<presence/>\n</stream:stream>\n\n  \r\n\t")

w('17_empty_root', "<?xml version=\"1.0\" encoding=\"utf-8\"?><stream:stream xmlns:stream=\"http://etherx.jabber.org/streams\" xmlns=\"jabber:client\"/>  \n")

w('18_whitespace_text', HDR +
"<iq type='result' id='pp'>\n  <query xmlns='jabber:iq:register'>\n    <instructions>Pretty printed</instructions>\n    <username/>\n  </query>\n</iq>\n"
"<message><body>  </body><subject>\t</subject></message>\n")

w('19_error_comment', HDR + "<message><body>hi</body></message>\n<!-- hello --><message/>")

w('20_xmldecl', "<?xml  version = \"1.0\"   encoding = 'Utf-8' ?>\n<stream:stream xmlns='jabber:client' " + S + "><presence/>")

w('21_attr_quotes', HDR +
"<message to = \"a@b\"  type\t=\t'chat'\n id=\"x'y\" ><body  >hi</body  ><x a='\"' b=\"'\" c='>' /></message >\n")

body = ("\u00e9\u20ac\U0001F600" * 1500) + "&amp;&lt;\r\n" * 300 + "\u4e2d" * 2000
w('22_big_utf8', HDR + "<message><body>" + body + "</body></message>\n")

w('23_brackets', HDR +
"<message><body>a]b ]]c ]&amp; ]]&gt; ]\u00e9 ]]\u20ac x]</body></message>\n"
"<message><body>]</body><subject>]]</subject><thread>]&#93;]</thread></message>\n"
"<message><body><![CDATA[x]]]>]&amp;<![CDATA[]]]]>\u00e9]</body></message>\n"
"<message><body>&#93;&#93;> ]]<![CDATA[>]]></body></message>\n"
"<message><body>x]</body><subject>&amp;</subject></message>\n")

w('24_charref_zeros', HDR +
"<message id='&#000000000066;'><body>&#0000000000065;&#x00000000041;&#x0000000001F600;</body></message>\n")

w('25_restart_bom', "\ufeff<?xml version='1.0'?>" + HDR +
"<message><body>&amp;</body></message>\n"
"<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>\ufeff<?xml version='1.0' encoding='UTF-8'?>"
"<stream:stream xmlns='jabber:client' " + S + " id='after-restart'>\n<presence/>\n")

w('26_cr_edges', HDR +
"<message>a\r</message><message>\nb</message>\n"
"<message a='x\r'>\ny</message>\n"
"<message><![CDATA[a\r]]>\nb</message>\n"
"<message>a\r&#10;\nb\r\r\n\r</message>\n")

w('27_attr_ns', HDR +
"<message xmlns='urn:u' xmlns:p='urn:u' x='1' p:x='2'/>\n"
"<message xmlns:p='urn:u1'><b xmlns:p='urn:u2' p:x='1'/><c p:x='2'/></message>\n"
"<message xmlnsx='1' xmlfoo='2'/>\n"
"<message xmlns:xml='http://www.w3.org/XML/1998/namespace' xml:lang='en'><xml:x/></message>\n")
