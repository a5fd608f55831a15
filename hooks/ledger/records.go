package ledger

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/payupto/pay-up-to/amount"
)

// Records keep what lightningd's history may lose (delpay, autoclean) and
// what it never had (reservations, runes), in lightningd's datastore under
// ["pay-up-to", kind, name]:
//
//	h/<hour>        the hour's buckets and parts on their own (see record)
//	i/created       every row up to this created_index is in the records
//	r/<name>        created,deadline,allowance,hash,[r=rune,][t=amount,]id
//	a/<rune>        limit;budget
//
// (times in unix seconds, amounts in msat; a rune's unique id; an
// allowance's limit in msat or empty, its budget as ParseBudget reads
// it; t= the amount of a payment to a trusted payee). Keys grow with
// time, not with payments: one per hour of the longest window, one per
// payment in flight, one per allowance. Before v0.6 each part had its
// own p/<hash>-<groupid>-<partid> record; they are read once and deleted.
// The ledger queues them; the caller writes them and reads them back at
// start.

// Write is one datastore write: Value nil deletes the key.
type Write struct {
	Kind, Name string
	Value      *string
}

// journal queues writes; writes to one key coalesce. Hour records are
// rendered when taken, so a busy hour is written once per flush.
type journal struct {
	mu    sync.Mutex // protects hours and named
	hours map[int64]struct{}
	named map[[2]string]*string
	wake  chan struct{}
}

func newJournal() journal {
	return journal{hours: map[int64]struct{}{}, named: map[[2]string]*string{}, wake: make(chan struct{}, 1)}
}

func (j *journal) hour(h int64) {
	j.mu.Lock()
	j.hours[h] = struct{}{}
	j.mu.Unlock()
	j.poke()
}

func (j *journal) put(kind, name, val string) { j.set(kind, name, &val) }
func (j *journal) del(kind, name string)      { j.set(kind, name, nil) }

func (j *journal) set(kind, name string, val *string) {
	j.mu.Lock()
	j.named[[2]string{kind, name}] = val
	j.mu.Unlock()
	j.poke()
}

func (j *journal) poke() {
	select {
	case j.wake <- struct{}{}:
	default:
	}
}

// Wake receives when writes are queued.
func (l *Ledger) Wake() <-chan struct{} { return l.journal.wake }

// Writes takes up to n queued writes. The hour records come after the
// others, and the created_index they are complete to after them, in the
// batch that takes the last of them.
func (l *Ledger) Writes(n int) []Write {
	j := &l.journal
	j.mu.Lock()
	var out []Write
	for k, v := range j.named {
		if len(out) == n {
			break
		}
		out = append(out, Write{k[0], k[1], v})
		delete(j.named, k)
	}
	j.mu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	j.mu.Lock()
	defer j.mu.Unlock()
	for h := range j.hours {
		if len(out) == n {
			return out
		}
		w := Write{Kind: "h", Name: strconv.FormatInt(h, 10)}
		if v := l.record(h); v != "" {
			w.Value = &v
		}
		out = append(out, w)
		delete(j.hours, h)
	}
	if l.maxIdx != l.savedIdx && l.persists() && !l.loading && len(out) < n {
		v := strconv.FormatUint(l.maxIdx, 10)
		out = append(out, Write{Kind: IndexKind, Name: "created", Value: &v})
		l.savedIdx = l.maxIdx
	}
	return out
}

// IndexKind is the kind of the record of the created_index every row up
// to which the records have: it is written after the hours it covers,
// and not at all when one of them failed.
const IndexKind = "i"

// Retry queues a write that failed again, unless a newer one is queued.
func (l *Ledger) Retry(w Write) {
	j := &l.journal
	switch w.Kind {
	case "h":
		if h, err := strconv.ParseInt(w.Name, 10, 64); err == nil {
			j.hour(h)
		}
		return
	case IndexKind:
		l.mu.Lock()
		l.savedIdx = 0
		l.mu.Unlock()
		j.poke()
		return
	}
	j.mu.Lock()
	if _, newer := j.named[[2]string{w.Kind, w.Name}]; !newer {
		j.named[[2]string{w.Kind, w.Name}] = w.Value
	}
	j.mu.Unlock()
	j.poke()
}

func (l *Ledger) persistApproval(a *approval) {
	if !l.persists() {
		return
	}
	if a.name == "" {
		l.seq++
		a.name = fmt.Sprintf("%d-%d", a.created.UnixNano(), l.seq)
	}
	var h string
	if !a.hash.IsZero() {
		h = a.hash.String()
	}
	id := a.id
	if a.trusted {
		id = "t=" + strconv.FormatUint(uint64(a.amount), 10) + "," + id
	}
	if a.rune != "" {
		id = "r=" + a.rune + "," + id
	}
	l.journal.put("r", a.name, fmt.Sprintf("%d,%d,%d,%s,%s", a.created.Unix(), a.deadline.Unix(), a.allowance, h, id))
}

