package ledger

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/payupto/pay-up-to/amount"
)

// Window is one rolling budget: at most Amount may leave the node in any
// Period.
type Window struct {
	Spec   string // as configured, e.g. "0.002btc/1d"
	Amount amount.MSat
	Period time.Duration
}

// periodUnits are the suffixes a budget period takes.
var periodUnits = map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}

// maxPeriod keeps periods far from time.Duration's overflow.
const maxPeriod = 100 * 365 * 24 * time.Hour

// ParseBudget reads a comma-separated list of AMOUNT/PERIOD windows, e.g.
// "0.002btc/1h,0.01btc/1d". An empty string is no budget.
func ParseBudget(s string) ([]Window, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var ws []Window
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		a, p, ok := strings.Cut(item, "/")
		if !ok {
			return nil, fmt.Errorf("budget: %q is not AMOUNT/PERIOD (e.g. 0.01btc/1d)", item)
		}
		m, err := amount.ParseMSat(a)
		if err != nil {
			return nil, fmt.Errorf("budget: %q: %v", item, err)
		}
		d, err := parsePeriod(p)
		if err != nil {
			return nil, fmt.Errorf("budget: %q: %v", item, err)
		}
		for _, w := range ws {
			if w.Period == d {
				return nil, fmt.Errorf("budget: two windows of %s", p)
			}
		}
		ws = append(ws, Window{Spec: item, Amount: m, Period: d})
	}
	return ws, nil
}

// parsePeriod reads a positive whole number followed by s, m, h, d or w.
func parsePeriod(p string) (time.Duration, error) {
	if len(p) < 2 {
		return 0, fmt.Errorf("period %q is not a number followed by s, m, h, d or w", p)
	}
	unit, ok := periodUnits[p[len(p)-1]]
	if !ok {
		return 0, fmt.Errorf("period %q does not end in s, m, h, d or w", p)
	}
	n, err := strconv.ParseUint(p[:len(p)-1], 10, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, fmt.Errorf("period %q is not a whole number of %c", p, p[len(p)-1])
	}
	if err != nil || n == 0 || n > uint64(maxPeriod/unit) {
		return 0, fmt.Errorf("period %q must be between 1%c and 100 years", p, p[len(p)-1])
	}
	return time.Duration(n) * unit, nil
}

// account holds what one spender may spend and has spent: the node's
// (all parts), or a rune's (the parts of payments made through it), with
// its budget windows, an optional per-payment limit, and what its
// approvals reserve.
type account struct {
	id       string // a rune's unique id; "" the node's
	limit    amount.MSat
	hasLimit bool
	windows  []windowSum
	reserved amount.MSat // sum of its active approvals' reserved()
	parts    []*part     // ordered by created, oldest first
}

// windowSum is a window with the running total of the live parts created
// after its cutoff; parts[head:] are those parts.
type windowSum struct {
	Window
	cutoff int64
	head   int
	sum    amount.MSat
	// onchain is the share of sum that left on-chain.
	onchain amount.MSat
}

// count adds delta to what w holds of p.
func (w *windowSum) count(p *part, delta int64) {
	w.sum = amount.MSat(int64(w.sum) + delta)
	if p.onchain() {
		w.onchain = amount.MSat(int64(w.onchain) + delta)
	}
}

func (c *account) setWindows(ws []Window, now int64) {
	c.windows = c.windows[:0]
	for _, w := range ws {
		c.windows = append(c.windows, windowSum{Window: w, cutoff: now - int64(w.Period/time.Second)})
	}
	c.recount()
}

// advance rolls the windows forward to now.
func (c *account) advance(now int64) {
	for i := range c.windows {
		w := &c.windows[i]
		w.cutoff = now - int64(w.Period/time.Second)
		for w.head < len(c.parts) && c.parts[w.head].created <= w.cutoff {
			if p := c.parts[w.head]; p.live() {
				w.count(p, -int64(c.of(p)))
			}
			w.head++
		}
	}
}

func (c *account) longest() time.Duration {
	var d time.Duration
	for _, w := range c.windows {
		d = max(d, w.Period)
	}
	return d
}

// add puts a new part in order and counts it.
func (c *account) add(p *part) {
	idx := len(c.parts)
	if idx > 0 && c.parts[idx-1].created > p.created {
		idx = sort.Search(len(c.parts), func(i int) bool { return c.parts[i].created > p.created })
	}
	c.parts = append(c.parts, nil)
	copy(c.parts[idx+1:], c.parts[idx:])
	c.parts[idx] = p
	for i := range c.windows {
		w := &c.windows[i]
		if p.created <= w.cutoff {
			w.head++
		} else if p.live() {
			w.count(p, int64(c.of(p)))
		}
	}
}

// changed adds delta to what p counts in the windows that hold it.
func (c *account) changed(p *part, delta int64) {
	for i := range c.windows {
		if w := &c.windows[i]; p.created > w.cutoff {
			w.count(p, delta)
		}
	}
}

