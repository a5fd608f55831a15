package hooks

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
	l := newLedger(c.now)
	ws, err := ParseBudget(budget)
	assert.NilError(t, err)
	l.setWindows(ws)
	l.load(nil, saved{}, "02self")
	return l, c
}

// hash is a payment hash as the ledger keeps it (32 bytes).
func hash(n int) string {
	h, _ := binHash(fmt.Sprintf("%064x", n))
	return h
}

// rawSpend records a raw part of m msat now.
func rawSpend(t *testing.T, l *Ledger, n int, m amount.MSat) {
	t.Helper()
	r := l.admit(send{method: "sendpay", id: "cli:sendpay#1", key: partKey{hash(n), 1, 0}, sent: m}, 0, false)
	assert.Assert(t, r == nil, "%+v", r)
}

func TestWindowsRoll(t *testing.T) {
	l, c := testLedger(t, "1000/10s,2500/1h")
	rawSpend(t, l, 1, 600) // t=0
	c.t = c.t.Add(4 * time.Second)
	rawSpend(t, l, 2, 300) // t=4

	// 600+300+200 > 1000: refused by the 10 s window until t=10.
	r := l.admit(send{method: "sendpay", key: partKey{hash(3), 1, 0}, sent: 200}, 0, false)
	assert.Assert(t, r != nil)
	d := r.dataMap()
	assert.Equal(t, d["budget_exceeded"], "1000/10s")
	assert.Equal(t, d["used_msat"], uint64(900))
	assert.Equal(t, d["requested_msat"], uint64(200))
	assert.Equal(t, d["available_at"], uint64(1_700_000_010))
	assert.Equal(t, d["payment_hash"], hexHash(hash(3)))

	c.t = time.Unix(1_700_000_010, 0)
	rawSpend(t, l, 3, 200) // the first part left the 10 s window
	// Now the hour holds 1100: 1500 more is refused there, never by 10 s.
	r = l.admit(send{method: "sendpay", key: partKey{hash(4), 1, 0}, sent: 1500}, 0, false)
	assert.Assert(t, r != nil)
	d = r.dataMap()
	assert.Equal(t, d["budget_exceeded"], "1000/10s", "both refuse; 10 s never fits 1500")
	_, has := d["available_at"]
	assert.Assert(t, !has, "a payment larger than the window never fits")

	c.t = time.Unix(1_700_000_015, 0) // part 2 left the 10 s window at t=14
	r = l.admit(send{method: "sendpay", key: partKey{hash(4), 1, 0}, sent: 700}, 0, false)
	assert.Assert(t, r == nil, "%+v", r)
	r = l.admit(send{method: "sendpay", key: partKey{hash(5), 1, 0}, sent: 800}, 0, false)
	d = r.dataMap()
	// 10 s: 900+800 > 1000 frees at t=25; hour: 1800+800 > 2500 at t=3600.
	assert.Equal(t, d["budget_exceeded"], "2500/1h", "the window that frees up last is named")
	assert.Equal(t, d["available_at"], uint64(1_700_003_600))
}

func TestFailedPartsFree(t *testing.T) {
	l, _ := testLedger(t, "1000/1h")
	rawSpend(t, l, 1, 900)
	l.resolve(row{key: partKey{hash(1), 1, 0}, sent: 900, state: failed})
	rawSpend(t, l, 2, 1000)
	// A failed part may be sent again under the same key.
	l.resolve(row{key: partKey{hash(2), 1, 0}, sent: 1000, state: failed})
	rawSpend(t, l, 2, 1000)
	l.resolve(row{key: partKey{hash(2), 1, 0}, sent: 1000, state: complete})
	assert.Equal(t, l.windows[0].sum, amount.MSat(1000))
}

