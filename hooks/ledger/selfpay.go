package ledger

import (
	"time"

	"github.com/payupto/pay-up-to/amount"
)

// A payment to ourselves (a rebalance around a cycle of channels) costs
// only its fees, but only once it is back: any hop that knows the
// preimage can claim it on the way. So it counts in full, as sent, until
// our own invoice for its hash shows what it received; only what it
// received is then taken off.

// received is what our invoice for a hash received, at unix time at.
type received struct {
	amount amount.MSat
	at     int64
}

// Received records that our own invoice for hash was paid amount msat
// (lightningd's invoice_payment notification, or listinvoices status
// paid with amount_received_msat): the parts we sent to ourselves with
// that hash now count only what did not come back.
func (l *Ledger) Received(hash Hash, amount amount.MSat) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.advance()
	now := l.now().Unix()
	l.received[hash] = received{amount, now}
	l.credit(hash)
	// Every invoice the node is paid comes here. One that no payment to
	// ourselves has matters only until a row of such a payment, sent
	// unseen, may still arrive: forget those after Grace, now and then.
	if len(l.received) > l.keptRecv {
		old := now - int64(Grace/time.Second)
		for h, r := range l.received {
			if r.at < old && len(l.selfParts[h]) == 0 {
				delete(l.received, h)
			}
		}
		l.keptRecv = max(1024, 2*len(l.received))
	}
}

// credit spreads what our invoice received over the live parts we sent
// to ourselves with hash, each at most what it delivers; l.mu is held.
func (l *Ledger) credit(hash Hash) {
	r, ok := l.received[hash]
	if !ok {
		return
	}
	left := r.amount
	for _, p := range l.selfParts[hash] {
		if l.byKey[p.key] != p || !p.live() {
			continue
		}
		c := p.sent
		if p.x.delivered != 0 {
			c = min(c, p.x.delivered)
		}
		c = min(c, left)
		left -= c
		if c != p.credit() {
			l.update(p, p.state, p.sent, c)
		}
	}
}

// Uncredited lists the payment hashes of live parts we sent to ourselves
// that no invoice payment has been seen for: the records read at start
// do not say whether our invoice received them.
func (l *Ledger) Uncredited() []Hash {
	l.mu.Lock()
	defer l.mu.Unlock()
	var hs []Hash
	for h, ps := range l.selfParts {
		if _, ok := l.received[h]; ok {
			continue
		}
		for _, p := range ps {
			if p.live() && p.credit() == 0 && l.byKey[p.key] == p {
				hs = append(hs, h)
				break
			}
		}
	}
	return hs
}
