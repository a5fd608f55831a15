package hooks

import (
	"fmt"
	"strings"

	"github.com/payupto/pay-up-to/hooks/ledger"

	"github.com/payupto/pay-up-to/hooks/preimages"
	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// command is a forwarded command as the guard reads it.
type command struct {
	method string
	// id is the command's own id as lightningd prefixes nested calls
	// with it (e.g. "cli:pay#7" → "cli:pay#7/cln:xpay-as-pay#8/…"): a
	// string id without its quotes, any other raw.
	id     string
	params jsonrpc.Value
	err    error // why it cannot be read
	kind   kind
	// rune is the unique id of the app's rune that asked for a spend, or
	// "" for the operator (see package apps).
	rune string
	// fleet, in a fleet, holds what the ledger let it add to the node's
	// windows, which the fleet must agree to before it runs; the kept
	// copies share it.
	fleet *fleetClaims
}

// fleetClaims are a spend's claims on the fleet's budget.
type fleetClaims struct{ list []*ledger.Claim }

// made returns the claims the ledger filled.
func (f *fleetClaims) made() []*ledger.Claim {
	if f == nil {
		return nil
	}
	var out []*ledger.Claim
	for _, c := range f.list {
		if c.Made() {
			out = append(out, c)
		}
	}
	return out
}

// kind is what a command is to the guard.
type kind uint8

const (
	untouched kind = iota // not the guard's business
	invoice               // makes an invoice whose preimage a caller may choose
	runeCheck             // checkrune: an app asks for a command
	payment               // a payment command or its preapprove call
	send                  // a low-level send: one HTLC
	onChain               // an on-chain spend, or a gate of one
)

// Filters lists the commands the hook must see (CLN v25.12+ sends no
// others): the payment commands, their preapprove calls, the low-level
// sends that offer every HTLC, the on-chain commands and gates, the
// invoice commands whose preimage a caller may choose (watched, never
// refused), and checkrune.
func Filters() []string {
	return []string{"pay", "xpay", "renepay", "sendamount", "keysend", "xkeysend", "preapproveinvoice", "preapprovekeysend", "sendpay", "sendonion", "injectpaymentonion", "invoice", "createinvoice", "checkrune",
		"withdraw", "multiwithdraw", "txprepare", "signpsbt", "sendpsbt", "splice_signed", "close", "fundchannel", "fundchannel_start", "openchannel_init", "multifundchannel", "spliceout"}
}

// read reads a hook call's command, and for a spend which app's rune
// asked for it.
func (g *Guard) read(params jsonrpc.Value) command {
	c := readCommand(params)
	switch {
	case c.kind == payment:
		c.rune = g.claims.Take(c.method, c.params)
	case c.kind == send && c.id != "":
		c.rune = g.claims.Take(c.method, c.params)
	case c.kind == onChain:
		c.rune = g.calls.Of(c.id, g.claims.Take(c.method, c.params))
	}
	if c.spends() && g.fleet.Load() != nil {
		c.fleet = &fleetClaims{}
	}
	return c
}

// readCommand reads the forwarded request as lightningd acts on it (the
// first of duplicated members). One it cannot read is a spend to refuse.
func readCommand(params jsonrpc.Value) command {
	cmd, _ := params.Member("rpc_command")
	req, err := jsonrpc.ParseRequest(cmd)
	c := command{method: req.Method, params: req.Params, err: err}
	if req.ID != nil {
		if c.id, _ = req.ID.String(); req.ID.Kind() != '"' {
			c.id = strings.TrimSpace(string(req.ID))
		}
	}
	c.kind = kindOf(c.method)
	if c.method == "" && c.err == nil {
		c.err = fmt.Errorf("no method")
	}
	return c
}

// kindOf is what method is to the guard. A command without one is a
// spend to refuse.
func kindOf(method string) kind {
	switch {
	case method == "":
		return payment
	case preimages.Chosen(method):
		return invoice
	case method == "checkrune":
		return runeCheck
	case price.IsOnChain(method):
		return onChain
	case price.IsSend(method):
		return send
	case price.IsPayment(method):
		return payment
	}
	return untouched
}

// keep is a copy of c for a check that outlives the hook call: the stdin
// loop reuses what c's params were read from. A command checked in
// memory is never copied.
func (c *command) keep() *command {
	k := *c
	k.params = append(jsonrpc.Value(nil), c.params...)
	return &k
}

// spends reports whether c is a spend the guard checks.
func (c *command) spends() bool { return c.kind >= payment }
