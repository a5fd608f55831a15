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
)

// defaultFee is the fee cap a payer uses when not told one (CLN v23.02–
// v26.06): the larger of a floor and a share of the amount, in millionths
// of a percent (CLN's unit for maxfeepercent). pay may be run by xpay,
// whose default is the higher of the two.
var defaultFee = map[string]struct{ floor, pct uint64 }{
	"pay":               {5000, 1_000_000}, // xpay 1% (legacy pay: 0.5%)
	"xpay":              {5000, 1_000_000},
	"xkeysend":          {5000, 1_000_000},
	"sendamount":        {5000, 1_000_000},
	"renepay":           {5000, 500_000},
	"keysend":           {5000, 500_000},
	"preapproveinvoice": {5000, 1_000_000},
	"preapprovekeysend": {5000, 500_000},
}

// FeeAllowance is the most a command may pay in fees for amt, in msat:
// its maxfee, else what its maxfeepercent and exemptfee allow, else its
// default. It errs on a parameter it cannot read, or on overflow.
func FeeAllowance(method string, a Args, amt amount.MSat) (amount.MSat, error) {
	if vs := a["maxfee"]; len(vs) > 0 {
		var m amount.MSat
		for _, v := range vs {
			f, err := MSat(v)
			if err != nil {
				return 0, fmt.Errorf("cannot read maxfee: %v", err)
			}
			m = max(m, f)
		}
		return m, nil
	}
	d := defaultFee[method]
	floor, pct := amount.MSat(d.floor), d.pct
	for _, v := range a["exemptfee"] {
		f, err := MSat(v)
		if err != nil {
			return 0, fmt.Errorf("cannot read exemptfee: %v", err)
		}
		floor = max(floor, f)
	}
	for _, v := range a["maxfeepercent"] {
		p, err := millionths(strings.TrimSpace(Text(v)))
		if err != nil {
			return 0, fmt.Errorf("cannot read maxfeepercent: %v", err)
		}
		pct = max(pct, p)
	}
	// ceil(amount × pct / 1e8): pct is in millionths of a percent.
	hi, lo := bits.Mul64(uint64(amt), pct)
	const div = 100_000_000
	if hi >= div {
		return 0, fmt.Errorf("the fee allowance overflows")
	}
	q, r := bits.Div64(hi, lo, div)
	if r != 0 {
		q++
	}
	return max(floor, amount.MSat(q)), nil
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
	vs := a["retry_for"]
	if len(vs) == 0 {
		return 60 * time.Second, nil
	}
	var d time.Duration
	for _, v := range vs {
		n, err := strconv.ParseUint(strings.TrimSpace(Text(v)), 10, 32)
		if err != nil {
			return 0, fmt.Errorf("cannot read retry_for %.20s", v)
		}
		d = max(d, min(time.Duration(n)*time.Second, maxRetry))
	}
	return d, nil
}
