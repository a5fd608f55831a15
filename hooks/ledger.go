package hooks

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/payupto/pay-up-to/amount"
)

// Part states, as listsendpays reports them.
const (
	pending = iota
	complete
	failed
)

// partKey identifies an HTLC the node sent, as lightningd does.
type partKey struct {
	hash            string // the payment hash's 32 bytes (hexHash shows it)
	groupid, partid uint64
}

func (k partKey) String() string {
	return fmt.Sprintf("%s-%d-%d", hexHash(k.hash), k.groupid, k.partid)
}

// Payment hashes are kept as their 32 bytes, half the size of hex.
func binHash(h string) (string, bool) {
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != 32 {
		return "", false
	}
	return string(b), true
}

func hexHash(b string) string { return hex.EncodeToString([]byte(b)) }

// part is one HTLC this node originated.
type part struct {
	key     partKey
	sent    amount.MSat // amount_sent_msat: what left our channel, fees included
	counted amount.MSat // what the budget counts: sent, or only the fees of a payment to ourselves
	created int64       // unix seconds, as listsendpays' created_at
	state   uint8
	self    bool // a payment to our own node (a rebalance)
	// confirmed: listsendpays or a notification has shown it; a part
	// recorded at the hook whose send failed early never shows up.
	confirmed bool
	approval  *approval
}

func (p *part) live() bool { return p.state != failed }

// approval is a guarded payment let through: its parts may spend up to
// allowance (amount plus fee allowance). While active, what it has not yet
// spent is reserved in every window.
type approval struct {
	id        string // the command's id; its calls' ids start with id + "/"
	hash      string // payment hash (32 bytes), once known
	method    string
	key, subj string // what the refusal data names it by
	allowance amount.MSat
	live      amount.MSat // counted by its pending and complete parts
	created   time.Time
	deadline  time.Time // the payer sends nothing after this
	active    bool
	name      string // its datastore key
}

func (a *approval) reserved() amount.MSat {
	if !a.active || a.live >= a.allowance {
		return 0
	}
	return a.allowance - a.live
}

// windowSum is a budget window with the running total of the live parts
// created after its cutoff; parts[head:] are those parts.
type windowSum struct {
	Window
	cutoff int64
	head   int
	sum    amount.MSat
}

// grace is how long a reservation outlives its payer's retry_for, and how
// long a part recorded at the hook may go unseen in listsendpays before it
// is taken for a send that failed before any HTLC existed.
const grace = 10 * time.Second

// minRetention keeps parts this long even without a budget: raw sends sum
// the parts of one payment hash.
const minRetention = 24 * time.Hour

// Ledger is what the node has sent and what approved payments may still
// send: parts from lightningd's records, its notifications and the hook,
// and reservations.
type Ledger struct {
	now   func() time.Time
	store *store // nil: nothing is persisted (tests)

	mu        sync.Mutex // protects everything below
	windows   []windowSum
	parts     []*part // ordered by created, oldest first
	byKey     map[partKey]*part
	byHash    map[string]amount.MSat // sent by the pending parts of a payment hash
	unseen    []*part                // recorded at the hook, maybe not yet shown by lightningd
	approvals approvalIndex          // kept past their deadline to link late parts
	reserved  amount.MSat            // sum of approvals' reserved()
	loaded    bool                   // lightningd's records have been read
	loading   bool                   // they are being merged: persist nothing yet
	loadErr   string                 // why they could not be, if not
	nodeID    string
	seq       uint64
	stats     stats
}

// stats are counts since start, for pay-up-to-status.
type stats struct {
	approved, refused uint64
	recent            []json.RawMessage // the last few, newest last: {"time",…told}
}

const recentRefusals = 10

func newLedger(now func() time.Time) *Ledger {
	return &Ledger{now: now, byKey: map[partKey]*part{}, byHash: map[string]amount.MSat{}}
}

// setWindows replaces the budget, summing what the new windows hold.
func (l *Ledger) setWindows(ws []Window) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.windows = l.windows[:0]
	now := l.now().Unix()
	for _, w := range ws {
		s := windowSum{Window: w, cutoff: now - int64(w.Period/time.Second)}
		s.head = sort.Search(len(l.parts), func(i int) bool { return l.parts[i].created > s.cutoff })
		for _, p := range l.parts[s.head:] {
			if p.live() {
				s.sum += p.counted
			}
		}
		l.windows = append(l.windows, s)
	}
	// A budget set at runtime keeps records from now on, of what its
	// windows already hold too.
	if l.persists() && l.loaded {
		for _, p := range l.parts {
			if p.live() {
				l.store.part(p.key)
			}
		}
	}
}

