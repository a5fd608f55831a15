package price

import (
	"testing"

	"gotest.tools/v3/assert"

	"github.com/payupto/pay-up-to/amount"
)

func TestFeeAllowance(t *testing.T) {
	for _, tt := range []struct {
		method string
		params string
		amt    amount.MSat
		want   amount.MSat
	}{
		{"xpay", `{}`, 10_000_000, 100_000},
		{"xpay", `{}`, 100_000, 5000},
		{"renepay", `{}`, 10_000_000, 50_000},
		{"pay", `{"maxfee":"1sat"}`, 10_000_000, 1000},
		{"pay", `{"maxfeepercent":0.5,"exemptfee":20000}`, 10_000_000, 100_000},
		{"keysend", `{"maxfeepercent":"2"}`, 10_000_000, 200_000},
		{"keysend", `{"exemptfee":"7000msat"}`, 100, 7000},
		{"xpay", `{}`, 1, 5000},
		{"pay", `{"maxfeepercent":"0.001"}`, 1_000_001, 10_001},
	} {
		a, err := ReadArgs([]byte(tt.params), nil)
		assert.NilError(t, err)
		got, err := FeeAllowance(tt.method, a, tt.amt)
		assert.NilError(t, err, tt.params)
		assert.Equal(t, got, tt.want, "%s %s", tt.method, tt.params)
	}
	a, _ := ReadArgs([]byte(`{"maxfeepercent":"lots"}`), nil)
	_, err := FeeAllowance("pay", a, 1)
	assert.Assert(t, err != nil)
}

func TestOnionPriced(t *testing.T) {
	for v, want := range map[string]bool{"v24.11.2": true, "v26.04": true, "v26.06.6": false, "v26.06rc1": false, "v27.01": false, "v25.12.1-modded": true, "junk": false} {
		assert.Equal(t, ParseVersion(v).OnionPriced(), want, v)
	}
}
