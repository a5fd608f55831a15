package ledger

import (
	"fmt"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/payupto/pay-up-to/amount"
)

func TestParseBudget(t *testing.T) {
	ws, err := ParseBudget("0.002btc/1h, 0.01btc/1d,50000sat/7d,1000/30s,5msat/2w,1sat/90m")
	assert.NilError(t, err)
	want := []struct {
		spec string
		m    amount.MSat
		p    time.Duration
	}{
		{"0.002btc/1h", 200_000_000, time.Hour},
		{"0.01btc/1d", 1_000_000_000, 24 * time.Hour},
		{"50000sat/7d", 50_000_000, 7 * 24 * time.Hour},
		{"1000/30s", 1000, 30 * time.Second},
		{"5msat/2w", 5, 14 * 24 * time.Hour},
		{"1sat/90m", 1000, 90 * time.Minute},
	}
	assert.Equal(t, len(ws), len(want))
	for i, w := range want {
		assert.Equal(t, ws[i].Spec, w.spec)
		assert.Equal(t, ws[i].Amount, w.m)
		assert.Equal(t, ws[i].Period, w.p)
	}
	ws, err = ParseBudget("  ")
	assert.NilError(t, err)
	assert.Assert(t, ws == nil)

	for in, msg := range map[string]string{
		"0.01btc":           "not AMOUNT/PERIOD",
		"0.01btc/":          "not a number followed by",
		"0.01btc/d":         "not a number followed by",
		"0.01btc/1y":        "does not end in",
		"0.01btc/0d":        "between 1d and 100 years",
		"0.01btc/-1d":       "not a whole number",
		"0.01btc/1.5h":      "not a whole number",
		"0.01btc/99999999w": "between 1w and 100 years",
		"lots/1d":           "budget: \"lots/1d\"",
		"1e3/1d":            "budget:",
		"1btc/1d,2btc/24h":  "two windows of 24h",
		"1btc/1d,":          "not AMOUNT/PERIOD",
	} {
		_, err := ParseBudget(in)
		assert.Assert(t, err != nil, in)
		assert.Assert(t, is.Contains(err.Error(), msg), in)
	}
}

// clock is a settable time for ledgers under test.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func testLedger(t *testing.T, budget string) (*Ledger, *clock) {
	t.Helper()
	c := &clock{time.Unix(1_700_000_000, 0)}
	l := New(c.now)
	ws, err := ParseBudget(budget)
	assert.NilError(t, err)
	l.SetWindows(ws)
	l.Load(nil, Saved{}, "02self")
	return l, c
}

// hash is a test payment hash.
func hash(n int) Hash {
	h, _ := ParseHash(fmt.Sprintf("%064x", n))
	return h
}

// rawSpend records a raw part of m msat now.
func rawSpend(t *testing.T, l *Ledger, n int, m amount.MSat) {
	t.Helper()
	v := l.Admit(Send{ID: "cli:sendpay#1", Key: PartKey{hash(n), 1, 0}, Sent: m}, 0, false)
	assert.Assert(t, v == nil, "%+v", v)
}

func raw(n int, m amount.MSat) Send { return Send{ID: "x", Key: PartKey{hash(n), 1, 0}, Sent: m} }

func TestWindowsRoll(t *testing.T) {
	l, c := testLedger(t, "1000/10s,2500/1h")
	rawSpend(t, l, 1, 600) // t=0
	c.t = c.t.Add(4 * time.Second)
	rawSpend(t, l, 2, 300) // t=4

	// 600+300+200 > 1000: refused by the 10 s window until t=10.
	v := l.Admit(raw(3, 200), 0, false)
	assert.Assert(t, v != nil && v.Reason == OverBudget)
	assert.Equal(t, v.Window.Spec, "1000/10s")
	assert.Equal(t, v.Used, amount.MSat(900))
	assert.Equal(t, v.Requested, amount.MSat(200))
	assert.Equal(t, v.AvailableAt, int64(1_700_000_010))

	c.t = time.Unix(1_700_000_010, 0)
	rawSpend(t, l, 3, 200) // the first part left the 10 s window
	// Now the hour holds 1100: 1500 more is refused there, never by 10 s.
	v = l.Admit(raw(4, 1500), 0, false)
	assert.Assert(t, v != nil)
	assert.Equal(t, v.Window.Spec, "1000/10s", "both refuse; 10 s never fits 1500")
	assert.Equal(t, v.AvailableAt, int64(0), "a payment larger than the window never fits")

	c.t = time.Unix(1_700_000_015, 0) // part 2 left the 10 s window at t=14
	assert.Assert(t, l.Admit(raw(4, 700), 0, false) == nil)
	v = l.Admit(raw(5, 800), 0, false)
	// 10 s: 900+800 > 1000 frees at t=25; hour: 1800+800 > 2500 at t=3600.
	assert.Equal(t, v.Window.Spec, "2500/1h", "the window that frees up last is named")
	assert.Equal(t, v.AvailableAt, int64(1_700_003_600))
}

