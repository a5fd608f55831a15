package fleet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	"gotest.tools/v3/poll"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/hooks/fleet/etcd"
	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/hooks/pause"
	"github.com/payupto/pay-up-to/hooks/refuse"
	"github.com/payupto/pay-up-to/integration/etcdnet"
)

// These tests run a real etcd (etcdnet installs it, as the integration
// tests install btcd).

func startEtcd(t testing.TB, c etcdnet.Config) *etcdnet.Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("fleet: -short: no etcd")
	}
	bin, err := etcdnet.Install(etcdVersion(), "")
	if err != nil {
		t.Skipf("fleet: cannot install etcd: %v", err)
	}
	c.Etcd = bin
	cl, err := etcdnet.Start(c)
	assert.NilError(t, err)
	t.Cleanup(cl.Stop)
	return cl
}

// etcdVersion is the etcd the tests run: etcdnet.Version, or
// PAY_UP_TO_ETCD (e.g. v3.5.35, etcdnet.Version2).
func etcdVersion() string {
	if v := os.Getenv("PAY_UP_TO_ETCD"); v != "" {
		return v
	}
	return etcdnet.Version
}

// node is one member with its own ledger, under a budget.
type node struct {
	id string
	l  *ledger.Ledger
	m  *Member
}

func newNode(t testing.TB, ctx context.Context, c Config, id, budget string) *node {
	t.Helper()
	return nodeWith(t, ctx, c, id, budget, nil)
}

// nodeWith is newNode whose ledger read rows at its first start.
func nodeWith(t testing.TB, ctx context.Context, c Config, id, budget string, rows []ledger.Row) *node {
	t.Helper()
	l := ledger.New(time.Now)
	ws, err := ledger.ParseBudget(budget)
	assert.NilError(t, err)
	l.SetWindows(ws)
	l.Load(rows, ledger.Saved{}, id)
	return join(t, ctx, c, id, l)
}

// join starts a member for node id, whose ledger is l.
func join(t testing.TB, ctx context.Context, c Config, id string, l *ledger.Ledger) *node {
	t.Helper()
	var pauses pause.Book
	m, err := New(c, l, &pauses, func(level, format string, args ...any) {
		t.Logf("%s %s: "+format, append([]any{level, id[:4]}, args...)...)
	})
	assert.NilError(t, err)
	m.Start(ctx)
	m.Join(id)
	n := &node{id: id, l: l, m: m}
	t.Cleanup(func() { m.cl.Close() })
	return n
}

// pay approves a payment of amt msat in the node's ledger and asks the
// fleet.
func (n *node) pay(ctx context.Context, id string, amt amount.MSat) error {
	cl := new(ledger.Claim)
	if v := n.l.Approve(ledger.Approval{ID: id, Method: "pay", Amount: amt, Allowance: amt, Retry: time.Hour, Claim: cl}); v != nil {
		return &refuse.Payment{Verdict: v}
	}
	return n.m.Confirm(ctx, []*ledger.Claim{cl})
}

func nodeID(i int) string { return fmt.Sprintf("02%064x", i) }

func used(ws []ledger.WindowStatus) amount.MSat { return ws[0].Spent + ws[0].Reserved }

// TestExactAcrossMembers: sixty payments at once over three members,
// against a fleet budget with room for exactly 23 of them: 23 are let
// through, and every member then sees the fleet's whole 23.
func TestExactAcrossMembers(t *testing.T) {
	cl := startEtcd(t, etcdnet.Config{Members: 1})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := Config{Name: "exact", Etcd: etcd.Config{Endpoints: cl.URLs()}}
	var ns []*node
	for i := range 3 {
		ns = append(ns, newNode(t, ctx, c, nodeID(i+1), "23000msat/1d"))
	}
	var mu sync.Mutex
	ok, budget, other := 0, 0, 0
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Go(func() {
			err := ns[i%3].pay(ctx, "1", 1000)
			mu.Lock()
			defer mu.Unlock()
			var f *refuse.Fleet
			switch {
			case err == nil:
				ok++
			case errors.As(err, &f) && f.Verdict != nil:
				budget++
			case refuse.For("pay", err).Code == refuse.CodeOverBudget:
				budget++ // the member's own ledger saw it first
			default:
				other++
				t.Logf("refused otherwise: %v", err)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, ok, 23)
	assert.Equal(t, budget, 37)
	assert.Equal(t, other, 0)
	for _, n := range ns {
		poll.WaitOn(t, func(poll.LogT) poll.Result {
			if u := used(n.m.Windows(n.l.Status().Windows)); u != 23000 {
				return poll.Continue("%s sees %d msat used", n.id[:6], u)
			}
			return poll.Success()
		}, poll.WithTimeout(5*time.Second))
	}
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if st := ns[0].m.Status(0); len(st.Members) != 3 || !st.Reachable {
			return poll.Continue("status: %+v", st)
		}
		return poll.Success()
	}, poll.WithTimeout(5*time.Second))
}

