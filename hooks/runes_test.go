package hooks

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/hooks/refuse"
	"github.com/payupto/pay-up-to/jsonrpc"
	"github.com/payupto/pay-up-to/jsonrpc/jsonrpctest"
)

// fakeShowrunes answers showrunes over conn: our_rune false for runes
// in forged, blacklisted for those in revoked.
func fakeShowrunes(conn net.Conn, forged, revoked map[string]bool) {
	jsonrpctest.Serve(conn, func(method string, params json.RawMessage) string {
		var p struct{ Rune string }
		if method != "showrunes" || json.Unmarshal(params, &p) != nil {
			return ""
		}
		return fmt.Sprintf(`{"runes":[{"rune":%q,"unique_id":"5"%s%s}]}`, p.Rune,
			map[bool]string{true: `,"our_rune":false`}[forged[p.Rune]],
			map[bool]string{true: `,"blacklisted":true`}[revoked[p.Rune]])
	})
}

// mkRune makes a rune with these restrictions (its hash is no one's).
func mkRune(restr string) string {
	return base64.URLEncoding.EncodeToString(append(make([]byte, 32), restr...))
}

// runeGuard is a guard on lightningd v26.06 with its records read, whose
// connection answers showrunes as fakeShowrunes does.
func runeGuard(t *testing.T, forged, revoked map[string]bool) *Guard {
	g := guard(t, "0.01btc")
	g.cln.Store(2606)
	g.ledger.Load(nil, ledger.Saved{}, "02self")
	ours, theirs := net.Pipe()
	go fakeShowrunes(theirs, forged, revoked)
	c := jsonrpc.NewClient(ours, "pay-up-to")
	t.Cleanup(func() { c.Close() })
	g.rpc.Store(c)
	return g
}

// TestRuneAllowances: checkrune refuses what a rune's allowance cannot
// cover; the command that follows is charged to the rune only when
// lightningd made the rune and has not revoked it.
func TestRuneAllowances(t *testing.T) {
	good, forged, revoked := mkRune("=5"), mkRune("=5&method=xpay"), mkRune("=5&x=1")
	g := runeGuard(t, map[string]bool{forged: true}, map[string]bool{revoked: true})

	checkrune := func(rune string, params any) jsonrpc.Value {
		return hook("checkrune", "cln:custommsg#1/commando:checkrune#2", map[string]any{"nodeid": destination, "rune": rune, "method": "xpay", "params": params})
	}
	// No allowance: the node's guard only, unless one is required.
	code, _ := verdict(t, g, checkrune(good, []any{inv1m}))
	assert.Equal(t, code, int64(0))
	assert.NilError(t, g.Options.SetRuneRequired("true"))
	code, data := verdict(t, g, checkrune(good, []any{inv1m}))
	assert.Equal(t, code, int64(refuse.CodeRuneAllowance))
	assert.Equal(t, data["rune_id"], "5")
	assert.NilError(t, g.Options.SetRuneRequired("false"))

	_, err := g.Operator.ServeSetAllowance(jsonrpc.Value(`["5", "0.0015btc", "0.002btc/1d"]`))
	assert.NilError(t, err)
	// Above its limit.
	code, data = verdict(t, g, checkrune(good, []any{inv2m}))
	assert.Equal(t, code, int64(refuse.CodeRuneAllowance))
	assert.Equal(t, data["limit_exceeded"], "0.0015btc")
	// A forged or revoked rune naming it continues (lightningd refuses
	// it) and is charged nothing; its command is not the rune's.
	for _, r := range []string{forged, revoked} {
		code, _ = verdict(t, g, checkrune(r, []any{inv1m}))
		assert.Equal(t, code, int64(0))
		code, _ = verdict(t, g, hook("xpay", "1/commando:xpay#3", []any{inv1m}))
		assert.Equal(t, code, int64(0))
		assert.Equal(t, g.Operator.Status().Runes[0].Budgets[0].ReservedMSat, uint64(0))
	}
	// The real one: its command is reserved in the rune's budget.
	code, _ = verdict(t, g, checkrune(good, []any{inv1m}))
	assert.Equal(t, code, int64(0))
	code, _ = verdict(t, g, hook("xpay", "1/commando:xpay#4", []any{inv1m}))
	assert.Equal(t, code, int64(0))
	assert.Equal(t, g.Operator.Status().Runes[0].Budgets[0].ReservedMSat, uint64(101_000_000))
	// Another: 0.00101btc more is beyond its 0.002btc a day, at checkrune.
	code, data = verdict(t, g, checkrune(good, map[string]any{"invstring": inv1m}))
	assert.Equal(t, code, int64(refuse.CodeRuneAllowance))
	assert.Equal(t, data["budget_exceeded"], "0.002btc/1d")
	assert.Equal(t, data["used_msat"], float64(101_000_000))
	// Two checkruns pass before either command comes: the second command
	// is refused, not the node's.
	_, err = g.Operator.ServeSetAllowance(jsonrpc.Value(`{"rune_id":"5","budget":"0.0025btc/1d"}`))
	assert.NilError(t, err)
	for range 2 {
		code, _ = verdict(t, g, checkrune(good, []any{inv100u}))
		assert.Equal(t, code, int64(0))
	}
	code, _ = verdict(t, g, hook("xpay", "1/commando:xpay#5", []any{inv100u}))
	assert.Equal(t, code, int64(0))
	_, err = g.Operator.ServeSetAllowance(jsonrpc.Value(`{"rune_id":"5","budget":"0.00112btc/1d"}`))
	assert.NilError(t, err)
	code, data = verdict(t, g, hook("xpay", "1/commando:xpay#6", []any{inv100u}))
	assert.Equal(t, code, int64(refuse.CodeRuneAllowance), "%v", data)

	st := g.Operator.Status()
	assert.Equal(t, len(st.Runes), 1)
	b, _ := json.Marshal(st.Runes[0])
	assert.Assert(t, is.Contains(string(b), `"rune_id":"5"`))
	_, err = g.Operator.ServeDelAllowance(jsonrpc.Value(`["5"]`))
	assert.NilError(t, err)
	_, err = g.Operator.ServeDelAllowance(jsonrpc.Value(`["5"]`))
	assert.Assert(t, err != nil)
	g.cln.Store(2302)
	_, err = g.Operator.ServeSetAllowance(jsonrpc.Value(`["5", "1sat"]`))
	assert.Assert(t, is.ErrorContains(err, "checkrune"))
}

