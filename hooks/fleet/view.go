package fleet

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/hooks/fleet/etcd"
	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/hooks/pause"
)

// The keys a fleet keeps in etcd, all under "<name>/":
//
//	seq               rewritten by every change that may add to the fleet's
//	                  spending: a transaction that compares its revision
//	                  sees the whole fleet as it decided
//	m/<node>          a member: what it reserves, its offline share, when
//	                  it was last seen (JSON, member)
//	h/<node>/<hour>   what it counts of each minute of an hour (unix
//	                  seconds): "<minute offset>:<msat>,…"
//	pause             the fleet's pause, as pause.Record
//
// Keys grow with time, not payments: one per member and hour of the
// longest window.

// info is a member's key.
type info struct {
	Reserved  amount.MSat `json:"reserved_msat"`
	Share     amount.MSat `json:"share_msat"`
	Seen      int64       `json:"seen"`    // unix seconds
	Longest   int64       `json:"longest"` // seconds of its longest window
	Forgotten bool        `json:"forgotten,omitempty"`
}

// hourSums is one member's hour: its minutes in order, and their total.
type hourSums struct {
	minutes []ledger.MinuteSum
	total   amount.MSat
}

// member is what the fleet knows of one member.
type member struct {
	info     info
	infoMod  int64
	hours    map[int64]hourSums
	hourMods map[int64]int64
}

// view is the fleet's keys as read, applied in revision order per key.
type view struct {
	prefix  string
	rev     int64 // every change up to rev is applied (deletes may lag)
	seqMod  int64
	seqBy   string               // the member that wrote seq last
	writers map[string]time.Time // when each member's latest write of seq was seen here
	members map[string]*member
	pause   *pause.Pause
	pauseAt int64 // mod revision of pause, or of its deletion
}

func newView(prefix string) view {
	return view{prefix: prefix, members: map[string]*member{}, writers: map[string]time.Time{}}
}

func (v *view) member(node string) *member {
	m := v.members[node]
	if m == nil {
		m = &member{hours: map[int64]hourSums{}, hourMods: map[int64]int64{}}
		v.members[node] = m
	}
	return m
}

// apply applies one key's new value (or deletion) seen at revision
// mod, unless a newer one is applied already.
func (v *view) apply(kv etcd.KV, deleted bool) error {
	k, ok := strings.CutPrefix(kv.Key, v.prefix)
	if !ok {
		return nil
	}
	mod := kv.ModRevision
	switch {
	case k == "seq":
		if mod > v.seqMod {
			v.seqMod, v.seqBy = mod, kv.Value
			v.writers[kv.Value] = time.Now()
		}
	case k == "pause":
		if mod <= v.pauseAt {
			return nil
		}
		v.pauseAt = mod
		v.pause = nil
		if !deleted {
			x, ok := pause.Read(pause.Fleet, kv.Value)
			if !ok {
				return fmt.Errorf("fleet: key %s: %q is not a pause", kv.Key, kv.Value)
			}
			v.pause = &x
		}
	case strings.HasPrefix(k, "m/"):
		m := v.member(k[2:])
		if mod <= m.infoMod {
			return nil
		}
		m.infoMod = mod
		if deleted {
			m.info = info{}
			return nil
		}
		var in info
		if err := json.Unmarshal([]byte(kv.Value), &in); err != nil {
			return fmt.Errorf("fleet: key %s: %w", kv.Key, err)
		}
		m.info = in
	case strings.HasPrefix(k, "h/"):
		node, hs, ok := strings.Cut(k[2:], "/")
		h, err := strconv.ParseInt(hs, 10, 64)
		if !ok || err != nil || h%3600 != 0 {
			return fmt.Errorf("fleet: key %s is not h/<node>/<hour>", kv.Key)
		}
		m := v.member(node)
		if mod <= m.hourMods[h] {
			return nil
		}
		m.hourMods[h] = mod
		if deleted {
			delete(m.hours, h)
			return nil
		}
		ms, err := ParseHour(h, kv.Value)
		if err != nil {
			return fmt.Errorf("fleet: key %s: %w", kv.Key, err)
		}
		m.hours[h] = sums(ms)
	}
	return nil
}

func sums(ms []ledger.MinuteSum) hourSums {
	s := hourSums{minutes: ms}
	for _, m := range ms {
		s.total += m.Sum
	}
	return s
}

// maxMSat bounds what one record may claim: 21 million bitcoin.
const maxMSat = 2_100_000_000_000_000_000

// FormatHour is an hour's minutes as its key's value.
func FormatHour(h int64, ms []ledger.MinuteSum) string {
	b := make([]byte, 0, 24*len(ms))
	for i, m := range ms {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, (m.Minute-h)/60, 10)
		b = append(b, ':')
		b = strconv.AppendUint(b, uint64(m.Sum), 10)
	}
	return string(b)
}

// ParseHour reads what FormatHour wrote for hour h: minute offsets 0-59
// in increasing order, each with at most 21 million bitcoin in msat.
func ParseHour(h int64, s string) ([]ledger.MinuteSum, error) {
	if s == "" {
		return nil, nil
	}
	items := strings.Split(s, ",")
	if len(items) > 60 {
		return nil, fmt.Errorf("%d minutes in an hour", len(items))
	}
	out := make([]ledger.MinuteSum, 0, len(items))
	last := int64(-1)
	for _, it := range items {
		o, a, ok := strings.Cut(it, ":")
		off, err1 := strconv.ParseInt(o, 10, 64)
		sum, err2 := strconv.ParseUint(a, 10, 64)
		if !ok || err1 != nil || err2 != nil || off <= last || off > 59 || sum > maxMSat {
			return nil, fmt.Errorf("%q is not <minute 0-59 in order>:<msat>", it)
		}
		last = off
		out = append(out, ledger.MinuteSum{Minute: h + 60*off, Sum: amount.MSat(sum)})
	}
	return out, nil
}

// counts reports whether a minute (unix seconds of its start) counts in
// a window whose cutoff is cutoff: until its last second rolls out, as
// the ledger's own minutes do.
func counts(minute, cutoff int64) bool { return minute+59 > cutoff }

// spent is what m counts in the window after cutoff.
func (m *member) spent(cutoff int64) amount.MSat {
	var s amount.MSat
	for h, hs := range m.hours {
		switch {
		case counts(h, cutoff):
			s += hs.total
		case counts(h+3540, cutoff):
			for _, x := range hs.minutes {
				if counts(x.Minute, cutoff) {
					s += x.Sum
				}
			}
		}
	}
	return s
}

// reserved is what m holds in every window: its reservations and its
// offline share.
func (m *member) reserved() amount.MSat { return m.info.Reserved + m.info.Share }

// has reports whether node's hour h is in etcd.
func (v *view) has(node string, h int64) bool {
	x := v.members[node]
	return x != nil && x.hourMods[h] != 0
}

// others is what the members but self hold in the window after cutoff:
// spent, and reserved.
func (v *view) others(self string, cutoff int64) (spent, reserved amount.MSat) {
	for node, m := range v.members {
		if node != self {
			spent += m.spent(cutoff)
			reserved += m.reserved()
		}
	}
	return spent, reserved
}

// nodes is the members' ids, in order.
func (v *view) nodes() []string {
	out := make([]string, 0, len(v.members))
	for n, m := range v.members {
		if m.infoMod != 0 || len(m.hours) > 0 {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}