func spent(l *Ledger) amount.MSat { return l.Status().Windows[0].Spent }

func reserved(l *Ledger) amount.MSat { return l.Status().Windows[0].Reserved }

func TestFailedPartsFree(t *testing.T) {
	l, _ := testLedger(t, "1000/1h")
	rawSpend(t, l, 1, 900)
	l.Resolve(Row{Key: PartKey{hash(1), 1, 0}, Sent: 900, State: Failed})
	rawSpend(t, l, 2, 1000)
	// A failed part may be sent again under the same key.
	l.Resolve(Row{Key: PartKey{hash(2), 1, 0}, Sent: 1000, State: Failed})
	rawSpend(t, l, 2, 1000)
	l.Resolve(Row{Key: PartKey{hash(2), 1, 0}, Sent: 1000, State: Complete})
	assert.Equal(t, spent(l), amount.MSat(1000))
}

func TestReservations(t *testing.T) {
	l, c := testLedger(t, "10000/1h")
	assert.Assert(t, l.Approve(Approval{ID: "cli:xpay#1", Hash: hash(1), Method: "xpay", Allowance: 6000, Retry: time.Minute}) == nil)
	// A concurrent payment sees the reservation.
	v := l.Approve(Approval{ID: "cli:xpay#2", Hash: hash(2), Method: "xpay", Allowance: 5000, Retry: time.Minute})
	assert.Assert(t, v != nil && v.Reason == OverBudget)
	assert.Equal(t, v.Used, amount.MSat(6000))
	assert.Equal(t, v.AvailableAt, int64(0), "only reservations: nothing rolls out")

	// Its parts draw from it; the chained id links them.
	part := func(id string, partid uint64, m amount.MSat) *Verdict {
		return l.Admit(Send{ID: id, Key: PartKey{hash(1), 7, partid}, Sent: m}, 0, false)
	}
	assert.Assert(t, part("cli:xpay#1/cln:xpay#3/cln-xpay:injectpaymentonion#4", 1, 4000) == nil)
	assert.Equal(t, reserved(l), amount.MSat(2000))
	assert.Equal(t, spent(l), amount.MSat(4000))
	// Beyond the approval: refused, whoever claims the id.
	v = part("cli:xpay#1/cln:xpay#3/cln-xpay:injectpaymentonion#5", 2, 2001)
	assert.Assert(t, v != nil && v.Reason == OverApproval)
	assert.Equal(t, v.Out, amount.MSat(4000))
	assert.Equal(t, v.Max, amount.MSat(6000))
	// A failed part gives its share back to the approval.
	l.Resolve(Row{Key: PartKey{hash(1), 7, 1}, Sent: 4000, State: Failed})
	assert.Equal(t, reserved(l), amount.MSat(6000))
	assert.Assert(t, part("cli:xpay#1/cln:xpay#3/cln-xpay:injectpaymentonion#6", 2, 5000) == nil)
	// Success settles: the unspent allowance is freed at once.
	l.Resolve(Row{Key: PartKey{hash(1), 7, 2}, Sent: 5000, State: Complete})
	assert.Equal(t, reserved(l), amount.MSat(0))
	assert.Equal(t, spent(l), amount.MSat(5000))

	// A payment that never sends holds its reservation until retry_for
	// and grace have passed.
	assert.Assert(t, l.Approve(Approval{ID: "cli:pay#9", Hash: hash(9), Method: "pay", Allowance: 5000, Retry: 5 * time.Second}) == nil)
	assert.Equal(t, reserved(l), amount.MSat(5000))
	c.t = c.t.Add(5*time.Second + Grace + time.Second)
	assert.Assert(t, l.Approve(Approval{ID: "cli:pay#10", Hash: hash(10), Method: "pay", Allowance: 5000, Retry: time.Minute}) == nil)
	assert.Equal(t, reserved(l), amount.MSat(5000))
}