// TestRuneUnpriced: a payment checkrune cannot price (a BIP353 name) is
// charged to the rune at its preapproveinvoice call, with the fee
// allowance of that call.
func TestRuneUnpriced(t *testing.T) {
	g := runeGuard(t, nil, nil)
	rune := mkRune("=5")
	_, err := g.Operator.ServeSetAllowance(jsonrpc.Value(`["5", null, "0.0015btc/1d"]`))
	assert.NilError(t, err)
	code, _ := verdict(t, g, hook("checkrune", "cln:custommsg#1/commando:checkrune#2", map[string]any{"rune": rune, "method": "xpay", "params": []any{"alice@example.com"}}))
	assert.Equal(t, code, int64(0))
	code, _ = verdict(t, g, hook("xpay", "1/commando:xpay#3", []any{"alice@example.com"}))
	assert.Equal(t, code, int64(0))
	code, _ = verdict(t, g, hook("preapproveinvoice", "1/commando:xpay#3/cln:xpay#4/cln-xpay:preapproveinvoice#5", map[string]any{"bolt11": inv1m}))
	assert.Equal(t, code, int64(0))
	assert.Equal(t, g.Operator.Status().Runes[0].Budgets[0].ReservedMSat, uint64(101_000_000))
	// The next is beyond the rune's budget, refused at its preapprove call.
	code, _ = verdict(t, g, hook("checkrune", "cln:custommsg#6/commando:checkrune#7", map[string]any{"rune": rune, "method": "xpay", "params": []any{"bob@example.com"}}))
	assert.Equal(t, code, int64(0))
	verdict(t, g, hook("xpay", "1/commando:xpay#8", []any{"bob@example.com"}))
	code, data := verdict(t, g, hook("preapproveinvoice", "1/commando:xpay#8/cln:xpay#9/cln-xpay:preapproveinvoice#10", map[string]any{"bolt11": inv1m}))
	assert.Equal(t, code, int64(refuse.CodeRuneAllowance), "%v", data)
}
