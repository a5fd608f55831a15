// Package jsonrpc is a minimal JSON-RPC 2.0 plugin framework for Core
// Lightning: it frames messages by JSON structure, dispatches requests to
// registered handlers, and serializes every write through one writer.
package jsonrpc

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Notifier tells lightningd what is not an answer: notifications and
// log lines. *Server is one.
type Notifier interface {
	Notify(method string, params any) error
	Log(level, format string, args ...any)
}

// Handler answers one method.
type Handler interface {
	ServeRPC(params Value) (result any, err error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(params Value) (any, error)

// ServeRPC calls f.
func (f HandlerFunc) ServeRPC(params Value) (any, error) { return f(params) }

// Fallback is implemented by handlers whose caller must never receive a
// JSON-RPC error (lightningd dies on one in answer to a hook). Its result
// answers a request the handler could not: it panicked, or the message was
// truncated (cause ErrTruncated; params then holds only its first bytes).
type Fallback interface {
	Fallback(params Value, cause error) any
}

// Deferred is what a handler returns when its answer must wait, for
// instance on a call to lightningd (which may pass this plugin's own hook
// first, so the stdin loop must not wait for it). The server goes on
// reading, and runs the function on its own goroutine; the answer is what
// it passes to reply, which only its first call writes. A handler that
// defers must copy what it keeps of params: their bytes are reused.
type Deferred func(reply func(result any, err error))

// Server reads requests from lightningd and writes answers.
type Server struct {
	// Observe, if set before Serve, is told how long each request with
	// an id took, from being read to its answer being written, deferred
	// answers included. It runs on the answering goroutine: keep it short.
	Observe func(method string, took time.Duration)

	handlers map[string]Handler
	max      int

	mu   sync.Mutex // protects w, buf and werr
	w    *bufio.Writer
	buf  bytes.Buffer
	werr error

	// dispatching: the Serve loop is answering a request and flushes
	// when it is done.
	dispatching atomic.Bool
}

// NewServer returns a Server writing to w. Messages longer than maxMessage
// bytes (DefaultMaxMessage if <= 0) are answered without being read whole.
func NewServer(w io.Writer, maxMessage int) *Server {
	return &Server{handlers: map[string]Handler{}, max: maxMessage, w: bufio.NewWriterSize(w, 64<<10)}
}

// Handle registers h for method.
func (s *Server) Handle(method string, h Handler) { s.handlers[method] = h }

// Serve answers requests from r until end of input, which returns nil,
// until writing fails, which returns the write error, or until a handler
// returns ErrShutdown.
func (s *Server) Serve(r io.Reader) error {
	rd := NewReader(r, s.max)
	for {
		m, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return s.flush()
		}
		if err != nil {
			s.flush()
			return fmt.Errorf("jsonrpc: reading: %w", err)
		}
		s.dispatching.Store(true)
		err = s.dispatch(m)
		s.dispatching.Store(false)
		if err != nil {
			s.flush()
			return err
		}
		if !rd.Buffered() {
			if err := s.flush(); err != nil {
				return err
			}
		} else if err := s.writeErr(); err != nil {
			return err
		}
	}
}

// dispatch answers one message; it returns only a handler's ErrShutdown.
func (s *Server) dispatch(m Message) error {
	req, perr := ParseRequest(m.Data)
	if req.ID != nil && !req.ID.echoable() {
		s.Log("unusual", "cannot answer a request whose id is not JSON: %.200q", m.Data)
		return nil
	}
	if req.ID == nil && (perr != nil || m.Truncated) {
		s.Log("unusual", "ignoring a message that is not a request: %.200q", m.Data)
		return nil
	}
	h := s.handlers[req.Method]
	fb, _ := h.(Fallback)
	switch {
	case perr != nil && req.Method == "" || m.Truncated && fb == nil:
		s.Log("unusual", "cannot read request %.200q: %v", m.Data, perr)
		s.reply(req.ID, nil, Errorf(ErrInvalidRequest, "jsonrpc: cannot read request %.200q", m.Data))
	case m.Truncated:
		s.Log("unusual", "answering a truncated %s request without reading it whole", req.Method)
		s.reply(req.ID, fb.Fallback(req.Params, ErrTruncated), nil)
	case h == nil:
		if req.ID != nil {
			s.reply(req.ID, nil, Errorf(ErrMethodNotFound, "jsonrpc: method not found: %s", req.Method))
		}
	default:
		start := time.Now()
		res, err := s.call(h, fb, req)
		if errors.Is(err, ErrShutdown) {
			return err
		}
		if d, ok := res.(Deferred); ok && err == nil {
			s.later(append(Value(nil), req.ID...), req.Method, fb, d, start)
			return nil
		}
		if req.ID != nil {
			s.reply(req.ID, res, err)
			s.observe(req.Method, start)
		}
	}
	return nil
}

// later runs a deferred answer. A panic in it is answered like one in
// a handler: fb's answer (with no params), or an internal error.
func (s *Server) later(id Value, method string, fb Fallback, d Deferred, start time.Time) {
	var once sync.Once
	reply := func(res any, err error) {
		once.Do(func() {
			s.reply(id, res, err)
			s.flush()
			if id != nil {
				s.observe(method, start)
			}
		})
	}
	go func() {
		defer func() {
			if p := recover(); p != nil {
				s.Log("broken", "panic in deferred %s: %v\n%s", method, p, debug.Stack())
				cause := Errorf(ErrInternal, "jsonrpc: panic in %s: %v", method, p)
				if fb != nil {
					reply(fb.Fallback(nil, cause), nil)
				} else {
					reply(nil, cause)
				}
			}
		}()
		d(reply)
	}()
}

func (s *Server) observe(method string, start time.Time) {
	if s.Observe != nil {
		s.Observe(method, time.Since(start))
	}
}

// call runs h, turning a panic into fb's answer or an internal error.
func (s *Server) call(h Handler, fb Fallback, req Request) (res any, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.Log("broken", "panic in %s: %v\n%s", req.Method, p, debug.Stack())
			cause := Errorf(ErrInternal, "jsonrpc: panic in %s: %v", req.Method, p)
			if fb != nil {
				res, err = fb.Fallback(req.Params, cause), nil
				return
			}
			res, err = nil, cause
		}
	}()
	return h.ServeRPC(req.Params)
}

