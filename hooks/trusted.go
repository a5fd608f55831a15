package hooks

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/payupto/pay-up-to/amount"
)

// TrustedDescription documents the trusted-destinations option.
const TrustedDescription = "Comma-separated on-chain addresses (the operator's cold wallet, an exchange deposit) whose outputs count as the node's own, and node ids whose payments are exempt from limit and budget: what goes to them is not spending; only the fee counts"

// trusted are the operator's own destinations: on-chain scripts (by
// their bytes) and node ids.
type trusted struct {
	spec    string
	scripts map[string]bool
	nodes   map[string]bool
	// networks are the networks the addresses are for, to check once the
	// node's is known.
	networks map[string]string // address → network
}

// parseTrusted reads "addr,addr,nodeid": every entry must be an address
// or a node id (66 hex digits, 02 or 03 first). An empty string trusts
// nothing.
func parseTrusted(s string) (*trusted, error) {
	t := &trusted{spec: s, scripts: map[string]bool{}, nodes: map[string]bool{}, networks: map[string]string{}}
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

// wrongNetwork names an address that is not for network, or "".
func (t *trusted) wrongNetwork(network string) string {
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

func (t *trusted) script(s []byte) bool { return t != nil && t.scripts[string(s)] }

// CheckTrusted validates trusted-destinations.
func (g *Guard) CheckTrusted(s string) error {
	t, err := parseTrusted(s)
	if err != nil {
		return err
	}
	if why := t.wrongNetwork(g.network()); why != "" {
		return fmt.Errorf("%s", why)
	}
	return nil
}

// SetTrusted parses and applies trusted-destinations; on error the old
// list stays.
func (g *Guard) SetTrusted(s string) error {
	if err := g.CheckTrusted(s); err != nil {
		return err
	}
	t, _ := parseTrusted(s)
	g.trusted.Store(t)
	return nil
}
