package devchain

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/datarefine/refine/chain"
)

// The HTTP API (version 1). Reads are GETs; every state change is a POST of
// a signed Call to /v1/calls, which validates it into the pool and answers
// its TxStatus ("ready") at once, or the pool's refusal; GET
// /v1/calls/{hash}?wait=20s then waits (at most maxWait per request) until
// the call is in a block, as author_submitAndWatchExtrinsic does. Errors
// come back as {"error": {"code": "<chain.AllErrors key>", "message": "...",
// "tx_code": N}} (tx_code: a custom code of the pool's refusal).
//
//	GET  /v1/genesis                                  {"hash"}
//	GET  /v1/block                                    chain.Block
//	GET  /v1/blocks/{number}                          chain.Block
//	GET  /v1/blocks/{number}/events                   [Event]
//	GET  /v1/balances/{coldkey}                       {"coldkey","balance"}
//	GET  /v1/subnets/{netuid}/hyperparameters         chain.Hyperparameters
//	GET  /v1/subnets/{netuid}/metagraph               chain.Metagraph
//	GET  /v1/subnets/{netuid}/commitments             [chain.Commitment]
//	GET  /v1/subnets/{netuid}/commitments/{hotkey}    chain.Commitment
//	GET  /v1/subnets/{netuid}/commitment-history?from=&to=   [chain.Commitment] (≤ MaxHistoryBlocks blocks)
//	GET  /v1/subnets/{netuid}/epoch                   chain.EpochState
//	GET  /v1/subnets/{netuid}/emissions?from_block=&hotkey=   [LedgerEntry]
//	POST /v1/calls                                    Call → TxStatus
//	GET  /v1/calls/{hash}?wait=                       TxStatus (waits up to wait, ≤ maxWait, while "ready")
const maxCallBody = 64 << 10

// maxWait bounds one status request's wait, below clients' timeouts.
const maxWait = 20 * time.Second

