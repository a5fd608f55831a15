package lnnet

import (
	"github.com/payupto/pay-up-to/integration/proc"

	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Node is one running lightningd.
type Node struct {
	Name string // its name in the network: "l1", …
	Dir  string // its --lightning-dir
	Port int    // the port it listens on, on 127.0.0.1
	ID   string // its node id

	lightningd string   // what started it, for Restart
	args, env  []string // likewise
	cmd        *exec.Cmd
	done       chan struct{} // closed when lightningd has exited
	err        error         // its exit status, once done is closed
	stderr     bytes.Buffer  // written through syncWriter
	seq        atomic.Int64  // request ids
}

// NodeOptions are what one node adds to the network's defaults.
type NodeOptions struct {
	Name   string   // its directory under the network's; "" names it n1, n2, …
	Args   []string // lightningd command-line options
	Config []string // lines for its config file
	Env    []string // environment variables (NAME=value) besides ours
}

// Error is a JSON-RPC error lightningd answered with.
type Error struct {
	Code    int64           `json:"code"`    // 2100 is pay-up-to's over-limit refusal
	Message string          `json:"message"` // human-readable
	Data    json.RawMessage `json:"data"`    // raw JSON, nil when absent
}

func (e *Error) Error() string {
	if len(e.Data) == 0 {
		return fmt.Sprintf("%d: %s", e.Code, e.Message)
	}
	return fmt.Sprintf("%d: %s %s", e.Code, e.Message, e.Data)
}

// RPCPath is the node's JSON-RPC socket.
func (n *Node) RPCPath() string { return filepath.Join(n.Dir, "regtest", "lightning-rpc") }

// LogPath is lightningd's log file.
func (n *Node) LogPath() string { return filepath.Join(n.Dir, "log") }

// LogTail returns the last lines of lightningd's log.
func (n *Node) LogTail(lines int) string {
	b, _ := os.ReadFile(n.LogPath())
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// Alive reports whether lightningd is still running.
func (n *Node) Alive() bool {
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

// Done is closed when lightningd has exited.
func (n *Node) Done() <-chan struct{} { return n.done }

// Stop asks lightningd to stop and waits for it (killing it after 20 s).
func (n *Node) Stop() {
	if !n.Alive() {
		return
	}
	n.Call("stop", nil, nil)
	select {
	case <-n.done:
	case <-time.After(20 * time.Second):
		n.cmd.Process.Kill()
		<-n.done
	}
}

// Kill ends lightningd and its plugins at once (SIGKILL to its process
// group), as a crash or a power cut would: nothing gets to write a last
// word. Restart starts it again.
func (n *Node) Kill() {
	if !n.Alive() {
		return
	}
	proc.KillGroup(n.cmd.Process)
	<-n.done
}

// Call sends one request over the node's RPC socket and decodes the result
// into result (unless nil). A JSON-RPC error comes back as *Error.
func (n *Node) Call(method string, params any, result any) error {
	return n.CallID(fmt.Sprintf("lnnet:%s#%d", method, n.seq.Add(1)), method, params, result)
}

// CallID is Call with the request id the caller chooses, on a connection
// of its own: ids are unique per connection only, and many clients send
// the same one (1) on every connection.
func (n *Node) CallID(id any, method string, params any, result any) error {
	conn, err := net.DialTimeout("unix", n.RPCPath(), 5*time.Second)
	if err != nil {
		return fmt.Errorf("lnnet: %s: %w", n.Name, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Minute))
	if params == nil {
		params = map[string]any{}
	}
	req, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	if err != nil {
		return err
	}
	if _, err := conn.Write(req); err != nil {
		return fmt.Errorf("lnnet: %s: %s: %w", n.Name, method, err)
	}
	var resp struct {
		Result json.RawMessage `json:"result"`
		Error  *Error          `json:"error"`
	}
	if err := json.NewDecoder(conn).Decode(&resp); err != nil {
		return fmt.Errorf("lnnet: %s: %s: %w", n.Name, method, err)
	}
	if resp.Error != nil {
		return resp.Error
	}
	if result != nil {
		return json.Unmarshal(resp.Result, result)
	}
	return nil
}

// Has reports whether lightningd has a command (plugins' included).
func (n *Node) Has(command string) bool {
	return n.Call("help", map[string]any{"command": command}, nil) == nil
}

// HasConfig reports whether lightningd knows a configuration option.
func (n *Node) HasConfig(name string) bool {
	return n.Call("listconfigs", map[string]any{"config": name}, nil) == nil
}

// Msat reads an amount as lightningd prints it: a number, or a string such
// as "123msat" (v23.02 with deprecated APIs).
func Msat(raw json.RawMessage) (int64, error) {
	s := strings.TrimSuffix(strings.Trim(string(raw), `"`), "msat")
	return strconv.ParseInt(s, 10, 64)
}

// start launches lightningd and waits until it has finished starting up.
// Restart stops lightningd and starts it again as it was started, on the
// same directory; its old log is kept as log.1.
func (n *Node) Restart() error {
	n.Stop()
	if err := os.Rename(n.LogPath(), n.LogPath()+".1"); err != nil {
		return fmt.Errorf("lnnet: %w", err)
	}
	n.stderr.Reset()
	return n.start(n.lightningd, n.args, n.env)
}

func (n *Node) start(lightningd string, args, env []string) error {
	n.lightningd, n.args, n.env = lightningd, args, env
	n.done = make(chan struct{})
	n.cmd = exec.Command(lightningd, args...)
	n.cmd.Env = append(os.Environ(), env...)
	n.cmd.Stdout = &syncWriter{w: &n.stderr}
	n.cmd.Stderr = n.cmd.Stdout
	n.cmd.SysProcAttr = proc.Attr()
	if err := n.cmd.Start(); err != nil {
		return fmt.Errorf("lnnet: starting %s: %w", lightningd, err)
	}
	go func() { n.err = n.cmd.Wait(); close(n.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if !n.Alive() {
			return fmt.Errorf("lnnet: lightningd %s exited (%v): %s\n%s", n.Name, n.err, n.stderr.String(), n.LogTail(30))
		}
		// RPC answers before startup ends; v23.02 never inits a plugin
		// started in between, so wait for the end of startup too.
		var info struct{ ID string }
		if n.Call("getinfo", nil, &info) == nil {
			if b, _ := os.ReadFile(n.LogPath()); bytes.Contains(b, []byte("Server started with public key")) {
				n.ID = info.ID
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	n.Stop()
	return errors.New("lnnet: lightningd " + n.Name + " did not finish starting in 60s:\n" + n.LogTail(30))
}

// FindLightningd returns $LIGHTNINGD, or lightningd on PATH, or "".
func FindLightningd() string {
	if p := os.Getenv("LIGHTNINGD"); p != "" {
		return p
	}
	p, _ := exec.LookPath("lightningd")
	return p
}

// FindCLI returns $LIGHTNING_CLI, or lightning-cli beside lightningd (an
// install or a build tree), or on PATH, or "".
func FindCLI(lightningd string) string {
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