func (l *Ledger) hasBudget() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.windows) > 0
}

// advance rolls every window forward to now and ends approvals past their
// deadline; l.mu is held.
func (l *Ledger) advance() {
	now := l.now()
	for i := range l.windows {
		w := &l.windows[i]
		w.cutoff = now.Unix() - int64(w.Period/time.Second)
		for w.head < len(l.parts) && l.parts[w.head].created <= w.cutoff {
			if p := l.parts[w.head]; p.live() {
				w.sum -= p.counted
			}
			w.head++
		}
	}
	l.approvals.expired(now, l.deactivate)
	l.compact(now)
}

// compact forgets parts older than every window (and minRetention) and
// approvals long past their deadline.
func (l *Ledger) compact(now time.Time) {
	keep := minRetention
	for _, w := range l.windows {
		keep = max(keep, w.Period)
	}
	cutoff := now.Add(-keep).Unix()
	n := sort.Search(len(l.parts), func(i int) bool { return l.parts[i].created > cutoff })
	if n > 1024 && n > len(l.parts)/4 {
		for _, p := range l.parts[:n] {
			l.forget(p)
			if l.persists() {
				l.store.part(p.key) // its record goes too
			}
		}
		l.parts = append(l.parts[:0:0], l.parts[n:]...)
		for i := range l.windows {
			l.windows[i].head = max(0, l.windows[i].head-n)
		}
	}
	l.approvals.prune(now, l.deactivate)
}

func (l *Ledger) forget(p *part) {
	delete(l.byKey, p.key)
	if p.state == pending {
		l.out(p.key.hash, -int64(p.sent))
	}
}

// out adds delta to what is in flight for a payment hash. Only pending
// parts count: lightningd takes no new part for a hash already paid.
func (l *Ledger) out(hash string, delta int64) {
	if v := int64(l.byHash[hash]) + delta; v > 0 {
		l.byHash[hash] = amount.MSat(v)
	} else {
		delete(l.byHash, hash)
	}
}

// insert adds a new part, keeping parts ordered by creation; l.mu is held.
func (l *Ledger) insert(p *part) {
	idx := len(l.parts)
	if idx > 0 && l.parts[idx-1].created > p.created {
		idx = sort.Search(len(l.parts), func(i int) bool { return l.parts[i].created > p.created })
	}
	l.parts = append(l.parts, nil)
	copy(l.parts[idx+1:], l.parts[idx:])
	l.parts[idx] = p
	for i := range l.windows {
		w := &l.windows[i]
		if p.created <= w.cutoff {
			w.head++
		} else if p.live() {
			w.sum += p.counted
		}
	}
	l.byKey[p.key] = p
	if p.state == pending {
		l.out(p.key.hash, int64(p.sent))
	}
	if p.approval != nil && p.live() {
		l.charge(p.approval, int64(p.counted))
	}
	l.persistPart(p)
}

// update changes a known part's state and amounts; l.mu is held.
func (l *Ledger) update(p *part, state uint8, sent, counted amount.MSat) {
	oldLive, oldPending, oldCounted, oldSent := p.live(), p.state == pending, p.counted, p.sent
	p.state, p.sent, p.counted = state, sent, counted
	var delta int64
	if oldLive {
		delta -= int64(oldCounted)
	}
	if oldPending {
		l.out(p.key.hash, -int64(oldSent))
	}
	if p.live() {
		delta += int64(p.counted)
	}
	if p.state == pending {
		l.out(p.key.hash, int64(p.sent))
	}
	for i := range l.windows {
		if w := &l.windows[i]; p.created > w.cutoff {
			w.sum = amount.MSat(int64(w.sum) + delta)
		}
	}
	if p.approval != nil {
		l.charge(p.approval, delta)
	}
	l.persistPart(p)
}

// charge adds delta to what an approval's parts hold, keeping l.reserved.
func (l *Ledger) charge(a *approval, delta int64) {
	l.reserved -= a.reserved()
	a.live = amount.MSat(int64(a.live) + delta)
	l.reserved += a.reserved()
}

func (l *Ledger) deactivate(a *approval) {
	l.reserved -= a.reserved()
	a.active = false
	if l.persists() && a.name != "" {
		l.store.del("r", a.name)
	}
}

// used is what window w holds now: its parts and every reservation.
func (l *Ledger) used(w *windowSum) amount.MSat { return w.sum + l.reserved }