// TestSpentCountsAcrossMembers: what a member spent (a part counted)
// holds the other members' windows, and a failed part frees them.
func TestSpentCountsAcrossMembers(t *testing.T) {
	cl := startEtcd(t, etcdnet.Config{Members: 1})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := Config{Name: "spent", Etcd: etcd.Config{Endpoints: cl.URLs()}}
	a, b := newNode(t, ctx, c, nodeID(1), "10000msat/1h"), newNode(t, ctx, c, nodeID(2), "10000msat/1h")
	cla := new(ledger.Claim)
	assert.Assert(t, a.l.SpendOnChain(ledger.OnChain{ID: ledger.Hash{1}, Leaving: 6000, Fee: 1000, Claim: cla}, 0, false, true) == nil)
	assert.NilError(t, a.m.Confirm(ctx, []*ledger.Claim{cla}))
	// b has 3000 left.
	err := b.pay(ctx, "x", 3001)
	assert.Equal(t, refuse.For("pay", err).Code, refuse.CodeOverBudget, "%v", err)
	assert.NilError(t, b.pay(ctx, "y", 3000))
	// a's own ledger already holds 7000; b's 3000 leaves it none.
	err = a.pay(ctx, "z", 1)
	assert.Equal(t, refuse.For("pay", err).Code, refuse.CodeOverBudget, "%v", err)
	// The part's failure frees 7000 for everyone within a second or so.
	a.l.Reconcile(ledger.Hash{1}, nil)
	cla.Withdraw()
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if u := used(b.m.Windows(b.l.Status().Windows)); u != 3000 {
			return poll.Continue("b sees %d used", u)
		}
		return poll.Success()
	}, poll.WithTimeout(5*time.Second))
	assert.NilError(t, b.pay(ctx, "w", 7000))
}

// TestUnreachable: without etcd a spend is refused 2101, naming the
// fleet, except from the offline share reserved beforehand; once etcd
// is back, spending goes on and nothing was lost.
func TestUnreachable(t *testing.T) {
	cl := startEtcd(t, etcdnet.Config{Members: 1})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := Config{Name: "down", Etcd: etcd.Config{Endpoints: cl.URLs()}, Share: 5000}
	a := newNode(t, ctx, c, nodeID(1), "20000msat/1d")
	b := newNode(t, ctx, Config{Name: "down", Etcd: c.Etcd}, nodeID(2), "20000msat/1d")
	// The share is reserved: b sees 5000 held.
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if u := used(b.m.Windows(b.l.Status().Windows)); u != 5000 {
			return poll.Continue("b sees %d used", u)
		}
		return poll.Success()
	}, poll.WithTimeout(5*time.Second))
	assert.NilError(t, b.pay(ctx, "b1", 15000))
	err := b.pay(ctx, "b2", 1)
	assert.Equal(t, refuse.For("pay", err).Code, refuse.CodeOverBudget, "the share holds room: %v", err)

	assert.NilError(t, cl.Kill(0))
	assert.NilError(t, a.pay(ctx, "a1", 3000)) // from the share
	assert.NilError(t, a.pay(ctx, "a2", 2000))
	err = a.pay(ctx, "a3", 1)
	r := refuse.For("pay", err)
	assert.Equal(t, r.Code, refuse.CodeUnverified, "%v", err)
	assert.ErrorContains(t, err, "the fleet down cannot be reached")
	err = b.pay(ctx, "b3", 1)
	assert.Equal(t, refuse.For("pay", err).Code, refuse.CodeUnverified, "%v", err)
	assert.Equal(t, used(a.l.Status().Windows), amount.MSat(5000), "refused claims are withdrawn")

	assert.NilError(t, cl.Restart(0))
	// Back: a's 5000 are reserved for its payments, out of its share,
	// which is gone; the fleet holds 20000, so nothing more fits.
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		for _, x := range b.m.Status(0).Members {
			if x.NodeID == a.id && x.Reserved == 5000 && x.Share == 0 {
				return poll.Success()
			}
		}
		return poll.Continue("b sees %+v", b.m.Status(0))
	}, poll.WithTimeout(15*time.Second), poll.WithDelay(100*time.Millisecond))
	assert.Equal(t, used(b.m.Windows(b.l.Status().Windows)), amount.MSat(20000))
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		err := b.pay(ctx, "b4", 1)
		if c := refuse.For("pay", err).Code; c != refuse.CodeOverBudget {
			return poll.Continue("%v", err)
		}
		return poll.Success()
	}, poll.WithTimeout(5*time.Second), poll.WithDelay(200*time.Millisecond))
}