// TestRepeatedIDs: ids are unique per connection only. Approvals made
// under one id are told apart by payment hash, sequentially and at once.
func TestRepeatedIDs(t *testing.T) {
	l, _ := testLedger(t, "")
	// xkeysend with id 7, its hash revealed by its preapprovekeysend.
	assert.Assert(t, l.Approve(Approval{ID: "7", Method: "xkeysend", Dest: "02dd", Amount: 1000, Allowance: 1100, Retry: time.Minute}) == nil)
	assert.Assert(t, l.Attach("7/cln:xkeysend#2/cln-xpay:preapprovekeysend#3", hash(1), "02dd", 1000))
	// Then a pay with id 7 on another connection: its preapprove call is
	// not the keysend's.
	assert.Assert(t, !l.Attach("7/cln:xpay-as-pay#8/cln-xpay:preapproveinvoice#9", hash(2), "", 5000))
	assert.Assert(t, l.Approve(Approval{ID: "7/cln:xpay-as-pay#8", Hash: hash(2), Method: "preapproveinvoice", Amount: 5000, Allowance: 5100, Retry: time.Minute}) == nil)
	v := l.Admit(Send{ID: "7/cln:xpay-as-pay#8/cln-xpay:injectpaymentonion#10", Key: PartKey{hash(2), 1, 1}, Sent: 5050, Unpriced: true}, 1000, true)
	assert.Assert(t, v == nil, "%+v", v)

	// Hundreds of payments at once with id 1, each its own hash: every
	// one's parts find it (a bound per id once dropped all but 16).
	for i := 10; i < 310; i++ {
		assert.Assert(t, l.Approve(Approval{ID: "1", Hash: hash(i), Method: "xpay", Amount: 900, Allowance: 1000, Retry: time.Minute}) == nil)
	}
	for i := 10; i < 310; i++ {
		v := l.Admit(Send{ID: fmt.Sprintf("1/cln:xpay#%d/cln-xpay:injectpaymentonion#%d", i, i), Key: PartKey{hash(i), 1, 1}, Sent: 1000, Unpriced: true}, 500, true)
		assert.Assert(t, v == nil, "%d: %+v", i, v)
	}
	// A forged id reaches only an approval of the same hash, bounded by it.
	v = l.Admit(Send{ID: "1/x", Key: PartKey{hash(10), 1, 2}, Sent: 1, Unpriced: true}, 500, true)
	assert.Assert(t, v != nil && v.Reason == OverApproval)
	v = l.Admit(Send{ID: "1/x", Key: PartKey{hash(999), 1, 2}, Sent: 1, Unpriced: true}, 500, true)
	assert.Assert(t, v != nil && v.Reason == Unpriced)
	// Two offers paid under one id: each invoice finds its own by amount;
	// sendamount's invoice may ask less than was approved.
	assert.Assert(t, l.Approve(Approval{ID: "5", Method: "xpay", Amount: 1000, Allowance: 1100, Retry: time.Minute}) == nil)
	assert.Assert(t, l.Approve(Approval{ID: "5", Method: "xpay", Amount: 5000, Allowance: 5100, Retry: time.Minute}) == nil)
	assert.Assert(t, l.Attach("5/cln:xpay#1/cln-xpay:preapproveinvoice#2", hash(50), "", 1000))
	assert.Assert(t, l.Attach("5/cln:xpay#3/cln-xpay:preapproveinvoice#4", hash(51), "", 5000))
	assert.Assert(t, l.Admit(Send{ID: "5/cln:xpay#3/x", Key: PartKey{hash(51), 1, 1}, Sent: 5100}, 0, false) == nil)
	assert.Assert(t, l.Approve(Approval{ID: "6", Method: "sendamount", Amount: 2000, Allowance: 2100, Retry: time.Minute}) == nil)
	assert.Assert(t, l.Attach("6/cln:sendamount#1/cln-xpay:preapproveinvoice#2", hash(60), "", 1000))
	assert.Assert(t, !l.Attach("6/cln:sendamount#1/cln-xpay:preapproveinvoice#3", hash(61), "", 3000), "more than approved")

	// The same invoice paid twice under one id: each approval bounds one.
	l2, _ := testLedger(t, "")
	for range 2 {
		assert.Assert(t, l2.Approve(Approval{ID: "1", Hash: hash(1), Method: "xpay", Allowance: 1000, Retry: time.Minute}) == nil)
	}
	assert.Assert(t, l2.Admit(Send{ID: "1/a", Key: PartKey{hash(1), 1, 1}, Sent: 1000}, 0, false) == nil)
	assert.Assert(t, l2.Admit(Send{ID: "1/b", Key: PartKey{hash(1), 2, 1}, Sent: 1000}, 0, false) == nil)
	assert.Assert(t, l2.Admit(Send{ID: "1/b", Key: PartKey{hash(1), 2, 2}, Sent: 1}, 0, false) != nil)
}

