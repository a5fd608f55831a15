package integration

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/payupto/pay-up-to/integration/etcdnet"
	"github.com/payupto/pay-up-to/integration/lnnet"
)

// fleetStatus is the fleet part of pay-up-to-status.
type fleetStatus struct {
	Budgets []struct {
		SpentMsat    int64 `json:"spent_msat"`
		ReservedMsat int64 `json:"reserved_msat"`
	} `json:"budgets"`
	Fleet *struct {
		Name      string `json:"name"`
		Reachable bool   `json:"reachable"`
		Members   []struct {
			NodeID string `json:"node_id"`
		} `json:"members"`
	} `json:"fleet"`
}

func (n *node) fleetStatus() fleetStatus {
	n.t.Helper()
	var s fleetStatus
	n.must("pay-up-to-status", nil, &s)
	return s
}

// startEtcd runs a real etcd (etcdnet installs it, as lnnet does btcd).
func startEtcd(t *testing.T, members int) *etcdnet.Cluster {
	t.Helper()
	bin, err := etcdnet.Install(etcdnet.Version, "")
	if err != nil {
		t.Skipf("integration: cannot install etcd: %v", err)
	}
	cl, err := etcdnet.Start(etcdnet.Config{Etcd: bin, Members: members})
	assert.NilError(t, err)
	t.Cleanup(cl.Stop)
	return cl
}

// TestFleetOneBudget: two nodes in one fleet, forty keysends at once
// (twenty from each, every client sending id 1; a pays l3 over the hub,
// b the hub) against a fleet budget
// with room for exactly 23: 23 complete, 17 are refused 2102 with no
// HTLC, and afterwards both members show the fleet's spent, equal to
// what both nodes' listsendpays and first starts hold, with nothing
// reserved.
func TestFleetOneBudget(t *testing.T) {
	const room = 23
	nw := getNetwork(t)
	ec := startEtcd(t, 1)
	a, hub, l3 := newLine(t, nil)
	bn, err := nw.StartNode(lnnet.NodeOptions{Name: "b"})
	assert.NilError(t, err)
	b := &node{bn, t, nil}
	t.Cleanup(b.stop)
	assert.NilError(t, nw.Fund(channelSat+1_000_000, bn))
	assert.NilError(t, nw.OpenChannel(bn, hub.Node, channelSat))
	assert.NilError(t, nw.Routable(bn, hub.Node, l3.Node))

	w := byKeysend("keysend", 1_005_000)
	// Both payers route to l3 before the guard starts (what they send
	// now is history the first start reads).
	// a pays l3 through the hub, b pays the hub: two members, two
	// payees, one budget.
	payees := []*node{l3, hub}
	for i, n := range []*node{a, b} {
		waitFor(t, 60*time.Second, func() string {
			if e := n.call(w.cmd, w.params(payees[i]), nil); e != nil {
				return fmt.Sprintf("%s cannot pay %s yet: %v", n.Name, payees[i].Name, e)
			}
			return ""
		})
	}
	opts := func(budget int64) map[string]any {
		return map[string]any{"budget": fmt.Sprintf("%dmsat/1d", budget), "fleet-etcd": ec.URLs()[0], "fleet-name": "it"}
	}
	// First starts count each node's channel open; then the budget is
	// what the fleet holds plus the room.
	a.startGuard(opts(1_000_000_000))
	b.startGuard(opts(1_000_000_000))
	var base int64
	waitFor(t, 10*time.Second, func() string {
		sa, sb := a.fleetStatus(), b.fleetStatus()
		if sa.Fleet == nil || len(sa.Fleet.Members) != 2 || sa.Budgets[0].SpentMsat != sb.Budgets[0].SpentMsat {
			return fmt.Sprintf("members do not agree yet: %+v %+v", sa, sb)
		}
		base = sa.Budgets[0].SpentMsat
		return ""
	})
	_, ona := a.spent()
	assert.Assert(t, base > ona, "the fleet holds both channel opens: %d", base)
	budget := base + room*w.reservation
	a.startGuard(opts(budget))
	b.startGuard(opts(budget))
	waitFor(t, 10*time.Second, func() string {
		if sa, sb := a.fleetStatus(), b.fleetStatus(); sa.Budgets[0].SpentMsat != base || sb.Budgets[0].SpentMsat != base {
			return fmt.Sprintf("after restarts: %+v %+v", sa, sb)
		}
		return ""
	})

	a.settled()
	b.settled()
	sentBefore := a.sentSince(0) + b.sentSince(0)
	partsBefore := len(a.sendpays("")) + len(b.sendpays(""))
	const total = 40
	errs := make([]*rpcError, total)
	results := make([]payResult, total)
	payers := []*node{a.sameID(1), b.sameID(1)}
	params := make([][]any, total)
	for i := range params {
		params[i] = w.params(payees[i%2])
	}
	var wg sync.WaitGroup
	for i := range total {
		wg.Go(func() { errs[i] = payers[i%2].call(w.cmd, params[i], &results[i]) })
	}
	wg.Wait()
	paid, refused := 0, 0
	for i, e := range errs {
		switch {
		case e == nil:
			paid++
			assert.Equal(t, results[i].Status, "complete")
		case e.Code == codeOverBudget:
			refused++
		default:
			t.Errorf("payer %d failed otherwise: %v", i%2, e)
		}
	}
	assert.Equal(t, paid, room, "%d paid, %d refused", paid, refused)
	assert.Equal(t, refused, total-room)
	a.settled()
	b.settled()
	sent := a.sentSince(0) + b.sentSince(0) - sentBefore
	assert.Equal(t, len(a.sendpays(""))+len(b.sendpays(""))-partsBefore, paid, "a refused keysend left no HTLC")
	for _, n := range []*node{a, b} {
		waitFor(t, 15*time.Second, func() string {
			s := n.fleetStatus()
			if s.Budgets[0].ReservedMsat != 0 || s.Budgets[0].SpentMsat != base+sent {
				return fmt.Sprintf("want spent %d and nothing reserved: %+v", base+sent, s.Budgets)
			}
			return ""
		})
	}
	a.checkAlive()
	b.checkAlive()
}

// waitFor polls cond (a reason to wait, or "") until it holds.
func waitFor(t *testing.T, d time.Duration, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		why := cond()
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(why)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
