package hooks

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// spend describes a command that spends: which of its parameters hold
// the invoice, the amount and the destination (their positions are in
// params.go). Keyword aliases CLN accepts (pay's "invstring" since v26.06,
// the old "msatoshi") are listed too.
type spend struct {
	invoice []string
	amount  []string
	dest    []string
	// record: the amount of an amountless invoice is remembered for the
	// preapproveinvoice call this command makes later.
	record bool
	// rewritten: xpay may rewrite the command (pay into xpay-as-pay);
	// lightningd then ignores a refusal of the original.
	rewritten bool
}

// spends lists every command that spends over Lightning. pay, xpay,
// keysend, xkeysend and sendamount ask lightningd to preapproveinvoice or
// preapprovekeysend before sending anything, so those calls are guarded
// too. They are where `pay` is refused while xpay takes pay over: xpay
// rewrites it, and lightningd ignores a refusal of the original (or, from a
// hook ordered before xpay, crashes). Before v24.05 legacy pay wraps a
// preapproveinvoice error in its own message, so there (and whenever xpay
// is not taking over) `pay` is refused directly.
var spends = map[string]spend{
	"pay":               {invoice: []string{"bolt11", "invstring"}, amount: []string{"amount_msat", "msatoshi"}, record: true, rewritten: true},
	"xpay":              {invoice: []string{"invstring"}, amount: []string{"amount_msat"}, record: true},
	"renepay":           {invoice: []string{"invstring"}, amount: []string{"amount_msat"}},
	"sendamount":        {invoice: []string{"invstring"}, amount: []string{"amount_msat"}, record: true},
	"keysend":           {dest: []string{"destination"}, amount: []string{"amount_msat", "msatoshi"}},
	"xkeysend":          {dest: []string{"destination"}, amount: []string{"amount_msat"}},
	"preapproveinvoice": {invoice: []string{"bolt11", "invstring"}},
	"preapprovekeysend": {dest: []string{"destination"}, amount: []string{"amount_msat"}},
}

// Filters lists the commands the hook must see (CLN v25.12+ sends no
// others): the payment commands, their preapprove calls, the low-level
// sends that offer every HTLC, and the invoice commands whose preimage a
// caller may choose (watched, never refused).
func Filters() []string {
	return []string{"pay", "xpay", "renepay", "sendamount", "keysend", "xkeysend", "preapproveinvoice", "preapprovekeysend", "sendpay", "sendonion", "injectpaymentonion", "invoice", "createinvoice", "checkrune"}
}

// priced is what a guarded command asks to spend, as far as its
// parameters tell.
type priced struct {
	amount    amount.MSat
	known     bool        // amount is known (an amountless invoice without amount_msat is not)
	hash      ledger.Hash // payment hash, if the invoice gives one
	key, subj string      // how refusals name it: bolt11/offer/destination/invstring
}

// decide returns nil to let a command run, or the refusal.
// id is the command's own JSON-RPC id, which prefixes the ids of the calls
// it makes (e.g. "cli:pay#7" → "cli:pay#7/cln:xpay-as-pay#8/…").
func (g *Guard) decide(method, id string, params jsonrpc.Value) *refusal {
	sp, ok := spends[method]
	if !ok {
		return nil
	}
	if method == "preapproveinvoice" {
		g.learnPayPath(id)
	}
	rune := g.claims.take(method, params)
	q, r := g.quote(method, id, params, true)
	if r == nil && !q.pr.known && rune != "" && sp.record {
		// Priced at its preapproveinvoice call (a BIP353 name): the rune
		// goes there.
		g.intents.add(intent{id: id, invoice: amount.Canonical(q.pr.subj), rune: rune, paid: true, unpriced: true})
	}
	if r != nil || !q.pr.known {
		if sp.rewritten && g.xpayTakesPay.Load() {
			return nil // refused at preapproveinvoice
		}
		return r
	}
	if sp.record {
		// xpay's preapproveinvoice for pay reserves what pay allowed.
		g.intents.add(intent{id: id, invoice: amount.Canonical(q.pr.subj), hash: q.pr.hash, fee: q.fee, retry: q.retry, rune: rune, paid: true})
	}
	if sp.rewritten && g.xpayTakesPay.Load() {
		return nil // reserved, or refused, at preapproveinvoice
	}
	return g.reserve(method, id, q, rune)
}

// quote is what a guarded command asks to spend: its amount, the most it
// may pay in fees, and how long its payer keeps trying.
type quote struct {
	pr    priced
	fee   amount.MSat
	retry time.Duration
}

// quote prices a command, or refuses it (above the limit, or not to be
// priced). record keeps what a later preapprove call needs to know.
func (g *Guard) quote(method, id string, params jsonrpc.Value, record bool) (quote, *refusal) {
	sp := spends[method]
	a, err := args(params, g.order(method))
	if err != nil {
		return quote{}, unverified(method, "cannot read the parameters", "", "")
	}
	r, pr := g.judge(method, id, sp, a, record)
	if r != nil || !pr.known {
		return quote{pr: pr}, r
	}
	fee, err := feeAllowance(method, a, pr.amount)
	if err != nil {
		return quote{}, unverified(method, err.Error(), pr.key, pr.subj)
	}
	retry, err := retryFor(a)
	if err != nil {
		return quote{}, unverified(method, err.Error(), pr.key, pr.subj)
	}
	return quote{pr, fee, retry}, nil
}

