package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/payupto/pay-up-to/integration/lnnet"
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

// payResult is what the tests read from any pay command's answer.
type payResult struct {
	PaymentHash     string `json:"payment_hash"`
	PaymentPreimage string `json:"payment_preimage"`
	Status          string `json:"status"` // pay, renepay, keysend; xpay has none
}

// hash is the payment hash, or that of the preimage (xpay gives only it).
func (r payResult) hash(t *testing.T) string {
	t.Helper()
	if r.PaymentHash != "" {
		return r.PaymentHash
	}
	p, err := hex.DecodeString(r.PaymentPreimage)
	assert.NilError(t, err, "no payment hash or preimage in %+v", r)
	h := sha256.Sum256(p)
	return hex.EncodeToString(h[:])
}

// completed checks that a payment from l1 to l3 went through: no error,
// status complete (where the command has one), a complete HTLC in l1's
// listsendpays, and l3's invoice paid.
func completed(t *testing.T, l1, l3 *node, e *rpcError, r payResult) {
	t.Helper()
	assert.Assert(t, e == nil, "payment failed: %v", e)
	if r.Status != "" {
		assert.Equal(t, r.Status, "complete")
	}
	hash := r.hash(t)
	done := 0
	for _, p := range l1.sendpays(hash) {
		if p.Status == "complete" {
			done++
		}
	}
	assert.Assert(t, done > 0, "no complete listsendpays row for %s: %+v", hash, l1.sendpays(hash))
	assert.Equal(t, l3.invoiceStatus(hash), "paid")
}

// noHTLC runs pay, which must be refused, and checks that no HTLC left
// l1: no new listsendpays row and l1's balance with l2 unchanged.
func noHTLC(t *testing.T, l1, l2 *node, pay func()) {
	t.Helper()
	l1.settled()
	rows, bal := len(l1.sendpays("")), l1.balance(l2)
	pay()
	assert.Equal(t, len(l1.sendpays("")), rows, "a refused payment sent an HTLC")
	assert.Equal(t, l1.balance(l2), bal, "a refused payment moved l1's balance")
}

// cliJSON is what lightning-cli printed, past the "# …" notification
// lines it prints first.
func cliJSON(out string) []byte {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	return []byte(strings.Join(lines, "\n"))
}

// cliError reads the error lightning-cli printed.
func cliError(t *testing.T, out string) *rpcError {
	t.Helper()
	var e rpcError
	assert.NilError(t, json.Unmarshal(cliJSON(out), &e), out)
	return &e
}

// cliResult reads the result lightning-cli printed.
func cliResult(t *testing.T, out string) payResult {
	t.Helper()
	var r payResult
	assert.NilError(t, json.Unmarshal(cliJSON(out), &r), out)
	return r
}

// payMode is one way `pay` can run on this lightningd: through xpay
// (xpay-handle-pay true, the default since v26.06) or the legacy pay plugin.
type payMode struct {
	name   string
	opts   []string // l1's options for it
	shared bool     // the shared line's l1 runs so
}

func payModes(t *testing.T) []payMode {
	l1, _, _ := sharedLine(t)
	if !l1.hasConfig("xpay-handle-pay") {
		return []payMode{{"legacy pay", nil, true}}
	}
	var r struct {
		Configs map[string]struct {
			ValueBool bool `json:"value_bool"`
		}
	}
	l1.must("listconfigs", map[string]any{"config": "xpay-handle-pay"}, &r)
	def := r.Configs["xpay-handle-pay"].ValueBool
	var modes []payMode
	for _, v := range []bool{true, false} {
		modes = append(modes, payMode{fmt.Sprintf("xpay-handle-pay=%v", v), []string{fmt.Sprintf("--xpay-handle-pay=%v", v)}, v == def})
	}
	return modes
}

// line is the l1–l2–l3 whose l1 pays in this mode with pay-up-to loaded.
func (m payMode) line(t *testing.T) (l1, l2, l3 *node) {
	if m.shared {
		return sharedLine(t)
	}
	return cachedLine(t, m.opts)
}

// TestUserScenario is the README's scenario, verbatim through
// lightning-cli, on a fresh line whose l1 starts without the guard.
func TestUserScenario(t *testing.T) {
	for _, mode := range payModes(t) {
		t.Run(mode.name, func(t *testing.T) {
			l1, l2, l3 := newLine(t, mode.opts)
			_, code := l1.cli("-k", "plugin", "subcommand=start", "plugin="+plugin, "limit=0.001btc")
			assert.Equal(t, code, 0)

			big := l3.invoice("0.002btc")
			noHTLC(t, l1, l2, func() {
				out, code := l1.cli("pay", big)
				assert.Assert(t, code != 0, "lightning-cli must exit non-zero on a refusal")
				refusal(t, cliError(t, out), map[string]any{"invoice_too_high": "0.002btc", "maximum_is": "0.001btc", "bolt11": big})
			})

			out, code := l1.cli("pay", l3.invoice("0.0001btc"))
			assert.Equal(t, code, 0, out)
			completed(t, l1, l3, nil, cliResult(t, out))
			l1.checkAlive()
		})
	}
}