func TestUnpricedRawInjection(t *testing.T) {
	l, _ := testLedger(t, "")
	s := Send{ID: "cli:injectpaymentonion#1", Key: PartKey{hash(1), 1, 1}, Sent: 10, Unpriced: true}
	v := l.Admit(s, 1000, true)
	assert.Assert(t, v != nil && v.Reason == Unpriced)
	// xpay's own, chained to an approval, go through.
	assert.Assert(t, l.Approve(Approval{ID: "cli:xpay#1", Hash: hash(1), Method: "xpay", Allowance: 100, Retry: time.Minute}) == nil)
	s.ID = "cli:xpay#1/cln:xpay#2/cln-xpay:injectpaymentonion#3"
	assert.Assert(t, l.Admit(s, 1000, true) == nil)
}

func TestRawLimitPerHash(t *testing.T) {
	l, _ := testLedger(t, "")
	limit := amount.MSat(1000)
	assert.Assert(t, l.Admit(Send{ID: "x", Key: PartKey{hash(1), 1, 1}, Sent: 600}, limit, true) == nil)
	v := l.Admit(Send{ID: "x", Key: PartKey{hash(1), 1, 2}, Sent: 401}, limit, true)
	assert.Assert(t, v != nil && v.Reason == OverLimit)
	assert.Equal(t, v.Out, amount.MSat(600))
	assert.Assert(t, l.Admit(Send{ID: "x", Key: PartKey{hash(1), 1, 2}, Sent: 400}, limit, true) == nil)
}

// TestSelfPayment: a payment to ourselves is exempt from the limit only
// when trusted, and counts in full until our invoice received it.
func TestSelfPayment(t *testing.T) {
	l, c := testLedger(t, "1btc/1d")
	now := c.t.Unix()
	limit := amount.MSat(1000)
	// Its preimage may be known to a hop: held to the limit.
	v := l.Admit(Send{ID: "x", Key: PartKey{hash(1), 1, 0}, Sent: 5000, Delivered: 4990, Self: true}, limit, true)
	assert.Assert(t, v != nil && v.Reason == OverLimit)
	// lightningd chose it: exempt, but counted in full for now.
	assert.Assert(t, l.Admit(Send{ID: "x", Key: PartKey{hash(1), 1, 0}, Sent: 5000, Delivered: 4990, Self: true, Trusted: true}, limit, true) == nil)
	assert.Equal(t, spent(l), amount.MSat(5000))
	// Completed, but our invoice did not receive it (a hop claimed it).
	l.Resolve(Row{Key: PartKey{hash(1), 1, 0}, Sent: 5000, Delivered: 4990, State: Complete, ToUs: true})
	assert.Equal(t, spent(l), amount.MSat(5000))
	// Our invoice received it: only the fees count.
	l.Received(hash(1), 4990)
	assert.Equal(t, spent(l), amount.MSat(10))
	assert.DeepEqual(t, l.Uncredited(), []Hash(nil))

	// The invoice paid before the part's record arrives (a row of a send
	// the hook never saw).
	l.Received(hash(2), 2000)
	l.Resolve(Row{Key: PartKey{hash(2), 1, 0}, Sent: 2003, Delivered: 2000, Created: now, State: Complete, ToUs: true})
	assert.Equal(t, spent(l), amount.MSat(13))
	// A row to ourselves with no invoice payment counts in full.
	l.Resolve(Row{Key: PartKey{hash(3), 1, 0}, Sent: 7000, Delivered: 6990, Created: now, State: Complete, ToUs: true})
	assert.Equal(t, spent(l), amount.MSat(7013))
	assert.DeepEqual(t, l.Uncredited(), []Hash{hash(3)})
}

