package hooks

import (
	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// readSend prices a low-level send (price.Send) for the ledger: which
// rune authorised it, and whether it is a payment to ourselves.
func (g *Guard) readSend(method, id string, params jsonrpc.Value) (ledger.Send, error) {
	s := ledger.Send{ID: id}
	if id != "" {
		s.Rune = g.claims.take(method, params)
	}
	p, err := price.Send(method, params, g.version())
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
