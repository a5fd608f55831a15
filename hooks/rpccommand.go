// Package hooks is pay-up-to's rpc_command hook: it reads each forwarded
// command that may spend, prices it (package price), asks the ledger
// (package ledger), and answers continue or a refusal. The limit is in
// policy.go, refusals in refusal.go, and reading lightningd's records in
// history.go.
package hooks

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/hooks/intents"
	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/hooks/refuse"
	"github.com/payupto/pay-up-to/hooks/trust"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// continueAnswer lets the command run, untouched.
var continueAnswer = json.RawMessage(`{"result":"continue"}`)

// Guard is the rpc_command hook handler. Its zero value refuses every
// payment until a limit or budget is set.
type Guard struct {
	// Out, if set, receives the log line and the pay_up_to_refused
	// notification of every refusal.
	Out Notifier
	// Version, if set, is shown by pay-up-to-status.
	Version string

	limit    atomic.Uint64
	limitSet atomic.Bool
	intents  intents.Book
	// xpayTakesPay: the last pay seen reaching preapproveinvoice ran as
	// xpay-as-pay.
	xpayTakesPay atomic.Bool
	// cln is lightningd's version (a price.Version), 0 until known.
	cln atomic.Int32

	once   sync.Once
	ledger *ledger.Ledger
	stats  stats
	watch  watch                          // who chose our invoices' preimages
	rpc    atomic.Pointer[jsonrpc.Client] // lightningd, once connected
	claims claims                         // runes checkrune let through
	// runeRequired: a payment authorised by a rune without an allowance
	// is refused.
	runeRequired atomic.Bool
	trusted      atomic.Pointer[trust.List] // trusted-destinations
	net          atomic.Pointer[string]     // lightningd's network, once known
	chainRunes   chainRunes                 // runes of on-chain commands, for the calls they make
	pauses       pauses                     // the node's and runes' pauses
}

// stats are counts since start, for pay-up-to-status.
type stats struct {
	mu                sync.Mutex // protects everything below
	approved, refused uint64
	recent            []json.RawMessage // the last few, newest last: {"time",…told}
}

const recentRefusals = 10

// Notifier is where refusals are told: jsonrpc.Server.
type Notifier interface {
	Notify(method string, params any) error
	Log(level, format string, args ...any)
}

// init makes the ledger; the zero Guard is ready to use.
func (g *Guard) init() {
	g.once.Do(func() { g.ledger = ledger.New(time.Now) })
}

// CheckBudget validates a budget such as "0.01btc/1d,0.002btc/1h".
func (g *Guard) CheckBudget(s string) error {
	_, err := ledger.ParseBudget(s)
	return err
}

// SetBudget parses and applies a budget; on error the old one stays.
func (g *Guard) SetBudget(s string) error {
	ws, err := ledger.ParseBudget(s)
	if err != nil {
		return err
	}
	g.init()
	g.ledger.SetWindows(ws)
	return nil
}

// Ready returns why the guard cannot run with the options it has on
// network (lightningd's: "bitcoin", "regtest"…), or "".
func (g *Guard) Ready(network string) string {
	g.init()
	g.net.Store(&network)
	if _, ok := g.Limit(); !ok && !g.ledger.HasBudget() {
		return "option limit is required unless budget is set (e.g. limit=0.001btc or budget=0.01btc/1d)"
	}
	return g.trusted.Load().WrongNetwork(network)
}

// network is lightningd's, once known.
func (g *Guard) network() string {
	if n := g.net.Load(); n != nil {
		return *n
	}
	return ""
}

// Limit returns the limit, and false while none is set.
func (g *Guard) Limit() (amount.MSat, bool) {
	return amount.MSat(g.limit.Load()), g.limitSet.Load()
}

// CheckLimit validates a limit in CLN's amount syntax.
func (g *Guard) CheckLimit(s string) error {
	_, err := amount.ParseMSat(s)
	return err
}

// SetLimit parses and applies a limit; on error the old limit stays.
func (g *Guard) SetLimit(s string) error {
	m, err := amount.ParseMSat(s)
	if err != nil {
		return err
	}
	g.limit.Store(uint64(m))
	g.limitSet.Store(true)
	return nil
}

