package ledger

import "github.com/payupto/pay-up-to/amount"

// part is one HTLC this node originated. A node keeps hundreds of
// thousands: what only some have is in x.
type part struct {
	key      PartKey
	sent     amount.MSat // amount_sent_msat: what left our channel, fees included
	created  int64       // unix seconds, as listsendpays' created_at
	idx      uint64      // lightningd's created_index; 0 not known
	approval *approval
	x        *partExtra // a payment to ourselves, or one through a rune
	state    uint8
	// confirmed: lightningd's records or notifications have shown it; a
	// part recorded at the hook whose send failed early never shows up.
	confirmed bool
}

type partExtra struct {
	self bool // a payment to our own node (a rebalance)
	// delivered is what a part to ourselves delivers (its amount_msat);
	// credit is what our own invoice is known to have received of it.
	// Only a credit makes a payment to ourselves count less than sent.
	delivered, credit amount.MSat
	rune              string // the rune it was paid through
	// exempt is what of it reached a trusted payee: its rune counts it,
	// the node does not.
	exempt amount.MSat
}

// newPart makes a part, with its extra only when it has one.
func newPart(k PartKey, sent amount.MSat, created int64, state uint8, self bool, rune string) *part {
	p := &part{key: k, sent: sent, created: created, state: state}
	if self || rune != "" {
		p.x = &partExtra{self: self, rune: rune}
	}
	return p
}

func (p *part) live() bool { return p.state != Failed }

func (p *part) isSelf() bool { return p.x != nil && p.x.self }

func (p *part) runeOf() string {
	if p.x == nil {
		return ""
	}
	return p.x.rune
}

func (p *part) credit() amount.MSat {
	if p.x == nil {
		return 0
	}
	return p.x.credit
}

// counted is what the budget counts: what was sent, less what came back
// to our own invoice.
func (p *part) counted() amount.MSat { return p.sent - min(p.credit(), p.sent) }

// nodeCounted is what the node's windows count: counted, less what
// reached a trusted payee.
func (p *part) nodeCounted() amount.MSat {
	if p.x == nil {
		return p.counted()
	}
	return p.counted() - min(p.x.exempt, p.counted())
}

func (p *part) exempt() amount.MSat {
	if p.x == nil {
		return 0
	}
	return p.x.exempt
}

// Send is one low-level send (sendpay, sendonion, injectpaymentonion) as
// the hook prices it.
type Send struct {
	Key PartKey
	// ID is the caller's JSON-RPC id: a payer's calls are chained from
	// the approved command's id. It is not authentication.
	ID string
	// Sent is what leaves our channel; Delivered what a send to ourselves
	// delivers.
	Sent, Delivered amount.MSat
	// Self: the route ends at our own node. Trusted: lightningd chose the
	// preimage of our own unpaid invoice for Key.Hash, so no hop can claim
	// the payment; only such a send is exempt from the limit.
	Self, Trusted bool
	// Unpriced: Sent is not what the send takes (injectpaymentonion on
	// lightningd v26.06+); only a part of an approved payment may go.
	Unpriced bool
	// Rune is the unique id of the rune that authorised the send, if any:
	// a raw send is also held to its allowance.
	Rune string
	// Claim, if not nil, is filled with what the send adds to the node's
	// windows beyond what was reserved for it, for a fleet to agree to.
	Claim *Claim
}

// Admit decides a send: a part of an approved payment within its
// allowance goes through; any other is held to the limit (all parts of
// its payment hash together; hasLimit false: none) and to the budget. A
// send to ourselves counts in full until our invoice shows what it
// received. What goes through is recorded as a pending part.
func (l *Ledger) Admit(s Send, limit amount.MSat, hasLimit bool) *Verdict {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.advance()
	if p := l.byKey[s.Key]; p != nil && p.live() {
		return nil // lightningd refuses a part it already has
	}
	a := l.link(s.Key.Hash, s.ID, s.Sent)
	if s.Unpriced && a == nil {
		return &Verdict{Reason: Unpriced}
	}
	rune := s.Rune
	var adds amount.MSat // to the node's windows, beyond a reservation
	if a != nil {
		rune = a.rune
		if a.live+s.Sent > a.allowance || a.live+s.Sent < a.live {
			return &Verdict{Reason: OverApproval, Part: s.Sent, Out: a.live, Max: a.allowance, Method: a.method}
		}
		if !a.active { // late: its reservation has ended
			adds = s.Sent - a.exemptable(s.Sent)
			if v := l.fits(adds, s.Sent, l.accounts[rune]); v != nil {
				return v
			}
		}
	} else {
		out := l.byHash[s.Key.Hash]
		exempt := s.Self && s.Trusted
		c := l.accounts[rune]
		if !exempt && hasLimit {
			if v := limitVerdict("", limit, s.Sent, out); v != nil {
				return v
			}
		}
		if v := c.overLimit(s.Sent, out); v != nil && !exempt {
			return v
		}
		if v := l.fits(s.Sent, s.Sent, c); v != nil {
			return v
		}
		adds = s.Sent
	}
	if old := l.byKey[s.Key]; old != nil { // a failed part sent again
		l.remove(old)
	}
	p := newPart(s.Key, s.Sent, l.now().Unix(), Pending, s.Self, rune)
	p.approval = a
	if s.Self {
		p.x.delivered = s.Delivered
	}
	l.insert(p)
	l.unseen = append(l.unseen, p)
	if adds > 0 {
		l.claim(s.Claim, adds, nil, p)
	}
	return nil
}

