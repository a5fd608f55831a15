package hooks

import (
	"encoding/json"
	"net"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/hooks/refuse"
	"github.com/payupto/pay-up-to/jsonrpc"
	"github.com/payupto/pay-up-to/jsonrpc/jsonrpctest"
)

const ourOtherNode = "03aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

// payeeGuard is a guard whose lightningd decodes inv2m as signed by
// ourOtherNode, lno2m as issued by it, and inv100u as signed by someone
// else; invAny it finds invalid.
func payeeGuard(t *testing.T) *Guard {
	g := guard(t, "0.001btc")
	g.cln.Store(2606)
	assert.NilError(t, g.Options.SetBudget("5000sat/1d"))
	g.ledger.Load(nil, ledger.Saved{}, "02self")
	ours, theirs := net.Pipe()
	go jsonrpctest.Serve(theirs, func(method string, params json.RawMessage) string {
		var p struct{ String string }
		if method != "decode" || json.Unmarshal(params, &p) != nil {
			return ""
		}
		switch p.String {
		case inv2m:
			return `{"type":"bolt11 invoice","valid":true,"payee":"` + ourOtherNode + `"}`
		case lno2m:
			return `{"type":"bolt12 offer","valid":true,"offer_issuer_id":"` + ourOtherNode + `"}`
		case invAny:
			return `{"type":"bolt11 invoice","valid":false,"payee":"` + ourOtherNode + `"}`
		}
		return `{"type":"bolt11 invoice","valid":true,"payee":"` + destination + `"}`
	})
	c := jsonrpc.NewClient(ours, "pay-up-to")
	t.Cleanup(func() { c.Close() })
	g.rpc.Store(c)
	return g
}

// TestTrustedPayees: a payment whose payee lightningd vouches is trusted
// goes past the limit, and the budget holds only its fee allowance;
// anything else is refused as before.
func TestTrustedPayees(t *testing.T) {
	g := payeeGuard(t)
	code, _ := verdict(t, g, hook("xpay", "cli:xpay#1", []any{inv2m}))
	assert.Equal(t, code, int64(refuse.CodeOverLimit), "not trusted yet")

	assert.NilError(t, g.Options.SetTrusted(ourOtherNode+","+destination))
	code, data := verdict(t, g, hook("xpay", "cli:xpay#2", []any{inv2m}))
	assert.Equal(t, code, int64(0), "%v", data)
	assert.Equal(t, g.ledger.Status().Windows[0].Reserved, amount.MSat(2_000_000), "1% of 0.002btc: the fees only")
	code, data = verdict(t, g, hook("keysend", "cli:keysend#3", map[string]any{"destination": destination, "amount_msat": "0.002btc"}))
	assert.Equal(t, code, int64(0), "%v", data)
	assert.Equal(t, g.ledger.Status().Windows[0].Reserved, amount.MSat(3_000_000), "0.5%% more")
	code, _ = verdict(t, g, hook("xpay", "cli:xpay#4", []any{lno2m}))
	assert.Equal(t, code, int64(0), "an offer its issuer signs")
	// The fees still count: a fourth fee allowance is over the budget.
	code, _ = verdict(t, g, hook("keysend", "cli:keysend#5", map[string]any{"destination": destination, "amount_msat": "0.01btc"}))
	assert.Equal(t, code, int64(refuse.CodeOverBudget))

	// Signed by someone else, or not valid: the limit holds.
	g = payeeGuard(t)
	assert.NilError(t, g.Options.SetTrusted(ourOtherNode))
	for _, inv := range []string{inv100u, invAny} {
		code, _ = verdict(t, g, hook("pay", "cli:pay#6", map[string]any{"bolt11": inv, "amount_msat": "0.002btc"}))
		assert.Equal(t, code, int64(refuse.CodeOverLimit), inv)
	}
	code, _ = verdict(t, g, hook("keysend", "cli:keysend#7", map[string]any{"destination": destination, "amount_msat": "0.002btc"}))
	assert.Equal(t, code, int64(refuse.CodeOverLimit))
	// Our own node is never a trusted payee: payments to ourselves have
	// their own rules.
	g.ledger.Load(nil, ledger.Saved{}, ourOtherNode)
	code, _ = verdict(t, g, hook("xpay", "cli:xpay#8", []any{inv2m}))
	assert.Equal(t, code, int64(refuse.CodeOverLimit))
}
