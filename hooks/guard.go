// Package hooks is pay-up-to's rpc_command hook: it reads each forwarded
// command that may spend, runs the guard's checks on it in one order,
// and answers continue or a refusal.
//
// The checks live in the packages under hooks: pause (what is paused),
// apps (which app asks, and what it may not run), trust (trusted
// payees), price (what a command spends), wallet (what of an on-chain
// spend leaves the node), preimages (payments to ourselves), ledger
// (limits, budgets and allowances) and refuse (the answers). records
// keeps the ledger in step with lightningd, store keeps the guard's own
// records, options holds the operator's options and operator serves the
// operator's methods.
package hooks

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"time"

	"github.com/payupto/pay-up-to/hooks/apps"
	"github.com/payupto/pay-up-to/hooks/fleet"
	"github.com/payupto/pay-up-to/hooks/intents"
	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/hooks/metrics"
	"github.com/payupto/pay-up-to/hooks/operator"
	"github.com/payupto/pay-up-to/hooks/options"
	"github.com/payupto/pay-up-to/hooks/pause"
	"github.com/payupto/pay-up-to/hooks/preimages"
	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/hooks/records"
	"github.com/payupto/pay-up-to/hooks/refuse"
	"github.com/payupto/pay-up-to/hooks/store"
	"github.com/payupto/pay-up-to/hooks/trust"
	"github.com/payupto/pay-up-to/hooks/wallet"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// RefusedTopic is the notification sent for every refusal.
const RefusedTopic = "pay_up_to_refused"

// continueAnswer lets the command run, untouched.
var continueAnswer = json.RawMessage(`{"result":"continue"}`)

// Guard is the rpc_command hook handler. Until a limit or budget is set
// it refuses every spend.
type Guard struct {
	// Options are the operator's options, Fleet those of the fleet it
	// shares its budget with; Operator serves the operator's methods;
	// Records takes lightningd's notifications of payments; Metrics
	// serves Prometheus.
	Options  *options.Options
	Fleet    *fleet.Options
	Operator *operator.Methods
	Records  *records.Keeper
	Metrics  *metrics.Server

	out       jsonrpc.Notifier // nil in tests
	logf      func(level, format string, args ...any)
	ledger    *ledger.Ledger
	tally     operator.Tally
	pauses    pause.Book
	claims    apps.Claims                    // runes checkrune let through
	calls     apps.Calls                     // runes of on-chain commands, for the calls they make
	preimages preimages.Watch                // who chose our invoices' preimages
	intents   intents.Book                   // what paying commands asked for, and who runs pay
	cln       atomic.Int32                   // lightningd's version (a price.Version), 0 until known
	rpc       atomic.Pointer[jsonrpc.Client] // lightningd, once its records are read
	fleet     atomic.Pointer[fleet.Member]   // the fleet, if any, once Ready
}

// New makes a guard that tells refusals, pauses and log lines to out
// (nil: nowhere) and shows version in pay-up-to-status.
func New(out jsonrpc.Notifier, version string) *Guard {
	g := &Guard{out: out, ledger: ledger.New(time.Now), logf: func(string, string, ...any) {}}
	if out != nil {
		g.logf = out.Log
	}
	// conn is lightningd, its version and the guard's store, once connected.
	conn := func() (*jsonrpc.Client, price.Version, store.Store) {
		c := g.rpc.Load()
		if c == nil {
			return nil, g.version(), nil
		}
		return c, g.version(), store.Datastore{C: c}
	}
	g.Options = &options.Options{Ledger: g.ledger}
	g.Fleet = &fleet.Options{}
	g.Records = &records.Keeper{Ledger: g.ledger, Log: g.logf, Wallet: func(c *jsonrpc.Client) (wallet.Node, *trust.List) {
		return wallet.Node{C: c, Version: g.version(), Network: g.Options.Network()}, g.Options.Trusted()
	}}
	g.Operator = &operator.Methods{Ledger: g.ledger, Options: g.Options, Pauses: &g.pauses, Tally: &g.tally,
		Conn: conn, Out: out, Version: version}
	g.Metrics = metrics.New(g.Operator.Status, &g.tally, g.logf, "rpc_command")
	return g
}

