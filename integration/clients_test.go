package integration

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
)

// TestClientShapes: clients as they really call. Ids repeat across
// connections, sequentially and at once; Zeus sends pay with twelve
// positional params, nulls included, maxfeepercent as a string.
func TestClientShapes(t *testing.T) {
	l1, l2, l3 := newLine(t, nil)
	l1.startGuard(map[string]any{"limit": "0.001btc"})
	same := l1.sameID(7)

	t.Run("xkeysend then pay with one id", func(t *testing.T) {
		ks := "keysend"
		if l1.has("xkeysend") {
			ks = "xkeysend"
		}
		var r payResult
		completed(t, l1, l3, same.call(ks, []any{l3.ID, 2_000_000}, &r), r)
		// On a new connection, the same id: a payment of exactly the limit.
		completed(t, l1, l3, same.call("pay", []any{l3.invoice("100000000msat")}, &r), r)
		completed(t, l1, l3, same.call("pay", []any{l3.invoice("0.0001btc")}, &r), r)
	})

	t.Run("six payments at once with one id", func(t *testing.T) {
		cmd := "pay"
		if l1.has("xpay") {
			cmd = "xpay"
		}
		one := l1.sameID(1)
		invs := make([]string, 6)
		for i := range invs {
			invs[i] = l3.invoice("0.0001btc")
		}
		errs := make([]*rpcError, len(invs))
		results := make([]payResult, len(invs))
		var wg sync.WaitGroup
		for i := range invs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = one.call(cmd, []any{invs[i]}, &results[i])
			}()
		}
		wg.Wait()
		for i := range invs {
			completed(t, l1, l3, errs[i], results[i])
		}
		// Refusals are the same as with unique ids.
		noHTLC(t, l1, l2, func() {
			refusal(t, one.call(cmd, []any{l3.invoice("0.002btc")}, nil), map[string]any{"maximum_is": "0.001btc"})
		})
	})

	t.Run("Zeus's positional pay under a budget", func(t *testing.T) {
		l1, l2, l3 := newLine(t, nil) // a budget of its own
		l1.startGuard(map[string]any{"limit": "0.001btc", "budget": "30000sat/1h"})
		zeus := func(inv string) []any {
			return []any{inv, nil, nil, nil, "5.0", nil, nil, nil, nil, nil, nil, nil}
		}
		one := l1.sameID(1)
		inv := l3.invoice("0.0003btc") // 30000 sat: with 5% in fees, 31500 sat
		noHTLC(t, l1, l2, func() {
			data := overBudget(t, one.call("pay", zeus(inv), nil), "30000sat/1h")
			assert.Equal(t, data["requested_msat"], 31_500_000.0, "the amount plus the 5%% the caller allowed")
		})
		var r payResult
		completed(t, l1, l3, one.call("pay", zeus(l3.invoice("0.0001btc")), &r), r)
	})

	t.Run("a positional retry_for bounds the reservation", func(t *testing.T) {
		lone := startNode(t, nil)
		l1, _, _ := newLine(t, nil)
		l1.startGuard(map[string]any{"limit": "0.001btc", "budget": "15000sat/1h"})
		var inv struct{ Bolt11 string }
		lone.must("invoice", map[string]any{"amount_msat": "10000sat", "label": "unreachable", "description": "no route"}, &inv)
		start := time.Now()
		// bolt11, amount_msat, label, riskfactor, maxfeepercent, retry_for
		e := l1.sameID(1).call("pay", []any{inv.Bolt11, nil, nil, nil, nil, 2}, nil)
		assert.Assert(t, e != nil && e.Code != codeOverBudget, "%v", e)
		for l1.status().Budgets[0].ReservedMsat != 0 {
			// retry_for 2 s plus 10 s of grace; the default would hold it 70 s.
			assert.Assert(t, time.Since(start) < 30*time.Second, "reservation held past retry_for: %+v", l1.status())
			time.Sleep(200 * time.Millisecond)
		}
	})

	t.Run("status never shows a spent figure not yet read", func(t *testing.T) {
		l1.startGuard(map[string]any{"limit": "0.001btc", "budget": "1btc/1d"})
		defer l1.startGuard(map[string]any{"limit": "0.001btc"})
		spent := l1.status().Budgets[0].SpentMsat
		assert.Assert(t, spent > 0)
		// Right after a start, before the records are read, the figure is
		// null, never 0.
		var list struct{ Plugins []struct{ Name string } }
		l1.must("plugin", map[string]any{"subcommand": "list"}, &list)
		for _, p := range list.Plugins {
			if len(p.Name) > 10 && p.Name[len(p.Name)-10:] == "/pay-up-to" {
				l1.must("plugin", map[string]any{"subcommand": "stop", "plugin": p.Name}, nil)
			}
		}
		l1.must("plugin", map[string]any{"subcommand": "start", "plugin": plugin, "limit": "0.001btc", "budget": "1btc/1d"}, nil)
		for {
			var raw struct {
				Budgets []map[string]json.RawMessage `json:"budgets"`
				History string                       `json:"history"`
			}
			l1.must("pay-up-to-status", nil, &raw)
			if raw.History == "read" {
				assert.Equal(t, string(raw.Budgets[0]["spent_msat"]), jsonInt(spent))
				break
			}
			assert.Equal(t, string(raw.Budgets[0]["spent_msat"]), "null", "%+v", raw)
			assert.Equal(t, string(raw.Budgets[0]["available_msat"]), "null")
			time.Sleep(5 * time.Millisecond)
		}
	})
	l1.checkAlive()
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
