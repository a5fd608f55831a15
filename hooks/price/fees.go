package price

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"time"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// Payer is the plugin that runs a payment command, as far as its fees
// go: pay runs as legacy pay, or as xpay when xpay takes it over
// (xpay-handle-pay, and a call xpay agrees to rewrite).
type Payer uint8

const (
	Legacy Payer = iota // pay, keysend: plugins/pay.c, plugins/keysend.c
	Xpay                // xpay, xkeysend, sendamount, pay rewritten: plugins/xpay/xpay.c
)

// FeeAllowance is the most method, run by payer, may pay in routing fees
// for amt, in msat: exactly what the payer computes (read in CLN
// v23.02.2–v26.06.6; the rules are the same across them):
//   - maxfee, when given;
//   - else for legacy pay and keysend, and for pay rewritten to xpay when
//     maxfeepercent or exemptfee is given (xpay's calc_maxfee):
//     max(amt × ⌊maxfeepercent/100⌋ / 1e6 rounded down, exemptfee), with
//     maxfeepercent in millionths of a percent, default 0.5%, and exemptfee
//     default 5000msat; lower values are honoured;
//   - else xpay's default (xpay, xkeysend, pay rewritten): max(1% rounded
//     down, 5000msat);
//   - renepay: max(amt / 200 rounded down, 5000msat);
//   - sendamount: nothing on top: amt is what it sends, fees included.
//
// FeeAllowance errs on a parameter it cannot read, or on overflow.
func FeeAllowance(method string, payer Payer, a Args, amt amount.MSat) (amount.MSat, error) {
	maxfee, hasMax, err := optional(a, "maxfee", MSat)
	if err != nil {
		return 0, err
	}
	pct, hasPct, err := optional(a, "maxfeepercent", func(v jsonrpc.Value) (uint64, error) {
		return millionths(strings.TrimSpace(Text(v)))
	})
	if err != nil {
		return 0, err
	}
	exempt, hasExempt, err := optional(a, "exemptfee", MSat)
	if err != nil {
		return 0, err
	}
	switch {
	case method == "sendamount":
		return 0, nil
	case hasMax:
		return maxfee, nil
	case method == "renepay":
		return max(amt/200, 5000), nil
	case payer == Xpay && !hasPct && !hasExempt:
		return percentOf(amt, 1_000_000, 5000)
	}
	if !hasPct {
		pct = 500_000
	}
	if !hasExempt {
		exempt = 5000
	}
	return percentOf(amt, pct, exempt)
}

// percentOf is max(amt × ⌊pct/100⌋ / 1e6, floor) in integer msat, pct in
// millionths of a percent: amount_msat_fee (common/amount.c) as pay.c and
// xpay.c call it.
func percentOf(amt amount.MSat, pct uint64, floor amount.MSat) (amount.MSat, error) {
	hi, lo := bits.Mul64(uint64(amt), pct/100)
	const div = 1_000_000
	if hi >= div {
		return 0, fmt.Errorf("the fee allowance overflows")
	}
	q, _ := bits.Div64(hi, lo, div)
	return max(floor, amount.MSat(q)), nil
}

// optional reads name with read, and reports whether it was given.
func optional[T amount.MSat | uint64](a Args, name string, read func(jsonrpc.Value) (T, error)) (T, bool, error) {
	v := a[name]
	if v == nil {
		return 0, false, nil
	}
	x, err := read(v)
	if err != nil {
		return 0, false, fmt.Errorf("cannot read %s: %v", name, err)
	}
	return x, true, nil
}

// millionths reads a non-negative decimal such as "0.5" in millionths
// (500000), as CLN reads maxfeepercent: at most six decimals.
func millionths(s string) (uint64, error) {
	whole, frac, _ := strings.Cut(s, ".")
	// ParseUint takes digits only: no sign, no spaces.
	w, err1 := strconv.ParseUint("0"+whole, 10, 64)
	f, err2 := strconv.ParseUint((frac + "000000")[:6], 10, 64)
	if whole == "" && frac == "" || len(frac) > 6 || err2 != nil || err1 != nil && !errors.Is(err1, strconv.ErrRange) {
		return 0, fmt.Errorf("%.20q is not a decimal with at most six decimals", s)
	}
	if err1 != nil || w > math.MaxUint64/1_000_000 {
		return 0, fmt.Errorf("%.20q is too large", s)
	}
	return w*1_000_000 + f, nil
}

// maxRetry bounds how long a reservation may be held for one payment.
const maxRetry = 24 * time.Hour

// RetryFor is how long the payer keeps trying: retry_for in seconds,
// default 60, at most maxRetry.
func RetryFor(a Args) (time.Duration, error) {
	v := a["retry_for"]
	if v == nil {
		return 60 * time.Second, nil
	}
	n, err := strconv.ParseUint(strings.TrimSpace(Text(v)), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("cannot read retry_for %.20s", v)
	}
	return min(time.Duration(n)*time.Second, maxRetry), nil
}
