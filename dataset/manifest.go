package dataset

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/datarefine/refine/pipeline"
)

// Format names this version of the dataset layout.
const Format = "refine-dataset/1"

// ManifestName is the manifest's file name inside a dataset folder.
const ManifestName = "manifest.json"

// Manifest describes a dataset folder and seals its files by sha256. It holds
// no wall-clock time, so the same input gives the same manifest.
type Manifest struct {
	Format          string `json:"format"`
	PipelineVersion string `json:"pipeline_version"`
	// CreatedBy names the program that wrote the dataset: "refine <module
	// version>" (internal/buildinfo: the version alone, so that the same
	// release writes the same bytes on every machine).
	CreatedBy string          `json:"created_by,omitempty"`
	Task      string          `json:"task,omitempty"`
	Hotkey    string          `json:"hotkey,omitempty"`
	Dump      string          `json:"dump,omitempty"`
	Inputs    []Input         `json:"inputs"`
	Assets    []Asset         `json:"assets"`
	Stats     *pipeline.Stats `json:"stats"`
	Documents int64           `json:"documents"`
	Tokens    int64           `json:"tokens"`
	Shards    []Shard         `json:"shards"`
	Records   *File           `json:"records,omitempty"`
	// RecordIndex is the record index (index.go): every record of the
	// inputs with its bytes and outcome. Absent when an input is not a WARC
	// whose records can be fetched alone.
	RecordIndex *File `json:"record_index,omitempty"`
}

// Input is one input of the run (a WARC file or URL, or a document file).
type Input struct {
	Path    string `json:"path"`
	Records int64  `json:"records"`
}

// Asset is a file the pipeline used (word lists, models), by content hash.
// A missing optional asset is listed with an empty SHA256.
type Asset struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
}

// Shard is one parquet file of the dataset.
type Shard struct {
	File
	Documents int64 `json:"documents"`
	Tokens    int64 `json:"tokens"`
	// Signatures is the shard's MinHash signature file (pipeline/dedup's
	// format), next to the shard.
	Signatures *File `json:"signatures,omitempty"`
}

// File is a file of the dataset folder: path relative to the folder, size
// and sha256 of its bytes.
type File struct {
	Path   string `json:"path"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Marshal encodes the manifest canonically (indented, keys in struct order,
// trailing newline), so that its hash is stable.
func (m *Manifest) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteManifest writes m as dir/manifest.json and returns its sha256.
func WriteManifest(dir string, m *Manifest) (string, error) {
	return Layout{}.WriteManifest(dir, m)
}

// WriteManifest writes m at the layout's manifest path in dir and returns
// its sha256.
func (l Layout) WriteManifest(dir string, m *Manifest) (string, error) {
	b, err := m.Marshal()
	if err != nil {
		return "", fmt.Errorf("encode manifest: %w", err)
	}
	p := filepath.Join(dir, filepath.FromSlash(l.ManifestPath()))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", fmt.Errorf("write manifest: %w", err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		return "", fmt.Errorf("write manifest: %w", err)
	}
	return sha256Hex(b), nil
}

// ReadManifest reads dir/manifest.json.
func ReadManifest(dir string) (*Manifest, error) {
	p := filepath.Join(dir, ManifestName)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	return ParseManifest(b)
}

// ParseManifest decodes a manifest and checks that it is one this version
// understands.
func ParseManifest(b []byte) (*Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("parse manifest: %w", err)
	}
	if m.Format != Format {
		return nil, fmt.Errorf("manifest format %q is not %q", m.Format, Format)
	}
	for _, f := range m.Files() {
		if err := checkRel(f.Path); err != nil {
			return nil, fmt.Errorf("manifest file: %w", err)
		}
	}
	return &m, nil
}

// checkRel refuses paths that would leave the dataset folder: a manifest
// comes from an untrusted miner.
func checkRel(p string) error {
	if p == "" || filepath.IsAbs(p) || !filepath.IsLocal(p) {
		return fmt.Errorf("path %q is not a relative path inside the dataset", p)
	}
	return nil
}

// Files lists every file the manifest seals: shards, their signature files,
// the records file and the record index.
func (m *Manifest) Files() []File {
	files := make([]File, 0, 2*len(m.Shards)+2)
	for _, s := range m.Shards {
		files = append(files, s.File)
		if s.Signatures != nil {
			files = append(files, *s.Signatures)
		}
	}
	if m.Records != nil {
		files = append(files, *m.Records)
	}
	if m.RecordIndex != nil {
		files = append(files, *m.RecordIndex)
	}
	return files
}
