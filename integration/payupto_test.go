package integration

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// Codes pay-up-to refuses with (hooks.CodeOverLimit, hooks.CodeUnverified).
const (
	codeOverLimit  = 2100
	codeUnverified = 2101
)

// refusal checks that e is pay-up-to's over-limit refusal with these data
// fields.
func refusal(t *testing.T, e *rpcError, fields map[string]any) {
	t.Helper()
	assert.Assert(t, e != nil, "payment was not refused")
	assert.Equal(t, e.Code, int64(codeOverLimit), "%v", e)
	assert.Assert(t, is.Contains(e.Message, "is above the limit"))
	var data map[string]any
	assert.NilError(t, json.Unmarshal(e.Data, &data), "%v", e)
	for k, v := range fields {
		assert.DeepEqual(t, data[k], v)
	}
}

// proceeded checks that a payment got past the guard: with no channels it
// fails in lightningd's own routing, never with one of our codes.
func proceeded(t *testing.T, e *rpcError) {
	t.Helper()
	if e == nil {
		return
	}
	assert.Assert(t, e.Code != codeOverLimit && e.Code != codeUnverified && !strings.Contains(e.Message, "pay-up-to"), "refused: %v", e)
}

// cliError reads the error lightning-cli printed, past the "# …"
// notification lines it prints first.
func cliError(t *testing.T, out string) *rpcError {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	var e rpcError
	assert.NilError(t, json.Unmarshal([]byte(strings.Join(lines, "\n")), &e), out)
	return &e
}

// payModes are the ways `pay` can run on this lightningd: through xpay
// (xpay-handle-pay true, the default since v25) or the legacy pay plugin.
func payModes(t *testing.T) map[string][]string {
	probe := startNode(t, nil)
	defer probe.stop()
	if !probe.hasConfig("xpay-handle-pay") {
		return map[string][]string{"legacy pay": nil}
	}
	return map[string][]string{
		"xpay-handle-pay=true":  {"--xpay-handle-pay=true"},
		"xpay-handle-pay=false": {"--xpay-handle-pay=false"},
	}
}

// TestUserScenario is the README's scenario, verbatim through lightning-cli.
func TestUserScenario(t *testing.T) {
	for mode, opts := range payModes(t) {
		t.Run(mode, func(t *testing.T) {
			n1, n2 := startNode(t, opts), startNode(t, nil)
			_, code := n1.cli("-k", "plugin", "subcommand=start", "plugin="+plugin, "limit=0.001btc")
			assert.Equal(t, code, 0)

			big := n2.invoice("0.002btc")
			out, code := n1.cli("pay", big)
			assert.Assert(t, code != 0, "lightning-cli must exit non-zero on a refusal")
			refusal(t, cliError(t, out), map[string]any{"invoice_too_high": "0.002btc", "maximum_is": "0.001btc", "bolt11": big})

			out, _ = n1.cli("pay", n2.invoice("0.0001btc"))
			proceeded(t, cliError(t, out))
			n1.checkAlive()
		})
	}
}

// TestBoundary: an amount equal to the limit passes, one msat more does not.
func TestBoundary(t *testing.T) {
	n1 := startNode(t, nil, "plugin="+plugin, "limit=100000000msat")
	n2 := startNode(t, nil)
	equal, over := "100000000msat", "100000001msat"
	for _, cmd := range []string{"pay", "xpay", "renepay"} {
		if !n1.has(cmd) {
			continue
		}
		t.Run(cmd, func(t *testing.T) {
			proceeded(t, n1.call(cmd, []any{n2.invoice(equal)}, nil))
			inv := n2.invoice(over)
			refusal(t, n1.call(cmd, []any{inv}, nil), map[string]any{"amount_msat": 100000001.0, "maximum_msat": 100000000.0, "invoice_too_high": "0.00100000001btc", "bolt11": inv})
		})
	}
	t.Run("keysend", func(t *testing.T) {
		proceeded(t, n1.call("keysend", []any{n2.id, equal}, nil))
		refusal(t, n1.call("keysend", []any{n2.id, over}, nil), map[string]any{"amount_too_high": "0.00100000001btc", "destination": n2.id})
	})
	n1.checkAlive()
}

type spendCase struct {
	name  string
	needs string // command lightningd must have
	call  func(n1, n2 *node) (*rpcError, map[string]any)
	over  bool
}

