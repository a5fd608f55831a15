// Package intents remembers what paying commands asked for, for the
// preapprove calls their payers make later.
package intents

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/hooks/ledger"
)

// Book remembers what paying commands asked for, so that the
// preapproveinvoice call they make later, which carries only the invoice,
// can be priced: the amount given with an amountless invoice, and the fee
// allowance and retry_for of a pay that xpay runs. A call is matched to
// its command by id (the command's id prefixes the call's) and by the
// payment: ids repeat across connections, so an id alone finds nothing.
// It holds the last len(ring) entries.
type Book struct {
	mu   sync.Mutex // protects ring and next
	ring [1024]Intent
	next int
	// xpay: the last pay seen reaching preapproveinvoice ran as
	// xpay-as-pay.
	xpay atomic.Bool
}

// XpayTakesPay reports whether xpay runs pay (xpay-handle-pay), as last
// told or learnt.
func (t *Book) XpayTakesPay() bool { return t.xpay.Load() }

// SetXpayTakesPay records lightningd's xpay-handle-pay.
func (t *Book) SetXpayTakesPay(on bool) { t.xpay.Store(on) }

// LearnPayPath notes from a preapproveinvoice call's id whether the last
// pay ran as xpay-as-pay (xpay-handle-pay) or as legacy pay. Guessing
// wrong is safe either way: a refusal of a rewritten pay is ignored (and
// logged) and preapproveinvoice refuses; a pay that is not rewritten gets
// refused at preapproveinvoice, only less tidily before v24.05.
func (t *Book) LearnPayPath(id string) {
	switch {
	case strings.Contains(id, "/cln:xpay-as-pay#"):
		t.xpay.Store(true)
	case strings.Contains(id, "/cln:pay#"):
		// Unless xpay declined to rewrite this one pay.
		caller, _, _ := strings.Cut(id, "/cln:pay#")
		if !t.Declined(caller) {
			t.xpay.Store(false)
		}
	}
}

// Intent is what one paying command asked for.
type Intent struct {
	ID      string
	Invoice string      // canonical invoice or offer
	Hash    ledger.Hash // the invoice's payment hash, if it has one
	Amount  amount.MSat // given with an amountless invoice
	Fee     amount.MSat // the fee allowance of the command
	Retry   time.Duration
	Rune    string // the rune that authorised the command, if any
	Paid    bool   // fee, retry and rune are the command's
	// Unpriced: only the rune is known (a BIP353 name is priced at its
	// preapproveinvoice call).
	Unpriced bool
	// Declined: a pay that xpay does not rewrite (price.PayerOf), so
	// runs as legacy pay even while xpay takes pay over.
	Declined bool
}

// Add remembers e, forgetting the oldest past 1024.
func (t *Book) Add(e Intent) {
	t.mu.Lock()
	t.ring[t.next%len(t.ring)] = e
	t.next++
	t.mu.Unlock()
}

// Find returns the fee allowance and retry_for of the command whose id is
// callerID or prefixes it, and that pays invoice (same payment hash, or
// the same invoice string; an offer or a BIP353 name, whose invoice is
// fetched later, only when it is the one paid under that id).
func (t *Book) Find(callerID, invoice string, hash ledger.Hash) (Intent, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var offer Intent
	offers := 0
	// The paying command comes just before its preapprove call.
	for i := 1; i <= min(t.next, 256); i++ {
		e := t.ring[(t.next-i)%len(t.ring)]
		if !e.Paid || e.ID != callerID && !strings.HasPrefix(callerID, e.ID+"/") {
			continue
		}
		if !hash.IsZero() && e.Hash == hash || e.Invoice == invoice {
			return e, true
		}
		if strings.HasPrefix(e.Invoice, "lno") || strings.Contains(e.Invoice, "@") {
			offer = e
			offers++
		}
	}
	return offer, offers == 1
}

// Lookup prices an amountless invoice for the call id: the largest
// amount that a command whose id prefixes id gave with it (so a repeated
// id is bounded by the largest of its commands). Legacy pay before
// v24.05 calls preapproveinvoice with an id of its own
// ("pay:preapproveinvoice#4"); for such an unchained id, the largest
// amount any recent command gave with this invoice is used instead.
func (t *Book) Lookup(id, invoice string) (amount.MSat, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	chained := strings.Contains(id, "/")
	var m amount.MSat
	found := false
	for _, e := range t.ring {
		if e.Paid || e.Invoice != invoice || invoice == "" {
			continue
		}
		if !chained || e.ID != "" && strings.HasPrefix(id, e.ID+"/") {
			m, found = max(m, e.Amount), true
		}
	}
	return m, found
}

// Declined reports whether the latest pay under callerID is one xpay
// does not rewrite.
func (t *Book) Declined(callerID string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := 1; i <= min(t.next, 256); i++ {
		if e := t.ring[(t.next-i)%len(t.ring)]; e.Paid && e.ID == callerID {
			return e.Declined
		}
	}
	return false
}