func TestReservations(t *testing.T) {
	l, c := testLedger(t, "10000/1h")
	a := &approval{id: "cli:xpay#1", hash: hash(1), method: "xpay", allowance: 6000}
	assert.Assert(t, l.approve(a, time.Minute) == nil)
	// A concurrent payment sees the reservation.
	r := l.approve(&approval{id: "cli:xpay#2", hash: hash(2), method: "xpay", allowance: 5000, key: "bolt11", subj: "lnbc"}, time.Minute)
	assert.Assert(t, r != nil)
	assert.Equal(t, r.dataMap()["used_msat"], uint64(6000))
	_, has := r.dataMap()["available_at"]
	assert.Assert(t, !has, "only reservations: nothing rolls out")

	// Its parts draw from it; the chained id links them.
	part := func(id string, partid uint64, m amount.MSat) *refusal {
		return l.admit(send{method: "injectpaymentonion", id: id, key: partKey{hash(1), 7, partid}, sent: m}, 0, false)
	}
	assert.Assert(t, part("cli:xpay#1/cln:xpay#3/cln-xpay:injectpaymentonion#4", 1, 4000) == nil)
	assert.Equal(t, l.reserved, amount.MSat(2000))
	assert.Equal(t, l.windows[0].sum, amount.MSat(4000))
	// Beyond the approval: refused, whoever claims the id.
	r = part("cli:xpay#1/cln:xpay#3/cln-xpay:injectpaymentonion#5", 2, 2001)
	assert.Assert(t, r != nil && r.code == CodeOverLimit)
	assert.Equal(t, r.dataMap()["out_msat"], uint64(4000))
	// A failed part gives its share back to the approval.
	l.resolve(row{key: partKey{hash(1), 7, 1}, sent: 4000, state: failed})
	assert.Equal(t, l.reserved, amount.MSat(6000))
	assert.Assert(t, part("cli:xpay#1/cln:xpay#3/cln-xpay:injectpaymentonion#6", 2, 5000) == nil)
	// Success settles: the unspent allowance is freed at once.
	l.resolve(row{key: partKey{hash(1), 7, 2}, sent: 5000, state: complete})
	assert.Equal(t, l.reserved, amount.MSat(0))
	assert.Equal(t, l.windows[0].sum, amount.MSat(5000))

	// A payment that never sends holds its reservation until retry_for
	// and grace have passed.
	assert.Assert(t, l.approve(&approval{id: "cli:pay#9", hash: hash(9), method: "pay", allowance: 5000}, 5*time.Second) == nil)
	assert.Equal(t, l.reserved, amount.MSat(5000))
	c.t = c.t.Add(5*time.Second + grace + time.Second)
	assert.Assert(t, l.approve(&approval{id: "cli:pay#10", hash: hash(10), method: "pay", allowance: 5000}, time.Minute) == nil)
	assert.Equal(t, l.reserved, amount.MSat(5000))
}

func TestUnpricedRawInjection(t *testing.T) {
	l, _ := testLedger(t, "")
	s := send{method: "injectpaymentonion", id: "cli:injectpaymentonion#1", key: partKey{hash(1), 1, 1}, sent: 10, unpriced: "inside the onion"}
	r := l.admit(s, 1000, true)
	assert.Assert(t, r != nil && r.code == CodeUnverified)
	// xpay's own, chained to an approval, go through.
	assert.Assert(t, l.approve(&approval{id: "cli:xpay#1", hash: hash(1), method: "xpay", allowance: 100}, time.Minute) == nil)
	s.id = "cli:xpay#1/cln:xpay#2/cln-xpay:injectpaymentonion#3"
	assert.Assert(t, l.admit(s, 1000, true) == nil)
}

func TestRawLimitPerHash(t *testing.T) {
	l, _ := testLedger(t, "")
	limit := amount.MSat(1000)
	assert.Assert(t, l.admit(send{method: "sendpay", id: "x", key: partKey{hash(1), 1, 1}, sent: 600}, limit, true) == nil)
	r := l.admit(send{method: "sendpay", id: "x", key: partKey{hash(1), 1, 2}, sent: 401}, limit, true)
	assert.Assert(t, r != nil && r.code == CodeOverLimit)
	assert.Equal(t, r.dataMap()["out_msat"], uint64(600))
	assert.Assert(t, l.admit(send{method: "sendpay", id: "x", key: partKey{hash(1), 1, 2}, sent: 400}, limit, true) == nil)
	// A rebalance (verified: the route ends at our node) is exempt, but
	// its fees count in the budget.
	assert.Assert(t, l.admit(send{method: "sendpay", id: "x", key: partKey{hash(2), 1, 0}, sent: 5000, delivered: 4990, self: true}, limit, true) == nil)
	assert.Equal(t, l.byKey[partKey{hash(2), 1, 0}].counted, amount.MSat(10))
}

func TestPhantomPartsReconciled(t *testing.T) {
	l, c := testLedger(t, "1000/1h")
	// Sent without groupid: lightningd picks one.
	assert.Assert(t, l.admit(send{method: "sendpay", id: "x", key: partKey{hash(1), noGroup, 0}, sent: 700}, 0, false) == nil)
	assert.Assert(t, l.admit(send{method: "sendpay", id: "x", key: partKey{hash(2), 5, 0}, sent: 200}, 0, false) == nil)
	c.t = c.t.Add(grace + time.Second)
	assert.DeepEqual(t, l.unconfirmed(), []string{hash(2), hash(1)})
	// The first exists under groupid 3, with its true amount; the second
	// never made an HTLC.
	l.reconcile(hash(1), []row{{key: partKey{hash(1), 3, 0}, sent: 710, state: pending, created: c.t.Unix() - 11}})
	l.reconcile(hash(2), nil)
	assert.Equal(t, l.windows[0].sum, amount.MSat(710))
	assert.Assert(t, l.byKey[partKey{hash(1), 3, 0}] != nil)
	assert.Assert(t, len(l.unconfirmed()) == 0)
}

