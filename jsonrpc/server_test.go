package jsonrpc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

type guarded struct{}

func (guarded) ServeRPC(p Value) (any, error) {
	if string(p) == `"panic"` {
		panic("boom")
	}
	return Value(`"ok"`), nil
}

func (guarded) Fallback(p Value, cause error) any {
	return map[string]string{"fallback": cause.Error()}
}

func testServer(w *bytes.Buffer, max int) *Server {
	s := NewServer(w, max)
	s.Handle("echo", HandlerFunc(func(p Value) (any, error) { return p, nil }))
	s.Handle("html", HandlerFunc(func(Value) (any, error) { return map[string]string{"s": "<a&b>"}, nil }))
	s.Handle("fail", HandlerFunc(func(Value) (any, error) {
		return nil, Errorf(ErrInvalidParams, "bad %s", "thing")
	}))
	s.Handle("wrapped", HandlerFunc(func(Value) (any, error) {
		return nil, fmt.Errorf("context: %w", ErrMethodNotFound)
	}))
	s.Handle("plain", HandlerFunc(func(Value) (any, error) { return nil, errors.New("plain") }))
	s.Handle("panics", HandlerFunc(func(Value) (any, error) { panic("kaboom") }))
	s.Handle("stop", HandlerFunc(func(Value) (any, error) { return nil, fmt.Errorf("bye: %w", ErrShutdown) }))
	s.Handle("hook", guarded{})
	return s
}

