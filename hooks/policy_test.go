package hooks

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/payupto/pay-up-to/hooks/refuse"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// Checksum-valid invoices for regtest amounts (signatures are lightningd's
// business), BOLT12 strings built for these tests.
const (
	inv2m       = "lnbcrt2m1p4s2w6dsp5kwehw4vuusp2eeflctf7wdtk8dugr28m9z3zfrcucvq8j893mluqpp5sq82g8yy5a4c2t3nn3ryf8czv02r2e7qqgryqpmyjy22uy2wqrdsdqlw3hk7gr90pcx2mnnd9mx2grsd9a85cgxqyjw5qcqp29qxpqysgq2jm0y82d2337q6h7u4jclv3ctf7wxhssud2n4z5u87ye7e2em6xp024md9gqdz4dnmjnfedrttf275hst7rsgwgh8n5qnrw8z6qmlnqqseeq9f"
	inv1m       = "lnbcrt1m1p4s2w6dsp5kwehw4vuusp2eeflctf7wdtk8dugr28m9z3zfrcucvq8j893mluqpp5sq82g8yy5a4c2t3nn3ryf8czv02r2e7qqgryqpmyjy22uy2wqrdsdqlw3hk7gr90pcx2mnnd9mx2grsd9a85cgxqyjw5qcqp29qxpqysgq2jm0y82d2337q6h7u4jclv3ctf7wxhssud2n4z5u87ye7e2em6xp024md9gqdz4dnmjnfedrttf275hst7rsgwgh8n5qnrw8z6qmlnqqy580kh"
	inv1mPlus1  = "lnbcrt1000000010p1p4s2w6dsp5kwehw4vuusp2eeflctf7wdtk8dugr28m9z3zfrcucvq8j893mluqpp5sq82g8yy5a4c2t3nn3ryf8czv02r2e7qqgryqpmyjy22uy2wqrdsdqlw3hk7gr90pcx2mnnd9mx2grsd9a85cgxqyjw5qcqp29qxpqysgq2jm0y82d2337q6h7u4jclv3ctf7wxhssud2n4z5u87ye7e2em6xp024md9gqdz4dnmjnfedrttf275hst7rsgwgh8n5qnrw8z6qmlnqq3374mr"
	inv100u     = "lnbcrt100u1p4s2w6dsp5kwehw4vuusp2eeflctf7wdtk8dugr28m9z3zfrcucvq8j893mluqpp5sq82g8yy5a4c2t3nn3ryf8czv02r2e7qqgryqpmyjy22uy2wqrdsdqlw3hk7gr90pcx2mnnd9mx2grsd9a85cgxqyjw5qcqp29qxpqysgq2jm0y82d2337q6h7u4jclv3ctf7wxhssud2n4z5u87ye7e2em6xp024md9gqdz4dnmjnfedrttf275hst7rsgwgh8n5qnrw8z6qmlnqqxy6dmm"
	invAny      = "lnbcrt1p4s2w6dsp5kwehw4vuusp2eeflctf7wdtk8dugr28m9z3zfrcucvq8j893mluqpp5sq82g8yy5a4c2t3nn3ryf8czv02r2e7qqgryqpmyjy22uy2wqrdsdqlw3hk7gr90pcx2mnnd9mx2grsd9a85cgxqyjw5qcqp29qxpqysgq2jm0y82d2337q6h7u4jclv3ctf7wxhssud2n4z5u87ye7e2em6xp024md9gqdz4dnmjnfedrttf275hst7rsgwgh8n5qnrw8z6qmlnqq3n6wjm"
	lni2m       = "lni1pgrxxmmxvejkt2syp04uyqq"
	lni1m       = "lni1pgrxxmmxvejkt2syqh67zqq"
	lno2m       = "lno1pqzqh67zqq9qxar9vy"
	lnoUSD      = "lno1qcp4256ypqpqraq2qd6x2cg"
	lnoAny      = "lno1pgyxzmnew35xjmn8"
	destination = "021454364f0fb80ef0018b42605e9f17f4e6f13cdcbdc16dd1686970fb11fd3235"
)

func guard(t *testing.T, limit string) *Guard {
	t.Helper()
	g := New(nil, "")
	assert.NilError(t, g.Options.SetLimit(limit))
	return g
}

// hook builds the params of an rpc_command hook call.
func hook(method, id string, params any) jsonrpc.Value {
	p, _ := json.Marshal(params)
	return jsonrpc.Value(fmt.Sprintf(`{"rpc_command":{"jsonrpc":"2.0","method":%q,"id":%q,"params":%s}}`, method, id, p))
}

