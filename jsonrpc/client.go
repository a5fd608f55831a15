package jsonrpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
)

// ErrClosed is returned by calls on a Client whose connection is gone.
var ErrClosed = errors.New("jsonrpc: connection closed")

// Client calls lightningd over its RPC socket. Calls may be made from any
// goroutine and be outstanding together; answers are matched by id. A plugin
// must never wait for an answer on the goroutine that reads its stdin:
// lightningd passes the plugin's own calls through its hooks first.
type Client struct {
	conn   io.ReadWriteCloser
	prefix string
	dial   func() (io.ReadWriteCloser, error) // another connection, for Stream

	mu      sync.Mutex // protects pending, next, err and writes to conn
	pending map[string]chan answer
	next    uint64
	err     error
}

type answer struct {
	result Value
	err    error
}

// Dial connects to lightningd's RPC socket. Request ids are
// "<name>:<method>#<n>", as CLN's own plugins make them.
func Dial(path, name string) (*Client, error) {
	conn, err := net.Dial("unix", path)
	if err != nil {
		return nil, fmt.Errorf("jsonrpc: %w", err)
	}
	c := NewClient(conn, name)
	c.dial = func() (io.ReadWriteCloser, error) { return net.Dial("unix", path) }
	return c, nil
}

// NewClient returns a Client speaking over conn.
func NewClient(conn io.ReadWriteCloser, name string) *Client {
	c := &Client{conn: conn, prefix: name + ":", pending: map[string]chan answer{}}
	go c.read()
	return c
}

// Close closes the connection; outstanding calls return ErrClosed.
func (c *Client) Close() error {
	err := c.conn.Close()
	c.fail(ErrClosed)
	return err
}

// Call sends method with params (any JSON-marshalable value, nil for {})
// and decodes the result into result unless it is nil; a *Value result gets
// the raw JSON. A JSON-RPC error from lightningd is returned as *Error.
func (c *Client) Call(ctx context.Context, method string, params, result any) error {
	if params == nil {
		params = struct{}{}
	}
	p, err := json.Marshal(params)
	if err != nil {
		return fmt.Errorf("jsonrpc: %s params: %w", method, err)
	}
	if string(p) == "null" { // a typed nil; lightningd rejects null params
		p = []byte("{}")
	}
	ch := make(chan answer, 1)
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return c.err
	}
	c.next++
	id := c.prefix + method + "#" + strconv.FormatUint(c.next, 10)
	c.pending[id] = ch
	msg := append(AppendString([]byte(`{"jsonrpc":"2.0","id":`), id), `,"method":`...)
	msg = append(AppendString(msg, method), `,"params":`...)
	msg = append(append(msg, p...), "}\n\n"...)
	_, werr := c.conn.Write(msg)
	c.mu.Unlock()
	if werr != nil {
		c.fail(fmt.Errorf("jsonrpc: writing: %w", werr))
	}

	select {
	case a := <-ch:
		if a.err != nil || result == nil {
			return a.err
		}
		if v, ok := result.(*Value); ok {
			*v = a.result
			return nil
		}
		if err := json.Unmarshal(a.result, result); err != nil {
			return fmt.Errorf("jsonrpc: %s result: %w", method, err)
		}
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return ctx.Err()
	}
}

// read delivers answers until the connection fails.
func (c *Client) read() {
	// lightningd's answers can be large (listsendpays on a busy node).
	rd := NewReader(c.conn, 1<<30)
	for {
		m, err := rd.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = ErrClosed
			}
			c.fail(err)
			return
		}
		// Answers can be large: read the members, without a second pass.
		if m.Truncated {
			continue
		}
		v := Value(m.Data)
		idv, _ := v.Member("id")
		id, err := idv.String()
		if err != nil {
			continue // not an answer of ours (e.g. a notification)
		}
		c.mu.Lock()
		ch := c.pending[id]
		delete(c.pending, id)
		c.mu.Unlock()
		if ch == nil {
			continue
		}
		if ev, ok := v.Member("error"); ok {
			e := &Error{Code: ErrInternal.Code, Message: "jsonrpc: malformed error"}
			json.Unmarshal(ev, e)
			ch <- answer{err: e}
		} else {
			res, _ := v.Member("result")
			ch <- answer{result: append(Value(nil), res...)}
		}
	}
}

// fail ends every outstanding call and all later ones with err.
func (c *Client) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
	}
	for id, ch := range c.pending {
		ch <- answer{err: c.err}
		delete(c.pending, id)
	}
}
