package hooks

import (
	"context"

	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/hooks/refuse"
)

// send answers a low-level send (sendpay, sendonion,
// injectpaymentonion): its price, a payment to ourselves told apart,
// then the ledger, which bounds every HTLC by what was approved for its
// payment, or else by the limit. A send to ourselves above the limit
// passes only while lightningd alone knows its preimage, which it asks.
func (g *Guard) send(c *command) (ask, error) {
	s, err := g.readSend(c)
	if err != nil {
		if s.Key.Hash.IsZero() {
			return nil, &refuse.Unverified{Why: err.Error()}
		}
		return nil, &refuse.Unverified{Why: err.Error(), Key: "payment_hash", Subject: s.Key.Hash.String()}
	}
	limit, hasLimit := g.Options.Limit()
	v := g.ledger.Admit(s, limit, hasLimit)
	rpc := g.rpc.Load()
	switch {
	case v == nil:
		return nil, nil
	case v.Reason != ledger.OverLimit || !s.Self || rpc == nil:
		return nil, &refuse.Send{Send: s, Verdict: v}
	}
	return func(ctx context.Context) error {
		ok, why := g.preimages.Secret(ctx, rpc, s.Key.Hash)
		s.Trusted = ok
		if v := g.ledger.Admit(s, limit, hasLimit); v != nil {
			return &refuse.Send{Send: s, Verdict: v, Why: why}
		}
		return nil
	}, nil
}

// readSend prices a low-level send (price.Send) for the ledger: which
// rune authorised it, and whether it is a payment to ourselves.
func (g *Guard) readSend(c *command) (ledger.Send, error) {
	s := ledger.Send{ID: c.id, Rune: c.rune, Claim: g.claim(c)}
	p, err := price.Send(c.method, c.params, g.version())
	s.Key = ledger.PartKey{Hash: ledger.Hash(p.Hash), GroupID: p.GroupID, PartID: p.PartID}
	if err != nil {
		return s, err
	}
	s.Sent, s.Unpriced = p.Sent, p.Unpriced
	switch {
	case p.Empty:
		s.Self, s.Trusted = true, true // paying our own invoice: no HTLC
	case p.LastHop != "" && p.LastHop == g.ledger.NodeID():
		// A route around to our own node (a rebalance).
		if p.BadLast != nil {
			return s, p.BadLast
		}
		s.Self, s.Delivered = true, p.Delivered
	}
	return s, nil
}
