package trust

import (
	"context"
	"strings"

	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// A payment to one of the operator's trusted nodes is not spending: it
// is exempt from the node's limit and budget, its fees still count, and
// an app's allowance still holds. The payee is what lightningd vouches
// for: a keysend's destination, where the onion goes; an invoice's
// signer as lightningd's decode reads it, signature checked; an offer's
// issuer, whose invoice fetchinvoice checks against the offer. A payee
// that cannot be known is not trusted.

// Pays reports whether payment p pays a trusted node other than self,
// asking lightningd (c) who signed its invoice or issues its offer. It
// waits on lightningd, so it must not run on the stdin loop.
func (t *List) Pays(ctx context.Context, c *jsonrpc.Client, p price.Payment, self string) bool {
	if !t.HasNodes() {
		return false
	}
	payee := p.Dest
	if p.Key == "bolt11" || p.Key == "offer" {
		payee = decodePayee(ctx, c, p.Subject)
	}
	return payee != "" && !strings.EqualFold(payee, self) && t.Node(payee)
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