func TestLoadKeepsDeletedHistory(t *testing.T) {
	c := &clock{time.Unix(1_700_000_000, 0)}
	l := newLedger(c.now)
	ws, _ := ParseBudget("1btc/1d")
	l.setWindows(ws)
	now := c.t.Unix()
	rows := []row{
		{key: partKey{hash(1), 1, 0}, sent: 100, created: now - 60, state: complete},
		{key: partKey{hash(2), 1, 0}, sent: 50, created: now - 30, state: failed},
		{key: partKey{hash(3), 1, 0}, sent: 1000, delivered: 990, created: now - 20, state: complete, destination: "02self"},
		{key: partKey{hash(4), 1, 0}, sent: 7, created: now - 2*86400, state: complete},
	}
	sv := saved{parts: map[partKey]*part{
		// Deleted from listsendpays by delpay: still counts.
		{hash(5), 1, 0}: {key: partKey{hash(5), 1, 0}, sent: 300, counted: 300, created: now - 10, state: complete},
	}}
	l.load(rows, sv, "02self")
	assert.Equal(t, l.windows[0].sum, amount.MSat(100+10+300))
	assert.Assert(t, l.loaded)
}

func TestFeeAllowance(t *testing.T) {
	for _, tt := range []struct {
		method string
		params string
		amt    amount.MSat
		want   amount.MSat
	}{
		{"xpay", `{}`, 10_000_000, 100_000},
		{"xpay", `{}`, 100_000, 5000},
		{"renepay", `{}`, 10_000_000, 50_000},
		{"pay", `{"maxfee":"1sat"}`, 10_000_000, 1000},
		{"pay", `{"maxfeepercent":0.5,"exemptfee":20000}`, 10_000_000, 100_000},
		{"keysend", `{"maxfeepercent":"2"}`, 10_000_000, 200_000},
		{"keysend", `{"exemptfee":"7000msat"}`, 100, 7000},
		{"xpay", `{}`, 1, 5000},
		{"pay", `{"maxfeepercent":"0.001"}`, 1_000_001, 10_001},
	} {
		a, err := args([]byte(tt.params), nil)
		assert.NilError(t, err)
		got, err := feeAllowance(tt.method, a, tt.amt)
		assert.NilError(t, err, tt.params)
		assert.Equal(t, got, tt.want, "%s %s", tt.method, tt.params)
	}
	a, _ := args([]byte(`{"maxfeepercent":"lots"}`), nil)
	_, err := feeAllowance("pay", a, 1)
	assert.Assert(t, err != nil)
}

func TestOnionAmountTrusted(t *testing.T) {
	for v, want := range map[string]bool{"v24.11.2": true, "v26.04": true, "v26.06.6": false, "v26.06rc1": false, "v27.01": false, "v25.12.1-modded": true, "junk": false} {
		assert.Equal(t, onionAmountTrusted(v), want, v)
	}
}

// dataMap is the refusal's data as a map, for notifications and status.
func (r *refusal) dataMap() map[string]any {
	if r.data == nil {
		return nil
	}
	m := make(map[string]any, len(r.data))
	for _, f := range r.data {
		if f.isNum {
			m[f.key] = f.num
		} else {
			m[f.key] = f.str
		}
	}
	return m
}

// TestRestoredReservation: a reservation outstanding when the plugin
// stopped counts after a restart until its payer's deadline, less what its
// payment has out.
func TestRestoredReservation(t *testing.T) {
	c := &clock{time.Unix(1_700_000_000, 0)}
	l := newLedger(c.now)
	ws, _ := ParseBudget("10000/1h")
	l.setWindows(ws)
	rows := []row{{key: partKey{hash(1), 1, 1}, sent: 3000, created: c.t.Unix() - 5, state: pending}}
	sv := saved{parts: map[partKey]*part{}, approvals: []*approval{
		{name: "a", id: "cli:xpay#1", hash: hash(1), allowance: 8000, created: c.t.Add(-5 * time.Second), deadline: c.t.Add(30 * time.Second)},
		{name: "b", id: "cli:xpay#2", hash: hash(2), allowance: 9000, created: c.t.Add(-90 * time.Second), deadline: c.t.Add(-time.Second)},
	}}
	l.load(rows, sv, "02self")
	assert.Equal(t, l.windows[0].sum, amount.MSat(3000))
	assert.Equal(t, l.reserved, amount.MSat(5000), "a's remainder counts; b is past its deadline")
	// Its parts still draw from it after the restart.
	assert.Assert(t, l.admit(send{method: "injectpaymentonion", id: "cli:xpay#1/cln:xpay#3/cln-xpay:injectpaymentonion#9", key: partKey{hash(1), 1, 2}, sent: 5000}, 0, false) == nil)
	assert.Equal(t, l.reserved, amount.MSat(0))
	c.t = c.t.Add(time.Minute)
	r := l.admit(send{method: "sendpay", id: "x", key: partKey{hash(3), 1, 0}, sent: 2001}, 0, false)
	assert.Assert(t, r != nil && r.code == CodeOverBudget)
}
