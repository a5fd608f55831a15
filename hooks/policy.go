package hooks

import (
	"strings"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/hooks/intents"
	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/hooks/refuse"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// records lists the payment commands whose later preapproveinvoice call
// must learn from them: the amount of an amountless invoice, and what a
// pay that xpay runs allowed in fees.
var records = map[string]bool{"pay": true, "xpay": true, "sendamount": true}

// rewritten: xpay may rewrite pay into xpay-as-pay; lightningd then
// ignores a refusal of the original (or, from a hook ordered before xpay,
// crashes), so while xpay takes pay over, pay is refused at its
// preapproveinvoice call. Before v24.05 legacy pay wraps a
// preapproveinvoice error in its own message, so there (and whenever
// xpay is not taking over) pay is refused directly.
const rewritten = "pay"

// Filters lists the commands the hook must see (CLN v25.12+ sends no
// others): the payment commands, their preapprove calls, the low-level
// sends that offer every HTLC, the on-chain commands and gates, the
// invoice commands whose preimage a caller may choose (watched, never
// refused), and checkrune.
func Filters() []string {
	return []string{"pay", "xpay", "renepay", "sendamount", "keysend", "xkeysend", "preapproveinvoice", "preapprovekeysend", "sendpay", "sendonion", "injectpaymentonion", "invoice", "createinvoice", "checkrune",
		"withdraw", "multiwithdraw", "txprepare", "signpsbt", "sendpsbt", "splice_signed", "close", "fundchannel", "fundchannel_start", "openchannel_init", "multifundchannel", "spliceout"}
}

// decide returns nil to let a payment command run, or the refusal.
// id is the command's own JSON-RPC id, which prefixes the ids of the calls
// it makes (e.g. "cli:pay#7" → "cli:pay#7/cln:xpay-as-pay#8/…").
func (g *Guard) decide(method, id string, params jsonrpc.Value) *refuse.Refusal {
	return g.decideFor(method, id, params, g.claims.take(method, params), false)
}

// decideFor is decide for a command authorised by rune (or ""), whose
// payee lightningd vouches is a trusted node if trusted.
func (g *Guard) decideFor(method, id string, params jsonrpc.Value, rune string, trusted bool) *refuse.Refusal {
	if method == "preapproveinvoice" {
		g.learnPayPath(id)
	}
	declined := method == rewritten && price.PayerOf(method, params, true) == price.Legacy
	p, r := g.quote(method, id, params, true, trusted)
	if r == nil && !p.Known && rune != "" && records[method] {
		// Priced at its preapproveinvoice call (a BIP353 name): the rune
		// goes there.
		g.intents.Add(intents.Intent{ID: id, Invoice: amount.Canonical(p.Subject), Rune: rune, Paid: true, Unpriced: true, Declined: declined})
	}
	handedOver := method == rewritten && g.xpayTakesPay.Load() && !declined
	if r != nil || !p.Known {
		if handedOver {
			return nil // refused at preapproveinvoice
		}
		return r
	}
	if records[method] {
		// xpay's preapproveinvoice for pay reserves what pay allowed.
		g.intents.Add(intents.Intent{ID: id, Invoice: amount.Canonical(p.Subject), Hash: p.Hash, Fee: p.Fee, Retry: p.Retry, Rune: rune, Paid: true, Declined: declined})
	}
	if handedOver {
		return nil // reserved, or refused, at preapproveinvoice
	}
	return g.reserve(method, id, p, rune, trusted)
}

// quote prices a payment command and holds it to the limit unless its
// payee is trusted, or refuses it (above the limit, or not to be
// priced). record keeps what a later preapprove call needs to know.
func (g *Guard) quote(method, id string, params jsonrpc.Value, record, trusted bool) (price.Payment, *refuse.Refusal) {
	limit, hasLimit := g.Limit()
	if !hasLimit && !g.ledger.HasBudget() {
		return price.Payment{}, refuse.Unverified(method, "no limit or budget is configured yet", "", "")
	}
	p, err := price.Lightning(method, params, g.version(), g.xpayTakesPay.Load())
	if err != nil {
		return p, refuse.Price(method, err)
	}
	if p.NeedsAmount {
		m, ok := g.intents.Lookup(id, amount.Canonical(p.Subject))
		if !ok {
			return price.Payment{}, refuse.Unverified(method, "the invoice has no amount and no paying command gave one", p.Key, p.Subject)
		}
		p.Amount, p.Known, p.NeedsAmount = m, true, false
		if p.Fee, err = price.FeeAllowance(method, price.PayerOf(method, params, false), nil, m); err != nil {
			return price.Payment{}, refuse.Unverified(method, err.Error(), p.Key, p.Subject)
		}
		p.Retry, _ = price.RetryFor(nil)
	}
	if record && records[method] {
		for _, inv := range p.Amountless {
			g.intents.Add(intents.Intent{ID: id, Invoice: inv, Amount: p.Amount})
		}
	}
	if hasLimit && p.Amount > limit && !trusted {
		return price.Payment{}, refuse.OverLimit(p.What, p.Amount, limit, p.Key, p.Subject)
	}
	return p, nil
}

// reserve records an approved payment so its parts can be bounded, and
// holds its amount plus fee allowance against the budget. A preapprove
// call made by a command approved already only adds what it reveals (an
// offer's invoice hash, a keysend's hash).
func (g *Guard) reserve(method, id string, p price.Payment, rune string, trusted bool) *refuse.Refusal {
	fee, retry := p.Fee, p.Retry
	hash := ledger.Hash(p.Hash)
	if strings.HasPrefix(method, "preapprove") {
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
		return refuse.Unverified(method, "the amount and fee allowance overflow", p.Key, p.Subject)
	}
	v := g.ledger.Approve(ledger.Approval{ID: id, Hash: hash, Method: method, Dest: p.Dest, Amount: p.Amount, Allowance: total, Retry: retry, Rune: rune, Trusted: trusted})
	if v != nil {
		return refuse.Payment(method, v, p.Key, p.Subject)
	}
	g.stats.approval()
	return nil
}

// learnPayPath notes from a preapproveinvoice call's id whether the last
// `pay` ran as xpay-as-pay (xpay-handle-pay) or as legacy pay. Guessing
// wrong is safe either way: a refusal of a rewritten pay is ignored (and
// logged) and preapproveinvoice refuses; a pay that is not rewritten gets
// refused at preapproveinvoice, only less tidily before v24.05.
func (g *Guard) learnPayPath(id string) {
	switch {
	case strings.Contains(id, "/cln:xpay-as-pay#"):
		g.xpayTakesPay.Store(true)
	case strings.Contains(id, "/cln:pay#"):
		// Unless xpay declined to rewrite this one pay.
		caller, _, _ := strings.Cut(id, "/cln:pay#")
		if !g.intents.Declined(caller) {
			g.xpayTakesPay.Store(false)
		}
	}
}
