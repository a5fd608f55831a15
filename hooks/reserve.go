package hooks

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/payupto/pay-up-to/amount"
)

// approve reserves a guarded payment's amount plus fee allowance in every
// window, or refuses it. retryFor is how long its payer may keep sending.
func (l *Ledger) approve(a *approval, retryFor time.Duration) *refusal {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.advance()
	if len(l.windows) > 0 {
		if !l.loaded {
			return unverified(a.method, "the node's payment records are not read yet"+l.why(), a.key, a.subj)
		}
		if r := l.overBudget(a.allowance, a.key, a.subj); r != nil {
			return r
		}
	}
	now := l.now()
	a.created, a.deadline, a.active = now, now.Add(retryFor+grace), true
	l.approvals.add(a)
	l.reserved += a.reserved()
	l.stats.approved++
	l.persistApproval(a)
	return nil
}

func (l *Ledger) why() string {
	if l.loadErr == "" {
		return ""
	}
	return ": " + l.loadErr
}

// attach gives the payment hash a preapprove call reveals to the approval
// of the command that made it (an offer's invoice, a keysend's hash). It
// reports whether the call belongs to an approved command.
func (l *Ledger) attach(id, hash string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.approvals.prefixOf(id)
	if a == nil && payerID(id) && hash != "" {
		// Unchained (CLN before v24.11): the approval with this hash.
		a = l.link(hash, id)
		if a == nil { // keysend's approval learns its hash here
			caller, _, _ := strings.Cut(id, ":")
			for i := len(l.approvals.order) - 1; i >= l.approvals.head && i >= len(l.approvals.order)-64; i-- {
				if b := l.approvals.order[i]; b.active && b.hash == "" && b.method == caller {
					a = b
					break
				}
			}
		}
	}
	if a == nil {
		return false
	}
	if a.hash == "" && hash != "" {
		l.approvals.setHash(a, hash)
		l.persistApproval(a)
	}
	return true
}

// send is one low-level send (sendpay, sendonion, injectpaymentonion) as
// the hook reads it.
type send struct {
	method, id      string
	key             partKey
	sent, delivered amount.MSat // sent: what leaves our channel
	self            bool        // verified to pay our own node
	unpriced        string      // why sent cannot be known, if it cannot
}

// admit decides a send: a part of an approved payment within its
// allowance goes through; any other is held to the limit (all parts of its
// payment hash together) and to the budget. What goes through is recorded
// as a pending part.
func (l *Ledger) admit(s send, limit amount.MSat, hasLimit bool) *refusal {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.advance()
	if p := l.byKey[s.key]; p != nil && p.live() {
		return nil // lightningd refuses a part it already has
	}
	counted := s.sent
	if s.self {
		counted = s.sent - min(s.delivered, s.sent)
	}
	a := l.link(s.key.hash, s.id)
	if s.unpriced != "" && a == nil {
		return unverified(s.method, s.unpriced, "payment_hash", hexHash(s.key.hash))
	}
	if a != nil {
		if a.live+counted > a.allowance {
			return partOverApproval(s, a)
		}
		if !a.active && len(l.windows) > 0 {
			if r := l.overBudget(counted, "payment_hash", hexHash(s.key.hash)); r != nil {
				return r
			}
		}
	} else {
		out := l.byHash[s.key.hash]
		if hasLimit && !s.self && out+s.sent > limit {
			return partOverLimit(s, out, limit)
		}
		if len(l.windows) > 0 {
			if !l.loaded {
				return unverified(s.method, "the node's payment records are not read yet"+l.why(), "payment_hash", hexHash(s.key.hash))
			}
			if r := l.overBudget(counted, "payment_hash", hexHash(s.key.hash)); r != nil {
				return r
			}
		}
	}
	if old := l.byKey[s.key]; old != nil { // a failed part sent again
		l.remove(old)
	}
	p := &part{key: s.key, sent: s.sent, counted: counted, created: l.now().Unix(), state: pending, self: s.self, approval: a}
	l.insert(p)
	l.unseen = append(l.unseen, p)
	return nil
}

// remove drops a failed part so its key can be sent again; l.mu is held.
func (l *Ledger) remove(p *part) {
	i := sort.Search(len(l.parts), func(i int) bool { return l.parts[i].created >= p.created })
	for ; i < len(l.parts) && l.parts[i] != p; i++ {
	}
	if i == len(l.parts) {
		return
	}
	for j := range l.windows {
		if w := &l.windows[j]; i < w.head {
			w.head--
		}
	}
	l.parts = append(l.parts[:i], l.parts[i+1:]...)
	delete(l.byKey, p.key)
}

func partOverApproval(s send, a *approval) *refusal {
	return &refusal{
		code: CodeOverLimit,
		message: fmt.Sprintf("pay-up-to: %s of %s would take the payment beyond the %s approved for %s",
			s.method, s.sent.BTC(), a.allowance.BTC(), a.method),
		data: []field{
			{key: "payment_hash", str: hexHash(s.key.hash)},
			{key: "part_msat", num: uint64(s.sent), isNum: true},
			{key: "out_msat", num: uint64(a.live), isNum: true},
			{key: "approved_msat", num: uint64(a.allowance), isNum: true},
		},
	}
}

func partOverLimit(s send, out, limit amount.MSat) *refusal {
	total := out + s.sent
	return &refusal{
		code: CodeOverLimit,
		message: fmt.Sprintf("pay-up-to: %s would bring payment %s to %s, which is above the limit %s",
			s.method, hexHash(s.key.hash), total.BTC(), limit.BTC()),
		data: []field{
			{key: "amount_too_high", str: total.BTC()},
			{key: "maximum_is", str: limit.BTC()},
			{key: "payment_hash", str: hexHash(s.key.hash)},
			{key: "part_msat", num: uint64(s.sent), isNum: true},
			{key: "out_msat", num: uint64(out), isNum: true},
			{key: "amount_msat", num: uint64(total), isNum: true},
			{key: "maximum_msat", num: uint64(limit), isNum: true},
		},
	}
}

