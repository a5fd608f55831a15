package ledger

import (
	"cmp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/payupto/pay-up-to/amount"
)

// A busy node makes millions of payments in a window, and a settled part
// matters only as a sum over time. So a part is kept on its own only
// while it can still change (pending, not yet shown by lightningd, to
// ourselves awaiting our invoice, on-chain, younger than foldAfter); then
// it is folded into its account's bucket for the minute it was created
// in. A bucket counts in a window until its minute's last second rolls
// out: a window is conservative by at most one minute of spending.

// bucketGroup is the GroupID of a bucket (no HTLC has it, as OnChainGroup);
// its PartID is the minute.
const bucketGroup = NoGroup - 2

const (
	bucketSpan = 60                        // seconds a bucket sums
	recordSpan = 3600                      // seconds one datastore record holds
	foldAfter  = 2 * 60                    // seconds a settled part stays on its own: late news of it finds it
	foldEvery  = 1                         // seconds between folds
	skewMargin = 60                        // seconds lightningd's created_at may lag ours
	idxBound   = 1<<63 - 1                 // created_index bound: lightningd's are u64 counters from 1
	maxMoney   = 2_100_000_000_000_000_000 // msat: 21 million bitcoin
)

type bucketKey struct {
	minute int64
	rune   string // "" the node's
}

// hour is what one datastore record holds: the buckets of an hour and
// the created_index of every row folded into them (or failed), so that
// a row read again after a restart is not counted twice.
type hour struct {
	buckets []*part
	folded  idxSet
}

func hourOf(t int64) int64   { return t - mod(t, recordSpan) }
func minuteOf(t int64) int64 { return t - mod(t, bucketSpan) }

func mod(t, n int64) int64 { return ((t % n) + n) % n }

// isBucket reports whether p is a bucket rather than one HTLC.
func (p *part) isBucket() bool { return p.key.GroupID == bucketGroup }

// bucket returns the account's bucket for minute m, made if new;
// l.mu is held.
func (l *Ledger) bucket(m int64, rune string) *part {
	k := bucketKey{m, rune}
	if b := l.buckets[k]; b != nil {
		return b
	}
	b := &part{key: PartKey{GroupID: bucketGroup, PartID: uint64(m)}, created: m + bucketSpan - 1, state: Complete, confirmed: true}
	if rune != "" {
		b.x = &partExtra{rune: rune}
	}
	l.buckets[k] = b
	h := l.hour(m)
	h.buckets = append(h.buckets, b)
	l.newBuckets = append(l.newBuckets, b)
	return b
}

// unbucket forgets a bucket older than every window; l.mu is held.
func (l *Ledger) unbucket(b *part) {
	m := int64(b.key.PartID)
	delete(l.buckets, bucketKey{m, b.runeOf()})
	if h := l.hours[hourOf(m)]; h != nil {
		h.buckets = slices.DeleteFunc(h.buckets, func(q *part) bool { return q == b })
	}
}

func (l *Ledger) hour(t int64) *hour {
	h := l.hours[hourOf(t)]
	if h == nil {
		h = &hour{}
		l.hours[hourOf(t)] = h
	}
	return h
}

// foldable reports whether p can no longer change, and counts the same
// as a sum: settled, shown by lightningd, not on-chain (a transaction is
// found by its txid), and, to ourselves, with what came back known.
func (p *part) foldable() bool {
	switch {
	case p.isBucket() || p.onchain():
		return false
	case p.state == Failed:
		return true
	}
	return p.state == Complete && p.confirmed && (!p.isSelf() || p.credit() > 0)
}

// fold folds the parts created before now-foldAfter that can no longer
// change into buckets; force: even if it did so less than foldEvery ago.
// A part's bucket ends after it, so every window that holds the part
// holds its bucket; only a window whose cutoff falls in the bucket's
// minute holds more. l.mu is held.
func (l *Ledger) fold(now int64, force bool) {
	if !force && now < l.foldedAt+foldEvery {
		return
	}
	l.foldedAt = now
	horizon := now - foldAfter
	l.foldedTo = max(l.foldedTo, horizon)
	gone := 0
	for _, p := range l.node.parts {
		if p.created >= horizon || !p.foldable() {
			continue
		}
		gone++
		if p.idx != 0 {
			l.folded.add(p.idx)
			l.hour(p.created).folded.add(p.idx)
		}
		if p.live() {
			m := minuteOf(p.created)
			l.moveTo(&l.node, p, l.bucket(m, ""))
			if r := p.runeOf(); r != "" {
				b := l.bucket(m, r)
				b.sent += p.counted()
				if c := l.accounts[r]; c != nil {
					l.moveTo(c, p, b)
				}
			}
		}
		l.forget(p)
		l.dirty(p.created)
	}
	if gone == 0 && len(l.newBuckets) == 0 {
		return
	}
	for _, c := range l.all() {
		c.parts = slices.DeleteFunc(c.parts, func(p *part) bool { return !p.isBucket() && l.byKey[p.key] != p })
	}
	if len(l.newBuckets) > 0 {
		slices.SortFunc(l.newBuckets, func(a, b *part) int { return cmp.Compare(a.created, b.created) })
		l.node.merge(l.newBuckets)
		for _, c := range l.accounts {
			var mine []*part
			for _, b := range l.newBuckets {
				if b.runeOf() == c.id {
					mine = append(mine, b)
				}
			}
			c.merge(mine)
		}
		clear(l.newBuckets)
		l.newBuckets = l.newBuckets[:0]
	}
	for _, c := range l.all() {
		c.heads()
	}
	cutoff := now - int64(l.retention()/time.Second)
	for h := range l.hours { // older than every window: no record
		if h+recordSpan <= cutoff {
			delete(l.hours, h)
			l.dirty(h)
		}
	}
}

