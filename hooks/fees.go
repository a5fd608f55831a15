package hooks

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// defaultFee is the fee cap a payer uses when not told one (CLN v23.02–
// v26.06): the larger of a floor and a share of the amount, in ppm.
// pay may be run by xpay, whose default is the higher of the two.
var defaultFee = map[string]struct{ floor, ppm uint64 }{
	"pay":               {5000, 10000}, // xpay 1% (legacy pay: 0.5%)
	"xpay":              {5000, 10000},
	"xkeysend":          {5000, 10000},
	"sendamount":        {5000, 10000},
	"renepay":           {5000, 5000},
	"keysend":           {5000, 5000},
	"preapproveinvoice": {5000, 10000},
	"preapprovekeysend": {5000, 5000},
}

// feeAllowance is the most a command may pay in fees for amount: its
// maxfee, else what its maxfeepercent and exemptfee allow, else its
// default.
func feeAllowance(method string, a map[string][]jsonrpc.Value, amt amount.MSat) (amount.MSat, error) {
	if vs := a["maxfee"]; len(vs) > 0 {
		var m amount.MSat
		for _, v := range vs {
			f, err := msat(v)
			if err != nil {
				return 0, fmt.Errorf("cannot read maxfee: %v", err)
			}
			m = max(m, f)
		}
		return m, nil
	}
	d := defaultFee[method]
	floor, ppm := amount.MSat(d.floor), new(big.Rat).SetInt64(int64(d.ppm))
	for _, v := range a["exemptfee"] {
		f, err := msat(v)
		if err != nil {
			return 0, fmt.Errorf("cannot read exemptfee: %v", err)
		}
		floor = max(floor, f)
	}
	for _, v := range a["maxfeepercent"] {
		s := strings.Trim(strings.TrimSpace(string(v)), `"`)
		pct, ok := new(big.Rat).SetString(s)
		if !ok || pct.Sign() < 0 || len(s) > 40 {
			return 0, fmt.Errorf("cannot read maxfeepercent %q", s)
		}
		if p := new(big.Rat).Mul(pct, big.NewRat(10000, 1)); p.Cmp(ppm) > 0 {
			ppm = p
		}
	}
	// ceil(amount × ppm / 1e6)
	f := new(big.Rat).Mul(new(big.Rat).SetUint64(uint64(amt)), ppm)
	f.Quo(f, big.NewRat(1_000_000, 1))
	n := new(big.Int).Quo(f.Num(), f.Denom())
	if new(big.Rat).SetInt(n).Cmp(f) < 0 {
		n.Add(n, big.NewInt(1))
	}
	if !n.IsUint64() {
		return 0, fmt.Errorf("the fee allowance overflows")
	}
	return max(floor, amount.MSat(n.Uint64())), nil
}

// maxRetry bounds how long a reservation may be held for one payment.
const maxRetry = 24 * time.Hour

// retryFor is how long the payer keeps trying: retry_for, default 60 s.
func retryFor(a map[string][]jsonrpc.Value) (time.Duration, error) {
	vs := a["retry_for"]
	if len(vs) == 0 {
		return 60 * time.Second, nil
	}
	var d time.Duration
	for _, v := range vs {
		n, err := strconv.ParseUint(strings.TrimSpace(string(v)), 10, 32)
		if err != nil {
			return 0, fmt.Errorf("cannot read retry_for %.20s", v)
		}
		d = max(d, min(time.Duration(n)*time.Second, maxRetry))
	}
	return d, nil
}
