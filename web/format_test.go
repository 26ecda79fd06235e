package web

import "testing"

func TestFormatPost(t *testing.T) {
	cases := []struct{ in, want string }{
		{"hello", "<p>hello</p>"},
		{"a\n\nb", "<p>a</p>\n<p>b</p>"},
		{"a\nb", "<p>a<br>\nb</p>"},
		{"**bold** and *it*", "<p><strong>bold</strong> and <em>it</em></p>"},
		{"`**x**` <b>", "<p><code>**x**</code> &lt;b&gt;</p>"},
		{"<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"},
		{"see https://huggingface.co/x?a=1&b=2.", `<p>see <a href="https://huggingface.co/x?a=1&amp;b=2" rel="nofollow noopener noreferrer ugc">https://huggingface.co/x?a=1&amp;b=2</a>.</p>`},
		{`http://x.test/"onmouseover=alert(1)`, `<p><a href="http://x.test/" rel="nofollow noopener noreferrer ugc">http://x.test/</a>&#34;onmouseover=alert(1)</p>`},
		{"javascript:alert(1)", "<p>javascript:alert(1)</p>"},
		{`<a href="javascript:x">y</a>`, "<p>&lt;a href=&#34;javascript:x&#34;&gt;y&lt;/a&gt;</p>"},
		{"`a` `b`", "<p><code>a</code> <code>b</code></p>"},
	}
	for _, c := range cases {
		if got := string(formatPost(c.in)); got != c.want {
			t.Errorf("formatPost(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

func TestHubRevisionURL(t *testing.T) {
	cases := []struct{ repo, want string }{
		{"alice/refined", "https://huggingface.co/datasets/alice/refined/tree/abc"},
		{"javascript:alert(1)//x", ""},
		{"/local/store", ""},
		{"../x", ""},
		{"a/b/c", ""},
		{"a/b?x", ""},
	}
	for _, c := range cases {
		if got := hubRevisionURL(c.repo, "abc"); got != c.want {
			t.Errorf("hubRevisionURL(%q) = %q, want %q", c.repo, got, c.want)
		}
	}
}
