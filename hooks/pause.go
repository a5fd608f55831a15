package hooks

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/payupto/pay-up-to/jsonrpc"
)

// A pause stops every new spend at once (the node's), or everything an
// app's rune may call (a rune's), until the operator resumes it. It is
// kept in lightningd's datastore under ["pay-up-to", "pause", node|<rune
// id>] as "<unix seconds>,<reason>", so restarts keep it.

// Usage and descriptions of the pause methods, for lightning-cli help.
const (
	PauseUsage        = "[rune_id] [reason]"
	PauseDescription  = "Refuse every new payment and on-chain spend (code 2104) until pay-up-to-resume; with rune_id, only that app's rune. Kept across restarts."
	ResumeUsage       = "[rune_id]"
	ResumeDescription = "Lift a pause of the node, or with rune_id of that rune."
)

// Notification topics sent on each pause and resume.
const (
	PausedTopic  = "pay_up_to_paused"
	ResumedTopic = "pay_up_to_resumed"
)

// nodeKey names the node's pause.
const nodeKey = "node"

// pauses are the pauses in force, by nodeKey or rune id.
type pauses struct {
	mu sync.Mutex // protects m
	m  map[string]Pause
}

// Pause is a pause in force, as pay-up-to-status shows it.
type Pause struct {
	RuneID string `json:"rune_id,omitempty"`
	Since  int64  `json:"since"` // unix seconds
	Reason string `json:"reason"`
}

func (p *pauses) get(key string) (Pause, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	x, ok := p.m[key]
	return x, ok
}

func (p *pauses) set(key string, x *Pause) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = map[string]Pause{}
	}
	if x == nil {
		delete(p.m, key)
	} else {
		p.m[key] = *x
	}
}

// runes lists the runes paused, by id.
func (p *pauses) runes() []Pause {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := []Pause{}
	for k, x := range p.m {
		if k != nodeKey {
			out = append(out, x)
		}
	}
	return out
}

// record is a pause as the datastore keeps it.
func (x Pause) record() string { return fmt.Sprintf("%d,%s", x.Since, x.Reason) }

// readPause reads a kept pause.
func readPause(key, value string) (Pause, bool) {
	t, reason, ok := strings.Cut(value, ",")
	n, err := strconv.ParseInt(t, 10, 64)
	if !ok || err != nil {
		return Pause{}, false
	}
	x := Pause{Since: n, Reason: reason}
	if key != nodeKey {
		x.RuneID = key
	}
	return x, true
}

// ServePause answers pay-up-to-pause [rune_id] [reason].
func (g *Guard) ServePause(params jsonrpc.Value) (any, error) {
	a, err := allowanceArgs(params, []string{"rune_id", "reason"})
	if err != nil {
		return nil, paramsError("%v", err)
	}
	key := nodeKey
	if id := a["rune_id"]; id != "" {
		if _, err := runeIDOf(id); err != nil {
			return nil, paramsError("%v", err)
		}
		key = id
	}
	x := Pause{Since: time.Now().Unix(), Reason: a["reason"]}
	if key != nodeKey {
		x.RuneID = key
	}
	return g.keepPause(key, &x)
}

// ServeResume answers pay-up-to-resume [rune_id].
func (g *Guard) ServeResume(params jsonrpc.Value) (any, error) {
	a, err := allowanceArgs(params, []string{"rune_id"})
	if err != nil {
		return nil, paramsError("%v", err)
	}
	key := nodeKey
	if id := a["rune_id"]; id != "" {
		key = id
	}
	if _, ok := g.pauses.get(key); !ok {
		return nil, paramsError("%s is not paused", pauseName(key))
	}
	return g.keepPause(key, nil)
}

func pauseName(key string) string {
	if key == nodeKey {
		return "the node"
	}
	return "rune " + key
}

// runeIDOf checks a rune id given by hand: digits.
func runeIDOf(s string) (string, error) {
	if s == "" || len(s) > 20 || strings.Trim(s, "0123456789") != "" {
		return "", fmt.Errorf("rune_id %q is not a rune's unique id (digits)", s)
	}
	return s, nil
}

// keepPause writes a pause (x nil: its end) to the datastore and then
// applies it: a pause that would not survive a restart is not reported
// as made. It waits on lightningd, so it answers off the stdin loop.
func (g *Guard) keepPause(key string, x *Pause) (any, error) {
	g.init()
	c := g.rpc.Load()
	if c == nil {
		return nil, paramsError("not connected to lightningd yet; try again in a moment")
	}
	return jsonrpc.Deferred(func(reply func(any, error)) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		dskey := []string{"pay-up-to", "pause", key}
		var err error
		if x != nil {
			err = c.Call(ctx, "datastore", map[string]any{"key": dskey, "string": x.record(), "mode": "create-or-replace"}, nil)
		} else {
			err = c.Call(ctx, "deldatastore", map[string]any{"key": dskey}, nil)
			if e, ok := err.(*jsonrpc.Error); ok && e.Code == 1200 { // no such key
				err = nil
			}
		}
		if err != nil {
			reply(nil, fmt.Errorf("pay-up-to: cannot keep the pause in the datastore: %w", err))
			return
		}
		g.pauses.set(key, x)
		if x != nil {
			g.logf("unusual", "paused %s: %s", pauseName(key), x.Reason)
			g.notify(PausedTopic, x)
			reply(map[string]any{"paused": x}, nil)
			return
		}
		g.logf("unusual", "resumed %s", pauseName(key))
		resumed := Pause{Since: time.Now().Unix()}
		if key != nodeKey {
			resumed.RuneID = key
		}
		g.notify(ResumedTopic, resumed)
		reply(map[string]any{"resumed": pauseName(key)}, nil)
	}), nil
}

func (g *Guard) notify(topic string, params any) {
	if g.Out != nil {
		g.Out.Notify(topic, params)
	}
}
