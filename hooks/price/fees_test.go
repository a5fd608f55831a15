package price

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// TestFeeAllowance holds FeeAllowance to the figures lightningd computes
// (amount_msat_fee in common/amount.c as plugins/pay.c, keysend.c,
// xpay/xpay.c and renepay/main.c call it, v23.02.2–v26.06.6).
func TestFeeAllowance(t *testing.T) {
	for _, tt := range []struct {
		method string
		payer  Payer
		params string
		amt    amount.MSat
		want   amount.MSat
	}{
		// Legacy pay: 0.5% rounded down, 5000msat exempt.
		{"pay", Legacy, `{}`, 1, 5000},
		{"pay", Legacy, `{}`, 1_000_000_001, 5_000_000},                     // 5,000,000.005
		{"pay", Legacy, `{"maxfeepercent":"0.123456"}`, 10_000_003, 12_340}, // ⌊123456/100⌋ = 1234 ppm
		{"pay", Legacy, `{"maxfeepercent":0.1}`, 100_000_000, 100_000},      // below the default
		{"pay", Legacy, `{"maxfeepercent":"0.000099"}`, 100_000_000, 5000},  // 0 ppm: the exemption
		{"pay", Legacy, `{"exemptfee":"1000msat"}`, 100_000, 1000},          // an exemption below 5000msat
		{"pay", Legacy, `{"exemptfee":20000}`, 10_000_000, 50_000},          // exemption below the fee
		{"pay", Legacy, `{"exemptfee":20000}`, 1_000_000, 20_000},           // exemption above the fee
		{"pay", Legacy, `{"maxfeepercent":0,"exemptfee":0}`, 100_000_000, 0},
		{"pay", Legacy, `{"maxfee":"1sat"}`, 10_000_000, 1000},
		// pay rewritten by xpay: its own 1% without either, calc_maxfee with.
		{"pay", Xpay, `{}`, 1, 5000},
		{"pay", Xpay, `{}`, 1_000_000_099, 10_000_000}, // 10,000,000.99
		{"pay", Xpay, `{"maxfeepercent":"0.2"}`, 100_000_000, 200_000},
		{"pay", Xpay, `{"exemptfee":7000}`, 100_000_000, 500_000}, // maxfeepercent defaults to 0.5
		{"pay", Xpay, `{"exemptfee":7000}`, 1_000_000, 7000},
		{"pay", Xpay, `{"maxfee":0}`, 100_000_000, 0},
		// xpay and xkeysend: 1% rounded down, at least 5000msat.
		{"xpay", Xpay, `{}`, 10_000_000, 100_000},
		{"xpay", Xpay, `{"maxfee":"2sat"}`, 10_000_000, 2000},
		{"xkeysend", Xpay, `{}`, 500_099, 5000},
		{"xkeysend", Xpay, `{}`, 500_100, 5001},
		{"preapproveinvoice", Xpay, `{}`, 10_000_000, 100_000},
		// keysend: as legacy pay.
		{"keysend", Legacy, `{}`, 1_000_000_001, 5_000_000},
		{"keysend", Legacy, `{"maxfeepercent":"2"}`, 10_000_000, 200_000},
		{"keysend", Legacy, `{"exemptfee":"7000msat"}`, 100, 7000},
		{"keysend", Legacy, `{"maxfeepercent":"0.000001"}`, 1_000_000_000, 5000},
		// renepay: amount/200, at least 5000msat.
		{"renepay", Legacy, `{}`, 10_000_399, 50_001},
		{"renepay", Legacy, `{}`, 100, 5000},
		{"renepay", Legacy, `{"maxfee":"9sat"}`, 10_000_000, 9000},
		// sendamount: the amount includes the fees.
		{"sendamount", Xpay, `{}`, 10_000_000, 0},
		{"sendamount", Xpay, `{"maxfee":5000}`, 10_000_000, 0},
	} {
		a, err := ReadArgs([]byte(tt.params), nil)
		assert.NilError(t, err)
		got, err := FeeAllowance(tt.method, tt.payer, a, tt.amt)
		assert.NilError(t, err, tt.params)
		assert.Equal(t, got, tt.want, "%s %d %s %d", tt.method, tt.payer, tt.params, tt.amt)
	}
	for _, bad := range []string{`{"maxfeepercent":"lots"}`, `{"maxfeepercent":"0.1234567"}`, `{"maxfeepercent":"-1"}`, `{"exemptfee":"x"}`, `{"maxfee":-1}`} {
		a, _ := ReadArgs([]byte(bad), nil)
		_, err := FeeAllowance("pay", Legacy, a, 1)
		assert.Assert(t, err != nil, bad)
	}
	a, _ := ReadArgs([]byte(`{"maxfeepercent":1000}`), nil)
	_, err := FeeAllowance("pay", Legacy, a, math.MaxUint64)
	assert.ErrorContains(t, err, "overflows")
}

// TestFeeAllowanceFormula checks percentOf against lightningd's formula
// done in big integers, on random amounts and percentages.
func TestFeeAllowanceFormula(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		amt := amount.MSat(r.Uint64() >> r.IntN(64))
		pct := r.Uint64N(100_000_001) // up to 100%
		floor := amount.MSat(r.Uint64N(20_000))
		got, err := percentOf(amt, pct, floor)
		assert.NilError(t, err)
		want := new(big.Int).Mul(new(big.Int).SetUint64(uint64(amt)), new(big.Int).SetUint64(pct/100))
		want.Quo(want, big.NewInt(1_000_000))
		if want.Cmp(new(big.Int).SetUint64(uint64(floor))) < 0 {
			want.SetUint64(uint64(floor))
		}
		assert.Equal(t, uint64(got), want.Uint64(), "%d × %d", amt, pct)
	}
}

func TestPayerOf(t *testing.T) {
	for _, tt := range []struct {
		method, params string
		xpay           bool
		want           Payer
	}{
		{"pay", `["lnbc1"]`, true, Xpay},
		{"pay", `["lnbc1", 1000]`, true, Xpay},
		{"pay", `["lnbc1", 1000, "label"]`, true, Legacy}, // xpay rewrites only one or two
		{"pay", `{"bolt11":"lnbc1","riskfactor":5}`, true, Xpay},
		{"pay", `{"invstring":"lnbc1"}`, true, Legacy}, // xpay looks for bolt11 only
		{"pay", `{"bolt11":"lnbc1"}`, false, Legacy},
		{"keysend", `{}`, true, Legacy},
		{"xkeysend", `{}`, false, Xpay},
	} {
		assert.Equal(t, PayerOf(tt.method, jsonrpc.Value(tt.params), tt.xpay), tt.want, "%s %s", tt.method, tt.params)
	}
}

func TestOnionPriced(t *testing.T) {
	for v, want := range map[string]bool{"v24.11.2": true, "v26.04": true, "v26.06.6": false, "v26.06rc1": false, "v27.01": false, "v25.12.1-modded": true, "junk": false} {
		assert.Equal(t, ParseVersion(v).OnionPriced(), want, v)
	}
}
