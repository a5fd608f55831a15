// Regtest starts a regtest Lightning network to play with, like CLN's
// contrib/startup_regtest.sh but without bitcoind: btcd (installed with go
// install on first use) and N lightningd nodes l1–l2–…–lN in a line with
// announced channels, and pay-up-to on l1 with a limit. It prints the
// aliases to paste into a shell and invoices to pay, then runs until
// Ctrl-C, when it stops every process it started and removes their
// directories.
//
//	go run ./integration/regtest [-n 3] [-limit 0.001btc] [-fleet [-budget 0.2btc/1d]] [-plugin ./pay-up-to]
//
// With -demo it instead plays a short session on a fresh network, printing
// each command and lightningd's real answer: plugin start, an invoice over
// the limit refused, one under it paid. It exits non-zero if anything did
// not behave.
//
// With -fleet it also starts one etcd member (built into the user cache on
// first use) and runs pay-up-to on l1 and l2 in one fleet, with a budget;
// -fleet -demo plays a session where both count against one budget.
//
// lightningd is $LIGHTNINGD or on PATH; lightning-cli is $LIGHTNING_CLI,
// beside lightningd, or on PATH.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/payupto/pay-up-to/integration/etcdnet"
	"github.com/payupto/pay-up-to/integration/lnnet"
	"github.com/payupto/pay-up-to/integration/proc"
)

// channelSat is the size of every channel.
const channelSat = 5_000_000

func main() {
	log.SetFlags(0)
	n := flag.Int("n", 3, "number of nodes in the line (at least 2)")
	limit := flag.String("limit", "0.001btc", "pay-up-to's limit on l1")
	plugin := flag.String("plugin", "./pay-up-to", "the pay-up-to binary")
	backend := flag.String("backend", "", "the chainbackend plugin (default: go build it)")
	demo := flag.Bool("demo", false, "play a short session and exit")
	fleet := flag.Bool("fleet", false, "run etcd, and pay-up-to on l1 and l2 in one fleet")
	budget := flag.String("budget", "0.2btc/1d", "the fleet members' budget (with -fleet)")
	flag.Parse()
	log.SetPrefix("regtest: ")
	if *demo {
		log.SetPrefix("regtest-demo: ")
	}
	if *n < 2 || *fleet && *n < 3 {
		log.Fatal("-n must be at least 2 (3 with -fleet)")
	}
	lightningd := lnnet.FindLightningd()
	if lightningd == "" {
		log.Fatal("no lightningd on PATH or in $LIGHTNINGD")
	}
	cli := lnnet.FindCLI(lightningd)
	if cli == "" {
		log.Fatal("no lightning-cli beside lightningd, on PATH or in $LIGHTNING_CLI")
	}
	p, err := filepath.Abs(*plugin)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		log.Fatalf("no pay-up-to binary: %v (run make first)", err)
	}
	*plugin = p

	// Children run in their own process groups: a Ctrl-C reaches only us,
	// and we stop them.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)

	tmp, err := os.MkdirTemp("", "pay-up-to-regtest")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	if *backend == "" {
		*backend = filepath.Join(tmp, "chainbackend")
		if err := goBuild(*backend, "github.com/payupto/pay-up-to/integration/chainbackend"); err != nil {
			log.Fatal(err)
		}
	}
	log.Printf("starting btcd %s (go install puts it in the user cache the first time)", lnnet.BtcdVersion)
	nw, err := lnnet.Start(lnnet.Config{Lightningd: lightningd, Backend: *backend, Dir: tmp})
	if err != nil {
		log.Fatal(err)
	}
	code := 0
	var ec *etcdnet.Cluster
	defer func() {
		nw.Stop()
		if ec != nil {
			ec.Stop()
		}
		os.RemoveAll(tmp)
		os.Exit(code)
	}()
	if *fleet {
		if ec, err = startEtcd(tmp); err != nil {
			log.Print(err)
			code = 1
			return
		}
	}
	log.Printf("starting %d nodes of lightningd %s in a line with %dsat channels", *n, nw.Version, channelSat)
	type result struct {
		nodes []*lnnet.Node
		err   error
	}
	ready := make(chan result, 1)
	go func() {
		opts := make([]lnnet.NodeOptions, *n)
		for i := range opts {
			opts[i].Name = fmt.Sprintf("l%d", i+1)
		}
		nodes, err := nw.Line(channelSat, opts...)
		ready <- result{nodes, err}
	}()
	var nodes []*lnnet.Node
	select {
	case r := <-ready:
		if r.err != nil {
			log.Print(r.err)
			code = 1
			return
		}
		nodes = r.nodes
	case s := <-sig:
		log.Printf("%v: stopping", s)
		code = 1
		return
	}
	s := &session{cli: cli, nodes: nodes}
	switch {
	case *demo && *fleet:
		if !s.fleetDemo(*plugin, *limit, ec.URLs()[0]) {
			code = 1
		}
		return
	case *demo:
		if !s.demo(*plugin, *limit) {
			code = 1
		}
		return
	case *fleet:
		for _, n := range nodes[:2] {
			if err := n.Call("plugin", fleetOpts(*plugin, *limit, *budget, ec.URLs()[0]), nil); err != nil {
				log.Printf("plugin start on %s: %v", n.Name, err)
				code = 1
				return
			}
		}
	default:
		if err := nodes[0].Call("plugin", map[string]any{"subcommand": "start", "plugin": *plugin, "limit": *limit}, nil); err != nil {
			log.Printf("plugin start %s limit=%s: %v", *plugin, *limit, err)
			code = 1
			return
		}
	}
	s.banner(nw, *limit)
	if *fleet {
		s.fleetBanner(ec, *limit, *budget)
	}
	dead := make(chan *lnnet.Node, len(nodes))
	for _, n := range nodes {
		go func() { <-n.Done(); dead <- n }()
	}
	select {
	case s := <-sig:
		fmt.Println()
		log.Printf("%v: stopping the nodes and btcd, removing %s", s, tmp)
	case n := <-dead:
		log.Printf("%s's lightningd exited; stopping the others. Its log ended:\n%s", n.Name, n.LogTail(20))
		code = 1
	}
}

