package tokens

import (
	"bufio"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/datarefine/refine/internal/shareddata"
	tiktoken "github.com/pkoukk/tiktoken-go"
	tiktoken_loader "github.com/pkoukk/tiktoken-go-loader"
)

// reference is tiktoken-go's r50k_base, the slow but independent
// implementation our encoder must agree with.
var reference = sync.OnceValues(func() (*tiktoken.Tiktoken, error) {
	tiktoken.SetBpeLoader(tiktoken_loader.NewOfflineLoader())
	return tiktoken.GetEncoding(tiktoken.MODEL_R50K_BASE)
})

func TestKnownIDs(t *testing.T) {
	e, err := GPT2BPE()
	if err != nil {
		t.Fatal(err)
	}
	// Ids from GPT-2's encoder.json: "Hello" 15496, " world" 995.
	if got := e.Encode("Hello world"); !slices.Equal(got, []int{15496, 995}) {
		t.Fatalf("Encode(Hello world) = %v, want [15496 995]", got)
	}
	for _, tc := range []struct {
		text string
		want int
	}{
		{"", 0},
		{EndOfText, 1},
		{"a" + EndOfText + "b", 3},
	} {
		if n := e.Count(tc.text); n != tc.want {
			t.Errorf("Count(%q) = %d, want %d", tc.text, n, tc.want)
		}
	}
}

func TestMatchesTiktoken(t *testing.T) {
	ref, err := reference()
	if err != nil {
		t.Fatal(err)
	}
	e, err := GPT2BPE()
	if err != nil {
		t.Fatal(err)
	}
	cases := []string{
		"Hello world", "  leading spaces", "trailing spaces   ", "tabs\tand\nnewlines\n\n\nhere",
		"don't you'll we've I'm she'd they're it's", "'s 'S 'RE", "numbers 123 4567 ٣٤ ½",
		"punctuation!!! ... ?? «quotes» “curly” — dashes", "emoji 🙂🙂 and CJK 漢字かな",
		"mixed\u00a0nbsp\u2003em space", "a  \n  b", " \n", "x" + EndOfText, "\r\n\r\n",
		"ŞİŁÖ accents café naïve", "URL https://example.com/a?b=c&d=e#f", "e-mail foo@bar.org",
	}
	for _, c := range cases {
		want := ref.Encode(c, []string{"all"}, nil)
		if got := e.Encode(c); !slices.Equal(got, want) {
			t.Errorf("Encode(%q) = %v, tiktoken %v", c, got, want)
		}
	}
}

// TestMatchesTiktokenGolden compares token ids on the real extracted texts
// of the golden datatrove run.
func TestMatchesTiktokenGolden(t *testing.T) {
	ref, err := reference()
	if err != nil {
		t.Fatal(err)
	}
	e, _ := GPT2BPE()
	f, err := os.Open(shareddata.Path(t, "golden", "golden_realwarcs.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	n := 0
	for sc.Scan() {
		var row struct {
			Text string `json:"extracted_text"`
		}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatal(err)
		}
		if row.Text == "" {
			continue
		}
		n++
		want := ref.Encode(row.Text, []string{"all"}, nil)
		if got := e.Encode(row.Text); !slices.Equal(got, want) {
			t.Errorf("document %d: %d tokens, tiktoken %d", n, len(got), len(want))
		}
	}
	if n < 20 {
		t.Fatalf("only %d golden texts", n)
	}
}

func BenchmarkCount(b *testing.B) {
	e, err := GPT2BPE()
	if err != nil {
		b.Fatal(err)
	}
	text := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 200)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		e.Count(text)
	}
}

func BenchmarkCountTiktokenGo(b *testing.B) {
	ref, err := reference()
	if err != nil {
		b.Fatal(err)
	}
	text := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 200)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		ref.Encode(text, []string{"all"}, nil)
	}
}
