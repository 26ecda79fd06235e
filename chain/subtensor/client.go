// Package subtensor implements chain.Client over Substrate JSON-RPC against
// a subtensor node (finney, testnet or a local node): reads through runtime
// API calls and storage, writes as signed extrinsics with subtensor's
// transaction extensions. See docs/chain.md for the RPC methods and storage
// items it uses.
package subtensor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/datarefine/refine/chain"
)

// Network endpoints, as btcli names them.
var Networks = map[string]string{
	"finney": "wss://entrypoint-finney.opentensor.ai:443",
	"test":   "wss://test.finney.opentensor.ai:443",
	"local":  "ws://127.0.0.1:9944",
}

// Endpoint resolves a btcli-style network name ("finney", "test", "local")
// or a ws:// / wss:// URL to a websocket URL.
func Endpoint(network string) (string, error) {
	n := strings.TrimSpace(network)
	if n == "" {
		n = "finney"
	}
	if e, ok := Networks[strings.ToLower(n)]; ok {
		return e, nil
	}
	if strings.HasPrefix(n, "ws://") || strings.HasPrefix(n, "wss://") {
		return n, nil
	}
	return "", fmt.Errorf("network %q: %w: want finney, test, local or a ws:// or wss:// url", network, chain.ErrInvalidArgument)
}

// Options configure a Client.
type Options struct {
	// Network is "finney" (default), "test", "local" or a ws:// URL.
	Network string
	// Period is the mortality of submitted extrinsics in blocks (a power of
	// two, 4..65536); 0 means 64.
	Period uint64
	// WaitFinalized makes writes wait for finalization instead of inclusion.
	WaitFinalized bool
	// SubmitTimeout bounds how long a write waits for its block; 0 means
	// two minutes.
	SubmitTimeout time.Duration
	// Tip is paid to the block author on every extrinsic, in rao.
	Tip uint64
}

// Client is a chain.Client for a subtensor node. It is safe for concurrent use.
type Client struct {
	endpoint string
	opts     Options

	connMu sync.Mutex
	ws     *wsConn // redialled when the node drops the connection

	mu      sync.Mutex
	genesis string
	meta    map[uint32]*runtimeMeta // by spec version
	// submitMu serialises writes so that nonces taken from the node are not
	// reused by two concurrent extrinsics of the same account.
	submitMu sync.Mutex
}

var (
	_ chain.Client = (*Client)(nil)
	_ chain.Staker = (*Client)(nil)
)

// New connects to the node that opts.Network names.
func New(ctx context.Context, opts Options) (*Client, error) {
	endpoint, err := Endpoint(opts.Network)
	if err != nil {
		return nil, err
	}
	if opts.Period == 0 {
		opts.Period = 64
	}
	if opts.Period < 4 || opts.Period > 65536 || opts.Period&(opts.Period-1) != 0 {
		return nil, fmt.Errorf("period %d: %w: want a power of two in 4..65536", opts.Period, chain.ErrInvalidArgument)
	}
	if opts.SubmitTimeout == 0 {
		opts.SubmitTimeout = 2 * time.Minute
	}
	ws, err := dialWS(ctx, endpoint)
	if err != nil {
		return nil, fmt.Errorf("subtensor: %w", err)
	}
	return &Client{endpoint: endpoint, ws: ws, opts: opts, meta: map[uint32]*runtimeMeta{}}, nil
}

// conn returns the live connection, dialling again if the node closed it:
// validators and miners keep one client for days, and public nodes drop
// idle or overloaded connections.
func (c *Client) conn(ctx context.Context) (*wsConn, error) {
	c.connMu.Lock()
	defer c.connMu.Unlock()
	if c.ws != nil && !c.ws.isClosed() {
		return c.ws, nil
	}
	ws, err := dialWS(ctx, c.endpoint)
	if err != nil {
		return nil, fmt.Errorf("subtensor: reconnect: %w", err)
	}
	c.ws = ws
	return ws, nil
}