func partRecord(p *part) string {
	self := 0
	if p.isSelf() {
		self = 1
	}
	s := fmt.Sprintf("%d,%d,%d,%d,%d", p.created, p.sent, p.counted(), p.state, self)
	if r := p.runeOf(); r != "" {
		s += "," + r
	}
	if e := p.exempt(); e != 0 {
		s += ",e=" + strconv.FormatUint(uint64(e), 10)
	}
	return s
}

// Saved is what the datastore kept: hours' buckets and parts,
// reservations and allowances.
type Saved struct {
	parts      map[PartKey]*part
	approvals  []*approval
	allowances []Allowance
	hours      map[int64]string // hour records as kept
	hourFolded map[int64]idxSet
	buckets    []savedBucket
	folded     idxSet
	index      uint64          // i/created
	old        map[string]bool // p/ records from before hour records
}

// Add reads one record; it reports false for one it cannot read.
func (s *Saved) Add(kind, name, value string) bool {
	f := strings.Split(value, ",")
	var exempt uint64
	if e, ok := strings.CutPrefix(f[len(f)-1], "e="); ok && kind == "p" {
		n := nums([]string{e})
		if n == nil || n[0] == 0 {
			return false
		}
		exempt, f = n[0], f[:len(f)-1]
	}
	switch {
	case kind == "h":
		return s.addHour(name, value)
	case kind == IndexKind && name == "created":
		n := nums(f)
		if len(n) != 1 || n[0] > idxBound {
			return false
		}
		s.index = n[0]
		return true
	case kind == "p" && (len(f) == 5 || len(f) == 6 && validRune(f[5])):
		k, ok := parseKey(name)
		n := nums(f[:5])
		// counted is sent less what came back, which only a payment to
		// ourselves has.
		if !ok || n == nil || n[0] > math.MaxInt64 || n[2] > n[1] || n[3] > Failed || n[4] > 1 || n[4] == 0 && n[2] != n[1] {
			return false
		}
		if s.parts == nil {
			s.parts = map[PartKey]*part{}
		}
		rune := ""
		if len(f) == 6 {
			rune = f[5]
		}
		p := newPart(k, amount.MSat(n[1]), int64(n[0]), uint8(n[3]), n[4] == 1, rune)
		if n[1] != n[2] { // only a payment to ourselves
			p.x.credit = amount.MSat(n[1] - n[2])
		}
		if exempt > n[2] {
			return false
		}
		if exempt != 0 {
			if p.x == nil {
				p.x = &partExtra{}
			}
			p.x.exempt = amount.MSat(exempt)
		}
		if s.old == nil {
			s.old = map[string]bool{}
		}
		s.parts[k], s.old[name] = p, true
		return true
	case kind == "r" && len(f) >= 5:
		n := nums(f[:3])
		h, ok := ParseHash(f[3])
		if n == nil || !ok && f[3] != "" || n[0] > math.MaxInt64 || n[1] > math.MaxInt64 {
			return false
		}
		a := &approval{name: name, created: time.Unix(int64(n[0]), 0), deadline: time.Unix(int64(n[1]), 0),
			allowance: amount.MSat(n[2]), hash: h, method: "a payment before restart"}
		rest := f[4:]
		if r, ok := strings.CutPrefix(rest[0], "r="); ok && len(rest) > 1 && validRune(r) {
			a.rune, rest = r, rest[1:]
		}
		if t, ok := strings.CutPrefix(rest[0], "t="); ok && len(rest) > 1 {
			n := nums([]string{t})
			if n == nil || n[0] > uint64(a.allowance) {
				return false
			}
			a.trusted, a.amount, rest = true, amount.MSat(n[0]), rest[1:]
		}
		a.id = strings.Join(rest, ",")
		s.approvals = append(s.approvals, a)
		return true
	case kind == "a":
		al, err := parseAllowance(name, value)
		if err != nil {
			return false
		}
		s.allowances = append(s.allowances, al)
		return true
	}
	return false
}

func nums(f []string) []uint64 {
	n := make([]uint64, len(f))
	for i, s := range f {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return nil
		}
		n[i] = v
	}
	return n
}

func parseKey(s string) (PartKey, bool) {
	f := strings.Split(s, "-")
	if len(f) != 3 {
		return PartKey{}, false
	}
	n := nums(f[1:])
	h, ok := ParseHash(f[0])
	if n == nil || !ok {
		return PartKey{}, false
	}
	return PartKey{Hash: h, GroupID: n[0], PartID: n[1]}, true
}

// Load merges lightningd's records (listsendpays) and the datastore's
// into the ledger; nodeID is our own node's id. The datastore keeps
// parts whose history was deleted, and what came back of a payment to
// ourselves; the records give their current state.
func (l *Ledger) Load(rows []Row, sv Saved, nodeID string) {
	ld := l.StartLoad(sv, nodeID)
	ld.Rows(rows)
	ld.Done()
}

// Loader merges lightningd's records a page at a time (Load does it in
// one go): the ledger is not loaded, and refuses what a budget must
// price, until Done.
type Loader struct {
	l       *Ledger
	sv      Saved
	indexed bool // the rows carry created_index (v23.11+)
}