func TestPhantomPartsReconciled(t *testing.T) {
	l, c := testLedger(t, "1000/1h")
	// Sent without groupid: lightningd picks one.
	assert.Assert(t, l.Admit(Send{ID: "x", Key: PartKey{hash(1), NoGroup, 0}, Sent: 700}, 0, false) == nil)
	assert.Assert(t, l.Admit(Send{ID: "x", Key: PartKey{hash(2), 5, 0}, Sent: 200}, 0, false) == nil)
	c.t = c.t.Add(Grace + time.Second)
	assert.DeepEqual(t, l.Unconfirmed(), []Hash{hash(2), hash(1)})
	// The first exists under groupid 3, with its true amount; the second
	// never made an HTLC.
	l.Reconcile(hash(1), []Row{{Key: PartKey{hash(1), 3, 0}, Sent: 710, State: Pending, Created: c.t.Unix() - 11}})
	l.Reconcile(hash(2), nil)
	assert.Equal(t, spent(l), amount.MSat(710))
	assert.Assert(t, l.byKey[PartKey{hash(1), 3, 0}] != nil)
	assert.Assert(t, len(l.Unconfirmed()) == 0)
}

func TestLoadKeepsDeletedHistory(t *testing.T) {
	c := &clock{time.Unix(1_700_000_000, 0)}
	l := New(c.now)
	ws, _ := ParseBudget("1btc/1d")
	l.SetWindows(ws)
	now := c.t.Unix()
	rows := []Row{
		{Key: PartKey{hash(1), 1, 0}, Sent: 100, Created: now - 60, State: Complete},
		{Key: PartKey{hash(2), 1, 0}, Sent: 50, Created: now - 30, State: Failed},
		// To ourselves: its record says our invoice received 990.
		{Key: PartKey{hash(3), 1, 0}, Sent: 1000, Delivered: 990, Created: now - 20, State: Complete, ToUs: true},
		{Key: PartKey{hash(4), 1, 0}, Sent: 7, Created: now - 2*86400, State: Complete},
		// To ourselves, never shown received: counts in full.
		{Key: PartKey{hash(6), 1, 0}, Sent: 2000, Delivered: 1990, Created: now - 20, State: Complete, ToUs: true},
	}
	var sv Saved
	// Deleted from listsendpays by delpay: still counts.
	assert.Assert(t, sv.Add("p", PartKey{hash(5), 1, 0}.String(), fmt.Sprintf("%d,300,300,1,0", now-10)))
	assert.Assert(t, sv.Add("p", PartKey{hash(3), 1, 0}.String(), fmt.Sprintf("%d,1000,10,1,1", now-20)))
	assert.Assert(t, !sv.Add("p", "junk", "1,2,3,4,5"))
	assert.Assert(t, !sv.Add("p", PartKey{hash(7), 1, 0}.String(), "1,2,3,4,5"), "counted above sent")
	l.Load(rows, sv, "02self")
	assert.Equal(t, spent(l), amount.MSat(100+10+2000+300))
	assert.Assert(t, l.Status().Loaded)
	assert.DeepEqual(t, l.Uncredited(), []Hash{hash(6)})
}

