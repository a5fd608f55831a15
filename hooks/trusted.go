package hooks

import (
	"fmt"

	"github.com/payupto/pay-up-to/hooks/trust"
)

// TrustedDescription documents the trusted-destinations option.
const TrustedDescription = "Comma-separated on-chain addresses (the operator's cold wallet, an exchange deposit) whose outputs count as the node's own, and node ids whose payments are exempt from limit and budget: what goes to them is not spending; only the fee counts"

// CheckTrusted validates trusted-destinations.
func (g *Guard) CheckTrusted(s string) error {
	t, err := trust.Parse(s)
	if err != nil {
		return err
	}
	if why := t.WrongNetwork(g.network()); why != "" {
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
	t, _ := trust.Parse(s)
	g.trusted.Store(t)
	return nil
}