// TestThreeMembers: with one etcd member of three killed (the first
// URL), nothing changes; with two, spends are refused, and they go on
// once a quorum is back.
func TestThreeMembers(t *testing.T) {
	cl := startEtcd(t, etcdnet.Config{Members: 3})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := Config{Name: "three", Etcd: etcd.Config{Endpoints: cl.URLs()}}
	a := newNode(t, ctx, c, nodeID(1), "10000msat/1d")
	assert.NilError(t, a.pay(ctx, "1", 1000))
	assert.NilError(t, cl.Kill(0))
	start := time.Now()
	err0 := a.pay(ctx, "2", 1000)
	t.Logf("after kill: %v in %v", err0, time.Since(start))
	assert.NilError(t, err0)
	assert.NilError(t, cl.Kill(1))
	err := a.pay(ctx, "3", 1000)
	assert.Equal(t, refuse.For("pay", err).Code, refuse.CodeUnverified, "%v", err)
	assert.NilError(t, cl.Restart(1))
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if err := a.pay(ctx, "4", 1000); err != nil {
			return poll.Continue("%v", err)
		}
		return poll.Success()
	}, poll.WithTimeout(20*time.Second), poll.WithDelay(500*time.Millisecond))
	assert.Equal(t, used(a.m.Windows(a.l.Status().Windows)), amount.MSat(3000))
}

// TestPauseAndForget: a pause from one member stops the others within a
// second; forgetting a member counts what it reserved as spent.
func TestPauseAndForget(t *testing.T) {
	cl := startEtcd(t, etcdnet.Config{Members: 1})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := Config{Name: "pf", Etcd: etcd.Config{Endpoints: cl.URLs()}}
	a, b := newNode(t, ctx, c, nodeID(1), "10000msat/1d"), newNode(t, ctx, c, nodeID(2), "10000msat/1d")
	x := pause.New(pause.Fleet, time.Now().Unix(), "audit")
	assert.NilError(t, a.m.Pause(ctx, &x))
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if _, ok := b.m.pauses.Stopped(); !ok {
			return poll.Continue("b is not paused")
		}
		return poll.Success()
	}, poll.WithTimeout(2*time.Second), poll.WithDelay(50*time.Millisecond))
	assert.NilError(t, b.m.Pause(ctx, nil))
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if _, ok := a.m.pauses.Stopped(); ok {
			return poll.Continue("a is still paused")
		}
		return poll.Success()
	}, poll.WithTimeout(2*time.Second), poll.WithDelay(50*time.Millisecond))

	assert.NilError(t, b.pay(ctx, "1", 4000))
	_, err := a.m.Forget(ctx, a.id)
	assert.ErrorContains(t, err, "is this node")
	_, err = a.m.Forget(ctx, nodeID(9))
	assert.ErrorContains(t, err, "has no member")
	b.m.cl.Close()
	cancel() // b is gone: its 4000 may still complete
	ctx2 := context.Background()
	ms, err := a.m.Forget(ctx2, b.id)
	assert.NilError(t, err)
	assert.Equal(t, ms.Spent, amount.MSat(4000))
	ws := a.m.Windows(a.l.Status().Windows)
	assert.Equal(t, ws[0].Spent, amount.MSat(4000))
	assert.Equal(t, ws[0].Reserved, amount.MSat(0))
}

// TestTLS: a member reaches etcd with a client certificate.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	tl, err := etcdnet.NewTLS(dir)
	assert.NilError(t, err)
	cl := startEtcd(t, etcdnet.Config{Members: 1, TLS: tl})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := Config{Name: "tls", Etcd: etcd.Config{Endpoints: cl.URLs(), CACert: tl.CA, Cert: tl.ClientCert, Key: tl.ClientKey}}
	a := newNode(t, ctx, c, nodeID(1), "10000msat/1d")
	assert.NilError(t, a.pay(ctx, "1", 1000))
	// Without the client certificate etcd refuses.
	c.Etcd.Cert, c.Etcd.Key = "", ""
	b := newNode(t, ctx, c, nodeID(2), "10000msat/1d")
	err = b.pay(ctx, "1", 1000)
	assert.Equal(t, refuse.For("pay", err).Code, refuse.CodeUnverified, "%v", err)
}
