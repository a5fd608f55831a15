package hooks

import (
	"context"
	"sync"

	"github.com/payupto/pay-up-to/jsonrpc"
)

// store queues writes to lightningd's datastore under ["pay-up-to", kind,
// name]: "p" for parts, rendered from the ledger when sent, "r" for
// reservations. Writes to one key coalesce; a background loop sends them,
// so the hook never waits for lightningd.
type store struct {
	mu    sync.Mutex // protects parts and named
	parts map[partKey]struct{}
	named map[[2]string]*string // nil deletes
	wake  chan struct{}
}

func newStore() *store {
	return &store{parts: map[partKey]struct{}{}, named: map[[2]string]*string{}, wake: make(chan struct{}, 1)}
}

func (s *store) part(k partKey) {
	s.mu.Lock()
	s.parts[k] = struct{}{}
	s.mu.Unlock()
	s.poke()
}

func (s *store) put(kind, name, val string) { s.set(kind, name, &val) }
func (s *store) del(kind, name string)      { s.set(kind, name, nil) }

func (s *store) set(kind, name string, val *string) {
	s.mu.Lock()
	s.named[[2]string{kind, name}] = val
	s.mu.Unlock()
	s.poke()
}

func (s *store) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// flush sends the queued writes, parts as render gives them (nil: delete);
// a failed write is queued again.
func (s *store) flush(ctx context.Context, c *jsonrpc.Client, render func([]partKey) []*string) error {
	s.mu.Lock()
	named := s.named
	s.named = map[[2]string]*string{}
	keys := make([]partKey, 0, len(s.parts))
	for k := range s.parts {
		keys = append(keys, k)
	}
	clear(s.parts)
	s.mu.Unlock()
	var firstErr error
	write := func(kind, name string, v *string) bool {
		key := []string{"pay-up-to", kind, name}
		var err error
		if v == nil {
			err = c.Call(ctx, "deldatastore", map[string]any{"key": key}, nil)
			if e, ok := err.(*jsonrpc.Error); ok && e.Code == 1200 { // no such key
				err = nil
			}
		} else {
			err = c.Call(ctx, "datastore", map[string]any{"key": key, "string": *v, "mode": "create-or-replace"}, nil)
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return err == nil
	}
	for k, v := range named {
		if !write(k[0], k[1], v) {
			s.mu.Lock()
			if _, newer := s.named[k]; !newer {
				s.named[k] = v
			}
			s.mu.Unlock()
		}
	}
	for len(keys) > 0 {
		chunk := keys[:min(len(keys), 256)]
		keys = keys[len(chunk):]
		for i, v := range render(chunk) {
			if !write("p", chunk[i].String(), v) {
				s.part(chunk[i])
			}
		}
	}
	return firstErr
}
