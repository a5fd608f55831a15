package ledger

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/payupto/pay-up-to/amount"
)

// Allowance is what one rune may spend, on top of the node's limit and
// budget: a per-payment limit and budget windows. A payment made through
// the rune must fit both its allowance and the node's.
type Allowance struct {
	Rune     string // the rune's unique id (runes derived from it share it)
	Limit    amount.MSat
	HasLimit bool
	Windows  []Window
}

// validRune reports whether s is a rune unique id as lightningd makes
// them: a decimal number (lightningd/runes.c, unique_id_num).
func validRune(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil
}

// runeLess orders unique ids as numbers.
func runeLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// record renders the allowance's datastore value.
func (al Allowance) record() string {
	var lim string
	if al.HasLimit {
		lim = strconv.FormatUint(uint64(al.Limit), 10)
	}
	specs := make([]string, len(al.Windows))
	for i, w := range al.Windows {
		specs[i] = w.Spec
	}
	return lim + ";" + strings.Join(specs, ",")
}

func parseAllowance(id, value string) (Allowance, error) {
	al := Allowance{Rune: id}
	lim, budget, ok := strings.Cut(value, ";")
	if !ok || !validRune(id) {
		return al, fmt.Errorf("ledger: allowance record %q: %q", id, value)
	}
	if lim != "" {
		n, err := strconv.ParseUint(lim, 10, 64)
		if err != nil {
			return al, fmt.Errorf("ledger: allowance record %q: %q", id, value)
		}
		al.Limit, al.HasLimit = amount.MSat(n), true
	}
	ws, err := ParseBudget(budget)
	al.Windows = ws
	return al, err
}

// SetAllowance gives a rune an allowance, or replaces its allowance; what
// the rune spent and reserved before still counts.
func (l *Ledger) SetAllowance(al Allowance) error {
	if !validRune(al.Rune) {
		return fmt.Errorf("ledger: %q is not a rune's unique id (a number)", al.Rune)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.advance()
	l.setAllowance(al, true)
	return nil
}

// setAllowance builds the rune's account from the parts and approvals
// charged to it; l.mu is held.
func (l *Ledger) setAllowance(al Allowance, persist bool) {
	was := l.persists()
	c := &account{id: al.Rune, limit: al.Limit, hasLimit: al.HasLimit}
	for _, p := range l.node.parts {
		if p.runeOf() == al.Rune {
			c.parts = append(c.parts, p)
		}
	}
	c.setWindows(al.Windows, l.now().Unix())
	for _, a := range l.approvals.order[l.approvals.head:] {
		if a.rune == al.Rune {
			c.reserved += a.reserved()
		}
	}
	l.accounts[al.Rune] = c
	if persist {
		l.journal.put("a", al.Rune, al.record())
		l.keepAll(was)
	}
}

// DelAllowance removes a rune's allowance; it reports whether there was
// one. Payments through the rune are then held to the node's only.
func (l *Ledger) DelAllowance(rune string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.accounts[rune]; !ok {
		return false
	}
	delete(l.accounts, rune)
	l.journal.del("a", rune)
	return true
}

// Allowed reports whether the rune has an allowance.
func (l *Ledger) Allowed(rune string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.accounts[rune]
	return ok
}

// Check tells, without reserving anything, whether a payment of amt (the
// amount to the recipient) with allowance total (amount and fees) fits
// the rune's allowance now: nil, or the verdict. A rune without one
// fits.
func (l *Ledger) Check(rune string, amt, total amount.MSat) *Verdict {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.advance()
	c := l.accounts[rune]
	if c == nil {
		return nil
	}
	if v := c.overLimit(amt, 0); v != nil {
		return v
	}
	if len(c.windows) > 0 && !l.loaded {
		return &Verdict{Reason: NotRead, Why: l.loadErr}
	}
	return c.over(total)
}
