package corpus

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/datarefine/refine/acceptance"
	"github.com/datarefine/refine/store"
	"github.com/datarefine/refine/submission"
	"github.com/datarefine/refine/taskapi"
)

// Network is the subnet's source: the submissions the validators
// accepted, each fetched from the miner's repository at the revision its
// commitment pins.
type Network struct {
	// Accepted lists the accepted submissions and the acceptance share
	// they were decided with (the CLI reads both from the task server's
	// public /v1/accepted; 0 when the server does not state its share).
	Accepted func(ctx context.Context) ([]Submission, float64, error)
	// Rule is the acceptance rule the submissions were decided with
	// (package acceptance); its share is recorded in the dataset. A zero
	// Share takes the share the server states; a Share the server
	// contradicts is an error (ErrShareMismatch), since the dataset would
	// record a rule its inputs were not accepted by.
	Rule acceptance.Rule
	// URL names where the list comes from, for the record.
	URL string
	// Store holds the miners' repositories; Limits bounds each fetch.
	Store  store.Store
	Limits store.Limits
}

// ErrShareMismatch reports an acceptance share that differs from the one
// the task server states it decided the submissions with.
var ErrShareMismatch = errors.New("acceptance share differs from the task server's")

// Info implements Source. Submissions, which reads the server's share,
// runs first.
func (n *Network) Info() SourceInfo {
	share := n.Rule.EffectiveShare()
	return SourceInfo{
		Kind:  "network",
		Rule:  fmt.Sprintf("validators holding more than %g of the stake of the validators that reported on it accepted it", share),
		Share: share,
		URL:   n.URL,
	}
}

// Submissions implements Source.
func (n *Network) Submissions(ctx context.Context) ([]Submission, error) {
	if err := n.Rule.Check(); err != nil {
		return nil, err
	}
	subs, share, err := n.Accepted(ctx)
	if err != nil {
		return nil, err
	}
	switch {
	case share == 0:
		// The server does not say: the rule as given (default: majority).
	case n.Rule.Share == 0:
		n.Rule.Share = share
		if err := n.Rule.Check(); err != nil {
			return nil, fmt.Errorf("the task server's %w", err)
		}
	case n.Rule.Share != share:
		return nil, fmt.Errorf("%w: %g given, the task server %s decides with %g (leave the share unset to use the server's)", ErrShareMismatch, n.Rule.Share, n.URL, share)
	}
	for i := range subs {
		if subs[i].Key == "" {
			subs[i].Key = subs[i].Commitment
		}
	}
	return subs, nil
}

// Fetch implements Source with submission.Fetch: the manifest first, its
// hash checked against the commitment, then only the files it seals,
// each bounded by its stated size and checked by its sha256 while it
// streams. The manifest must name the committing hotkey and the task.
func (n *Network) Fetch(ctx context.Context, s Submission, dst string) (*Fetched, error) {
	c, err := submission.Parse(s.Commitment)
	if err != nil {
		return nil, fmt.Errorf("%w: commitment %q: %v", ErrBadSubmission, s.Commitment, err)
	}
	if s.TaskID != 0 && c.TaskID != s.TaskID {
		return nil, fmt.Errorf("%w: commitment %q is for task %d, accepted for task %d", ErrBadSubmission, s.Commitment, c.TaskID, s.TaskID)
	}
	f, err := submission.Fetch(ctx, n.Store, c, dst, n.Limits)
	if _, ok := submission.AsFault(err); ok {
		return nil, fmt.Errorf("%w: %v", ErrBadSubmission, err)
	}
	if err != nil {
		return nil, err
	}
	m := f.Manifest
	if err := submission.CheckOwner(m, c, s.Hotkey); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSubmission, err)
	}
	out := &Fetched{Root: dst, Hotkey: m.Hotkey, Task: strconv.FormatInt(c.TaskID, 10)}
	for _, sh := range m.Shards {
		out.Shards = append(out.Shards, sh.Path)
	}
	if len(out.Shards) == 0 && m.Documents > 0 {
		return nil, errors.Join(ErrBadSubmission, fmt.Errorf("manifest counts %d documents in no shard", m.Documents))
	}
	return out, nil
}

// FromAccepted turns the task server's accepted submissions into the
// build's inputs: each is keyed by its commitment, so a submission is
// added once however many builds list it.
func FromAccepted(subs []taskapi.AcceptedSubmission) []Submission {
	out := make([]Submission, 0, len(subs))
	for _, s := range subs {
		out = append(out, Submission{Key: s.Commitment, Commitment: s.Commitment, Hotkey: s.Hotkey, Block: s.CommitBlock, TaskID: s.TaskID})
	}
	return out
}
