package fleet

import (
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/payupto/pay-up-to/hooks/fleet/etcd"
	"github.com/payupto/pay-up-to/hooks/ledger"
)

// TestHour: an hour's minutes round-trip; anything else is refused.
func TestHour(t *testing.T) {
	h := int64(1_800_000_000 - 1_800_000_000%3600)
	ms := []ledger.MinuteSum{{Minute: h, Sum: 5}, {Minute: h + 59*60, Sum: 2_100_000_000_000_000_000}}
	v := FormatHour(h, ms)
	assert.Equal(t, v, "0:5,59:2100000000000000000")
	got, err := ParseHour(h, v)
	assert.NilError(t, err)
	assert.DeepEqual(t, got, ms)
	for _, bad := range []string{"60:1", "1:1,1:2", "2:1,1:1", "-1:1", "1:", ":1", "1:2100000000000000001", "1:1,", "x"} {
		_, err := ParseHour(h, bad)
		assert.Assert(t, err != nil, bad)
	}
}

// TestView: a member's keys are applied newest first; a stale one is
// ignored; others sums what the other members hold in a window.
func TestView(t *testing.T) {
	v := newView("f/")
	h := int64(3600 * 100)
	assert.NilError(t, v.apply(etcd.KV{Key: "f/m/a", Value: `{"reserved_msat":10,"share_msat":5}`, ModRevision: 3}, false))
	assert.NilError(t, v.apply(etcd.KV{Key: "f/m/a", Value: `{"reserved_msat":99}`, ModRevision: 2}, false))
	assert.NilError(t, v.apply(etcd.KV{Key: "f/h/a/360000", Value: "0:100,30:200", ModRevision: 4}, false))
	assert.NilError(t, v.apply(etcd.KV{Key: "f/m/b", Value: `{"reserved_msat":1}`, ModRevision: 5}, false))
	spent, reserved := v.others("b", h-1)
	assert.Equal(t, uint64(spent), uint64(300))
	assert.Equal(t, uint64(reserved), uint64(15))
	// Minute 0 rolls out after its last second.
	spent, _ = v.others("b", h+59)
	assert.Equal(t, uint64(spent), uint64(200))
	spent, _ = v.others("a", h-1)
	assert.Equal(t, uint64(spent), uint64(0))
	assert.NilError(t, v.apply(etcd.KV{Key: "f/h/a/360000", ModRevision: 6}, true))
	spent, _ = v.others("b", h-1)
	assert.Equal(t, uint64(spent), uint64(0))
	assert.ErrorContains(t, v.apply(etcd.KV{Key: "f/h/a/5", Value: "", ModRevision: 7}, false), "not h/")
	assert.ErrorContains(t, v.apply(etcd.KV{Key: "f/m/c", Value: "{", ModRevision: 7}, false), "f/m/c")
}

// FuzzHour: ParseHour never panics, and what it accepts formats back to
// the same minutes.
func FuzzHour(f *testing.F) {
	for _, s := range []string{"", "0:1", "0:5,59:2100000000000000000", "1:1,1:2", "07:1", "+1:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h := int64(7200)
		ms, err := ParseHour(h, s)
		if err != nil {
			return
		}
		again, err := ParseHour(h, FormatHour(h, ms))
		assert.NilError(t, err)
		assert.DeepEqual(t, again, ms)
	})
}

// TestTurn: members that write at once take turns after the last
// writer, a round trip apart; one writing alone never waits.
func TestTurn(t *testing.T) {
	now := time.Now()
	m := &Member{node: "b", rtt: 2 * time.Millisecond, v: newView("f/")}
	assert.Equal(t, m.turn(), time.Duration(0), "alone")
	for _, n := range []string{"a", "b", "c"} {
		m.v.apply(etcd.KV{Key: "f/seq", Value: n, ModRevision: m.v.seqMod + 1}, false)
	}
	for last, want := range map[string]time.Duration{"a": 0, "c": 2 * time.Millisecond, "b": 4 * time.Millisecond} {
		m.v.seqBy = last
		assert.Equal(t, m.turn(), want, "after %s", last)
	}
	m.v.writers["a"], m.v.writers["c"] = now.Add(-time.Second), now.Add(-time.Second)
	assert.Equal(t, m.turn(), time.Duration(0), "the others stopped writing")
	m.rtt = time.Second
	m.v.writers["a"] = time.Now()
	m.v.seqBy = "b"
	assert.Equal(t, m.turn(), contended, "never longer than 50 ms")
}
