package hooks

import (
	"encoding/json"
	"net"
	"sync"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/hooks/pause"
	"github.com/payupto/pay-up-to/hooks/refuse"
	"github.com/payupto/pay-up-to/jsonrpc"
	"github.com/payupto/pay-up-to/jsonrpc/jsonrpctest"
)

// pauseGuard is a guard whose lightningd keeps a datastore in memory.
func pauseGuard(t *testing.T, store map[string]string) *Guard {
	g := guard(t, "0.01btc")
	g.cln.Store(2606)
	g.ledger.Load(nil, ledger.Saved{}, "02self")
	var mu sync.Mutex
	mine, theirs := net.Pipe()
	go jsonrpctest.Serve(theirs, func(method string, params json.RawMessage) string {
		var p struct {
			Key    []string
			String string
		}
		json.Unmarshal(params, &p)
		mu.Lock()
		defer mu.Unlock()
		switch method {
		case "datastore":
			store[p.Key[2]] = p.String
			return `{}`
		case "deldatastore":
			delete(store, p.Key[2])
			return `{}`
		case "showrunes":
			return `{"runes":[{"our_rune":true}]}`
		}
		return ""
	})
	c := jsonrpc.NewClient(mine, "pay-up-to")
	t.Cleanup(func() { c.Close() })
	g.rpc.Store(c)
	return g
}

// wait waits for a deferred answer.
func wait(t *testing.T, res any) any {
	if d, ok := res.(jsonrpc.Deferred); ok {
		done := make(chan any)
		go d(func(r any, err error) { assert.NilError(t, err); done <- r })
		res = <-done
	}
	return res
}

// TestPause: a pause refuses every new spend (payments, preapprove calls,
// raw sends, on-chain) with 2104 and is kept in the datastore; a rune's
// pause refuses that app only; apps cannot resume, nor pause others.
func TestPause(t *testing.T) {
	store := map[string]string{}
	g := pauseGuard(t, store)
	wait(t, must(g.Operator.ServePause(jsonrpc.Value(`{"reason":"rune leaked"}`))))
	assert.Assert(t, store["node"] != "")
	for _, c := range []struct {
		method string
		params any
	}{
		{"xpay", []any{inv100u}},
		{"preapproveinvoice", []any{inv100u}},
		{"keysend", []any{destination, 1000}},
		{"sendpay", map[string]any{"route": []any{map[string]any{"id": "02aa", "amount_msat": 1000}}, "payment_hash": hash(1).String()}},
		{"withdraw", []any{"bcrt1qxmqzw5yv4mcnfm6mug3vt3s4f0mla248eteghm", 1000}},
	} {
		code, data := verdict(t, g, hook(c.method, "cli:x#1", c.params))
		assert.Equal(t, code, int64(refuse.CodePaused), c.method)
		assert.Equal(t, data["reason"], "rune leaked")
	}
	code, _ := verdict(t, g, hook("getinfo", "cli:x#2", []any{}))
	assert.Equal(t, code, int64(0), "only spends")
	st := g.Operator.Status()
	assert.Equal(t, st.Paused.Reason, "rune leaked")

	// Kept: a new guard reads it back.
	x, ok := pause.Read(pause.Node, store[pause.Node])
	assert.Assert(t, ok)
	assert.Equal(t, x.Reason, "rune leaked")

	wait(t, must(g.Operator.ServeResume(jsonrpc.Value(`[]`))))
	assert.Equal(t, len(store), 0)
	code, _ = verdict(t, g, hook("xpay", "cli:x#3", []any{inv100u}))
	assert.Equal(t, code, int64(0))
	_, err := g.Operator.ServeResume(jsonrpc.Value(`[]`))
	assert.ErrorContains(t, err, "not paused")

	// One app paused: its every command refused at checkrune; another's not.
	app, other := mkRune("=7"), mkRune("=8")
	wait(t, must(g.Operator.ServePause(jsonrpc.Value(`["7", "testing"]`))))
	checkrune := func(rune, method string, params any) int64 {
		code, _ := verdict(t, g, hook("checkrune", "cln:custommsg#1/commando:checkrune#2", map[string]any{"nodeid": destination, "rune": rune, "method": method, "params": params}))
		return code
	}
	assert.Equal(t, checkrune(app, "xpay", []any{inv100u}), int64(refuse.CodePaused))
	assert.Equal(t, checkrune(other, "xpay", []any{inv100u}), int64(0))
	assert.Equal(t, len(g.Operator.Status().PausedRunes), 1)

	// An app with an allowance may pause itself, never resume or pause another.
	_, err = g.Operator.ServeSetAllowance(jsonrpc.Value(`["8", "1000sat"]`))
	assert.NilError(t, err)
	assert.Equal(t, checkrune(other, "pay-up-to-resume", []any{"7"}), int64(refuse.CodeRuneAllowance))
	assert.Equal(t, checkrune(other, "pay-up-to-pause", []any{}), int64(refuse.CodeRuneAllowance))
	assert.Equal(t, checkrune(other, "pay-up-to-pause", []any{"7"}), int64(refuse.CodeRuneAllowance))
	assert.Equal(t, checkrune(other, "pay-up-to-pause", []any{"8", "me"}), int64(0))
}

func must(res any, err error) any {
	if err != nil {
		panic(err)
	}
	return res
}