// moveTo moves what p counts in c's windows to bucket b, which it adds
// to the node's: only a window that holds b and not p changes. l.mu is
// held.
func (l *Ledger) moveTo(c *account, p, b *part) {
	v := c.of(p)
	if c == &l.node {
		b.sent += v
	}
	for i := range c.windows {
		w := &c.windows[i]
		if b.created > w.cutoff && p.created <= w.cutoff {
			w.count(b, int64(v))
		}
	}
}

// all is the node's account and every rune's; l.mu is held.
func (l *Ledger) all() []*account {
	out := []*account{&l.node}
	for _, c := range l.accounts {
		out = append(out, c)
	}
	return out
}

// merge puts new buckets, ordered by created, among the parts.
func (c *account) merge(bs []*part) {
	if len(bs) == 0 {
		return
	}
	out := make([]*part, 0, len(c.parts)+len(bs))
	i := 0
	for _, p := range c.parts {
		for i < len(bs) && bs[i].created < p.created {
			out = append(out, bs[i])
			i++
		}
		out = append(out, p)
	}
	c.parts = append(out, bs[i:]...)
}

// recount sums every window again from the account's parts.
func (c *account) recount() {
	c.heads()
	for i := range c.windows {
		w := &c.windows[i]
		w.sum, w.onchain = 0, 0
		for _, p := range c.parts[w.head:] {
			if p.live() {
				w.count(p, int64(c.of(p)))
			}
		}
	}
}

// heads finds where each window's parts begin.
func (c *account) heads() {
	for i := range c.windows {
		w := &c.windows[i]
		w.head = sort.Search(len(c.parts), func(i int) bool { return c.parts[i].created > w.cutoff })
	}
}

// settled reports whether a row of a part not on its own is folded
// already: by its created_index, or without one (before v23.11) by its
// time; l.mu is held.
func (l *Ledger) settled(r Row) bool {
	if r.Index != 0 {
		return l.folded.has(r.Index)
	}
	// Loading reads every row once; the pages before were folded.
	return !l.loading && r.State == Complete && r.Created < l.foldedTo-skewMargin
}

// dirty queues the record of the hour of t; l.mu is held.
func (l *Ledger) dirty(t int64) {
	if l.shared != nil {
		l.shared[hourOf(t)] = struct{}{}
	}
	if l.persists() && !l.loading {
		l.journal.hour(hourOf(t))
	}
}

// idxSet is a set of created_index values as sorted, disjoint, closed
// intervals: rows settle mostly in order, so it stays a few intervals.
type idxSet [][2]uint64

func (s idxSet) has(i uint64) bool {
	k := sort.Search(len(s), func(k int) bool { return s[k][1] >= i })
	return k < len(s) && s[k][0] <= i
}

// addRange adds every index from a to b.
func (s *idxSet) addRange(a, b uint64) {
	v := append(*s, [2]uint64{a, b})
	sort.Slice(v, func(i, j int) bool { return v[i][0] < v[j][0] })
	out := v[:1]
	for _, r := range v[1:] {
		if last := &out[len(out)-1]; r[0] <= last[1]+1 {
			last[1] = max(last[1], r[1])
		} else {
			out = append(out, r)
		}
	}
	*s = out
}

func (s *idxSet) add(i uint64) {
	v := *s
	k := sort.Search(len(v), func(k int) bool { return v[k][1]+1 >= i })
	switch {
	case k < len(v) && v[k][0] <= i && i <= v[k][1]:
		return
	case k < len(v) && v[k][1]+1 == i:
		v[k][1] = i
		if k+1 < len(v) && v[k+1][0] == i+1 { // joins the next
			v[k][1] = v[k+1][1]
			v = append(v[:k+1], v[k+2:]...)
		}
	case k < len(v) && v[k][0] == i+1:
		v[k][0] = i
	default:
		v = append(v, [2]uint64{})
		copy(v[k+1:], v[k:])
		v[k] = [2]uint64{i, i}
	}
	*s = v
}

func (s idxSet) String() string {
	var b strings.Builder
	for k, r := range s {
		if k > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatUint(r[0], 10))
		if r[1] != r[0] {
			b.WriteByte('-')
			b.WriteString(strconv.FormatUint(r[1], 10))
		}
	}
	return b.String()
}

