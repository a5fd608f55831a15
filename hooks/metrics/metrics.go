// Package metrics serves the guard's figures to Prometheus, in its text
// format, on the address metrics-listen gives.
//
// A scrape takes the figures pay-up-to-status shows (a copy made under
// the guard's locks, O(windows + runes + members), never O(payments)),
// then formats and writes them holding no lock: a slow scraper never
// holds up a hook call.
package metrics

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/payupto/pay-up-to/hooks/operator"
)

// ListenDescription documents the option metrics-listen.
const ListenDescription = "host:port to serve Prometheus metrics on, at /metrics (e.g. 127.0.0.1:9751; :9751 means loopback too); off when empty. They reveal amounts: keep them on loopback or behind a firewall"

// Server serves /metrics. Its zero value is not usable: see New.
type Server struct {
	status func() operator.Status
	tally  *operator.Tally
	logf   func(level, format string, args ...any)
	hooks  map[string]*histogram // fixed at New: read without a lock

	mu      sync.Mutex // protects everything below
	live    bool       // Start was called: Set listens at once
	addr    string     // as set, "" for off
	ln      net.Listener
	srv     *http.Server
	serving string // the address listened on, "" when not
}

// New makes a server of status and tally that times the given hooks
// (Observe); logf writes to lightningd's log.
func New(status func() operator.Status, tally *operator.Tally, logf func(level, format string, args ...any), hooks ...string) *Server {
	s := &Server{status: status, tally: tally, logf: logf, hooks: map[string]*histogram{}}
	for _, h := range hooks {
		s.hooks[h] = new(histogram)
	}
	return s
}

// Observe counts one call of method that took d, if method is a hook
// the server times.
func (s *Server) Observe(method string, d time.Duration) {
	if h := s.hooks[method]; h != nil {
		h.observe(d)
	}
}

// Address checks a metrics-listen value and returns the address to
// listen on: "" for off; a missing host is loopback (127.0.0.1).
func Address(val string) (string, error) {
	if val == "" || val == "off" {
		return "", nil
	}
	host, port, err := net.SplitHostPort(val)
	if err != nil {
		return "", fmt.Errorf("want host:port, e.g. 127.0.0.1:9751 (%v)", err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "", fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

// Check validates a metrics-listen value (setconfig's check).
func (s *Server) Check(val string) error {
	_, err := Address(val)
	return err
}

// Set applies metrics-listen. Before Start it only notes the address.
// After, it listens on the new address before closing the old one: a
// port it cannot have is an error, and the old one stays.
func (s *Server) Set(val string) error {
	addr, err := Address(val)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addr = addr
	if !s.live {
		return nil
	}
	return s.listen()
}

// Start serves on the address set, if any: once the plugin is
// initialized. A port it cannot have is said in the log, and the guard
// goes on without metrics.
func (s *Server) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.live = true
	if err := s.listen(); err != nil {
		s.logf("unusual", "metrics-listen=%s: %v; no metrics are served (the guard keeps guarding); setconfig metrics-listen to try another", s.addr, err)
	}
}

// Addr is the address served on ("" when none): with port 0, the one
// the system chose.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.serving
}

// Close stops serving.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stop()
}

// listen serves on s.addr, replacing what served before; s.mu is held.
func (s *Server) listen() error {
	if s.addr == "" {
		if s.serving != "" {
			s.logf("info", "metrics: no longer served")
		}
		s.stop()
		return nil
	}
	if s.ln != nil && s.addr == s.serving {
		return nil
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("cannot listen: %w", err)
	}
	s.stop()
	s.ln, s.serving = ln, ln.Addr().String()
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	go func(srv *http.Server) {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logf("unusual", "metrics: %v", err)
		}
	}(s.srv)
	s.logf("info", "metrics: serving http://%s/metrics", s.serving)
	return nil
}

// stop closes the listener and its connections at once (setconfig runs
// on lightningd's input loop: nothing waits here); s.mu is held.
func (s *Server) stop() {
	if s.srv != nil {
		s.srv.Close()
	}
	s.srv, s.ln, s.serving = nil, nil, ""
}

// ServeHTTP answers GET /metrics.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/metrics" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "GET only", http.StatusMethodNotAllowed)
		return
	}
	body := s.figures().write()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodGet {
		w.Write(body)
	}
}

// figures copies what a scrape shows.
func (s *Server) figures() figures {
	x := figures{st: s.status(), hooks: map[string][]uint64{}, sums: map[string]float64{}}
	x.approvals, x.refusals = s.tally.Counts()
	for name, h := range s.hooks {
		x.hooks[name], x.sums[name] = h.snapshot()
	}
	return x
}
