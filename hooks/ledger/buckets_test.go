package ledger

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/payupto/pay-up-to/amount"
)

// store is a datastore as the hook's writer keeps it.
type store map[[2]string]string

// flush applies the ledger's queued writes; without the index record
// when crash is set (the plugin killed between its writes).
func (s store) flush(l *Ledger, crash bool) {
	for {
		ws := l.Writes(256)
		if len(ws) == 0 {
			return
		}
		for _, w := range ws {
			switch {
			case crash && w.Kind == IndexKind:
			case w.Value == nil:
				delete(s, [2]string{w.Kind, w.Name})
			default:
				s[[2]string{w.Kind, w.Name}] = *w.Value
			}
		}
	}
}

func (s store) saved(t *testing.T) Saved {
	t.Helper()
	var sv Saved
	for k, v := range s {
		assert.Assert(t, sv.Add(k[0], k[1], v), "%s/%s: %q", k[0], k[1], v)
	}
	return sv
}

// node is lightningd's side: every part it has, by created_index.
type node struct {
	rows    []Row
	noIndex bool // before v23.11
}

// pay sends one part through the hook and lightningd records it.
func (n *node) pay(t *testing.T, l *Ledger, now int64, sent amount.MSat, state uint8, rune string) {
	t.Helper()
	k := PartKey{hash(len(n.rows) + 1), 1, 0}
	assert.Assert(t, l.Admit(Send{ID: "x", Key: k, Sent: sent, Rune: rune}, 0, false) == nil)
	r := Row{Key: k, Sent: sent, Created: now, State: state, Index: uint64(len(n.rows) + 1)}
	if n.noIndex {
		r.Index = 0
	}
	n.rows = append(n.rows, r)
	if state != Pending {
		l.Resolve(r)
	}
}

// from is what listsendpays index=created start=i gives.
func (n *node) from(i uint64) []Row {
	var out []Row
	for _, r := range n.rows {
		if r.Index >= i {
			out = append(out, r)
		}
	}
	return out
}

// figures are every window's spent, node's and runes', in msat.
func figures(l *Ledger) []amount.MSat {
	st := l.Status()
	var out []amount.MSat
	for _, w := range st.Windows {
		out = append(out, w.Spent, w.Reserved)
	}
	for _, r := range st.Runes {
		for _, w := range r.Windows {
			out = append(out, w.Spent, w.Reserved)
		}
	}
	return out
}

// TestFoldedWindows: with settled parts folded into minute buckets, each
// window holds what it held part by part, and at most the minute rolling
// out more; memory holds buckets, not payments.
func TestFoldedWindows(t *testing.T) {
	l, c := testLedger(t, "1000btc/1h,1000btc/1d")
	rng := rand.New(rand.NewPCG(1, 2))
	type paid struct {
		at   int64
		sent amount.MSat
	}
	var all []paid
	var n node
	for i := range 3 * 86400 / 7 {
		c.t = c.t.Add(time.Duration(1+rng.IntN(12)) * time.Second)
		now := c.t.Unix()
		sent := amount.MSat(1000 + rng.IntN(100_000))
		state := uint8(Complete)
		if i%5 == 0 {
			state = Failed
		}
		n.pay(t, l, now, sent, state, "")
		if state == Complete {
			all = append(all, paid{now, sent})
		}
		for _, w := range l.Status().Windows {
			cutoff := now - int64(w.Period/time.Second)
			var exact, rolling amount.MSat
			for _, p := range all {
				switch {
				case p.at > cutoff:
					exact += p.sent
				case p.at > cutoff-bucketSpan:
					rolling += p.sent
				}
			}
			assert.Assert(t, w.Spent >= exact && w.Spent <= exact+rolling, "%s at %d: spent %d, exact %d, +%d rolling out", w.Spec, now, w.Spent, exact, rolling)
		}
	}
	assert.Assert(t, len(l.node.parts) < 3000, "%d parts and buckets kept", len(l.node.parts))
	assert.Assert(t, len(l.byKey) < 100, "%d parts on their own", len(l.byKey))
	assert.Assert(t, len(l.folded) < 3, "folded %v", l.folded)
}