// verdict runs the hook (waiting for a deferred answer) and returns
// "continue" or the refusal's code and data.
func verdict(t *testing.T, g *Guard, params jsonrpc.Value) (int64, map[string]any) {
	t.Helper()
	res, err := g.ServeRPC(params)
	assert.NilError(t, err)
	if d, ok := res.(jsonrpc.Deferred); ok { // answered off the loop
		done := make(chan any)
		go d(func(r any, _ error) { done <- r })
		res = <-done
	}
	b, err := json.Marshal(res)
	assert.NilError(t, err)
	if string(b) == `{"result":"continue"}` {
		return 0, nil
	}
	var r struct {
		Return struct {
			Error struct {
				Code    int64
				Message string
				Data    map[string]any
			}
		}
	}
	assert.NilError(t, json.Unmarshal(b, &r), string(b))
	assert.Assert(t, r.Return.Error.Message != "")
	return r.Return.Error.Code, r.Return.Error.Data
}

func TestPolicy(t *testing.T) {
	tests := []struct {
		name   string
		method string
		params any
		code   int64  // 0: continue
		amount uint64 // amount_msat in a refusal
	}{
		{"pay under", "pay", []any{inv100u}, 0, 0},
		{"pay equal", "pay", []any{inv1m}, 0, 0},
		{"pay one msat over", "pay", []any{inv1mPlus1}, refuse.CodeOverLimit, 100_000_001},
		{"pay over", "pay", []any{inv2m}, refuse.CodeOverLimit, 200_000_000},
		{"pay -k bolt11", "pay", map[string]any{"bolt11": inv2m}, refuse.CodeOverLimit, 200_000_000},
		{"pay -k invstring", "pay", map[string]any{"invstring": inv2m}, refuse.CodeOverLimit, 200_000_000},
		{"pay upper case with scheme", "pay", []any{"LIGHTNING:" + strings.ToUpper(inv2m)}, refuse.CodeOverLimit, 200_000_000},
		{"pay null amount", "pay", []any{inv100u, nil}, 0, 0},
		{"pay amount on invoice with amount", "pay", []any{inv100u, "1btc"}, refuse.CodeOverLimit, 100_000_000_000},
		{"pay amountless number", "pay", []any{invAny, 200_000_000}, refuse.CodeOverLimit, 200_000_000},
		{"pay amountless sat", "pay", map[string]any{"bolt11": invAny, "amount_msat": "100001sat"}, refuse.CodeOverLimit, 100_001_000},
		{"pay amountless btc", "pay", []any{invAny, "0.001btc"}, 0, 0},
		{"pay amountless msatoshi", "pay", map[string]any{"bolt11": invAny, "msatoshi": 100_000_001}, refuse.CodeOverLimit, 100_000_001},
		{"pay amountless without amount", "pay", []any{invAny}, 0, 0},
		{"pay amount unreadable", "pay", []any{invAny, "1e9"}, refuse.CodeUnverified, 0},
		{"pay amount negative", "pay", []any{invAny, -5}, refuse.CodeUnverified, 0},
		{"pay amount float", "pay", []any{invAny, 1.5}, refuse.CodeUnverified, 0},
		{"pay invoice unreadable", "pay", []any{"lnbcrt1garbage"}, refuse.CodeUnverified, 0},
		{"pay invoice not a string", "pay", []any{42}, refuse.CodeUnverified, 0},
		{"pay no params", "pay", []any{}, 0, 0},
		{"pay bolt12 invoice", "pay", []any{lni2m}, refuse.CodeOverLimit, 200_000_000},
		{"pay bolt12 invoice under", "pay", []any{lni1m}, 0, 0},
		{"xpay over", "xpay", []any{inv2m}, refuse.CodeOverLimit, 200_000_000},
		{"xpay offer", "xpay", []any{lno2m}, refuse.CodeOverLimit, 200_000_000},
		{"xpay offer in USD", "xpay", []any{lnoUSD}, refuse.CodeUnverified, 0},
		{"xpay amountless offer over", "xpay", []any{lnoAny, "0.002btc"}, refuse.CodeOverLimit, 200_000_000},
		{"xpay amountless offer under", "xpay", []any{lnoAny, "0.0001btc"}, 0, 0},
		{"xpay offer amount raised", "xpay", map[string]any{"invstring": lno2m, "amount_msat": "1msat"}, refuse.CodeOverLimit, 200_000_000},
		{"xpay bip353 over", "xpay", []any{"alice@example.com", 100_000_001}, refuse.CodeOverLimit, 100_000_001},
		{"xpay bip353 no amount", "xpay", []any{"₿alice@example.com"}, 0, 0},
		{"renepay over", "renepay", []any{inv2m}, refuse.CodeOverLimit, 200_000_000},
		{"renepay amountless", "renepay", map[string]any{"invstring": invAny, "amount_msat": "0.0011btc"}, refuse.CodeOverLimit, 110_000_000},
		{"sendamount over", "sendamount", []any{invAny, 200_000_000}, refuse.CodeOverLimit, 200_000_000},
		{"sendamount offer under", "sendamount", []any{lnoAny, 1000}, 0, 0},
		{"keysend over", "keysend", []any{destination, 100_000_001}, refuse.CodeOverLimit, 100_000_001},
		{"keysend equal", "keysend", []any{destination, "100000sat"}, 0, 0},
		{"keysend -k", "keysend", map[string]any{"destination": destination, "amount_msat": "1btc"}, refuse.CodeOverLimit, 100_000_000_000},
		{"keysend no amount", "keysend", []any{destination}, 0, 0},
		{"xkeysend over", "xkeysend", []any{destination, "0.002btc"}, refuse.CodeOverLimit, 200_000_000},
		{"preapprovekeysend over", "preapprovekeysend", map[string]any{"destination": destination, "payment_hash": "00", "amount_msat": 200_000_000}, refuse.CodeOverLimit, 200_000_000},
		{"preapprovekeysend positional", "preapprovekeysend", []any{destination, "00", 5}, 0, 0},
		{"preapproveinvoice over", "preapproveinvoice", map[string]any{"bolt11": inv2m}, refuse.CodeOverLimit, 200_000_000},
		{"preapproveinvoice under", "preapproveinvoice", []any{inv100u}, 0, 0},
		{"preapproveinvoice amountless unknown", "preapproveinvoice", []any{invAny}, refuse.CodeUnverified, 0},
		{"params a string", "xpay", inv2m, refuse.CodeUnverified, 0},
		{"getinfo", "getinfo", []any{}, 0, 0},
		{"invoice for a lot", "invoice", []any{"10btc", "l", "d"}, 0, 0},
		{"withdraw to no address", "withdraw", []any{"bcrt1q", "all"}, refuse.CodeUnverified, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, data := verdict(t, guard(t, "0.001btc"), hook(tt.method, "cli:"+tt.method+"#1", tt.params))
			assert.Equal(t, code, tt.code, "%v", data)
			if tt.code == refuse.CodeOverLimit {
				assert.Equal(t, data["amount_msat"], float64(tt.amount))
				assert.Equal(t, data["maximum_msat"], float64(100_000_000))
				assert.Equal(t, data["maximum_is"], "0.001btc")
			}
		})
	}
}

