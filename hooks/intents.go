package hooks

import (
	"strings"
	"sync"
	"time"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/hooks/ledger"
)

// intents remembers what paying commands asked for, so that the
// preapproveinvoice call they make later, which carries only the invoice,
// can be priced: the amount given with an amountless invoice, and the fee
// allowance and retry_for of a pay that xpay runs. A call is matched to
// its command by id (the command's id prefixes the call's) and by the
// payment: ids repeat across connections, so an id alone finds nothing.
// It holds the last len(ring) entries.
type intents struct {
	mu   sync.Mutex // protects ring and next
	ring [1024]intent
	next int
}

type intent struct {
	id      string
	invoice string      // canonical invoice or offer
	hash    ledger.Hash // the invoice's payment hash, if it has one
	amount  amount.MSat // given with an amountless invoice
	fee     amount.MSat // the fee allowance of the command
	retry   time.Duration
	rune    string // the rune that authorised the command, if any
	paid    bool   // fee, retry and rune are the command's
	// unpriced: only the rune is known (a BIP353 name is priced at its
	// preapproveinvoice call).
	unpriced bool
	// declined: a pay that xpay does not rewrite (price.PayerOf), so
	// runs as legacy pay even while xpay takes pay over.
	declined bool
}

func (t *intents) add(e intent) {
	t.mu.Lock()
	t.ring[t.next%len(t.ring)] = e
	t.next++
	t.mu.Unlock()
}

// find returns the fee allowance and retry_for of the command whose id is
// callerID or prefixes it, and that pays invoice (same payment hash, or
// the same invoice string; an offer or a BIP353 name, whose invoice is
// fetched later, only when it is the one paid under that id).
func (t *intents) find(callerID, invoice string, hash ledger.Hash) (intent, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var offer intent
	offers := 0
	// The paying command comes just before its preapprove call.
	for i := 1; i <= min(t.next, 256); i++ {
		e := t.ring[(t.next-i)%len(t.ring)]
		if !e.paid || e.id != callerID && !strings.HasPrefix(callerID, e.id+"/") {
			continue
		}
		if !hash.IsZero() && e.hash == hash || e.invoice == invoice {
			return e, true
		}
		if strings.HasPrefix(e.invoice, "lno") || strings.Contains(e.invoice, "@") {
			offer = e
			offers++
		}
	}
	return offer, offers == 1
}

// lookup prices an amountless invoice for the call id: the largest
// amount that a command whose id prefixes id gave with it (so a repeated
// id is bounded by the largest of its commands). Legacy pay before
// v24.05 calls preapproveinvoice with an id of its own
// ("pay:preapproveinvoice#4"); for such an unchained id, the largest
// amount any recent command gave with this invoice is used instead.
func (t *intents) lookup(id, invoice string) (amount.MSat, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	chained := strings.Contains(id, "/")
	var m amount.MSat
	found := false
	for _, e := range t.ring {
		if e.paid || e.invoice != invoice || invoice == "" {
			continue
		}
		if !chained || e.id != "" && strings.HasPrefix(id, e.id+"/") {
			m, found = max(m, e.amount), true
		}
	}
	return m, found
}

// declined reports whether the latest pay under callerID is one xpay
// does not rewrite.
func (t *intents) declined(callerID string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := 1; i <= min(t.next, 256); i++ {
		if e := t.ring[(t.next-i)%len(t.ring)]; e.paid && e.id == callerID {
			return e.declined
		}
	}
	return false
}
