package integration

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
			NodeID       string `json:"node_id"`
			ReservedMsat int64  `json:"reserved_msat"`
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
func startEtcd(t *testing.T, c etcdnet.Config) *etcdnet.Cluster {
	t.Helper()
	getNetwork(t) // skips first where there is no lightningd: nothing to build for
	bin, err := etcdnet.Install(etcdnet.Version, "")
	if err != nil {
		t.Skipf("integration: cannot install etcd: %v", err)
	}
	c.Etcd = bin
	cl, err := etcdnet.Start(c)
	assert.NilError(t, err)
	t.Cleanup(cl.Stop)
	return cl
}

// fleetNodes starts a–hub–l3 and b–hub, a and b with aConfig and
// bConfig as config lines, and waits until a can pay l3 and b the hub
// with w (what they send then is history a first start reads).
func fleetNodes(t *testing.T, w scaleWay, aConfig, bConfig []string) (a, b, hub, l3 *node) {
	t.Helper()
	nw := getNetwork(t)
	a, hub, l3 = newLine(t, nil, aConfig...)
	bn, err := nw.StartNode(lnnet.NodeOptions{Name: "b", Config: bConfig})
	assert.NilError(t, err)
	b = &node{bn, t, nil}
	t.Cleanup(b.stop)
	assert.NilError(t, nw.Fund(channelSat+1_000_000, bn))
	assert.NilError(t, nw.OpenChannel(bn, hub.Node, channelSat))
	assert.NilError(t, nw.Routable(bn, hub.Node, l3.Node))
	for _, p := range [][2]*node{{a, l3}, {b, hub}} {
		waitFor(t, 60*time.Second, func() string {
			if e := p[0].call(w.cmd, w.params(p[1]), nil); e != nil {
				return fmt.Sprintf("%s cannot pay %s yet: %v", p[0].Name, p[1].Name, e)
			}
			return ""
		})
	}
	return a, b, hub, l3
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
	ec := startEtcd(t, etcdnet.Config{Members: 1})
	w := byKeysend("keysend", 1_005_000)
	a, b, hub, l3 := fleetNodes(t, w, nil, nil)
	payees := []*node{l3, hub}
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

// TestFleetFaults: two nodes in one fleet on three etcd members, over
// TLS with client certificates the test makes.
//   - The first URL's member down: nothing changes.
//   - Two down: a spends its offline share and no more, b nothing; the
//     refused are 2101 naming the fleet, with no HTLC and no
//     transaction, and both lightningd keep running. With the members
//     back spending goes on, and the fleet holds every msat that left.
//   - a's lightningd killed with payments in flight: its reservations
//     stay in the fleet while it is away, however long, until it
//     restarts and its payments complete.
//   - Every etcd member and every lightningd restarted: both read the
//     fleet's state again, and pay.
func TestFleetFaults(t *testing.T) {
	tl, err := etcdnet.NewTLS(t.TempDir())
	assert.NilError(t, err)
	ec := startEtcd(t, etcdnet.Config{Members: 3, TLS: tl})
	w := byKeysend("keysend", 1_005_000)
	share := 2 * w.reservation
	conf := []string{"plugin=" + plugin, "budget=1btc/1d", "fleet-name=faults",
		"fleet-etcd=" + strings.Join(ec.URLs(), ","), "fleet-etcd-cacert=" + tl.CA, "fleet-etcd-cert=" + tl.ClientCert, "fleet-etcd-key=" + tl.ClientKey}
	a, b, hub, l3 := fleetNodes(t, w, append(slices.Clip(conf), fmt.Sprintf("fleet-offline-share=%dmsat", share)), conf)
	sent := func() int64 { a.settled(); b.settled(); return a.sentSince(0) + b.sentSince(0) }

	// agree waits until both members show the same fleet: reachable, both
	// members, spent as before plus what left since, and a's share
	// reserved.
	agree := func(what string, spent int64) {
		t.Helper()
		waitFor(t, 30*time.Second, func() string {
			for _, n := range []*node{a, b} {
				s := n.fleetStatus()
				if s.Fleet == nil || !s.Fleet.Reachable || len(s.Fleet.Members) != 2 || s.Budgets[0].SpentMsat != spent || s.Budgets[0].ReservedMsat != share {
					return fmt.Sprintf("%s: %s: want spent %d, reserved %d: %+v", what, n.Name, spent, share, s)
				}
			}
			return ""
		})
	}
	pay := func(n, to *node) *rpcError { return n.call(w.cmd, w.params(to), nil) }
	var base, before int64
	waitFor(t, 30*time.Second, func() string {
		sa, sb := a.fleetStatus(), b.fleetStatus()
		if sa.Fleet == nil || len(sa.Fleet.Members) != 2 || sa.Budgets[0].SpentMsat != sb.Budgets[0].SpentMsat {
			return fmt.Sprintf("members do not agree yet: %+v %+v", sa, sb)
		}
		base, before = sa.Budgets[0].SpentMsat, sent()
		return ""
	})
	agree("started", base)

	// One member of three down, the first URL's: nothing changes.
	assert.NilError(t, ec.Kill(0))
	assert.Assert(t, pay(a, l3) == nil)
	assert.Assert(t, pay(b, hub) == nil)
	agree("one etcd member down", base+sent()-before)

	// Two down: no quorum.
	assert.NilError(t, ec.Kill(1))
	for i := range 2 {
		assert.Assert(t, pay(a, l3) == nil, "a pays from its offline share (%d)", i)
	}
	unverified := func(e *rpcError) {
		t.Helper()
		assert.Assert(t, e != nil, "not refused")
		assert.Equal(t, e.Code, int64(codeUnverified), "%v", e)
		assert.Assert(t, strings.Contains(e.Message, "fleet faults"), "%v", e)
	}
	noHTLC(t, a, hub, func() { unverified(pay(a, l3)) })
	noHTLC(t, b, hub, func() { unverified(pay(b, hub)) })
	nothingLeaves(t, codeUnverified, func() *rpcError {
		return b.call("withdraw", map[string]any{"destination": a.newAddr(), "satoshi": 10_000}, nil)
	})
	a.checkAlive()
	b.checkAlive()
	assert.NilError(t, ec.Restart(0))
	assert.NilError(t, ec.Restart(1))
	waitFor(t, 30*time.Second, func() string {
		if e := pay(b, hub); e != nil {
			return fmt.Sprintf("b cannot pay with etcd back: %v", e)
		}
		return ""
	})
	agree("etcd back", base+sent()-before)

	// a killed with three payments held at l3.
	hold := filepath.Join(t.TempDir(), "hold")
	assert.NilError(t, os.WriteFile(hold, nil, 0o600))
	l3.must("plugin", map[string]any{"subcommand": "start", "plugin": claimer, "hold-file": hold}, nil)
	// What leaves in flight counts as spent, its fee allowance's rest as
	// reserved: the fleet holds both while a is away.
	holds := func() int64 { s := b.fleetStatus(); return s.Budgets[0].SpentMsat + s.Budgets[0].ReservedMsat }
	beforeHeld := holds()
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { a.tryCall(w.cmd, w.params(l3), nil) }) // ends with a's lightningd
	}
	waitFor(t, 30*time.Second, func() string {
		if log, _ := os.ReadFile(l3.LogPath()); bytes.Count(log, []byte("holding ")) < 3 {
			return "l3 does not hold a's three HTLCs yet"
		}
		return ""
	})
	var held int64
	waitFor(t, 10*time.Second, func() string {
		if held = holds(); held < beforeHeld+3*1_000_000 {
			return fmt.Sprintf("b does not see a's three payments: the fleet holds %d, %d before", held, beforeHeld)
		}
		return ""
	})
	a.Kill()
	wg.Wait()
	// Longer than a heartbeat: no timeout frees what a may still pay.
	time.Sleep(12 * time.Second)
	assert.Equal(t, holds(), held, "what the fleet holds of a while it is away")
	assert.NilError(t, os.Remove(hold)) // l3 takes the payments
	assert.NilError(t, a.Restart())
	waitFor(t, 60*time.Second, func() string {
		for _, p := range a.sendpays("") {
			if p.Status == "pending" {
				return "a's payments still in flight"
			}
		}
		return ""
	})
	complete := 0
	for _, p := range a.sendpays("") {
		if p.Status == "complete" {
			complete++
		}
	}
	agree("a restarted", base+sent()-before)

	// Everything restarted: etcd's members, then both lightningd.
	for i := range 3 {
		assert.NilError(t, ec.Kill(i))
	}
	for i := range 3 {
		assert.NilError(t, ec.Restart(i))
	}
	assert.NilError(t, a.Restart())
	assert.NilError(t, b.Restart())
	agree("all restarted", base+sent()-before)
	for _, p := range [][2]*node{{a, l3}, {b, hub}} {
		// Until the restarted nodes reconnect, payments fail on the way;
		// pay-up-to must not be what refuses them.
		waitFor(t, 60*time.Second, func() string {
			e := pay(p[0], p[1])
			if e != nil && strings.Contains(e.Message, "pay-up-to:") {
				t.Fatalf("%s refused after everything restarted: %v", p[0].Name, e)
			}
			if e != nil {
				return fmt.Sprintf("%s cannot pay %s yet: %v", p[0].Name, p[1].Name, e)
			}
			return ""
		})
	}
	agree("paying again", base+sent()-before)
	a.checkAlive()
	b.checkAlive()
	t.Logf("fleet spent %d msat (%d at start); a's %d complete parts include the 3 that were in flight", base+sent()-before, base, complete)
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