// TestRestartFromRecords: a restart reads only the rows after the index
// the records are complete to, and gives the same figures; with
// lightningd's history deleted too; and, killed between its writes,
// counts nothing twice.
func TestRestartFromRecords(t *testing.T) {
	l, c := testLedger(t, "1000btc/1d")
	ws, _ := ParseBudget("1000btc/1d")
	assert.NilError(t, l.SetAllowance(Allowance{Rune: "5", Windows: ws}))
	var n node
	s := store{}
	for i := range 4000 {
		c.t = c.t.Add(5 * time.Second)
		rune := ""
		if i%3 == 0 {
			rune = "5"
		}
		state := uint8(Complete)
		if i%7 == 0 {
			state = Failed
		}
		n.pay(t, l, c.t.Unix(), amount.MSat(1000+i), state, rune)
		if i%50 == 0 {
			s.flush(l, false)
		}
	}
	n.pay(t, l, c.t.Unix(), 777, Pending, "5") // in flight at the restart
	s.flush(l, false)
	want := figures(l)
	assert.Assert(t, len(s) < 20, "%d keys", len(s))

	restart := func(s store, rows func(from uint64) []Row) *Ledger {
		l2 := New(c.now)
		l2.SetWindows(ws)
		ld := l2.StartLoad(s.saved(t), "02self")
		ld.Rows(rows(ld.From()))
		ld.Done()
		return l2
	}
	l2 := restart(s, n.from)
	assert.DeepEqual(t, figures(l2), want)
	assert.DeepEqual(t, l2.Pending(), []Hash{hash(len(n.rows))})
	l3 := restart(s, func(uint64) []Row { return nil }) // delpay of everything
	assert.DeepEqual(t, figures(l3), want)

	// More payments; killed after the hours are written, before the index.
	for range 100 {
		c.t = c.t.Add(5 * time.Second)
		n.pay(t, l, c.t.Unix(), 5000, Complete, "")
	}
	c.t = c.t.Add(5 * time.Minute) // folded
	want = figures(l)
	crashed := store{}
	for k, v := range s {
		crashed[k] = v
	}
	crashed.flush(l, true)
	assert.Equal(t, crashed[[2]string{IndexKind, "created"}], s[[2]string{IndexKind, "created"}])
	l4 := restart(crashed, n.from)
	assert.DeepEqual(t, figures(l4), want)
	// And with every row read again, as a first start would.
	l5 := restart(crashed, func(uint64) []Row { return n.rows })
	assert.DeepEqual(t, figures(l5), want)
}

// TestRestartWithoutIndex: before v23.11 rows have no created_index, so
// every restart reads them all: a bucket is what they make or what was
// kept, whichever is more, never both.
func TestRestartWithoutIndex(t *testing.T) {
	l, c := testLedger(t, "1000btc/1d")
	n := node{noIndex: true}
	s := store{}
	for i := range 2000 {
		c.t = c.t.Add(7 * time.Second)
		n.pay(t, l, c.t.Unix(), amount.MSat(2000+i), Complete, "")
	}
	c.t = c.t.Add(5 * time.Minute)
	s.flush(l, false)
	want := figures(l)
	for _, rows := range [][]Row{n.rows, n.rows[:1000], n.rows[500:], nil} {
		l2 := New(c.now)
		ws, _ := ParseBudget("1000btc/1d")
		l2.SetWindows(ws)
		ld := l2.StartLoad(s.saved(t), "02self")
		for len(rows) > 0 { // a page at a time, as streamed
			k := min(len(rows), 300)
			ld.Rows(rows[:k])
			rows = rows[k:]
		}
		ld.Done()
		assert.DeepEqual(t, figures(l2), want)
	}
	// The first start: no records, every row read a page at a time.
	l3 := New(c.now)
	ws, _ := ParseBudget("1000btc/1d")
	l3.SetWindows(ws)
	ld := l3.StartLoad(Saved{}, "02self")
	for i := 0; i < len(n.rows); i += 300 {
		ld.Rows(n.rows[i:min(i+300, len(n.rows))])
	}
	ld.Done()
	assert.DeepEqual(t, figures(l3), want)
}

// TestUpgradeFromPartRecords: the p/ records of earlier versions, one per
// part, are read once, deleted, and their spending kept in hours.
func TestUpgradeFromPartRecords(t *testing.T) {
	c := &clock{time.Unix(1_700_000_000, 0)}
	now := c.t.Unix()
	s := store{}
	var rows []Row
	var total amount.MSat
	for i := range 500 {
		k := PartKey{hash(i + 1), 1, 0}
		at := now - 3600 + int64(i)*7
		s[[2]string{"p", k.String()}] = fmt.Sprintf("%d,%d,%d,1,0", at, 1000+i, 1000+i)
		total += amount.MSat(1000 + i)
		if i%2 == 0 { // the rest deleted by delpay
			rows = append(rows, Row{Key: k, Sent: amount.MSat(1000 + i), Created: at, State: Complete, Index: uint64(i + 1)})
		}
	}
	ws, _ := ParseBudget("1btc/1d")
	l := New(c.now)
	l.SetWindows(ws)
	ld := l.StartLoad(s.saved(t), "02self")
	assert.Equal(t, ld.From(), uint64(1), "no index kept: every row is read")
	ld.Rows(rows)
	ld.Done()
	assert.Equal(t, spent(l), total)
	s.flush(l, false)
	for k := range s {
		assert.Assert(t, k[0] != "p", "old record %s kept", k[1])
	}
	assert.Assert(t, len(s) <= 3, "%v", s)
	c.t = c.t.Add(time.Minute)
	l2 := New(c.now)
	l2.SetWindows(ws)
	ld = l2.StartLoad(s.saved(t), "02self")
	assert.Equal(t, ld.From(), uint64(500))
	ld.Rows(rows[len(rows)-1:])
	ld.Done()
	assert.Equal(t, spent(l2), total)
}