// ServeRPC answers one rpc_command hook call: it reads the command,
// checks it, and answers once. A check that must ask lightningd answers
// off the stdin loop, which must stay free to pass our own calls through
// this hook.
func (g *Guard) ServeRPC(params jsonrpc.Value) (any, error) {
	read := g.read(params)
	if read.kind == untouched {
		return continueAnswer, nil // most commands: nothing is kept
	}
	c := read // kept only for what is checked
	ask, err := g.check(&c)
	if ask == nil && err == nil && len(c.fleet.made()) > 0 {
		ask = agreed // the fleet must agree too
	}
	if ask != nil {
		return g.later(&c, ask), nil
	}
	return g.answer(&c, err), nil
}

// agreed is a check with nothing left to ask lightningd.
func agreed(context.Context) error { return nil }

// ask finishes a check by asking lightningd.
type ask func(ctx context.Context) error

// check runs the checks a command goes through, in order: a pause; which
// app asks and what it may run; trust; the price against the limit and
// the budgets in the ledger. It returns why the command is refused (nil:
// it runs), or what is left to ask lightningd.
func (g *Guard) check(c *command) (ask, error) {
	switch c.kind {
	case untouched:
		return nil, nil
	case invoice:
		g.preimages.Note(c.params, price.Order(c.method, g.version()))
		return nil, nil
	case runeCheck:
		return g.checkRune(c)
	}
	if x, ok := g.pauses.Stopped(); ok && !(c.method == rewritten && g.intents.XpayTakesPay()) {
		return nil, &refuse.Paused{Method: c.method, Pause: x} // a pay xpay runs is refused at its preapproveinvoice
	}
	switch {
	case c.err != nil:
		return nil, &refuse.Unverified{Why: "cannot read the command: " + c.err.Error()}
	case c.kind == onChain:
		return g.onChain(c)
	case c.kind == send:
		return g.send(c)
	}
	return g.payment(c)
}

// answer is continue for nil, else the refusal of why, told.
func (g *Guard) answer(c *command, why error) json.RawMessage {
	if why == nil {
		return continueAnswer
	}
	method := c.method
	if c.err != nil {
		method = "a command" // whatever it says it is
	}
	r := refuse.For(method, why)
	told := r.Told(c.method)
	g.tally.Refusal(c.method, r.Code, told)
	g.logf("info", "refused %s (code %d): %s", c.method, r.Code, r.Message)
	if g.out != nil {
		g.out.Notify(RefusedTopic, told)
	}
	return r.Answer()
}

// later answers off the stdin loop once lightningd has been asked.
func (g *Guard) later(c *command, ask ask) jsonrpc.Deferred {
	k := c.keep()
	return func(reply func(any, error)) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := ask(ctx)
		if err == nil {
			err = g.fleet.Load().Confirm(ctx, k.fleet.made())
		}
		reply(g.answer(k, err), nil)
	}
}

// claim is where the ledger tells what a decision on c adds to the
// node's windows, when a fleet must agree to it; nil otherwise.
func (g *Guard) claim(c *command) *ledger.Claim {
	if c.fleet == nil {
		return nil
	}
	cl := new(ledger.Claim)
	c.fleet.list = append(c.fleet.list, cl)
	return cl
}

// Fallback answers when ServeRPC panicked or the request was too large to
// read: a command that may spend is refused, any other continues.
func (g *Guard) Fallback(params jsonrpc.Value, cause error) any {
	c := readCommand(params)
	if !c.spends() {
		return continueAnswer
	}
	why := "internal error (" + cause.Error() + ")"
	if errors.Is(cause, jsonrpc.ErrTruncated) {
		why = "the request is too large to check, or cut off"
	}
	method := c.method
	if method == "" {
		method = "a command"
	}
	return refuse.For(method, &refuse.Unverified{Why: why}).Answer()
}

// version is lightningd's, once known.
func (g *Guard) version() price.Version { return price.Version(g.cln.Load()) }
