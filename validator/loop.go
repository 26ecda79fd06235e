package validator

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/submission"
	"github.com/datarefine/refine/taskapi"
	"github.com/datarefine/refine/validator/score"
	"github.com/datarefine/refine/validator/verify"
)

// The validator's loops. Evaluation and weights run apart, so that a slow
// or hostile submission never delays setting or revealing weights:
//
//   - the evaluation loop, every EvalEvery blocks (Round): scan the new
//     blocks' commitments into the state, read the task server's new
//     submissions, evaluate every candidate whose turn has come, fold the
//     round's scores into the EMAs and deliver the reports;
//   - the weights loop, every poll: reveal due commits, set (or commit)
//     weights every WeightsEvery blocks, and release to the public the
//     reports whose weights are now public (revealed, or set directly).
//
// What a candidate is. Every commitment seen on chain and every submission
// (completed lease) the task server lists is evaluated once:
//
//   - a submission whose commitment is on chain (the earliest event of the
//     same hotkey and string at or after the lease was granted) is
//     evaluated with that chain commitment;
//   - a submission whose commitment never reached the chain within
//     GraceBlocks after its completion is rejected (not_committed): a
//     made-up commitment cannot hold a task;
//   - a chain commitment that answers no submission is evaluated as soon as
//     its hotkey holds no live lease of the task it names (while the lease
//     is live the miner may still complete it: look again next round).
//
// Failures on the validator's side (task server, store, chain, WARC host
// unreachable, rate limited, unregistered validator) never become a
// verdict: the candidate is retried with a growing backoff, persisted, for
// as long as it takes.

// CodeNotCommitted rejects a submission whose commitment did not reach the
// chain within GraceBlocks of its completion.
const CodeNotCommitted verify.Code = "not_committed"

// Run evaluates and sets weights on schedule until ctx ends, then returns
// nil; the two loops are joined before it returns. Errors of one round are
// logged and retried at the next.
func (v *Validator) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		v.every(ctx, "evaluation round", v.evalTick)
	}()
	go func() {
		defer wg.Done()
		v.every(ctx, "weights", v.WeightsTick)
	}()
	wg.Wait()
	return nil
}

