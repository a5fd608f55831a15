// Package refuse encodes pay-up-to's refusals: the reasons the checks
// return, as errors, and their codes, messages and data, as hook answers
// and as pay_up_to_refused notifications.
package refuse

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/hooks/pause"
	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/hooks/wallet"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// Error codes of refusals. CLN's own codes stop below 2100.
const (
	CodeOverLimit     = 2100 // the payment is above the limit
	CodeUnverified    = 2101 // pay-up-to cannot tell what the payment spends
	CodeOverBudget    = 2102 // the payment would exceed a budget window
	CodeRuneAllowance = 2103 // beyond a rune's allowance, or not an app's to call
	CodePaused        = 2104 // the node, or the rune, is paused
)

// Refusal is a return.error answer. It is encoded by hand, in a fixed
// field order, because refusals are on the hot path of every payment.
type Refusal struct {
	Code    int
	Message string
	Data    []Field
}

// Field is one member of a refusal's Data: a string, or a number when
// IsNum.
type Field struct {
	Key, Str string
	Num      uint64
	IsNum    bool
}

// Num is a field of msat (or any whole number).
func Num(key string, m amount.MSat) Field { return Field{Key: key, Num: uint64(m), IsNum: true} }

// Answer encodes {"return":{"error":{"code":…,"message":…,"data":{…}}}}.
func (r *Refusal) Answer() json.RawMessage {
	b := make([]byte, 0, 256+len(r.Message)+64*len(r.Data))
	b = append(b, `{"return":{"error":`...)
	b = r.appendError(b)
	return append(b, "}}"...)
}

// Told is the pay_up_to_refused notification's params: the method and
// the error object's members.
func (r *Refusal) Told(method string) json.RawMessage {
	b := make([]byte, 0, 256+len(r.Message)+64*len(r.Data))
	b = append(b, `{"method":`...)
	b = jsonrpc.AppendString(b, method)
	b = append(b, ',')
	e := r.appendError(b[len(b):])
	return append(b, e[1:]...)
}

