package ledger

import (
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/payupto/pay-up-to/amount"
)

// TestClaims: a claimed approval is not found by a preapprove call until
// the fleet agrees to it, so that of two twins (same id, payee and
// amount) the one refused is never taken; Withdraw frees what it held
// and lets no part through.
func TestClaims(t *testing.T) {
	l, _ := testLedger(t, "10000msat/1d")
	ap := Approval{ID: "1", Method: "keysend", Dest: "02dest", Amount: 4000, Allowance: 4000, Retry: time.Minute}
	var first, second Claim
	ap.Claim = &first
	assert.Assert(t, l.Approve(ap) == nil)
	ap.Claim = &second
	assert.Assert(t, l.Approve(ap) == nil)
	assert.Equal(t, first.Amount, amount.MSat(4000))
	assert.Assert(t, first.Reservation())
	assert.Equal(t, l.Status().Windows[0].Reserved, amount.MSat(8000))
	h := Hash{7}
	assert.Assert(t, !l.Attach("1/keysend", h, "02dest", 4000), "both are held")
	first.Withdraw()
	second.Agreed()
	assert.Equal(t, l.Status().Windows[0].Reserved, amount.MSat(4000))
	assert.Assert(t, l.Attach("1/keysend", h, "02dest", 4000))
	// The part goes to the agreed twin, within its allowance.
	assert.Assert(t, l.Admit(Send{ID: "1/keysend/2", Key: PartKey{Hash: h, GroupID: 1, PartID: 0}, Sent: 4000}, 0, false) == nil)

	// A part counted on its own: withdrawn, it counts no more.
	var c Claim
	assert.Assert(t, l.SpendOnChain(OnChain{ID: Hash{9}, Leaving: 1000, Fee: 500, Claim: &c}, 0, false, true) == nil)
	assert.Assert(t, !c.Reservation())
	assert.Equal(t, c.Amount, amount.MSat(1500))
	assert.Equal(t, l.Status().Windows[0].Spent, amount.MSat(5500))
	c.Withdraw()
	assert.Equal(t, l.Status().Windows[0].Spent, amount.MSat(4000))

	// Share: reserved now, and each changed hour's minutes.
	sh := l.Share(true)
	assert.Equal(t, sh.Reserved, amount.MSat(0))
	var sum amount.MSat
	for _, ms := range sh.Hours {
		for _, m := range ms {
			sum += m.Sum
		}
	}
	assert.Equal(t, sum, amount.MSat(4000))
	assert.Equal(t, len(l.Share(false).Hours), 0, "nothing changed since")
}
