package jsonrpc

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
)

// TestClient: calls outstanding together are answered out of order and
// matched by id; an error object comes back as *Error; a closed
// connection ends every call.
func TestClient(t *testing.T) {
	ours, theirs := net.Pipe()
	c := NewClient(ours, "pay-up-to")
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	type res struct {
		v   string
		err error
	}
	results := make(chan res, 2)
	for _, m := range []string{"getinfo", "listdatastore"} {
		go func() {
			var v struct{ Echo string }
			err := c.Call(ctx, m, map[string]any{"x": "<&>"}, &v)
			results <- res{v.Echo, err}
		}()
	}
	rd := NewReader(theirs, 0)
	var ids []string
	for range 2 {
		m, err := rd.Next()
		assert.NilError(t, err)
		var req struct {
			ID     string
			Method string
			Params map[string]string
		}
		assert.NilError(t, json.Unmarshal(m.Data, &req))
		assert.Equal(t, req.Params["x"], "<&>")
		ids = append(ids, req.ID+" "+req.Method)
	}
	// Answer the second first: one with a result, one with an error.
	for i := len(ids) - 1; i >= 0; i-- {
		id, method, _ := strings.Cut(ids[i], " ")
		var ans string
		if method == "getinfo" {
			ans = `{"jsonrpc":"2.0","id":"` + id + `","result":{"echo":"` + method + `"}}`
		} else {
			ans = `{"jsonrpc":"2.0","id":"` + id + `","error":{"code":1200,"message":"no such key"}}`
		}
		_, err := theirs.Write([]byte(ans))
		assert.NilError(t, err)
	}
	var gotErr *Error
	for range 2 {
		r := <-results
		if r.err != nil {
			assert.Assert(t, errors.As(r.err, &gotErr))
			assert.Equal(t, gotErr.Code, int64(1200))
		} else {
			assert.Equal(t, r.v, "getinfo")
		}
	}
	assert.Assert(t, gotErr != nil)

	go func() { rd.Next() }() // swallow the request
	done := make(chan error, 1)
	go func() { done <- c.Call(ctx, "getinfo", nil, nil) }()
	time.Sleep(10 * time.Millisecond)
	theirs.Close()
	assert.Assert(t, errors.Is(<-done, ErrClosed))
	assert.Assert(t, errors.Is(c.Call(ctx, "getinfo", nil, nil), ErrClosed))
}

// TestClientNilParams: lightningd v23.02 rejects "params":null, which a
// nil map would marshal to.
func TestClientNilParams(t *testing.T) {
	ours, theirs := net.Pipe()
	c := NewClient(ours, "pay-up-to")
	defer c.Close()
	go func() {
		var m map[string]any
		c.Call(context.Background(), "listsendpays", m, nil)
	}()
	msg, err := NewReader(theirs, 0).Next()
	assert.NilError(t, err)
	assert.Equal(t, string(msg.Data), `{"jsonrpc":"2.0","id":"pay-up-to:listsendpays#1","method":"listsendpays","params":{}}`)
}
