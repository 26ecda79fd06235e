package langid

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/datarefine/refine/internal/shareddata"
)

// sampleTexts need no test data: a few languages, scripts and odd inputs.
var sampleTexts = []string{
	"The quick brown fox jumps over the lazy dog.",
	"Der schnelle braune Fuchs springt über den faulen Hund.",
	"Le vif renard brun saute par-dessus le chien paresseux.",
	"Быстрая коричневая лиса прыгает через ленивую собаку.",
	"敏捷的棕色狐狸跳过了懒狗。",
	"すばやい茶色のキツネがのろまな犬を飛び越える。",
	"Η γρήγορη καφέ αλεπού πηδάει πάνω από το τεμπέλικο σκυλί.",
	"",
	"   \t ",
	"__label__en __label__fr",
	"12345 67890 !!!",
	"line one\nline two\r\nline\tthree\x00four",
}

func lid(t testing.TB) *Model {
	t.Helper()
	m, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestEmbeddedModel(t *testing.T) {
	m := lid(t)
	if got := len(m.Labels()); got != 176 {
		t.Errorf("%d labels, want 176", got)
	}
	if m.Dim() != 16 {
		t.Errorf("dim %d, want 16", m.Dim())
	}
	if _, ok := m.input.(*quantMatrix); !ok {
		t.Error("lid.176.ftz input matrix is not quantised")
	}
	if m.args.loss != lossHS {
		t.Errorf("loss %v, want hs", m.args.loss)
	}
	m2, err := Default()
	if err != nil || m2 != m {
		t.Error("Default does not return the same model twice")
	}
}

// The test writer must reproduce the embedded file byte for byte; the
// conversions below rely on it.
func TestWriterRoundTrip(t *testing.T) {
	if got := encodeModel(lid(t)); !bytes.Equal(got, lid176) {
		t.Fatalf("re-encoded lid.176.ftz differs (%d bytes, want %d)", len(got), len(lid176))
	}
}

func TestLoadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lid.176.ftz")
	if err := os.WriteFile(path, lid176, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := lid(t)
	for _, text := range sampleTexts {
		if got, want := m.Predict(text, 3, 0), d.Predict(text, 3, 0); !reflect.DeepEqual(got, want) {
			t.Errorf("%q: LoadFile model predicts %v, Default %v", text, got, want)
		}
	}
	if _, err := LoadFile(filepath.Join(t.TempDir(), "missing.bin")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// Whether rows are added from the product quantiser, from the dense copy
// made at load time, or from a dense input matrix as in a .bin file, the
// same float32 values are added: predictions must be identical.
func TestDenseInputMatchesQuantised(t *testing.T) {
	m := lid(t)
	if _, ok := m.rowsIn.(*denseMatrix); !ok {
		t.Fatal("lid.176 rows are not dequantised at load")
	}
	q := withQuantisedRows(m)
	d := withDenseMatrices(m)
	if _, ok := d.input.(*denseMatrix); !ok {
		t.Fatal("input not dense")
	}
	texts := sampleTexts
	if shareddata.Root() != "" {
		for _, c := range lid176Cases(t) {
			texts = append(texts, c.text)
		}
	}
	for _, text := range texts {
		want := q.Predict(text, -1, 0)
		if got := m.Predict(text, -1, 0); !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: dequantised rows %v, quantised %v", text, got, want)
		}
		if got := d.Predict(text, -1, 0); !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: dense matrix %v, quantised %v", text, got, want)
		}
	}
}

// fastText refuses a full model with a pruned dictionary; so do we.
func TestDensePrunedRejected(t *testing.T) {
	_, err := Load(bytes.NewReader(encodeModel(withDenseMatrices(lid(t)))))
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "pruned") {
		t.Fatalf("got %v, want a pruned-dictionary format error", err)
	}
}

// patch returns a copy of b with v written at off.
func patch(b []byte, off int, v any) []byte {
	c := append([]byte(nil), b...)
	var buf bytes.Buffer
	binary.Write(&buf, binary.LittleEndian, v)
	copy(c[off:], buf.Bytes())
	return c
}

func TestCorruptModels(t *testing.T) {
	m := lid(t)
	// Offsets in lid.176.ftz: header 8, args 56, dictionary counts at 64.
	const argsOff = 8
	const dictOff = 64
	dictEnd := bytes.Index(lid176, []byte("__label__")) // the first label entry
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "truncated"},
		{"bad magic", patch(lid176, 0, int32(12345)), "bad magic"},
		{"newer version", patch(lid176, 4, int32(13)), "version 13"},
		{"not supervised", patch(lid176, argsOff+7*4, int32(2)), "not a supervised"},
		{"unknown loss", patch(lid176, argsOff+6*4, int32(9)), "unknown loss"},
		{"zero dim", patch(lid176, argsOff, int32(0)), "dimension"},
		{"dim mismatch", patch(lid176, argsOff, int32(8)), "columns"},
		{"zero bucket", patch(lid176, argsOff+8*4, int32(0)), "bucket"},
		{"sizes inconsistent", patch(lid176, dictOff, int32(7412)), "inconsistent"},
		{"huge dictionary", patch(patch(lid176, dictOff, int32(1<<30)), dictOff+4, int32(1<<30-176)), "truncated"},
		{"words after labels", patch(lid176, dictOff+4, int32(7236)), "inconsistent"},
		{"entry type", patch(lid176, dictEnd-1, byte(1)), "type"},
		{"trailing bytes", append(append([]byte(nil), lid176...), 0), "unexpected bytes"},
		{"text file", []byte("__label__en hello world\n"), "bad magic"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(bytes.NewReader(tc.data))
			if err == nil {
				t.Fatal("loaded a corrupt model")
			}
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want ErrFormat mentioning %q", err, tc.want)
			}
		})
	}
	// Every truncation fails cleanly, never with a panic or a model.
	for n := 0; n < len(lid176); n += 1 + n/7 {
		if _, err := Load(bytes.NewReader(lid176[:n])); !errors.Is(err, ErrFormat) {
			t.Fatalf("truncated to %d bytes: %v", n, err)
		}
	}
	// A pruning index pointing past the input matrix is caught at load time.
	bad := withDenseMatrices(m) // any model whose dictionary we can alter
	bad.input = m.input
	d := *m.dict
	d.pruneVals = append([]int32(nil), d.pruneVals...)
	d.pruneVals[0] = 1 << 20
	bad.dict = &d
	if _, err := Load(bytes.NewReader(encodeModel(bad))); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "rows") {
		t.Fatalf("pruning index out of range: %v", err)
	}
}
