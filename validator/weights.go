package validator

// Weights: setting them directly, or committing them and revealing the
// commit later where the subnet has commit-reveal on, with the state of the
// commits awaiting their reveal.

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/validator/score"
)

// SetWeights sets weights from the current EMAs: directly, or as a commit
// to reveal later when the subnet has commit-reveal on. Failures (rate
// limits, missing permit) are returned and retried at the next schedule.
func (v *Validator) SetWeights(ctx context.Context) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	head, err := v.opts.Chain.Block(ctx)
	if err != nil {
		return err
	}
	emas, err := v.state.emas(ctx)
	if err != nil {
		return err
	}
	scores := map[uint16]float64{}
	for _, e := range emas {
		scores[e.UID] = e.EMA
	}
	uids, weights := score.U16(scores)
	// Mark the attempt first: a failing chain call is retried on the next
	// schedule, not every poll.
	if err := v.state.setMeta(ctx, "last_weights", head.Number); err != nil {
		return err
	}
	if len(uids) == 0 {
		v.opts.Log.Info("no scores yet: weights not set")
		return nil
	}
	hp, err := v.opts.Chain.Hyperparameters(ctx, v.opts.Netuid)
	if err != nil {
		return fmt.Errorf("hyperparameters: %w", err)
	}
	hk := v.opts.Hotkey.SS58()
	if !hp.CommitRevealEnabled {
		err := v.opts.Chain.SetWeights(ctx, v.opts.Hotkey, v.opts.Netuid, uids, weights, v.opts.VersionKey)
		v.countWeights("set", err)
		if err != nil {
			return fmt.Errorf("set weights: %w", err)
		}
		v.opts.Log.Info("weights set", "uids", uids, "weights", weights)
		return nil
	}
	salt := make([]uint16, 8)
	var b [16]byte
	rand.Read(b[:])
	for i := range salt {
		salt[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	hash, err := chain.CommitHash(hk, v.opts.Netuid, uids, weights, salt, v.opts.VersionKey)
	if err != nil {
		return err
	}
	err = v.opts.Chain.CommitWeights(ctx, v.opts.Hotkey, v.opts.Netuid, hash)
	v.countWeights("commit", err)
	if err != nil {
		return fmt.Errorf("commit weights: %w", err)
	}
	v.opts.Log.Info("weights committed", "uids", uids, "weights", weights)
	return v.state.addWeightCommit(ctx, weightCommit{Block: head.Number, UIDs: uids, Weights: weights, Salt: salt, Version: v.opts.VersionKey})
}

// reveal reveals pending weight commits whose reveal epoch has come; a
// commit the chain no longer accepts is dropped.
func (v *Validator) reveal(ctx context.Context) error {
	pending, err := v.state.weightCommits(ctx)
	if err != nil || len(pending) == 0 {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, c := range pending {
		err := v.opts.Chain.RevealWeights(ctx, v.opts.Hotkey, v.opts.Netuid, c.UIDs, c.Weights, c.Salt, c.Version)
		switch {
		case err == nil:
			v.countWeights("reveal", nil)
			v.opts.Log.Info("weights revealed", "uids", c.UIDs, "weights", c.Weights, "commit_block", c.Block)
		case errors.Is(err, chain.ErrRevealTooEarly):
			return nil // later commits are not due either
		default:
			v.countWeights("reveal", err)
			v.opts.Log.Warn("weights reveal failed; dropping the commit", "commit_block", c.Block, "err", err)
		}
		if err := v.state.deleteWeightCommit(ctx, c.ID); err != nil {
			return err
		}
	}
	return nil
}

func (v *Validator) countWeights(kind string, err error) {
	res := "ok"
	if err != nil {
		res = "error"
	}
	v.metrics.weights.WithLabelValues(kind, res).Inc()
}

// weightCommit is a weights commit awaiting its reveal.
type weightCommit struct {
	ID            int64
	Block         uint64
	UIDs, Weights []uint16
	Salt          []uint16
	Version       uint64
}

func joinU16(v []uint16) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprint(x)
	}
	return strings.Join(parts, ",")
}

func splitU16(s string) ([]uint16, error) {
	if s == "" {
		return nil, nil
	}
	var out []uint16
	for _, p := range strings.Split(s, ",") {
		var x uint16
		if _, err := fmt.Sscan(p, &x); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

func (s *state) addWeightCommit(ctx context.Context, c weightCommit) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO weight_commits (block, uids, weights, salt, version) VALUES (?, ?, ?, ?, ?)`,
		int64(c.Block), joinU16(c.UIDs), joinU16(c.Weights), joinU16(c.Salt), int64(c.Version))
	return err
}

func (s *state) weightCommits(ctx context.Context) ([]weightCommit, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, block, uids, weights, salt, version FROM weight_commits ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []weightCommit
	for rows.Next() {
		var c weightCommit
		var b, v int64
		var u, w, s string
		if err := rows.Scan(&c.ID, &b, &u, &w, &s, &v); err != nil {
			return nil, err
		}
		c.Block, c.Version = uint64(b), uint64(v)
		var err1, err2, err3 error
		c.UIDs, err1 = splitU16(u)
		c.Weights, err2 = splitU16(w)
		c.Salt, err3 = splitU16(s)
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, fmt.Errorf("stored weight commit %d: %w", c.ID, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (s *state) deleteWeightCommit(ctx context.Context, id int64) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM weight_commits WHERE id = ?`, id)
	return err
}
