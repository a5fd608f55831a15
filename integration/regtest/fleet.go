package main

import (
	"fmt"
	"log"
	"path/filepath"
	"strings"
	"time"

	"github.com/payupto/pay-up-to/integration/etcdnet"
	"github.com/payupto/pay-up-to/integration/lnnet"
)

// fleetName is the fleet the playground's guards join.
const fleetName = "regtest"

// startEtcd installs etcd (once, into the user cache) and starts one
// member with its data under dir.
func startEtcd(dir string) (*etcdnet.Cluster, error) {
	log.Printf("starting etcd %s (built into the user cache the first time)", etcdnet.Version)
	bin, err := etcdnet.Install(etcdnet.Version, "")
	if err != nil {
		return nil, err
	}
	return etcdnet.Start(etcdnet.Config{Etcd: bin, Dir: filepath.Join(dir, "etcd")})
}

// fleetOpts are the plugin start parameters of a fleet member.
func fleetOpts(plugin, limit, budget, etcd string) map[string]any {
	return map[string]any{"subcommand": "start", "plugin": plugin, "limit": limit, "budget": budget,
		"fleet-etcd": etcd, "fleet-name": fleetName}
}

// fleetBanner prints what to try on a fleet of l1 and l2.
func (s *session) fleetBanner(ec *etcdnet.Cluster, limit, budget string) {
	fmt.Printf("\nl1 and l2 run pay-up-to in fleet %q (limit=%s, budget=%s) on etcd %s.\n", fleetName, limit, budget, ec.URLs()[0])
	fmt.Println("Their budget counts what leaves either node, fees included (their channel opens' too):")
	fmt.Println("\nl1-cli pay-up-to-status   # budgets[].spent_msat is the fleet's; fleet.members lists both")
	fmt.Println("l2-cli pay-up-to-pause fleet \"audit\"   # pauses both; pay-up-to-resume fleet on either lifts it")
}

// fleetDemo plays a short session on a fleet of l1 and l2 (l1–l2–l3): a
// budget both count against, a payment from l1 that fits, one from l2
// that no longer does, and the status either shows.
func (s *session) fleetDemo(plugin, limit, etcd string) bool {
	l1, l2, l3 := s.nodes[0], s.nodes[1], s.nodes[2]
	ok := true
	fail := func(format string, args ...any) {
		log.Printf("FAILED: "+format, args...)
		ok = false
	}
	fmt.Printf("l1–l2–l3 with announced channels; pay-up-to on l1 and l2 in fleet %q on etcd %s.\n\n", fleetName, etcd)
	for _, n := range []*lnnet.Node{l1, l2} {
		if _, code := s.run(n, "-k", "plugin", "subcommand=start", "plugin="+plugin, "limit="+limit, "budget=1btc/1d", "fleet-etcd="+etcd, "fleet-name="+fleetName); code != 0 {
			fail("plugin start on %s exited %d", n.Name, code)
			return false
		}
	}
	// Both channel opens paid fees on-chain today: the fleet counts them.
	var spent int64
	for range 50 {
		out, _ := s.quiet(l2, "pay-up-to-status")
		st := answer(out)
		f, _ := st["fleet"].(map[string]any)
		if ms, _ := f["members"].([]any); len(ms) == 2 {
			b, _ := st["budgets"].([]any)
			w, _ := b[0].(map[string]any)
			n, _ := w["spent_msat"].(float64)
			spent = int64(n)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if spent == 0 {
		fail("l2 never saw both members")
		return false
	}
	fmt.Printf("# The fleet has spent %dmsat today: the fees of both channel opens. Give it a budget with 30000sat of room, on each member:\n\n", spent)
	budget := fmt.Sprintf("budget=%dmsat/1d", spent+30_000_000)
	for _, n := range []*lnnet.Node{l1, l2} {
		if _, code := s.run(n, "-k", "setconfig", "config=budget", "val="+strings.TrimPrefix(budget, "budget=")); code != 0 {
			fail("setconfig budget on %s exited %d", n.Name, code)
		}
	}
	out, _ := s.run(l3, "invoice", "20000sat", "fleet-1", "fleet-1")
	inv, _ := answer(out)["bolt11"].(string)
	out, code := s.run(l1, "pay", inv)
	if r := answer(out); code != 0 || r["status"] != "complete" {
		fail("l1's pay of 20000sat: exit %d, status %v", code, r["status"])
	}
	fmt.Println("# l2 has spent nothing itself, but the fleet has 10000sat of room left:")
	fmt.Println()
	out, _ = s.run(l3, "invoice", "20000sat", "fleet-2", "fleet-2")
	inv, _ = answer(out)["bolt11"].(string)
	out, code = s.run(l2, "pay", inv)
	e := answer(out)
	if msg, _ := e["message"].(string); code == 0 || e["code"] != 2102.0 || !strings.Contains(msg, "fleet") {
		fail("l2's pay of 20000sat: exit %d, %v; want code 2102 naming the fleet", code, e)
	}
	out, _ = s.run(l2, "pay-up-to-status")
	if f, _ := answer(out)["fleet"].(map[string]any); f["reachable"] != true {
		fail("l2's status shows no reachable fleet: %v", f)
	}
	if ok {
		log.Print("everything behaved")
	}
	return ok
}