// TestRecordsRoundTrip: what the ledger writes, read back after a
// restart (with lightningd's history deleted), gives the same figures.
func TestRecordsRoundTrip(t *testing.T) {
	l, c := testLedger(t, "1btc/1d")
	rawSpend(t, l, 1, 600)
	assert.Assert(t, l.Admit(Send{ID: "x", Key: PartKey{hash(2), 1, 0}, Sent: 5000, Delivered: 4990, Self: true, Trusted: true}, 0, false) == nil)
	l.Resolve(Row{Key: PartKey{hash(2), 1, 0}, Sent: 5000, Delivered: 4990, State: Complete, ToUs: true})
	l.Received(hash(2), 4990)
	assert.Assert(t, l.Approve(Approval{ID: "cli:xpay#1", Hash: hash(3), Method: "xpay", Allowance: 7000, Retry: time.Minute}) == nil)
	want := l.Status().Windows

	var sv Saved
	for _, w := range l.Writes(1 << 20) {
		if w.Value != nil {
			assert.Assert(t, sv.Add(w.Kind, w.Name, *w.Value), "%+v", w)
		}
	}
	c.t = c.t.Add(5 * time.Second)
	l2 := New(c.now)
	l2.SetWindows([]Window{want[0].Window})
	l2.Load(nil, sv, "02self")
	assert.DeepEqual(t, l2.Status().Windows, want)
}

func TestParseHash(t *testing.T) {
	h, ok := ParseHash("00000000000000000000000000000000000000000000000000000000000000ff")
	assert.Assert(t, ok)
	assert.Equal(t, h.String(), "00000000000000000000000000000000000000000000000000000000000000ff")
	for _, bad := range []string{"", "ff", "zz00000000000000000000000000000000000000000000000000000000000000"} {
		_, ok := ParseHash(bad)
		assert.Assert(t, !ok, bad)
	}
}

// TestRestoredReservation: a reservation outstanding when the plugin
// stopped counts after a restart until its payer's deadline, less what its
// payment has out.
func TestRestoredReservation(t *testing.T) {
	c := &clock{time.Unix(1_700_000_000, 0)}
	l := New(c.now)
	ws, _ := ParseBudget("10000/1h")
	l.SetWindows(ws)
	rows := []Row{{Key: PartKey{hash(1), 1, 1}, Sent: 3000, Created: c.t.Unix() - 5, State: Pending}}
	var sv Saved
	assert.Assert(t, sv.Add("r", "a", fmt.Sprintf("%d,%d,8000,%s,cli:xpay#1", c.t.Unix()-5, c.t.Unix()+30, hash(1))))
	assert.Assert(t, sv.Add("r", "b", fmt.Sprintf("%d,%d,9000,%s,cli:xpay#2", c.t.Unix()-90, c.t.Unix()-1, hash(2))))
	l.Load(rows, sv, "02self")
	assert.Equal(t, spent(l), amount.MSat(3000))
	assert.Equal(t, reserved(l), amount.MSat(5000), "a's remainder counts; b is past its deadline")
	// Its parts still draw from it after the restart.
	assert.Assert(t, l.Admit(Send{ID: "cli:xpay#1/cln:xpay#3/cln-xpay:injectpaymentonion#9", Key: PartKey{hash(1), 1, 2}, Sent: 5000}, 0, false) == nil)
	assert.Equal(t, reserved(l), amount.MSat(0))
	c.t = c.t.Add(time.Minute)
	v := l.Admit(raw(3, 2001), 0, false)
	assert.Assert(t, v != nil && v.Reason == OverBudget)
}

