// Package hooks holds pay-up-to's rpc_command hook: it reads each command
// lightningd forwards and refuses the payments above the limit. The policy
// itself is in policy.go.
package hooks

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// continueAnswer lets the command run, untouched.
var continueAnswer = json.RawMessage(`{"result":"continue"}`)

// Guard is the rpc_command hook handler. Its zero value refuses every
// payment until a limit is set.
type Guard struct {
	limit    atomic.Uint64
	limitSet atomic.Bool
	intents  intents
	// xpayTakesPay: the last pay seen reaching preapproveinvoice ran as
	// xpay-as-pay.
	xpayTakesPay atomic.Bool
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
	cmd, _ := params.Member("rpc_command")
	method, id, cparams, err := command(cmd)
	if _, spends := spends[method]; !spends && method != "" {
		return continueAnswer, nil
	}
	if err != nil {
		return unverified("a command", "cannot read the command: "+err.Error(), "", "").answer(), nil
	}
	if r := g.decide(method, id, cparams); r != nil {
		return r.answer(), nil
	}
	return continueAnswer, nil
}

// Fallback answers when ServeRPC panicked or the request was too large to
// read: a command that may spend is refused, any other continues.
func (g *Guard) Fallback(params jsonrpc.Value, cause error) any {
	cmd, _ := params.Member("rpc_command")
	method, _, _, _ := command(cmd)
	if _, spends := spends[method]; !spends && method != "" {
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
	b = append(b, `{"return":{"error":{"code":`...)
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
	return append(b, "}}}"...)
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
}

func (t *intents) add(id, invoice string, m amount.MSat) {
	t.mu.Lock()
	t.ring[t.next%len(t.ring)] = intent{id, invoice, m}
	t.next++
	t.mu.Unlock()
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