// TestWire checks raw wire input against exact wire output.
func TestWire(t *testing.T) {
	tests := []struct{ name, in, out string }{
		{"result", `{"jsonrpc":"2.0","id":1,"method":"echo","params":{"x":[1]}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"x":[1]}}`},
		{"string id byte for byte", `{"jsonrpc":"2.0","id":"cli:pay#1/cln:rpc_command#2","method":"echo","params":1}`,
			`{"jsonrpc":"2.0","id":"cli:pay#1/cln:rpc_command#2","result":1}`},
		{"html in id", `{"jsonrpc":"2.0","id":"<>&","method":"echo","params":1}`,
			`{"jsonrpc":"2.0","id":"<>&","result":1}`},
		{"escapes in id", `{"id":"\u003c\"x\\","method":"echo","params":1}`,
			`{"jsonrpc":"2.0","id":"\u003c\"x\\","result":1}`},
		{"number id", `{"id":-1.5e3,"method":"echo","params":1}`,
			`{"jsonrpc":"2.0","id":-1.5e3,"result":1}`},
		{"null id", `{"id":null,"method":"echo","params":1}`,
			`{"jsonrpc":"2.0","id":null,"result":1}`},
		{"no html escaping", `{"id":2,"method":"html"}`,
			`{"jsonrpc":"2.0","id":2,"result":{"s":"<a&b>"}}`},
		{"first id and method", `{"id":1,"method":"echo","params":7,"id":2,"method":"fail","params":8}`,
			`{"jsonrpc":"2.0","id":1,"result":7}`},
		{"notification", `{"jsonrpc":"2.0","method":"echo","params":1}`, ``},
		{"unknown method", `{"id":3,"method":"nosuch"}`,
			`{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"jsonrpc: method not found: nosuch"}}`},
		{"unknown notification", `{"method":"nosuch"}`, ``},
		{"handler error", `{"id":4,"method":"fail"}`,
			`{"jsonrpc":"2.0","id":4,"error":{"code":-32602,"message":"bad thing"}}`},
		{"wrapped code", `{"id":5,"method":"wrapped"}`,
			`{"jsonrpc":"2.0","id":5,"error":{"code":-32601,"message":"context: jsonrpc: method not found"}}`},
		{"plain error", `{"id":6,"method":"plain"}`,
			`{"jsonrpc":"2.0","id":6,"error":{"code":-32603,"message":"plain"}}`},
		{"no method", `{"id":7}`,
			`{"jsonrpc":"2.0","id":7,"error":{"code":-32600,"message":"jsonrpc: cannot read request \"{\\\"id\\\":7}\""}}`},
		{"fallback on panic", `{"id":8,"method":"hook","params":"panic"}`,
			`{"jsonrpc":"2.0","id":8,"result":{"fallback":"jsonrpc: panic in hook: boom"}}`},
		{"fallback when cut off", `{"id":9,"method":"hook","params":[1,2`,
			`{"jsonrpc":"2.0","id":9,"result":{"fallback":"jsonrpc: message truncated"}}`},
		{"internal error on panic", `{"id":10,"method":"panics"}`,
			`{"jsonrpc":"2.0","id":10,"error":{"code":-32603,"message":"jsonrpc: panic in panics: kaboom"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			assert.NilError(t, testServer(&out, 0).Serve(strings.NewReader(tt.in)))
			var answers []string
			for _, m := range strings.Split(out.String(), "\n\n") {
				if m != "" && !strings.Contains(m, `"method":"log"`) {
					answers = append(answers, m)
				}
			}
			want := []string{}
			if tt.out != "" {
				want = []string{tt.out}
			}
			if answers == nil {
				answers = []string{}
			}
			assert.DeepEqual(t, answers, want)
		})
	}
}

func TestPanicIsLogged(t *testing.T) {
	var out bytes.Buffer
	assert.NilError(t, testServer(&out, 0).Serve(strings.NewReader(`{"id":1,"method":"hook","params":"panic"}`)))
	assert.Assert(t, is.Contains(out.String(), `{"jsonrpc":"2.0","method":"log","params":{"level":"broken","message":"panic in hook: boom\n`))
	assert.Assert(t, is.Contains(out.String(), "goroutine"), "the log carries a stack")
}

func TestOversizeHook(t *testing.T) {
	var out bytes.Buffer
	in := `{"id":"big","method":"hook","params":["` + strings.Repeat("x", 2<<20) + `"]}` + "\n\n" + `{"id":"next","method":"echo","params":1}`
	assert.NilError(t, testServer(&out, 1<<20).Serve(strings.NewReader(in)))
	assert.Assert(t, is.Contains(out.String(), `{"jsonrpc":"2.0","id":"big","result":{"fallback":"jsonrpc: message truncated"}}`))
	assert.Assert(t, is.Contains(out.String(), `{"jsonrpc":"2.0","id":"next","result":1}`))
}

func TestShutdown(t *testing.T) {
	var out bytes.Buffer
	err := testServer(&out, 0).Serve(strings.NewReader(`{"id":1,"method":"stop"}{"id":2,"method":"echo","params":1}`))
	assert.ErrorIs(t, err, ErrShutdown)
	assert.Equal(t, out.String(), "", "no answer after a shutdown")
}

type brokenWriter struct{}

func (brokenWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestBrokenStdout(t *testing.T) {
	s := NewServer(brokenWriter{}, 0)
	s.Handle("echo", HandlerFunc(func(p Value) (any, error) { return p, nil }))
	err := s.Serve(strings.NewReader(`{"id":1,"method":"echo","params":1}`))
	assert.ErrorContains(t, err, "broken pipe")
}

// TestBurst: hundreds of requests written before any answer are answered
// exactly once each, in order.
func TestBurst(t *testing.T) {
	var in, want strings.Builder
	for i := 0; i < 500; i++ {
		fmt.Fprintf(&in, `{"jsonrpc":"2.0","id":"r%d","method":"echo","params":%d}`+"\n\n", i, i)
		fmt.Fprintf(&want, `{"jsonrpc":"2.0","id":"r%d","result":%d}`+"\n\n", i, i)
	}
	var out bytes.Buffer
	assert.NilError(t, testServer(&out, 0).Serve(strings.NewReader(in.String())))
	assert.Equal(t, out.String(), want.String())
}

// TestDeferred: a deferred answer does not hold up the requests after
// it, is written once, with its own id, and a panic in it is answered.
func TestDeferred(t *testing.T) {
	pr, pw := io.Pipe()
	var out syncBuffer
	s := NewServer(&out, 0)
	release := make(chan struct{})
	s.Handle("slow", HandlerFunc(func(p Value) (any, error) {
		return Deferred(func(reply func(any, error)) {
			<-release
			reply(Value(`"late"`), nil)
			reply(Value(`"twice"`), nil)
		}), nil
	}))
	s.Handle("echo", HandlerFunc(func(p Value) (any, error) { return p, nil }))
	s.Handle("boom", guarded{})
	s.Handle("deferpanic", HandlerFunc(func(Value) (any, error) {
		return Deferred(func(func(any, error)) { panic("later") }), nil
	}))
	done := make(chan error)
	go func() { done <- s.Serve(pr) }()
	io.WriteString(pw, `{"jsonrpc":"2.0","id":"a/1","method":"slow","params":{}}`+"\n\n")
	io.WriteString(pw, `{"jsonrpc":"2.0","id":"a/2","method":"echo","params":2}`+"\n\n")
	waitFor(t, &out, `"id":"a/2","result":2`)
	assert.Assert(t, !strings.Contains(out.String(), `"a/1"`))
	close(release)
	waitFor(t, &out, `{"jsonrpc":"2.0","id":"a/1","result":"late"}`)
	io.WriteString(pw, `{"jsonrpc":"2.0","id":3,"method":"deferpanic","params":{}}`+"\n\n")
	waitFor(t, &out, `"id":3,"error":{"code":-32603`)
	pw.Close()
	assert.NilError(t, <-done)
	assert.Assert(t, !strings.Contains(out.String(), "twice"))
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func waitFor(t *testing.T, b *syncBuffer, want string) {
	t.Helper()
	for i := 0; i < 500 && !strings.Contains(b.String(), want); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	assert.Assert(t, is.Contains(b.String(), want))
}

// TestObserve: every request with an id is timed from being read to its
// answer, deferred ones until they answer; notifications are not.
func TestObserve(t *testing.T) {
	pr, pw := io.Pipe()
	var out syncBuffer
	s := NewServer(&out, 0)
	var mu sync.Mutex
	took := map[string]time.Duration{}
	s.Observe = func(method string, d time.Duration) {
		mu.Lock()
		took[method] += d
		mu.Unlock()
	}
	release := make(chan struct{})
	s.Handle("slow", HandlerFunc(func(Value) (any, error) {
		return Deferred(func(reply func(any, error)) { <-release; reply(1, nil) }), nil
	}))
	s.Handle("echo", HandlerFunc(func(p Value) (any, error) { return p, nil }))
	done := make(chan error)
	go func() { done <- s.Serve(pr) }()
	io.WriteString(pw, `{"jsonrpc":"2.0","id":1,"method":"slow","params":{}}`+"\n\n")
	io.WriteString(pw, `{"jsonrpc":"2.0","id":2,"method":"echo","params":2}`+"\n\n")
	io.WriteString(pw, `{"jsonrpc":"2.0","method":"echo","params":3}`+"\n\n")
	waitFor(t, &out, `"id":2,"result":2`)
	time.Sleep(20 * time.Millisecond)
	close(release)
	waitFor(t, &out, `"id":1,"result":1`)
	pw.Close()
	assert.NilError(t, <-done)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, len(took), 2, "%v", took)
	assert.Assert(t, took["slow"] >= 20*time.Millisecond, "%v", took)
	assert.Assert(t, took["echo"] < took["slow"], "%v", took)
}
