package devchain

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/datarefine/refine/chain"
)

// Transaction statuses, as Substrate's transaction pool reports them to a
// submitter that watches its extrinsic (author_submitAndWatchExtrinsic's
// "ready", "inBlock", "invalid", "dropped").
const (
	// TxReady: validated into the pool; waiting for the next block.
	TxReady = "ready"
	// TxInBlock: included in Block. It dispatched, or it failed with
	// Error (its System.ExtrinsicFailed event is in the block).
	TxInBlock = "in_block"
	// TxInvalid: dropped, not included: no longer valid when a block was
	// built (a call before it in the block changed the state, or its
	// timestamp aged out of the window).
	TxInvalid = "invalid"
	// TxDropped: dropped, not included: the chain shut down.
	TxDropped = "dropped"
)

// TxStatus is where a submitted call stands.
type TxStatus struct {
	Hash      string `json:"hash"`
	Status    string `json:"status"`
	Block     uint64 `json:"block,omitempty"`
	BlockHash string `json:"block_hash,omitempty"`
	// Index is the call's position among the block's extrinsics.
	Index int     `json:"index"`
	UID   *uint16 `json:"uid,omitempty"` // register: the uid it got
	// Error is the dispatch error of a call that failed in its block, or
	// why an invalid or dropped call was not included.
	Error *ErrorInfo `json:"error,omitempty"`
}

// Final reports whether the status will not change any more.
func (s TxStatus) Final() bool { return s.Status != TxReady }

// ErrorInfo is an error as the HTTP API carries it: a chain.AllErrors code,
// the message and, for a transaction the pool refused, subtensor's custom
// code.
type ErrorInfo struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	TxCode  *uint8 `json:"tx_code,omitempty"`
}

func errorInfo(err error) *ErrorInfo {
	if err == nil {
		return nil
	}
	e := &ErrorInfo{Code: chain.ErrorCode(err), Message: err.Error()}
	if code, ok := chain.TxCode(err); ok {
		e.TxCode = &code
	}
	return e
}

// Err turns the information back into an error that matches its sentinel
// (or its custom code) with errors.Is and errors.As.
func (e *ErrorInfo) Err() error {
	if e == nil {
		return nil
	}
	if e.TxCode != nil {
		return &remoteError{sentinel: chain.NewInvalidTransaction(*e.TxCode, ""), msg: e.Message}
	}
	if sentinel, ok := chain.AllErrors[e.Code]; ok {
		return &remoteError{sentinel: sentinel, msg: e.Message}
	}
	return errors.New("devchain: " + e.Message)
}

// Pool limits: a Substrate pool holds 8192 ready transactions by default;
// settled ones are remembered a while for submitters that poll.
const (
	maxPool     = 8192
	keepSettled = 10 * time.Minute
)

// pool is the chain's transaction pool: calls validated against the head's
// state, waiting for the next block. It is guarded by Chain.mu.
type pool struct {
	ready  []*ptx          // in submission order
	txs    map[string]*ptx // ready and recently settled, by hash
	nonces map[string]bool // signer and nonce of the ready calls
	// holds counts HoldBlocks callers; release is closed when one ends.
	holds   int
	release chan struct{}
	closed  bool
}

// ptx is one submitted call.
type ptx struct {
	call    *Call
	status  TxStatus
	err     error // the in-process error of a final status (nil on success)
	done    chan struct{}
	settled time.Time
}

// outcome is what a block did with a pool call.
type outcome struct {
	p      *ptx
	status TxStatus
	err    error
}

func newPool() pool {
	return pool{txs: map[string]*ptx{}, nonces: map[string]bool{}, release: make(chan struct{})}
}

func nonceKey(call *Call) string { return call.Signer + "\x00" + call.Nonce }

func (p *pool) add(call *Call, hash string) *ptx {
	t := &ptx{call: call, status: TxStatus{Hash: hash, Status: TxReady}, done: make(chan struct{})}
	p.ready = append(p.ready, t)
	p.txs[hash] = t
	p.nonces[nonceKey(call)] = true
	return t
}

// settle records a block's outcomes (every ready call has one) and forgets
// calls settled long ago.
func (p *pool) settle(outs []outcome, now time.Time) {
	for _, o := range outs {
		o.p.status, o.p.err, o.p.settled = o.status, o.err, now
		delete(p.nonces, nonceKey(o.p.call))
		close(o.p.done)
	}
	p.ready = p.ready[len(outs):]
	for h, t := range p.txs {
		if t.status.Final() && now.Sub(t.settled) > keepSettled {
			delete(p.txs, h)
		}
	}
}