// StartLoad begins loading with the datastore's records.
func (l *Ledger) StartLoad(sv Saved, nodeID string) *Loader {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.id = nodeID
	for _, al := range sv.allowances {
		l.setAllowance(al, false)
	}
	l.folded = append(idxSet(nil), sv.folded...)
	for h, f := range sv.hourFolded {
		l.hour(h).folded = f
	}
	l.maxIdx, l.savedIdx = sv.index, sv.index
	l.loading = true
	return &Loader{l: l, sv: sv, indexed: sv.index > 0}
}

// From is the created_index to read lightningd's rows from: the records
// have every row before it.
func (ld *Loader) From() uint64 { return ld.sv.index + 1 }

// Rows merges a page of lightningd's records.
func (ld *Loader) Rows(rows []Row) {
	l, sv := ld.l, ld.sv
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range rows {
		if r.Index != 0 {
			ld.indexed = true
		}
		if l.byKey[r.Key] == nil && l.settled(r) {
			continue
		}
		s := sv.parts[r.Key]
		if s != nil {
			delete(sv.parts, r.Key)
			r.Rune = s.runeOf()
		}
		l.apply(r)
		p := l.byKey[r.Key]
		if p == nil {
			continue
		}
		p.confirmed = true
		if s != nil && p.isSelf() && s.credit() > 0 && p.live() {
			l.update(p, p.state, p.sent, min(s.credit(), p.sent))
		}
		if s != nil && s.exempt() > 0 && p.live() {
			l.setExempt(p, s.exempt())
		}
	}
	l.fold(l.now().Unix(), true) // a big history is held a page at a time
}

// Done merges what only the datastore has, and the ledger is loaded.
// A bucket kept adds to what the rows read since make; without
// created_index every row is read again, and a bucket is what the rows
// make or what was kept, whichever is more (deleted history).
func (ld *Loader) Done() {
	l, sv := ld.l, ld.sv
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range sv.parts { // deleted from lightningd's history, or not read again
		if l.byKey[s.key] == nil {
			s.confirmed = true
			l.insert(s)
		}
	}
	for _, b := range sv.buckets {
		x := l.bucket(b.minute, b.rune)
		if ld.indexed {
			x.sent = min(x.sent+b.sum, maxMoney)
		} else {
			x.sent = max(x.sent, b.sum)
		}
	}
	now := l.now()
	l.fold(now.Unix(), true)
	for _, c := range l.all() {
		c.recount()
	}
	for _, a := range sv.approvals {
		if a.deadline.Before(now) {
			l.journal.del("r", a.name) // outlived its payer
			continue
		}
		a.active = true
		for _, p := range l.node.parts {
			if p.key.Hash == a.hash && !a.hash.IsZero() && p.live() && !p.isBucket() {
				p.approval = a
				a.live += p.counted()
				a.exempted += p.exempt()
			}
		}
		l.approvals.add(a)
		l.reserve(a, 1)
	}
	l.loaded, l.loadErr, l.loading = true, "", false
	l.advance()
	// Write every hour the datastore does not have as it is now.
	if l.persists() {
		hours := map[int64]bool{}
		for h := range l.hours {
			hours[h] = true
		}
		for h := range sv.hours {
			hours[h] = true
		}
		for _, p := range l.node.parts {
			hours[hourOf(p.created)] = true
		}
		for h := range hours {
			if l.record(h) != sv.hours[h] {
				l.journal.hour(h)
			}
		}
		for name := range sv.old {
			l.journal.del("p", name)
		}
	}
}

// Pending lists the payment hashes of parts still pending: after a
// restart, lightningd has their news.
func (l *Ledger) Pending() []Hash {
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := map[Hash]bool{}
	var hs []Hash
	for _, p := range l.node.parts {
		if p.state == Pending && !p.onchain() && !seen[p.key.Hash] {
			seen[p.key.Hash] = true
			hs = append(hs, p.key.Hash)
		}
	}
	return hs
}

// FailLoad notes why lightningd's records could not be read.
func (l *Ledger) FailLoad(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.loadErr = err.Error()
}

// Status is the ledger now, for pay-up-to-status.
type Status struct {
	// Loaded: the node's records are read; until then the windows' spent
	// figures are not known. LoadErr says why they could not be, if not.
	Loaded  bool
	LoadErr string
	Windows []WindowStatus
	Runes   []RuneStatus // by unique id
}

// RuneStatus is a rune's allowance now.
type RuneStatus struct {
	ID       string
	Limit    amount.MSat // when HasLimit
	HasLimit bool
	Windows  []WindowStatus
}

// Status reports the node's windows.
func (l *Ledger) Status() Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.advance()
	st := Status{Loaded: l.loaded, LoadErr: l.loadErr, Windows: l.node.status()}
	for _, c := range l.accounts {
		st.Runes = append(st.Runes, RuneStatus{ID: c.id, Limit: c.limit, HasLimit: c.hasLimit, Windows: c.status()})
	}
	sort.Slice(st.Runes, func(i, j int) bool { return runeLess(st.Runes[i].ID, st.Runes[j].ID) })
	return st
}

// NodeID is our own node's id, once the records are loaded.
func (l *Ledger) NodeID() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.id
}
