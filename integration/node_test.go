// Package integration runs pay-up-to inside real lightningd nodes on a real
// regtest chain: btcd (installed with go install into the user cache on
// first use) and lnnet's network of lightningd nodes with announced
// channels, so payments complete. Point it at a lightningd with
// LIGHTNINGD=/path/to/lightningd (or put lightningd on PATH); without one
// every test skips and nothing is installed.
//
// For test files: sharedLine(t) is the network most tests pay over, l1–l2–l3
// with announced channels and pay-up-to on l1 (limit 0.001btc); newLine(t,
// l1Opts, l1Config...) makes a fresh line whose l1 runs with your options
// and config lines (load pay-up-to there yourself, e.g. "plugin="+plugin,
// "limit=…"); startNode(t, opts, config...) starts one unconnected node on
// the same btcd. A *node wraps lnnet.Node for one test: call/must send RPCs,
// invoice/offer make invstrings, balance(peer) is what l1 holds in its
// channels with peer, sendpays(hash) lists the HTLCs it sent for a payment,
// settled() waits until no HTLC is in flight, checkAlive() checks the log.
package integration

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/payupto/pay-up-to/integration/lnnet"
	"gotest.tools/v3/assert"
)

var (
	lightningd string // path to lightningd, "" when there is none
	cliPath    string // path to lightning-cli
	plugin     string // the pay-up-to binary under test
	backend    string // the chain backend plugin
	floor      string // loadgen, whose -floor mode is a do-nothing hook plugin
	subscriber string // a plugin that logs the pay_up_to_refused it receives
	claimer    string // a plugin that claims HTLCs whose preimage it knows
	version    string // lightningd --version
	skipReason string
)

// channelSat is the size of every channel in a line: fifty payments of
// the limit.
const channelSat = 5_000_000

