package hooks

import (
	"encoding/json"
	"strings"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/payupto/pay-up-to/hooks/refuse"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// TestAppsCannotLiftTheirLimits: a rune with an allowance runs, at its
// checkrune, only what apps may run and the operator's app-commands,
// never what would change, stop or step around the guard; a rune
// without one keeps its power unless allowances are required.
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
		{"plugin", []any{"list"}},
		{"datastore", map[string]any{"key": []any{"myapp", "x"}, "string": "y"}},
		{"blacklistrune", map[string]any{"start": 1, "relist": true}},
		{"reckless", []any{"disable", "pay-up-to"}},
		{"reckless", []any{"install", "anything"}},
		{"otherplugin-transfer", map[string]any{}},
		{"dev-forget-channel", map[string]any{"id": destination}},
		{"signmessagewithkey", map[string]any{"message": "x", "address": "bcrt1q"}},
		{"connect", []any{destination}},
		{"showrunes", []any{}},
		{"createrune", map[string]any{"rune": operator}},
		{"clnrest-register-path", map[string]any{"path": "/x", "rpc_method": "pay", "rune_required": false}},
	}
	for _, c := range refused {
		assert.Equal(t, checkrune(app, c.method, c.params), int64(refuse.CodeRuneAllowance), "%s %v", c.method, c.params)
		assert.Equal(t, checkrune(operator, c.method, c.params), int64(0), "the operator's %s", c.method)
	}
	for _, c := range []struct {
		method string
		params any
	}{
		{"createrune", map[string]any{"rune": app, "restrictions": []any{[]any{"method=xpay"}}}},
		{"showrunes", []any{app}},
		{"pay-up-to-status", []any{}},
		{"getinfo", []any{}},
		{"listfunds", []any{}},
		{"invoice", []any{1000, "l", "d"}},
		{"xpay", []any{inv100u}},
	} {
		assert.Equal(t, checkrune(app, c.method, c.params), int64(0), "%s %v", c.method, c.params)
	}
	// The message says how the operator can allow what apps may not run
	// by default; app-commands then allows it, and never what would
	// change or stop the guard.
	_, data := verdict(t, g, hook("checkrune", "x", map[string]any{"rune": app, "method": "connect", "params": []any{destination}}))
	assert.Equal(t, data["rune_id"], "5")
	res, err := g.ServeRPC(hook("checkrune", "x", map[string]any{"rune": app, "method": "connect", "params": []any{destination}}))
	assert.NilError(t, err)
	b, _ := json.Marshal(res)
	assert.Assert(t, strings.Contains(string(b), `"pay-up-to: an app with an allowance may not run connect; the operator can allow it with app-commands=connect"`), string(b))
	assert.NilError(t, g.Options.SetAppCommands("connect,setchannel"))
	assert.Equal(t, checkrune(app, "connect", []any{destination}), int64(0))
	assert.ErrorContains(t, g.Options.SetAppCommands("connect,plugin"), "an app may never be allowed plugin")
	assert.Equal(t, checkrune(app, "connect", []any{destination}), int64(0), "a refused app-commands keeps the old one")
	assert.Equal(t, checkrune(app, "plugin", []any{"stop", "pay-up-to"}), int64(refuse.CodeRuneAllowance))

	assert.NilError(t, g.Options.SetRuneRequired("true"))
	assert.Equal(t, checkrune(operator, "setconfig", []any{"limit", "1btc"}), int64(refuse.CodeRuneAllowance))
}
