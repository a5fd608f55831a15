package records

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// rows calls fn for each row of a listsendpays answer.
func rows(raw jsonrpc.Value, self string, fn func(ledger.Row, uint64)) error {
	ps, ok := raw.Member("payments")
	if !ok || ps.Kind() != '[' {
		return fmt.Errorf("listsendpays: no payments")
	}
	var bad error
	err := ps.Elements(func(p jsonrpc.Value) bool {
		r, idx, err := parseRow(p, self)
		if err != nil {
			bad = fmt.Errorf("listsendpays: %w", err)
			return false
		}
		fn(r, idx)
		return true
	})
	if bad != nil {
		return bad
	}
	return err
}

// wireRow is a listsendpays row or a sendpay_* notification's payment.
// Amounts are numbers, or "…msat" strings with deprecated APIs (v23.02).
type wireRow struct {
	PaymentHash        string
	GroupID, PartID    uint64
	AmountSent, Amount jsonrpc.Value // amount_sent_msat, amount_msat
	CreatedAt          int64
	Status             string
	ToUs               bool // destination is our own node
	CreatedIndex       uint64
}

// parseRow reads a listsendpays row.
func parseRow(v jsonrpc.Value, self string) (ledger.Row, uint64, error) {
	w, err := readRow(v, self)
	if err != nil {
		return ledger.Row{}, 0, err
	}
	return w.row()
}

// readRow reads a row's members one by one (a busy node has hundreds of
// thousands of them).
func readRow(v jsonrpc.Value, self string) (wireRow, error) {
	var w wireRow
	var bad error
	num := func(k string, x jsonrpc.Value, dst *uint64) {
		n, err := strconv.ParseUint(strings.TrimSpace(string(x)), 10, 64)
		if err != nil {
			bad = fmt.Errorf("%s: not a number", k)
		}
		*dst = n
	}
	str := func(k string, x jsonrpc.Value, dst *string) {
		s, err := x.String()
		if err != nil {
			bad = fmt.Errorf("%s: %v", k, err)
		}
		*dst = s
	}
	var created uint64
	err := v.Members(func(k string, x jsonrpc.Value) bool {
		switch k {
		case "payment_hash":
			str(k, x, &w.PaymentHash)
		case "groupid":
			num(k, x, &w.GroupID)
		case "partid":
			num(k, x, &w.PartID)
		case "created_index":
			num(k, x, &w.CreatedIndex)
		case "created_at":
			num(k, x, &created)
		case "status":
			str(k, x, &w.Status)
		case "destination":
			w.ToUs = self != "" && len(x) == len(self)+2 && string(x[1:len(x)-1]) == self
		case "amount_sent_msat":
			w.AmountSent = x
		case "amount_msat":
			w.Amount = x
		}
		return bad == nil
	})
	if bad != nil {
		return w, bad
	}
	w.CreatedAt = int64(created)
	return w, err
}

func (w wireRow) row() (ledger.Row, uint64, error) {
	h, ok := ledger.ParseHash(w.PaymentHash)
	r := ledger.Row{Key: ledger.PartKey{Hash: h, GroupID: w.GroupID, PartID: w.PartID}, Created: w.CreatedAt, ToUs: w.ToUs, Index: w.CreatedIndex}
	if !ok {
		return r, 0, fmt.Errorf("payment_hash %q", w.PaymentHash)
	}
	var err error
	if r.Sent, err = price.MSat(w.AmountSent); err != nil {
		return r, 0, fmt.Errorf("amount_sent_msat: %w", err)
	}
	if len(w.Amount) > 0 {
		if r.Delivered, err = price.MSat(w.Amount); err != nil {
			return r, 0, fmt.Errorf("amount_msat: %w", err)
		}
	}
	switch w.Status {
	case "pending":
		r.State = ledger.Pending
	case "complete":
		r.State = ledger.Complete
	case "failed":
		r.State = ledger.Failed
	default:
		return r, 0, fmt.Errorf("status %q", w.Status)
	}
	return r, w.CreatedIndex, nil
}

// OnSendpay applies lightningd's sendpay_success and sendpay_failure
// notifications, which it sends for every part of every payment. A
// payment whose payee refused it for good (code 203) stops reserving.
func (k *Keeper) OnSendpay(method string, params jsonrpc.Value) {
	var w wireRow
	var err error
	refused := false
	switch method {
	case "sendpay_success":
		v, _ := params.Member("sendpay_success")
		w, err = readRow(v, k.Ledger.NodeID())
	case "sendpay_failure":
		v, _ := params.Member("sendpay_failure")
		d, _ := v.Member("data")
		w, err = readRow(d, k.Ledger.NodeID())
		w.Status = "failed"
		code, _ := v.Member("code")
		refused = string(code) == "203" // PAY_DESTINATION_PERM_FAIL
	default:
		return
	}
	if err != nil {
		return // not a payment row
	}
	r, _, err := w.row()
	if err != nil {
		k.Log("unusual", "cannot read %s: %v", method, err)
		return
	}
	k.Ledger.Resolve(r)
	if refused {
		k.Ledger.Ended(r.Key.Hash)
	}
}

// incorrectOrUnknown is BOLT 4's incorrect_or_unknown_payment_details
// (PERM|15): from the final node, xpay gives the payment up
// (plugins/xpay/xpay.c, v26.06.6).
const incorrectOrUnknown = 0x400f

// OnPayEnd applies the notifications payers send of their own: legacy
// pay's and keysend's pay_failure (the payment ended, every part final),
// and xpay's pay_part_end for a part the payee refused for good. Either
// ends the payment's reservation. Plugins' notifications reach a
// subscriber as {"origin","payload"} before v25.09, unwrapped in
// params since; pay_failure nests its fields under its name.
func (k *Keeper) OnPayEnd(method string, params jsonrpc.Value) {
	v := params
	if p, ok := v.Member("payload"); ok {
		v = p
	}
	if p, ok := v.Member(method); ok {
		v = p
	}
	if method == "pay_part_end" {
		status, _ := v.Member("status")
		code, _ := v.Member("error_code")
		_, onTheWay := v.Member("failed_short_channel_id")
		if s, _ := status.String(); s != "failure" || onTheWay || strings.TrimSpace(string(code)) != strconv.Itoa(incorrectOrUnknown) {
			return
		}
	} else if method != "pay_failure" {
		return
	}
	hv, _ := v.Member("payment_hash")
	s, _ := hv.String()
	if h, ok := ledger.ParseHash(s); ok {
		k.Ledger.Ended(h)
	}
}

// OnInvoicePayment applies lightningd's invoice_payment notification:
// our invoice received msat, so payments we sent ourselves with its hash
// count only what did not come back.
func (k *Keeper) OnInvoicePayment(_ string, params jsonrpc.Value) {
	v := params
	if inner, ok := params.Member("invoice_payment"); ok {
		v = inner
	}
	pre, _ := v.Member("preimage")
	amt, _ := v.Member("msat")
	s, err := pre.String()
	b, err2 := hex.DecodeString(s)
	m, err3 := price.MSat(amt)
	if err != nil || err2 != nil || err3 != nil || len(b) != 32 {
		k.Log("unusual", "cannot read invoice_payment %.200s", params)
		return
	}
	k.Ledger.Received(sha256.Sum256(b), m)
}