// Handler serves the chain's HTTP API.
func Handler(c *Chain) http.Handler {
	mux := http.NewServeMux()
	get := func(pattern string, h func(r *http.Request) (any, error)) {
		mux.HandleFunc("GET "+pattern, func(w http.ResponseWriter, r *http.Request) {
			v, err := h(r)
			respond(w, v, err)
		})
	}
	netuid := func(r *http.Request) (uint16, error) {
		n, err := strconv.ParseUint(r.PathValue("netuid"), 10, 16)
		if err != nil {
			return 0, fmt.Errorf("%w: netuid %q", chain.ErrInvalidArgument, r.PathValue("netuid"))
		}
		return uint16(n), nil
	}
	get("/v1/genesis", func(r *http.Request) (any, error) {
		return map[string]string{"hash": c.Genesis()}, nil
	})
	get("/v1/block", func(r *http.Request) (any, error) { return c.Block(r.Context()) })
	get("/v1/blocks/{number}", func(r *http.Request) (any, error) {
		n, err := strconv.ParseUint(r.PathValue("number"), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: block number", chain.ErrInvalidArgument)
		}
		h, err := c.BlockHash(r.Context(), n)
		return chain.Block{Number: n, Hash: h}, err
	})
	get("/v1/blocks/{number}/events", func(r *http.Request) (any, error) {
		n, err := strconv.ParseUint(r.PathValue("number"), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: block number", chain.ErrInvalidArgument)
		}
		return c.Events(r.Context(), n)
	})
	get("/v1/calls/{hash}", func(r *http.Request) (any, error) {
		hash := r.PathValue("hash")
		var wait time.Duration
		if s := r.URL.Query().Get("wait"); s != "" {
			var err error
			if wait, err = time.ParseDuration(s); err != nil || wait < 0 {
				return nil, fmt.Errorf("%w: wait %q is not a duration", chain.ErrInvalidArgument, s)
			}
		}
		if wait == 0 {
			return c.Status(r.Context(), hash)
		}
		ctx, cancel := context.WithTimeout(r.Context(), min(wait, maxWait))
		defer cancel()
		st, err := c.Wait(ctx, hash)
		switch {
		case st.Final():
			return st, nil // the call's own error is in the status
		case errors.Is(err, context.DeadlineExceeded) && r.Context().Err() == nil:
			return c.Status(r.Context(), hash)
		}
		return nil, err
	})
	get("/v1/balances/{coldkey}", func(r *http.Request) (any, error) {
		b, err := c.Balance(r.Context(), r.PathValue("coldkey"))
		return map[string]any{"coldkey": r.PathValue("coldkey"), "balance": b}, err
	})
	get("/v1/subnets/{netuid}/hyperparameters", func(r *http.Request) (any, error) {
		n, err := netuid(r)
		if err != nil {
			return nil, err
		}
		return c.Hyperparameters(r.Context(), n)
	})
	get("/v1/subnets/{netuid}/metagraph", func(r *http.Request) (any, error) {
		n, err := netuid(r)
		if err != nil {
			return nil, err
		}
		return c.Metagraph(r.Context(), n)
	})
	get("/v1/subnets/{netuid}/commitments", func(r *http.Request) (any, error) {
		n, err := netuid(r)
		if err != nil {
			return nil, err
		}
		return c.Commitments(r.Context(), n)
	})
	get("/v1/subnets/{netuid}/commitments/{hotkey}", func(r *http.Request) (any, error) {
		n, err := netuid(r)
		if err != nil {
			return nil, err
		}
		return c.Commitment(r.Context(), n, r.PathValue("hotkey"))
	})
	get("/v1/subnets/{netuid}/epoch", func(r *http.Request) (any, error) {
		n, err := netuid(r)
		if err != nil {
			return nil, err
		}
		return c.EpochState(r.Context(), n)
	})
	get("/v1/subnets/{netuid}/commitment-history", func(r *http.Request) (any, error) {
		n, err := netuid(r)
		if err != nil {
			return nil, err
		}
		from, ferr := strconv.ParseUint(r.URL.Query().Get("from"), 10, 64)
		to, terr := strconv.ParseUint(r.URL.Query().Get("to"), 10, 64)
		switch {
		case ferr != nil || terr != nil:
			return nil, fmt.Errorf("%w: from and to must be block numbers", chain.ErrInvalidArgument)
		case to >= from && to-from >= MaxHistoryBlocks:
			return nil, fmt.Errorf("%w: at most %d blocks per request", chain.ErrInvalidArgument, MaxHistoryBlocks)
		}
		return c.CommitmentHistory(r.Context(), n, from, to)
	})
	get("/v1/subnets/{netuid}/emissions", func(r *http.Request) (any, error) {
		n, err := netuid(r)
		if err != nil {
			return nil, err
		}
		var from uint64
		if s := r.URL.Query().Get("from_block"); s != "" {
			if from, err = strconv.ParseUint(s, 10, 64); err != nil {
				return nil, fmt.Errorf("%w: from_block", chain.ErrInvalidArgument)
			}
		}
		e, err := c.Emissions(r.Context(), n, from, r.URL.Query().Get("hotkey"))
		if e == nil {
			e = []LedgerEntry{}
		}
		return e, err
	})
	mux.HandleFunc("POST /v1/calls", func(w http.ResponseWriter, r *http.Request) {
		var call Call
		body, err := io.ReadAll(io.LimitReader(r.Body, maxCallBody+1))
		if err == nil && len(body) > maxCallBody {
			err = fmt.Errorf("%w: call body over %d bytes", chain.ErrInvalidArgument, maxCallBody)
		}
		if err == nil {
			if jerr := json.Unmarshal(body, &call); jerr != nil {
				err = fmt.Errorf("%w: call: %v", chain.ErrInvalidArgument, jerr)
			}
		}
		if err != nil {
			respond(w, nil, err)
			return
		}
		st, err := c.Submit(r.Context(), &call)
		respond(w, st, err)
	})
	return mux
}