// TestDuplicateKeys: lightningd acts on the first method and params of a
// request; inside params xpay's pay redirect reads the last duplicate, so
// every occurrence is checked.
func TestDuplicateKeys(t *testing.T) {
	tests := []struct {
		name, cmd string
		code      int64
	}{
		{"first params big", `{"method":"xpay","id":"a","params":["` + inv2m + `"],"params":["` + inv100u + `"]}`, refuse.CodeOverLimit},
		{"first params small", `{"method":"xpay","id":"a","params":["` + inv100u + `"],"params":["` + inv2m + `"]}`, 0},
		{"first method spends", `{"method":"xpay","method":"getinfo","id":"a","params":["` + inv2m + `"]}`, refuse.CodeOverLimit},
		{"first method does not", `{"method":"getinfo","method":"xpay","id":"a","params":["` + inv2m + `"]}`, 0},
		// lightningd refuses a parameter given twice, and pay given
		// both; xpay's pay rewrite takes the last bolt11: the guard
		// refuses them all, whichever comes first.
		{"duplicate invstring", `{"method":"xpay","id":"a","params":{"invstring":"` + inv100u + `","invstring":"` + inv2m + `"}}`, refuse.CodeUnverified},
		{"duplicate invstring, small last", `{"method":"xpay","id":"a","params":{"invstring":"` + inv2m + `","invstring":"` + inv100u + `"}}`, refuse.CodeUnverified},
		{"a BIP353 name, then an invoice", `{"method":"xpay","id":"a","params":{"invstring":"@","invstring":"` + inv2m + `"}}`, refuse.CodeUnverified},
		{"null, then an invoice", `{"method":"xpay","id":"a","params":{"invstring":null,"invstring":"` + inv2m + `"}}`, refuse.CodeUnverified},
		{"duplicate bolt11 for pay", `{"method":"pay","id":"a","params":{"bolt11":"` + inv100u + `","bolt11":"` + inv2m + `"}}`, refuse.CodeUnverified},
		{"duplicate amount", `{"method":"xpay","id":"a","params":{"invstring":"` + invAny + `","amount_msat":1,"amount_msat":200000000}}`, refuse.CodeUnverified},
		{"duplicate maxfee", `{"method":"xpay","id":"a","params":{"invstring":"` + inv100u + `","maxfee":1,"maxfee":1}}`, refuse.CodeUnverified},
		{"duplicate destination", `{"method":"keysend","id":"a","params":{"destination":"` + strings.Repeat("02", 33) + `","destination":"` + strings.Repeat("03", 33) + `","amount_msat":1000}}`, refuse.CodeUnverified},
		{"bolt11 and invstring", `{"method":"pay","id":"a","params":{"bolt11":"` + inv100u + `","invstring":"` + inv2m + `"}}`, refuse.CodeUnverified},
		{"duplicate satoshi", `{"method":"withdraw","id":"a","params":{"destination":"bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080","satoshi":1,"satoshi":2}}`, refuse.CodeUnverified},
		{"duplicate payment_hash", `{"method":"sendpay","id":"a","params":{"route":[],"payment_hash":"` + strings.Repeat("11", 32) + `","payment_hash":"` + strings.Repeat("22", 32) + `"}}`, refuse.CodeUnverified},
		{"duplicate, not a spend", `{"method":"getinfo","id":"a","params":{"x":1,"x":2}}`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _ := verdict(t, guard(t, "0.001btc"), jsonrpc.Value(`{"rpc_command":`+tt.cmd+`}`))
			assert.Equal(t, code, tt.code)
		})
	}
}

