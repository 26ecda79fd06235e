package subtensor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/gorilla/websocket"
)

// rpcError is a JSON-RPC error object returned by the node.
type rpcError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *rpcError) Error() string {
	if len(e.Data) > 0 {
		return fmt.Sprintf("rpc error %d: %s: %s", e.Code, e.Message, e.Data)
	}
	return fmt.Sprintf("rpc error %d: %s", e.Code, e.Message)
}

type rpcMessage struct {
	ID     *uint64         `json:"id,omitempty"`
	Method string          `json:"method,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *rpcError       `json:"error,omitempty"`
	Params *struct {
		Subscription json.RawMessage `json:"subscription"`
		Result       json.RawMessage `json:"result"`
	} `json:"params,omitempty"`
}

// wsConn is a JSON-RPC 2.0 connection over one websocket, multiplexing
// concurrent calls and subscriptions (Substrate nodes answer out of order).
type wsConn struct {
	ws      *websocket.Conn
	writeMu sync.Mutex
	nextID  atomic.Uint64

	mu      sync.Mutex
	pending map[uint64]chan rpcMessage
	subs    map[string]chan json.RawMessage
	// early holds notifications that arrive before their subscription id
	// is registered (the node may send them right after the reply).
	early  map[string][]json.RawMessage
	closed error
	done   chan struct{}
}

func dialWS(ctx context.Context, endpoint string) (*wsConn, error) {
	dialer := websocket.Dialer{ReadBufferSize: 1 << 16, WriteBufferSize: 1 << 16}
	ws, _, err := dialer.DialContext(ctx, endpoint, nil)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", endpoint, err)
	}
	// Runtime metadata and metagraphs are several hundred KiB.
	ws.SetReadLimit(64 << 20)
	c := &wsConn{
		ws:      ws,
		pending: map[uint64]chan rpcMessage{},
		subs:    map[string]chan json.RawMessage{},
		early:   map[string][]json.RawMessage{},
		done:    make(chan struct{}),
	}
	go c.readLoop()
	return c, nil
}

func (c *wsConn) readLoop() {
	var err error
	for {
		var msg rpcMessage
		if err = c.ws.ReadJSON(&msg); err != nil {
			break
		}
		c.dispatch(msg)
	}
	c.mu.Lock()
	c.closed = fmt.Errorf("connection closed: %w", err)
	for id, ch := range c.pending {
		close(ch)
		delete(c.pending, id)
	}
	for id, ch := range c.subs {
		close(ch)
		delete(c.subs, id)
	}
	c.mu.Unlock()
	close(c.done)
}

func (c *wsConn) dispatch(msg rpcMessage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if msg.ID != nil {
		if ch, ok := c.pending[*msg.ID]; ok {
			delete(c.pending, *msg.ID)
			ch <- msg
		}
		return
	}
	if msg.Params == nil {
		return
	}
	id := subID(msg.Params.Subscription)
	if ch, ok := c.subs[id]; ok {
		select {
		case ch <- msg.Params.Result:
		default: // a subscriber that stopped reading loses updates, never blocks reads
		}
		return
	}
	// Bounded: notifications for subscriptions already cancelled also land
	// here and must not accumulate.
	if q, ok := c.early[id]; (ok || len(c.early) < 16) && len(q) < 16 {
		c.early[id] = append(q, msg.Params.Result)
	}
}

// subID normalises a subscription id, which nodes send as a string or number.
func subID(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// Call sends method(params...) and unmarshals the result into out (when
// out is non-nil).
func (c *wsConn) Call(ctx context.Context, out any, method string, params ...any) error {
	if params == nil {
		params = []any{}
	}
	id := c.nextID.Add(1)
	ch := make(chan rpcMessage, 1)
	c.mu.Lock()
	if c.closed != nil {
		c.mu.Unlock()
		return fmt.Errorf("%s: %w", method, c.closed)
	}
	c.pending[id] = ch
	c.mu.Unlock()
	req := map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params}
	c.writeMu.Lock()
	err := c.ws.WriteJSON(req)
	c.writeMu.Unlock()
	if err != nil {
		c.forget(id)
		return fmt.Errorf("%s: send: %w", method, err)
	}
	select {
	case <-ctx.Done():
		c.forget(id)
		return fmt.Errorf("%s: %w", method, ctx.Err())
	case msg, ok := <-ch:
		if !ok {
			return fmt.Errorf("%s: connection closed", method)
		}
		if msg.Error != nil {
			return fmt.Errorf("%s: %w", method, msg.Error)
		}
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(msg.Result, out); err != nil {
			return fmt.Errorf("%s: decode result: %w", method, err)
		}
		return nil
	}
}

func (c *wsConn) forget(id uint64) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

// Subscribe calls a subscribing method and returns its notifications; the
// channel closes with the connection. unsubscribe is called with the id.
func (c *wsConn) Subscribe(ctx context.Context, method string, params ...any) (string, <-chan json.RawMessage, error) {
	var raw json.RawMessage
	if err := c.Call(ctx, &raw, method, params...); err != nil {
		return "", nil, err
	}
	id := subID(raw)
	ch := make(chan json.RawMessage, 64)
	c.mu.Lock()
	if c.closed != nil {
		c.mu.Unlock()
		return "", nil, fmt.Errorf("%s: %w", method, c.closed)
	}
	for _, m := range c.early[id] {
		ch <- m
	}
	delete(c.early, id)
	c.subs[id] = ch
	c.mu.Unlock()
	return id, ch, nil
}

// Unsubscribe stops delivering a subscription's notifications locally and
// asks the node to stop sending them.
func (c *wsConn) Unsubscribe(ctx context.Context, method, id string) error {
	c.mu.Lock()
	delete(c.subs, id)
	c.mu.Unlock()
	var ok bool
	return c.Call(ctx, &ok, method, id)
}

func (c *wsConn) isClosed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func (c *wsConn) Close() error {
	c.writeMu.Lock()
	_ = c.ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	c.writeMu.Unlock()
	err := c.ws.Close()
	<-c.done
	if errors.Is(err, websocket.ErrCloseSent) {
		return nil
	}
	return err
}