// overBudget returns the refusal for spending req more now, or nil;
// l.mu is held and the windows are advanced.
func (l *Ledger) overBudget(req amount.MSat, key, subj string) *refusal {
	var worst *windowSum
	var worstAt int64 // 0: never fits
	for i := range l.windows {
		w := &l.windows[i]
		used := l.used(w)
		if used+req <= w.Amount && used+req >= used {
			continue
		}
		at := l.availableAt(w, req)
		if worst == nil || worstAt != 0 && (at == 0 || at > worstAt) {
			worst, worstAt = w, at
		}
	}
	if worst == nil {
		return nil
	}
	used := l.used(worst)
	r := &refusal{
		code: CodeOverBudget,
		message: fmt.Sprintf("pay-up-to: payment of %s with fees would exceed the budget %s (%s used)",
			req.BTC(), worst.Spec, used.BTC()),
		data: []field{
			{key: "budget_exceeded", str: worst.Spec},
			{key: "budget_msat", num: uint64(worst.Amount), isNum: true},
			{key: "used_msat", num: uint64(used), isNum: true},
			{key: "requested_msat", num: uint64(req), isNum: true},
		},
	}
	if worstAt != 0 {
		r.data = append(r.data, field{key: "available_at", num: uint64(worstAt), isNum: true})
	}
	if key != "" {
		r.data = append(r.data, field{key: key, str: subj})
	}
	return r
}

// availableAt is when enough of w's parts will have rolled out for req to
// fit, or 0 if it never will (reservations alone leave no room).
func (l *Ledger) availableAt(w *windowSum, req amount.MSat) int64 {
	if l.reserved+req > w.Amount || l.reserved+req < l.reserved {
		return 0
	}
	need := l.used(w) + req - w.Amount
	var freed amount.MSat
	for _, p := range l.parts[w.head:] {
		if !p.live() {
			continue
		}
		if freed += p.counted; freed >= need {
			return p.created + int64(w.Period/time.Second)
		}
	}
	return 0
}

// persistPart queues the part's record in lightningd's datastore, so that
// deleted payment history cannot free budget.
func (l *Ledger) persistPart(p *part) {
	if l.persists() && !l.loading {
		l.store.part(p.key)
	}
}

// persists reports whether records are kept: only budgets need them.
func (l *Ledger) persists() bool { return l.store != nil && len(l.windows) > 0 }

// records renders the datastore records of parts: nil for a part that no
// longer counts (failed, or older than every window).
func (l *Ledger) records(keys []partKey) []*string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]*string, len(keys))
	for i, k := range keys {
		if p := l.byKey[k]; p != nil && p.live() {
			v := record(p)
			out[i] = &v
		}
	}
	return out
}

func record(p *part) string {
	self := 0
	if p.self {
		self = 1
	}
	return fmt.Sprintf("%d,%d,%d,%d,%d", p.created, p.sent, p.counted, p.state, self)
}

func (l *Ledger) persistApproval(a *approval) {
	if !l.persists() {
		return
	}
	if a.name == "" {
		l.seq++
		a.name = fmt.Sprintf("%d-%d", a.created.UnixNano(), l.seq)
	}
	l.store.put("r", a.name, fmt.Sprintf("%d,%d,%d,%s,%s", a.created.Unix(), a.deadline.Unix(), a.allowance, hexHash(a.hash), a.id))
}

// link finds the approval a send belongs to: same payment hash, and an id
// chained from the approved command's, or the unchained id of a payer
// plugin (CLN before v24.11 does not chain them). Ids are not
// authentication, so the approval's allowance still bounds what it gets.
func (l *Ledger) link(hash, id string) *approval {
	if a := l.approvals.prefixOf(id); a != nil && a.hash == hash {
		return a
	}
	hs := l.approvals.byHash[hash]
	if len(hs) == 0 || !payerID(id) && id != "" {
		return nil
	}
	for i := len(hs) - 1; i >= 0; i-- {
		if hs[i].active {
			return hs[i]
		}
	}
	return hs[len(hs)-1]
}

// payerID reports whether id is an unchained call of one of CLN's payer
// plugins, e.g. "pay:sendonion#12".
func payerID(id string) bool {
	if strings.Contains(id, "/") {
		return false
	}
	for _, p := range []string{"pay:", "keysend:", "renepay:", "cln-renepay:", "xpay:", "cln-xpay:"} {
		if strings.HasPrefix(id, p) {
			return true
		}
	}
	return false
}

// record counts a refusal for pay-up-to-status; told is its notification.
func (l *Ledger) record(told json.RawMessage) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stats.refused++
	rec := strconv.AppendInt([]byte(`{"time":`), l.now().Unix(), 10)
	rec = append(append(rec, ','), told[1:]...)
	l.stats.recent = append(l.stats.recent, rec)
	if len(l.stats.recent) > recentRefusals {
		l.stats.recent = l.stats.recent[1:]
	}
}
