package hooks

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// Error codes of refusals. CLN's own codes stop below 2100.
const (
	CodeOverLimit  = 2100 // the payment is above the limit
	CodeUnverified = 2101 // pay-up-to cannot tell what the payment spends
	CodeOverBudget = 2102 // the payment would exceed a budget window
)

// refusal is a return.error answer. It is encoded by hand, in a fixed
// field order, because refusals are on the hot path of every payment.
type refusal struct {
	code    int
	message string
	data    []field
}

type field struct {
	key, str string
	num      uint64
	isNum    bool
}

func num(key string, m amount.MSat) field { return field{key: key, num: uint64(m), isNum: true} }

// answer encodes {"return":{"error":{"code":…,"message":…,"data":{…}}}}.
func (r *refusal) answer() json.RawMessage {
	b := make([]byte, 0, 256+len(r.message)+64*len(r.data))
	b = append(b, `{"return":{"error":`...)
	b = r.appendError(b)
	return append(b, "}}"...)
}

// told is the pay_up_to_refused notification's params: the method and
// the error object's members.
func (r *refusal) told(method string) json.RawMessage {
	b := make([]byte, 0, 256+len(r.message)+64*len(r.data))
	b = append(b, `{"method":`...)
	b = jsonrpc.AppendString(b, method)
	b = append(b, ',')
	e := r.appendError(b[len(b):])
	return append(b, e[1:]...)
}

