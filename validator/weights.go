package validator

// Weights: setting them directly, or committing them and revealing the
// commit later where the subnet has commit-reveal on, with the state of the
// commits awaiting their reveal.

import (
	"context"
	"crypto/rand"
	"database/sql"
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
	// The epoch the chain tags the commit with: the one a transaction sent
	// now is judged by (it may land an epoch later, which reveal allows for).
	es, err := v.opts.Chain.EpochState(ctx, v.opts.Netuid)
	if err != nil {
		return fmt.Errorf("epoch state: %w", err)
	}
	err = v.opts.Chain.CommitWeights(ctx, v.opts.Hotkey, v.opts.Netuid, hash)
	v.countWeights("commit", err)
	if err != nil {
		return fmt.Errorf("commit weights: %w", err)
	}
	v.opts.Log.Info("weights committed", "uids", uids, "weights", weights, "epoch", es.TxEpoch)
	return v.state.addWeightCommit(ctx, weightCommit{Block: head.Number, Epoch: &es.TxEpoch, UIDs: uids, Weights: weights, Salt: salt, Version: v.opts.VersionKey})
}

// revealAction is what to do with a pending commit.
type revealAction int

const (
	revealWait revealAction = iota // not due yet: keep it, try later
	revealTry                      // possibly due: send the reveal
	revealDrop                     // expired: it can never be revealed
)

// revealPlan decides from the chain's epoch state what to do with a commit
// recorded with epoch c (the epoch a transaction was judged by when it was
// sent). The chain tagged it with c, or c + 1 when it landed after an epoch
// boundary, so its reveal epoch is c + period or one later: try from c +
// period on; only past c + period + 1 is it surely expired.
func revealPlan(e chain.EpochState, c uint64) revealAction {
	switch {
	case e.RevealTooEarly(c):
		return revealWait
	case e.CommitExpired(c + 1):
		return revealDrop
	}
	return revealTry
}

// revealRefused decides after the chain refused a reveal at epoch state e.
// Subtensor refuses a reveal outside its epoch with one code (17), too early
// and expired alike: it is expired when the epoch index has passed the
// recorded epoch plus the reveal period (a commit tagged one epoch later
// would have been revealed in that epoch). A commit the chain no longer
// holds (16: a later commit dropped it as expired) is gone. Anything else
// (a node that does not answer, a rate limit) is retried, bounded by the
// expiry above.
func revealRefused(e chain.EpochState, c uint64, err error) revealAction {
	switch code, ok := chain.TxCode(err); {
	case ok && code == chain.TxCommitBlockNotInRevealRange && e.CommitExpired(c):
		return revealDrop
	case ok && code == chain.TxCommitNotFound:
		return revealDrop
	case errors.Is(err, chain.ErrCommitExpired): // the call's own check (dispatch)
		return revealDrop
	}
	return revealWait
}

// reveal reveals the pending weight commits whose reveal epoch has come,
// oldest first, timed by the chain's epoch state (never by a formula of the
// block number). A commit is kept until it is revealed or has expired, so
// the validator never drops one on its first try and never waits forever.
func (v *Validator) reveal(ctx context.Context) error {
	pending, err := v.state.weightCommits(ctx)
	if err != nil || len(pending) == 0 {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	e, err := v.opts.Chain.EpochState(ctx, v.opts.Netuid)
	if err != nil {
		return fmt.Errorf("epoch state: %w", err)
	}
	for _, c := range pending {
		if c.Epoch == nil {
			// Recorded before commits carried their epoch: it was made
			// by now, so now is a late enough estimate (it can only
			// delay the drop).
			ep := e.TxEpoch
			c.Epoch = &ep
			if err := v.state.setWeightCommitEpoch(ctx, c.ID, ep); err != nil {
				return err
			}
		}
		log := v.opts.Log.With("commit_block", c.Block, "commit_epoch", *c.Epoch, "epoch", e.TxEpoch, "reveal_period", e.RevealPeriod)
		action := revealPlan(e, *c.Epoch)
		if action == revealTry {
			err := v.opts.Chain.RevealWeights(ctx, v.opts.Hotkey, v.opts.Netuid, c.UIDs, c.Weights, c.Salt, c.Version)
			v.countWeights("reveal", err)
			if err == nil {
				log.Info("weights revealed", "uids", c.UIDs, "weights", c.Weights)
				if err := v.state.deleteWeightCommit(ctx, c.ID); err != nil {
					return err
				}
				continue
			}
			action = revealRefused(e, *c.Epoch, err)
			if action == revealWait {
				log.Info("weights reveal refused; retrying later", "err", err)
			} else {
				log.Warn("weights reveal refused: the commit expired; dropping it", "err", err)
			}
		} else if action == revealDrop {
			log.Warn("weights commit expired before it could be revealed; dropping it")
		}
		switch action {
		case revealDrop:
			v.countWeights("drop", nil)
			if err := v.state.deleteWeightCommit(ctx, c.ID); err != nil {
				return err
			}
		case revealWait:
			return nil // later commits are not due either
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
	ID    int64
	Block uint64
	// Epoch is the chain's epoch (EpochState.TxEpoch) when the commit was
	// sent; nil for commits recorded before it was kept.
	Epoch         *uint64
	UIDs, Weights []uint16
	Salt          []uint16
	Version       uint64
}

// migrateWeightCommits adds the epoch column to a state written before it.
func migrateWeightCommits(ctx context.Context, db *sql.DB) error {
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_table_info('weight_commits') WHERE name = 'epoch'`).Scan(&n); err != nil {
		return fmt.Errorf("migrate weight_commits: %w", err)
	}
	if n == 0 {
		if _, err := db.ExecContext(ctx, `ALTER TABLE weight_commits ADD COLUMN epoch INTEGER`); err != nil {
			return fmt.Errorf("migrate weight_commits: %w", err)
		}
	}
	return nil
}

func (s *state) setWeightCommitEpoch(ctx context.Context, id int64, epoch uint64) error {
	_, err := s.db.ExecContext(ctx, `UPDATE weight_commits SET epoch = ? WHERE id = ?`, int64(epoch), id)
	return err
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
	var epoch any
	if c.Epoch != nil {
		epoch = int64(*c.Epoch)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO weight_commits (block, epoch, uids, weights, salt, version) VALUES (?, ?, ?, ?, ?, ?)`,
		int64(c.Block), epoch, joinU16(c.UIDs), joinU16(c.Weights), joinU16(c.Salt), int64(c.Version))
	return err
}

func (s *state) weightCommits(ctx context.Context) ([]weightCommit, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, block, epoch, uids, weights, salt, version FROM weight_commits ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []weightCommit
	for rows.Next() {
		var c weightCommit
		var b, v int64
		var ep sql.NullInt64
		var u, w, s string
		if err := rows.Scan(&c.ID, &b, &ep, &u, &w, &s, &v); err != nil {
			return nil, err
		}
		c.Block, c.Version = uint64(b), uint64(v)
		if ep.Valid {
			e := uint64(ep.Int64)
			c.Epoch = &e
		}
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
