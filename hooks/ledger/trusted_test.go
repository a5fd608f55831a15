package ledger

import (
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/payupto/pay-up-to/amount"
)

// TestTrustedPayee: a payment to a trusted node holds and counts only its
// fees in the node's windows, all of it in its rune's, through failed
// parts, settlement and a restart with deleted history.
func TestTrustedPayee(t *testing.T) {
	l, c := testLedger(t, "1000/1h")
	ws, _ := ParseBudget("1000000/1h")
	assert.NilError(t, l.SetAllowance(Allowance{Rune: "5", Windows: ws}))
	runeWin := func(l *Ledger) WindowStatus { return l.Status().Runes[0].Windows[0] }

	// 100,000 with 1,000 of fees allowed: the node has room for the fees
	// only, and an untrusted payment of it would not fit.
	v := l.Approve(Approval{ID: "1", Hash: hash(1), Amount: 100_000, Allowance: 101_000, Retry: time.Minute, Rune: "5"})
	assert.Assert(t, v != nil && v.Reason == OverBudget && v.Account == "")
	ap := Approval{ID: "1", Hash: hash(1), Amount: 100_000, Allowance: 101_001, Retry: time.Minute, Rune: "5", Trusted: true}
	v = l.Approve(ap)
	assert.Assert(t, v != nil && v.Reason == OverBudget && v.Requested == 1001, "%+v", v)
	ap.Allowance = 101_000
	assert.Assert(t, l.Approve(ap) == nil)
	assert.Equal(t, reserved(l), amount.MSat(1000))
	assert.Equal(t, runeWin(l).Reserved, amount.MSat(101_000))

	part := func(partid uint64, m amount.MSat) *Verdict {
		return l.Admit(Send{ID: "1/x", Key: PartKey{hash(1), 1, partid}, Sent: m}, 0, false)
	}
	// Two parts; the second fails and is sent again.
	assert.Assert(t, part(1, 60_300) == nil)
	assert.Assert(t, part(2, 40_200) == nil)
	assert.Equal(t, spent(l), amount.MSat(500), "only what went past the amount")
	assert.Equal(t, spent(l)+reserved(l), amount.MSat(1000))
	l.Resolve(Row{Key: PartKey{hash(1), 1, 2}, Sent: 40_200, State: Failed})
	assert.Equal(t, spent(l), amount.MSat(0))
	assert.Equal(t, reserved(l), amount.MSat(1000))
	assert.Assert(t, part(3, 40_250) == nil)
	assert.Equal(t, spent(l)+reserved(l), amount.MSat(1000))
	// More than the allowance: refused, as for any payment.
	v = part(4, 500)
	assert.Assert(t, v != nil && v.Reason == OverApproval)
	l.Resolve(Row{Key: PartKey{hash(1), 1, 1}, Sent: 60_300, State: Complete})
	l.Resolve(Row{Key: PartKey{hash(1), 1, 3}, Sent: 40_250, State: Complete})
	assert.Equal(t, spent(l), amount.MSat(550), "the fees")
	assert.Equal(t, reserved(l), amount.MSat(0))
	assert.Equal(t, runeWin(l).Spent, amount.MSat(100_550), "the app is charged it all")

	// A restart with lightningd's history deleted keeps both figures.
	store := map[[2]string]string{}
	sv := saved(t, l, store)
	l2 := New(c.now)
	l2.SetWindows([]Window{l.Status().Windows[0].Window})
	l2.Load(nil, sv, "02self")
	assert.Equal(t, spent(l2), amount.MSat(550))
	assert.Equal(t, runeWin(l2).Spent, amount.MSat(100_550))
	// And with the history there.
	l3 := New(c.now)
	l3.SetWindows([]Window{l.Status().Windows[0].Window})
	l3.Load([]Row{
		{Key: PartKey{hash(1), 1, 1}, Sent: 60_300, Created: c.t.Unix(), State: Complete},
		{Key: PartKey{hash(1), 1, 2}, Sent: 40_200, Created: c.t.Unix(), State: Failed},
		{Key: PartKey{hash(1), 1, 3}, Sent: 40_250, Created: c.t.Unix(), State: Complete},
	}, sv, "02self")
	assert.Equal(t, spent(l3), amount.MSat(550))
	assert.Equal(t, runeWin(l3).Spent, amount.MSat(100_550))

	// A reservation outstanding at a restart stays a trusted one.
	assert.Assert(t, l.Approve(Approval{ID: "2", Hash: hash(2), Amount: 50_000, Allowance: 50_400, Retry: time.Minute, Trusted: true}) == nil)
	assert.Equal(t, reserved(l), amount.MSat(400))
	sv = saved(t, l, store)
	l4 := New(c.now)
	l4.SetWindows([]Window{l.Status().Windows[0].Window})
	l4.Load(nil, sv, "02self")
	assert.Equal(t, reserved(l4), amount.MSat(400))
	assert.Equal(t, spent(l4), amount.MSat(550))
}

func TestTrustedRecords(t *testing.T) {
	var sv Saved
	for _, bad := range [][2]string{
		{"p", "1,100,100,2,0,e=101"}, // more exempt than counted
		{"p", "1,100,100,2,0,e=0"},
		{"p", "1,100,100,2,0,e=x"},
		{"r", "1,2,100,,t=101,1"}, // an amount above the allowance
		{"r", "1,2,100,,t=x,1"},
	} {
		name := "a"
		if bad[0] == "p" {
			name = hash(1).String() + "-1-1"
		}
		assert.Assert(t, !sv.Add(bad[0], name, bad[1]), bad[1])
	}
	assert.Assert(t, sv.Add("p", hash(1).String()+"-1-1", "1,100,100,2,0,5,e=90"))
	assert.Assert(t, sv.Add("r", "a", "1,2,100,,r=5,t=90,cli:pay#1"))
	assert.Equal(t, sv.approvals[0].id, "cli:pay#1")
	assert.Equal(t, sv.approvals[0].rune, "5")
	assert.Assert(t, sv.approvals[0].trusted)
}

// saved applies l's writes to a datastore and reads it back.
func saved(t *testing.T, l *Ledger, store map[[2]string]string) Saved {
	t.Helper()
	for _, w := range l.Writes(1 << 20) {
		if w.Value == nil {
			delete(store, [2]string{w.Kind, w.Name})
		} else {
			store[[2]string{w.Kind, w.Name}] = *w.Value
		}
	}
	var sv Saved
	for k, v := range store {
		assert.Assert(t, sv.Add(k[0], k[1], v), "%v %s", k, v)
	}
	return sv
}