// appendError appends {"code":…,"message":…,"data":{…}}; told reuses all
// but its first byte.
func (r *refusal) appendError(b []byte) []byte {
	b = append(b, `{"code":`...)
	b = strconv.AppendInt(b, int64(r.code), 10)
	b = append(b, `,"message":`...)
	b = jsonrpc.AppendString(b, r.message)
	if r.data != nil {
		b = append(b, `,"data":{`...)
		for i, f := range r.data {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonrpc.AppendString(b, f.key)
			b = append(b, ':')
			if f.isNum {
				b = strconv.AppendUint(b, f.num, 10)
			} else {
				b = jsonrpc.AppendString(b, f.str)
			}
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

func overLimit(what string, spent, limit amount.MSat, key, subject string) *refusal {
	tooHigh := "invoice_too_high"
	if key == "destination" {
		tooHigh = "amount_too_high"
	}
	return &refusal{
		code:    CodeOverLimit,
		message: fmt.Sprintf("pay-up-to: %s %s is above the limit %s", what, spent.BTC(), limit.BTC()),
		data: []field{
			{key: tooHigh, str: spent.BTC()},
			{key: "maximum_is", str: limit.BTC()},
			{key: key, str: subject},
			num("amount_msat", spent),
			num("maximum_msat", limit),
		},
	}
}

// unverified refuses what pay-up-to cannot price; key and subject name
// the invoice or offer, if any.
func unverified(method, why, key, subject string) *refusal {
	r := &refusal{code: CodeUnverified, message: fmt.Sprintf("pay-up-to: refusing %s: %s", method, why)}
	if key != "" {
		r.data = []field{{key: key, str: subject}}
	}
	return r
}

// notRead refuses while the node's records are not read: a budget cannot
// be checked.
func notRead(method string, v *ledger.Verdict, key, subject string) *refusal {
	why := "the node's payment records are not read yet"
	if v.Why != "" {
		why += ": " + v.Why
	}
	return unverified(method, why, key, subject)
}

// overBudget encodes a budget verdict; key and subject name the payment.
func overBudget(v *ledger.Verdict, key, subject string) *refusal {
	return budgetRefusal(v, "payment", key, subject)
}

// budgetRefusal encodes a budget verdict on what ("payment", "on-chain
// spend").
func budgetRefusal(v *ledger.Verdict, what, key, subject string) *refusal {
	r := &refusal{
		code: CodeOverBudget,
		message: fmt.Sprintf("pay-up-to: %s of %s with fees would exceed the budget %s (%s used)",
			what, v.Requested.BTC(), v.Window.Spec, v.Used.BTC()),
		data: []field{
			{key: "budget_exceeded", str: v.Window.Spec},
			num("budget_msat", v.Window.Amount),
			num("used_msat", v.Used),
			num("requested_msat", v.Requested),
		},
	}
	if v.AvailableAt != 0 {
		r.data = append(r.data, field{key: "available_at", num: uint64(v.AvailableAt), isNum: true})
	}
	if key != "" {
		r.data = append(r.data, field{key: key, str: subject})
	}
	return r
}

// paymentRefusal encodes the verdict on a payment (ledger.Approve or
// ledger.Check): the records not read, a rune's allowance, or the node's
// budget.
func paymentRefusal(method string, v *ledger.Verdict, key, subject string) *refusal {
	switch {
	case v.Reason == ledger.NotRead:
		return notRead(method, v, key, subject)
	case v.Account != "":
		return runeRefusal(v, key, subject)
	default:
		return overBudget(v, key, subject)
	}
}

// sendRefusal encodes the verdict on a low-level send, or nil.
func sendRefusal(method string, s ledger.Send, v *ledger.Verdict) *refusal {
	hash := s.Key.Hash.String()
	switch {
	case v == nil:
		return nil
	case v.Reason == ledger.OverBudget || v.Reason == ledger.NotRead || v.Account != "":
		return paymentRefusal(method, v, "payment_hash", hash)
	case v.Reason == ledger.Unpriced:
		return unverified(method, unpricedOnion, "payment_hash", hash)
	case v.Reason == ledger.OverApproval:
		return &refusal{
			code: CodeOverLimit,
			message: fmt.Sprintf("pay-up-to: %s of %s would take the payment beyond the %s approved for %s",
				method, s.Sent.BTC(), v.Max.BTC(), v.Method),
			data: []field{
				{key: "payment_hash", str: hash},
				num("part_msat", s.Sent),
				num("out_msat", v.Out),
				num("approved_msat", v.Max),
			},
		}
	default: // OverLimit, the node's
		total := v.Out + s.Sent
		msg := fmt.Sprintf("pay-up-to: %s would bring payment %s to %s, which is above the limit %s",
			method, hash, total.BTC(), v.Max.BTC())
		if s.Self {
			msg += selfUntrusted
		}
		return &refusal{
			code:    CodeOverLimit,
			message: msg,
			data: []field{
				{key: "amount_too_high", str: total.BTC()},
				{key: "maximum_is", str: v.Max.BTC()},
				{key: "payment_hash", str: hash},
				num("part_msat", s.Sent),
				num("out_msat", v.Out),
				num("amount_msat", total),
				num("maximum_msat", v.Max),
			},
		}
	}
}

// unpricedOnion is why a raw injectpaymentonion cannot be priced.
const unpricedOnion = "what injectpaymentonion sends is inside the onion, which lightningd v26.06+ does not check against amount_msat"

// selfUntrusted explains why a payment to ourselves was held to the limit.
const selfUntrusted = " (a payment to this node is exempt only for an unpaid invoice whose preimage lightningd chose; any hop that knows the preimage can claim it)"

// priceRefusal refuses a command that cannot be priced.
func priceRefusal(method string, err error) *refusal {
	if e, ok := err.(*price.Error); ok {
		return unverified(method, e.Why, e.Key, e.Subject)
	}
	return unverified(method, err.Error(), "", "")
}

// chainRefusal encodes the verdict on an on-chain spend s.
func chainRefusal(method string, v *ledger.Verdict, s chainSpend) *refusal {
	dests := strings.Join(s.dests, ",")
	var r *refusal
	switch {
	case v.Reason == ledger.NotRead:
		return notRead(method, v, "destination", dests)
	case v.Account != "":
		r = runeRefusal(v, "destination", dests)
	case v.Reason == ledger.OverBudget:
		r = budgetRefusal(v, "on-chain spend", "destination", dests)
	default: // OverLimit
		msg := fmt.Sprintf("pay-up-to: %s would send %s to %s, which is above the limit %s", method, s.leaving.BTC(), dests, v.Max.BTC())
		if s.unknown != "" {
			msg += " (counted as leaving: " + s.unknown + ")"
		}
		r = &refusal{
			code:    CodeOverLimit,
			message: msg,
			data: []field{
				{key: "amount_too_high", str: s.leaving.BTC()},
				{key: "maximum_is", str: v.Max.BTC()},
				{key: "destination", str: dests},
				num("amount_msat", s.leaving),
				num("maximum_msat", v.Max),
			},
		}
	}
	if s.fee > 0 {
		r.data = append(r.data, num("fee_msat", s.fee))
	}
	return r
}