// closeAll drops every ready call: the chain is shutting down.
func (p *pool) closeAll(now time.Time) {
	p.closed = true
	var outs []outcome
	for _, t := range p.ready {
		err := fmt.Errorf("%s by %s: %w: the chain shut down", t.call.Method, t.call.Signer, chain.ErrTxDropped)
		st := t.status
		st.Status, st.Error = TxDropped, errorInfo(err)
		outs = append(outs, outcome{p: t, status: st, err: err})
	}
	p.settle(outs, now)
	close(p.release)
	p.release = make(chan struct{})
}

// Submit validates a signed call into the pool, as a Substrate node
// validates an extrinsic for its transaction pool (author_submitExtrinsic),
// and returns its status (TxReady) at once; the call runs when the next
// block is built (Wait). It is validated as the next block would validate
// it: a bad signature, a timestamp outside Options.MaxClockSkew, a nonce
// already used or waiting in the pool, arguments that do not decode, and
// what subtensor's transaction extension refuses (*chain.InvalidTransaction
// with its custom code) are refused here and leave no trace: the nonce is
// not spent. Everything else the call checks (subtensor's dispatch) happens
// in its block.
func (c *Chain) Submit(ctx context.Context, call *Call) (TxStatus, error) {
	if err := c.authenticate(call); err != nil {
		return TxStatus{}, fmt.Errorf("%s by %s: %w", call.Method, call.Signer, err)
	}
	hash := call.Hash(c.genesis)
	c.mu.Lock()
	defer c.mu.Unlock()
	known := c.pool.txs[hash]
	switch {
	case c.pool.closed:
		return TxStatus{}, fmt.Errorf("%s by %s: %w: the chain is shutting down", call.Method, call.Signer, chain.ErrTxDropped)
	case known != nil && (known.status.Status == TxInvalid || known.status.Status == TxDropped):
		// A Substrate pool bans a transaction it dropped as invalid for a
		// while (1012 "Transaction is temporarily banned").
		return TxStatus{}, fmt.Errorf("%s by %s: %w: temporarily banned: it was dropped from the pool", call.Method, call.Signer, chain.ErrReplay)
	case known != nil || c.pool.nonces[nonceKey(call)]:
		return TxStatus{}, fmt.Errorf("%s by %s: %w: nonce %s already in the pool or a block", call.Method, call.Signer, chain.ErrReplay, call.Nonce)
	case len(c.pool.ready) >= maxPool:
		return TxStatus{}, fmt.Errorf("%s by %s: %w: the transaction pool is full (%d calls)", call.Method, call.Signer, chain.ErrRateLimited, maxPool)
	}
	var seen int
	err := c.db.QueryRowContext(ctx, `SELECT 1 FROM nonces WHERE signer = ? AND nonce = ?`, call.Signer, call.Nonce).Scan(&seen)
	switch {
	case err == nil:
		return TxStatus{}, fmt.Errorf("%s by %s: %w: nonce %s already used", call.Method, call.Signer, chain.ErrReplay, call.Nonce)
	case !errors.Is(err, sql.ErrNoRows):
		return TxStatus{}, fmt.Errorf("%s by %s: read nonces: %w", call.Method, call.Signer, err)
	}
	e := &env{c: c, st: c.st, block: c.head.Number + 1}
	if err := e.validate(call); err != nil {
		return TxStatus{}, fmt.Errorf("%s by %s on subnet %d: %w", call.Method, call.Signer, call.Netuid, err)
	}
	return c.pool.add(call, hash).status, nil
}

// Status returns a call's status (chain.ErrTxDropped if the chain does
// not know it: never submitted, refused, or settled long ago and not in a
// block).
func (c *Chain) Status(ctx context.Context, hash string) (TxStatus, error) {
	c.mu.Lock()
	t := c.pool.txs[hash]
	var st TxStatus
	if t != nil {
		st = t.status
	}
	c.mu.Unlock()
	if t != nil {
		return st, nil
	}
	return c.receipt(ctx, hash)
}

// Wait waits until a submitted call is in a block (or dropped) and returns
// its status, with the call's error: its dispatch error when it failed in
// its block, chain.ErrTxDropped when it was not included.
//
// With a block time, blocks come from the timer. Without one (the manual
// mode of tests) nobody else may ever produce a block, so a waiting
// submitter builds the next block itself, with everything in the pool, as
// Substrate's instant seal does; HoldBlocks stops that while a test gathers
// several calls for one block.
func (c *Chain) Wait(ctx context.Context, hash string) (TxStatus, error) {
	for {
		c.mu.Lock()
		t := c.pool.txs[hash]
		if t == nil {
			c.mu.Unlock()
			st, err := c.receipt(ctx, hash)
			if err != nil {
				return st, err
			}
			return st, st.Error.Err()
		}
		if t.status.Final() {
			st, err := t.status, t.err
			c.mu.Unlock()
			return st, err
		}
		if c.opts.BlockTime == 0 && c.pool.holds == 0 && !c.pool.closed {
			err := c.nextBlock(ctx)
			c.mu.Unlock()
			if err != nil {
				return t.status, err
			}
			continue
		}
		done, release := t.done, c.pool.release
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return TxStatus{Hash: hash, Status: TxReady}, fmt.Errorf("wait for %s by %s: %w", t.call.Method, t.call.Signer, ctx.Err())
		case <-done:
		case <-release:
		}
	}
}