// parseIdxSet reads what String writes: ascending, disjoint, not
// touching.
func parseIdxSet(f []string) (idxSet, bool) {
	var s idxSet
	for _, r := range f {
		a, b, ok := strings.Cut(r, "-")
		if !ok {
			b = a
		}
		n := nums([]string{a, b})
		if n == nil || n[0] == 0 || n[0] > n[1] || n[1] > idxBound || len(s) > 0 && n[0] <= s[len(s)-1][1]+1 {
			return nil, false
		}
		s = append(s, [2]uint64{n[0], n[1]})
	}
	return s, true
}

// record renders hour h's datastore value, one line each:
//
//	f <created_index ranges folded in>
//	b <minute> <msat>             the node's bucket
//	r <minute> <rune> <msat>      a rune's bucket
//	p <part key> <created_index> <part record>
//
// and "" when it holds nothing; l.mu is held.
func (l *Ledger) record(h int64) string {
	var b strings.Builder
	x := l.hours[h]
	if x != nil && len(x.folded) > 0 {
		b.WriteString("f " + x.folded.String() + "\n")
	}
	if x != nil {
		bs := append([]*part(nil), x.buckets...)
		sort.Slice(bs, func(i, j int) bool {
			if bs[i].created != bs[j].created {
				return bs[i].created < bs[j].created
			}
			return runeLess(bs[i].runeOf(), bs[j].runeOf())
		})
		for _, p := range bs {
			if p.sent == 0 {
				continue
			}
			if r := p.runeOf(); r != "" {
				b.WriteString("r " + strconv.FormatInt(int64(p.key.PartID), 10) + " " + r + " " + strconv.FormatUint(uint64(p.sent), 10) + "\n")
			} else {
				b.WriteString("b " + strconv.FormatInt(int64(p.key.PartID), 10) + " " + strconv.FormatUint(uint64(p.sent), 10) + "\n")
			}
		}
	}
	ps := l.node.parts
	for i := sort.Search(len(ps), func(i int) bool { return ps[i].created >= h }); i < len(ps) && ps[i].created < h+recordSpan; i++ {
		if p := ps[i]; !p.isBucket() && p.live() {
			b.WriteString("p " + p.key.String() + " " + strconv.FormatUint(p.idx, 10) + " " + partRecord(p) + "\n")
		}
	}
	return b.String()
}

// savedBucket is a bucket as a record keeps it.
type savedBucket struct {
	minute int64
	rune   string
	sum    amount.MSat
}

// addHour reads hour h's record; it reports false for one it cannot read.
func (s *Saved) addHour(name, value string) bool {
	h, err := strconv.ParseInt(name, 10, 64)
	if err != nil || h != hourOf(h) || h < 0 {
		return false
	}
	var x struct {
		folded  idxSet
		buckets []savedBucket
		parts   map[PartKey]*part
	}
	x.parts = map[PartKey]*part{}
	for _, line := range strings.Split(strings.TrimSuffix(value, "\n"), "\n") {
		f := strings.Split(line, " ")
		ok := false
		switch {
		case f[0] == "f" && len(f) > 1 && x.folded == nil:
			x.folded, ok = parseIdxSet(f[1:])
		case (f[0] == "b" && len(f) == 3) || (f[0] == "r" && len(f) == 4 && validRune(f[2])):
			n := nums([]string{f[1], f[len(f)-1]})
			if ok = n != nil && n[1] > 0 && int64(n[0]) >= h && int64(n[0]) < h+recordSpan && int64(n[0]) == minuteOf(int64(n[0])); ok {
				// More than every bitcoin is kept as every bitcoin: over any
				// budget, and far from overflow.
				b := savedBucket{minute: int64(n[0]), sum: amount.MSat(min(n[1], maxMoney))}
				if f[0] == "r" {
					b.rune = f[2]
				}
				x.buckets = append(x.buckets, b)
			}
		case f[0] == "p" && len(f) == 4:
			var one Saved
			n := nums(f[2:3])
			k, kok := parseKey(f[1])
			if ok = n != nil && n[0] <= idxBound && kok && x.parts[k] == nil && one.Add("p", f[1], f[3]); ok {
				p := one.parts[k]
				p.idx = n[0]
				ok = p.created >= h && p.created < h+recordSpan && p.live()
				x.parts[k] = p
			}
		}
		if !ok {
			return false
		}
	}
	for k := range x.parts {
		if s.parts[k] != nil {
			return false
		}
	}
	if s.parts == nil {
		s.parts = map[PartKey]*part{}
	}
	for k, p := range x.parts {
		s.parts[k] = p
	}
	if s.hours == nil {
		s.hours = map[int64]string{}
	}
	s.hours[h] = value
	if len(x.folded) > 0 {
		if s.hourFolded == nil {
			s.hourFolded = map[int64]idxSet{}
		}
		s.hourFolded[h] = x.folded
	}
	for _, r := range x.folded {
		s.folded.addRange(r[0], r[1])
	}
	s.buckets = append(s.buckets, x.buckets...)
	return true
}
