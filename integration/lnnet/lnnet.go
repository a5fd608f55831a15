// Package lnnet runs a regtest Lightning network on this machine: one btcd
// (the Go full node, installed with go install) and lightningd nodes that
// reach it through the chainbackend plugin, so that payments complete.
// Mined coins pay to P2WSH(OP_TRUE), which anyone can spend, so nodes are
// funded without a wallet.
//
// The integration tests and `make regtest` are built on it:
//
//	nw, err := lnnet.Start(lnnet.Config{Lightningd: ld, Backend: backend})
//	defer nw.Stop()
//	nodes, err := nw.Line(5_000_000, lnnet.NodeOptions{Name: "l1"}, lnnet.NodeOptions{Name: "l2"})
//	err = nodes[0].Call("pay", []any{bolt11}, &result)
//
// Where lightningd has them (v23.11+, or a v23.02 built with
// --enable-developer) nodes run with the developer options that poll the
// chain every second and gossip fast; a line of three nodes is then
// routable a few seconds after btcd starts. Without them it takes minutes.
package lnnet

import (
	"github.com/payupto/pay-up-to/integration/proc"

	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Config says what a network runs.
type Config struct {
	Lightningd string // lightningd binary
	Backend    string // chainbackend plugin binary
	Btcd       string // btcd binary; "" installs it (InstallBtcd)
	Dir        string // where the network's directory is made; "" for os.TempDir
}

// Network is one btcd and the lightningd nodes started on it.
type Network struct {
	Lightningd string   // lightningd binary
	Backend    string   // chainbackend plugin binary
	Version    string   // lightningd --version
	Developer  bool     // nodes run with fast polling and gossip
	Args       []string // options every node gets
	Dir        string   // btcd's and every node's directory; Stop removes it
	Btcd       *Btcd

	mu    sync.Mutex // protects nodes and seq
	nodes []*Node
	seq   int
}

// Start starts btcd and mines its first blocks; nodes come later.
func Start(c Config) (*Network, error) {
	out, err := exec.Command(c.Lightningd, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("lnnet: %s --version: %v", c.Lightningd, err)
	}
	nw := &Network{Lightningd: c.Lightningd, Backend: c.Backend, Version: strings.TrimSpace(string(out))}
	help, _ := exec.Command(c.Lightningd, "--help").Output()
	switch {
	case strings.Contains(string(help), "--developer"): // v23.11+
		nw.Developer = true
		nw.Args = append(nw.Args, "--developer")
	case strings.Contains(string(help), "--dev-fast-gossip"): // built with --enable-developer
		nw.Developer = true
	}
	if nw.Developer {
		nw.Args = append(nw.Args, "--dev-bitcoind-poll=1", "--dev-fast-gossip", "--dev-allow-localhost")
	}
	// Offers needed a flag before v24.11 (which then deprecated it).
	if strings.Contains(string(help), "--experimental-offers") && (strings.HasPrefix(nw.Version, "v23.") || strings.HasPrefix(nw.Version, "v24.0")) {
		nw.Args = append(nw.Args, "--experimental-offers")
	}
	btcd := c.Btcd
	if btcd == "" {
		if btcd, err = InstallBtcd(""); err != nil {
			return nil, err
		}
	}
	if nw.Dir, err = os.MkdirTemp(c.Dir, "lnnet"); err != nil {
		return nil, err
	}
	if nw.Btcd, err = StartBtcd(btcd, filepath.Join(nw.Dir, "btcd")); err != nil {
		os.RemoveAll(nw.Dir)
		return nil, err
	}
	return nw, nil
}

// Stop stops every node and btcd, and removes the network's directory.
func (nw *Network) Stop() {
	nw.mu.Lock()
	nodes := nw.nodes
	nw.nodes = nil
	nw.mu.Unlock()
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Add(1)
		go func() { defer wg.Done(); n.Stop() }()
	}
	wg.Wait()
	nw.Btcd.Stop()
	os.RemoveAll(nw.Dir)
}