// every runs fn at once and then every PollInterval until ctx ends.
func (v *Validator) every(ctx context.Context, what string, fn func(context.Context) error) {
	t := time.NewTicker(v.opts.PollInterval)
	defer t.Stop()
	for {
		if err := fn(ctx); err != nil && ctx.Err() == nil {
			v.opts.Log.Error(what, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// evalTick runs a round when one is due.
func (v *Validator) evalTick(ctx context.Context) error {
	head, err := v.opts.Chain.Block(ctx)
	if err != nil {
		return fmt.Errorf("chain head: %w", err)
	}
	last, err := v.state.meta(ctx, "last_round")
	if err != nil {
		return err
	}
	if last != 0 && head.Number < last+v.opts.EvalEvery {
		return nil
	}
	_, err = v.Round(ctx)
	return err
}

// WeightsTick reveals due weight commits, sets weights when due, and
// releases the scores whose weights are public.
func (v *Validator) WeightsTick(ctx context.Context) error {
	var errs []error
	if err := v.reveal(ctx); err != nil {
		errs = append(errs, err)
	}
	head, err := v.opts.Chain.Block(ctx)
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("chain head: %w", err))...)
	}
	lastW, err := v.state.meta(ctx, "last_weights")
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	if head.Number >= lastW+v.opts.WeightsEvery {
		if err := v.setWeightsRound(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if err := v.release(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// setWeightsRound sets weights as weight setting number W+1, W being the
// number started before: the scores applied so far (stamped with rounds ≤
// W) are in it. Rounds are not applied meanwhile, so nothing else is.
func (v *Validator) setWeightsRound(ctx context.Context) error {
	v.applyMu.Lock()
	defer v.applyMu.Unlock()
	w, err := v.state.meta(ctx, "weights_started")
	if err != nil {
		return err
	}
	if err := v.state.setMeta(ctx, "weights_started", w+1); err != nil {
		return err
	}
	v.feeding.Store(w)
	return v.SetWeights(ctx)
}

// release publishes, through the task server, the reports whose scores fed
// weights that are now public.
func (v *Validator) release(ctx context.Context) error {
	due, err := v.state.meta(ctx, "release_due")
	if err != nil {
		return err
	}
	sent, err := v.state.meta(ctx, "release_sent")
	if err != nil {
		return err
	}
	// Rounds are numbered from 0: release_due holds round+1.
	if due == 0 || (due == sent && !v.reportsSince.Load()) {
		return nil
	}
	v.reportsSince.Store(false)
	n, err := v.opts.Tasks.ReleaseScores(ctx, int64(due-1))
	if err != nil {
		v.reportsSince.Store(true)
		return fmt.Errorf("release scores through weights round %d: %w", due-1, err)
	}
	if n > 0 {
		v.opts.Log.Info("scores published", "count", n, "weights_round", due-1)
	}
	return v.state.setMeta(ctx, "release_sent", due)
}

// weightsPublic notes that the weights of setting round w are public.
func (v *Validator) weightsPublic(ctx context.Context, w uint64) {
	due, err := v.state.meta(ctx, "release_due")
	if err == nil && w+1 > due {
		err = v.state.setMeta(ctx, "release_due", w+1)
	}
	if err != nil {
		v.opts.Log.Warn("record public weights", "err", err)
	}
}

// publishingChain is the chain as the validator uses it: it notes which
// weights became public (set directly, or revealed) so that the scores
// that fed them can be published. It wraps the weight calls only.
type publishingChain struct {
	chain.Client
	v *Validator
}

func (c publishingChain) SetWeights(ctx context.Context, hotkey chain.Signer, netuid uint16, uids, weights []uint16, versionKey uint64) error {
	err := c.Client.SetWeights(ctx, hotkey, netuid, uids, weights, versionKey)
	if err == nil {
		c.v.weightsPublic(ctx, c.v.feeding.Load())
	}
	return err
}

func (c publishingChain) CommitWeights(ctx context.Context, hotkey chain.Signer, netuid uint16, hash [32]byte) error {
	err := c.Client.CommitWeights(ctx, hotkey, netuid, hash)
	if err == nil {
		if ferr := c.v.state.addFeed(ctx, hex.EncodeToString(hash[:]), c.v.feeding.Load()); ferr != nil {
			c.v.opts.Log.Warn("record committed weights", "err", ferr)
		}
	}
	return err
}

func (c publishingChain) RevealWeights(ctx context.Context, hotkey chain.Signer, netuid uint16, uids, weights, salt []uint16, versionKey uint64) error {
	err := c.Client.RevealWeights(ctx, hotkey, netuid, uids, weights, salt, versionKey)
	if err != nil {
		return err
	}
	hash, herr := chain.CommitHash(hotkey.SS58(), netuid, uids, weights, salt, versionKey)
	if herr == nil {
		if w, ok, ferr := c.v.state.feed(ctx, hex.EncodeToString(hash[:])); ferr == nil && ok {
			c.v.weightsPublic(ctx, w)
		}
	}
	return nil
}

// candidate is a commitment to evaluate, with the submission it answers.
type candidate struct {
	c     chain.Commitment
	lease int64 // 0: a chain commitment no lease completed
}

// Round runs one evaluation round: it scans the chain's new blocks, reads
// the task server's new submissions, evaluates every candidate whose turn
// has come in (block, hotkey) order, folds the round's scores into the EMAs
// and delivers the reports. It returns the records evaluated.
func (v *Validator) Round(ctx context.Context) ([]Record, error) {
	v.roundMu.Lock()
	defer v.roundMu.Unlock()
	head, err := v.opts.Chain.Block(ctx)
	if err != nil {
		return nil, fmt.Errorf("chain head: %w", err)
	}
	mg, err := v.opts.Chain.Metagraph(ctx, v.opts.Netuid)
	if err != nil {
		return nil, fmt.Errorf("metagraph: %w", err)
	}
	hotkeys := map[uint16]string{}
	uidOf := map[string]uint16{}
	for _, n := range mg.Neurons {
		hotkeys[n.UID] = n.Hotkey
		uidOf[n.Hotkey] = n.UID
	}
	// Inputs that fail to load are logged: what is known is still
	// evaluated, and the reading resumes next round.
	if err := v.scan(ctx, head.Number); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		v.opts.Log.Warn("chain commitments not read; retrying next round", "err", err)
	}
	if err := v.readSubmissions(ctx); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		v.opts.Log.Warn("task server submissions not read; retrying next round", "err", err)
	}
	cands, out, err := v.candidates(ctx, head.Number, uidOf)
	if err != nil {
		return out, err
	}
	// Check in parallel, settle and record in order.
	v.recent.reset()
	logs := make([]*slog.Logger, len(cands))
	for i, cd := range cands {
		logs[i] = v.opts.Log.With("hotkey", cd.c.Hotkey, "uid", uidOf[cd.c.Hotkey], "block", cd.c.Block, "commitment", string(cd.c.Data), "lease", cd.lease)
	}
	checked, stop := v.startChecks(ctx, cands, logs)
	defer stop()
	for i, cd := range cands {
		o := checked(i)
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		r, err := v.evaluate(ctx, cd, uidOf[cd.c.Hotkey], head.Number, o, logs[i])
		if err != nil {
			return out, err
		}
		if r != nil {
			out = append(out, *r)
		}
	}
	if err := v.applyRound(ctx, hotkeys, head.Number); err != nil {
		return out, fmt.Errorf("apply round: %w", err)
	}
	if n, err := v.state.prune(ctx, v.opts.Uniqueness, head.Number); err != nil {
		v.opts.Log.Warn("uniqueness index not pruned", "err", err)
	} else if n > 0 {
		v.opts.Log.Info("uniqueness index pruned", "partitions", n)
	}
	v.metrics.block.Set(float64(head.Number))
	if emas, err := v.state.emas(ctx); err == nil {
		for _, e := range emas {
			v.metrics.ema.WithLabelValues(strconv.Itoa(int(e.UID))).Set(e.EMA)
		}
	}
	if err := v.deliver(ctx); err != nil {
		v.opts.Log.Warn("score reports not delivered; retrying next round", "err", err)
	}
	return out, nil
}

// applyRound folds the round into the EMAs, stamping its scores with the
// weight setting they first feed.
func (v *Validator) applyRound(ctx context.Context, hotkeys map[uint16]string, head uint64) error {
	v.applyMu.Lock()
	defer v.applyMu.Unlock()
	w, err := v.state.meta(ctx, "weights_started")
	if err != nil {
		return err
	}
	return v.state.applyRound(ctx, hotkeys, v.opts.Score.Alpha, head, w)
}

// scan reads the commitments of the blocks since the last scan into the
// state, and the current commitments (which cover a gap when old blocks
// are pruned). It stays ScanLag blocks behind the head, whose block may
// still be replaced by a fork of the best chain (a block's events are final
// once it exists on both chains: extrinsics go into the next block). A
// commitment of a replaced block is still seen through the current
// commitments read here.
func (v *Validator) scan(ctx context.Context, head uint64) error {
	cur, err := v.opts.Chain.Commitments(ctx, v.opts.Netuid)
	if err != nil {
		return fmt.Errorf("commitments: %w", err)
	}
	if err := v.state.addCommits(ctx, cur); err != nil {
		return err
	}
	if head <= v.opts.ScanLag {
		return nil
	}
	head -= v.opts.ScanLag
	last, err := v.state.meta(ctx, "scanned_to")
	if err != nil {
		return err
	}
	started, err := v.state.meta(ctx, "scan_started")
	if err != nil {
		return err
	}
	from := last + 1
	if started == 0 {
		// A new validator reads the history a pruning node still has
		// (from genesis on a young chain).
		from = 0
		if head > v.opts.ScanBack {
			from = head - v.opts.ScanBack
		}
	}
	for from <= head {
		to := min(head, from+v.opts.ScanBatch-1)
		cs, err := v.opts.Chain.CommitmentHistory(ctx, v.opts.Netuid, from, to)
		if errors.Is(err, chain.ErrStatePruned) && to < head {
			// Blocks lost while the validator was away: the submissions
			// of that time are judged only from the current commitments.
			v.opts.Log.Warn("chain blocks pruned before they were scanned", "from", from, "to", to)
			from = to + 1
			if err := v.state.setMeta(ctx, "scan_gap_to", to); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("commitment history [%d, %d]: %w", from, to, err)
		}
		if err := v.state.addCommits(ctx, cs); err != nil {
			return err
		}
		if started == 0 {
			if err := v.state.setMeta(ctx, "scan_start", from); err != nil {
				return err
			}
			if err := v.state.setMeta(ctx, "scan_started", 1); err != nil {
				return err
			}
			started = 1
		}
		if err := v.state.setMeta(ctx, "scanned_to", to); err != nil {
			return err
		}
		from = to + 1
	}
	return nil
}

// readSubmissions reads the task server's submissions since the last read.
// It re-reads a margin of completion sequence numbers each time: on
// PostgreSQL, sequence numbers are taken before commit, so one may appear
// after a greater one was read.
func (v *Validator) readSubmissions(ctx context.Context) error {
	seq, err := v.state.meta(ctx, "completions_seq")
	if err != nil {
		return err
	}
	after := int64(0)
	if seq > v.opts.SubmissionsLookback {
		after = int64(seq - v.opts.SubmissionsLookback)
	}
	for {
		page, err := v.opts.Tasks.Submissions(ctx, after, 500)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		if err := v.state.addCompletions(ctx, page); err != nil {
			return err
		}
		after = page[len(page)-1].Seq
		if uint64(after) > seq {
			seq = uint64(after)
			if err := v.state.setMeta(ctx, "completions_seq", seq); err != nil {
				return err
			}
		}
	}
}

// candidates lists what to evaluate this round, in (block, hotkey) order.
// Submissions that never reached the chain are rejected here (returned as
// records).
func (v *Validator) candidates(ctx context.Context, head uint64, uidOf map[string]uint16) ([]candidate, []Record, error) {
	scanned, err := v.state.meta(ctx, "scanned_to")
	if err != nil {
		return nil, nil, err
	}
	start, err := v.state.meta(ctx, "scan_start")
	if err != nil {
		return nil, nil, err
	}
	gap, err := v.state.meta(ctx, "scan_gap_to")
	if err != nil {
		return nil, nil, err
	}
	var out []candidate
	var recs []Record
	answered := map[string]bool{} // chain commitments (hotkey/block/data) a submission takes
	open, err := v.state.openCompletions(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, sub := range open {
		block, ok, err := v.state.firstCommit(ctx, sub.Hotkey, sub.Data, sub.GrantedBlock)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			c := chain.Commitment{Hotkey: sub.Hotkey, Block: block, Data: []byte(sub.Data)}
			answered[commitKey(c)] = true
			// Evaluated already as a chain commitment: the verdict now
			// answers the submission too.
			if linked, err := v.state.link(ctx, c.Hotkey, c.Block, sub.Data, sub.LeaseID); err != nil {
				return nil, nil, err
			} else if linked {
				continue
			}
			out = append(out, candidate{c: c, lease: sub.LeaseID})
			continue
		}
		// Not on chain (yet). Judge it once the grace has passed and the
		// scan covered the whole window; a validator whose scan began
		// after the lease (or has a gap in it) cannot tell, and abstains.
		if scanned < sub.EndedBlock+v.opts.GraceBlocks {
			continue
		}
		started, err := v.state.meta(ctx, "scan_started")
		if err != nil {
			return nil, nil, err
		}
		if started == 0 || start > sub.GrantedBlock || (gap > 0 && gap >= sub.GrantedBlock) {
			v.opts.Log.Warn("submission not judged: its lease predates this validator's chain scan", "lease", sub.LeaseID, "hotkey", sub.Hotkey,
				"granted_block", sub.GrantedBlock, "scan_start", start)
			if err := v.state.settle(ctx, sub.LeaseID); err != nil {
				return nil, nil, err
			}
			continue
		}
		r, err := v.notCommitted(ctx, sub, uidOf, head)
		if err != nil {
			return nil, nil, err
		}
		recs = append(recs, r)
	}
	chainOnly, err := v.state.unevaluatedCommits(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, c := range chainOnly {
		if answered[commitKey(c)] {
			continue
		}
		if _, ok := uidOf[c.Hotkey]; !ok {
			continue // deregistered: nobody to score
		}
		if lease, ok, err := v.state.completionOf(ctx, c.Hotkey, string(c.Data), c.Block); err != nil {
			return nil, nil, err
		} else if ok {
			out = append(out, candidate{c: c, lease: lease})
			continue
		}
		wait, err := v.leaseLive(ctx, c)
		if err != nil {
			// The task server is down: ask again next round.
			v.opts.Log.Debug("lease of a chain commitment not read; next round", "hotkey", c.Hotkey, "block", c.Block, "err", err)
			continue
		}
		if !wait {
			out = append(out, candidate{c: c})
		}
	}
	// Seed block and retry backoff.
	ready := out[:0]
	for _, cd := range out {
		if cd.c.Block+v.opts.SeedDelay > head {
			continue
		}
		if ok, err := v.state.due(ctx, cd.c, head); err != nil {
			return nil, nil, err
		} else if ok {
			ready = append(ready, cd)
		}
	}
	slices.SortFunc(ready, func(a, b candidate) int {
		if a.c.Block != b.c.Block {
			if a.c.Block < b.c.Block {
				return -1
			}
			return 1
		}
		if a.c.Hotkey != b.c.Hotkey {
			if a.c.Hotkey < b.c.Hotkey {
				return -1
			}
			return 1
		}
		return int(a.lease - b.lease)
	})
	return ready, recs, nil
}

func commitKey(c chain.Commitment) string {
	return fmt.Sprintf("%s/%d/%s", c.Hotkey, c.Block, c.Data)
}

// leaseLive reports whether the commitment's hotkey holds a live lease of
// the task the commitment names: then the miner may still complete it, and
// a verdict now would race the completion.
func (v *Validator) leaseLive(ctx context.Context, c chain.Commitment) (bool, error) {
	cm, err := submission.Parse(string(c.Data))
	if err != nil {
		return false, nil // malformed: judge it now
	}
	tr, err := v.opts.Tasks.Task(ctx, cm.TaskID)
	if errors.Is(err, taskapi.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, l := range tr.Leases {
		if l.Hotkey == c.Hotkey && l.State == taskapi.LeaseLive {
			return true, nil
		}
	}
	return false, nil
}

// notCommitted rejects a submission whose commitment never reached the
// chain: the miner's own fault, so it scores 0 and the task returns to the
// pool.
func (v *Validator) notCommitted(ctx context.Context, sub completion, uidOf map[string]uint16, head uint64) (Record, error) {
	rec := Record{Hotkey: sub.Hotkey, UID: uidOf[sub.Hotkey], Block: sub.EndedBlock, Commitment: sub.Data, TaskID: sub.TaskID,
		EvaluatedBlock: head, LeaseID: sub.LeaseID}
	rec.Verdict = verify.Verdict{Code: CodeNotCommitted,
		Reason: fmt.Sprintf("lease %d was completed in block %d with a commitment that did not reach the chain by block %d", sub.LeaseID, sub.EndedBlock, sub.EndedBlock+v.opts.GraceBlocks)}
	if _, ok := uidOf[sub.Hotkey]; !ok {
		rec.UID = 0 // deregistered: the record only answers the task server
	}
	if err := v.state.record(ctx, rec, nil, "", v.opts.Uniqueness); err != nil {
		return rec, err
	}
	v.metrics.submissions.WithLabelValues(string(CodeNotCommitted)).Inc()
	v.opts.Log.Warn("submission rejected", "hotkey", sub.Hotkey, "lease", sub.LeaseID, "code", CodeNotCommitted, "reason", rec.Verdict.Reason)
	return rec, nil
}

// startChecks runs the order-independent checks of the candidates, in
// their order, on EvalWorkers goroutines, at most 2 × EvalWorkers ahead of
// the candidate being settled (which bounds the memory held by checked,
// unsettled submissions). checked(i) waits for candidate i's outcome; call
// it for 0, 1, … in turn. stop cancels what is left and waits for the
// workers.
func (v *Validator) startChecks(ctx context.Context, cands []candidate, logs []*slog.Logger) (checked func(int) outcome, stop func()) {
	cctx, cancel := context.WithCancel(ctx)
	workers := max(1, min(v.opts.EvalWorkers, len(cands)))
	results := make([]chan outcome, len(cands))
	for i := range results {
		results[i] = make(chan outcome, 1)
	}
	slots := make(chan struct{}, 2*workers)
	next := make(chan int)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the feeder: candidates in order, within the window
		defer wg.Done()
		defer close(next)
		for i := range cands {
			select {
			case slots <- struct{}{}:
			case <-cctx.Done():
				return
			}
			select {
			case next <- i:
			case <-cctx.Done():
				return
			}
		}
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i] <- v.checkOne(cctx, cands[i].c, logs[i])
			}
		}()
	}
	checked = func(i int) outcome {
		select {
		case o := <-results[i]:
			<-slots
			return o
		case <-ctx.Done():
			return outcome{checked: verify.CheckFailed(cands[i].c, 0, ctx.Err())}
		}
	}
	return checked, func() { cancel(); wg.Wait() }
}

// evaluate settles one checked candidate and records its verdict. It
// returns nil, nil when the evaluation failed on the validator's side: it
// is retried later (persisted, with a backoff), never scored.
func (v *Validator) evaluate(ctx context.Context, cd candidate, uid uint16, head uint64, o outcome, log *slog.Logger) (*Record, error) {
	c := cd.c
	data := string(c.Data)
	rec := Record{Hotkey: c.Hotkey, UID: uid, Block: c.Block, Commitment: data, EvaluatedBlock: head, LeaseID: cd.lease}
	o = v.settleOne(ctx, o, log)
	verdict, bands := o.verdict, o.bands
	rec.TaskID = o.taskID
	if verdict.Code == codeNotReady {
		return nil, nil // its seed block is not on chain yet: look again next round
	}
	if verdict.Code == verify.CodeValidatorError {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		n, err := v.state.retry(ctx, c, head, v.opts.EvalEvery, verdict.Reason)
		if err != nil {
			return nil, err
		}
		v.metrics.retries.Inc()
		log.Warn("evaluation failed on the validator's side; retrying later", "reason", verdict.Reason, "attempt", n)
		return nil, nil
	}
	rec.Verdict = verdict
	rec.Score = v.opts.Score.Submission(score.Input{
		Accepted: verdict.Accepted, VerifiedTokens: verdict.VerifiedTokens,
		Quality: verdict.Quality, ElapsedBlocks: verdict.ElapsedBlocks,
	})
	if err := v.state.record(ctx, rec, bands, o.crawl, v.opts.Uniqueness); err != nil {
		return nil, err
	}
	if verdict.Accepted {
		v.recent.add(v.opts.Uniqueness, o.crawl, rec.Block, bands)
	}
	code := "accepted"
	if !verdict.Accepted {
		code = string(verdict.Code)
		log.Warn("submission rejected", "code", verdict.Code, "reason", verdict.Reason)
	} else {
		log.Info("submission accepted", "score", rec.Score, "documents", verdict.Documents,
			"verified_tokens", verdict.VerifiedTokens, "quality", verdict.Quality, "elapsed_blocks", verdict.ElapsedBlocks,
			"provenance", fmt.Sprintf("%d/%d", verdict.Provenance.Matched, verdict.Provenance.Checked),
			"coverage", fmt.Sprintf("%d/%d", verdict.Coverage.Found, verdict.Coverage.ReferenceKept))
	}
	v.metrics.submissions.WithLabelValues(code).Inc()
	v.metrics.evalSeconds.Observe(o.elapsed.Seconds())
	return &rec, nil
}

// deliver sends the queued reports; those the task server cannot take now
// stay queued. A report the server says answers no submission is dropped.
func (v *Validator) deliver(ctx context.Context) error {
	queued, err := v.state.outbox(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, q := range queued {
		_, err := v.opts.Tasks.Report(ctx, q.body)
		switch {
		case err == nil:
			v.reportsSince.Store(true)
		case errors.Is(err, taskapi.ErrNotSubmission):
			v.opts.Log.Warn("report dropped: the task server knows no such submission", "lease", q.body.LeaseID, "err", err)
		default:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			errs = append(errs, fmt.Errorf("report on lease %d: %w", q.body.LeaseID, err))
			continue
		}
		if err := v.state.delivered(ctx, q.submission); err != nil {
			return err
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d of %d reports: %w", len(errs), len(queued), errs[0])
	}
	return nil
}

// Retries returns the evaluations waiting to be retried.
func (v *Validator) Retries(ctx context.Context) ([]Retry, error) { return v.state.retries(ctx) }