// TestParamsTwice: a spend that gives a parameter twice by name, small
// and large in either order, is refused with nothing leaving. lightningd
// refuses such a call ("duplicate json names"), but with
// xpay-handle-pay xpay rewrites pay first and pays the last bolt11
// (observed on v26.06.6), so the guard may not pick one either.
func TestParamsTwice(t *testing.T) {
	for _, mode := range payModes(t) {
		t.Run(mode.name, func(t *testing.T) {
			l1, l2, l3 := mode.line(t)
			small, big := l3.invoice("0.0001btc"), l3.invoice("0.002btc")
			twice := func(name, a, b string) string {
				return fmt.Sprintf(`"%s":%s,"%s":%s`, name, a, name, b)
			}
			q := strconv.Quote
			cases := map[string]struct{ method, params string }{
				"pay, bolt11 twice":            {"pay", twice("bolt11", q(small), q(big))},
				"pay, a name then an invoice":  {"pay", twice("bolt11", `"a@example.com"`, q(big))},
				"pay, bolt11 and invstring":    {"pay", `"invstring":` + q(small) + `,"bolt11":` + q(big)},
				"xpay, a name then an invoice": {"xpay", twice("invstring", `"a@example.com"`, q(big))},
				"xpay, invstring twice":        {"xpay", twice("invstring", q(small), q(big))},
				"keysend, amount_msat twice":   {"keysend", `"destination":"` + l3.ID + `",` + twice("amount_msat", "1000", "200000000")},
				"sendpay, payment_hash twice":  {"sendpay", `"route":[],` + twice("payment_hash", q(strings.Repeat("11", 32)), q(l3.paymentHash(big)))},
			}
			for name, c := range cases {
				t.Run(name, func(t *testing.T) {
					if !l1.has(c.method) {
						t.Skipf("lightningd %s has no %s", version, c.method)
					}
					noHTLC(t, l1, l2, func() {
						e := l1.call(c.method, json.RawMessage("{"+c.params+"}"), nil)
						assert.Assert(t, e != nil, "not refused")
						// Refused by the guard (2101), or, once xpay
						// rewrote pay to the last bolt11, at its
						// preapproveinvoice (2100); some lightningd
						// refuse pay given both names (-32602).
						ok := e.Code == 2101 || e.Code == 2100 || c.method == "pay" && e.Code == -32602
						assert.Assert(t, ok, "%v", e)
					})
				})
			}
			t.Run("withdraw, satoshi twice", func(t *testing.T) {
				nothingLeaves(t, 2101, func() *rpcError {
					return l1.call("withdraw", json.RawMessage(`{"destination":"`+l2.newAddr()+`",`+twice("satoshi", "1000", "2000000")+`}`), nil)
				})
			})
			// A spend given once still pays.
			var r payResult
			completed(t, l1, l3, l1.call("pay", json.RawMessage(`{"bolt11":`+q(small)+`}`), &r), r)
			l1.checkAlive()
		})
	}
}

// TestBoundary: an amount equal to the limit is paid, one msat more is
// refused, on the shared line (limit 0.001btc = 100000000msat).
func TestBoundary(t *testing.T) {
	l1, l2, l3 := sharedLine(t)
	equal, over := "100000000msat", "100000001msat"
	for _, cmd := range []string{"pay", "xpay", "renepay"} {
		t.Run(cmd, func(t *testing.T) {
			if !l1.has(cmd) {
				t.Skipf("lightningd %s has no %s", version, cmd)
			}
			var r payResult
			completed(t, l1, l3, l1.call(cmd, []any{l3.invoice(equal)}, &r), r)
			inv := l3.invoice(over)
			noHTLC(t, l1, l2, func() {
				refusal(t, l1.call(cmd, []any{inv}, nil), map[string]any{"amount_msat": 100000001.0, "maximum_msat": 100000000.0, "invoice_too_high": "0.00100000001btc", "bolt11": inv})
			})
		})
	}
	t.Run("keysend", func(t *testing.T) {
		var r payResult
		completed(t, l1, l3, l1.call("keysend", []any{l3.ID, equal}, &r), r)
		noHTLC(t, l1, l2, func() {
			refusal(t, l1.call("keysend", []any{l3.ID, over}, nil), map[string]any{"amount_too_high": "0.00100000001btc", "destination": l3.ID})
		})
	})
	l1.checkAlive()
}

