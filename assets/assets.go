// Package assets manages the pipeline's external files: datatrove's URL word
// lists (and, optionally, the UT1 adult domain/URL blocklist) and the
// evaluation data of `refine evaluate` (held-out reference text and
// multiple-choice benchmarks). They are kept in an asset folder, fetched from
// their pinned public homes or imported from a local copy, and always
// verified by sha256. A run records the hash of every asset it used.
//
// The word lists are small (about 4 KB, Apache-2.0) and also built into the
// binary (folder datatrove/, with their licence), so the pipeline runs with
// an empty asset folder; a copy in the folder, when present, must have the
// same pinned hash, so the output never depends on which copy was read.
package assets

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"

	"github.com/datarefine/refine/internal/atomicfile"
	"github.com/datarefine/refine/retry"
)

// builtin holds the assets built into the binary, under their asset names.
//
//go:embed datatrove/banned_words.txt datatrove/soft_banned_words.txt datatrove/banned_subwords.txt
var builtin embed.FS

// Spec is one known asset.
type Spec struct {
	// Name is the file's path inside the asset folder.
	Name string
	// URL is its pinned public home (a commit-pinned raw file).
	URL string
	// SHA256 of the file; empty for assets that have no pinned version.
	SHA256 string
	// Licence and origin, shown by `refine assets list`.
	Origin string
	// Alt are further paths, relative to an imported folder, where a local
	// copy may hold the file (e.g. the layout of ../shared/data).
	Alt []string
	// Builtin: the binary carries a copy (see Read).
	Builtin bool
}

// Known lists the assets the FineWeb pipeline uses.
var Known = []Spec{
	{
		Name:    "datatrove/banned_words.txt",
		URL:     "https://raw.githubusercontent.com/huggingface/datatrove/6fcdc4144b9f6b46a99ce07255e189d8251066cd/src/datatrove/assets/banned_words.txt",
		SHA256:  "7aae5109ccc4d8357167168fa3a91331fa2fafd8eb8cc9c38cc9147c2610fab0",
		Origin:  "huggingface/datatrove src/datatrove/assets (Apache-2.0)",
		Alt:     []string{"filters_dedup/datatrove_assets/banned_words.txt"},
		Builtin: true,
	},
	{
		Name:    "datatrove/soft_banned_words.txt",
		URL:     "https://raw.githubusercontent.com/huggingface/datatrove/07d4409bf7befa1c977b7277bfd832091f5cb9df/src/datatrove/assets/soft_banned_words.txt",
		SHA256:  "e5043030accca33b0e368a693997576beea4c58279da641bff40b4e02281b063",
		Origin:  "huggingface/datatrove src/datatrove/assets (Apache-2.0)",
		Alt:     []string{"filters_dedup/datatrove_assets/soft_banned_words.txt"},
		Builtin: true,
	},
	{
		Name:    "datatrove/banned_subwords.txt",
		URL:     "https://raw.githubusercontent.com/huggingface/datatrove/07d4409bf7befa1c977b7277bfd832091f5cb9df/src/datatrove/assets/banned_subwords.txt",
		SHA256:  "4770445cd8d2b16495efde88bc4efc3a520bdc0f3137d14d85cd3d89b194a232",
		Origin:  "huggingface/datatrove src/datatrove/assets (Apache-2.0)",
		Alt:     []string{"filters_dedup/datatrove_assets/banned_subwords.txt"},
		Builtin: true,
	},
}

// Evaluation data of `refine evaluate` and the validator's quality score
// (lm/eval): the reference text whose loss is the score, and benchmarks that
// are reported. Never bundled: fetched or imported like the word lists.
const (
	// EvalReference is WikiText-2 (raw) test, detokenised at load time.
	EvalReference = "eval/wikitext-2-raw/wiki.test.raw"
)

// EvalBenchmarks maps benchmark names, in report order, to their assets.
var EvalBenchmarks = []struct{ Name, Asset string }{
	{"arc_easy", "eval/llm_foundry_icl/arc_easy.jsonl"},
	{"hellaswag", "eval/hellaswag/hellaswag_val_full.txt.bz2"},
	{"piqa", "eval/llm_foundry_icl/piqa.jsonl"},
}