// The network, started on first use and stopped by TestMain.
var (
	netOnce sync.Once
	network *lnnet.Network
	netErr  error
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	lightningd = lnnet.FindLightningd()
	if lightningd == "" {
		skipReason = "integration: no lightningd on PATH or in $LIGHTNINGD; skipping the real-node tests"
		fmt.Println(skipReason)
		return m.Run()
	}
	out, err := exec.Command(lightningd, "--version").Output()
	if err != nil {
		fmt.Fprintf(os.Stderr, "integration: %s --version: %v\n", lightningd, err)
		return 1
	}
	version = strings.TrimSpace(string(out))
	cliPath = lnnet.FindCLI(lightningd)
	tmp, err := os.MkdirTemp("", "pay-up-to-integration")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	plugin = os.Getenv("PAY_UP_TO")
	if plugin == "" {
		plugin = filepath.Join(tmp, "pay-up-to")
		if err := goBuild(plugin, ".."); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	backend = filepath.Join(tmp, "chainbackend")
	if err := goBuild(backend, "./chainbackend"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	subscriber = filepath.Join(tmp, "subscriber")
	if err := goBuild(subscriber, "./subscriber"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	claimer = filepath.Join(tmp, "claimer")
	if err := goBuild(claimer, "./claimer"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	floor = filepath.Join(tmp, "loadgen")
	if err := goBuild(floor, "./loadgen"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("integration: lightningd %s (%s)\n", version, lightningd)
	defer func() {
		if network != nil {
			network.Stop()
		}
	}()
	return m.Run()
}

func goBuild(out, pkg string) error {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// getNetwork returns the test binary's network (btcd), starting it on
// first use; it skips the test when there is no lightningd.
func getNetwork(t testing.TB) *lnnet.Network {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	netOnce.Do(func() {
		start := time.Now()
		network, netErr = lnnet.Start(lnnet.Config{Lightningd: lightningd, Backend: backend})
		if netErr == nil {
			fmt.Printf("integration: btcd up in %v (%s)\n", time.Since(start).Round(time.Millisecond), network.Dir)
		}
	})
	if netErr != nil {
		t.Fatal(netErr)
	}
	return network
}

// node is one lightningd, seen from one test.
type node struct {
	*lnnet.Node
	t testing.TB
	// id, if set, is the JSON-RPC id of every call, as clients that send
	// the same id (1) on every connection do; otherwise ids are unique.
	id any
}

// sameID is n seen through a client that sends id on every connection.
func (n *node) sameID(id any) *node { return &node{n.Node, n.t, id} }

// rpcError is a JSON-RPC error from lightningd.
type rpcError = lnnet.Error

// recordEnv makes pay-up-to record what lightningd sends it when
// PAY_UP_TO_RECORD_DIR is set.
func recordEnv(t testing.TB, name string) []string {
	dir := os.Getenv("PAY_UP_TO_RECORD_DIR")
	if dir == "" {
		return nil
	}
	file := strings.NewReplacer("/", "-", " ", "_").Replace(t.Name()) + fmt.Sprintf("-%s-%d.in", name, labels.Add(1))
	return []string{"PAY_UP_TO_RECORD=" + filepath.Join(dir, file)}
}

// startNode starts lightningd on the network with extra options;
// configLines go to its config file. It stops when the test ends.
func startNode(t *testing.T, opts []string, configLines ...string) *node {
	t.Helper()
	n, err := launch(t, opts, configLines...)
	assert.NilError(t, err)
	return n
}

// launch is startNode returning an error (with the log) if lightningd
// exits during startup.
func launch(t testing.TB, opts []string, configLines ...string) (*node, error) {
	t.Helper()
	nw := getNetwork(t)
	n, err := nw.StartNode(lnnet.NodeOptions{Args: opts, Config: configLines, Env: recordEnv(t, "n")})
	if err != nil {
		return nil, err
	}
	w := &node{n, t, nil}
	t.Cleanup(w.stop)
	return w, nil
}

// stop stops lightningd, logging its log's end if the test failed.
func (n *node) stop() {
	if n.t.Failed() {
		n.t.Logf("lightningd log (%s):\n%s", n.Dir, n.LogTail(40))
	}
	n.Stop()
}

// line is a started l1–l2–l3, or why it could not start.
type line struct {
	nodes []*lnnet.Node
	err   error
}

var (
	linesMu sync.Mutex // protects lines
	lines   = map[string]*line{}
)

// sharedLine returns the line most tests pay over: l1–l2–l3 with announced
// channels of channelSat, each funded by its left node, and pay-up-to
// loaded on l1 with limit 0.001btc. It starts on first use and lives until
// the test binary ends, so tests must leave it as they found it (restore
// the limit, keep pay-up-to running).
func sharedLine(t *testing.T) (l1, l2, l3 *node) {
	t.Helper()
	return cachedLine(t, nil)
}

// cachedLine is sharedLine with l1Opts on l1's command line: one line per
// distinct l1Opts, shared by the tests that ask for it.
func cachedLine(t *testing.T, l1Opts []string) (l1, l2, l3 *node) {
	t.Helper()
	nw := getNetwork(t)
	key := strings.Join(l1Opts, " ")
	linesMu.Lock()
	ln := lines[key]
	if ln == nil {
		ln = &line{}
		start := time.Now()
		ln.nodes, ln.err = nw.Line(channelSat, lnnet.NodeOptions{Name: "l1", Args: l1Opts, Config: []string{"plugin=" + plugin, "limit=0.001btc"}, Env: recordEnv(t, "l1")}, lnnet.NodeOptions{Name: "l2"}, lnnet.NodeOptions{Name: "l3"})
		if ln.err == nil {
			fmt.Printf("integration: line l1–l2–l3 (l1 %q) payable in %v\n", l1Opts, time.Since(start).Round(time.Millisecond))
		}
		lines[key] = ln
	}
	linesMu.Unlock()
	if ln.err != nil {
		t.Fatal(ln.err)
	}
	l1, l2, l3 = &node{ln.nodes[0], t, nil}, &node{ln.nodes[1], t, nil}, &node{ln.nodes[2], t, nil}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("l1's lightningd log (%s):\n%s", l1.Dir, l1.LogTail(40))
		}
	})
	return l1, l2, l3
}

// newLine starts a fresh l1–l2–l3 like sharedLine's, for this test only;
// l1 runs with l1Opts and l1Config (its config file lines; nothing loads
// pay-up-to unless they do).
func newLine(t *testing.T, l1Opts []string, l1Config ...string) (l1, l2, l3 *node) {
	t.Helper()
	nw := getNetwork(t)
	nodes, err := nw.Line(channelSat, lnnet.NodeOptions{Name: "l1", Args: l1Opts, Config: l1Config, Env: recordEnv(t, "l1")}, lnnet.NodeOptions{Name: "l2"}, lnnet.NodeOptions{Name: "l3"})
	assert.NilError(t, err)
	l1, l2, l3 = &node{nodes[0], t, nil}, &node{nodes[1], t, nil}, &node{nodes[2], t, nil}
	t.Cleanup(l3.Stop)
	t.Cleanup(l2.Stop)
	t.Cleanup(l1.stop)
	return l1, l2, l3
}

// tryCall sends one request; a JSON-RPC error comes back as *rpcError.
func (n *node) tryCall(method string, params any, result any) error {
	if n.id != nil {
		return n.CallID(n.id, method, params, result)
	}
	return n.Call(method, params, result)
}

// call is tryCall that fails the test on a transport error and returns
// a JSON-RPC error, if any.
func (n *node) call(method string, params any, result any) *rpcError {
	n.t.Helper()
	err := n.tryCall(method, params, result)
	var re *rpcError
	if errors.As(err, &re) {
		return re
	}
	assert.NilError(n.t, err, "%s", method)
	return nil
}

// must is call that fails the test on any error.
func (n *node) must(method string, params any, result any) {
	n.t.Helper()
	if e := n.call(method, params, result); e != nil {
		n.t.Fatalf("%s: %v", method, e)
	}
}

// has reports whether lightningd has a command (plugins included).
func (n *node) has(command string) bool { return n.Has(command) }

// hasConfig reports whether lightningd knows a configuration option.
func (n *node) hasConfig(name string) bool { return n.HasConfig(name) }

var labels atomic.Int64

// invoice makes a bolt11 invoice ("any" for amountless).
func (n *node) invoice(amount string) string {
	n.t.Helper()
	var r struct{ Bolt11 string }
	n.must("invoice", map[string]any{"amount_msat": amount, "label": fmt.Sprintf("l%d", labels.Add(1)), "description": "pay-up-to test"}, &r)
	return r.Bolt11
}

// offer makes a bolt12 offer ("any" for amountless).
func (n *node) offer(amount string) string {
	n.t.Helper()
	var r struct{ Bolt12 string }
	n.must("offer", map[string]any{"amount": amount, "description": fmt.Sprintf("o%d", labels.Add(1))}, &r)
	return r.Bolt12
}

// paymentHash is an invoice's payment hash.
func (n *node) paymentHash(invstring string) string {
	n.t.Helper()
	var r struct {
		PaymentHash        string `json:"payment_hash"`
		InvoicePaymentHash string `json:"invoice_payment_hash"`
	}
	n.must("decode", []any{invstring}, &r)
	return r.PaymentHash + r.InvoicePaymentHash
}

// startPlugin starts pay-up-to dynamically, as the README says.
func (n *node) startPlugin(limit string) {
	n.t.Helper()
	n.must("plugin", map[string]any{"subcommand": "start", "plugin": plugin, "limit": limit}, nil)
}

// balance is what n holds, in msat, in its channels with peer.
func (n *node) balance(peer *node) int64 {
	n.t.Helper()
	var r struct {
		Channels []struct {
			PeerID   string          `json:"peer_id"`
			ToUsMsat json.RawMessage `json:"to_us_msat"`
		}
	}
	n.must("listpeerchannels", map[string]any{"id": peer.ID}, &r)
	total := int64(0)
	for _, c := range r.Channels {
		m, err := lnnet.Msat(c.ToUsMsat)
		assert.NilError(n.t, err)
		total += m
	}
	return total
}

// sendpay is one HTLC n sent (a listsendpays row).
type sendpay struct {
	PaymentHash string `json:"payment_hash"`
	Status      string `json:"status"` // pending, complete or failed
	PartID      int64  `json:"partid"`
	GroupID     int64  `json:"groupid"`
}

// sendpays lists the HTLCs n sent for a payment hash ("" for all).
func (n *node) sendpays(hash string) []sendpay {
	n.t.Helper()
	p := map[string]any{}
	if hash != "" {
		p["payment_hash"] = hash
	}
	var r struct{ Payments []sendpay }
	n.must("listsendpays", p, &r)
	return r.Payments
}

// settled waits until no HTLC is in flight in n's channels, so that
// balances stand still.
func (n *node) settled() {
	n.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var r struct {
			Channels []struct{ Htlcs []json.RawMessage }
		}
		n.must("listpeerchannels", nil, &r)
		inFlight := 0
		for _, c := range r.Channels {
			inFlight += len(c.Htlcs)
		}
		if inFlight == 0 {
			return
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("%d HTLCs still in flight after 30s", inFlight)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// labelOf is the label of n's invoice invstring.
func (n *node) labelOf(invstring string) string {
	n.t.Helper()
	var r struct{ Invoices []struct{ Label string } }
	n.must("listinvoices", map[string]any{"invstring": invstring}, &r)
	assert.Equal(n.t, len(r.Invoices), 1)
	return r.Invoices[0].Label
}

// invoiceStatus is the status of n's invoice for a payment hash ("" if
// there is none).
func (n *node) invoiceStatus(hash string) string {
	n.t.Helper()
	var r struct{ Invoices []struct{ Status string } }
	n.must("listinvoices", map[string]any{"payment_hash": hash}, &r)
	if len(r.Invoices) == 0 {
		return ""
	}
	return r.Invoices[0].Status
}

// cli runs lightning-cli against n; it returns stdout and the exit code.
func (n *node) cli(args ...string) (string, int) {
	n.t.Helper()
	if cliPath == "" {
		n.t.Skip("integration: no lightning-cli found beside lightningd, on PATH or in $LIGHTNING_CLI")
	}
	cmd := exec.Command(cliPath, append([]string{"--lightning-dir=" + n.Dir, "--network=regtest"}, args...)...)
	out, err := cmd.Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	assert.NilError(n.t, err)
	return string(out), 0
}

// checkAlive fails the test unless lightningd still answers and logged
// nothing broken about our hook.
func (n *node) checkAlive() {
	n.t.Helper()
	assert.Assert(n.t, n.Alive(), "lightningd died:\n%s", n.LogTail(40))
	n.must("getinfo", nil, nil)
	b, _ := os.ReadFile(n.LogPath())
	// While pay-up-to has not yet seen that xpay takes pay over, it
	// refuses the first over-limit pay directly, which lightningd ignores
	// (and logs) before preapproveinvoice refuses it.
	if m := regexp.MustCompile(`rpc_command hook '.*' already modified.*`).FindAll(b, -1); len(m) > 1 {
		n.t.Errorf("lightningd log, %d times: %s", len(m), m[0])
	}
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`Bad response to 'rpc_command' hook.*`),
		regexp.MustCompile(`plugin-pay-up-to.*Killing plugin.*`),
	} {
		if m := bad.Find(b); m != nil && !strings.Contains(string(m), "stopped by lightningd via RPC") && !strings.Contains(string(m), "disabled itself at init") {
			n.t.Errorf("lightningd log: %s", m)
		}
	}
}
