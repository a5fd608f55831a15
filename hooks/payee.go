package hooks

import (
	"context"
	"strings"
	"time"

	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// A payment to one of the operator's trusted nodes (trusted-destinations)
// is not spending: it is exempt from the node's limit and budget, its
// fees still count, and an app's allowance still holds. The payee is
// what lightningd vouches for: a keysend's destination, where the onion
// goes; an invoice's signer as lightningd's decode reads it, signature
// checked; an offer's issuer, whose invoice fetchinvoice checks against
// the offer. A payee that cannot be known is not trusted.

// decideTrusting is decide once lightningd has told the payee: answered
// off the stdin loop, which must stay free to pass our own decode call
// through the hook.
func (g *Guard) decideTrusting(method, id string, params jsonrpc.Value) jsonrpc.Deferred {
	rune := g.claims.take(method, params)
	c := g.rpc.Load()
	id, params = strings.Clone(id), append(jsonrpc.Value(nil), params...)
	return func(reply func(any, error)) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		r := g.decideFor(method, id, params, rune, g.payeeTrusted(ctx, c, method, params))
		if r == nil {
			reply(continueAnswer, nil)
			return
		}
		g.tell(method, r)
		reply(r.Answer(), nil)
	}
}

// payeeTrusted reports whether the payment command pays a trusted node
// other than our own.
func (g *Guard) payeeTrusted(ctx context.Context, c *jsonrpc.Client, method string, params jsonrpc.Value) bool {
	t := g.trusted.Load()
	p, err := price.Lightning(method, params, g.version(), g.xpayTakesPay.Load())
	if err != nil || !t.HasNodes() {
		return false
	}
	payee := p.Dest
	if p.Key == "bolt11" || p.Key == "offer" {
		payee = decodePayee(ctx, c, p.Subject)
	}
	return payee != "" && !strings.EqualFold(payee, g.ledger.NodeID()) && t.Node(payee)
}

// decodePayee is the node that signed an invoice (a BOLT12 invoice's
// invoice_node_id), or that issues an offer, as lightningd's decode reads
// it; "" if lightningd does not find it valid. decodepay is for
// lightningd without decode of bolt11.
func decodePayee(ctx context.Context, c *jsonrpc.Client, s string) string {
	var d struct {
		Type          string `json:"type"`
		Valid         bool   `json:"valid"`
		Payee         string `json:"payee"`
		InvoiceNodeID string `json:"invoice_node_id"`
		OfferIssuerID string `json:"offer_issuer_id"`
	}
	if err := c.Call(ctx, "decode", map[string]any{"string": s}, &d); err != nil {
		if c.Call(ctx, "decodepay", map[string]any{"bolt11": s}, &d) != nil {
			return ""
		}
		return d.Payee
	}
	if !d.Valid {
		return ""
	}
	switch d.Type {
	case "bolt11 invoice":
		return d.Payee
	case "bolt12 invoice":
		return d.InvoiceNodeID
	case "bolt12 offer":
		return d.OfferIssuerID
	}
	return ""
}