// reply writes the answer to request id: result, or err as an error object.
func (s *Server) reply(id Value, result any, err error) {
	if id == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Reset()
	s.buf.WriteString(`{"jsonrpc":"2.0","id":`)
	s.buf.Write(id)
	if err != nil {
		s.buf.WriteString(`,"error":`)
		s.encode(toError(err))
	} else {
		s.buf.WriteString(`,"result":`)
		s.encode(result)
	}
	s.buf.WriteString("}\n\n")
	s.write()
}

// Notify writes a notification. One made while a request is being
// answered goes out with the answers; any other is flushed at once.
func (s *Server) Notify(method string, params any) error {
	s.mu.Lock()
	s.buf.Reset()
	s.buf.WriteString(`{"jsonrpc":"2.0","method":`)
	s.encode(method)
	s.buf.WriteString(`,"params":`)
	s.encode(params)
	s.buf.WriteString("}\n\n")
	s.write()
	s.mu.Unlock()
	if s.dispatching.Load() {
		return s.writeErr()
	}
	return s.flush()
}

// Log sends a log notification; level is one of CLN's: "debug", "info",
// "unusual", "broken" (an unknown level kills the plugin).
func (s *Server) Log(level, format string, args ...any) {
	s.Notify("log", map[string]string{"level": level, "message": fmt.Sprintf(format, args...)})
}

// encode appends v to s.buf: raw JSON as is, anything else marshalled
// without HTML escaping.
func (s *Server) encode(v any) {
	switch raw := v.(type) {
	case json.RawMessage:
		s.buf.Write(raw)
		return
	case Value:
		s.buf.Write(raw)
		return
	}
	enc := json.NewEncoder(&s.buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only a handler bug gets here; the request still gets an answer.
		s.buf.Truncate(s.buf.Len())
		fmt.Fprintf(&s.buf, `{"code":%d,"message":"jsonrpc: cannot encode result"}`, ErrInternal.Code)
		return
	}
	s.buf.Truncate(s.buf.Len() - 1) // Encode's newline
}

func (s *Server) write() {
	if s.werr == nil {
		_, s.werr = s.w.Write(s.buf.Bytes())
	}
}

func (s *Server) flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.werr == nil {
		s.werr = s.w.Flush()
	}
	return s.werr
}

func (s *Server) writeErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.werr
}
