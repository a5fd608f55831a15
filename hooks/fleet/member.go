// Package fleet shares the node's spending with the other members of a
// fleet through etcd, so that each member holds its budget windows to
// what left all of them.
//
// Each member writes what its windows hold (by minute) and what it
// reserves; a spend its ledger approved is let through only once a
// transaction that compares the fleet's seq key has written it, so no
// two members ever decide on the same room. When etcd cannot be reached
// a member spends only from its offline share, a quota it reserved in
// etcd beforehand.
package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/hooks/fleet/etcd"
	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/hooks/pause"
	"github.com/payupto/pay-up-to/hooks/refuse"
)

// Timings of a member's talk with etcd.
const (
	callTimeout = 5 * time.Second       // one request, across every endpoint: an election takes seconds
	heartbeat   = 10 * time.Second      // how often a member says it is alive
	retryAfter  = time.Second           // after a failure, before asking etcd again
	maxOps      = 100                   // per transaction; etcd allows 128
	contended   = 50 * time.Millisecond // members that wrote this recently take turns
)

// Member is this node in a fleet.
type Member struct {
	name   string
	prefix string
	share  amount.MSat
	cl     *etcd.Client
	ledger *ledger.Ledger
	pauses *pause.Book
	logf   func(level, format string, args ...any)
	wake   chan struct{}

	mu        sync.Mutex // protects everything below
	node      string     // our node id, once known
	v         view
	loaded    bool   // v is read
	why       string // why etcd cannot be reached, "" when it answered last
	queue     []*request
	mine      info                         // what etcd holds of us, as we last wrote it
	written   bool                         // we wrote since we started
	pending   map[int64][]ledger.MinuteSum // hours changed, not yet written
	sharedAll bool                         // the ledger gave every hour once
	shareLeft amount.MSat                  // of the share written, what may be spent while etcd is away
	rtt       time.Duration                // a transaction's round trip, averaged
}

// request is claims waiting for the fleet's answer.
type request struct {
	claims    []*ledger.Claim
	done      chan error // gets one answer
	abandoned bool       // its caller gave up; mu protects it
}

// New makes a member of the fleet c whose spending is in l, and whose
// pause goes to pauses. It reaches etcd only once started.
func New(c Config, l *ledger.Ledger, pauses *pause.Book, logf func(level, format string, args ...any)) (*Member, error) {
	cl, err := etcd.New(c.Etcd)
	if err != nil {
		return nil, err
	}
	return &Member{name: c.Name, prefix: c.Name + "/", share: c.Share, cl: cl, ledger: l, pauses: pauses, logf: logf,
		wake: make(chan struct{}, 1), v: newView(c.Name + "/"), pending: map[int64][]ledger.MinuteSum{}, rtt: time.Millisecond}, nil
}

// Name is the fleet's name.
func (m *Member) Name() string { return m.name }

// Start reads the fleet's keys and keeps them read, in the background,
// until ctx ends; lightningd starts whether or not etcd answers.
func (m *Member) Start(ctx context.Context) {
	go m.run(ctx)
}

// Join tells the member our node id, once the ledger has read our
// records: from then on it writes what we spend.
func (m *Member) Join(node string) {
	m.mu.Lock()
	m.node = node
	m.mu.Unlock()
	m.poke()
}

func (m *Member) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Confirm asks the fleet to agree to claims the ledger made for one
// command: nil when it does (or the member's offline share covers them
// while etcd is away); else a *refuse.Fleet, and the claims are
// withdrawn.
func (m *Member) Confirm(ctx context.Context, claims []*ledger.Claim) error {
	if len(claims) == 0 {
		return nil
	}
	r := &request{claims: claims, done: make(chan error, 1)}
	m.mu.Lock()
	m.queue = append(m.queue, r)
	m.mu.Unlock()
	m.poke()
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		m.mu.Lock()
		r.abandoned = true
		m.mu.Unlock()
		select {
		case err := <-r.done: // answered meanwhile
			return err
		default:
		}
		withdraw(r)
		return &refuse.Fleet{Name: m.name, Why: "etcd did not answer in time"}
	}
}