// errorBody is an error answer. Error.TxCode is the custom code of a
// transaction refused at validation (chain.InvalidTransaction), as
// subtensor's pool reports "Custom error: N".
type errorBody struct {
	Error ErrorInfo `json:"error"`
}

func statusOf(code string) int {
	switch code {
	case "bad_signature", "replay":
		return http.StatusUnauthorized
	case "no_permit", "not_registered", "not_enough_stake":
		return http.StatusForbidden
	case "subnet_not_found", "no_commitment", "unknown_block", "state_pruned", "no_weights_commit", "tx_dropped":
		return http.StatusNotFound
	case "rate_limited", "too_many_registrations":
		return http.StatusTooManyRequests
	case "internal":
		return http.StatusInternalServerError
	default:
		return http.StatusBadRequest
	}
}

func respond(w http.ResponseWriter, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		b := errorBody{Error: *errorInfo(err)}
		w.WriteHeader(statusOf(b.Error.Code))
		_ = json.NewEncoder(w).Encode(b)
		return
	}
	_ = json.NewEncoder(w).Encode(v)
}

// Serve serves Handler(c) on addr until ctx is done.
func Serve(ctx context.Context, addr string, c *Chain) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: Handler(c), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			return fmt.Errorf("shut down devchain server: %w", err)
		}
		return nil
	case err := <-errc:
		return fmt.Errorf("serve devchain on %s: %w", addr, err)
	}
}

// ClientOptions configure a Client.
type ClientOptions struct {
	URL        string       // e.g. http://127.0.0.1:9944
	HTTPClient *http.Client // default: a client with a 30 s timeout (longer than a status request waits)
	Now        func() time.Time
}

// Client talks to a devchain over HTTP. It implements chain.Client and
// chain.Staker and signs every call with the acting key.
type Client struct {
	base string
	hc   *http.Client
	now  func() time.Time

	mu      sync.Mutex
	genesis string
}

var (
	_ chain.Client = (*Client)(nil)
	_ chain.Staker = (*Client)(nil)
)

// NewClient returns a client for the devchain at opts.URL.
func NewClient(opts ClientOptions) *Client {
	c := &Client{base: strings.TrimRight(opts.URL, "/"), hc: opts.HTTPClient, now: opts.Now}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: 30 * time.Second}
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