// call runs one JSON-RPC method on the live connection.
func (c *Client) call(ctx context.Context, out any, method string, params ...any) error {
	ws, err := c.conn(ctx)
	if err != nil {
		return err
	}
	return ws.Call(ctx, out, method, params...)
}

// Dial connects to endpoint (a network name or URL) with default options.
func Dial(ctx context.Context, endpoint string) (*Client, error) {
	return New(ctx, Options{Network: endpoint})
}

// Close closes the connection.
func (c *Client) Close() error {
	c.connMu.Lock()
	defer c.connMu.Unlock()
	if c.ws == nil {
		return nil
	}
	err := c.ws.Close()
	c.ws = nil
	return err
}

// runtimeVersion is the part of state_getRuntimeVersion the client uses.
type runtimeVersion struct {
	SpecName           string `json:"specName"`
	SpecVersion        uint32 `json:"specVersion"`
	TransactionVersion uint32 `json:"transactionVersion"`
}

func (c *Client) runtimeVersion(ctx context.Context, blockHash string) (runtimeVersion, error) {
	var rv runtimeVersion
	var err error
	if blockHash == "" {
		err = c.call(ctx, &rv, "state_getRuntimeVersion")
	} else {
		err = c.call(ctx, &rv, "state_getRuntimeVersion", blockHash)
	}
	if err != nil {
		return rv, fmt.Errorf("runtime version: %w", stateError(err))
	}
	return rv, nil
}

// metadata returns the runtime metadata of the runtime at blockHash (the
// best block when empty), cached by spec version.
func (c *Client) metadata(ctx context.Context, blockHash string) (*runtimeMeta, runtimeVersion, error) {
	rv, err := c.runtimeVersion(ctx, blockHash)
	if err != nil {
		return nil, rv, err
	}
	c.mu.Lock()
	m := c.meta[rv.SpecVersion]
	c.mu.Unlock()
	if m != nil {
		return m, rv, nil
	}
	m, err = c.fetchMetadata(ctx, blockHash)
	if err != nil {
		return nil, rv, fmt.Errorf("metadata of spec %d: %w", rv.SpecVersion, err)
	}
	c.mu.Lock()
	c.meta[rv.SpecVersion] = m
	c.mu.Unlock()
	return m, rv, nil
}

// fetchMetadata reads V15 metadata through the Metadata_metadata_at_version
// runtime API, as the Python SDK does, and falls back to state_getMetadata
// (V14) when the runtime lacks the API or V15.
func (c *Client) fetchMetadata(ctx context.Context, blockHash string) (*runtimeMeta, error) {
	params := []any{"Metadata_metadata_at_version", "0x0f000000"} // version 15 as u32
	if blockHash != "" {
		params = append(params, blockHash)
	}
	var res string
	err := c.call(ctx, &res, "state_call", params...)
	var re *rpcError
	switch {
	case errors.As(err, &re):
		// The node answered: no such runtime API. Older runtimes.
	case err != nil:
		return nil, stateError(err)
	default:
		b, err := decodeHex(res)
		if err != nil {
			return nil, err
		}
		raw, err := metadataAtVersionResult(b)
		if err != nil {
			return nil, err
		}
		if raw != nil {
			return parseMetadataV15(raw)
		}
	}
	var hexMeta string
	if blockHash == "" {
		err = c.call(ctx, &hexMeta, "state_getMetadata")
	} else {
		err = c.call(ctx, &hexMeta, "state_getMetadata", blockHash)
	}
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", stateError(err))
	}
	return parseMetadata(hexMeta)
}

func (c *Client) genesisHash(ctx context.Context) (string, error) {
	c.mu.Lock()
	g := c.genesis
	c.mu.Unlock()
	if g != "" {
		return g, nil
	}
	var h string
	if err := c.call(ctx, &h, "chain_getBlockHash", 0); err != nil {
		return "", fmt.Errorf("genesis hash: %w", err)
	}
	c.mu.Lock()
	c.genesis = h
	c.mu.Unlock()
	return h, nil
}