// Eval lists the evaluation assets. Pins: the commit of the file in a public
// repository and the sha256 of the copy the protocol was measured with
// (../shared/data, see its SOURCES.md).
var Eval = []Spec{
	{
		Name:   EvalReference,
		URL:    "https://raw.githubusercontent.com/Tylogi/TyloQuant/aa7023b3a96905a70f7a7ce9836834f02694c670/data/wikitext-2-raw/wiki.test.raw",
		SHA256: "4f3e427e4aff23acff917a8a51aeae21bf12832256e26914c8fc250dcef4103c",
		Origin: "WikiText-2 raw test (Salesforce/wikitext; CC BY-SA 3.0 / GFDL)",
		Alt:    []string{"reference_text/wikitext-2-raw/wiki.test.raw", "wikitext-2-raw/wiki.test.raw"},
	},
	{
		Name:   "eval/hellaswag/hellaswag_val_full.txt.bz2",
		URL:    "https://raw.githubusercontent.com/klosax/hellaswag_text_data/60a646bd806bce22dcb2eb6d4fadb12f1472aa4c/hellaswag_val_full.txt.bz2",
		SHA256: "50b637899e4263c2bc456c2dc726c95d2c8cd8e2a552ea5bd7719ce3cb03fe5b",
		Origin: "HellaSwag validation, klosax/hellaswag_text_data (HellaSwag MIT)",
		Alt:    []string{"benchmarks/hellaswag/hellaswag_val_full.txt.bz2", "hellaswag/hellaswag_val_full.txt.bz2"},
	},
	{
		Name:   "eval/llm_foundry_icl/arc_easy.jsonl",
		URL:    "https://raw.githubusercontent.com/mosaicml/llm-foundry/ffcc56816674c8f9a9ef302b511a1f926efc5cf5/scripts/eval/local_data/world_knowledge/arc_easy.jsonl",
		SHA256: "d2d12e59543acf9a5ef6079634a72b30215e36c2fd4236fff3bc855d287b87f5",
		Origin: "ARC-Easy, mosaicml/llm-foundry local_data (CC BY-SA 4.0)",
		Alt:    []string{"benchmarks/llm_foundry_icl/arc_easy.jsonl", "llm_foundry_icl/arc_easy.jsonl"},
	},
	{
		Name:   "eval/llm_foundry_icl/piqa.jsonl",
		URL:    "https://raw.githubusercontent.com/mosaicml/llm-foundry/ffcc56816674c8f9a9ef302b511a1f926efc5cf5/scripts/eval/local_data/commonsense_reasoning/piqa.jsonl",
		SHA256: "d2870e73aec5154df3faf259b7700876e11608eebdf69e9d6667435673dbe4e0",
		Origin: "PIQA, mosaicml/llm-foundry local_data (AFL-3.0)",
		Alt:    []string{"benchmarks/llm_foundry_icl/piqa.jsonl", "llm_foundry_icl/piqa.jsonl"},
	},
}

// All is every asset with a pinned home: the pipeline's and the evaluation's.
func All() []Spec { return append(append([]Spec(nil), Known...), Eval...) }

// Blocklist is the folder name of the optional UT1 adult blocklist inside
// the asset folder (files "domains" and "urls"). UT1 publishes no versioned
// releases, so it has no pinned hash: it is imported from a local copy with
// `refine assets import --ut1`, and a run records the hash of what it used.
const Blocklist = "ut1/adult"

// DefaultDir is the asset folder used when none is given: $REFINE_ASSETS,
// else the user's cache folder.
func DefaultDir() string {
	if d := os.Getenv("REFINE_ASSETS"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "refine", "assets")
	}
	return filepath.Join(os.TempDir(), "refine", "assets")
}

// ErrMissing reports an asset absent from the asset folder.
var ErrMissing = errors.New("asset missing")

// Hash is the sha256 of a file, hex-encoded.
func Hash(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Check verifies the pipeline's assets: each must be in dir with its
// pinned hash or built into the binary. It returns a clear error for the
// first one that is missing or altered.
func Check(dir string) error {
	for _, s := range Known {
		if _, _, err := Read(dir, s.Name); err != nil {
			return err
		}
	}
	return nil
}

// Read returns the content of the known asset name and its sha256: the copy
// in the asset folder dir when it holds one (which must have the pinned
// hash: an altered file is an error, never silently replaced), else the
// copy built into the binary (see Spec.Builtin), else ErrMissing.
func Read(dir, name string) (data []byte, sha string, err error) {
	p := filepath.Join(dir, filepath.FromSlash(name))
	data, err = os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		if data, err = builtin.ReadFile(name); err == nil {
			return data, hashBytes(data), nil
		}
		return nil, "", missing(dir, name)
	}
	if err != nil {
		return nil, "", err
	}
	sha = hashBytes(data)
	if want := pin(name); want != "" && sha != want {
		return nil, "", altered(dir, name, sha, want)
	}
	return data, sha, nil
}

// InFolder reports whether dir holds a verified copy of the asset name (as
// opposed to the built-in one), for `refine assets list`.
func InFolder(dir, name string) bool {
	p := filepath.Join(dir, filepath.FromSlash(name))
	sha, err := Hash(p)
	if err != nil {
		return false
	}
	want := pin(name)
	return want == "" || sha == want
}