// TestKeysGrowWithTime: a week of payments every few seconds, in a
// one-week window, keeps one record per hour.
func TestKeysGrowWithTime(t *testing.T) {
	l, c := testLedger(t, "100000btc/1w")
	var n node
	s := store{}
	for i := range 8 * 86400 / 20 {
		c.t = c.t.Add(20 * time.Second)
		n.pay(t, l, c.t.Unix(), 1000, Complete, "")
		if i%3 == 0 {
			s.flush(l, false)
		}
	}
	s.flush(l, false)
	assert.Assert(t, len(s) <= 7*24+3, "%d keys", len(s))
	assert.Assert(t, len(s) >= 7*24, "%d keys", len(s))
	var inWeek amount.MSat = 1000 * 7 * 86400 / 20
	assert.Assert(t, spent(l) >= inWeek && spent(l) <= inWeek+3*1000, "%d", spent(l))
}

func TestIdxSet(t *testing.T) {
	var s idxSet
	for _, i := range []uint64{5, 7, 6, 1, 3, 2, 10, 9, 20} {
		s.add(i)
	}
	assert.Equal(t, s.String(), "1-3 5-7 9-10 20")
	for i := uint64(0); i < 25; i++ {
		want := i >= 1 && i <= 3 || i >= 5 && i <= 7 || i == 9 || i == 10 || i == 20
		assert.Equal(t, s.has(i), want, "%d", i)
	}
	s.addRange(4, 12)
	assert.Equal(t, s.String(), "1-12 20")
	for _, bad := range [][]string{{"0"}, {"3-2"}, {"1-3", "4"}, {"5", "2"}, {"x"}, {"1-"}} {
		_, ok := parseIdxSet(bad)
		assert.Assert(t, !ok, "%v", bad)
	}
	got, ok := parseIdxSet([]string{"1-3", "5", "9-10"})
	assert.Assert(t, ok)
	assert.Equal(t, got.String(), "1-3 5 9-10")
}

// TestHourRecord: an hour's record reads back to the same record, and
// one that breaks a rule is refused whole.
func TestHourRecord(t *testing.T) {
	k := PartKey{hash(1), 2, 3}.String()
	rec := "f 1-40 42\nb 1699999200 5000\nr 1699999260 5 300\np " + k + " 41 1700000000,1000,1000,0,0,5\n"
	var sv Saved
	assert.Assert(t, sv.Add("h", "1699999200", rec))
	assert.Assert(t, sv.Add(IndexKind, "created", "42"))
	l := New(func() time.Time { return time.Unix(1_700_000_010, 0) })
	ws, _ := ParseBudget("1btc/1d")
	l.SetWindows(ws)
	l.Load(nil, sv, "02self")
	assert.Equal(t, l.record(1699999200), rec)
	assert.Equal(t, spent(l), amount.MSat(5000+1000), "the node's bucket and the part; the rune's bucket is the rune's")
	for _, bad := range []string{
		"b 1699999200 5000\nb 1699999201 5\n",       // not a minute
		"b 1699995600 5000\n",                       // another hour
		"b 1699999200 0\n",                          // empty
		"f 1-40\nf 50\n",                            // two f lines
		"p " + k + " 41 1700000000,1000,1000,2,0\n", // failed: not kept
		"p " + k + " 41 1690000000,1000,1000,0,0\n", // another hour
		"p " + k + " 41 1700000000,1000,1000,0,0\np " + k + " 41 1700000000,1000,1000,0,0\n",
		"x 1\n",
		"",
	} {
		var sv Saved
		assert.Assert(t, !sv.Add("h", "1699999200", bad), "%q", bad)
		assert.Assert(t, sv.parts == nil && sv.buckets == nil, "%q read in part", bad)
	}
	assert.Assert(t, !sv.Add("h", "1699999201", "b 1699999200 5\n"), "not an hour")
}
