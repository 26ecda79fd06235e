package dom

import (
	"strings"
	"testing"
)

// lxmlCases are inputs with the tree lxml 4.9.2 on libxml2 2.9.14 builds
// from them (HTMLParser with remove_comments and remove_pis; the document's
// root element, after lxml.html.fromstring, serialized with every element's end tag, text and tail):
// malformed nesting, HTML 4's closing rules, entities, attributes, depth
// and the top-level quirks.
var lxmlCases = [][2]string{
	{"<html><body><p>a<section>b</section>c</p><p>d<div>e</div></p></body></html>",
		"<html><body><p>a<section>b</section>c</p><p>d</p><div>e</div></body></html>"},
	{"<html><head><foo><div>text</div></foo></head><body><p>b</p></body></html>",
		"<html><head><foo><div>text</div></foo></head><body><p>b</p></body></html>"},
	{"<html> <head> <title>t</title> </head> <body> <p>a <b>b</b> <i>c</i> </p> </body> </html>",
		"<html> <head> <title>t</title> </head> <body> <p>a <b>b</b> <i>c</i> </p> </body> </html>"},
	{"<html><body><table>x<tr><td>1<td>2</tr></table></body></html>",
		"<html><body><table>x<tr><td>1</td><td>2</td></tr></table></body></html>"},
	{"<html><body>a &period; &amp; &nbsp &hellip; &#x41; &#0; &lt; &#150; &bogus; R&D &</body></html>",
		"<html><body>a &period; & &nbsp \u2026 A  < \u0096 &bogus; R&D &</body></html>"},
	{"<html><body><div/>x</div>y<br/>z<embed src=a><p>in embed</p></body></html>",
		"<html><body><div></div>xy<br></br>z<embed src=\"a\"><p>in embed</p></embed></body></html>"},
	{"<html><body><input disabled data-x=\"\" CLASS=a class=b x:y=1 =3 c=a&#0;z d=\"&amp;&#x1F600;&lt\"></body></html>",
		"<html><body><input disabled=\"disabled\" data-x=\"\" class=\"a\" x:y=\"1\" c=\"a\" d=\"&\U0001f600&lt\"></input></body></html>"},
	{"<html><body>a</body></html>trailing <b>text</b>",
		"<html><body>a</body><html><p>trailing <b>text</b></p></html></html>"},
	{"<!DOCTYPE html><html><body>a</body></html><div>lost</div>",
		"<html><body>a</body></html>"},
	{"<html><body><fb:like a=1>x</fb:like><svg:path/><a:b:c>y</a:b:c></body></html>",
		"<html><body><like a=\"1\">x</like><path></path><b:c>y</b:c></body></html>"},
	{"<!-- c --><div>a</div><div>b</div>",
		"<html><div><div>a</div><div>b</div></div></html>"},
	{"<!-- c --><div>a</div>",
		"<html><body><div>a</div></body></html>"},
	{"just text",
		"<html><body><p>just text</p></body></html>"},
	{"<p>a</p>text",
		"<html><div><p>a</p>text</div></html>"},
	{"\ufeff<!DOCTYPE html><html><body><p>a</p></body></html>",
		"<html><body><p>a</p></body></html>"},
	{"<html><body><script>if (a<b) { x = \"</p>\"; }</script><p>after</p><style>p{}</STYLE >x</body></html>",
		"<html><body><script>if (a<b) { x = \"</p>\"; }</script><p>after</p><style>p{}</style>x</body></html>"},
	{"<html><body><ul><li>a<li>b<ul><li>c</ul></ul><dl><dt>t<dd>d</dl></body></html>",
		"<html><body><ul><li>a</li><li>b<ul><li>c</li></ul></li></ul><dl><dt>t</dt><dd>d</dd></dl></body></html>"},
	{"<html><body><p>one<p>two<h2>h</h2><a href=x>a<a>b</a></body></html>",
		"<html><body><p>one</p><p>two</p><h2>h</h2><a href=\"x\">a</a><a>b</a></body></html>"},
	{"<html><body><div><span>x</div>y</span>z</body></html>",
		"<html><body><div><span>x</span></div>yz</body></html>"},
	{"<html><body><table><tr><td><div>x</td></tr></table>after</body></html>",
		"<html><body><table><tr><td><div>x</div></td></tr></table>after</body></html>"},
	{"<html><body><p>x<!-- a -- b -->y<!--->z<!--unterminated",
		"<html><body><p>xy</p></body></html>"},
	{"<html><body><p>x</ p>y</>z<3 </p></body></html>",
		"<html><body><p>x p>y>z<3 </p></body></html>"},
	{"<html><body><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div>deep</div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div><p>after</p></body></html>",
		"<html><body><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></div></body></html>"},
	{"<html><head><title>T</title><body><p>x</p></html>",
		"<html><head><title>T</title></head><body><p>x</p></body></html>"},
	{"<html><head><title>T</title></head>text<body class=b><p>x</p></body></html>",
		"<html><head><title>T</title></head><body><p>text</p><p>x</p></body></html>"},
	{"<html><body><body id=2><html lang=x><head><p>x</p></body></body></html></html>",
		"<html><body><p>x</p></body></html>"},
	{"<html><body><form><input name=a></form><select><option>a<option>b</select><textarea>a<b>c</b></textarea></body></html>",
		"<html><body><form><input name=\"a\"></input></form><select><option>a</option><option>b</option></select><textarea>a<b>c</b></textarea></body></html>"},
	{"<html><body>a\u0000b<p>\u0000c</p>d\u000be\u0001f\ufffeg</body></html>",
		"<html><body>a b<p></p></body></html>"},
	{"<html><body><?php echo 1 ?><? bad ?>x<!DOCTYPE html>y</body></html>",
		"<html><body> bad ?>xy</body></html>"},
	{"<html><body><a href=\"unterminated>text</a><p>more</p></body></html>",
		"<html><body><a href=\"unterminated>text</a><p>more</p></body></html>\"></a></body></html>"},
}

func serialize(b *strings.Builder, n *Node) {
	b.WriteString("<" + n.Tag)
	for _, a := range n.Attr {
		b.WriteString(" " + a.Key + "=\"" + a.Val + "\"")
	}
	b.WriteString(">")
	b.WriteString(n.Text)
	for c := n.FirstChild; c != nil; c = c.Next {
		serialize(b, c)
	}
	b.WriteString("</" + n.Tag + ">")
	b.WriteString(n.Tail)
}

func TestParseLikeLxml(t *testing.T) {
	for i, c := range lxmlCases {
		_, doc := FromString(c[0])
		var b strings.Builder
		if doc.Root != nil {
			serialize(&b, doc.Root)
		}
		if got := b.String(); got != c[1] {
			t.Errorf("case %d: %q\n got %q\nwant %q", i, c[0], got, c[1])
		}
	}
}