func (c *Client) do(ctx context.Context, method, path string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("devchain %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("devchain %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("devchain %s %s: read: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var eb errorBody
		if json.Unmarshal(data, &eb) == nil && eb.Error.Code != "" {
			return eb.Error.Err()
		}
		return fmt.Errorf("devchain %s %s: HTTP %d", method, path, resp.StatusCode)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("devchain %s %s: decode: %w", method, path, err)
	}
	return nil
}

// remoteError carries the server's message and matches its sentinel with errors.Is.
type remoteError struct {
	sentinel error
	msg      string
}

func (e *remoteError) Error() string { return "devchain: " + e.msg }
func (e *remoteError) Unwrap() error { return e.sentinel }

// Genesis returns (and caches) the chain's genesis hash.
func (c *Client) Genesis(ctx context.Context) (string, error) {
	c.mu.Lock()
	g := c.genesis
	c.mu.Unlock()
	if g != "" {
		return g, nil
	}
	var out struct{ Hash string }
	if err := c.do(ctx, http.MethodGet, "/v1/genesis", nil, &out); err != nil {
		return "", err
	}
	c.mu.Lock()
	c.genesis = out.Hash
	c.mu.Unlock()
	return out.Hash, nil
}

func (c *Client) call(ctx context.Context, method string, netuid uint16, signer chain.Signer, args any) (CallResult, error) {
	g, err := c.Genesis(ctx)
	if err != nil {
		return CallResult{}, err
	}
	call, err := NewCall(g, method, netuid, signer, args, c.now())
	if err != nil {
		return CallResult{}, err
	}
	body, err := json.Marshal(call)
	if err != nil {
		return CallResult{}, fmt.Errorf("encode call: %w", err)
	}
	var st TxStatus
	if err := c.do(ctx, http.MethodPost, "/v1/calls", body, &st); err != nil {
		return CallResult{}, err
	}
	st, err = c.Wait(ctx, st.Hash)
	return resultOf(st), err
}

// Status returns a submitted call's status.
func (c *Client) Status(ctx context.Context, hash string) (TxStatus, error) {
	var st TxStatus
	err := c.do(ctx, http.MethodGet, "/v1/calls/"+url.PathEscape(hash), nil, &st)
	return st, err
}

// Wait waits until a submitted call is in a block (or dropped) and returns
// its status with the call's error (see Chain.Wait).
func (c *Client) Wait(ctx context.Context, hash string) (TxStatus, error) {
	for {
		var st TxStatus
		q := url.Values{"wait": {maxWait.String()}}
		if err := c.do(ctx, http.MethodGet, "/v1/calls/"+url.PathEscape(hash)+"?"+q.Encode(), nil, &st); err != nil {
			return st, err
		}
		if st.Final() {
			return st, st.Error.Err()
		}
		if err := ctx.Err(); err != nil {
			return st, fmt.Errorf("wait for transaction %s: %w", hash, err)
		}
	}
}

// Events returns a block's events (see Chain.Events).
func (c *Client) Events(ctx context.Context, block uint64) ([]Event, error) {
	var out []Event
	err := c.do(ctx, http.MethodGet, "/v1/blocks/"+strconv.FormatUint(block, 10)+"/events", nil, &out)
	return out, err
}

// Block implements chain.Client.
func (c *Client) Block(ctx context.Context) (chain.Block, error) {
	var b chain.Block
	err := c.do(ctx, http.MethodGet, "/v1/block", nil, &b)
	return b, err
}

// BlockHash implements chain.Client.
func (c *Client) BlockHash(ctx context.Context, number uint64) (string, error) {
	var b chain.Block
	err := c.do(ctx, http.MethodGet, "/v1/blocks/"+strconv.FormatUint(number, 10), nil, &b)
	return b.Hash, err
}

func subnetPath(netuid uint16, rest string) string {
	return "/v1/subnets/" + strconv.FormatUint(uint64(netuid), 10) + rest
}

// Hyperparameters implements chain.Client.
func (c *Client) Hyperparameters(ctx context.Context, netuid uint16) (chain.Hyperparameters, error) {
	var hp chain.Hyperparameters
	err := c.do(ctx, http.MethodGet, subnetPath(netuid, "/hyperparameters"), nil, &hp)
	return hp, err
}

// Metagraph implements chain.Client.
func (c *Client) Metagraph(ctx context.Context, netuid uint16) (*chain.Metagraph, error) {
	var m chain.Metagraph
	if err := c.do(ctx, http.MethodGet, subnetPath(netuid, "/metagraph"), nil, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// Commitment implements chain.Client.
func (c *Client) Commitment(ctx context.Context, netuid uint16, hotkey string) (chain.Commitment, error) {
	var cm chain.Commitment
	err := c.do(ctx, http.MethodGet, subnetPath(netuid, "/commitments/"+url.PathEscape(hotkey)), nil, &cm)
	return cm, err
}

// Commitments implements chain.Client.
func (c *Client) Commitments(ctx context.Context, netuid uint16) ([]chain.Commitment, error) {
	var out []chain.Commitment
	err := c.do(ctx, http.MethodGet, subnetPath(netuid, "/commitments"), nil, &out)
	return out, err
}

// EpochState implements chain.Client.
func (c *Client) EpochState(ctx context.Context, netuid uint16) (chain.EpochState, error) {
	var e chain.EpochState
	err := c.do(ctx, http.MethodGet, subnetPath(netuid, "/epoch"), nil, &e)
	return e, err
}

// CommitmentHistory implements chain.Client, MaxHistoryBlocks blocks per request.
func (c *Client) CommitmentHistory(ctx context.Context, netuid uint16, from, to uint64) ([]chain.Commitment, error) {
	if from > to {
		return nil, fmt.Errorf("commitment history: %w: from block %d is after to block %d", chain.ErrInvalidArgument, from, to)
	}
	out := []chain.Commitment{}
	for lo := from; ; lo += MaxHistoryBlocks {
		hi := to
		if to-lo >= MaxHistoryBlocks {
			hi = lo + MaxHistoryBlocks - 1
		}
		q := url.Values{"from": {strconv.FormatUint(lo, 10)}, "to": {strconv.FormatUint(hi, 10)}}
		var page []chain.Commitment
		if err := c.do(ctx, http.MethodGet, subnetPath(netuid, "/commitment-history?"+q.Encode()), nil, &page); err != nil {
			return nil, err
		}
		out = append(out, page...)
		if hi == to {
			return out, nil
		}
	}
}

// Emissions returns the emission ledger (see Chain.Emissions).
func (c *Client) Emissions(ctx context.Context, netuid uint16, fromBlock uint64, hotkey string) ([]LedgerEntry, error) {
	q := url.Values{"from_block": {strconv.FormatUint(fromBlock, 10)}}
	if hotkey != "" {
		q.Set("hotkey", hotkey)
	}
	var out []LedgerEntry
	err := c.do(ctx, http.MethodGet, subnetPath(netuid, "/emissions?"+q.Encode()), nil, &out)
	return out, err
}

// Balance returns a coldkey's free balance in rao.
func (c *Client) Balance(ctx context.Context, coldkey string) (uint64, error) {
	var out struct{ Balance uint64 }
	err := c.do(ctx, http.MethodGet, "/v1/balances/"+url.PathEscape(coldkey), nil, &out)
	return out.Balance, err
}

// Faucet credits the signing coldkey with amount rao (devchain only).
func (c *Client) Faucet(ctx context.Context, coldkey chain.Signer, amount uint64) error {
	_, err := c.call(ctx, MethodFaucet, 0, coldkey, FaucetArgs{Amount: amount})
	return err
}

// Register implements chain.Client.
func (c *Client) Register(ctx context.Context, coldkey chain.Signer, netuid uint16, hotkey string) (uint16, error) {
	return doRegister(ctx, c, coldkey, netuid, hotkey)
}

// AddStake implements chain.Staker.
func (c *Client) AddStake(ctx context.Context, coldkey chain.Signer, netuid uint16, hotkey string, amount uint64) error {
	return doAddStake(ctx, c, coldkey, netuid, hotkey, amount)
}

// Commit implements chain.Client.
func (c *Client) Commit(ctx context.Context, hotkey chain.Signer, netuid uint16, data []byte) error {
	return doCommit(ctx, c, hotkey, netuid, data)
}

// SetWeights implements chain.Client.
func (c *Client) SetWeights(ctx context.Context, hotkey chain.Signer, netuid uint16, uids, weights []uint16, versionKey uint64) error {
	return doSetWeights(ctx, c, hotkey, netuid, uids, weights, versionKey)
}

// CommitWeights implements chain.Client.
func (c *Client) CommitWeights(ctx context.Context, hotkey chain.Signer, netuid uint16, hash [32]byte) error {
	return doCommitWeights(ctx, c, hotkey, netuid, hash)
}

// RevealWeights implements chain.Client.
func (c *Client) RevealWeights(ctx context.Context, hotkey chain.Signer, netuid uint16, uids, weights, salt []uint16, versionKey uint64) error {
	return doRevealWeights(ctx, c, hotkey, netuid, uids, weights, salt, versionKey)
}