func goBuild(out, pkg string) error {
	goBin, err := proc.Go()
	if err != nil {
		return err
	}
	cmd := exec.Command(goBin, "build", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// session runs lightning-cli against the nodes.
type session struct {
	cli   string
	nodes []*lnnet.Node
}

func (s *session) alias(n *lnnet.Node) string {
	return fmt.Sprintf("%s --lightning-dir=%s", s.cli, n.Dir)
}

// banner prints what to paste and what to try.
func (s *session) banner(nw *lnnet.Network, limit string) {
	last := s.nodes[len(s.nodes)-1]
	fmt.Printf("\n%d nodes l1–…–%s are up; pay-up-to runs on l1 with limit=%s.\n", len(s.nodes), last.Name, limit)
	fmt.Printf("btcd: %s (rpcuser %s, rpcpass %s), %s\n\nPaste into your shell:\n\n", nw.Btcd.Addr, nw.Btcd.User, nw.Btcd.Password, nw.Dir)
	for _, n := range s.nodes {
		fmt.Printf("alias %s-cli='%s'\n", n.Name, s.alias(n))
	}
	fmt.Println("\nThen try:")
	for _, amount := range []string{"0.0001btc", "0.002btc"} {
		var inv struct{ Bolt11 string }
		if err := last.Call("invoice", map[string]any{"amount_msat": amount, "label": "try-" + amount, "description": "pay-up-to regtest " + amount}, &inv); err != nil {
			log.Printf("invoice: %v", err)
			continue
		}
		fmt.Printf("\nl1-cli pay %s   # %s\n", inv.Bolt11, amount)
	}
	fmt.Printf("\nl1-cli setconfig limit 50000sat\n%s-cli invoice 0.0005btc label-1 demo\n", last.Name)
	fmt.Print("\nCtrl-C stops every node and btcd and removes their directories.\n")
}

// run prints "$ lN-cli args…", runs it, prints the answer, and returns it
// with the exit code.
func (s *session) run(n *lnnet.Node, args ...string) (string, int) {
	fmt.Printf("$ %s-cli %s\n", n.Name, strings.Join(args, " "))
	out, code := s.quiet(n, args...)
	fmt.Print(out)
	if code != 0 {
		fmt.Printf("(exit status %d)\n", code)
	}
	fmt.Println()
	return out, code
}

// quiet runs lightning-cli args… on n and returns what it printed and its
// exit code (-1 when it could not run), printing nothing.
func (s *session) quiet(n *lnnet.Node, args ...string) (string, int) {
	cmd := exec.Command(s.cli, append([]string{"--lightning-dir=" + n.Dir}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return out.String(), ee.ExitCode()
	case err != nil:
		return out.String() + err.Error() + "\n", -1
	}
	return out.String(), 0
}

// answer is the JSON object lightning-cli printed, past its "# …" lines.
func answer(out string) map[string]any {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	var m map[string]any
	json.Unmarshal([]byte(strings.Join(lines, "\n")), &m)
	return m
}

// demo plays the session and reports whether everything behaved.
func (s *session) demo(plugin, limit string) bool {
	l1, last := s.nodes[0], s.nodes[len(s.nodes)-1]
	ok := true
	fail := func(format string, args ...any) {
		log.Printf("FAILED: "+format, args...)
		ok = false
	}
	fmt.Printf("%d nodes l1–…–%s with announced channels; l1 pays %s over %d hops.\n\n", len(s.nodes), last.Name, last.Name, len(s.nodes)-1)
	if _, code := s.run(l1, "-k", "plugin", "subcommand=start", "plugin="+plugin, "limit="+limit); code != 0 {
		fail("plugin start exited %d", code)
		return false
	}

	out, _ := s.run(last, "invoice", "0.002btc", "demo-big", "0.002btc")
	big, _ := answer(out)["bolt11"].(string)
	out, code := s.run(l1, "pay", big)
	e := answer(out)
	data, _ := e["data"].(map[string]any)
	switch {
	case code == 0:
		fail("pay of a 0.002btc invoice exited 0")
	case e["code"] != 2100.0:
		fail("pay of a 0.002btc invoice answered code %v, want 2100", e["code"])
	case data["invoice_too_high"] == nil || data["maximum_is"] == nil || data["bolt11"] != big:
		fail("refusal data lacks invoice_too_high, maximum_is or bolt11: %v", data)
	}

	out, _ = s.run(last, "invoice", "0.0001btc", "demo-small", "0.0001btc")
	small, _ := answer(out)["bolt11"].(string)
	out, code = s.run(l1, "pay", small)
	if r := answer(out); code != 0 || r["status"] != "complete" {
		fail("pay of a 0.0001btc invoice: exit %d, status %v", code, r["status"])
	}
	if ok {
		log.Print("everything behaved")
	}
	return ok
}