// insert adds a new part, keeping parts ordered by creation; l.mu is held.
func (l *Ledger) insert(p *part) {
	if a := p.approval; a != nil && p.live() {
		l.charge(a, func() {
			a.live += p.counted()
			l.exempt(p)
		})
	}
	l.node.add(p)
	if c := l.accounts[p.runeOf()]; c != nil && p.runeOf() != "" {
		c.add(p)
	}
	l.byKey[p.key] = p
	if p.state == Pending {
		l.out(p.key.Hash, int64(p.sent))
	}
	l.dirty(p.created)
	if p.isSelf() {
		l.selfParts[p.key.Hash] = append(l.selfParts[p.key.Hash], p)
		l.credit(p.key.Hash)
	}
}

// update changes a known part's state, amount sent and credit; l.mu is
// held.
func (l *Ledger) update(p *part, state uint8, sent, credit amount.MSat) {
	oldLive, oldPending, oldCounted, oldNode, oldSent := p.live(), p.state == Pending, p.counted(), p.nodeCounted(), p.sent
	p.state, p.sent = state, sent
	if credit != 0 || p.x != nil {
		if p.x == nil {
			p.x = &partExtra{}
		}
		p.x.credit = credit
	}
	var delta, nodeDelta int64
	if oldLive {
		delta -= int64(oldCounted)
		nodeDelta -= int64(oldNode)
	}
	if oldPending {
		l.out(p.key.Hash, -int64(oldSent))
	}
	if p.state == Pending {
		l.out(p.key.Hash, int64(p.sent))
	}
	if c := l.accounts[p.runeOf()]; c != nil && p.runeOf() != "" {
		c.changed(p, delta+int64(p.counted())*b2i(p.live()))
	}
	if a := p.approval; a != nil {
		l.charge(a, func() {
			a.live = amount.MSat(int64(a.live) + delta + int64(p.counted())*b2i(p.live()))
			l.exempt(p)
		})
	} else if p.x != nil {
		p.x.exempt = min(p.x.exempt, p.counted()) * amount.MSat(b2i(p.live()))
	}
	l.node.changed(p, nodeDelta+int64(p.nodeCounted())*b2i(p.live()))
	l.dirty(p.created)
}

// remove drops a failed part so its key can be sent again; l.mu is held.
func (l *Ledger) remove(p *part) {
	l.node.remove(p)
	if c := l.accounts[p.runeOf()]; c != nil && p.runeOf() != "" {
		c.remove(p)
	}
	delete(l.byKey, p.key)
}

func (l *Ledger) forget(p *part) {
	delete(l.byKey, p.key)
	if p.isSelf() {
		delete(l.selfParts, p.key.Hash)
	}
	if p.state == Pending {
		l.out(p.key.Hash, -int64(p.sent))
	}
}

// out adds delta to what is in flight for a payment hash. Only pending
// parts count: lightningd takes no new part for a hash already paid.
func (l *Ledger) out(hash Hash, delta int64) {
	if v := int64(l.byHash[hash]) + delta; v > 0 {
		l.byHash[hash] = amount.MSat(v)
	} else {
		delete(l.byHash, hash)
	}
}

// Row is a part as lightningd reports it (listsendpays, sendpay_success,
// sendpay_failure).
type Row struct {
	Key             PartKey
	Sent, Delivered amount.MSat // amount_sent_msat, amount_msat
	Created         int64       // created_at, unix seconds
	State           uint8
	ToUs            bool   // its destination is our own node
	Rune            string // the rune it was paid through: only our records know
	Index           uint64 // created_index (v23.11+); 0 not known
}

// Resolve applies what lightningd reports of a part. A complete part
// settles its payment: the approval's unspent allowance is freed.
func (l *Ledger) Resolve(r Row) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.advance()
	l.apply(r)
	if r.State == Complete {
		for _, a := range l.approvals.byHash[r.Key.Hash] {
			if a.active {
				l.deactivate(a)
			}
		}
	}
}