// spendCases pays node 2 from node 1 every way CLN offers; data is what a
// refusal must carry.
func spendCases() []spendCase {
	inv := func(method, amount string, extra ...any) func(n1, n2 *node) (*rpcError, map[string]any) {
		return func(n1, n2 *node) (*rpcError, map[string]any) {
			i := n2.invoice(amount)
			return n1.call(method, append([]any{i}, extra...), nil), map[string]any{"bolt11": i}
		}
	}
	kw := func(method, key, amount string, amt string) func(n1, n2 *node) (*rpcError, map[string]any) {
		return func(n1, n2 *node) (*rpcError, map[string]any) {
			i := n2.invoice(amount)
			p := map[string]any{key: i}
			if amt != "" {
				p["amount_msat"] = amt
			}
			return n1.call(method, p, nil), map[string]any{"bolt11": i}
		}
	}
	ks := func(method, amount string) func(n1, n2 *node) (*rpcError, map[string]any) {
		return func(n1, n2 *node) (*rpcError, map[string]any) {
			return n1.call(method, []any{n2.id, amount}, nil), map[string]any{"destination": n2.id}
		}
	}
	offer := func(method, amount string, extra ...any) func(n1, n2 *node) (*rpcError, map[string]any) {
		return func(n1, n2 *node) (*rpcError, map[string]any) {
			o := n2.offer(amount)
			return n1.call(method, append([]any{o}, extra...), nil), map[string]any{"offer": o}
		}
	}
	lni := func(method, amount string) func(n1, n2 *node) (*rpcError, map[string]any) {
		return func(n1, n2 *node) (*rpcError, map[string]any) {
			var r struct{ Invoice string }
			o := n2.offer(amount)
			// Nodes rate-limit onion messages; the tests send many.
			for try := 0; ; try++ {
				e := n1.call("fetchinvoice", map[string]any{"offer": o, "timeout": 5}, &r)
				if e == nil || try == 5 {
					assert.Assert(n1.t, e == nil, "fetchinvoice: %v", e)
					break
				}
				time.Sleep(time.Second)
			}
			return n1.call(method, []any{r.Invoice}, nil), map[string]any{"bolt11": r.Invoice}
		}
	}
	var cases []spendCase
	add := func(name, needs string, over, under func(n1, n2 *node) (*rpcError, map[string]any)) {
		cases = append(cases, spendCase{name + " over", needs, over, true}, spendCase{name + " under", needs, under, false})
	}
	add("pay bolt11", "pay", inv("pay", "0.002btc"), inv("pay", "0.0001btc"))
	add("pay -k bolt11", "pay", kw("pay", "bolt11", "200000sat", ""), kw("pay", "bolt11", "20000sat", ""))
	add("pay amountless", "pay", inv("pay", "any", "200000000msat"), inv("pay", "any", "5000sat"))
	add("pay -k amountless", "pay", kw("pay", "bolt11", "any", "0.0015btc"), kw("pay", "bolt11", "any", "0.0005btc"))
	add("xpay bolt11", "xpay", inv("xpay", "0.002btc"), inv("xpay", "0.0001btc"))
	add("xpay amountless", "xpay", kw("xpay", "invstring", "any", "200000sat"), kw("xpay", "invstring", "any", "2000sat"))
	add("renepay bolt11", "renepay", inv("renepay", "0.002btc"), inv("renepay", "0.0001btc"))
	add("renepay amountless", "renepay", inv("renepay", "any", 200000000), inv("renepay", "any", 2000000))
	add("keysend", "keysend", ks("keysend", "0.002btc"), ks("keysend", "2000sat"))
	add("xkeysend", "xkeysend", ks("xkeysend", "200000000"), ks("xkeysend", "2000000"))
	add("sendamount bolt11", "sendamount", inv("sendamount", "any", 200000000), inv("sendamount", "any", 2000000))
	add("sendamount offer", "sendamount", offer("sendamount", "any", 200000000), offer("sendamount", "any", 2000000))
	add("xpay offer", "xpay", offer("xpay", "0.002btc"), offer("xpay", "0.0001btc"))
	add("xpay amountless offer", "xpay", offer("xpay", "any", "0.002btc"), offer("xpay", "any", "0.0001btc"))
	add("pay bolt12 invoice", "offer", lni("pay", "0.002btc"), lni("pay", "0.0001btc"))
	add("xpay bolt12 invoice", "xpay", lni("xpay", "0.002btc"), lni("xpay", "0.0001btc"))
	return cases
}

// TestSpendPaths refuses every spend path over the limit and lets it run
// under, with xpay taking over pay and without.
func TestSpendPaths(t *testing.T) {
	for mode, opts := range payModes(t) {
		t.Run(mode, func(t *testing.T) {
			n1, n2 := startNode(t, opts), startNode(t, nil)
			n1.startPlugin("0.001btc")
			n1.connect(n2)
			for _, c := range spendCases() {
				t.Run(c.name, func(t *testing.T) {
					if !n1.has(c.needs) || !n2.has(c.needs) {
						t.Skipf("lightningd %s has no %s", version, c.needs)
					}
					e, data := c.call(n1, n2)
					if c.over {
						data["maximum_is"] = "0.001btc"
						refusal(t, e, data)
					} else {
						proceeded(t, e)
					}
				})
			}
			n1.checkAlive()
		})
	}
}