// row is a part as lightningd reports it (listsendpays, notifications).
type row struct {
	key             partKey
	sent, delivered amount.MSat
	created         int64
	state           uint8
	destination     string
}

// resolve applies what lightningd reports of a part. A complete part
// settles its payment: the approval's unspent allowance is freed.
func (l *Ledger) resolve(r row) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.advance()
	l.apply(r)
	if r.state == complete {
		for _, a := range l.approvals.byHash[r.key.hash] {
			if a.active {
				l.deactivate(a)
			}
		}
	}
}

func (l *Ledger) node() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nodeID
}

// apply merges a reported part; l.mu is held.
func (l *Ledger) apply(r row) {
	p := l.byKey[r.key]
	if q := l.byKey[partKey{r.key.hash, noGroup, r.key.partid}]; p == nil && q != nil && !q.confirmed {
		// Sent without a groupid: now we know the one lightningd chose.
		delete(l.byKey, q.key)
		if l.store != nil {
			l.store.del("p", q.key.String())
		}
		q.key = r.key
		l.byKey[q.key] = q
		p = q
	}
	if p == nil {
		if r.state == failed {
			return
		}
		self := r.destination != "" && r.destination == l.nodeID
		p = &part{key: r.key, sent: r.sent, counted: countOf(r.sent, r.delivered, self), created: r.created,
			state: r.state, self: self, confirmed: true, approval: l.link(r.key.hash, "")}
		l.insert(p)
		return
	}
	p.confirmed = true
	if p.state != pending && r.state == pending {
		return // a final state is never undone
	}
	delivered := r.delivered
	if p.self && delivered == 0 {
		delivered = p.sent - p.counted
	}
	l.update(p, r.state, r.sent, countOf(r.sent, delivered, p.self))
}

func countOf(sent, delivered amount.MSat, self bool) amount.MSat {
	if self {
		return sent - min(delivered, sent)
	}
	return sent
}

// unconfirmed lists the payment hashes of parts recorded at the hook that
// lightningd has not yet shown, after grace.
func (l *Ledger) unconfirmed() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	old := l.now().Add(-grace).Unix()
	seen := map[string]bool{}
	var hashes []string
	// Drop the parts shown since, or gone; keep the order.
	kept := l.unseen[:0]
	for _, p := range l.unseen {
		if !p.confirmed && p.state == pending && l.byKey[p.key] == p {
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
		if !seen[p.key.hash] {
			seen[p.key.hash] = true
			hashes = append(hashes, p.key.hash)
		}
	}
	return hashes
}

// reconcile applies listsendpays' rows for one payment hash; a part
// recorded at the hook that has no row was never sent (its call failed
// before an HTLC existed) and stops counting.
func (l *Ledger) reconcile(hash string, rows []row) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.advance()
	have := map[partKey]bool{}
	for _, r := range rows {
		have[r.key] = true
		l.apply(r)
	}
	old := l.now().Add(-grace).Unix()
	for _, p := range l.unseen {
		if p.key.hash == hash && !p.confirmed && !have[p.key] && p.state == pending && p.created <= old && l.byKey[p.key] == p {
			l.update(p, failed, p.sent, p.counted)
		}
	}
}

// saved is a part or approval kept in the datastore.
type saved struct {
	parts     map[partKey]*part
	approvals []*approval
}

// load merges lightningd's records and the datastore's into the ledger.
// The datastore keeps parts whose history was deleted (delpay, autoclean)
// and how parts were counted; the records give their current state.
func (l *Ledger) load(rows []row, sv saved, nodeID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.nodeID = nodeID
	was := make(map[partKey]string, len(sv.parts))
	for k, s := range sv.parts {
		was[k] = record(s)
	}
	l.loading = true
	for _, r := range rows {
		if s := sv.parts[r.key]; s != nil {
			r.destination = ""
			if s.self {
				r.destination = nodeID
				if r.delivered == 0 {
					r.delivered = s.sent - s.counted
				}
			}
			delete(sv.parts, r.key)
		}
		l.apply(r)
		if p := l.byKey[r.key]; p != nil {
			p.confirmed = true
		}
	}
	for _, s := range sv.parts { // deleted from lightningd's history
		if l.byKey[s.key] == nil {
			s.confirmed = true
			l.insert(s)
		}
	}
	now := l.now()
	for _, a := range sv.approvals {
		if a.deadline.Before(now) {
			if l.store != nil {
				l.store.del("r", a.name) // outlived its payer
			}
			continue
		}
		a.active = true
		for _, p := range l.parts {
			if p.key.hash == a.hash && a.hash != "" && p.live() {
				p.approval = a
				a.live += p.counted
			}
		}
		l.approvals.add(a)
		l.reserved += a.reserved()
	}
	l.loaded, l.loadErr, l.loading = true, "", false
	l.advance()
	// Keep a record of every part a window may count that the datastore
	// does not have as it is now.
	if l.persists() {
		keep := l.now().Add(-minRetention).Unix()
		for _, w := range l.windows {
			keep = min(keep, w.cutoff)
		}
		for _, p := range l.parts {
			if p.created > keep && p.live() && was[p.key] != record(p) {
				l.store.part(p.key)
			}
		}
		for k := range was {
			if p := l.byKey[k]; p == nil || !p.live() {
				l.store.part(k)
			}
		}
	}
}

// failLoad notes why lightningd's records could not be read.
func (l *Ledger) failLoad(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.loadErr = err.Error()
}