// TestAmountlessChain: the amount given to pay prices the
// preapproveinvoice call it makes, found by id chain.
func TestAmountlessChain(t *testing.T) {
	g := guard(t, "0.001btc")
	code, _ := verdict(t, g, hook("pay", "cli:pay#1", []any{invAny, "0.0005btc"}))
	assert.Equal(t, code, int64(0))
	code, _ = verdict(t, g, hook("pay", "cli:pay#2", []any{invAny, "0.002btc"}))
	assert.Equal(t, code, int64(refuse.CodeOverLimit))

	code, _ = verdict(t, g, hook("preapproveinvoice", "cli:pay#1/cln:pay#7/pay:preapproveinvoice#1", map[string]any{"bolt11": invAny}))
	assert.Equal(t, code, int64(0))
	code, data := verdict(t, g, hook("preapproveinvoice", "cli:pay#2/cln:xpay-as-pay#8/cln-xpay:preapproveinvoice#2", map[string]any{"bolt11": invAny}))
	assert.Equal(t, code, int64(refuse.CodeOverLimit))
	assert.Equal(t, data["amount_msat"], float64(200_000_000))
	// Not the invoice that command paid, or not its command: unknown.
	code, _ = verdict(t, g, hook("preapproveinvoice", "cli:pay#1/x", map[string]any{"bolt11": lnoAny}))
	assert.Equal(t, code, int64(refuse.CodeUnverified))
	code, _ = verdict(t, g, hook("preapproveinvoice", "cli:pay#10/x", map[string]any{"bolt11": invAny}))
	assert.Equal(t, code, int64(refuse.CodeUnverified))
	code, _ = verdict(t, g, hook("preapproveinvoice", "cli:pay#1x/y", map[string]any{"bolt11": invAny}))
	assert.Equal(t, code, int64(refuse.CodeUnverified))
	// Legacy pay before v24.05 does not chain ids: the largest amount any
	// command gave with the invoice applies.
	code, _ = verdict(t, g, hook("preapproveinvoice", "pay:preapproveinvoice#4", map[string]any{"bolt11": invAny}))
	assert.Equal(t, code, int64(refuse.CodeOverLimit))
}