// TestOfferInCurrency: an offer priced in USD cannot be priced in msat.
func TestOfferInCurrency(t *testing.T) {
	n1 := startNode(t, nil)
	if !n1.has("xpay") {
		t.Skipf("lightningd %s has no xpay", version)
	}
	n1.startPlugin("0.001btc")
	// BOLT12 test vector "with currency": USD 100.00.
	usd := "lno1qcp4256ypqpzwyq2p32x2um5ypmx2cm5dae8x93pqthvwfzadd7jejes8q9lhc4rvjxd022zv5l44g6qah82ru5rdpnpj"
	e := n1.call("xpay", []any{usd}, nil)
	assert.Assert(t, e != nil)
	assert.Equal(t, e.Code, int64(codeUnverified), "%v", e)
	assert.Assert(t, is.Contains(e.Message, "USD"))
	n1.checkAlive()
}

// TestSetconfig changes the limit at runtime.
func TestSetconfig(t *testing.T) {
	n1, n2 := startNode(t, nil), startNode(t, nil)
	if !n1.has("setconfig") {
		t.Skipf("lightningd %s has no setconfig", version)
	}
	n1.startPlugin("0.001btc")
	inv := n2.invoice("0.0001btc")
	n1.must("setconfig", []any{"limit", "5000sat"}, nil)
	refusal(t, n1.call("pay", []any{inv}, nil), map[string]any{"maximum_is": "0.00005btc", "invoice_too_high": "0.0001btc"})

	e := n1.call("setconfig", []any{"limit", "lots"}, nil)
	assert.Assert(t, e != nil, "an invalid limit must be rejected")
	assert.Assert(t, is.Contains(e.Message, "lots"))
	refusal(t, n1.call("pay", []any{inv}, nil), map[string]any{"maximum_is": "0.00005btc"})

	n1.must("setconfig", []any{"limit", "0.001btc"}, nil)
	proceeded(t, n1.call("pay", []any{inv}, nil))
	n1.checkAlive()
}

// TestImportantPlugin loads the guard from the config file; without a limit
// the node must not start unguarded.
func TestImportantPlugin(t *testing.T) {
	n1 := startNode(t, nil, "important-plugin="+plugin, "limit=0.001btc")
	n2 := startNode(t, nil)
	inv := n2.invoice("0.002btc")
	refusal(t, n1.call("pay", []any{inv}, nil), map[string]any{"bolt11": inv})
	n1.checkAlive()

	for _, limit := range []string{"", "limit=lots"} {
		_, err := launch(t, nil, "important-plugin="+plugin, limit)
		assert.Assert(t, err != nil, "lightningd started with an important pay-up-to and %q", limit)
		assert.Assert(t, is.Contains(err.Error(), "pay-up-to: option limit"))
	}
}

// TestPluginStartErrors: plugin start fails loudly on a missing or bad limit.
func TestPluginStartErrors(t *testing.T) {
	n1 := startNode(t, nil)
	for limit, want := range map[string]string{"": "limit is required", "0.5": "decimals without a btc unit", "1e3": "not a number"} {
		p := map[string]any{"subcommand": "start", "plugin": plugin}
		if limit != "" {
			p["limit"] = limit
		}
		e := n1.call("plugin", p, nil)
		assert.Assert(t, e != nil, "plugin start with limit %q succeeded", limit)
		assert.Assert(t, is.Contains(e.Message, want))
	}
	var list struct{ Plugins []struct{ Name string } }
	n1.must("plugin", map[string]any{"subcommand": "list"}, &list)
	for _, p := range list.Plugins {
		assert.Assert(t, !strings.HasSuffix(p.Name, "pay-up-to"), "disabled plugin still listed")
	}
	n1.checkAlive()
}

// TestOtherCommandsUntouched: with the guard loaded, commands that do not
// spend behave as without it.
func TestOtherCommandsUntouched(t *testing.T) {
	n1 := startNode(t, nil)
	before := map[string]json.RawMessage{}
	cmds := map[string]any{"listfunds": nil, "listpeerchannels": nil, "listinvoices": nil, "decode": []any{"lno1qcp4256ypqpzwyq2p32x2um5ypmx2cm5dae8x93pqthvwfzadd7jejes8q9lhc4rvjxd022zv5l44g6qah82ru5rdpnpj"}}
	for c, p := range cmds {
		var r json.RawMessage
		if n1.call(c, p, &r) == nil {
			before[c] = r
		}
	}
	n1.startPlugin("1msat")
	for c, p := range cmds {
		var r json.RawMessage
		if e := n1.call(c, p, &r); e != nil {
			assert.Assert(t, before[c] == nil, "%s failed with the guard: %v", c, e)
			continue
		}
		assert.Equal(t, string(r), string(before[c]), c)
	}
	var inv struct{ Bolt11 string }
	n1.must("invoice", map[string]any{"amount_msat": "1btc", "label": "big", "description": "receiving is not spending"}, &inv)
	n1.must("getinfo", nil, nil)
	n1.checkAlive()
}
