package dedup

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"

	"github.com/datarefine/refine/internal/shareddata"
	"github.com/datarefine/refine/pipeline/words"
)

// goldenRow holds the fields of the golden datatrove outputs that MinHash
// concerns.
type goldenRow struct {
	ID            string     `json:"id"`
	ExtractedText *string    `json:"extracted_text"`
	FinalText     *string    `json:"final_text"`
	Simplified    *string    `json:"minhash_simplified"`
	NumShingles   *int       `json:"minhash_num_shingles"`
	Sig           [][]uint64 `json:"minhash_sig"`
}

func loadGolden(t testing.TB) []goldenRow {
	t.Helper()
	var rows []goldenRow
	for _, name := range []string{"golden_trafilatura_eval.jsonl", "golden_realwarcs.jsonl"} {
		f, err := os.Open(shareddata.Path(t, "golden", name))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
		for sc.Scan() {
			var r goldenRow
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			rows = append(rows, r)
		}
		if err := sc.Err(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		f.Close()
	}
	return rows
}

// realTokenizer tells the spaCy port from the whitespace placeholder by its
// behaviour on a contraction.
func realTokenizer() bool {
	w := words.Words("don't")
	return len(w) == 2 && w[0] == "do" && w[1] == "n't"
}

// TestSimplifyGolden checks Simplify against datatrove's simplify_text. The
// golden run hashed every document's extracted_text (before C4's rewrite),
// so that is the text compared; final_text (after the rewrite) is reported
// as well but differs wherever C4 removed lines.
func TestSimplifyGolden(t *testing.T) {
	rows := loadGolden(t)
	var n, ok, final, finalOK int
	for _, r := range rows {
		if r.Simplified == nil || r.ExtractedText == nil {
			continue
		}
		n++
		if got := Simplify(*r.ExtractedText); got == *r.Simplified {
			ok++
		} else if n-ok <= 3 {
			t.Logf("%s:\n got %.300q\nwant %.300q", r.ID, got, *r.Simplified)
		}
		if r.FinalText != nil {
			final++
			if Simplify(*r.FinalText) == *r.Simplified {
				finalOK++
			}
		}
	}
	t.Logf("simplify parity on the hashed (extracted) text: %d/%d (%.2f%%); final_text equal to it: %d/%d",
		ok, n, pct(ok, n), finalOK, final)
	if n == 0 {
		t.Fatal("no golden rows with extracted_text and minhash_simplified")
	}
	if pct(ok, n) < 99.5 {
		t.Errorf("simplification identical on %.2f%% of documents, want ≥ 99.5%%", pct(ok, n))
	}
}

func TestSignatureGolden(t *testing.T) {
	rows := loadGolden(t)
	signer, err := NewMinHasher(MinHasherOptions{Words: words.Words})
	if err != nil {
		t.Fatal(err)
	}
	var n, ok, shOK, shOKsig, e2e int
	for _, r := range rows {
		if r.Simplified == nil || r.NumShingles == nil {
			continue
		}
		n++
		if r.ExtractedText != nil && sameSig(signer.Sign(*r.ExtractedText), r.Sig) {
			e2e++ // the whole chain: simplify, tokenize, shingle, sign
		}
		sh := Shingles(words.Words(*r.Simplified), 5)
		same := sameSig(signer.SignShingles(sh), r.Sig)
		if same {
			ok++
		}
		if len(sh) == *r.NumShingles {
			shOK++
			if same {
				shOKsig++
			}
		}
	}
	real := realTokenizer()
	t.Logf("signature parity given minhash_simplified: %d/%d (%.2f%%); shingle counts equal on %d, of which signatures equal on %d (spaCy tokenizer present: %v); from the raw text: %d/%d (%.2f%%)",
		ok, n, pct(ok, n), shOK, shOKsig, real, e2e, n, pct(e2e, n))
	if n == 0 || shOK == 0 {
		t.Fatal("no golden rows with minhash fields")
	}
	// Where the tokenizer gives as many shingles as spaCy did, the tokens
	// are (almost surely) the same, so hashing and permutations alone decide.
	if pct(shOKsig, shOK) < 99.9 {
		t.Errorf("signatures identical on %.2f%% of documents with equal shingle counts, want ≥ 99.9%%", pct(shOKsig, shOK))
	}
	if real && pct(ok, n) < 99.9 {
		t.Errorf("signatures identical on %.2f%% of documents, want ≥ 99.9%%", pct(ok, n))
	}
}

// sameSig compares a signature with the golden [bucket][hash] layout; a
// document without shingles has no golden signature.
func sameSig(got Signature, want [][]uint64) bool {
	if len(want) == 0 || got == nil {
		return len(want) == 0 && got == nil
	}
	i := 0
	for _, bucket := range want {
		for _, v := range bucket {
			if i >= len(got) || got[i] != v {
				return false
			}
			i++
		}
	}
	return i == len(got)
}

func pct(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}
