package subtensor

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/datarefine/refine/internal/shareddata"
)

// replayNode is a websocket JSON-RPC server on 127.0.0.1 that answers from
// recorded request→response pairs (matched by method and normalised
// params) and, for what a test scripts itself, from handlers. Requests that
// match neither are answered with an error, so a test cannot silently read
// data nobody recorded.
type replayNode struct {
	t        *testing.T
	mu       sync.Mutex
	recorded map[string]json.RawMessage
	handlers map[string]handler
	calls    []string
	conns    []*websocket.Conn
	srv      *httptest.Server
}

// drop closes every open connection, as a node that restarts does.
func (n *replayNode) drop() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, c := range n.conns {
		c.Close()
	}
	n.conns = nil
}

// handler answers one method; it may queue subscription notifications
// with notify, sent after the reply.
type handler func(params []any, notify func(sub string, result any)) (result any, rpcErr *rpcError)

func newReplayNode(t *testing.T) *replayNode {
	n := &replayNode{t: t, recorded: map[string]json.RawMessage{}, handlers: map[string]handler{}}
	up := websocket.Upgrader{}
	n.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		n.mu.Lock()
		n.conns = append(n.conns, ws)
		n.mu.Unlock()
		var wmu sync.Mutex
		write := func(v any) {
			wmu.Lock()
			defer wmu.Unlock()
			_ = ws.WriteJSON(v)
		}
		for {
			var req struct {
				ID     uint64 `json:"id"`
				Method string `json:"method"`
				Params []any  `json:"params"`
			}
			if err := ws.ReadJSON(&req); err != nil {
				return
			}
			// Notifications a handler sends go out after its reply, as a
			// node sends them.
			var queued []any
			notify := func(sub string, result any) {
				queued = append(queued, map[string]any{"jsonrpc": "2.0", "method": "author_extrinsicUpdate",
					"params": map[string]any{"subscription": sub, "result": result}})
			}
			res, rerr := n.answer(req.Method, req.Params, notify)
			msg := map[string]any{"jsonrpc": "2.0", "id": req.ID}
			if rerr != nil {
				msg["error"] = rerr
			} else {
				msg["result"] = res
			}
			write(msg)
			for _, q := range queued {
				write(q)
			}
		}
	}))
	t.Cleanup(n.srv.Close)
	return n
}

func (n *replayNode) url() string { return "ws" + strings.TrimPrefix(n.srv.URL, "http") }

// normParams makes recorded and sent params comparable: hex strings
// lower-cased without 0x (the Python SDK sent both forms), trailing nulls
// dropped, numbers as JSON numbers.
func normParams(params []any) string {
	out := make([]any, len(params))
	for i, p := range params {
		out[i] = normValue(p)
	}
	for len(out) > 0 && out[len(out)-1] == nil {
		out = out[:len(out)-1]
	}
	b, _ := json.Marshal(out)
	return string(b)
}

func normValue(v any) any {
	switch x := v.(type) {
	case string:
		return strings.TrimPrefix(strings.ToLower(x), "0x")
	case []any:
		o := make([]any, len(x))
		for i, e := range x {
			o[i] = normValue(e)
		}
		return o
	}
	return v
}

func (n *replayNode) answer(method string, params []any, notify func(string, any)) (any, *rpcError) {
	n.mu.Lock()
	key := method + " " + normParams(params)
	n.calls = append(n.calls, key)
	rec, ok := n.recorded[key]
	h := n.handlers[method]
	n.mu.Unlock()
	if ok {
		return rec, nil
	}
	if h != nil {
		return h(params, notify)
	}
	n.t.Logf("replay: unrecorded request %s", key)
	return nil, &rpcError{Code: -32601, Message: "not recorded: " + key}
}

// record adds one response.
func (n *replayNode) record(method string, params []any, result any) {
	b, err := json.Marshal(result)
	if err != nil {
		n.t.Fatal(err)
	}
	n.mu.Lock()
	n.recorded[method+" "+normParams(params)] = b
	n.mu.Unlock()
}

func (n *replayNode) handle(method string, h handler) {
	n.mu.Lock()
	n.handlers[method] = h
	n.mu.Unlock()
}

// loadScenario loads one scenario of a recorded session file
// ({scenario: {method: {params-json: {"result": ...}}}}).
func (n *replayNode) loadScenario(file, scenario string) {
	n.t.Helper()
	raw, err := os.ReadFile(shareddata.Path(n.t, "chain", "rpc", file))
	if err != nil {
		n.t.Fatal(err)
	}
	var all map[string]map[string]json.RawMessage
	if err := json.Unmarshal(raw, &all); err != nil {
		n.t.Fatalf("%s: %v", file, err)
	}
	sc, ok := all[scenario]
	if !ok {
		n.t.Fatalf("%s: no scenario %q", file, scenario)
	}
	for method, byParams := range sc {
		var m map[string]struct {
			Result json.RawMessage `json:"result"`
		}
		if json.Unmarshal(byParams, &m) != nil {
			continue // not a params map (e.g. a cycle of responses)
		}
		for p, r := range m {
			var params []any
			if err := json.Unmarshal([]byte(p), &params); err != nil {
				n.t.Fatalf("%s %s params %q: %v", scenario, method, p, err)
			}
			n.mu.Lock()
			n.recorded[method+" "+normParams(params)] = r.Result
			n.mu.Unlock()
		}
	}
}

// metadataHex is the recorded state_getMetadata result of finney spec 343.
func metadataHex(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(shareddata.Path(t, "chain", "metadata", "finney_spec343_metadataV14.hex"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// serveMetadata answers state_getRuntimeVersion, state_getMetadata (V14) and
// state_call Metadata_metadata_at_version(15) with the recorded finney spec
// 343 runtime (any block).
func (n *replayNode) serveMetadata(t *testing.T) {
	meta := metadataHex(t)
	b, err := os.ReadFile(shareddata.Path(t, "chain", "metadata", "finney_spec343_metadataAtVersion15_option.hex"))
	if err != nil {
		t.Fatal(err)
	}
	meta15 := strings.TrimSpace(string(b))
	n.handle("state_getRuntimeVersion", func([]any, func(string, any)) (any, *rpcError) {
		return map[string]any{"specName": "node-subtensor", "specVersion": 343, "transactionVersion": 1}, nil
	})
	n.handle("state_getMetadata", func([]any, func(string, any)) (any, *rpcError) { return meta, nil })
	n.handle("state_call", func(p []any, _ func(string, any)) (any, *rpcError) {
		if len(p) >= 2 && p[0] == "Metadata_metadata_at_version" && p[1] == "0x0f000000" {
			return meta15, nil
		}
		return nil, &rpcError{Code: -32601, Message: "not recorded"}
	})
}

func dialReplay(t *testing.T, n *replayNode, opts Options) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opts.Network = n.url()
	c, err := New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
