package wallet

import (
	"context"
	"fmt"
	"strings"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/hooks/trust"
)

// Spend is what an on-chain command sends away, in msat.
type Spend struct {
	Leaving amount.MSat // to others
	Fee     amount.MSat // to miners, when known
	Dests   []string    // where it goes, for refusals
	// Unknown says why an output was counted as leaving without knowing
	// whether it is the node's own.
	Unknown string
}

// Leaving finds what of o, which method asks to send, goes to others:
// every output to a script that is neither the wallet's nor one of our
// channels' funding outputs nor trusted (t), plus the mining fee; a
// close's balance to such a destination; what an open gives its peer. It
// errs with a *price.Error when that cannot be told. It asks lightningd,
// so it must not run on the stdin loop.
func (w Node) Leaving(ctx context.Context, t *trust.List, method string, o price.OnChain) (Spend, error) {
	var s Spend
	add := func(m amount.MSat, dest string) bool {
		if s.Leaving+m < m {
			return false
		}
		s.Leaving += m
		s.Dests = append(s.Dests, dest)
		return true
	}
	unknowable := func(why, dest string) error {
		if dest == "" {
			return &price.Error{Why: why}
		}
		return &price.Error{Why: why, Key: "destination", Subject: dest}
	}
	isOurs := func(script []byte) (bool, string, error) {
		if t.Script(script) {
			return true, "", nil
		}
		return w.Ours(ctx, script)
	}
	if o.Channel != "" { // a close to a destination
		dest := o.Outputs[0].Address
		ours, why, err := isOurs(o.Outputs[0].Script)
		if err != nil {
			return s, unknowable(err.Error(), dest)
		}
		if ours {
			return s, nil
		}
		bal, err := w.Balance(ctx, o.Channel)
		if err != nil {
			return s, unknowable(err.Error(), dest)
		}
		add(bal, dest)
		s.Unknown = why
		return s, nil
	}
	var funding map[string]bool // read when first needed
	for _, out := range append(o.Outputs, o.Committed...) {
		if t.Script(out.Script) {
			continue
		}
		if price.Gate(method) {
			var err error
			if funding == nil {
				if funding, err = w.FundingOutputs(ctx); err != nil {
					return s, unknowable(err.Error(), "")
				}
			}
			if funding[fmt.Sprintf("%s:%d", o.TxID, out.Index)] {
				continue // a channel of ours being opened or spliced
			}
		}
		ours, why, err := isOurs(out.Script)
		if err != nil {
			return s, unknowable(err.Error(), out.Where(w.Network))
		}
		if ours {
			continue
		}
		if out.All { // the amount is known once the transaction is built
			if o.Check {
				continue
			}
			return s, unknowable(`the amount committed to close_to is "all"`, out.Where(w.Network))
		}
		if !add(amount.MSat(out.Sat)*1000, out.Where(w.Network)) || out.Sat > 21e14 {
			return s, unknowable("the amounts overflow", "")
		}
		if why != "" {
			s.Unknown = why
		}
	}
	if o.Peer > 0 && !add(o.Peer, "the channel's peer") {
		return s, unknowable("the amounts overflow", "")
	}
	if price.Gate(method) {
		switch {
		case o.FeeKnown:
			s.Fee = amount.MSat(o.Fee) * 1000
		case s.Leaving > 0:
			return s, unknowable("an input of the PSBT has no amount (witness_utxo or non_witness_utxo), so its mining fee cannot be known", strings.Join(s.Dests, ","))
		}
	}
	return s, nil
}
