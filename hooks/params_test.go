package hooks

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// positional lays named params out in a command's order, with null in
// every slot not given (as Zeus sends pay: twelve elements, nulls
// included).
func positional(t *testing.T, order []string, named map[string]any) []any {
	t.Helper()
	out := make([]any, len(order))
	n := 0
	for i, name := range order {
		if v, ok := named[name]; ok {
			out[i] = v
			n++
		}
	}
	assert.Equal(t, n, len(named), "a parameter is not in the order")
	return out
}

// TestPositionalEqualsNamed: the fee allowance and retry_for read from
// positional params equal those read from the same params by name, for
// every command that takes them, and so does what a budget reserves.
func TestPositionalEqualsNamed(t *testing.T) {
	tests := []struct {
		method string
		named  map[string]any
		fee    amount.MSat // for 0.001btc
		retry  time.Duration
	}{
		{"pay", map[string]any{"bolt11": inv1m, "maxfeepercent": "5.0"}, 5_000_000, 60 * time.Second},
		{"pay", map[string]any{"bolt11": inv1m, "maxfeepercent": 2, "retry_for": "90", "exemptfee": "3000000msat"}, 3_000_000, 90 * time.Second},
		{"pay", map[string]any{"bolt11": inv1m, "maxfee": "20sat", "retry_for": 5, "riskfactor": 10, "label": "x"}, 20_000, 5 * time.Second},
		{"pay", map[string]any{"bolt11": invAny, "amount_msat": "0.001btc", "maxfeepercent": 0.05}, 50_000, 60 * time.Second}, // a lower maxfeepercent is honoured
		{"xpay", map[string]any{"invstring": inv1m, "maxfee": 7000, "retry_for": 30}, 7000, 30 * time.Second},
		{"xpay", map[string]any{"invstring": inv1m, "layers": []string{}, "partial_msat": nil}, 1_000_000, 60 * time.Second},
		{"renepay", map[string]any{"invstring": inv1m, "maxfee": "9sat", "maxdelay": 100, "retry_for": "120"}, 9000, 120 * time.Second},
		{"sendamount", map[string]any{"invstring": inv1m, "amount_msat": 100_000_000, "maxfee": 123, "retry_for": 7}, 0, 7 * time.Second}, // amount_msat includes the fees
		{"keysend", map[string]any{"destination": destination, "amount_msat": 100_000_000, "maxfeepercent": "3", "retry_for": 15}, 3_000_000, 15 * time.Second},
		{"keysend", map[string]any{"destination": destination, "amount_msat": 100_000_000, "maxfee": 4242}, 4242, 60 * time.Second},
		{"xkeysend", map[string]any{"destination": destination, "amount_msat": 100_000_000, "maxfee": "2sat", "retry_for": 11}, 2000, 11 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			g := guard(t, "0.01btc")
			pos := positional(t, price.Order(tt.method, g.version()), tt.named)
			for _, params := range []any{tt.named, pos} {
				a, err := price.Read(tt.method, jsonValue(t, params), g.version())
				assert.NilError(t, err)
				fee, err := price.FeeAllowance(tt.method, price.PayerOf(tt.method, jsonValue(t, params), false), a, 100_000_000)
				assert.NilError(t, err)
				assert.Equal(t, fee, tt.fee, "%v", params)
				retry, err := price.RetryFor(a)
				assert.NilError(t, err)
				assert.Equal(t, retry, tt.retry, "%v", params)

				// What a budget reserves for it.
				g := guard(t, "0.01btc")
				assert.NilError(t, g.Options.SetBudget("1btc/1d"))
				g.ledger.Load(nil, ledger.Saved{}, "02self")
				if tt.method == "pay" {
					g.intents.SetXpayTakesPay(false)
				}
				code, data := verdict(t, g, hook(tt.method, "1", params))
				assert.Equal(t, code, int64(0), "%v", data)
				assert.Equal(t, g.ledger.Status().Windows[0].Reserved, 100_000_000+tt.fee, "%v", params)
			}
		})
	}
}

func jsonValue(t *testing.T, v any) jsonrpc.Value {
	t.Helper()
	b, err := json.Marshal(v)
	assert.NilError(t, err)
	return jsonrpc.Value(b)
}

