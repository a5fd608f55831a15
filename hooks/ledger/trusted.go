package ledger

import "github.com/payupto/pay-up-to/amount"

// A payment to one of the operator's trusted nodes is not spending: its
// amount reaches the operator. Its parts count in full for the rune that
// paid (an app's allowance holds toward any payee), but the node's
// windows count only what did not reach the payee: the fees. The first
// Approval.Amount msat its live parts send are taken as delivered
// (exempt), the rest as fees; a payee that is paid its amount was
// delivered at least that.

// nodeReserved is what a holds in the node's windows: for a trusted
// payee, only what its fees may still take.
func (a *approval) nodeReserved() amount.MSat {
	r := a.reserved()
	if !a.trusted {
		return r
	}
	return r - min(r, a.amount-min(a.exempted, a.amount))
}

// exemptable is how much of sent msat more a's payee may still be
// delivered.
func (a *approval) exemptable(sent amount.MSat) amount.MSat {
	if !a.trusted {
		return 0
	}
	return min(sent, a.amount-min(a.exempted, a.amount))
}

// exempt sets what part p of a trusted payment delivered, within what its
// approval's other live parts have not; l.mu is held, and the caller
// accounts for p's changed nodeCounted.
func (l *Ledger) exempt(p *part) {
	a := p.approval
	if a == nil || !a.trusted {
		return
	}
	a.exempted -= min(p.exempt(), a.exempted)
	e := amount.MSat(0)
	if p.live() {
		e = a.exemptable(p.counted())
	}
	if e != 0 && p.x == nil {
		p.x = &partExtra{}
	}
	if p.x != nil {
		p.x.exempt = e
	}
	a.exempted += e
}

// setExempt restores what part p delivered to a trusted payee, from its
// record; l.mu is held.
func (l *Ledger) setExempt(p *part, e amount.MSat) {
	old := p.nodeCounted()
	if p.x == nil {
		p.x = &partExtra{}
	}
	p.x.exempt = min(e, p.counted())
	l.node.changed(p, int64(p.nodeCounted())-int64(old))
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

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