// StartNode starts a lightningd on the network's btcd and waits until it
// has started up. Its config file holds network=regtest,
// allow-deprecated-apis=true (developer mode turns them off, and with them
// pay and keysend on v26.06) and o.Config.
func (nw *Network) StartNode(o NodeOptions) (*Node, error) {
	nw.mu.Lock()
	nw.seq++
	if o.Name == "" {
		o.Name = fmt.Sprintf("n%d", nw.seq)
	}
	nw.mu.Unlock()
	port, err := proc.FreePort()
	if err != nil {
		return nil, err
	}
	n := &Node{Name: o.Name, Port: port}
	if n.Dir, err = os.MkdirTemp(nw.Dir, o.Name+"-"); err != nil {
		return nil, err
	}
	config := append([]string{"network=regtest", "allow-deprecated-apis=true"}, o.Config...)
	if err := os.WriteFile(filepath.Join(n.Dir, "config"), []byte(strings.Join(config, "\n")+"\n"), 0o600); err != nil {
		return nil, err
	}
	args := []string{
		"--lightning-dir=" + n.Dir,
		"--disable-plugin=bcli",
		"--plugin=" + nw.Backend,
		"--btcd-rpcconnect=" + nw.Btcd.Addr,
		"--btcd-rpcuser=" + nw.Btcd.User,
		"--btcd-rpcpassword=" + nw.Btcd.Password,
		fmt.Sprintf("--bind-addr=127.0.0.1:%d", n.Port),
		"--log-file=" + n.LogPath(),
		"--log-level=debug",
		"--alias=" + o.Name,
	}
	args = append(append(args, nw.Args...), o.Args...)
	if err := n.start(nw.Lightningd, args, o.Env); err != nil {
		return nil, err
	}
	nw.mu.Lock()
	nw.nodes = append(nw.nodes, n)
	nw.mu.Unlock()
	return n, nil
}

// running returns the nodes that are still running.
func (nw *Network) running() []*Node {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	var r []*Node
	for _, n := range nw.nodes {
		if n.Alive() {
			r = append(r, n)
		}
	}
	return r
}

