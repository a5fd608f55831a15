package operator

import (
	"context"
	"fmt"
	"time"

	"github.com/payupto/pay-up-to/hooks/apps"
	"github.com/payupto/pay-up-to/hooks/pause"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// Usage and descriptions of the pause methods, for lightning-cli help.
const (
	PauseUsage        = "[rune_id] [reason]"
	PauseDescription  = "Refuse every new payment and on-chain spend (code 2104) until pay-up-to-resume; with rune_id, only that app's rune; with rune_id=fleet, every member of the node's fleet. Kept across restarts."
	ResumeUsage       = "[rune_id]"
	ResumeDescription = "Lift a pause of the node, or with rune_id of that rune, or with fleet of the whole fleet."
)

// ServePause answers pay-up-to-pause [rune_id] [reason].
func (m *Methods) ServePause(params jsonrpc.Value) (any, error) {
	a, err := args(params, []string{"rune_id", "reason"})
	if err != nil {
		return nil, err
	}
	key := pause.Node
	switch id := a["rune_id"]; {
	case id == pause.Fleet:
		key = id
	case id != "":
		if err := apps.CheckID(id); err != nil {
			return nil, paramsError("%v", err)
		}
		key = id
	}
	x := pause.New(key, time.Now().Unix(), a["reason"])
	return m.keepPause(key, &x)
}

// ServeResume answers pay-up-to-resume [rune_id].
func (m *Methods) ServeResume(params jsonrpc.Value) (any, error) {
	a, err := args(params, []string{"rune_id"})
	if err != nil {
		return nil, err
	}
	key := pause.Node
	if id := a["rune_id"]; id != "" {
		key = id
	}
	if _, ok := m.Pauses.Get(key); !ok {
		return nil, paramsError("%s is not paused", pause.Name(key))
	}
	return m.keepPause(key, nil)
}

// keepPause writes a pause (x nil: its end) to the store and then
// applies it: a pause that would not survive a restart is not reported
// as made. It waits on lightningd, so it answers off the stdin loop.
func (m *Methods) keepPause(key string, x *pause.Pause) (any, error) {
	put, err := m.pauseStore(key)
	if err != nil {
		return nil, err
	}
	return deferred(func(ctx context.Context) (any, error) {
		if err := put(ctx, x); err != nil {
			return nil, err
		}
		m.Pauses.Set(key, x)
		if x != nil {
			m.logf("unusual", "paused %s: %s", pause.Name(key), x.Reason)
			m.notify(PausedTopic, x)
			return map[string]any{"paused": x}, nil
		}
		m.logf("unusual", "resumed %s", pause.Name(key))
		m.notify(ResumedTopic, pause.New(key, time.Now().Unix(), ""))
		return map[string]any{"resumed": pause.Name(key)}, nil
	}), nil
}

// pauseStore returns what keeps the pause of key: the fleet's etcd for
// the fleet's, else the datastore.
func (m *Methods) pauseStore(key string) (func(context.Context, *pause.Pause) error, error) {
	if key == pause.Fleet {
		if m.Fleet == nil {
			return nil, paramsError("the node is in no fleet (fleet-etcd)")
		}
		return func(ctx context.Context, x *pause.Pause) error {
			if err := m.Fleet.Pause(ctx, x); err != nil {
				return fmt.Errorf("pay-up-to: cannot keep the fleet's pause: %w", err)
			}
			return nil
		}, nil
	}
	_, st, err := m.connected()
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, x *pause.Pause) error {
		var rec *string
		if x != nil {
			r := x.Record()
			rec = &r
		}
		if err := st.Put(ctx, pause.Kind, key, rec); err != nil {
			return fmt.Errorf("pay-up-to: cannot keep the pause in the datastore: %w", err)
		}
		return nil
	}, nil
}
