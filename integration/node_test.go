// Package integration runs pay-up-to inside real lightningd nodes on
// regtest, with a genesis-only chain backend instead of bitcoind. Point it
// at a lightningd with LIGHTNINGD=/path/to/lightningd (or put lightningd on
// PATH); without one every test skips.
package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gotest.tools/v3/assert"
)

var (
	lightningd string // path to lightningd, "" when there is none
	cliPath    string // path to lightning-cli
	plugin     string // the pay-up-to binary under test
	backend    string // the chain backend plugin
	floor      string // loadgen, whose -floor mode is a do-nothing hook plugin
	version    string // lightningd --version
	baseOpts   []string
	skipReason string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	lightningd = os.Getenv("LIGHTNINGD")
	if lightningd == "" {
		lightningd, _ = exec.LookPath("lightningd")
	}
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
	// Offers needed a flag before v24.11 (which then deprecated it).
	if help, _ := exec.Command(lightningd, "--help").Output(); strings.Contains(string(help), "--experimental-offers") && (strings.HasPrefix(version, "v23.") || strings.HasPrefix(version, "v24.0")) {
		baseOpts = append(baseOpts, "--experimental-offers")
	}
	cliPath = findCLI()
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
	floor = filepath.Join(tmp, "loadgen")
	if err := goBuild(floor, "./loadgen"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("integration: lightningd %s (%s)\n", version, lightningd)
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

// findCLI looks beside lightningd (install or build tree), then on PATH.
func findCLI() string {
	if p := os.Getenv("LIGHTNING_CLI"); p != "" {
		return p
	}
	dir := filepath.Dir(lightningd)
	for _, p := range []string{filepath.Join(dir, "lightning-cli"), filepath.Join(dir, "..", "cli", "lightning-cli")} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, _ := exec.LookPath("lightning-cli")
	return p
}

// node is one running lightningd.
type node struct {
	t    testing.TB
	dir  string
	port int
	cmd  *exec.Cmd
	done chan struct{} // closed when lightningd exits
	err  error         // its exit status, once done
	id   string
	seq  atomic.Int64
}

// startNode starts lightningd with the chain backend and extra options;
// configLines go to its config file.
func startNode(t *testing.T, opts []string, configLines ...string) *node {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	n, err := launch(t, opts, configLines...)
	assert.NilError(t, err)
	return n
}

// launch starts lightningd and waits for its RPC; an error is returned
// (with the log) if lightningd exits first.
func launch(t testing.TB, opts []string, configLines ...string) (*node, error) {
	t.Helper()
	n := &node{t: t, dir: t.TempDir(), port: freePort(t), done: make(chan struct{})}
	config := "network=regtest\n" + strings.Join(configLines, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(n.dir, "config"), []byte(config), 0o600); err != nil {
		return nil, err
	}
	args := append([]string{
		"--lightning-dir=" + n.dir,
		"--disable-plugin=bcli",
		"--plugin=" + backend,
		fmt.Sprintf("--bind-addr=127.0.0.1:%d", n.port),
		"--log-file=" + n.logPath(),
		"--log-level=debug",
	}, append(baseOpts, opts...)...)
	n.cmd = exec.Command(lightningd, args...)
	n.cmd.Env = os.Environ()
	if dir := os.Getenv("PAY_UP_TO_RECORD_DIR"); dir != "" {
		name := strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
		n.cmd.Env = append(n.cmd.Env, "PAY_UP_TO_RECORD="+filepath.Join(dir, fmt.Sprintf("%s-%d.in", name, n.port)))
	}
	var stderr bytes.Buffer
	n.cmd.Stderr = &stderr
	if err := n.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { n.err = n.cmd.Wait(); close(n.done) }()
	t.Cleanup(n.stop)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if !n.alive() {
			return nil, fmt.Errorf("lightningd exited (%v): %s\n%s", n.err, stderr.String(), n.logTail(30))
		}
		// RPC answers before startup ends; v23.02 never inits a plugin
		// started in between, so wait for the end of startup too.
		var info struct{ ID string }
		if n.tryCall("getinfo", nil, &info) == nil && strings.Contains(n.logTail(1000), "Server started with public key") {
			n.id = info.ID
			return n, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil, fmt.Errorf("lightningd did not answer getinfo in 60s:\n%s", n.logTail(30))
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (n *node) logPath() string { return filepath.Join(n.dir, "log") }
func (n *node) rpcPath() string { return filepath.Join(n.dir, "regtest", "lightning-rpc") }

func (n *node) logTail(lines int) string {
	b, _ := os.ReadFile(n.logPath())
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// alive reports whether lightningd is still running.
func (n *node) alive() bool {
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

func (n *node) stop() {
	if n.t.Failed() {
		n.t.Logf("lightningd log (%s):\n%s", n.dir, n.logTail(40))
	}
	if !n.alive() {
		return
	}
	n.tryCall("stop", nil, nil)
	select {
	case <-n.done:
	case <-time.After(20 * time.Second):
		n.cmd.Process.Kill()
		<-n.done
	}
}

// rpcError is a JSON-RPC error from lightningd.
type rpcError struct {
	Code    int64           `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

func (e *rpcError) Error() string { return fmt.Sprintf("%d: %s %s", e.Code, e.Message, e.Data) }

// tryCall sends one request over the RPC socket; a JSON-RPC error comes
// back as *rpcError.
func (n *node) tryCall(method string, params any, result any) error {
	conn, err := net.DialTimeout("unix", n.rpcPath(), 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(120 * time.Second))
	if params == nil {
		params = map[string]any{}
	}
	req, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": fmt.Sprintf("test:%s#%d", method, n.seq.Add(1)), "method": method, "params": params})
	if _, err := conn.Write(req); err != nil {
		return err
	}
	var resp struct {
		Result json.RawMessage `json:"result"`
		Error  *rpcError       `json:"error"`
	}
	if err := json.NewDecoder(bufio.NewReader(conn)).Decode(&resp); err != nil {
		return err
	}
	if resp.Error != nil {
		return resp.Error
	}
	if result != nil {
		return json.Unmarshal(resp.Result, result)
	}
	return nil
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
func (n *node) has(command string) bool {
	return n.call("help", map[string]any{"command": command}, nil) == nil
}

// hasConfig reports whether lightningd knows a configuration option.
func (n *node) hasConfig(name string) bool {
	return n.call("listconfigs", map[string]any{"config": name}, nil) == nil
}

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

func (n *node) connect(peer *node) {
	n.t.Helper()
	n.must("connect", map[string]any{"id": fmt.Sprintf("%s@127.0.0.1:%d", peer.id, peer.port)}, nil)
}

// startPlugin starts pay-up-to dynamically, as the README says.
func (n *node) startPlugin(limit string) {
	n.t.Helper()
	n.must("plugin", map[string]any{"subcommand": "start", "plugin": plugin, "limit": limit}, nil)
}

// cli runs lightning-cli against n; it returns stdout and the exit code.
func (n *node) cli(args ...string) (string, int) {
	n.t.Helper()
	if cliPath == "" {
		n.t.Skip("integration: no lightning-cli found beside lightningd, on PATH or in $LIGHTNING_CLI")
	}
	cmd := exec.Command(cliPath, append([]string{"--lightning-dir=" + n.dir, "--network=regtest"}, args...)...)
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
	assert.Assert(n.t, n.alive(), "lightningd died:\n%s", n.logTail(40))
	n.must("getinfo", nil, nil)
	b, _ := os.ReadFile(n.logPath())
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