func agree(r *request) {
	for _, c := range r.claims {
		c.Agreed()
	}
}

func withdraw(r *request) {
	for _, c := range r.claims {
		c.Withdraw()
	}
}

func (r *request) amount() amount.MSat {
	var a amount.MSat
	for _, c := range r.claims {
		a += c.Amount
	}
	return a
}

// run reads the fleet, watches it, and writes what we spend: when asked
// to confirm, when what we spend changes (every second), and every
// heartbeat.
func (m *Member) run(ctx context.Context) {
	go m.watch(ctx)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.wake:
		case <-tick.C:
			m.readPause(ctx)
		}
		m.sync(ctx)
	}
}

// load reads every key of the fleet.
func (m *Member) load(ctx context.Context) error {
	c, cancel := context.WithTimeout(ctx, 2*callTimeout)
	defer cancel()
	kvs, rev, err := m.cl.Get(c, etcd.Range{Key: m.prefix, End: etcd.Prefix(m.prefix)})
	if err != nil {
		m.failed(err)
		m.poke() // claims waiting for it are answered
		return err
	}
	v := newView(m.prefix)
	for _, kv := range kvs {
		if err := v.apply(kv, false); err != nil {
			m.logf("unusual", "%v", err)
		}
	}
	v.rev = rev
	m.mu.Lock()
	first := !m.loaded
	m.v, m.loaded, m.why = v, true, ""
	x := v.pause
	m.mu.Unlock()
	m.pauses.Set(pause.Fleet, x)
	m.poke() // claims may wait for it
	if first {
		m.logf("info", "fleet %s: read %d keys of %d members at revision %d", m.name, len(kvs), len(v.nodes()), rev)
	}
	return nil
}