// Ended notes that a payment's payer gave it up (legacy pay and keysend
// tell so with pay_failure; lightningd's code 203 and xpay's final-node
// incorrect_or_unknown_payment_details mean the payee refused it for
// good): its approvals stop reserving at once. A part sent after that is
// late, and held to the budget.
func (l *Ledger) Ended(hash Hash) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, a := range l.approvals.byHash[hash] {
		if a.active {
			l.deactivate(a)
		}
	}
}

// apply merges a reported part; l.mu is held.
func (l *Ledger) apply(r Row) {
	p := l.byKey[r.Key]
	if q := l.byKey[PartKey{r.Key.Hash, NoGroup, r.Key.PartID}]; p == nil && q != nil && !q.confirmed {
		// Sent without a groupid: now we know the one lightningd chose.
		delete(l.byKey, q.key)
		q.key = r.Key
		l.byKey[q.key] = q
		p = q
	}
	if p == nil && l.settled(r) {
		return // folded into a bucket already
	}
	l.maxIdx = max(l.maxIdx, r.Index)
	if p == nil {
		if r.State == Failed {
			return
		}
		a := l.link(r.Key.Hash, "", r.Sent)
		rune := r.Rune
		if a != nil {
			rune = a.rune
		}
		p = newPart(r.Key, r.Sent, r.Created, r.State, r.ToUs, rune)
		p.approval, p.confirmed, p.idx = a, true, r.Index
		if p.isSelf() {
			p.x.delivered = r.Delivered
		}
		l.insert(p)
		return
	}
	p.confirmed = true
	if r.Index != 0 {
		p.idx = r.Index
	}
	if p.state != Pending && r.State == Pending {
		return // a final state is never undone
	}
	if p.isSelf() && r.Delivered != 0 {
		p.x.delivered = r.Delivered
	}
	l.update(p, r.State, r.Sent, p.credit())
	if p.isSelf() {
		l.credit(p.key.Hash)
	}
}

// Unconfirmed lists the payment hashes of parts recorded at the hook that
// lightningd has not shown after Grace, newest first.
func (l *Ledger) Unconfirmed() []Hash {
	l.mu.Lock()
	defer l.mu.Unlock()
	old := l.now().Add(-Grace).Unix()
	seen := map[Hash]bool{}
	var hashes []Hash
	// Drop the parts shown since, or gone; keep the order.
	kept := l.unseen[:0]
	for _, p := range l.unseen {
		if !p.confirmed && p.state == Pending && l.byKey[p.key] == p {
			kept = append(kept, p)
		}
	}
	clear(l.unseen[len(kept):])
	l.unseen = kept
	for i := len(l.unseen) - 1; i >= 0; i-- {
		p := l.unseen[i]
		if p.created > old {
			continue
		}
		if !seen[p.key.Hash] {
			seen[p.key.Hash] = true
			hashes = append(hashes, p.key.Hash)
		}
	}
	return hashes
}

// Reconcile applies lightningd's rows for one payment hash; a part
// recorded at the hook that has no row was never sent (its call failed
// before an HTLC existed) and stops counting.
func (l *Ledger) Reconcile(hash Hash, rows []Row) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.advance()
	have := map[PartKey]bool{}
	for _, r := range rows {
		have[r.Key] = true
		l.apply(r)
	}
	old := l.now().Add(-Grace).Unix()
	for _, p := range l.unseen {
		if p.key.Hash == hash && !p.confirmed && !have[p.key] && p.state == Pending && p.created <= old && l.byKey[p.key] == p {
			l.update(p, Failed, p.sent, p.credit())
		}
	}
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// charge runs change, which changes what an approval's parts hold,
// keeping what it reserves.
func (l *Ledger) charge(a *approval, change func()) {
	l.reserve(a, -1)
	change()
	l.reserve(a, 1)
}

// reserve adds (sign 1) or takes off (-1) what a reserves to its
// accounts.
func (l *Ledger) reserve(a *approval, sign int64) {
	l.node.reserved = amount.MSat(int64(l.node.reserved) + sign*int64(a.nodeReserved()))
	if c := l.accounts[a.rune]; c != nil && a.rune != "" {
		c.reserved = amount.MSat(int64(c.reserved) + sign*int64(a.reserved()))
	}
}

// deactivate ends an approval's reservation: its payment completed, or
// its payer's deadline passed.
func (l *Ledger) deactivate(a *approval) {
	l.reserve(a, -1)
	a.active = false
	if a.name != "" {
		l.journal.del("r", a.name)
	}
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

func (a *approval) reserved() amount.MSat {
	if !a.active || a.live >= a.allowance {
		return 0
	}
	return a.allowance - a.live
}

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