// reserve records an approved payment so its parts can be bounded, and
// holds its amount plus fee allowance against the budget. A preapprove
// call made by a command approved already only adds what it reveals (an
// offer's invoice hash, a keysend's hash).
func (g *Guard) reserve(method, id string, q quote, rune string) *refusal {
	pr, fee, retry := q.pr, q.fee, q.retry
	dest := ""
	if pr.key == "destination" {
		dest = pr.subj
	}
	if strings.HasPrefix(method, "preapprove") {
		if g.ledger.Attach(id, pr.hash, dest, pr.amount) {
			return nil
		}
		// From a command not seen (pay taken over by xpay) or a client.
		if i := strings.LastIndexByte(id, '/'); i > 0 {
			id = id[:i]
		}
		if in, ok := g.intents.find(id, amount.Canonical(pr.subj), pr.hash); ok {
			rune = in.rune
			if !in.unpriced {
				fee, retry = in.fee, in.retry // what the paying command allowed
			}
		}
	}
	total := pr.amount + fee
	if total < fee {
		return unverified(method, "the amount and fee allowance overflow", pr.key, pr.subj)
	}
	v := g.ledger.Approve(ledger.Approval{ID: id, Hash: pr.hash, Method: method, Dest: dest, Amount: pr.amount, Allowance: total, Retry: retry, Rune: rune})
	if v != nil {
		return paymentRefusal(method, v, pr.key, pr.subj)
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
		g.xpayTakesPay.Store(false)
	}
}

func (g *Guard) judge(method, id string, sp spend, a map[string][]jsonrpc.Value, record bool) (*refusal, priced) {
	limit, hasLimit := g.Limit()
	if !hasLimit && !g.ledger.HasBudget() {
		return unverified(method, "no limit or budget is configured yet", "", ""), priced{}
	}
	if !hasLimit {
		limit = amount.MSat(math.MaxUint64)
	}

	var spent amount.MSat
	var amounts []amount.MSat
	for _, v := range pick(a, sp.amount) {
		m, err := msat(v)
		if err != nil {
			return unverified(method, fmt.Sprintf("cannot read the amount: %v", err), "", ""), priced{}
		}
		amounts = append(amounts, m)
		spent = max(spent, m)
	}

	if sp.invoice == nil { // keysend: the amount is the payment
		if amounts == nil {
			return nil, priced{} // amount_msat is required: lightningd refuses
		}
		pr := priced{amount: spent, known: true, key: "destination"}
		if ds := pick(a, sp.dest); len(ds) > 0 {
			pr.subj, _ = ds[0].String()
		}
		if hs := a["payment_hash"]; len(hs) > 0 {
			h, _ := hs[0].String()
			pr.hash, _ = ledger.ParseHash(h)
		}
		if spent > limit {
			return overLimit("keysend amount", spent, limit, "destination", pr.subj), pr
		}
		return nil, pr
	}

	invs := pick(a, sp.invoice)
	if invs == nil {
		return nil, priced{} // the invoice is required: lightningd refuses
	}
	var pr priced
	for _, v := range invs {
		s, err := v.String()
		if err != nil {
			return unverified(method, "the invoice is not a string", "", ""), priced{}
		}
		r, p := g.check(method, id, sp, s, amounts, spent, limit, record)
		if r != nil || !p.known {
			return r, p
		}
		if p.amount >= pr.amount {
			pr = p
		}
	}
	return nil, pr
}

// check decides one invoice string paid with the given amount parameters.
func (g *Guard) check(method, id string, sp spend, s string, amounts []amount.MSat, spent, limit amount.MSat, record bool) (*refusal, priced) {
	inv, err := amount.Decode(s)
	if err != nil {
		if strings.Contains(s, "@") && method != "preapproveinvoice" {
			// A BIP353 name: xpay fetches an invoice for it, which then
			// reaches preapproveinvoice with its exact amount.
			if spent > limit {
				return overLimit("payment amount", spent, limit, "invstring", s), priced{}
			}
			return nil, priced{key: "invstring", subj: s}
		}
		return unverified(method, fmt.Sprintf("cannot read the invoice: %v", err), "bolt11", s), priced{}
	}
	key := "bolt11"
	if inv.Kind == amount.Bolt12Offer {
		key = "offer"
		if inv.Currency != "" {
			return unverified(method, fmt.Sprintf("the offer's amount is in %s, which cannot be priced in bitcoin", inv.Currency), key, s), priced{}
		}
	}
	switch {
	case inv.HasAmount:
		spent = max(spent, inv.Amount)
	case amounts != nil:
		if sp.record && record {
			g.intents.add(intent{id: id, invoice: amount.Canonical(s), amount: spent})
		}
	case method == "preapproveinvoice":
		in, ok := g.intents.lookup(id, amount.Canonical(s))
		if !ok {
			return unverified(method, "the invoice has no amount and no paying command gave one", key, s), priced{}
		}
		spent = in
	default:
		return nil, priced{} // an amountless invoice needs amount_msat: lightningd refuses
	}
	if spent > limit {
		what := "invoice amount"
		if !inv.HasAmount {
			what = "payment amount"
		}
		return overLimit(what, spent, limit, key, s), priced{}
	}
	h, _ := ledger.ParseHash(inv.PaymentHash)
	return nil, priced{amount: spent, known: true, hash: h, key: key, subj: s}
}
