// Package ledger keeps the accounts of what the node sends: budget windows,
// approved payments with their allowances and deadlines, the parts (HTLCs)
// and their states, and the records that keep them across restarts. It
// decides in memory and never calls lightningd.
package ledger

import (
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/payupto/pay-up-to/amount"
)

// Hash is a payment hash; the zero Hash means not known.
type Hash [32]byte

// ParseHash reads 64 hex digits.
func ParseHash(s string) (Hash, bool) {
	var h Hash
	if len(s) != 64 {
		return h, false
	}
	_, err := hex.Decode(h[:], []byte(s))
	return h, err == nil
}

func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is not known.
func (h Hash) IsZero() bool { return h == Hash{} }

// PartKey identifies an HTLC the node sent, as lightningd does
// (listsendpays: payment_hash, groupid, partid).
type PartKey struct {
	Hash            Hash
	GroupID, PartID uint64
}

func (k PartKey) String() string { return fmt.Sprintf("%s-%d-%d", k.Hash, k.GroupID, k.PartID) }

// NoGroup is the GroupID of a sendpay or sendonion without groupid:
// lightningd picks one, and the part is matched by hash and partid until
// lightningd shows it.
const NoGroup = ^uint64(0)

// Part states, as listsendpays reports them.
const (
	Pending = iota
	Complete
	Failed
)

// Grace is how long a reservation outlives its payer's retry_for, and how
// long a part recorded at the hook may go unseen in lightningd's records
// before it is taken for a send that failed before any HTLC existed.
const Grace = 10 * time.Second

// minRetention keeps parts this long even without a budget: raw sends sum
// the parts of one payment hash.
const minRetention = 24 * time.Hour

// Ledger is what the node has sent and what approved payments may still
// send. Its methods are safe for concurrent use.
type Ledger struct {
	now func() time.Time

	mu         sync.Mutex // protects everything below
	seq        uint64
	node       account             // every part, the node's windows
	accounts   map[string]*account // runes' allowances, by unique id
	byKey      map[PartKey]*part
	byHash     map[Hash]amount.MSat // sent by the pending parts of a payment hash
	unseen     []*part              // recorded at the hook, maybe not yet shown by lightningd
	approvals  approvals            // kept past their deadline to link late parts
	received   map[Hash]received    // what our own invoices received, by hash
	keptRecv   int                  // len(received) at which to forget old ones
	selfParts  map[Hash][]*part     // parts of payments to ourselves
	buckets    map[bucketKey]*part  // settled parts summed by minute
	hours      map[int64]*hour      // the buckets of each hour's record
	newBuckets []*part              // made since the last fold
	folded     idxSet               // created_index of every row folded, or failed
	foldedAt   int64                // when parts were last folded
	foldedTo   int64                // every part folded was created before it
	maxIdx     uint64               // the newest created_index seen
	savedIdx   uint64               // the created_index the datastore has
	id         string               // our node id
	loaded     bool                 // lightningd's records have been read
	loading    bool                 // they are being merged: persist nothing yet
	loadErr    string               // why they could not be, if not
	shared     map[int64]struct{}   // hours changed since the last Share; nil: not shared
	journal    journal
}

// New returns an empty ledger whose time is now (unix seconds are what
// lightningd's records use). Until Load it refuses whatever a budget
// would have to price.
func New(now func() time.Time) *Ledger {
	return &Ledger{now: now, byKey: map[PartKey]*part{}, byHash: map[Hash]amount.MSat{},
		received: map[Hash]received{}, accounts: map[string]*account{}, selfParts: map[Hash][]*part{},
		buckets: map[bucketKey]*part{}, hours: map[int64]*hour{}, journal: newJournal()}
}

// SetWindows replaces the node's budget, summing what the new windows
// hold already.
func (l *Ledger) SetWindows(ws []Window) {
	l.mu.Lock()
	defer l.mu.Unlock()
	was := l.persists()
	l.node.setWindows(ws, l.now().Unix())
	l.keepAll(was)
}

// keepAll queues the records of every live part when records start being
// kept (was: they were already): a budget set at runtime keeps records
// from now on, of what its windows already hold too; l.mu is held.
func (l *Ledger) keepAll(was bool) {
	if !was && l.persists() && l.loaded {
		for h := range l.hours {
			l.journal.hour(h)
		}
		for _, p := range l.node.parts {
			l.journal.hour(hourOf(p.created))
		}
	}
}

// HasBudget reports whether the node has budget windows.
func (l *Ledger) HasBudget() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.node.windows) > 0
}

// advance rolls every window forward to now and ends approvals past their
// deadline; l.mu is held.
func (l *Ledger) advance() {
	now := l.now()
	l.node.advance(now.Unix())
	for _, c := range l.accounts {
		c.advance(now.Unix())
	}
	l.approvals.expired(now, l.deactivate)
	if !l.loading {
		l.fold(now.Unix(), false)
	}
	l.compact(now)
}

// compact forgets parts older than every window (and minRetention) and
// approvals long past their deadline; l.mu is held.
func (l *Ledger) compact(now time.Time) {
	cutoff := now.Add(-l.retention()).Unix()
	if gone := l.node.drop(cutoff); gone != nil {
		for _, p := range gone {
			l.forget(p)
			if p.isBucket() {
				l.unbucket(p)
			}
			l.dirty(p.created) // its record goes too
		}
		for _, c := range l.accounts {
			c.drop(cutoff)
		}
		for h, r := range l.received {
			if r.at < cutoff {
				delete(l.received, h)
			}
		}
	}
	l.approvals.prune(now, l.deactivate)
}

// retention is how long parts and buckets are kept: the longest window,
// and minRetention; l.mu is held.
func (l *Ledger) retention() time.Duration {
	keep := max(minRetention, l.node.longest())
	for _, c := range l.accounts {
		keep = max(keep, c.longest())
	}
	return keep
}

// persists reports whether records are kept: only budgets need them.
func (l *Ledger) persists() bool {
	if len(l.node.windows) > 0 {
		return true
	}
	for _, c := range l.accounts {
		if len(c.windows) > 0 {
			return true
		}
	}
	return false
}
