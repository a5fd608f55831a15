package hooks

import (
	"testing"

	"gotest.tools/v3/assert"

	"github.com/payupto/pay-up-to/hooks/refuse"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// TestAppsCannotLiftTheirLimits: a rune with an allowance is refused, at
// its checkrune, every call that would change, stop or step around the
// guard; a rune without one keeps its power unless allowances are
// required.
func TestAppsCannotLiftTheirLimits(t *testing.T) {
	app, operator := mkRune("=5&method^pay"), mkRune("=6")
	g := runeGuard(t, nil, nil)
	_, err := g.Operator.ServeSetAllowance(jsonrpc.Value(`["5", "10000sat", "20000sat/1d"]`))
	assert.NilError(t, err)
	checkrune := func(rune, method string, params any) int64 {
		code, data := verdict(t, g, hook("checkrune", "cln:custommsg#1/commando:checkrune#2", map[string]any{"nodeid": destination, "rune": rune, "method": method, "params": params}))
		if code != 0 {
			assert.Equal(t, data["method"], method)
		}
		return code
	}
	refused := []struct {
		method string
		params any
	}{
		{"pay-up-to-setallowance", []any{"5", "1btc", "10btc/1d"}},
		{"pay-up-to-delallowance", map[string]any{"rune_id": "5"}},
		{"pay-up-to-createrune", []any{}},
		{"setconfig", []any{"limit", "1btc"}},
		{"setconfig", map[string]any{"config": "xpay-handle-pay", "val": false}},
		{"plugin", []any{"stop", "pay-up-to"}},
		{"plugin", map[string]any{"subcommand": "start", "plugin": "/tmp/x"}},
		{"datastore", map[string]any{"key": []any{"pay-up-to", "a", "5"}, "string": "", "mode": "create-or-replace"}},
		{"datastore", []any{"pay-up-to", "x"}},
		{"deldatastore", []any{[]any{"pay-up-to", "p", "x"}}},
		{"createrune", map[string]any{}},
		{"createrune", []any{nil, []any{[]any{"method=pay"}}}},
		{"exposesecret", []any{"pass"}},
	}
	for _, c := range refused {
		assert.Equal(t, checkrune(app, c.method, c.params), int64(refuse.CodeRuneAllowance), "%s %v", c.method, c.params)
		assert.Equal(t, checkrune(operator, c.method, c.params), int64(0), "the operator's %s", c.method)
	}
	for _, c := range []struct {
		method string
		params any
	}{
		{"plugin", []any{"list"}},
		{"datastore", map[string]any{"key": []any{"myapp", "x"}, "string": "y"}},
		{"createrune", map[string]any{"rune": app, "restrictions": []any{[]any{"method=xpay"}}}},
		{"pay-up-to-status", []any{}},
		{"getinfo", []any{}},
	} {
		assert.Equal(t, checkrune(app, c.method, c.params), int64(0), "%s %v", c.method, c.params)
	}
	assert.NilError(t, g.Options.SetRuneRequired("true"))
	assert.Equal(t, checkrune(operator, "setconfig", []any{"limit", "1btc"}), int64(refuse.CodeRuneAllowance))
}
