// Package operator serves the operator's methods: pay-up-to-status, the
// allowances of apps' runes, and pause and resume.
package operator

import (
	"context"
	"slices"
	"time"

	"github.com/payupto/pay-up-to/hooks/fleet"

	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/hooks/options"
	"github.com/payupto/pay-up-to/hooks/pause"
	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/hooks/store"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// Methods serves the operator's methods over the guard's state.
type Methods struct {
	Ledger  *ledger.Ledger
	Options *options.Options
	Pauses  *pause.Book
	Tally   *Tally
	// Conn is lightningd, its version and the store of the guard's
	// records, once connected (c nil before).
	Conn func() (c *jsonrpc.Client, v price.Version, st store.Store)
	// Out, if set, receives log lines and the pause notifications.
	Out jsonrpc.Notifier
	// Version, if set, is shown by pay-up-to-status.
	Version string
	// Fleet is the fleet the node shares its budget with, or nil.
	Fleet *fleet.Member
}

// Notification topics sent on each pause and resume.
const (
	PausedTopic  = "pay_up_to_paused"
	ResumedTopic = "pay_up_to_resumed"
)

func (m *Methods) logf(level, format string, args ...any) {
	if m.Out != nil {
		m.Out.Log(level, format, args...)
	}
}

func (m *Methods) notify(topic string, params any) {
	if m.Out != nil {
		m.Out.Notify(topic, params)
	}
}

func paramsError(format string, args ...any) error {
	return jsonrpc.Errorf(jsonrpc.ErrInvalidParams, "pay-up-to: "+format, args...)
}

// connected is lightningd and the store, or an error to answer while
// pay-up-to is not connected yet.
func (m *Methods) connected() (*jsonrpc.Client, store.Store, error) {
	c, _, st := m.Conn()
	if c == nil {
		return nil, nil, paramsError("not connected to lightningd yet; try again in a moment")
	}
	return c, st, nil
}

// args reads params by position or name (names), each given once; a
// restrictions parameter is kept as JSON, the others as text.
func args(params jsonrpc.Value, names []string) (map[string]string, error) {
	a, err := price.ReadArgs(params, names)
	if err != nil {
		return nil, paramsError("%v", err)
	}
	out := map[string]string{}
	for k, v := range a {
		if k == "restrictions" {
			out[k] = string(v)
			continue
		}
		out[k] = price.Text(v)
	}
	for k := range out {
		if !slices.Contains(names, k) {
			return nil, paramsError("unknown parameter %s", k)
		}
	}
	return out, nil
}

// deferred runs fn off the stdin loop, with a deadline: it waits on
// lightningd, whose calls pass our own hook.
func deferred(fn func(ctx context.Context) (any, error)) jsonrpc.Deferred {
	return func(reply func(any, error)) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		reply(fn(ctx))
	}
}
