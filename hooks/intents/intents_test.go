package intents

import (
	"fmt"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/hooks/ledger"
)

func TestBook(t *testing.T) {
	var b Book
	h := ledger.Hash{1}
	b.Add(Intent{ID: "1", Invoice: "lnbc1a", Hash: h, Fee: 7000, Paid: true})
	b.Add(Intent{ID: "1", Invoice: "lnbc1b", Fee: 9000, Paid: true, Declined: true})
	b.Add(Intent{ID: "1", Invoice: "lnbcany", Amount: 5000})
	b.Add(Intent{ID: "2", Invoice: "lnbcany", Amount: 8000})

	// A call is found by its caller's id and its payment, not by id alone.
	e, ok := b.Find("1/cln:xpay-as-pay#3/cln-xpay:preapproveinvoice#4", "other", h)
	assert.Assert(t, ok)
	assert.Equal(t, e.Fee, amount.MSat(7000))
	_, ok = b.Find("1/x", "lnbc1c", ledger.Hash{2})
	assert.Assert(t, !ok)
	_, ok = b.Find("10/x", "lnbc1a", h)
	assert.Assert(t, !ok, "an id is a prefix only up to a /")

	// An amountless invoice: the amount its command gave; unchained, the
	// largest any gave.
	m, ok := b.Lookup("1/pay:preapproveinvoice#2", "lnbcany")
	assert.Assert(t, ok)
	assert.Equal(t, m, amount.MSat(5000))
	m, _ = b.Lookup("pay:preapproveinvoice#2", "lnbcany")
	assert.Equal(t, m, amount.MSat(8000))
	_, ok = b.Lookup("3/x", "lnbcany")
	assert.Assert(t, !ok)

	assert.Assert(t, b.Declined("1"), "the latest pay under 1")
	assert.Assert(t, !b.Declined("2"))

	// It keeps the last 1024.
	for i := range 1024 {
		b.Add(Intent{ID: fmt.Sprint(100 + i), Invoice: "x", Paid: true})
	}
	_, ok = b.Find("1/x", "lnbc1a", h)
	assert.Assert(t, !ok)
}
