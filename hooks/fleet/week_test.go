package fleet

import (
	"context"
	"fmt"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	"gotest.tools/v3/poll"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/hooks/fleet/etcd"
	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/integration/etcdnet"
)

// week is a fleet of three members whose nodes each paid perNode
// payments of 1000 msat, spread evenly over the last week, under a
// weekly budget; once every member sees all of it, it reports the
// fleet's keys in etcd and their bytes, then starts member 0 again on
// the same ledger and reports how long its first read took and what it
// read.
type week struct {
	keys, bytes int
	restart     time.Duration
	readKeys    int
}

func runWeek(t testing.TB, cl *etcdnet.Cluster, name string, perNode int) week {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := Config{Name: name, Etcd: etcd.Config{Endpoints: cl.URLs()}}
	now := time.Now().Unix()
	var ns []*node
	for i := range 3 {
		rows := make([]ledger.Row, perNode)
		for j := range rows {
			h, _ := ledger.ParseHash(fmt.Sprintf("%016x%048x", i, j))
			at := now - 7*86400 + 60 + int64(j)*(7*86400-120)/int64(perNode)
			rows[j] = ledger.Row{Key: ledger.PartKey{Hash: h, GroupID: 1}, Sent: 1000, Delivered: 1000, Created: at, State: ledger.Complete, Index: uint64(j + 1)}
		}
		ns = append(ns, nodeWith(t, ctx, c, nodeID(i+1), "1000btc/7d", rows))
	}
	want := amount.MSat(3 * perNode * 1000)
	seen := func(n *node) poll.Check {
		return func(poll.LogT) poll.Result {
			if u := used(n.m.Windows(n.l.Status().Windows)); u != want {
				n.m.mu.Lock()
				var d []string
				cut := time.Now().Unix() - 7*86400
				for id, x := range n.m.v.members {
					d = append(d, fmt.Sprintf("%s: %d hours, spent %d", id[60:], len(x.hours), x.spent(cut)))
				}
				n.m.mu.Unlock()
				return poll.Continue("%s sees %d of %d (own %d): %v", n.id[:6], u, want, n.l.Status().Windows[0].Spent, d)
			}
			return poll.Success()
		}
	}
	for _, n := range ns {
		poll.WaitOn(t, seen(n), poll.WithTimeout(60*time.Second), poll.WithDelay(50*time.Millisecond))
	}
	var w week
	kvs, _, err := ns[0].m.cl.Get(ctx, etcd.Range{Key: c.Name + "/", End: etcd.Prefix(c.Name + "/")})
	assert.NilError(t, err)
	w.keys = len(kvs)
	for _, kv := range kvs {
		w.bytes += len(kv.Key) + len(kv.Value)
	}

	// Member 0 again, as after a restart of the plugin.
	start := time.Now()
	again := join(t, ctx, c, ns[0].id, ns[0].l)
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		again.m.mu.Lock()
		defer again.m.mu.Unlock()
		if !again.m.loaded {
			return poll.Continue("not read yet")
		}
		return poll.Success()
	}, poll.WithTimeout(30*time.Second), poll.WithDelay(time.Millisecond))
	w.restart = time.Since(start)
	again.m.mu.Lock()
	for _, x := range again.m.v.members {
		w.readKeys += 1 + len(x.hours)
	}
	again.m.mu.Unlock()
	poll.WaitOn(t, seen(again), poll.WithTimeout(10*time.Second), poll.WithDelay(10*time.Millisecond))
	return w
}

// TestWeek: the fleet's keys grow with members and hours, not payments:
// three members with 20,000 payments each over a week keep one key per
// member and hour of the week, plus a few; a member started again sees
// the whole fleet at once.
func TestWeek(t *testing.T) {
	cl := startEtcd(t, etcdnet.Config{Members: 1})
	w := runWeek(t, cl, "week", 20_000)
	t.Logf("%d keys, %d bytes; a start read them in %v", w.keys, w.bytes, w.restart)
	assert.Assert(t, w.keys <= 3*(7*24+2)+2, "%d keys", w.keys)
	assert.Assert(t, w.keys >= 3*7*24, "%d keys: a member's hours are missing", w.keys)
}

// BenchmarkWeek: TestWeek with 1,000,000 payments across the fleet
// (333,334 per member): keys and bytes in etcd, and a member's start.
func BenchmarkWeek(b *testing.B) {
	cl := startEtcd(b, etcdnet.Config{Members: 1})
	for i := range b.N {
		w := runWeek(&testing.T{}, cl, fmt.Sprintf("bweek%d", i), 333_334)
		b.ReportMetric(float64(w.keys), "keys")
		b.ReportMetric(float64(w.bytes)/1024, "KiB")
		b.ReportMetric(float64(w.restart.Microseconds())/1000, "start-ms")
	}
}
