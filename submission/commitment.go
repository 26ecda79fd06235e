// Package submission defines what a miner commits on chain for a finished
// task, and how validators read it back.
//
// The commitment is a short string (≤ 128 bytes, the commitments pallet's
// Raw limit):
//
//	<version>:<repo>@<revision>:<task id>:<manifest sha256 prefix>
//	r1:alice/refined@3f2a…(40 or 64 hex):1234:9c0d5e…(16 hex)
//
// The revision pins the dataset's bytes (a Hub commit sha or a local
// store's content hash); the manifest hash prefix binds the commitment to
// one manifest, which names the task and the miner's hotkey; the hotkey
// itself is the signer of the chain extrinsic. See docs/mechanism.md.
package submission

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/datarefine/refine/store"
)

// Version is the commitment format's version tag.
const Version = "r1"

// MaxBytes is the longest commitment the chain's Raw data holds.
const MaxBytes = 128

// HashPrefixLen is the number of hex digits of the manifest's sha256 in a
// commitment (64 bits: a miner cannot find a second manifest with the same
// prefix).
const HashPrefixLen = 16

// Commitment is a parsed commitment.
type Commitment struct {
	Repo         string
	Revision     string
	TaskID       int64
	ManifestHash string // prefix, HashPrefixLen hex digits
}

var (
	revRe  = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)
	hashRe = regexp.MustCompile(`^[0-9a-f]{16}$`)
)

// ErrMalformed reports a commitment that does not parse.
var ErrMalformed = errors.New("malformed commitment")

// String formats the commitment.
func (c Commitment) String() string {
	return fmt.Sprintf("%s:%s@%s:%d:%s", Version, c.Repo, c.Revision, c.TaskID, c.ManifestHash)
}

// Validate checks every field and the length limit.
func (c Commitment) Validate() error {
	if err := store.CheckRepo(c.Repo); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if !revRe.MatchString(c.Revision) {
		return fmt.Errorf("%w: revision %q is not a 40- or 64-digit hex hash", ErrMalformed, c.Revision)
	}
	if c.TaskID <= 0 {
		return fmt.Errorf("%w: task id %d", ErrMalformed, c.TaskID)
	}
	if !hashRe.MatchString(c.ManifestHash) {
		return fmt.Errorf("%w: manifest hash prefix %q is not %d hex digits", ErrMalformed, c.ManifestHash, HashPrefixLen)
	}
	if n := len(c.String()); n > MaxBytes {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrMalformed, n, MaxBytes)
	}
	return nil
}

// New builds a commitment from a manifest's full sha256 (hex).
func New(repo, revision string, taskID int64, manifestSHA256 string) (Commitment, error) {
	if len(manifestSHA256) < HashPrefixLen {
		return Commitment{}, fmt.Errorf("%w: manifest hash %q too short", ErrMalformed, manifestSHA256)
	}
	c := Commitment{Repo: repo, Revision: revision, TaskID: taskID, ManifestHash: manifestSHA256[:HashPrefixLen]}
	return c, c.Validate()
}

// Parse reads a commitment string.
func Parse(s string) (Commitment, error) {
	if len(s) > MaxBytes {
		return Commitment{}, fmt.Errorf("%w: %d bytes, limit %d", ErrMalformed, len(s), MaxBytes)
	}
	parts := strings.Split(s, ":")
	if len(parts) != 4 {
		return Commitment{}, fmt.Errorf("%w: %q: want version:repo@revision:task:hash", ErrMalformed, s)
	}
	if parts[0] != Version {
		return Commitment{}, fmt.Errorf("%w: version %q, want %q", ErrMalformed, parts[0], Version)
	}
	repo, rev, ok := strings.Cut(parts[1], "@")
	if !ok {
		return Commitment{}, fmt.Errorf("%w: %q has no @revision", ErrMalformed, parts[1])
	}
	task, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return Commitment{}, fmt.Errorf("%w: task id %q", ErrMalformed, parts[2])
	}
	c := Commitment{Repo: repo, Revision: rev, TaskID: task, ManifestHash: parts[3]}
	if err := c.Validate(); err != nil {
		return Commitment{}, err
	}
	if c.String() != s {
		return Commitment{}, fmt.Errorf("%w: %q is not in canonical form", ErrMalformed, s)
	}
	return c, nil
}
