// Package options holds the operator's options of the guard (limit,
// budget, rune-allowance-required, app-commands, trusted-destinations),
// checked and applied at start and by setconfig.
package options

import (
	"fmt"
	"sync/atomic"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/hooks/apps"
	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/hooks/trust"
)

// Descriptions of the options, for lightning-cli listconfigs and help.
const (
	LimitDescription        = "Refuse payments above this amount (e.g. 0.001btc, 100000sat, 100000000msat)"
	BudgetDescription       = "Refuse payments that would make what leaves the node, fees included, exceed AMOUNT in any PERIOD: comma-separated AMOUNT/PERIOD windows (e.g. 0.002btc/1h,0.01btc/1d; period units s, m, h, d, w)"
	RuneRequiredDescription = "Refuse payments authorised by a rune (commando, clnrest) that has no allowance (true or false)"
	AppCommandsDescription  = "Comma-separated commands that apps with an allowance may run beyond the default ones (e.g. connect,setchannel,fundchannel); never any that would change or stop the guard"
	TrustedDescription      = "Comma-separated on-chain addresses (the operator's cold wallet, an exchange deposit) whose outputs count as the node's own, and node ids whose payments are exempt from limit and budget: what goes to them is not spending; only the fee counts"
)

// Options are the guard's options now. The budget lives in Ledger, which
// must be set before use.
type Options struct {
	Ledger *ledger.Ledger

	limit        atomic.Uint64 // msat
	limitSet     atomic.Bool
	runeRequired atomic.Bool
	trusted      atomic.Pointer[trust.List]
	appCommands  atomic.Pointer[apps.Commands]
	network      atomic.Pointer[string] // lightningd's, once known
}

// Limit returns the limit, and false while none is set.
func (o *Options) Limit() (amount.MSat, bool) {
	return amount.MSat(o.limit.Load()), o.limitSet.Load()
}

// Configured says why nothing can be approved yet (neither a limit nor a
// budget is set), or "".
func (o *Options) Configured() string {
	if _, ok := o.Limit(); !ok && !o.Ledger.HasBudget() {
		return "no limit or budget is configured yet"
	}
	return ""
}

// CheckLimit validates a limit in CLN's amount syntax.
func (o *Options) CheckLimit(s string) error {
	_, err := amount.ParseMSat(s)
	return err
}

// SetLimit parses and applies a limit; on error the old limit stays.
func (o *Options) SetLimit(s string) error {
	m, err := amount.ParseMSat(s)
	if err != nil {
		return err
	}
	o.limit.Store(uint64(m))
	o.limitSet.Store(true)
	return nil
}

// CheckBudget validates a budget such as "0.01btc/1d,0.002btc/1h".
func (o *Options) CheckBudget(s string) error {
	_, err := ledger.ParseBudget(s)
	return err
}

// SetBudget parses and applies a budget; on error the old one stays.
func (o *Options) SetBudget(s string) error {
	ws, err := ledger.ParseBudget(s)
	if err != nil {
		return err
	}
	o.Ledger.SetWindows(ws)
	return nil
}

// RuneRequired reports whether a payment authorised by a rune without an
// allowance is refused.
func (o *Options) RuneRequired() bool { return o.runeRequired.Load() }

// CheckRuneRequired validates rune-allowance-required.
func (o *Options) CheckRuneRequired(s string) error {
	_, err := parseBool(s)
	return err
}

// SetRuneRequired sets rune-allowance-required.
func (o *Options) SetRuneRequired(s string) error {
	b, err := parseBool(s)
	if err == nil {
		o.runeRequired.Store(b)
	}
	return err
}

func parseBool(s string) (bool, error) {
	switch s {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("%q is not true or false", s)
}

// Trusted is trusted-destinations (nil: nothing).
func (o *Options) Trusted() *trust.List { return o.trusted.Load() }

// CheckTrusted validates trusted-destinations, on lightningd's network
// once known.
func (o *Options) CheckTrusted(s string) error {
	t, err := trust.Parse(s)
	if err != nil {
		return err
	}
	if why := t.WrongNetwork(o.Network()); why != "" {
		return fmt.Errorf("%s", why)
	}
	return nil
}

// SetTrusted parses and applies trusted-destinations; on error the old
// list stays.
func (o *Options) SetTrusted(s string) error {
	if err := o.CheckTrusted(s); err != nil {
		return err
	}
	t, _ := trust.Parse(s)
	o.trusted.Store(t)
	return nil
}

// AppCommands are the commands the operator lets apps run beyond the
// default ones (app-commands).
func (o *Options) AppCommands() apps.Commands {
	if cs := o.appCommands.Load(); cs != nil {
		return *cs
	}
	return nil
}

// CheckAppCommands validates app-commands: it refuses, saying why, any
// command an app may never run.
func (o *Options) CheckAppCommands(s string) error {
	_, err := apps.ParseCommands(s)
	return err
}

// SetAppCommands parses and applies app-commands; on error the old
// ones stay.
func (o *Options) SetAppCommands(s string) error {
	cs, err := apps.ParseCommands(s)
	if err == nil {
		o.appCommands.Store(&cs)
	}
	return err
}

// Network is lightningd's network ("bitcoin", "regtest"…), once known.
func (o *Options) Network() string {
	if n := o.network.Load(); n != nil {
		return *n
	}
	return ""
}

// Ready records lightningd's network and returns why the guard cannot
// run with the options it has, or "".
func (o *Options) Ready(network string) string {
	o.network.Store(&network)
	if _, ok := o.Limit(); !ok && !o.Ledger.HasBudget() {
		return "option limit is required unless budget is set (e.g. limit=0.001btc or budget=0.01btc/1d)"
	}
	return o.Trusted().WrongNetwork(network)
}