// payFunc pays l3 from l1 one way; data is what a refusal must carry.
type payFunc func(l1, l3 *node) (e *rpcError, data map[string]any, r payResult)

type spendCase struct {
	name  string
	needs string // command lightningd must have
	call  payFunc
	over  bool
}

// spendCases pays l3 from l1 every way CLN offers.
func spendCases() []spendCase {
	inv := func(method, amount string, extra ...any) payFunc {
		return func(l1, l3 *node) (e *rpcError, data map[string]any, r payResult) {
			i := l3.invoice(amount)
			return l1.call(method, append([]any{i}, extra...), &r), map[string]any{"bolt11": i}, r
		}
	}
	kw := func(method, key, amount string, amt string) payFunc {
		return func(l1, l3 *node) (e *rpcError, data map[string]any, r payResult) {
			i := l3.invoice(amount)
			p := map[string]any{key: i}
			if amt != "" {
				p["amount_msat"] = amt
			}
			return l1.call(method, p, &r), map[string]any{"bolt11": i}, r
		}
	}
	ks := func(method, amount string) payFunc {
		return func(l1, l3 *node) (e *rpcError, data map[string]any, r payResult) {
			return l1.call(method, []any{l3.ID, amount}, &r), map[string]any{"destination": l3.ID}, r
		}
	}
	offer := func(method, amount string, extra ...any) payFunc {
		return func(l1, l3 *node) (e *rpcError, data map[string]any, r payResult) {
			o := l3.offer(amount)
			return l1.call(method, append([]any{o}, extra...), &r), map[string]any{"offer": o}, r
		}
	}
	lni := func(method, amount string) payFunc {
		return func(l1, l3 *node) (e *rpcError, data map[string]any, r payResult) {
			var f struct{ Invoice string }
			o := l3.offer(amount)
			// Nodes rate-limit onion messages; the tests send many.
			for try := 0; ; try++ {
				e := l1.call("fetchinvoice", map[string]any{"offer": o, "timeout": 5}, &f)
				if e == nil || try == 5 {
					assert.Assert(l1.t, e == nil, "fetchinvoice: %v", e)
					break
				}
				time.Sleep(time.Second)
			}
			return l1.call(method, []any{f.Invoice}, &r), map[string]any{"bolt11": f.Invoice}, r
		}
	}
	var cases []spendCase
	add := func(name, needs string, over, under payFunc) {
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

// TestSpendPaths pays l3 from l1 over two hops every way CLN offers, with
// xpay taking over pay and without: over the limit it is refused and no
// HTLC leaves l1; under it, the payment completes.
func TestSpendPaths(t *testing.T) {
	for _, mode := range payModes(t) {
		for _, client := range clients {
			t.Run(mode.name+"/"+client.name, func(t *testing.T) {
				l1, l2, l3 := mode.line(t)
				spendPaths(t, l1.sameID(client.id), l2, l3)
			})
		}
	}
}

// clients are the ways clients choose JSON-RPC ids: unique ones, or the
// same on every connection (ids are unique per connection only).
var clients = []struct {
	name string
	id   any
}{{"unique ids", nil}, {"id 1 on every connection", 1}}

func spendPaths(t *testing.T, l1, l2, l3 *node) {
	for _, c := range spendCases() {
		t.Run(c.name, func(t *testing.T) {
			if !l1.has(c.needs) || !l3.has(c.needs) {
				t.Skipf("lightningd %s has no %s", version, c.needs)
			}
			if !c.over {
				e, _, r := c.call(l1, l3)
				if e != nil && strings.Contains(e.Message, "unexpected prefix lno") {
					t.Skipf("lightningd %s cannot pay an offer this way (xpay can since v25.09): %s", version, e.Message)
				}
				completed(t, l1, l3, e, r)
				return
			}
			noHTLC(t, l1, l2, func() {
				e, data, _ := c.call(l1, l3)
				data["maximum_is"] = "0.001btc"
				refusal(t, e, data)
				if inv, ok := data["bolt11"].(string); ok {
					assert.Equal(t, len(l1.sendpays(l1.paymentHash(inv))), 0)
				}
			})
		})
	}
	l1.checkAlive()
}

// TestMultiPart: a payment larger than any of l1's channels to l2
// completes in several parts.
func TestMultiPart(t *testing.T) {
	nw := getNetwork(t)
	l1 := startNode(t, nil, "plugin="+plugin, "limit=0.001btc")
	l2, l3 := startNode(t, nil), startNode(t, nil)
	const parallel, small = 6, 40_000 // six channels of 40000sat; parts of 60000sat
	// One coin per channel, and one more for the emergency reserve that
	// anchor channels keep on chain.
	l1s := make([]*lnnet.Node, parallel+1)
	for i := range l1s {
		l1s[i] = l1.Node
	}
	assert.NilError(t, nw.Fund(small+20_000, l1s...))
	assert.NilError(t, nw.Fund(channelSat+1_000_000, l2.Node))
	for range parallel {
		assert.NilError(t, nw.OpenChannel(l1.Node, l2.Node, small))
	}
	assert.NilError(t, nw.OpenChannel(l2.Node, l3.Node, channelSat))
	assert.NilError(t, nw.Routable(l1.Node, l2.Node, l3.Node))
	for _, cmd := range []string{"pay", "xpay", "renepay"} {
		t.Run(cmd, func(t *testing.T) {
			if !l1.has(cmd) {
				t.Skipf("lightningd %s has no %s", version, cmd)
			}
			var r payResult
			completed(t, l1, l3, l1.call(cmd, []any{l3.invoice("0.0006btc")}, &r), r)
			l1.settled() // xpay returns at the first part's success
			parts := map[[2]int64]bool{}
			for _, p := range l1.sendpays(r.hash(t)) {
				if p.Status == "complete" {
					parts[[2]int64{p.GroupID, p.PartID}] = true
				}
			}
			assert.Assert(t, len(parts) > 1, "paid in %d part(s)", len(parts))
		})
	}
	l1.checkAlive()
}

// TestOfferInCurrency: an offer priced in USD cannot be priced in msat.
func TestOfferInCurrency(t *testing.T) {
	l1, _, _ := sharedLine(t)
	if !l1.has("xpay") {
		t.Skipf("lightningd %s has no xpay", version)
	}
	// BOLT12 test vector "with currency": USD 100.00.
	usd := "lno1qcp4256ypqpzwyq2p32x2um5ypmx2cm5dae8x93pqthvwfzadd7jejes8q9lhc4rvjxd022zv5l44g6qah82ru5rdpnpj"
	e := l1.call("xpay", []any{usd}, nil)
	assert.Assert(t, e != nil)
	assert.Equal(t, e.Code, int64(codeUnverified), "%v", e)
	assert.Assert(t, is.Contains(e.Message, "USD"))
	l1.checkAlive()
}

// TestSetconfig changes the limit at runtime: the same invoice is refused,
// then paid once the limit is raised.
func TestSetconfig(t *testing.T) {
	l1, l2, l3 := sharedLine(t)
	if !l1.has("setconfig") {
		t.Skipf("lightningd %s has no setconfig", version)
	}
	t.Cleanup(func() { l1.must("setconfig", []any{"limit", "0.001btc"}, nil) })
	inv := l3.invoice("0.0001btc")
	l1.must("setconfig", []any{"limit", "5000sat"}, nil)
	noHTLC(t, l1, l2, func() {
		refusal(t, l1.call("pay", []any{inv}, nil), map[string]any{"maximum_is": "0.00005btc", "invoice_too_high": "0.0001btc"})
	})

	e := l1.call("setconfig", []any{"limit", "lots"}, nil)
	assert.Assert(t, e != nil, "an invalid limit must be rejected")
	assert.Assert(t, is.Contains(e.Message, "lots"))
	// Reasons read cleanly: lightningd escapes them again, so they carry
	// no quotes of their own to turn into backslashes.
	for _, bad := range [][]string{{"limit", "banana"}, {"budget", "lots/1d"}, {"trusted-destinations", "nonsense"}} {
		out, code := l1.cli(append([]string{"setconfig"}, bad...)...)
		assert.Assert(t, code != 0, "setconfig %v accepted", bad)
		assert.Assert(t, is.Contains(out, bad[1]), "%s", out)
		assert.Assert(t, !strings.Contains(out, `\`), "%s", out)
	}
	noHTLC(t, l1, l2, func() {
		refusal(t, l1.call("pay", []any{inv}, nil), map[string]any{"maximum_is": "0.00005btc"})
	})

	l1.must("setconfig", []any{"limit", "0.001btc"}, nil)
	var r payResult
	completed(t, l1, l3, l1.call("pay", []any{inv}, &r), r)
	l1.checkAlive()
}

// TestImportantPlugin loads the guard from the config file; without a limit
// the node must not start unguarded.
func TestImportantPlugin(t *testing.T) {
	_, _, l3 := sharedLine(t)
	n1 := startNode(t, nil, "important-plugin="+plugin, "limit=0.001btc")
	inv := l3.invoice("0.002btc")
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
		assert.Assert(t, !strings.Contains(e.Message, `\`), "%s", e.Message)
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