// remove drops a part that no longer counts (a failed part sent again).
func (c *account) remove(p *part) {
	i := sort.Search(len(c.parts), func(i int) bool { return c.parts[i].created >= p.created })
	for ; i < len(c.parts) && c.parts[i] != p; i++ {
	}
	if i == len(c.parts) {
		return
	}
	for j := range c.windows {
		if w := &c.windows[j]; i < w.head {
			w.head--
		}
	}
	c.parts = append(c.parts[:i], c.parts[i+1:]...)
}

// drop forgets the parts created at or before cutoff, once they are many,
// and returns them.
func (c *account) drop(cutoff int64) []*part {
	n := sort.Search(len(c.parts), func(i int) bool { return c.parts[i].created > cutoff })
	if n <= 1024 || n <= len(c.parts)/4 {
		return nil
	}
	gone := c.parts[:n]
	c.parts = append(c.parts[:0:0], c.parts[n:]...)
	for i := range c.windows {
		c.windows[i].head = max(0, c.windows[i].head-n)
	}
	return gone
}

// fits returns the verdict on spending nodeReq more now in the node's
// windows and req in c's (a rune's, or nil), or nil; l.mu is held.
func (l *Ledger) fits(nodeReq, req amount.MSat, c *account) *Verdict {
	if c != nil && len(c.windows) > 0 || len(l.node.windows) > 0 {
		if !l.loaded {
			return &Verdict{Reason: NotRead, Why: l.loadErr}
		}
	}
	if c != nil {
		if v := c.over(req); v != nil {
			return v
		}
	}
	return l.node.over(nodeReq)
}

// overLimit is limitVerdict for the account's limit; nil for a nil
// account or one without a limit.
func (c *account) overLimit(part, out amount.MSat) *Verdict {
	if c == nil || !c.hasLimit {
		return nil
	}
	return limitVerdict(c.id, c.limit, part, out)
}

// limitVerdict returns the verdict when a part would bring its payment,
// with out already in flight, above limit, or nil; account is whose limit
// it is ("" the node's).
func limitVerdict(account string, limit, part, out amount.MSat) *Verdict {
	if out+part <= limit && out+part >= out {
		return nil
	}
	return &Verdict{Reason: OverLimit, Account: account, Part: part, Out: out, Max: limit}
}

// used is what window w holds now: its parts and every reservation.
func (c *account) used(w *windowSum) amount.MSat { return w.sum + c.reserved }

// over returns the verdict on spending req more now, or nil. When several
// windows refuse, it names the one that frees up last.
func (c *account) over(req amount.MSat) *Verdict {
	var worst *windowSum
	var worstAt int64 // 0: never fits
	for i := range c.windows {
		w := &c.windows[i]
		used := c.used(w)
		if used+req <= w.Amount && used+req >= used {
			continue
		}
		at := c.availableAt(w, req)
		if worst == nil || worstAt != 0 && (at == 0 || at > worstAt) {
			worst, worstAt = w, at
		}
	}
	if worst == nil {
		return nil
	}
	return &Verdict{Reason: OverBudget, Account: c.id, Window: worst.Window, Used: c.used(worst), Requested: req, AvailableAt: worstAt}
}

// availableAt is when enough of w's parts will have rolled out for req to
// fit, or 0 if it never will (reservations alone leave no room).
func (c *account) availableAt(w *windowSum, req amount.MSat) int64 {
	if c.reserved+req > w.Amount || c.reserved+req < c.reserved {
		return 0
	}
	need := c.used(w) + req - w.Amount
	var freed amount.MSat
	for _, p := range c.parts[w.head:] {
		if !p.live() {
			continue
		}
		if freed += c.of(p); freed >= need {
			return p.created + int64(w.Period/time.Second)
		}
	}
	return 0
}

// WindowStatus is one window now, in msat.
type WindowStatus struct {
	Window
	Spent, Reserved, Available amount.MSat
	OnChain                    amount.MSat // the share of Spent that left on-chain
}

func (c *account) status() []WindowStatus {
	out := make([]WindowStatus, 0, len(c.windows))
	for i := range c.windows {
		w := &c.windows[i]
		s := WindowStatus{Window: w.Window, Spent: w.sum, Reserved: c.reserved, OnChain: w.onchain}
		if used := c.used(w); used < w.Amount {
			s.Available = w.Amount - used
		}
		out = append(out, s)
	}
	return out
}

// of is what account c counts of p: the node does not count what reached
// a trusted payee.
func (c *account) of(p *part) amount.MSat {
	if c.id == "" {
		if p.isBucket() && p.runeOf() != "" {
			return 0 // a rune's bucket: the node's own has it
		}
		return p.nodeCounted()
	}
	return p.counted()
}
