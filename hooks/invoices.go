package hooks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/hooks/refuse"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// A payment to ourselves around a cycle of channels is exempt from the
// limit only while no hop can claim it, that is while nobody but
// lightningd knows its preimage: an unpaid invoice of ours, made while
// pay-up-to watched (created_index above the one it started at, CLN
// v23.08+), whose preimage no caller gave (`invoice` with `preimage`,
// `createinvoice`). Preimages are not secret once a client chose one.

// invoiceCalls are the commands that make an invoice with a preimage a
// caller may know (their parameters are in params.go).
var invoiceCalls = map[string]bool{"invoice": true, "createinvoice": true}

// watch remembers the hashes of preimages that callers chose.
type watch struct {
	mu     sync.Mutex // protects known, order and since
	known  map[ledger.Hash]struct{}
	order  []ledger.Hash // oldest first, to forget beyond maxKnown
	since  uint64        // invoices created after this index were watched; 0: none
	reason string        // why none is, if none
}

// maxKnown bounds the hashes remembered; past it the oldest are
// forgotten, which only makes sends to ourselves with those hashes
// refused above the limit if their invoices were made before start.
const maxKnown = 1 << 16

// note records the payment hash of a preimage a caller gave with invoice
// or createinvoice (whose positional parameters are order). Such a
// command is never refused.
func (w *watch) note(params jsonrpc.Value, order []string) {
	a, err := price.ReadArgs(params, order)
	if err != nil {
		return
	}
	for _, v := range a["preimage"] {
		s, err := v.String()
		if err != nil {
			continue
		}
		b, err := hex.DecodeString(strings.TrimSpace(s))
		if err != nil {
			continue // lightningd refuses it
		}
		w.add(sha256.Sum256(b))
	}
}

func (w *watch) add(h ledger.Hash) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.known == nil {
		w.known = map[ledger.Hash]struct{}{}
	}
	if _, ok := w.known[h]; ok {
		return
	}
	w.known[h] = struct{}{}
	w.order = append(w.order, h)
	if len(w.order) > maxKnown {
		delete(w.known, w.order[0])
		w.order = append(w.order[:0:0], w.order[1:]...)
	}
}

func (w *watch) start(index uint64, reason string) {
	w.mu.Lock()
	w.since, w.reason = index, reason
	w.mu.Unlock()
}

// trusted tells whether lightningd alone knows the preimage of hash: an
// unpaid invoice of ours, made while watched, with no caller's preimage.
// It asks lightningd, so it must not run on the stdin loop. Otherwise it
// says why not.
func (w *watch) trusted(ctx context.Context, c *jsonrpc.Client, h ledger.Hash) (bool, string) {
	w.mu.Lock()
	_, known := w.known[h]
	since, reason := w.since, w.reason
	w.mu.Unlock()
	switch {
	case known:
		return false, "a caller chose its preimage"
	case since == 0:
		return false, "pay-up-to cannot tell who chose its preimage: " + reason
	}
	var res struct {
		Invoices []struct {
			Status       string `json:"status"`
			CreatedIndex uint64 `json:"created_index"`
		} `json:"invoices"`
	}
	if err := c.Call(ctx, "listinvoices", map[string]any{"payment_hash": h.String()}, &res); err != nil {
		return false, fmt.Sprintf("listinvoices: %v", err)
	}
	switch {
	case len(res.Invoices) == 0:
		return false, "this node has no invoice for it"
	case res.Invoices[0].Status != "unpaid":
		return false, "its invoice is " + res.Invoices[0].Status + ", so its preimage is known"
	case res.Invoices[0].CreatedIndex <= since:
		return false, "its invoice was made before pay-up-to started watching invoices"
	}
	// A caller may have given this preimage while lightningd answered.
	w.mu.Lock()
	_, known = w.known[h]
	w.mu.Unlock()
	if known {
		return false, "a caller chose its preimage"
	}
	return true, ""
}

// startWatching reads the index of the newest invoice: those created
// after it pass this plugin's hook, so their preimages are known to it.
func (w *watch) startWatching(ctx context.Context, c *jsonrpc.Client) {
	var res struct {
		Created *uint64 `json:"created"`
	}
	err := c.Call(ctx, "wait", map[string]any{"subsystem": "invoices", "indexname": "created", "nextvalue": 0}, &res)
	switch {
	case err != nil:
		w.start(0, "lightningd has no invoice index (CLN v23.08+): "+err.Error())
	case res.Created == nil:
		w.start(0, "lightningd gave no invoice index")
	default:
		w.start(max(*res.Created, 1), "")
	}
}

// checkSelf is the deferred answer to a send to ourselves above the
// limit: allowed if lightningd alone knows its preimage.
func (g *Guard) checkSelf(method string, s ledger.Send, c *jsonrpc.Client) jsonrpc.Deferred {
	return func(reply func(any, error)) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		ok, why := g.watch.trusted(ctx, c, s.Key.Hash)
		s.Trusted = ok
		limit, hasLimit := g.Limit()
		r := refuse.Send(method, s, g.ledger.Admit(s, limit, hasLimit))
		if r == nil {
			reply(continueAnswer, nil)
			return
		}
		if why != "" && r.Code == CodeOverLimit {
			r.Message += ": " + why
		}
		g.tell(method, r)
		reply(r.Answer(), nil)
	}
}

// OnInvoicePayment applies lightningd's invoice_payment notification:
// our invoice received msat, so payments we sent ourselves with its hash
// count only what did not come back.
func (g *Guard) OnInvoicePayment(_ string, params jsonrpc.Value) {
	v := params
	if inner, ok := params.Member("invoice_payment"); ok {
		v = inner
	}
	pre, _ := v.Member("preimage")
	amt, _ := v.Member("msat")
	s, err := pre.String()
	b, err2 := hex.DecodeString(s)
	m, err3 := price.MSat(amt)
	if err != nil || err2 != nil || err3 != nil || len(b) != 32 {
		g.logf("unusual", "cannot read invoice_payment %.200s", params)
		return
	}
	g.ledger.Received(sha256.Sum256(b), m)
}

// creditPaid asks lightningd whether our invoices received the payments
// to ourselves that the records read at start do not settle.
func (g *Guard) creditPaid(ctx context.Context, c *jsonrpc.Client) {
	for _, h := range g.ledger.Uncredited() {
		var res struct {
			Invoices []struct {
				Status   string        `json:"status"`
				Received jsonrpc.Value `json:"amount_received_msat"`
			} `json:"invoices"`
		}
		if err := c.Call(ctx, "listinvoices", map[string]any{"payment_hash": h.String()}, &res); err != nil {
			g.logf("unusual", "listinvoices %s: %v", h, err)
			continue
		}
		if len(res.Invoices) == 1 && res.Invoices[0].Status == "paid" {
			if m, err := price.MSat(res.Invoices[0].Received); err == nil {
				g.ledger.Received(h, m)
			}
		}
	}
}