// watch applies the fleet's changes as etcd tells them; after a break it
// watches again, and reads everything again when its revisions are
// compacted away.
func (m *Member) watch(ctx context.Context) {
	for ctx.Err() == nil {
		m.mu.Lock()
		loaded, rev := m.loaded, m.v.rev
		m.mu.Unlock()
		if !loaded {
			if m.load(ctx) != nil {
				sleep(ctx, retryAfter)
			}
			continue
		}
		err := m.cl.Watch(ctx, etcd.Range{Key: m.prefix, End: etcd.Prefix(m.prefix)}, rev+1, m.changed)
		if errors.Is(err, etcd.ErrCompacted) {
			m.mu.Lock()
			m.loaded = false
			m.mu.Unlock()
			continue
		}
		if ctx.Err() == nil {
			// Decisions do not wait on the watch: their transactions
			// read what changed. It is made again in a second.
			m.logf("debug", "fleet %s: watch: %v", m.name, err)
			sleep(ctx, retryAfter)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// changed applies what a watch saw.
func (m *Member) changed(rev int64, evs []etcd.Event) {
	m.mu.Lock()
	for _, e := range evs {
		if err := m.v.apply(e.KV, e.Delete); err != nil {
			m.logf("unusual", "%v", err)
		}
	}
	m.v.rev = max(m.v.rev, rev)
	x := m.v.pause
	m.mu.Unlock()
	m.pauses.Set(pause.Fleet, x)
}

// readPause reads the fleet's pause, so that a member whose watch lags
// (its etcd member cut off from the others) still sees it within a
// second.
func (m *Member) readPause(ctx context.Context) {
	c, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	kvs, rev, err := m.cl.Get(c, etcd.Range{Key: m.prefix + "pause"})
	if err != nil {
		m.failed(err)
		return
	}
	m.mu.Lock()
	m.why = "" // a linearizable read: etcd has a quorum again
	if len(kvs) == 1 {
		m.v.apply(kvs[0], false)
	} else if rev > m.v.pauseAt {
		m.v.apply(etcd.KV{Key: m.prefix + "pause", ModRevision: rev}, true)
	}
	x := m.v.pause
	m.mu.Unlock()
	m.pauses.Set(pause.Fleet, x)
}

// catchUp reads what changed in the fleet since the view's revision, so
// that an operator's command acts on what etcd holds, not on what the
// watch has told so far.
func (m *Member) catchUp(ctx context.Context) error {
	m.mu.Lock()
	rev := m.v.rev
	m.mu.Unlock()
	c, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	kvs, at, err := m.cl.Get(c, etcd.Range{Key: m.prefix, End: etcd.Prefix(m.prefix), MinModRevision: rev + 1})
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, kv := range kvs {
		if err := m.v.apply(kv, false); err != nil {
			m.logf("unusual", "%v", err)
		}
	}
	m.v.rev = max(m.v.rev, at)
	return nil
}

// failed notes that etcd could not be reached.
func (m *Member) failed(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.why == "" {
		m.logf("unusual", "fleet %s: etcd cannot be reached (spends under a budget are refused beyond the offline share): %v", m.name, err)
	}
	m.why = err.Error()
}

// sync writes what we spend, deciding the claims waiting on it, until a
// transaction that saw the whole fleet succeeds or etcd cannot be
// reached.
func (m *Member) sync(ctx context.Context) {
	m.mu.Lock()
	if wait := m.turn(); wait > 0 {
		m.mu.Unlock()
		time.Sleep(wait)
		m.mu.Lock()
	}
	if !m.loaded && m.why == "" {
		m.mu.Unlock()
		return // the first read is under way: the claims wait for it
	}
	reqs := m.queue
	m.queue = nil
	node, loaded := m.node, m.loaded
	down := m.why != "" // until a read every second finds etcd again
	m.mu.Unlock()
	if node == "" || !loaded || down {
		if len(reqs) > 0 {
			m.alone(reqs)
		}
		return
	}
	for try := 0; ; try++ {
		sh := m.ledger.Share(!m.sharedAll)
		if !sh.Loaded {
			m.alone(reqs)
			return
		}
		m.sharedAll = true
		m.mu.Lock()
		for h, ms := range sh.Hours {
			// An older hour may have lost parts to compaction that a
			// member with a longer window still counts: etcd keeps it as
			// written. One etcd lacks (a first start) is written as the
			// ledger has it, with every part still in our windows.
			if h >= sh.Since || len(ms) > 0 && !m.v.has(m.node, h) {
				m.pending[h] = ms
			}
		}
		d := m.decide(reqs, sh)
		m.mu.Unlock()
		if len(reqs) == 0 && !d.due {
			return
		}
		c, cancel := context.WithTimeout(ctx, callTimeout)
		start := time.Now()
		res, err := m.cl.Txn(c, d.compare, d.ops, []etcd.Op{{Range: &etcd.Range{Key: m.prefix, End: etcd.Prefix(m.prefix), MinModRevision: d.rev + 1}}})
		cancel()
		if err != nil {
			m.failed(err)
			m.alone(reqs)
			return
		}
		m.mu.Lock()
		m.rtt += (time.Since(start) - m.rtt) / 8
		m.why = ""
		if res.Succeeded {
			m.wrote(d, res.Revision)
			m.mu.Unlock()
			if d.more {
				continue // more hours to write first
			}
			m.answer(reqs, d)
			return
		}
		for _, r := range res.Ranges {
			for _, kv := range r {
				m.v.apply(kv, false)
			}
		}
		m.v.rev = max(m.v.rev, res.Revision)
		// Another member wrote first: wait for our turn, and take the
		// claims that came meanwhile into the same transaction (taken
		// before the ledger is read again: it holds them).
		wait := m.turn()
		m.mu.Unlock()
		time.Sleep(wait)
		m.mu.Lock()
		more := m.queue
		m.queue = nil
		m.mu.Unlock()
		reqs = append(reqs, more...)
		if try == 100 {
			for _, r := range reqs {
				m.refuse(r, &refuse.Fleet{Name: m.name, Why: "the fleet changed under 100 attempts in a row"})
			}
			return
		}
	}
}

// turn is how long to wait before writing seq while other members write
// it too. Those that wrote in the last 50 ms take turns after the last
// writer, in node id order, a round trip apart: left to race, the one
// that just won (it knows the new revision first) wins again and again,
// and the others' payments wait seconds (BENCHMARKS.md, section 9).
// Zero when no other member writes. m.mu is held.
func (m *Member) turn() time.Duration {
	now := time.Now()
	active := []string{m.node}
	for n, at := range m.v.writers {
		if n != m.node && now.Sub(at) < contended {
			active = append(active, n)
		}
	}
	if len(active) < 2 {
		return 0
	}
	sort.Strings(active)
	last, me := slices.Index(active, m.v.seqBy), slices.Index(active, m.node)
	if last < 0 {
		return 0
	}
	k := (me - last + len(active)) % len(active) // 1: the next after the last writer
	if k == 0 {
		k = len(active) // we wrote last: the others first
	}
	return min(time.Duration(k-1)*m.rtt, contended)
}

// decision is what one transaction writes, and which claims it takes.
type decision struct {
	compare []etcd.Compare
	ops     []etcd.Op
	rev     int64 // the view's revision it was decided on
	mine    info
	hours   []int64 // written by ops
	more    bool    // hours remain to write: no claim is decided yet
	due     bool    // something changed, or a heartbeat is due
	refused map[*request]*ledger.Verdict
	share   amount.MSat
}

// decide takes, in order, the requests that fit every budget window with
// what the whole fleet holds, and says what to write; m.mu is held.
func (m *Member) decide(reqs []*request, sh ledger.Shared) decision {
	now := time.Now().Unix()
	d := decision{rev: m.v.rev, refused: map[*request]*ledger.Verdict{},
		compare: []etcd.Compare{{Key: m.prefix + "seq", Target: "MOD", Result: "EQUAL", Rev: m.v.seqMod}}}
	// Hours first, oldest first, a transaction at a time: claims wait for
	// the last.
	hours := make([]int64, 0, len(m.pending))
	for h := range m.pending {
		hours = append(hours, h)
	}
	sort.Slice(hours, func(i, j int) bool { return hours[i] < hours[j] })
	if len(hours) > maxOps {
		hours, d.more = hours[:maxOps], true
	}
	d.ops = append(d.ops, etcd.Op{Put: &etcd.KV{Key: m.prefix + "seq", Value: m.node}})
	if d.more {
		d.hours = hours
		d.ops = append(d.ops, m.hourOps(hours, nil)...)
		d.due = true
		return d
	}
	// What each window holds across the fleet, without the claims asked
	// about now (the ledger holds them already).
	asked := amount.MSat(0)
	for _, r := range reqs {
		if !r.abandoned {
			asked += r.amount()
		}
	}
	shareBase := min(m.shareLeft, m.share)
	used := make([]amount.MSat, len(sh.Windows))
	for i, w := range sh.Windows {
		spent, reserved := m.v.others(m.node, now-int64(w.Period/time.Second))
		used[i] = w.Spent + w.Reserved + spent + reserved + shareBase - min(asked, w.Spent+w.Reserved)
	}
	var minus map[int64]amount.MSat // parts refused, by minute
	reserved := sh.Reserved
	for _, r := range reqs {
		if r.abandoned {
			d.refused[r] = nil
			continue
		}
		a := r.amount()
		if v := over(sh.Windows, used, a); v != nil {
			d.refused[r] = v
			for _, c := range r.claims {
				if c.Reservation() {
					reserved -= min(reserved, c.Amount)
				} else {
					if minus == nil {
						minus = map[int64]amount.MSat{}
					}
					minus[c.Minute()] += c.Amount
				}
			}
			continue
		}
		for i := range used {
			used[i] += a
		}
	}
	// The share: what it had, and more if every window has room.
	d.share = shareBase
	if len(sh.Windows) > 0 && m.share > shareBase {
		room := m.share - shareBase
		for i, w := range sh.Windows {
			room = min(room, w.Amount-min(w.Amount, used[i]))
		}
		d.share += room
	} else if len(sh.Windows) == 0 {
		d.share = 0
	}
	d.mine = info{Reserved: reserved, Share: d.share, Seen: now, Longest: longest(sh.Windows)}
	d.hours = hours
	d.ops = append(d.ops, m.hourOps(hours, minus)...)
	prune := m.pruneOps(now, longest(sh.Windows))
	d.ops = append(d.ops, prune...)
	b, _ := json.Marshal(d.mine)
	d.ops = append(d.ops, etcd.Op{Put: &etcd.KV{Key: m.prefix + "m/" + m.node, Value: string(b)}})
	// A write is due when something changed, or for a heartbeat.
	held := info{}
	if me := m.v.members[m.node]; me != nil {
		held = me.info
	}
	held.Seen = now
	d.due = !m.written || len(hours) > 0 || len(prune) > 0 || held != d.mine ||
		now-m.mine.Seen >= int64(heartbeat/time.Second)
	return d
}

// over is the verdict on adding a to every window, or nil.
func over(ws []ledger.WindowStatus, used []amount.MSat, a amount.MSat) *ledger.Verdict {
	for i, w := range ws {
		if used[i]+a > w.Amount || used[i]+a < used[i] {
			return &ledger.Verdict{Reason: ledger.OverBudget, Window: w.Window, Used: used[i], Requested: a}
		}
	}
	return nil
}

func longest(ws []ledger.WindowStatus) int64 {
	var l time.Duration
	for _, w := range ws {
		l = max(l, w.Period)
	}
	return int64(l / time.Second)
}

// hourOps writes hours, less what refused parts counted; m.mu is held.
func (m *Member) hourOps(hours []int64, minus map[int64]amount.MSat) []etcd.Op {
	ops := make([]etcd.Op, 0, len(hours))
	for _, h := range hours {
		ms := m.pending[h]
		if len(minus) > 0 {
			ms = append([]ledger.MinuteSum(nil), ms...)
			for i := range ms {
				ms[i].Sum -= min(ms[i].Sum, minus[ms[i].Minute])
			}
		}
		key := m.prefix + "h/" + m.node + "/" + strconv.FormatInt(h, 10)
		if v := FormatHour(h, nonZero(ms)); v != "" {
			ops = append(ops, etcd.Op{Put: &etcd.KV{Key: key, Value: v}})
		} else {
			ops = append(ops, etcd.Op{Delete: key})
		}
	}
	return ops
}

func nonZero(ms []ledger.MinuteSum) []ledger.MinuteSum {
	out := ms[:0:0]
	for _, x := range ms {
		if x.Sum > 0 {
			out = append(out, x)
		}
	}
	return out
}

// pruneOps deletes our hours older than the longest window of any
// member, and a day; m.mu is held.
func (m *Member) pruneOps(now, ours int64) []etcd.Op {
	keep := max(24*3600, ours) // ours: our key may not hold it yet

	for _, x := range m.v.members {
		keep = max(keep, x.info.Longest)
	}
	me := m.v.members[m.node]
	if me == nil {
		return nil
	}
	var ops []etcd.Op
	for h := range me.hours {
		if h+3600+keep < now && len(ops) < 16 {
			if _, p := m.pending[h]; !p {
				ops = append(ops, etcd.Op{Delete: m.prefix + "h/" + m.node + "/" + strconv.FormatInt(h, 10)})
			}
		}
	}
	return ops
}

// wrote notes what a transaction wrote at rev; m.mu is held.
func (m *Member) wrote(d decision, rev int64) {
	m.v.rev, m.v.seqMod = rev, rev
	for _, op := range d.ops {
		switch {
		case op.Put != nil:
			m.v.apply(etcd.KV{Key: op.Put.Key, Value: op.Put.Value, ModRevision: rev}, false)
		case op.Delete != "":
			m.v.apply(etcd.KV{Key: op.Delete, ModRevision: rev}, true)
		}
	}
	for _, h := range d.hours {
		delete(m.pending, h)
	}
	if !d.more {
		m.mine, m.written = d.mine, true
		m.shareLeft = d.share
	}
}

// answer answers the requests a written decision took or refused.
func (m *Member) answer(reqs []*request, d decision) {
	for _, r := range reqs {
		v, refused := d.refused[r]
		switch {
		case !refused:
			agree(r)
			r.done <- nil
		case v == nil: // abandoned
			withdraw(r)
		default:
			m.refuse(r, &refuse.Fleet{Name: m.name, Verdict: v})
		}
	}
}

func (m *Member) refuse(r *request, err error) {
	withdraw(r)
	r.done <- err
}

// alone answers requests while etcd cannot be reached: from the offline
// share, while it lasts.
func (m *Member) alone(reqs []*request) {
	m.mu.Lock()
	defer m.mu.Unlock()
	why := m.why
	if !m.loaded && why == "" {
		why = "its keys are not read yet"
	}
	if why == "" {
		why = "our node's records are not read yet"
	}
	for _, r := range reqs {
		if r.abandoned {
			withdraw(r)
			continue
		}
		if a := r.amount(); a <= m.shareLeft && m.written {
			m.shareLeft -= a
			m.logf("info", "fleet %s: etcd cannot be reached; %s spent from the offline share (%s left)", m.name, a.BTC(), m.shareLeft.BTC())
			agree(r)
			r.done <- nil
			continue
		}
		m.refuse(r, &refuse.Fleet{Name: m.name, Why: why})
	}
}

// Windows adds what the other members hold to the node's windows.
func (m *Member) Windows(ws []ledger.WindowStatus) []ledger.WindowStatus {
	now := time.Now().Unix()
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]ledger.WindowStatus, len(ws))
	for i, w := range ws {
		spent, reserved := m.v.others(m.node, now-int64(w.Period/time.Second))
		w.Spent += spent
		w.Reserved += reserved + min(m.shareLeft, m.share)
		w.Available = w.Amount - min(w.Amount, w.Spent+w.Reserved)
		out[i] = w
	}
	return out
}

// MemberStatus is one member as pay-up-to-status shows it.
type MemberStatus struct {
	NodeID    string      `json:"node_id"`
	Spent     amount.MSat `json:"spent_msat"` // in the longest window of ours (a day without one)
	Reserved  amount.MSat `json:"reserved_msat"`
	Share     amount.MSat `json:"offline_share_msat"`
	LastSeen  int64       `json:"last_seen"` // unix seconds
	Forgotten bool        `json:"forgotten,omitempty"`
}

// Status is the fleet as pay-up-to-status shows it.
type Status struct {
	Name      string         `json:"name"`
	Reachable bool           `json:"reachable"`
	Why       string         `json:"unreachable_because,omitempty"`
	Revision  int64          `json:"revision"`
	Members   []MemberStatus `json:"members"`
}

// Status reports the fleet; window is the period its members' spent
// figures cover.
func (m *Member) Status(window time.Duration) Status {
	if window == 0 {
		window = 24 * time.Hour
	}
	cutoff := time.Now().Unix() - int64(window/time.Second)
	m.mu.Lock()
	defer m.mu.Unlock()
	st := Status{Name: m.name, Reachable: m.loaded && m.why == "", Why: m.why, Revision: m.v.rev, Members: []MemberStatus{}}
	if !m.loaded && st.Why == "" {
		st.Why = "not read yet"
	}
	for _, n := range m.v.nodes() {
		x := m.v.members[n]
		st.Members = append(st.Members, MemberStatus{NodeID: n, Spent: x.spent(cutoff), Reserved: x.info.Reserved, Share: x.info.Share,
			LastSeen: x.info.Seen, Forgotten: x.info.Forgotten})
	}
	return st
}

// Pause writes the fleet's pause (x nil: lifts it); every member applies
// it as it sees it.
func (m *Member) Pause(ctx context.Context, x *pause.Pause) error {
	key := m.prefix + "pause"
	op := etcd.Op{Delete: key}
	if x != nil {
		op = etcd.Op{Put: &etcd.KV{Key: key, Value: x.Record()}}
	}
	c, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	res, err := m.cl.Txn(c, nil, []etcd.Op{op}, nil)
	if err != nil {
		return fmt.Errorf("fleet %s: %w", m.name, err)
	}
	m.mu.Lock()
	if x != nil {
		m.v.apply(etcd.KV{Key: key, Value: x.Record(), ModRevision: res.Revision}, false)
	} else {
		m.v.apply(etcd.KV{Key: key, ModRevision: res.Revision}, true)
	}
	m.mu.Unlock()
	m.pauses.Set(pause.Fleet, x)
	return nil
}

// Forget drops a member that is gone for good: what it reserved counts
// as spent now, and it is marked forgotten. Errors: etcd, an unknown
// member, or ourselves.
func (m *Member) Forget(ctx context.Context, node string) (MemberStatus, error) {
	if err := m.catchUp(ctx); err != nil {
		return MemberStatus{}, fmt.Errorf("fleet %s: %w", m.name, err)
	}
	for try := 0; try < 100; try++ {
		m.mu.Lock()
		x := m.v.members[node]
		if node == m.node {
			m.mu.Unlock()
			return MemberStatus{}, fmt.Errorf("fleet %s: %s is this node", m.name, node)
		}
		if x == nil || x.infoMod == 0 {
			m.mu.Unlock()
			return MemberStatus{}, fmt.Errorf("fleet %s has no member %s", m.name, node)
		}
		now := time.Now().Unix()
		h, minute := now-now%3600, now-now%60
		hs := append([]ledger.MinuteSum(nil), x.hours[h].minutes...)
		gone := x.reserved()
		if gone > 0 {
			i := sort.Search(len(hs), func(i int) bool { return hs[i].Minute >= minute })
			if i == len(hs) || hs[i].Minute != minute {
				hs = append(hs[:i], append([]ledger.MinuteSum{{Minute: minute}}, hs[i:]...)...)
			}
			hs[i].Sum += gone
		}
		in := info{Seen: x.info.Seen, Longest: x.info.Longest, Forgotten: true}
		b, _ := json.Marshal(in)
		rev := m.v.rev
		cmp := []etcd.Compare{{Key: m.prefix + "seq", Target: "MOD", Result: "EQUAL", Rev: m.v.seqMod}}
		m.mu.Unlock()
		ops := []etcd.Op{
			{Put: &etcd.KV{Key: m.prefix + "seq", Value: m.node}},
			{Put: &etcd.KV{Key: m.prefix + "h/" + node + "/" + strconv.FormatInt(h, 10), Value: FormatHour(h, hs)}},
			{Put: &etcd.KV{Key: m.prefix + "m/" + node, Value: string(b)}},
		}
		c, cancel := context.WithTimeout(ctx, callTimeout)
		res, err := m.cl.Txn(c, cmp, ops, []etcd.Op{{Range: &etcd.Range{Key: m.prefix, End: etcd.Prefix(m.prefix), MinModRevision: rev + 1}}})
		cancel()
		if err != nil {
			return MemberStatus{}, fmt.Errorf("fleet %s: %w", m.name, err)
		}
		m.mu.Lock()
		if res.Succeeded {
			m.wrote(decision{ops: ops, more: true}, res.Revision)
			m.mu.Unlock()
			m.logf("unusual", "fleet %s: forgot member %s; %s it reserved counts as spent", m.name, node, gone.BTC())
			return MemberStatus{NodeID: node, Spent: gone, LastSeen: in.Seen, Forgotten: true}, nil
		}
		for _, r := range res.Ranges {
			for _, kv := range r {
				m.v.apply(kv, false)
			}
		}
		m.v.rev = max(m.v.rev, res.Revision)
		m.mu.Unlock()
	}
	return MemberStatus{}, fmt.Errorf("fleet %s changed under 100 attempts in a row", m.name)
}
