package ledger

import "github.com/payupto/pay-up-to/amount"

// OnChainGroup is the GroupID of the part that counts an on-chain spend:
// its Hash is the transaction's txid, or names a close or an open, and
// its PartID is 0. lightningd's groupids are small counters, so no HTLC
// has it.
const OnChainGroup = NoGroup - 1

// OnChain is a spend that leaves the node on-chain, in msat.
type OnChain struct {
	// ID is the transaction's txid (internal byte order does not matter:
	// it only has to name the same transaction each time), or a hash
	// naming a close or an open.
	ID Hash
	// Leaving is what goes to others: held to the limits. Fee is the
	// mining fee. Both count in the budgets.
	Leaving, Fee amount.MSat
	// Rune is the unique id of the rune that authorised it, if any.
	Rune string
	// Claim, if not nil, is filled with what it counts, for a fleet to
	// agree to.
	Claim *Claim
}

// SpendOnChain decides an on-chain spend: Leaving is held to the node's
// limit (hasLimit false: none) and the rune's, Leaving plus Fee to every
// budget. With record, what it approves is counted from now, once: the
// same transaction signed and then sent counts once.
func (l *Ledger) SpendOnChain(s OnChain, limit amount.MSat, hasLimit, record bool) *Verdict {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.advance()
	key := PartKey{Hash: s.ID, GroupID: OnChainGroup}
	if p := l.byKey[key]; p != nil && p.live() {
		return nil // counted already
	}
	c := l.accounts[s.Rune]
	if hasLimit {
		if v := limitVerdict("", limit, s.Leaving, 0); v != nil {
			return v
		}
	}
	if v := c.overLimit(s.Leaving, 0); v != nil {
		return v
	}
	total := s.Leaving + s.Fee
	if total < s.Fee {
		return &Verdict{Reason: OverLimit, Part: s.Leaving, Max: limit}
	}
	if v := l.fits(total, total, c); v != nil {
		return v
	}
	if record && total > 0 {
		p := newPart(key, total, l.now().Unix(), Complete, false, s.Rune)
		p.confirmed = true
		l.insert(p)
		l.claim(s.Claim, total, nil, p)
	}
	return nil
}

// onchain reports whether a part counts an on-chain spend.
func (p *part) onchain() bool { return p.key.GroupID == OnChainGroup }

// Counted reports whether the on-chain spend id is counted already.
func (l *Ledger) Counted(id Hash) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.byKey[PartKey{Hash: id, GroupID: OnChainGroup}]
	return p != nil && p.live()
}

// Unseen reports whether an on-chain spend may have left without the
// guard seeing it: nothing was ever kept (a first start) while a budget
// needs what left in its windows. A guard that kept anything counted
// every spend since, in the records.
func (s *Saved) Unseen(l *Ledger) bool {
	return l.HasBudget() && s.index == 0 && len(s.hours) == 0 && len(s.parts) == 0 && len(s.approvals) == 0 && len(s.old) == 0
}

// OnChain counts, while loading, an on-chain spend the guard did not see
// (made before it first ran), as SpendOnChain would have counted it at
// unix time at, and reports whether it counts: one older than every
// window, or spending nothing, does not. Its hour's record is queued at
// once: the next start must find it.
func (ld *Loader) OnChain(s OnChain, at int64) bool {
	l := ld.l
	l.mu.Lock()
	defer l.mu.Unlock()
	key := PartKey{Hash: s.ID, GroupID: OnChainGroup}
	total := s.Leaving + s.Fee
	if total < s.Fee || total == 0 || l.byKey[key] != nil || at < l.now().Add(-l.retention()).Unix() {
		return false
	}
	p := newPart(key, total, at, Complete, false, s.Rune)
	p.confirmed = true
	l.insert(p)
	if l.persists() {
		l.journal.hour(hourOf(at))
	}
	return true
}
