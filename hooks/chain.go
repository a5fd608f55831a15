package hooks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/hooks/refuse"
	"github.com/payupto/pay-up-to/hooks/wallet"
)

// On-chain spends. A transaction counts from when lightningd signs it
// (signpsbt, and splice_signed) or sends it (sendpsbt), once: whoever
// holds a signed transaction can broadcast it. The commands that build
// one (withdraw, txprepare, fundchannel…) are priced too, to refuse
// before anything is built; a close, which lightningd signs itself,
// counts at the command.

// onChain answers an on-chain command: its price, then what of it leaves
// the node (only lightningd knows its wallet, so the answer waits for
// it, off the stdin loop), then the ledger.
func (g *Guard) onChain(c *command) (ask, error) {
	o, err := price.OnChainSpend(c.method, c.params, g.version())
	switch {
	case err != nil:
		return nil, err
	case len(o.Outputs) == 0 && o.Peer == 0 && len(o.Committed) == 0:
		return nil, nil
	case o.TxID != "" && g.ledger.Counted(spendID(c, o)):
		return nil, nil // signed, now sent: counted once
	}
	g.calls.Note(c.id, c.rune) // the calls it makes are charged to its rune
	k := c.keep()
	w := wallet.Node{C: g.rpc.Load(), Version: g.version(), Network: g.Options.Network()}
	spend := func(ctx context.Context) error {
		s, err := w.Leaving(ctx, g.Options.Trusted(), k.method, o)
		if err != nil {
			return err
		}
		return g.spendOnChain(k, o, s)
	}
	if w.C == nil {
		return nil, spend(context.Background()) // nothing to ask: trusted destinations, or a refusal
	}
	return spend, nil
}

// spendOnChain asks the ledger; a gate and a close are counted.
func (g *Guard) spendOnChain(c *command, o price.OnChain, s wallet.Spend) error {
	if why := g.Options.Configured(); why != "" {
		return &refuse.Unverified{Why: why}
	}
	limit, hasLimit := g.Options.Limit()
	sp := ledger.OnChain{ID: spendID(c, o), Leaving: s.Leaving, Fee: s.Fee, Rune: c.rune, Claim: g.claim(c)}
	if v := g.ledger.SpendOnChain(sp, limit, hasLimit, !o.Check); v != nil {
		return &refuse.Chain{Verdict: v, Spend: s}
	}
	if !o.Check {
		g.tally.Approval(c.method)
	}
	return nil
}

// spendID names what a spend counts: a transaction by its txid, any
// other (a close, an open's push) by the call.
func spendID(c *command, o price.OnChain) ledger.Hash {
	if o.TxID != "" {
		if b, err := hex.DecodeString(o.TxID); err == nil && len(b) == 32 {
			return ledger.Hash(b)
		}
	}
	return sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%d", c.method, c.id, time.Now().UnixNano()))
}