// waitFor polls cond until it returns nil or timeout passes; it then
// returns cond's last error.
func waitFor(timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Mine mines n blocks and waits until every running node has seen them.
func (nw *Network) Mine(n int) error {
	if _, err := nw.Btcd.Generate(n); err != nil {
		return err
	}
	tip, err := nw.Btcd.Height()
	if err != nil {
		return err
	}
	for _, node := range nw.running() {
		err := waitFor(2*time.Minute, func() error {
			var info struct{ Blockheight int64 }
			if err := node.Call("getinfo", nil, &info); err != nil {
				return err
			}
			if info.Blockheight < tip {
				return fmt.Errorf("lnnet: %s is at block %d of %d", node.Name, info.Blockheight, tip)
			}
			return nil
		})
		if err != nil && node.Alive() {
			return err
		}
	}
	return nil
}

// Fund sends sat to a new address of each node (a node listed twice gets
// two coins), mines a block and waits until every node has its coins.
func (nw *Network) Fund(sat int64, nodes ...*Node) error {
	addrs := make([]string, len(nodes))
	for i, n := range nodes {
		var a struct{ Bech32 string }
		if err := n.Call("newaddr", map[string]any{"addresstype": "bech32"}, &a); err != nil {
			return fmt.Errorf("lnnet: %s: newaddr: %w", n.Name, err)
		}
		addrs[i] = a.Bech32
	}
	txid, err := nw.Btcd.Send(addrs, sat)
	if err != nil {
		return err
	}
	if err := nw.Mine(1); err != nil {
		return err
	}
	want := map[*Node]int{}
	for _, n := range nodes {
		want[n]++
	}
	for n, count := range want {
		err := waitFor(time.Minute, func() error {
			var funds struct {
				Outputs []struct {
					Txid, Status string
				}
			}
			if err := n.Call("listfunds", nil, &funds); err != nil {
				return err
			}
			got := 0
			for _, o := range funds.Outputs {
				if o.Txid == txid && o.Status == "confirmed" {
					got++
				}
			}
			if got < count {
				return fmt.Errorf("lnnet: %s has %d of its %d coins from %s", n.Name, got, count, txid)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Connect connects a to b.
func (nw *Network) Connect(a, b *Node) error {
	if err := a.Call("connect", map[string]any{"id": fmt.Sprintf("%s@127.0.0.1:%d", b.ID, b.Port)}, nil); err != nil {
		return fmt.Errorf("lnnet: %s: connect %s: %w", a.Name, b.Name, err)
	}
	return nil
}

// OpenChannel connects a to b and opens an announced channel of sat
// satoshis funded by a; the channel is usable once Mine has buried it
// (6 blocks to be announced).
func (nw *Network) OpenChannel(a, b *Node, sat int64) error {
	if err := nw.Connect(a, b); err != nil {
		return err
	}
	if err := a.Call("fundchannel", map[string]any{"id": b.ID, "amount": sat, "announce": true}, nil); err != nil {
		return fmt.Errorf("lnnet: %s: fundchannel %s: %w", a.Name, b.Name, err)
	}
	return nil
}

// WaitRoutable waits until the channels between these nodes are normal and
// every node's gossip has each of them in both directions, active, and has
// every node's announcement, so that pay, xpay and renepay can route.
func (nw *Network) WaitRoutable(nodes []*Node, timeout time.Duration) error {
	ids := map[string]bool{}
	for _, n := range nodes {
		ids[n.ID] = true
	}
	return waitFor(timeout, func() error {
		scids := map[string]bool{}
		for _, n := range nodes {
			var pc struct {
				Channels []struct {
					PeerID         string `json:"peer_id"`
					State          string `json:"state"`
					ShortChannelID string `json:"short_channel_id"`
				}
			}
			if err := n.Call("listpeerchannels", nil, &pc); err != nil {
				return err
			}
			for _, c := range pc.Channels {
				if !ids[c.PeerID] {
					continue
				}
				if c.State != "CHANNELD_NORMAL" || c.ShortChannelID == "" {
					return fmt.Errorf("lnnet: %s: channel with %s is %s", n.Name, c.PeerID, c.State)
				}
				scids[c.ShortChannelID] = true
			}
		}
		for _, n := range nodes {
			var lc struct {
				Channels []struct {
					ShortChannelID string `json:"short_channel_id"`
					Active         bool   `json:"active"`
				}
			}
			if err := n.Call("listchannels", nil, &lc); err != nil {
				return err
			}
			seen := map[string]int{}
			for _, c := range lc.Channels {
				if c.Active {
					seen[c.ShortChannelID]++
				}
			}
			for scid := range scids {
				if seen[scid] < 2 {
					return fmt.Errorf("lnnet: %s knows %d directions of channel %s", n.Name, seen[scid], scid)
				}
			}
			var ln struct {
				Nodes []struct {
					NodeID        string `json:"nodeid"`
					LastTimestamp int64  `json:"last_timestamp"`
				}
			}
			if err := n.Call("listnodes", nil, &ln); err != nil {
				return err
			}
			announced := 0
			for _, x := range ln.Nodes {
				if ids[x.NodeID] && x.LastTimestamp > 0 {
					announced++
				}
			}
			if announced < len(ids) {
				return fmt.Errorf("lnnet: %s has %d of %d node announcements", n.Name, announced, len(ids))
			}
		}
		return nil
	})
}

// gossipTimeout is how long WaitRoutable may take: lightningd without the
// developer options gossips once a minute.
func (nw *Network) gossipTimeout() time.Duration {
	if nw.Developer {
		return time.Minute
	}
	return 5 * time.Minute
}

// Line starts one node per NodeOptions, in a line with an announced channel
// of sat satoshis from each node to the next, and returns them once
// payments can route from any node to any other.
func (nw *Network) Line(sat int64, opts ...NodeOptions) ([]*Node, error) {
	if len(opts) < 2 {
		return nil, errors.New("lnnet: a line needs two nodes")
	}
	nodes := make([]*Node, len(opts))
	if err := parallel(len(opts), func(i int) (err error) {
		nodes[i], err = nw.StartNode(opts[i])
		return err
	}); err != nil {
		stopAll(nodes)
		return nil, err
	}
	err := nw.Fund(sat+1_000_000, nodes[:len(nodes)-1]...)
	if err == nil {
		err = parallel(len(nodes)-1, func(i int) error { return nw.OpenChannel(nodes[i], nodes[i+1], sat) })
	}
	if err == nil {
		err = nw.Routable(nodes...)
	}
	if err != nil {
		stopAll(nodes)
		return nil, err
	}
	return nodes, nil
}

// Routable mines the blocks that bury and announce freshly opened channels
// and waits until the nodes can route over them.
func (nw *Network) Routable(nodes ...*Node) error {
	if err := nw.Mine(6); err != nil {
		return err
	}
	return nw.WaitRoutable(nodes, nw.gossipTimeout())
}

// parallel runs f(0) … f(n-1) at once and returns the first error.
func parallel(n int, f func(i int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = f(i) }()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func stopAll(nodes []*Node) {
	for _, n := range nodes {
		if n != nil {
			n.Stop()
		}
	}
}
