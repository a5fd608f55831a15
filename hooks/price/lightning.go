package price

import (
	"fmt"
	"strings"
	"time"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// spend describes a command that pays over Lightning: which of its
// parameters hold the invoice, the amount and the destination. Keyword
// aliases CLN accepts (pay's "invstring" since v26.06, the old
// "msatoshi") are listed too.
type spend struct {
	invoice []string
	amount  []string
	dest    []string
}

// spends lists every command that pays over Lightning, and the
// preapproveinvoice and preapprovekeysend calls that pay, xpay, keysend,
// xkeysend and sendamount make before sending anything.
var spends = map[string]spend{
	"pay":               {invoice: []string{"bolt11", "invstring"}, amount: []string{"amount_msat", "msatoshi"}},
	"xpay":              {invoice: []string{"invstring"}, amount: []string{"amount_msat"}},
	"renepay":           {invoice: []string{"invstring"}, amount: []string{"amount_msat"}},
	"sendamount":        {invoice: []string{"invstring"}, amount: []string{"amount_msat"}},
	"keysend":           {dest: []string{"destination"}, amount: []string{"amount_msat", "msatoshi"}},
	"xkeysend":          {dest: []string{"destination"}, amount: []string{"amount_msat"}},
	"preapproveinvoice": {invoice: []string{"bolt11", "invstring"}},
	"preapprovekeysend": {dest: []string{"destination"}, amount: []string{"amount_msat"}},
}

// IsPayment reports whether method pays over Lightning (Payment prices
// it).
func IsPayment(method string) bool {
	_, ok := spends[method]
	return ok
}

// Payment is what a Lightning payment command asks to pay.
type Payment struct {
	// Amount is what the recipient is paid, in msat. While !Known it is
	// only the largest amount_msat the command gave (a BIP353 name,
	// whose invoice is fetched later), or 0.
	Amount amount.MSat
	Known  bool
	// What names Amount in messages: "invoice amount", "payment
	// amount" (given with the command) or "keysend amount".
	What string
	Hash [32]byte // payment hash, if the invoice or the call gives one
	// Key and Subject name what is paid, as refusals do: bolt11, offer,
	// invstring (a BIP353 name) or destination.
	Key, Subject string
	// Dest is a keysend's destination node id.
	Dest string
	// Amountless lists the invoices (amount.Canonical) without an
	// amount whose amount the command gave: a later preapproveinvoice
	// of them carries no amount.
	Amountless []string
	// NeedsAmount: an amountless invoice at preapproveinvoice; its
	// amount is the one its paying command gave.
	NeedsAmount bool
	// Fee is the most the payer may pay in fees (FeeAllowance); Retry
	// how long it keeps trying (RetryFor). Both only when Known.
	Fee   amount.MSat
	Retry time.Duration
}

// Total is the amount with its fee allowance, or false on overflow.
func (p Payment) Total() (amount.MSat, bool) {
	return p.Amount + p.Fee, p.Amount+p.Fee >= p.Fee
}

// Lightning prices a payment command (IsPayment) on lightningd v, where
// xpay takes pay over if xpayTakesPay (xpay-handle-pay). A command
// lightningd itself refuses (no invoice, an amountless invoice without
// amount_msat) is not Known and not an error.
func Lightning(method string, params jsonrpc.Value, v Version, xpayTakesPay bool) (Payment, error) {
	sp := spends[method]
	a, err := Read(method, params, v)
	if err != nil {
		return Payment{}, fail(err.Error(), "", "")
	}
	var given amount.MSat
	hasGiven := false
	for _, x := range a.Pick(sp.amount...) {
		m, err := MSat(x)
		if err != nil {
			return Payment{}, fail(fmt.Sprintf("cannot read the amount: %v", err), "", "")
		}
		given, hasGiven = max(given, m), true
	}
	var p Payment
	if sp.invoice == nil { // keysend: the amount is the payment
		p = Payment{Amount: given, Known: hasGiven, What: "keysend amount", Key: "destination"}
		if ds := a.Pick(sp.dest...); len(ds) > 0 {
			p.Subject, _ = ds[0].String()
			p.Dest = p.Subject
		}
		if hv := a["payment_hash"]; hv != nil {
			h, _ := hv.String()
			p.Hash, _ = parseHash(h)
		}
	} else {
		invs := a.Pick(sp.invoice...)
		switch {
		case len(invs) == 0:
			return Payment{}, nil // the invoice is required: lightningd refuses
		case len(invs) > 1:
			// pay takes one of them by name (plugins/pay.c): lightningd
			// refuses the other as unknown.
			return Payment{}, fail(strings.Join(sp.invoice, " and ")+" are both given", "", "")
		}
		s, err := invs[0].String()
		if err != nil {
			return Payment{}, fail("the invoice is not a string", "", "")
		}
		if p, err = invoice(method, s, given, hasGiven); err != nil || !p.Known {
			return p, err
		}
	}
	if !p.Known {
		return p, nil
	}
	if p.Fee, err = FeeAllowance(method, PayerOf(method, params, xpayTakesPay), a, p.Amount); err != nil {
		return Payment{}, fail(err.Error(), p.Key, p.Subject)
	}
	if p.Retry, err = RetryFor(a); err != nil {
		return Payment{}, fail(err.Error(), p.Key, p.Subject)
	}
	return p, nil
}

// Complete prices a payment that NeedsAmount at its preapproveinvoice
// call with amt msat, the amount its paying command gave: the fee
// allowance and retry are the payer's defaults, as the call carries no
// parameters of the command's.
func (p *Payment) Complete(method string, params jsonrpc.Value, amt amount.MSat) error {
	fee, err := FeeAllowance(method, PayerOf(method, params, false), nil, amt)
	if err != nil {
		return fail(err.Error(), p.Key, p.Subject)
	}
	p.Amount, p.Known, p.NeedsAmount, p.Fee = amt, true, false, fee
	p.Retry, _ = RetryFor(nil)
	return nil
}

// invoice prices one invoice string paid with the amount given, if any.
func invoice(method, s string, given amount.MSat, hasGiven bool) (Payment, error) {
	inv, err := amount.Decode(s)
	if err != nil {
		if strings.Contains(s, "@") && method != "preapproveinvoice" {
			// A BIP353 name: xpay fetches an invoice for it, which then
			// reaches preapproveinvoice with its exact amount.
			return Payment{Amount: given, What: "payment amount", Key: "invstring", Subject: s}, nil
		}
		return Payment{}, fail(fmt.Sprintf("cannot read the invoice: %v", err), "bolt11", s)
	}
	p := Payment{Key: "bolt11", Subject: s, What: "invoice amount"}
	if inv.Kind == amount.Bolt12Offer {
		p.Key = "offer"
		if inv.Currency != "" {
			return Payment{}, fail(fmt.Sprintf("the offer's amount is in %s, which cannot be priced in bitcoin", inv.Currency), p.Key, s)
		}
	}
	switch {
	case inv.HasAmount:
		p.Amount = max(given, inv.Amount)
	case hasGiven:
		p.Amount, p.What = given, "payment amount"
		p.Amountless = []string{amount.Canonical(s)}
	case method == "preapproveinvoice":
		p.What, p.NeedsAmount = "payment amount", true
		p.Hash, _ = parseHash(inv.PaymentHash)
		return p, nil
	default:
		return Payment{}, nil // an amountless invoice needs amount_msat: lightningd refuses
	}
	p.Known = true
	p.Hash, _ = parseHash(inv.PaymentHash)
	return p, nil
}

// PayerOf is who runs method with params when xpay takes pay over if
// xpayTakesPay. xpay rewrites pay only when given one or two parameters
// by position, or by name with "bolt11" (handle_rpc_command in
// plugins/xpay/xpay.c, v24.11.2–v26.06.6); a pay it does not rewrite runs
// as legacy pay. A client's own preapproveinvoice is held to xpay's
// default, the larger.
func PayerOf(method string, params jsonrpc.Value, xpayTakesPay bool) Payer {
	switch method {
	case "xpay", "xkeysend", "sendamount", "preapproveinvoice":
		return Xpay
	case "pay":
		if !xpayTakesPay {
			return Legacy
		}
		switch params.Kind() {
		case '[':
			n := 0
			params.Elements(func(jsonrpc.Value) bool { n++; return true })
			if n == 1 || n == 2 {
				return Xpay
			}
		case '{':
			if _, ok := params.Member("bolt11"); ok {
				return Xpay
			}
		}
	}
	return Legacy
}
