// Package preimages tells whether lightningd alone knows a payment's
// preimage, by watching the invoices whose preimages callers choose.
//
// A payment to ourselves around a cycle of channels is exempt from the
// limit only while no hop can claim it, that is while nobody but
// lightningd knows its preimage: an unpaid invoice of ours, made while
// pay-up-to watched (created_index above the one it started at, CLN
// v23.08+), whose preimage no caller gave (`invoice` with `preimage`,
// `createinvoice`). Preimages are not secret once a client chose one.
package preimages

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// Chosen reports whether method makes an invoice with a preimage its
// caller may give; such a command is watched, never refused.
func Chosen(method string) bool { return method == "invoice" || method == "createinvoice" }

// Watch remembers the hashes of preimages that callers chose. The zero
// value watches nothing until Start.
type Watch struct {
	mu     sync.Mutex // protects known, order, since and reason
	known  map[ledger.Hash]struct{}
	order  []ledger.Hash // oldest first, to forget beyond maxKnown
	since  uint64        // invoices created after this index were watched; 0: none
	reason string        // why none is, if none
}

// maxKnown bounds the hashes remembered; past it the oldest are
// forgotten, which only makes sends to ourselves with those hashes
// refused above the limit if their invoices were made before start.
const maxKnown = 1 << 16

// Note records the payment hash of a preimage a caller gave with invoice
// or createinvoice (whose positional parameters are order).
func (w *Watch) Note(params jsonrpc.Value, order []string) {
	a, err := price.ReadArgs(params, order)
	if err != nil || a["preimage"] == nil {
		return // lightningd refuses a preimage given twice
	}
	s, err := a["preimage"].String()
	if err != nil {
		return
	}
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return // lightningd refuses it
	}
	w.add(sha256.Sum256(b))
}

func (w *Watch) add(h ledger.Hash) {
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

func (w *Watch) start(index uint64, reason string) {
	w.mu.Lock()
	w.since, w.reason = index, reason
	w.mu.Unlock()
}

func (w *Watch) chosen(h ledger.Hash) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, known := w.known[h]
	return known
}

// Secret tells whether lightningd alone knows the preimage of hash: an
// unpaid invoice of ours, made while watched, with no caller's preimage.
// Otherwise it says why not. It asks lightningd, so it must not run on
// the stdin loop.
func (w *Watch) Secret(ctx context.Context, c *jsonrpc.Client, h ledger.Hash) (bool, string) {
	w.mu.Lock()
	since, reason := w.since, w.reason
	w.mu.Unlock()
	switch {
	case w.chosen(h):
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
	case w.chosen(h): // a caller may have given it while lightningd answered
		return false, "a caller chose its preimage"
	}
	return true, ""
}

// Start reads the index of the newest invoice: those created after it
// pass this plugin's hook, so their preimages are known to it.
func (w *Watch) Start(ctx context.Context, c *jsonrpc.Client) {
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