func hashBytes(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// pin is the pinned sha256 of a known asset ("" when it has none).
func pin(name string) string {
	for _, s := range All() {
		if s.Name == name {
			return s.SHA256
		}
	}
	return ""
}

func altered(dir, name, got, want string) error {
	return fmt.Errorf("asset %s in %s has sha256 %s, want %s: run `refine assets fetch` or `refine assets import DIR` again, or delete it", name, dir, got, want)
}

func missing(dir, name string) error {
	return fmt.Errorf("%w: %s is not in the asset folder %s; get it with `refine assets fetch` (downloads the pinned versions) or `refine assets import DIR` (a local copy, e.g. ../shared/data)", ErrMissing, name, dir)
}

// Fetch downloads every known asset (pipeline and evaluation) into dir and
// verifies its sha256. A file already present with the right hash is not
// downloaded again. Downloads go through the retrying HTTP layer (package
// retry, default policy): a transient failure is tried again with backoff,
// a download cut mid-way resumes where it stopped, a permanent one (404)
// stops at once. client sends the requests (default: retry.NewClient);
// log, if set, receives progress and one line per retry.
func Fetch(ctx context.Context, dir string, client *http.Client, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	policy := retry.Default
	policy.Log = log
	if client == nil {
		client = retry.NewClient(policy)
	}
	for _, s := range All() {
		dst := filepath.Join(dir, filepath.FromSlash(s.Name))
		if h, err := Hash(dst); err == nil && h == s.SHA256 {
			continue
		}
		log.Info("fetching asset", "name", s.Name, "url", s.URL)
		body, err := retry.Open(ctx, s.URL, retry.StreamOptions{Client: client, Policy: policy})
		if err != nil {
			return fmt.Errorf("fetch %s: %w", s.Name, err)
		}
		// No pinned asset is near 64 MiB: a longer answer is cut and
		// then fails its hash.
		err = install(io.LimitReader(body, 64<<20), dst, s)
		body.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// Import copies the known assets from a local folder into dir, verifying
// each. A file is found in src by its full asset name, its base name or an
// Alt path (so a plain copy of datatrove's assets folder and the layout of
// ../shared/data both work; see openLocal). If ut1 is not empty it is a
// folder with the UT1 "adult" category files domains and urls, copied
// unverified (UT1 has no pinned version) whether or not src has the word
// lists; word lists absent from src are an ErrMissing error.
func Import(src, dir, ut1 string) error {
	if ut1 != "" {
		for _, name := range []string{"domains", "urls"} {
			f, err := os.Open(filepath.Join(ut1, name))
			if err != nil {
				return fmt.Errorf("import UT1 blocklist: %w", err)
			}
			err = install(f, filepath.Join(dir, Blocklist, name), Spec{Name: Blocklist + "/" + name})
			f.Close()
			if err != nil {
				return err
			}
		}
	}
	for _, s := range Known {
		f := openLocal(src, s)
		if f == nil {
			return fmt.Errorf("import: %w: %s not found in %s", ErrMissing, filepath.Base(s.Name), src)
		}
		err := install(f, filepath.Join(dir, filepath.FromSlash(s.Name)), s)
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// ImportEval copies the evaluation assets that src holds into dir, verifying
// each, and returns how many it found. A file is looked up by its asset name,
// its base name and the Spec's Alt paths (so both a copy of the asset folder
// and the layout of ../shared/data work). Absent files are not an error: the
// benchmarks are optional; a present file with the wrong hash is.
func ImportEval(src, dir string) (int, error) {
	n := 0
	for _, s := range Eval {
		f := openLocal(src, s)
		if f == nil {
			continue
		}
		err := install(f, filepath.Join(dir, filepath.FromSlash(s.Name)), s)
		f.Close()
		if err != nil {
			return n, fmt.Errorf("import: %w", err)
		}
		n++
	}
	return n, nil
}

// openLocal opens the local copy of s in src: by its asset name, its base
// name or one of its Alt paths; nil when src has none.
func openLocal(src string, s Spec) *os.File {
	for _, c := range append([]string{s.Name, filepath.Base(s.Name)}, s.Alt...) {
		if f, err := os.Open(filepath.Join(src, filepath.FromSlash(c))); err == nil {
			return f
		}
	}
	return nil
}

// install writes r to dst through a temporary file, checking the hash before
// the file takes its name, so a half-written or wrong file is never used.
func install(r io.Reader, dst string, s Spec) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	// Not synced, as before: Path checks the hash of what it finds.
	tmp, err := atomicfile.Create(dst, atomicfile.Options{NoSync: true})
	if err != nil {
		return err
	}
	defer tmp.Abort()
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), r); err != nil {
		return fmt.Errorf("write %s: %w", s.Name, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); s.SHA256 != "" && got != s.SHA256 {
		return fmt.Errorf("asset %s: sha256 %s does not match the pinned %s", s.Name, got, s.SHA256)
	}
	return tmp.Commit()
}

// Path returns the path of a known asset in dir, checking that it exists
// and has its pinned hash, and the hash for the run's record. Built-in
// copies have no path: read those with Read.
func Path(dir, name string) (path, sha string, err error) {
	p := filepath.Join(dir, filepath.FromSlash(name))
	sha, err = Hash(p)
	if errors.Is(err, os.ErrNotExist) {
		return "", "", missing(dir, name)
	}
	if err != nil {
		return "", "", err
	}
	if want := pin(name); want != "" && want != sha {
		return "", "", altered(dir, name, sha, want)
	}
	return p, sha, nil
}
