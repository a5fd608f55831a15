// Package pause keeps the pauses in force: the node's, which stops every
// new spend, and each rune's, which stops one app.
package pause

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// Kind is the kind of a pause's record in the store: under its Key, as
// "<unix seconds>,<reason>", so restarts keep it.
const Kind = "pause"

// Node is the key of the node's pause, Fleet of the fleet's (every
// member's, kept in the fleet's store); a rune's is its unique id.
const (
	Node  = "node"
	Fleet = "fleet"
)

// Pause is a pause in force, as pay-up-to-status shows it.
type Pause struct {
	RuneID string `json:"rune_id,omitempty"`
	Fleet  bool   `json:"fleet,omitempty"`
	Since  int64  `json:"since"` // unix seconds
	Reason string `json:"reason"`
}

// New is a pause of key (Node, Fleet or a rune's unique id) from since.
func New(key string, since int64, reason string) Pause {
	x := Pause{Since: since, Reason: reason}
	switch key {
	case Node:
	case Fleet:
		x.Fleet = true
	default:
		x.RuneID = key
	}
	return x
}

// Record is x as the store keeps it.
func (x Pause) Record() string { return fmt.Sprintf("%d,%s", x.Since, x.Reason) }

// Read reads a kept pause of key; ok is false when it is not one.
func Read(key, record string) (x Pause, ok bool) {
	t, reason, ok := strings.Cut(record, ",")
	n, err := strconv.ParseInt(t, 10, 64)
	if !ok || err != nil {
		return Pause{}, false
	}
	return New(key, n, reason), true
}

// Name is how messages name the pause of key.
func Name(key string) string {
	switch key {
	case Node:
		return "the node"
	case Fleet:
		return "the fleet"
	}
	return "rune " + key
}

// Book is the pauses in force, by key. Its zero value has none.
type Book struct {
	mu sync.Mutex // protects m
	m  map[string]Pause
}

// Get returns the pause of key, if in force.
func (b *Book) Get(key string) (Pause, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	x, ok := b.m[key]
	return x, ok
}

// Set puts the pause of key in force, or lifts it when x is nil.
func (b *Book) Set(key string, x *Pause) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string]Pause{}
	}
	if x == nil {
		delete(b.m, key)
	} else {
		b.m[key] = *x
	}
}

// Stopped returns the pause that stops every spend: the node's, else the
// fleet's.
func (b *Book) Stopped() (Pause, bool) {
	if x, ok := b.Get(Node); ok {
		return x, true
	}
	return b.Get(Fleet)
}

// Runes lists the runes paused.
func (b *Book) Runes() []Pause {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := []Pause{}
	for k, x := range b.m {
		if k != Node && k != Fleet {
			out = append(out, x)
		}
	}
	return out
}