// submitAndWait submits call and waits for its block, as a client that
// waits for inclusion does (the SDK's wait_for_inclusion=True).
func (c *Chain) submitAndWait(ctx context.Context, call *Call) (TxStatus, error) {
	st, err := c.Submit(ctx, call)
	if err != nil {
		return st, err
	}
	return c.Wait(ctx, st.Hash)
}

// HoldBlocks stops waiting submitters from building blocks in manual mode
// (no block time) until release is called, so that a test can put several
// calls in the pool and include them in one block with AdvanceBlocks.
func (c *Chain) HoldBlocks() (release func()) {
	c.mu.Lock()
	c.pool.holds++
	c.mu.Unlock()
	released := false
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if released {
			return
		}
		released = true
		c.pool.holds--
		close(c.pool.release)
		c.pool.release = make(chan struct{})
	}
}

// Pending returns the number of calls waiting in the pool.
func (c *Chain) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pool.ready)
}

// receipt reads an included call's status from its block (for a call the
// pool no longer remembers, e.g. after a restart).
func (c *Chain) receipt(ctx context.Context, hash string) (TxStatus, error) {
	st := TxStatus{Hash: hash, Status: TxInBlock}
	err := c.db.QueryRowContext(ctx, `SELECT x.block, x.idx, b.hash FROM extrinsics x JOIN blocks b ON b.number = x.block
		WHERE x.hash = ?`, hash).Scan(&st.Block, &st.Index, &st.BlockHash)
	if errors.Is(err, sql.ErrNoRows) {
		return TxStatus{}, fmt.Errorf("transaction %s: %w: the chain does not know it", hash, chain.ErrTxDropped)
	}
	if err != nil {
		return TxStatus{}, fmt.Errorf("transaction %s: %w", hash, err)
	}
	evs, err := c.Events(ctx, st.Block)
	if err != nil {
		return TxStatus{}, err
	}
	for _, ev := range evs {
		if ev.Extrinsic == nil || *ev.Extrinsic != st.Index {
			continue
		}
		switch {
		case ev.UID != nil:
			st.UID = ev.UID
		case ev.Error != nil:
			st.Error = ev.Error
		}
	}
	return st, nil
}

// Hash identifies a call: blake2b-256 of what its signer signed and the
// signature (a call's nonce makes it unique).
func (c *Call) Hash(genesis string) string {
	return hashHex(append(c.Message(genesis), []byte("\n"+c.Signature)...))
}

// failureData is the data an ExtrinsicFailed event stores.
func failureData(err error) []byte {
	b, _ := json.Marshal(errorInfo(err))
	return b
}

// InOneBlock runs calls (chain.Client writes on this chain, in-process or
// over HTTP, each with the context it is given) so that they enter the
// pool in order, then builds one block that includes them all, and returns
// their errors. It is for tests of a chain without a block time.
func (c *Chain) InOneBlock(ctx context.Context, calls ...func(ctx context.Context) error) []error {
	release := c.HoldBlocks()
	defer release()
	errs := make([]error, len(calls))
	dones := make([]chan struct{}, len(calls))
	for i, call := range calls {
		n := c.Pending()
		done := make(chan struct{})
		dones[i] = done
		go func() {
			defer close(done)
			errs[i] = call(ctx)
		}()
		// On to the next call once this one is in the pool (or refused).
	wait:
		for c.Pending() == n {
			select {
			case <-done:
				break wait
			case <-time.After(time.Millisecond):
			}
		}
	}
	if err := c.AdvanceBlocks(ctx, 1); err != nil {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	for _, d := range dones {
		<-d
	}
	return errs
}

// ExtrinsicErrors returns the dispatch errors of a block's failed calls
// (its System.ExtrinsicFailed events), in block order.
func ExtrinsicErrors(events []Event) []error {
	var out []error
	for _, ev := range events {
		if ev.Pallet == "System" && ev.Name == "ExtrinsicFailed" {
			out = append(out, ev.Error.Err())
		}
	}
	return out
}
