// Package trust reads the operator's trusted destinations, on-chain
// addresses and node ids (the trusted-destinations option), and tells
// whether a payment pays one, as lightningd vouches.
package trust

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/payupto/pay-up-to/amount"
)

// List is the operator's own destinations: on-chain scripts (by their
// bytes) and node ids. A nil List trusts nothing.
type List struct {
	scripts map[string]bool
	nodes   map[string]bool
	// networks are the networks the addresses are for, to check once the
	// node's is known.
	networks map[string]string // address → network
}

// Parse reads "addr,addr,nodeid": every entry must be an address or a
// node id (66 hex digits, 02 or 03 first); it errs naming the first that
// is neither. An empty string trusts nothing.
func Parse(s string) (*List, error) {
	t := &List{scripts: map[string]bool{}, nodes: map[string]bool{}, networks: map[string]string{}}
	for _, e := range strings.Split(s, ",") {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if b, err := hex.DecodeString(e); err == nil && len(b) == 33 && (b[0] == 2 || b[0] == 3) {
			t.nodes[strings.ToLower(e)] = true
			continue
		}
		script, network, err := amount.AddressScript(e)
		if err != nil {
			return nil, fmt.Errorf("trusted-destinations: %s is neither a node id nor an address (%v)", e, err)
		}
		t.scripts[string(script)] = true
		t.networks[e] = network
	}
	return t, nil
}

// WrongNetwork names an address that is not for network (lightningd's
// name for it), or "".
func (t *List) WrongNetwork(network string) string {
	if t == nil || network == "" {
		return ""
	}
	want := network
	switch network {
	case "signet", "testnet4":
		want = "testnet" // they share testnet's prefixes
	}
	for addr, n := range t.networks {
		// Regtest's base58 addresses are testnet's; its bech32 ones are bcrt1.
		base58Test := n == "testnet" && !strings.HasPrefix(strings.ToLower(addr), "tb1")
		if n != want && !(want == "regtest" && base58Test) {
			return fmt.Sprintf("trusted-destinations: %s is a %s address, and this node is on %s", addr, n, network)
		}
	}
	return ""
}

// Script reports whether an output script is trusted.
func (t *List) Script(s []byte) bool { return t != nil && t.scripts[string(s)] }

// HasNodes reports whether any node id is trusted.
func (t *List) HasNodes() bool { return t != nil && len(t.nodes) > 0 }

// Node reports whether a node id (hex, any case) is trusted.
func (t *List) Node(id string) bool { return t != nil && t.nodes[strings.ToLower(id)] }