// appendError appends {"code":…,"message":…,"data":{…}}; Told reuses all
// but its first byte.
func (r *Refusal) appendError(b []byte) []byte {
	b = append(b, `{"code":`...)
	b = strconv.AppendInt(b, int64(r.Code), 10)
	b = append(b, `,"message":`...)
	b = jsonrpc.AppendString(b, r.Message)
	if r.Data != nil {
		b = append(b, `,"data":{`...)
		for i, f := range r.Data {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonrpc.AppendString(b, f.Key)
			b = append(b, ':')
			if f.IsNum {
				b = strconv.AppendUint(b, f.Num, 10)
			} else {
				b = jsonrpc.AppendString(b, f.Str)
			}
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// The reasons a spend is refused, which the checks return as errors and
// For encodes. Key and Subject name what is refused: an invoice
// ("bolt11", …), a payment hash, a destination.

// Unverified: pay-up-to cannot tell what the command spends, or cannot
// check it (code 2101). A *price.Error is one too.
type Unverified struct{ Why, Key, Subject string }

// OverLimit: a payment of Amount msat above the node's Limit (2100).
type OverLimit struct {
	What          string // "invoice amount", …
	Amount, Limit amount.MSat
	Key, Subject  string
}

// Payment: the ledger's verdict on a payment (ledger.Approve or
// ledger.Check): the records not read, a rune's allowance, or the node's
// budget.
type Payment struct {
	Verdict      *ledger.Verdict
	Key, Subject string
}

// Send: the ledger's verdict on a low-level send (ledger.Admit). Why, if
// set, says why a send to ourselves was not exempt from the limit.
type Send struct {
	Send    ledger.Send
	Verdict *ledger.Verdict
	Why     string
}

// Chain: the ledger's verdict on an on-chain spend (ledger.SpendOnChain).
type Chain struct {
	Verdict *ledger.Verdict
	Spend   wallet.Spend
}

// Paused: the node, or the rune, is paused (2104); Method is the command
// refused.
type Paused struct {
	Method string
	Pause  pause.Pause
}

// NotForApps: a command an app, by its rune's unique id, may not run
// (2103); Addable when the operator may allow it with app-commands.
type NotForApps struct {
	Rune, Method, Why string
	Addable           bool
}

// NoAllowance: a spend by a rune without an allowance while
// rune-allowance-required is set (2103).
type NoAllowance struct{ Rune string }

// Fleet: the fleet's verdict on a spend its member approved: beyond the
// fleet's budget (Verdict, with what all members hold: 2102), or not to
// be checked, because etcd cannot be reached (Why: 2101).
type Fleet struct {
	Name    string
	Verdict *ledger.Verdict
	Why     string
}

func (e *Fleet) Error() string       { return For("", e).Message }
func (e *Unverified) Error() string  { return e.Why }
func (e *OverLimit) Error() string   { return For("", e).Message }
func (e *Payment) Error() string     { return For("", e).Message }
func (e *Send) Error() string        { return For("", e).Message }
func (e *Chain) Error() string       { return For("", e).Message }
func (e *Paused) Error() string      { return For("", e).Message }
func (e *NotForApps) Error() string  { return For("", e).Message }
func (e *NoAllowance) Error() string { return For("", e).Message }

// For encodes why method is refused; err is one of the reasons above, a
// *price.Error, or any other error, which is Unverified.
func For(method string, err error) *Refusal {
	switch e := err.(type) {
	case *Unverified:
		return unverified(method, e.Why, e.Key, e.Subject)
	case *price.Error:
		return unverified(method, e.Why, e.Key, e.Subject)
	case *OverLimit:
		return overLimit(e.What, e.Amount, e.Limit, e.Key, e.Subject)
	case *Payment:
		return payment(method, e.Verdict, e.Key, e.Subject)
	case *Send:
		r := send(method, e.Send, e.Verdict)
		if e.Why != "" && r.Code == CodeOverLimit {
			r.Message += ": " + e.Why
		}
		return r
	case *Chain:
		return chain(method, e.Verdict, e.Spend)
	case *Paused:
		return paused(e.Method, e.Pause)
	case *Fleet:
		return fleet(method, e)
	case *NotForApps:
		msg := fmt.Sprintf("pay-up-to: rune %s may not call %s: %s", e.Rune, e.Method, e.Why)
		if e.Addable {
			msg = fmt.Sprintf("pay-up-to: %s; the operator can allow it with app-commands=%s", e.Why, e.Method)
		}
		return &Refusal{Code: CodeRuneAllowance, Message: msg,
			Data: []Field{{Key: "rune_id", Str: e.Rune}, {Key: "method", Str: e.Method}}}
	case *NoAllowance:
		return &Refusal{Code: CodeRuneAllowance,
			Message: fmt.Sprintf("pay-up-to: rune %s has no allowance, and rune-allowance-required is set (pay-up-to-setallowance %s …)", e.Rune, e.Rune),
			Data:    []Field{{Key: "rune_id", Str: e.Rune}}}
	}
	return unverified(method, err.Error(), "", "")
}

func overLimit(what string, spent, limit amount.MSat, key, subject string) *Refusal {
	tooHigh := "invoice_too_high"
	if key == "destination" {
		tooHigh = "amount_too_high"
	}
	return &Refusal{
		Code:    CodeOverLimit,
		Message: fmt.Sprintf("pay-up-to: %s %s is above the limit %s", what, spent.BTC(), limit.BTC()),
		Data: []Field{
			{Key: tooHigh, Str: spent.BTC()},
			{Key: "maximum_is", Str: limit.BTC()},
			{Key: key, Str: subject},
			Num("amount_msat", spent),
			Num("maximum_msat", limit),
		},
	}
}

// unverified refuses what pay-up-to cannot price; key and subject name
// the invoice or offer, if any.
func unverified(method, why, key, subject string) *Refusal {
	r := &Refusal{Code: CodeUnverified, Message: fmt.Sprintf("pay-up-to: refusing %s: %s", method, why)}
	if key != "" {
		r.Data = []Field{{Key: key, Str: subject}}
	}
	return r
}

// notRead refuses while the node's records are not read: a budget cannot
// be checked.
func notRead(method string, v *ledger.Verdict, key, subject string) *Refusal {
	why := "the node's payment records are not read yet"
	if v.Why != "" {
		why += ": " + v.Why
	}
	return unverified(method, why, key, subject)
}

// overBudget encodes a budget verdict; key and subject name the payment.
func overBudget(v *ledger.Verdict, key, subject string) *Refusal {
	return budget(v, "payment", key, subject)
}

// budget encodes a budget verdict on what ("payment", "on-chain
// spend").
func budget(v *ledger.Verdict, what, key, subject string) *Refusal {
	r := &Refusal{
		Code: CodeOverBudget,
		Message: fmt.Sprintf("pay-up-to: %s of %s with fees would exceed the budget %s (%s used)",
			what, v.Requested.BTC(), v.Window.Spec, v.Used.BTC()),
		Data: []Field{
			{Key: "budget_exceeded", Str: v.Window.Spec},
			Num("budget_msat", v.Window.Amount),
			Num("used_msat", v.Used),
			Num("requested_msat", v.Requested),
		},
	}
	if v.AvailableAt != 0 {
		r.Data = append(r.Data, Field{Key: "available_at", Num: uint64(v.AvailableAt), IsNum: true})
	}
	if key != "" {
		r.Data = append(r.Data, Field{Key: key, Str: subject})
	}
	return r
}

// payment encodes the verdict on a payment (ledger.Approve or
// ledger.Check): the records not read, a rune's allowance, or the node's
// budget.
func payment(method string, v *ledger.Verdict, key, subject string) *Refusal {
	switch {
	case v.Reason == ledger.NotRead:
		return notRead(method, v, key, subject)
	case v.Account != "":
		return rune(v, key, subject)
	default:
		return overBudget(v, key, subject)
	}
}

// send encodes the verdict on a low-level send.
func send(method string, s ledger.Send, v *ledger.Verdict) *Refusal {
	hash := s.Key.Hash.String()
	switch {
	case v.Reason == ledger.OverBudget || v.Reason == ledger.NotRead || v.Account != "":
		return payment(method, v, "payment_hash", hash)
	case v.Reason == ledger.Unpriced:
		return unverified(method, unpricedOnion, "payment_hash", hash)
	case v.Reason == ledger.OverApproval:
		return &Refusal{
			Code: CodeOverLimit,
			Message: fmt.Sprintf("pay-up-to: %s of %s would take the payment beyond the %s approved for %s",
				method, s.Sent.BTC(), v.Max.BTC(), v.Method),
			Data: []Field{
				{Key: "payment_hash", Str: hash},
				Num("part_msat", s.Sent),
				Num("out_msat", v.Out),
				Num("approved_msat", v.Max),
			},
		}
	default: // OverLimit, the node's
		total := v.Out + s.Sent
		msg := fmt.Sprintf("pay-up-to: %s would bring payment %s to %s, which is above the limit %s",
			method, hash, total.BTC(), v.Max.BTC())
		if s.Self {
			msg += selfUntrusted
		}
		return &Refusal{
			Code:    CodeOverLimit,
			Message: msg,
			Data: []Field{
				{Key: "amount_too_high", Str: total.BTC()},
				{Key: "maximum_is", Str: v.Max.BTC()},
				{Key: "payment_hash", Str: hash},
				Num("part_msat", s.Sent),
				Num("out_msat", v.Out),
				Num("amount_msat", total),
				Num("maximum_msat", v.Max),
			},
		}
	}
}

// unpricedOnion is why a raw injectpaymentonion cannot be priced.
const unpricedOnion = "what injectpaymentonion sends is inside the onion, which lightningd v26.06+ does not check against amount_msat"

// selfUntrusted explains why a payment to ourselves was held to the limit.
const selfUntrusted = " (a payment to this node is exempt only for an unpaid invoice whose preimage lightningd chose; any hop that knows the preimage can claim it)"

// chain encodes the verdict on an on-chain spend: what leaves, where,
// its mining fee (0: unknown), and why an output was counted as leaving
// without knowing whether it is ours.
func chain(method string, v *ledger.Verdict, s wallet.Spend) *Refusal {
	leaving, fee, unknown := s.Leaving, s.Fee, s.Unknown
	dests := strings.Join(s.Dests, ",")
	var r *Refusal
	switch {
	case v.Reason == ledger.NotRead:
		return notRead(method, v, "destination", dests)
	case v.Account != "":
		r = rune(v, "destination", dests)
	case v.Reason == ledger.OverBudget:
		r = budget(v, "on-chain spend", "destination", dests)
	default: // OverLimit
		msg := fmt.Sprintf("pay-up-to: %s would send %s to %s, which is above the limit %s", method, leaving.BTC(), dests, v.Max.BTC())
		if unknown != "" {
			msg += " (counted as leaving: " + unknown + ")"
		}
		r = &Refusal{
			Code:    CodeOverLimit,
			Message: msg,
			Data: []Field{
				{Key: "amount_too_high", Str: leaving.BTC()},
				{Key: "maximum_is", Str: v.Max.BTC()},
				{Key: "destination", Str: dests},
				Num("amount_msat", leaving),
				Num("maximum_msat", v.Max),
			},
		}
	}
	if fee > 0 {
		r.Data = append(r.Data, Num("fee_msat", fee))
	}
	return r
}

// rune encodes a rune allowance's verdict (code 2103). Through
// commando the app sees only the message, so it says what was exceeded
// and when it frees up.
func rune(v *ledger.Verdict, key, subject string) *Refusal {
	r := &Refusal{Code: CodeRuneAllowance, Data: []Field{{Key: "rune_id", Str: v.Account}}}
	switch v.Reason {
	case ledger.OverBudget:
		when := "it never can: the payment is larger than the window"
		if v.AvailableAt != 0 {
			when = "it fits from " + time.Unix(v.AvailableAt, 0).UTC().Format(time.RFC3339)
		}
		r.Message = fmt.Sprintf("pay-up-to: payment of %s with fees would exceed rune %s's budget %s (%s used); %s",
			v.Requested.BTC(), v.Account, v.Window.Spec, v.Used.BTC(), when)
		r.Data = append(r.Data,
			Field{Key: "budget_exceeded", Str: v.Window.Spec},
			Num("budget_msat", v.Window.Amount),
			Num("used_msat", v.Used),
			Num("requested_msat", v.Requested))
		if v.AvailableAt != 0 {
			r.Data = append(r.Data, Field{Key: "available_at", Num: uint64(v.AvailableAt), IsNum: true})
		}
	default: // OverLimit
		r.Message = fmt.Sprintf("pay-up-to: payment amount %s is above rune %s's limit %s",
			(v.Part + v.Out).BTC(), v.Account, v.Max.BTC())
		r.Data = append(r.Data,
			Field{Key: "limit_exceeded", Str: v.Max.BTC()},
			Num("maximum_msat", v.Max),
			Num("used_msat", v.Out),
			Num("requested_msat", v.Part))
	}
	if key != "" {
		r.Data = append(r.Data, Field{Key: key, Str: subject})
	}
	return r
}

// fleet encodes the fleet's verdict.
func fleet(method string, e *Fleet) *Refusal {
	if e.Verdict == nil {
		r := unverified(method, fmt.Sprintf("the fleet %s cannot be reached to check its budget: %s", e.Name, e.Why), "", "")
		r.Data = []Field{{Key: "fleet", Str: e.Name}}
		return r
	}
	v := e.Verdict
	r := budget(v, "spend", "", "")
	r.Message = fmt.Sprintf("pay-up-to: spend of %s with fees would exceed the budget %s of the fleet %s (%s used by its members)",
		v.Requested.BTC(), v.Window.Spec, e.Name, v.Used.BTC())
	r.Data = append(r.Data, Field{Key: "fleet", Str: e.Name})
	return r
}

// paused refuses method while the node (or rune) is paused.
func paused(method string, x pause.Pause) *Refusal {
	who, how := "the node's spending", "pay-up-to-resume"
	switch {
	case x.RuneID != "":
		who, how = "rune "+x.RuneID, "pay-up-to-resume "+x.RuneID
	case x.Fleet:
		who, how = "the fleet's spending", "pay-up-to-resume fleet on any member"
	}
	msg := fmt.Sprintf("pay-up-to: %s is paused since %s", who, time.Unix(x.Since, 0).UTC().Format(time.RFC3339))
	if x.Reason != "" {
		msg += ": " + x.Reason
	}
	r := &Refusal{Code: CodePaused, Message: msg + " (the operator lifts it with " + how + ")",
		Data: []Field{{Key: "paused_since", Num: uint64(x.Since), IsNum: true}, {Key: "reason", Str: x.Reason}, {Key: "method", Str: method}}}
	if x.RuneID != "" {
		r.Data = append(r.Data, Field{Key: "rune_id", Str: x.RuneID})
	}
	return r
}
