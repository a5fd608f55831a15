package refuse

import (
	"errors"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/hooks/pause"
	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/hooks/wallet"
)

// TestFor: each reason a check returns is encoded as exactly this answer.
func TestFor(t *testing.T) {
	w := ledger.Window{Spec: "0.001btc/1d", Amount: 100_000_000}
	h := ledger.Hash{1}
	tests := []struct {
		name, method string
		why          error
		want         string
	}{
		{"unverified", "pay", &Unverified{Why: "no limit or budget is configured yet"},
			`{"return":{"error":{"code":2101,"message":"pay-up-to: refusing pay: no limit or budget is configured yet"}}}`},
		{"price error", "xpay", &price.Error{Why: "cannot read the invoice", Key: "bolt11", Subject: "lnbc1"},
			`{"return":{"error":{"code":2101,"message":"pay-up-to: refusing xpay: cannot read the invoice","data":{"bolt11":"lnbc1"}}}}`},
		{"any error", "withdraw", errors.New("lightningd is away"),
			`{"return":{"error":{"code":2101,"message":"pay-up-to: refusing withdraw: lightningd is away"}}}`},
		{"over limit", "pay", &OverLimit{What: "invoice amount", Amount: 200_000_000, Limit: 100_000_000, Key: "bolt11", Subject: "lnbc2m"},
			`{"return":{"error":{"code":2100,"message":"pay-up-to: invoice amount 0.002btc is above the limit 0.001btc","data":{"invoice_too_high":"0.002btc","maximum_is":"0.001btc","bolt11":"lnbc2m","amount_msat":200000000,"maximum_msat":100000000}}}}`},
		{"over budget", "xpay", &Payment{Verdict: &ledger.Verdict{Reason: ledger.OverBudget, Window: w, Used: 90_000_000, Requested: 20_000_000}, Key: "bolt11", Subject: "lnbc"},
			`{"return":{"error":{"code":2102,"message":"pay-up-to: payment of 0.0002btc with fees would exceed the budget 0.001btc/1d (0.0009btc used)","data":{"budget_exceeded":"0.001btc/1d","budget_msat":100000000,"used_msat":90000000,"requested_msat":20000000,"bolt11":"lnbc"}}}}`},
		{"records not read", "xpay", &Payment{Verdict: &ledger.Verdict{Reason: ledger.NotRead, Why: "getinfo failed"}},
			`{"return":{"error":{"code":2101,"message":"pay-up-to: refusing xpay: the node's payment records are not read yet: getinfo failed"}}}`},
		{"send over limit, to ourselves", "sendpay", &Send{Send: ledger.Send{Key: ledger.PartKey{Hash: h}, Sent: 3000, Self: true}, Verdict: &ledger.Verdict{Reason: ledger.OverLimit, Max: 2000}, Why: "a caller chose its preimage"},
			`{"return":{"error":{"code":2100,"message":"pay-up-to: sendpay would bring payment ` + h.String() + ` to 0.00000003btc, which is above the limit 0.00000002btc (a payment to this node is exempt only for an unpaid invoice whose preimage lightningd chose; any hop that knows the preimage can claim it): a caller chose its preimage","data":{"amount_too_high":"0.00000003btc","maximum_is":"0.00000002btc","payment_hash":"` + h.String() + `","part_msat":3000,"out_msat":0,"amount_msat":3000,"maximum_msat":2000}}}}`},
		{"on-chain over limit", "withdraw", &Chain{Verdict: &ledger.Verdict{Reason: ledger.OverLimit, Max: 1000}, Spend: wallet.Spend{Leaving: 5000, Fee: 1000, Dests: []string{"bcrt1q"}, Unknown: "lightningd cannot say"}},
			`{"return":{"error":{"code":2100,"message":"pay-up-to: withdraw would send 0.00000005btc to bcrt1q, which is above the limit 0.00000001btc (counted as leaving: lightningd cannot say)","data":{"amount_too_high":"0.00000005btc","maximum_is":"0.00000001btc","destination":"bcrt1q","amount_msat":5000,"maximum_msat":1000,"fee_msat":1000}}}}`},
		{"paused rune", "checkrune", &Paused{Method: "xpay", Pause: pause.New("7", 1700000000, "leaked")},
			`{"return":{"error":{"code":2104,"message":"pay-up-to: rune 7 is paused since 2023-11-14T22:13:20Z: leaked (the operator lifts it with pay-up-to-resume 7)","data":{"paused_since":1700000000,"reason":"leaked","method":"xpay","rune_id":"7"}}}}`},
		{"not for apps", "checkrune", &NotForApps{Rune: "5", Method: "setconfig", Why: "an app may not change the node's configuration"},
			`{"return":{"error":{"code":2103,"message":"pay-up-to: rune 5 may not call setconfig: an app may not change the node's configuration","data":{"rune_id":"5","method":"setconfig"}}}}`},
		{"no allowance", "checkrune", &NoAllowance{Rune: "5"},
			`{"return":{"error":{"code":2103,"message":"pay-up-to: rune 5 has no allowance, and rune-allowance-required is set (pay-up-to-setallowance 5 …)","data":{"rune_id":"5"}}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := For(tt.method, tt.why)
			assert.Equal(t, string(r.Answer()), tt.want)
			assert.Equal(t, tt.why.Error() != "", true)
		})
	}
}

// TestTold: the notification carries the method and the error's members.
func TestTold(t *testing.T) {
	r := For("keysend", &NoAllowance{Rune: "5"})
	assert.Equal(t, string(r.Told("checkrune")), `{"method":"checkrune","code":2103,"message":"pay-up-to: rune 5 has no allowance, and rune-allowance-required is set (pay-up-to-setallowance 5 …)","data":{"rune_id":"5"}}`)
}
