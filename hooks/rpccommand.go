// Package hooks holds pay-up-to's guard: the rpc_command hook that refuses
// payments and HTLCs above the limit or the budget, and the ledger of what
// the node has sent. The limit is in policy.go, low-level sends in
// sends.go, the budget's ledger in ledger.go and reserve.go.
package hooks

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/payupto/pay-up-to/amount"
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
	intents  intents
	// xpayTakesPay: the last pay seen reaching preapproveinvoice ran as
	// xpay-as-pay.
	xpayTakesPay atomic.Bool
	// onionPriced: injectpaymentonion's amount_msat is what it sends
	// (lightningd before v26.06).
	onionPriced atomic.Bool

	once   sync.Once
	ledger *Ledger
}

// Notifier is where refusals are told: jsonrpc.Server.
type Notifier interface {
	Notify(method string, params any) error
	Log(level, format string, args ...any)
}

// init makes the ledger; the zero Guard is ready to use.
func (g *Guard) init() {
	g.once.Do(func() {
		g.ledger = newLedger(time.Now)
		g.ledger.store = newStore()
	})
}

// CheckBudget validates a budget such as "0.01btc/1d,0.002btc/1h".
func (g *Guard) CheckBudget(s string) error {
	_, err := ParseBudget(s)
	return err
}

// SetBudget parses and applies a budget; on error the old one stays.
func (g *Guard) SetBudget(s string) error {
	ws, err := ParseBudget(s)
	if err != nil {
		return err
	}
	g.init()
	g.ledger.setWindows(ws)
	return nil
}

// Ready returns why the guard cannot run with the options it has, or "".
func (g *Guard) Ready() string {
	g.init()
	if _, ok := g.Limit(); !ok && !g.ledger.hasBudget() {
		return "option limit is required unless budget is set (e.g. limit=0.001btc or budget=0.01btc/1d)"
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
	if !guarded(method) && method != "" {
		return continueAnswer, nil
	}
	var r *refusal
	switch {
	case err != nil:
		r = unverified("a command", "cannot read the command: "+err.Error(), "", "")
	case lowLevel[method] != nil:
		r = g.decideSend(method, id, cparams)
	default:
		r = g.decide(method, id, cparams)
	}
	if r == nil {
		return continueAnswer, nil
	}
	g.tell(method, r)
	return r.answer(), nil
}

func guarded(method string) bool {
	_, spends := spends[method]
	return spends || lowLevel[method] != nil
}

// decideSend bounds a low-level send (see sends.go).
func (g *Guard) decideSend(method, id string, params jsonrpc.Value) *refusal {
	s, err := g.readSend(method, id, params)
	if err != nil {
		if s.key.hash == "" {
			return unverified(method, err.Error(), "", "")
		}
		return unverified(method, err.Error(), "payment_hash", hexHash(s.key.hash))
	}
	limit, hasLimit := g.Limit()
	return g.ledger.admit(s, limit, hasLimit)
}

// tell reports a refusal: counted for pay-up-to-status, one line in
// lightningd's log, and a pay_up_to_refused notification.
func (g *Guard) tell(method string, r *refusal) {
	told := r.told(method)
	g.ledger.record(told)
	if g.Out == nil {
		return
	}
	g.Out.Log("info", "refused %s (code %d): %s", method, r.code, r.message)
	g.Out.Notify(RefusedTopic, told)
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
	return unverified(method, why, "", "").answer()
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

// refusal is a return.error answer. It is encoded by hand, in a fixed
// field order, because refusals are on the hot path of every payment.
type refusal struct {
	code    int
	message string
	data    []field
}

type field struct {
	key, str string
	num      uint64
	isNum    bool
}

// answer encodes {"return":{"error":{"code":…,"message":…,"data":{…}}}}.
func (r *refusal) answer() json.RawMessage {
	b := make([]byte, 0, 256+len(r.message)+64*len(r.data))
	b = append(b, `{"return":{"error":`...)
	b = r.appendError(b)
	return append(b, "}}"...)
}

// told is the pay_up_to_refused notification's params: the method and
// the error object's members.
func (r *refusal) told(method string) json.RawMessage {
	b := make([]byte, 0, 256+len(r.message)+64*len(r.data))
	b = append(b, `{"method":`...)
	b = jsonrpc.AppendString(b, method)
	b = append(b, ',')
	e := r.appendError(b[len(b):])
	return append(b, e[1:]...)
}

// appendError appends {"code":…,"message":…,"data":{…}}; told reuses all
// but its first byte.
func (r *refusal) appendError(b []byte) []byte {
	b = append(b, `{"code":`...)
	b = strconv.AppendInt(b, int64(r.code), 10)
	b = append(b, `,"message":`...)
	b = jsonrpc.AppendString(b, r.message)
	if r.data != nil {
		b = append(b, `,"data":{`...)
		for i, f := range r.data {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonrpc.AppendString(b, f.key)
			b = append(b, ':')
			if f.isNum {
				b = strconv.AppendUint(b, f.num, 10)
			} else {
				b = jsonrpc.AppendString(b, f.str)
			}
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// intents remembers the amounts given with amountless invoices, so the
// preapproveinvoice call that follows (which carries only the invoice) can
// be priced. It holds the last len(ring) entries.
type intents struct {
	mu   sync.Mutex // protects ring and next
	ring [1024]intent
	next int
}

type intent struct {
	id, invoice string
	amount      amount.MSat
	fee         amount.MSat   // the fee allowance of the command
	retry       time.Duration // how long it keeps trying
}

func (t *intents) add(id, invoice string, m, fee amount.MSat, retry time.Duration) {
	t.mu.Lock()
	t.ring[t.next%len(t.ring)] = intent{id, invoice, m, fee, retry}
	t.next++
	t.mu.Unlock()
}

// find returns the fee allowance recorded by the command whose id
// prefixes id (or is id).
func (t *intents) find(id string) (intent, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	// The paying command comes just before its preapprove call.
	for i := 1; i <= min(t.next, 256); i++ {
		e := t.ring[(t.next-i)%len(t.ring)]
		if e.fee > 0 && (e.id == id || strings.HasPrefix(id, e.id+"/")) {
			return e, true
		}
	}
	return intent{}, false
}

// lookup prices invoice for the call id: the largest amount that a command
// whose id prefixes id gave with it. Legacy pay before v24.05 calls
// preapproveinvoice with an id of its own ("pay:preapproveinvoice#4"); for
// such an unchained id, the largest amount any recent command gave with
// this invoice is used instead.
func (t *intents) lookup(id, invoice string) (amount.MSat, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	chained := strings.Contains(id, "/")
	var m amount.MSat
	found := false
	for _, e := range t.ring {
		if e.invoice != invoice || invoice == "" {
			continue
		}
		if !chained || e.id != "" && strings.HasPrefix(id, e.id+"/") {
			m, found = max(m, e.amount), true
		}
	}
	return m, found
}
