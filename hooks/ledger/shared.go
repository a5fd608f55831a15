package ledger

import (
	"sort"

	"github.com/payupto/pay-up-to/amount"
)

// A fleet shares its members' spending. The ledger tells what the node's
// windows hold, by minute, and what its approvals reserve; a decision
// that adds to them hands back a Claim, which the fleet may still
// refuse.

// Claim is what one decision added to the node's windows: Amount msat,
// in every window (it is now). A fleet that finds no room undoes it with
// Withdraw.
type Claim struct {
	Amount amount.MSat
	l      *Ledger
	a      *approval // a reservation, or
	p      *part     // a part counted (on-chain, or a send of no approval)
}

// Made reports whether the ledger filled c: its decision added to the
// node's windows.
func (c *Claim) Made() bool { return c != nil && c.l != nil }

// Reservation reports whether the claim is a reservation rather than a
// part counted: its amount is in Reserved, not in a minute.
func (c *Claim) Reservation() bool { return c.a != nil }

// Minute is the minute (unix seconds of its start) a part counted falls in.
func (c *Claim) Minute() int64 {
	if c.p == nil {
		return 0
	}
	return minuteOf(c.p.created)
}

// Withdraw undoes the decision: an approval reserves nothing more and
// lets no part through; a part no longer counts.
func (c *Claim) Withdraw() {
	l := c.l
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case c.a != nil:
		if c.a.active {
			l.deactivate(c.a)
		}
		c.a.allowance = c.a.live
	case c.p != nil && c.p.live():
		l.update(c.p, Failed, c.p.sent, c.p.credit())
	}
}

// Agreed notes that the fleet agreed to the claim: the payment it
// approved may now be found by its preapprove call.
func (c *Claim) Agreed() {
	if c.l == nil || c.a == nil {
		return
	}
	c.l.mu.Lock()
	c.a.held = false
	c.l.mu.Unlock()
}

// claim fills c, when asked for, with what a decision added; l.mu is held.
func (l *Ledger) claim(c *Claim, amt amount.MSat, a *approval, p *part) {
	if c != nil {
		*c = Claim{Amount: amt, l: l, a: a, p: p}
	}
}

// MinuteSum is what the node's windows count of one minute (unix
// seconds of its start), in msat.
type MinuteSum struct {
	Minute int64
	Sum    amount.MSat
}

// Shared is the node's spending as a fleet sees it.
type Shared struct {
	// Reserved is what the node's approvals reserve (msat): it counts in
	// every window.
	Reserved amount.MSat
	// Hours are the hours (unix seconds of their start) changed since
	// the last Share, each whole, with its minutes in order.
	Hours map[int64][]MinuteSum
	// Windows are the node's budget windows now.
	Windows []WindowStatus
	// Since is the first hour the ledger still holds whole: older parts
	// may be forgotten (the longest window, and a day).
	Since int64
	// Loaded: the node's records are read.
	Loaded bool
}

// Share returns the node's spending as a fleet sees it; all: every hour
// kept, not only those changed since the last call. From the first call
// on, the ledger notes which hours change.
func (l *Ledger) Share(all bool) Shared {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.advance()
	if l.shared == nil || all {
		l.shared = map[int64]struct{}{}
		for _, p := range l.node.parts {
			l.shared[hourOf(p.created)] = struct{}{}
		}
	}
	cutoff := l.now().Add(-l.retention()).Unix()
	s := Shared{Reserved: l.node.reserved, Hours: make(map[int64][]MinuteSum, len(l.shared)), Windows: l.node.status(),
		Since: hourOf(cutoff) + recordSpan, Loaded: l.loaded}
	for h := range l.shared {
		s.Hours[h] = l.minutes(h)
	}
	clear(l.shared)
	return s
}

// minutes sums what the node counts of each minute of hour h; l.mu is
// held.
func (l *Ledger) minutes(h int64) []MinuteSum {
	ps := l.node.parts
	i := sort.Search(len(ps), func(i int) bool { return ps[i].created >= h })
	var out []MinuteSum
	for ; i < len(ps) && ps[i].created < h+recordSpan; i++ {
		p := ps[i]
		if !p.live() {
			continue
		}
		n := l.node.of(p)
		if n == 0 {
			continue
		}
		m := minuteOf(p.created)
		if k := len(out); k > 0 && out[k-1].Minute == m {
			out[k-1].Sum += n
		} else {
			out = append(out, MinuteSum{Minute: m, Sum: n})
		}
	}
	return out
}