// TestBudgetToTheLastMsat: a payment whose amount and exact fee
// allowance fill the budget to the last msat is approved; with one msat
// less of budget it is refused.
func TestBudgetToTheLastMsat(t *testing.T) {
	for _, tt := range []struct {
		method string
		params map[string]any
		xpay   bool
		total  amount.MSat
	}{
		{"pay", map[string]any{"bolt11": inv1m, "maxfeepercent": "0.123456"}, false, 100_000_000 + 123_400},
		{"pay", map[string]any{"bolt11": inv1m}, false, 100_000_000 + 500_000},
		{"xpay", map[string]any{"invstring": inv1m}, true, 100_000_000 + 1_000_000},
		{"keysend", map[string]any{"destination": destination, "amount_msat": 100_000_001}, false, 100_000_001 + 500_000},
		{"keysend", map[string]any{"destination": destination, "amount_msat": 1_000_000, "exemptfee": 1000}, false, 1_000_000 + 5000},
		{"renepay", map[string]any{"invstring": inv1m}, false, 100_000_000 + 500_000},
		{"sendamount", map[string]any{"invstring": inv1m, "amount_msat": 100_000_123}, true, 100_000_123},
	} {
		for _, room := range []amount.MSat{tt.total, tt.total - 1} {
			g := guard(t, "0.01btc")
			assert.NilError(t, g.Options.SetBudget(fmt.Sprintf("%dmsat/1d", room)))
			g.ledger.Load(nil, ledger.Saved{}, "02self")
			g.intents.SetXpayTakesPay(tt.xpay)
			code, data := verdict(t, g, hook(tt.method, "1", tt.params))
			if room == tt.total {
				assert.Equal(t, code, int64(0), "%s %v: %v", tt.method, tt.params, data)
				assert.Equal(t, g.ledger.Status().Windows[0].Reserved, tt.total)
			} else {
				assert.Equal(t, code, int64(2102), "%s %v with %d", tt.method, tt.params, room)
			}
		}
	}
}

// TestPayEnded: a payment whose payer gave it up stops reserving at once:
// sendpay_failure code 203 (the payee refused it for good), legacy pay's
// and keysend's pay_failure in each version's shape, xpay's pay_part_end
// for a final-node incorrect_or_unknown_payment_details. A failure on the
// way leaves the reservation to the payer's retries.
func TestPayEnded(t *testing.T) {
	inv, err := amount.Decode(inv1m)
	assert.NilError(t, err)
	hash := inv.PaymentHash
	row := fmt.Sprintf(`"created_index":1,"id":1,"payment_hash":%q,"groupid":1,"partid":1,"destination":%q,"amount_msat":100000000,"amount_sent_msat":100000100,"created_at":1,"status":"failed"`, hash, destination)
	for _, tt := range []struct {
		method, params string
		ends           bool
	}{
		{"sendpay_failure", `{"sendpay_failure":{"code":204,"message":"failed","data":{` + row + `,"erring_index":1,"failcode":4103}}}`, false},
		{"sendpay_failure", `{"sendpay_failure":{"code":203,"message":"failed","data":{` + row + `,"erring_index":2,"failcode":16399}}}`, true},
		{"pay_failure", `{"pay_failure":{"payment_hash":"` + hash + `","bolt11":"` + inv1m + `","error":{"message":"failed"}}}`, true},            // v25.09+
		{"pay_failure", `{"origin":"pay","payload":{"payment_hash":"` + hash + `","bolt11":"` + inv1m + `","error":{"message":"failed"}}}`, true}, // before
		{"pay_part_end", `{"status":"failure","payment_hash":"` + hash + `","groupid":1,"partid":1,"failed_node_id":"` + destination + `","error_code":16399,"error_message":"x"}`, true},
		{"pay_part_end", `{"origin":"xpay","payload":{"status":"failure","payment_hash":"` + hash + `","groupid":1,"partid":1,"error_code":16399}}`, true},
		{"pay_part_end", `{"status":"failure","payment_hash":"` + hash + `","groupid":1,"partid":1,"failed_short_channel_id":"1x1x1","error_code":16399}`, false},
		{"pay_part_end", `{"status":"failure","payment_hash":"` + hash + `","groupid":1,"partid":1,"error_code":23}`, false}, // mpp_timeout
		{"pay_part_end", `{"status":"success","payment_hash":"` + hash + `","groupid":1,"partid":1}`, false},
		{"pay_failure", `{"pay_failure":{"payment_hash":"nothex"}}`, false},
	} {
		g := guard(t, "0.01btc")
		assert.NilError(t, g.Options.SetBudget("1btc/1d"))
		g.ledger.Load(nil, ledger.Saved{}, "02self")
		g.intents.SetXpayTakesPay(true)
		c, data := verdict(t, g, hook("xpay", "1", map[string]any{"invstring": inv1m}))
		assert.Equal(t, c, int64(0), "%v", data)
		assert.Assert(t, g.ledger.Admit(ledger.Send{ID: "1/x", Key: ledger.PartKey{Hash: mustHash(t, hash), GroupID: 1, PartID: 1}, Sent: 100_000_100}, 0, false) == nil)
		if tt.method == "sendpay_failure" {
			g.Records.OnSendpay(tt.method, jsonrpc.Value(tt.params))
		} else {
			g.Records.OnPayEnd(tt.method, jsonrpc.Value(tt.params))
		}
		want := amount.MSat(0)
		if !tt.ends {
			want = 101_000_000 - 100_000_100*amount.MSat(b2i(tt.method != "sendpay_failure"))
		}
		assert.Equal(t, g.ledger.Status().Windows[0].Reserved, want, "%s %s", tt.method, tt.params)
	}
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func mustHash(t *testing.T, s string) ledger.Hash {
	t.Helper()
	h, ok := ledger.ParseHash(s)
	assert.Assert(t, ok, s)
	return h
}
