package hooks

import (
	"context"
	"strings"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/hooks/intents"
	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/hooks/refuse"
)

// tellsPreapprove lists the payment commands whose later preapproveinvoice call
// must learn from them: the amount of an amountless invoice, and what a
// pay that xpay runs allowed in fees.
var tellsPreapprove = map[string]bool{"pay": true, "xpay": true, "sendamount": true}

// rewritten: xpay may rewrite pay into xpay-as-pay; lightningd then
// ignores a refusal of the original (or, from a hook ordered before xpay,
// crashes), so while xpay takes pay over, pay is refused at its
// preapproveinvoice call. Before v24.05 legacy pay wraps a
// preapproveinvoice error in its own message, so there (and whenever
// xpay is not taking over) pay is refused directly.
const rewritten = "pay"

// payment answers a payment command or its preapprove call: whom it pays
// (a trusted node, as lightningd vouches, when the operator named any),
// then its price against the limit, then the ledger.
func (g *Guard) payment(c *command) (ask, error) {
	t, rpc := g.Options.Trusted(), g.rpc.Load()
	if !t.HasNodes() || rpc == nil {
		return nil, g.pay(c, false)
	}
	k := c.keep()
	return func(ctx context.Context) error {
		p, err := price.Lightning(k.method, k.params, g.version(), g.intents.XpayTakesPay())
		return g.pay(k, err == nil && t.Pays(ctx, rpc, p, g.ledger.NodeID()))
	}, nil
}

// pay decides a payment whose payee is trusted if trusted.
func (g *Guard) pay(c *command, trusted bool) error {
	if c.method == "preapproveinvoice" {
		g.intents.LearnPayPath(c.id)
	}
	declined := c.method == rewritten && price.PayerOf(c.method, c.params, true) == price.Legacy
	p, err := g.quote(c, true, trusted)
	if err == nil && !p.Known && c.rune != "" && tellsPreapprove[c.method] {
		// Priced at its preapproveinvoice call (a BIP353 name): the rune
		// goes there.
		g.intents.Add(intents.Intent{ID: c.id, Invoice: amount.Canonical(p.Subject), Rune: c.rune, Paid: true, Unpriced: true, Declined: declined})
	}
	handedOver := c.method == rewritten && g.intents.XpayTakesPay() && !declined
	if err != nil || !p.Known {
		if handedOver {
			return nil // refused at preapproveinvoice
		}
		return err
	}
	if tellsPreapprove[c.method] {
		// xpay's preapproveinvoice for pay reserves what pay allowed.
		g.intents.Add(intents.Intent{ID: c.id, Invoice: amount.Canonical(p.Subject), Hash: p.Hash, Fee: p.Fee, Retry: p.Retry, Rune: c.rune, Paid: true, Declined: declined})
	}
	if handedOver {
		return nil // reserved, or refused, at preapproveinvoice
	}
	return g.reserve(c, p, trusted)
}

// quote prices a payment command and holds it to the limit unless its
// payee is trusted, or refuses it (above the limit, or not to be
// priced). record keeps what a later preapprove call needs to know.
func (g *Guard) quote(c *command, record, trusted bool) (price.Payment, error) {
	if why := g.Options.Configured(); why != "" {
		return price.Payment{}, &refuse.Unverified{Why: why}
	}
	p, err := price.Lightning(c.method, c.params, g.version(), g.intents.XpayTakesPay())
	if err != nil {
		return p, err
	}
	if p.NeedsAmount {
		m, ok := g.intents.Lookup(c.id, amount.Canonical(p.Subject))
		if !ok {
			return price.Payment{}, &refuse.Unverified{Why: "the invoice has no amount and no paying command gave one", Key: p.Key, Subject: p.Subject}
		}
		if err := p.Complete(c.method, c.params, m); err != nil {
			return price.Payment{}, err
		}
	}
	if record && tellsPreapprove[c.method] {
		for _, inv := range p.Amountless {
			g.intents.Add(intents.Intent{ID: c.id, Invoice: inv, Amount: p.Amount})
		}
	}
	if limit, ok := g.Options.Limit(); ok && p.Amount > limit && !trusted {
		return price.Payment{}, &refuse.OverLimit{What: p.What, Amount: p.Amount, Limit: limit, Key: p.Key, Subject: p.Subject}
	}
	return p, nil
}

// reserve records an approved payment so its parts can be bounded, and
// holds its amount plus fee allowance against the budget. A preapprove
// call made by a command approved already only adds what it reveals (an
// offer's invoice hash, a keysend's hash).
func (g *Guard) reserve(c *command, p price.Payment, trusted bool) error {
	id, rune, fee, retry := c.id, c.rune, p.Fee, p.Retry
	hash := ledger.Hash(p.Hash)
	if strings.HasPrefix(c.method, "preapprove") {
		if g.ledger.Attach(id, hash, p.Dest, p.Amount) {
			return nil
		}
		// From a command not seen (pay taken over by xpay) or a client.
		if i := strings.LastIndexByte(id, '/'); i > 0 {
			id = id[:i]
		}
		if in, ok := g.intents.Find(id, amount.Canonical(p.Subject), hash); ok {
			rune = in.Rune
			if !in.Unpriced {
				fee, retry = in.Fee, in.Retry // what the paying command allowed
			}
		}
	}
	total := p.Amount + fee
	if total < fee {
		return &refuse.Unverified{Why: "the amount and fee allowance overflow", Key: p.Key, Subject: p.Subject}
	}
	v := g.ledger.Approve(ledger.Approval{ID: id, Hash: hash, Method: c.method, Dest: p.Dest, Amount: p.Amount, Allowance: total, Retry: retry, Rune: rune, Trusted: trusted, Claim: g.claim(c)})
	if v != nil {
		return &refuse.Payment{Verdict: v, Key: p.Key, Subject: p.Subject}
	}
	g.tally.Approval(c.method)
	return nil
}
