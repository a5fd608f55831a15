// Package apps tells which app, by its rune, asked for a command, and
// what an app may run.
//
// Apps reach the node with a rune, through commando or clnrest. The
// rpc_command payload of the command an app runs carries no rune, but
// commando and clnrest first ask lightningd's checkrune about it
// (plugins/commando.c try_command, plugins/rest-plugin/src/shared.rs
// verify_rune), and checkrune passes the hook with the rune, the method
// and its params. A checkrune the guard lets through leaves a Claim once
// lightningd says the rune is its own (IsOurs); the command that
// follows, with the same method and params, takes the oldest claim.
// lightningd checks the rune's restrictions after the hook continues, so
// a claim whose checkrune lightningd then refuses is never taken by its
// own command; claims expire after claimLife.
package apps

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/payupto/pay-up-to/jsonrpc"
)

// claimLife is how long a claim waits for its command, which commando and
// clnrest send as soon as checkrune answers.
const claimLife = 10 * time.Second

// RuneID returns a rune's unique id: a rune is base64url (padded or not)
// of a 32-byte hash and its restrictions, the first of which is "=<id>"
// or "=<id>-<version>" (lightningd/runes.c, ccan/ccan/rune).
func RuneID(s string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(strings.TrimSpace(s), "="))
	if err != nil || len(b) < 34 || b[32] != '=' {
		return "", errors.New("not a rune")
	}
	id := b[33:]
	if i := bytes.IndexAny(id, "&|-\\"); i >= 0 {
		id = id[:i]
	}
	if !isID(string(id)) {
		return "", errors.New("not a rune: no unique id")
	}
	return string(id), nil
}

// CheckID checks a rune's unique id given by hand: digits.
func CheckID(s string) error {
	if !isID(s) {
		return fmt.Errorf("rune_id %q is not a rune's unique id (digits)", s)
	}
	return nil
}

func isID(s string) bool {
	return s != "" && len(s) <= 20 && strings.Trim(s, "0123456789") == ""
}

// Claims are commands that checkrune let through for a rune, waiting for
// the command itself. The zero value has none.
type Claims struct {
	mu sync.Mutex // protects m and n
	m  map[string][]claim
	n  int // claims waiting, for the fast path
}

type claim struct {
	rune string
	at   time.Time
}

// canonical is a command's key: its method and params, as JSON with
// sorted keys, so that the same params sent twice match.
func canonical(method string, params jsonrpc.Value) string {
	var v any
	d := json.NewDecoder(bytes.NewReader(params))
	d.UseNumber()
	if d.Decode(&v) == nil {
		if b, err := json.Marshal(v); err == nil {
			return method + " " + string(b)
		}
	}
	return method + " " + string(bytes.TrimSpace(params))
}

// Add notes that rune may run method with params.
func (c *Claims) Add(rune, method string, params jsonrpc.Value) {
	k := canonical(method, params)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string][]claim{}
	}
	c.m[k] = append(c.m[k], claim{rune, time.Now()})
	c.n++
}

// Take returns the rune of the oldest live claim for this command, or "".
func (c *Claims) Take(method string, params jsonrpc.Value) string {
	c.mu.Lock()
	if c.n == 0 {
		c.mu.Unlock()
		return ""
	}
	c.mu.Unlock()
	k := canonical(method, params)
	c.mu.Lock()
	defer c.mu.Unlock()
	old := time.Now().Add(-claimLife)
	for k2, cs := range c.m { // forget what expired
		for len(cs) > 0 && cs[0].at.Before(old) {
			cs, c.n = cs[1:], c.n-1
		}
		if len(cs) == 0 {
			delete(c.m, k2)
		} else {
			c.m[k2] = cs
		}
	}
	cs := c.m[k]
	if len(cs) == 0 {
		return ""
	}
	if c.m[k], c.n = cs[1:], c.n-1; len(cs) == 1 {
		delete(c.m, k)
	}
	return cs[0].rune
}

// IsOurs asks lightningd whether it made the rune and has not
// blacklisted it (showrunes, which changes nothing; checkrune itself
// would count a use against per= and rate=). Its restrictions are
// lightningd's to check.
func IsOurs(ctx context.Context, c *jsonrpc.Client, rune string) bool {
	var res struct {
		Runes []struct {
			OurRune     *bool `json:"our_rune"`
			Blacklisted bool  `json:"blacklisted"`
		} `json:"runes"`
	}
	if err := c.Call(ctx, "showrunes", map[string]any{"rune": rune}, &res); err != nil {
		return false
	}
	return len(res.Runes) == 1 && (res.Runes[0].OurRune == nil || *res.Runes[0].OurRune) && !res.Runes[0].Blacklisted
}

// Calls remembers which rune authorised a command, so the calls it makes
// (signpsbt, sendpsbt, fundchannel_start), whose ids its id prefixes,
// are charged to it. The zero value has none.
type Calls struct {
	mu sync.Mutex // protects m
	m  map[string]claim
}

// callLife bounds how long a command's calls are charged to its rune:
// opens wait for their peers, withdraws for their signatures.
const callLife = 10 * time.Minute

// Note remembers the rune of command id, if any.
func (r *Calls) Note(id, rune string) {
	if rune == "" || id == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]claim{}
	}
	now := time.Now()
	if len(r.m) > 1024 {
		for k, e := range r.m {
			if now.Sub(e.at) > callLife {
				delete(r.m, k)
			}
		}
	}
	r.m[id] = claim{rune, now}
}

// Of is rune if set, else the rune of the command whose id prefixes id.
func (r *Calls) Of(id, rune string) string {
	if rune != "" {
		return rune
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := strings.LastIndexByte(id, '/'); i > 0; i = strings.LastIndexByte(id[:i], '/') {
		if e, ok := r.m[id[:i]]; ok && time.Since(e.at) < callLife {
			return e.rune
		}
	}
	return ""
}