// TestRuneAllowance: a rune's payments must fit its allowance and the
// node's; its figures are its own payments', fees included, and survive a
// restart with deleted history.
func TestRuneAllowance(t *testing.T) {
	l, c := testLedger(t, "10000/1h")
	ws, _ := ParseBudget("3000/1h")
	assert.NilError(t, l.SetAllowance(Allowance{Rune: "5", Limit: 2000, HasLimit: true, Windows: ws}))
	assert.Assert(t, l.SetAllowance(Allowance{Rune: "x"}) != nil)

	// Over its limit, under the node's.
	v := l.Approve(Approval{ID: "1", Hash: hash(1), Amount: 2001, Allowance: 2100, Retry: time.Minute, Rune: "5"})
	assert.Assert(t, v != nil && v.Reason == OverLimit && v.Account == "5", "%+v", v)
	assert.Equal(t, l.Check("5", 2001, 2100).Reason, OverLimit)
	assert.Assert(t, l.Check("5", 1000, 1100) == nil)
	// Within: reserved in both.
	assert.Assert(t, l.Approve(Approval{ID: "1", Hash: hash(1), Amount: 1000, Allowance: 1100, Retry: time.Minute, Rune: "5"}) == nil)
	assert.Assert(t, l.Admit(Send{ID: "1/a", Key: PartKey{hash(1), 1, 1}, Sent: 1010}, 0, false) == nil)
	l.Resolve(Row{Key: PartKey{hash(1), 1, 1}, Sent: 1010, State: Complete})
	st := l.Status()
	assert.Equal(t, st.Runes[0].Windows[0].Spent, amount.MSat(1010))
	assert.Equal(t, st.Windows[0].Spent, amount.MSat(1010))
	// Another payment, not through the rune, is not its.
	rawSpend(t, l, 2, 500)
	assert.Equal(t, l.Status().Runes[0].Windows[0].Spent, amount.MSat(1010))
	// Its budget: 1010 + 2100 > 3000.
	v = l.Approve(Approval{ID: "2", Hash: hash(3), Amount: 1900, Allowance: 2100, Retry: time.Minute, Rune: "5"})
	assert.Assert(t, v != nil && v.Reason == OverBudget && v.Account == "5", "%+v", v)
	assert.Equal(t, v.Used, amount.MSat(1010))
	// A raw send through it.
	v = l.Admit(Send{ID: "r", Key: PartKey{hash(4), 1, 0}, Sent: 2500, Rune: "5"}, 0, false)
	assert.Assert(t, v != nil && v.Reason == OverLimit && v.Account == "5", "%+v", v)
	assert.Assert(t, l.Admit(Send{ID: "r", Key: PartKey{hash(4), 1, 0}, Sent: 1990, Rune: "5"}, 0, false) == nil)
	assert.Equal(t, l.Status().Runes[0].Windows[0].Spent, amount.MSat(3000))

	// A restart with lightningd's history deleted keeps the rune's spending.
	var sv Saved
	for _, w := range l.Writes(1 << 20) {
		if w.Value != nil {
			assert.Assert(t, sv.Add(w.Kind, w.Name, *w.Value), "%+v", w)
		}
	}
	l2 := New(c.now)
	l2.SetWindows(ws[:0:0])
	l2.Load(nil, sv, "02self")
	st = l2.Status()
	assert.Equal(t, len(st.Runes), 1)
	assert.Equal(t, st.Runes[0].Windows[0].Spent, amount.MSat(3000))
	assert.Equal(t, st.Runes[0].Limit, amount.MSat(2000))

	// Removing the allowance leaves the node's figures.
	assert.Assert(t, l.DelAllowance("5"))
	assert.Assert(t, !l.DelAllowance("5"))
	assert.Equal(t, len(l.Status().Runes), 0)
	assert.Equal(t, l.Status().Windows[0].Spent, amount.MSat(3500))
	// Given back, it finds its parts again.
	assert.NilError(t, l.SetAllowance(Allowance{Rune: "5", Windows: ws}))
	assert.Equal(t, l.Status().Runes[0].Windows[0].Spent, amount.MSat(3000))
}

// TestReceivedBounded: every invoice the node is paid is told to the
// ledger; those no payment to ourselves has are not kept for long.
func TestReceivedBounded(t *testing.T) {
	l, c := testLedger(t, "1btc/1d")
	for i := range 100_000 {
		l.Received(hash(1_000_000+i), 1000)
		c.t = c.t.Add(time.Second)
	}
	assert.Assert(t, len(l.received) <= 2048, "%d kept", len(l.received))
	// One a payment to ourselves has is kept, and credits its part.
	assert.Assert(t, l.Admit(Send{ID: "x", Key: PartKey{hash(1), 1, 0}, Sent: 5000, Delivered: 4990, Self: true, Trusted: true}, 0, false) == nil)
	l.Received(hash(1), 4990)
	for i := range 5000 {
		l.Received(hash(2_000_000+i), 1000)
		c.t = c.t.Add(time.Second)
	}
	assert.Equal(t, l.received[hash(1)].amount, amount.MSat(4990))
}