// ServeRPC answers one rpc_command hook call: continue, or return.error.
func (g *Guard) ServeRPC(params jsonrpc.Value) (any, error) {
	g.init()
	cmd, _ := params.Member("rpc_command")
	method, id, cparams, err := command(cmd)
	if invoiceCalls[method] {
		g.watch.note(cparams, price.Order(method, g.version()))
		return continueAnswer, nil
	}
	if method == "checkrune" {
		return g.checkRune(cparams), nil
	}
	if !guarded(method) && method != "" {
		return continueAnswer, nil
	}
	if x, ok := g.pauses.get(nodeKey); ok && !(method == rewritten && g.xpayTakesPay.Load()) {
		return g.refuse(method, refuse.Paused(method, x.RuneID, x.Since, x.Reason)), nil // a pay xpay runs is refused at its preapproveinvoice
	}
	var r *refuse.Refusal
	switch {
	case err != nil:
		r = refuse.Unverified("a command", "cannot read the command: "+err.Error(), "", "")
	case price.IsOnChain(method):
		return g.onChain(method, id, cparams), nil
	case price.IsSend(method):
		s, v, rr := g.decideSend(method, id, cparams)
		if c := g.rpc.Load(); v != nil && v.Reason == ledger.OverLimit && s.Self && c != nil {
			return g.checkSelf(method, s, c), nil // does lightningd alone know its preimage?
		}
		r = rr
	case g.trusted.Load().HasNodes() && g.rpc.Load() != nil:
		return g.decideTrusting(method, id, cparams), nil
	default:
		r = g.decide(method, id, cparams)
	}
	if r == nil {
		return continueAnswer, nil
	}
	g.tell(method, r)
	return r.Answer(), nil
}

func guarded(method string) bool {
	return price.IsPayment(method) || price.IsSend(method) || price.IsOnChain(method)
}

// version is lightningd's, once known.
func (g *Guard) version() price.Version { return price.Version(g.cln.Load()) }

// decideSend bounds a low-level send (see sends.go).
func (g *Guard) decideSend(method, id string, params jsonrpc.Value) (ledger.Send, *ledger.Verdict, *refuse.Refusal) {
	s, err := g.readSend(method, id, params)
	if err != nil {
		if s.Key.Hash.IsZero() {
			return s, nil, refuse.Unverified(method, err.Error(), "", "")
		}
		return s, nil, refuse.Unverified(method, err.Error(), "payment_hash", s.Key.Hash.String())
	}
	limit, hasLimit := g.Limit()
	v := g.ledger.Admit(s, limit, hasLimit)
	return s, v, refuse.Send(method, s, v)
}

// tell reports a refusal: counted for pay-up-to-status, one line in
// lightningd's log, and a pay_up_to_refused notification.
func (g *Guard) tell(method string, r *refuse.Refusal) {
	told := r.Told(method)
	g.stats.refusal(told)
	if g.Out == nil {
		return
	}
	g.Out.Log("info", "refused %s (code %d): %s", method, r.Code, r.Message)
	g.Out.Notify(RefusedTopic, told)
}

// refusal counts a refusal; told is its notification.
func (s *stats) refusal(told json.RawMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refused++
	rec := fmt.Appendf(nil, `{"time":%d,`, time.Now().Unix())
	s.recent = append(s.recent, append(rec, told[1:]...))
	if len(s.recent) > recentRefusals {
		s.recent = s.recent[1:]
	}
}

func (s *stats) approval() {
	s.mu.Lock()
	s.approved++
	s.mu.Unlock()
}

// RefusedTopic is the notification sent for every refusal.
const RefusedTopic = "pay_up_to_refused"

// Fallback answers when ServeRPC panicked or the request was too large to
// read: a command that may spend is refused, any other continues.
func (g *Guard) Fallback(params jsonrpc.Value, cause error) any {
	cmd, _ := params.Member("rpc_command")
	method, _, _, _ := command(cmd)
	if !guarded(method) && method != "" {
		return continueAnswer
	}
	why := "internal error (" + cause.Error() + ")"
	if errors.Is(cause, jsonrpc.ErrTruncated) {
		why = "the request is too large to check, or cut off"
	}
	if method == "" {
		method = "a command"
	}
	return refuse.Unverified(method, why, "", "").Answer()
}

// command reads the forwarded request as lightningd acts on it (the first
// of duplicated members); id is its own id as lightningd prefixes nested
// calls with it: a string id without its quotes, any other raw.
func command(cmd jsonrpc.Value) (method, id string, params jsonrpc.Value, err error) {
	req, err := jsonrpc.ParseRequest(cmd)
	if req.ID != nil {
		if id, _ = req.ID.String(); req.ID.Kind() != '"' {
			id = strings.TrimSpace(string(req.ID))
		}
	}
	if err == nil && req.Method == "" {
		err = fmt.Errorf("no method")
	}
	return req.Method, id, req.Params, err
}
