package langid

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// The tiny models in testdata/tiny were trained by fastText itself on
// synthetic text, saved as .bin and quantised to .ftz, and expected.txt
// holds fastText's predictions on texts.jsonl (see testdata/tiny/README.md).
// Together they cover what lid.176.ftz does not: full .bin files, softmax,
// one-vs-all and negative-sampling losses, word n-grams, a quantised output
// matrix, sub-quantisers of unequal size, char n-grams from length 1.

type tinySection struct {
	file      string
	k         int
	threshold float32
	want      [][]Prediction // per text
}

func tinyTexts(t *testing.T) []string {
	t.Helper()
	var texts []string
	readJSONL(t, filepath.Join("testdata", "tiny", "texts.jsonl"), func(line []byte) {
		var s string
		if err := json.Unmarshal(line, &s); err != nil {
			t.Fatal(err)
		}
		texts = append(texts, s)
	})
	return texts
}

func tinyExpected(t *testing.T) []*tinySection {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "tiny", "expected.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var sections []*tinySection
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "# "); ok {
			s := &tinySection{}
			var thr float64
			if _, err := fmt.Sscanf(rest, "%s k=%d threshold=%g", &s.file, &s.k, &thr); err != nil {
				t.Fatalf("header %q: %v", line, err)
			}
			s.threshold = float32(thr)
			sections = append(sections, s)
			continue
		}
		fields := strings.Fields(line)
		var preds []Prediction
		for i := 0; i+1 < len(fields); i += 2 {
			p, err := strconv.ParseFloat(fields[i+1], 32)
			if err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			preds = append(preds, Prediction{Label: strings.TrimPrefix(fields[i], labelPrefix), Prob: float32(p)})
		}
		s := sections[len(sections)-1]
		s.want = append(s.want, preds)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return sections
}

func TestTinyModelsMatchFastText(t *testing.T) {
	texts := tinyTexts(t)
	sections := tinyExpected(t)
	if len(sections) < 10 {
		t.Fatalf("only %d sections in expected.txt", len(sections))
	}
	worst := 0.0
	n := 0
	for _, s := range sections {
		m, err := LoadFile(filepath.Join("testdata", "tiny", s.file))
		if err != nil {
			t.Fatal(err)
		}
		models := []*Model{m}
		if _, ok := m.input.(*quantMatrix); ok {
			// Check the product-quantiser path too, not only the dense
			// copy that parse makes.
			models = append(models, withQuantisedRows(m))
		}
		for _, m := range models {
			if len(s.want) != len(texts) {
				t.Fatalf("%s: %d expected lines for %d texts", s.file, len(s.want), len(texts))
			}
			for i, text := range texts {
				got := m.Predict(text, s.k, s.threshold)
				want := s.want[i]
				if len(got) != len(want) {
					t.Errorf("%s k=%d thr=%g text %d %q:\n got %v\nwant %v", s.file, s.k, s.threshold, i, text, got, want)
					continue
				}
				for j := range want {
					d := math.Abs(float64(got[j].Prob - want[j].Prob))
					worst = max(worst, d)
					if got[j].Label != want[j].Label || d >= 1e-6 {
						t.Errorf("%s k=%d thr=%g text %d %q:\n got %v\nwant %v", s.file, s.k, s.threshold, i, text, got, want)
						break
					}
				}
				n++
			}
		}
	}
	t.Logf("%d predictions over %d model/settings: max |Δp| = %.3g", n, len(sections), worst)
}

// Writing a loaded model back must give the file fastText wrote, for full
// and quantised models alike.
func TestTinyModelsRoundTrip(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "tiny", "*.[bf][it][nz]"))
	if err != nil || len(files) < 9 {
		t.Fatalf("tiny models: %v %v", files, err)
	}
	for _, path := range files {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Load(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if !bytes.Equal(encodeModel(m), raw) {
			t.Errorf("%s: re-encoded model differs", path)
		}
	}
}

// An unpruned .ftz converted to a full .bin (dequantised input matrix)
// predicts exactly alike.
func TestFtzToBin(t *testing.T) {
	texts := tinyTexts(t)
	for _, name := range []string{"lang_softmax.ftz", "many_hs.ftz"} {
		q, err := LoadFile(filepath.Join("testdata", "tiny", name))
		if err != nil {
			t.Fatal(err)
		}
		if q.dict.pruned {
			t.Fatalf("%s is pruned", name)
		}
		bin := encodeModel(withDenseMatrices(q))
		path := filepath.Join(t.TempDir(), strings.TrimSuffix(name, ".ftz")+".bin")
		if err := os.WriteFile(path, bin, 0o644); err != nil {
			t.Fatal(err)
		}
		d, err := LoadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		_, qout := q.output.(*quantMatrix)
		for _, text := range texts {
			got, want := d.Predict(text, 5, 0), q.Predict(text, 5, 0)
			if !qout {
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s %q: .bin %v, .ftz %v", name, text, got, want)
				}
				continue
			}
			// A dense copy of a quantised output matrix rounds differently.
			for j := range want {
				if j >= len(got) || math.Abs(float64(got[j].Prob-want[j].Prob)) > 1e-5 {
					t.Errorf("%s %q: .bin %v, .ftz %v", name, text, got, want)
					break
				}
			}
		}
	}
}

// The tiny models must keep covering what README.md says they cover.
func TestTinyModelsCoverage(t *testing.T) {
	load := func(name string) *Model {
		m, err := LoadFile(filepath.Join("testdata", "tiny", name))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	losses := map[lossKind]bool{}
	var wordNgrams, minn1, qout, qnorm, unequal, pruned, unpruned, dense bool
	for _, name := range []string{"lang_hs.bin", "lang_hs.ftz", "lang_softmax.bin", "lang_softmax.ftz", "lang_ova.bin", "many_ns.bin", "many_ns.ftz", "many_hs.bin", "many_hs.ftz"} {
		m := load(name)
		losses[m.args.loss] = true
		wordNgrams = wordNgrams || m.args.wordNgrams > 1
		minn1 = minn1 || (m.args.minn == 1 && m.args.maxn > 0)
		if _, ok := m.input.(*denseMatrix); ok {
			dense = true
		}
		if q, ok := m.input.(*quantMatrix); ok {
			qnorm = qnorm || q.norms != nil
			unequal = unequal || q.pq.lastdsub != q.pq.dsub
			pruned = pruned || m.dict.pruned
			unpruned = unpruned || !m.dict.pruned
		}
		if _, ok := m.output.(*quantMatrix); ok {
			qout = true
		}
	}
	if len(losses) != 4 || !wordNgrams || !minn1 || !qout || !qnorm || !unequal || !pruned || !unpruned || !dense {
		t.Errorf("coverage lost: losses %v, word n-grams %v, minn 1 %v, qout %v, qnorm %v, unequal sub-vectors %v, pruned %v, unpruned %v, dense %v",
			losses, wordNgrams, minn1, qout, qnorm, unequal, pruned, unpruned, dense)
	}
}