// TestXpayTakesPay: pay is refused directly until a preapproveinvoice id
// shows xpay rewriting pay; then preapproveinvoice refuses it instead.
func TestXpayTakesPay(t *testing.T) {
	g := guard(t, "0.001btc")
	over := hook("pay", "cli:pay#1", []any{inv2m})
	code, _ := verdict(t, g, over)
	assert.Equal(t, code, int64(refuse.CodeOverLimit))

	verdict(t, g, hook("preapproveinvoice", "cli:pay#2/cln:xpay-as-pay#3/cln-xpay:preapproveinvoice#1", []any{inv100u}))
	code, _ = verdict(t, g, over)
	assert.Equal(t, code, int64(0), "xpay rewrites pay: refusing it would be ignored")
	code, _ = verdict(t, g, hook("xpay", "cli:xpay#3", []any{inv2m}))
	assert.Equal(t, code, int64(refuse.CodeOverLimit), "xpay itself is never rewritten")

	verdict(t, g, hook("preapproveinvoice", "cli:pay#4/cln:pay#5/pay:preapproveinvoice#2", []any{inv100u}))
	code, _ = verdict(t, g, over)
	assert.Equal(t, code, int64(refuse.CodeOverLimit))
}

func TestNoLimitYet(t *testing.T) {
	g := New(nil, "")
	code, _ := verdict(t, g, hook("xpay", "a", []any{inv100u}))
	assert.Equal(t, code, int64(refuse.CodeUnverified))
	code, _ = verdict(t, g, hook("getinfo", "b", []any{}))
	assert.Equal(t, code, int64(0))
}

func TestSetLimit(t *testing.T) {
	g := guard(t, "0.001btc")
	assert.ErrorContains(t, g.Options.SetLimit("lots"), "amount: ")
	assert.ErrorContains(t, g.Options.CheckLimit("1.5sat"), "amount: ")
	assert.NilError(t, g.Options.CheckLimit("1sat"))
	m, ok := g.Options.Limit()
	assert.Assert(t, ok)
	assert.Equal(t, uint64(m), uint64(100_000_000), "a rejected limit leaves the old one")
}

func TestFallback(t *testing.T) {
	g := guard(t, "0.001btc")
	boom := errors.New("boom")
	for _, tt := range []struct {
		params string
		code   int64
	}{
		{`{"rpc_command":{"method":"getinfo","id":1,"params":[]}}`, 0},
		{`{"rpc_command":{"method":"pay","id":1,"params":[]}}`, refuse.CodeUnverified},
		{`{"rpc_command":{"method":"preapproveinvoice","id":1,"params":{"bolt11":"ln`, refuse.CodeUnverified},
		{`{"rpc_command":{"params":["lnbc`, refuse.CodeUnverified},
		{`{"rpc_comm`, refuse.CodeUnverified},
	} {
		b, _ := json.Marshal(g.Fallback(jsonrpc.Value(tt.params), boom))
		if tt.code == 0 {
			assert.Equal(t, string(b), `{"result":"continue"}`)
			continue
		}
		assert.Assert(t, is.Contains(string(b), fmt.Sprintf(`"code":%d`, tt.code)), tt.params)
	}
	b, _ := json.Marshal(g.Fallback(jsonrpc.Value(`{"rpc_command":{"method":"keysend"`), jsonrpc.ErrTruncated))
	assert.Assert(t, is.Contains(string(b), "too large to check"))
}

func TestFiltersCoverPolicy(t *testing.T) {
	for _, f := range Filters() {
		assert.Assert(t, kindOf(f) != untouched, f)
	}
}

// TestXpayDeclines: a pay xpay does not rewrite (three positional
// parameters) runs as legacy pay: refused at pay itself, and its legacy
// preapproveinvoice does not make the guard think xpay stopped taking pay.
func TestXpayDeclines(t *testing.T) {
	g := guard(t, "0.001btc")
	g.intents.SetXpayTakesPay(true)
	code, _ := verdict(t, g, hook("pay", "cli:pay#1", []any{inv2m, nil, "label"}))
	assert.Equal(t, code, int64(refuse.CodeOverLimit))
	code, _ = verdict(t, g, hook("pay", "cli:pay#2", []any{inv100u, nil, "label"}))
	assert.Equal(t, code, int64(0))
	verdict(t, g, hook("preapproveinvoice", "cli:pay#2/cln:pay#5/pay:preapproveinvoice#2", []any{inv100u}))
	assert.Assert(t, g.intents.XpayTakesPay())
	code, _ = verdict(t, g, hook("pay", "cli:pay#3", []any{inv2m}))
	assert.Equal(t, code, int64(0), "rewritten by xpay: refused at its preapproveinvoice")
}
