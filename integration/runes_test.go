package integration

import (
	"encoding/base64"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

const codeRuneAllowance = 2103

// app is a remote app: l2 paying through l1 with a rune over commando.
type app struct {
	l1, l2 *node
	rune   string
	cmd    string // the payment command it uses
}

// pay pays an invoice of l3's through commando from l2.
func (a app) pay(inv string) (*rpcError, payResult) {
	var r payResult
	e := a.l2.call("commando", map[string]any{"peer_id": a.l1.ID, "method": a.cmd, "params": []any{inv}, "rune": a.rune}, &r)
	return e, r
}

// runeRefusal checks that e is a 2103 refusal as the app sees it through
// commando ("Invalid rune: pay-up-to: …", commando's own code) or at the
// command (2103 itself), naming rune id and, if set, the window.
func runeRefusal(t *testing.T, e *rpcError, id, window string) {
	t.Helper()
	assert.Assert(t, e != nil, "payment was not refused")
	assert.Assert(t, e.Code == codeRuneAllowance || e.Code == codeCommando, "%v", e)
	assert.Assert(t, is.Contains(e.Message, "pay-up-to:"), "%v", e)
	assert.Assert(t, is.Contains(e.Message, "rune "+id), "%v", e)
	if window != "" {
		assert.Assert(t, is.Contains(e.Message, window), "%v", e)
	}
}

// runeSpent is what pay-up-to-status shows a rune spent in its first window.
func (n *node) runeSpent(id string) int64 {
	n.t.Helper()
	var st struct {
		Runes []struct {
			RuneID  string `json:"rune_id"`
			Budgets []struct {
				SpentMsat int64 `json:"spent_msat"`
			} `json:"budgets"`
		} `json:"runes"`
	}
	n.must("pay-up-to-status", nil, &st)
	for _, r := range st.Runes {
		if r.RuneID == id && len(r.Budgets) > 0 {
			return r.Budgets[0].SpentMsat
		}
	}
	n.t.Fatalf("no rune %s in pay-up-to-status: %+v", id, st)
	return 0
}

// newRune makes a rune on n; restrictions nil: unrestricted.
func (n *node) newRune(restrictions any) (rune, id string) {
	n.t.Helper()
	var r struct {
		Rune     string `json:"rune"`
		UniqueID string `json:"unique_id"`
	}
	p := map[string]any{}
	if restrictions != nil {
		p["restrictions"] = restrictions
	}
	n.must("createrune", p, &r)
	return r.Rune, r.UniqueID
}

// TestRuneAllowances: every app its own allowance. l2 is the remote app,
// paying through l1 with commando; l1's guard gives each rune a limit and
// budget on top of the node's.
func TestRuneAllowances(t *testing.T) {
	l1, l2, l3 := newLine(t, nil, "important-plugin="+plugin, "limit=0.001btc", "budget=100000sat/1h")
	waitRead(t, l1)
	if !l1.has("checkrune") {
		// Allowances cannot be set there, and it says why.
		e := l1.call("pay-up-to-setallowance", []any{"0", "1000sat"}, nil)
		assert.Assert(t, e != nil && is.Contains(e.Message, "checkrune")().Success(), "%v", e)
		t.Skip("lightningd " + version + " has no checkrune (CLN v23.08+): per-rune allowances need it")
	}
	cmd := "pay"
	if l1.has("xpay") {
		cmd = "xpay"
	}
	runeA, idA := l1.newRune(nil)
	runeB, idB := l1.newRune(nil)
	l1.must("pay-up-to-setallowance", []any{idA, nil, "30000sat/1h"}, nil)
	l1.must("pay-up-to-setallowance", map[string]any{"rune_id": idB, "limit": "10000sat", "budget": "15000sat/1h"}, nil)
	// B pays with pay: on v26.06 xpay runs it, and it is held at its
	// preapproveinvoice call.
	a, b := app{l1, l2, runeA, cmd}, app{l1, l2, runeB, "pay"}
	sent := map[string]int64{}
	paid := func(who app, id string, inv string) {
		t.Helper()
		e, r := who.pay(inv)
		completed(t, l1, l3, e, r)
		l1.settled()
		sent[id] += l1.sentFor(r.hash(t))
	}

	t.Run("each app until its own allowance runs out", func(t *testing.T) {
		paid(a, idA, l3.invoice("10000sat"))
		paid(a, idA, l3.invoice("10000sat"))
		noHTLC(t, l1, l2, func() {
			e, _ := a.pay(l3.invoice("10000sat"))
			runeRefusal(t, e, idA, "30000sat/1h")
		})
		noHTLC(t, l1, l2, func() {
			e, _ := b.pay(l3.invoice("10001sat"))
			runeRefusal(t, e, idB, "limit")
		})
		paid(b, idB, l3.invoice("10000sat"))
		noHTLC(t, l1, l2, func() {
			e, _ := b.pay(l3.invoice("5000sat"))
			runeRefusal(t, e, idB, "15000sat/1h")
		})
		assert.Equal(t, l1.runeSpent(idA), sent[idA], "A's spent is what its payments sent, fees included")
		assert.Equal(t, l1.runeSpent(idB), sent[idB])
	})

	t.Run("the node's budget still applies", func(t *testing.T) {
		runeC, idC := l1.newRune(nil)
		l1.must("pay-up-to-setallowance", []any{idC, nil, "1btc/1d"}, nil)
		noHTLC(t, l1, l2, func() {
			// 30000 sat out of the node's 100000: 69500 sat with 1% in
			// fees is over.
			e, _ := app{l1, l2, runeC, cmd}.pay(l3.invoice("69500sat"))
			assert.Assert(t, e != nil, "not refused")
			assert.Assert(t, is.Contains(e.Message, "exceed the budget 100000sat/1h"), "%v", e)
		})
		assert.Equal(t, l1.runeSpent(idC), int64(0))
	})

	t.Run("a derived rune draws on its parent's allowance", func(t *testing.T) {
		l1.must("pay-up-to-setallowance", []any{idA, nil, "40000sat/1h"}, nil)
		var d struct{ Rune string }
		l1.must("createrune", map[string]any{"rune": runeA, "restrictions": [][]string{{"method=" + cmd}}}, &d)
		assert.Assert(t, d.Rune != runeA)
		// 20000 sat spent of A's 40000: one more fits, through the derived rune.
		paid(app{l1, l2, d.Rune, cmd}, idA, l3.invoice("5000sat"))
		assert.Equal(t, l1.runeSpent(idA), sent[idA])
	})

	t.Run("a tampered rune and a blacklisted one leave A's figures", func(t *testing.T) {
		before := l1.runeSpent(idA)
		raw, err := base64.URLEncoding.DecodeString(runeA)
		assert.NilError(t, err)
		tampered := base64.URLEncoding.EncodeToString(append(raw, "&method=pay"...))
		noHTLC(t, l1, l2, func() {
			e, _ := app{l1, l2, tampered, cmd}.pay(l3.invoice("1000sat"))
			assert.Assert(t, e != nil && is.Contains(e.Message, "Not authorized")().Success(), "%v", e)
		})
		assert.Equal(t, l1.runeSpent(idA), before)
	})

	t.Run("six at once through a rune with room for three", func(t *testing.T) {
		runeF, idF := l1.newRune(nil)
		l1.must("pay-up-to-setallowance", []any{idF, nil, "3030sat/1h"}, nil)
		f := app{l1, l2, runeF, cmd}
		var wg sync.WaitGroup
		var mu sync.Mutex
		done := 0
		for range 6 {
			inv := l3.invoice("1000sat")
			wg.Add(1)
			go func() {
				defer wg.Done()
				if e, _ := f.pay(inv); e == nil {
					mu.Lock()
					done++
					mu.Unlock()
				} else if !strings.Contains(e.Message, "rune "+idF) {
					t.Errorf("refused for another reason: %v", e)
				}
			}()
		}
		wg.Wait()
		assert.Assert(t, done <= 3 && done > 0, "%d of six completed", done)
		t.Logf("%d of six completed", done)
		l1.settled()
		assert.Assert(t, l1.runeSpent(idF) <= 3_030_000)
	})

	t.Run("restarts keep allowances and spending", func(t *testing.T) {
		want := map[string]int64{idA: l1.runeSpent(idA), idB: l1.runeSpent(idB)}
		assert.NilError(t, l1.Restart())
		waitRead(t, l1)
		for id, s := range want {
			assert.Equal(t, l1.runeSpent(id), s, "rune %s", id)
		}
		noHTLC(t, l1, l2, func() {
			e, _ := b.pay(l3.invoice("5000sat"))
			runeRefusal(t, e, idB, "15000sat/1h")
		})
	})

	t.Run("rune-allowance-required", func(t *testing.T) {
		runeG, idG := l1.newRune(nil)
		l1.must("setconfig", []any{"rune-allowance-required", true}, nil)
		defer l1.must("setconfig", []any{"rune-allowance-required", false}, nil)
		noHTLC(t, l1, l2, func() {
			e, _ := app{l1, l2, runeG, cmd}.pay(l3.invoice("1000sat"))
			runeRefusal(t, e, idG, "no allowance")
		})
	})

	t.Run("clnrest's sequence from a second connection", func(t *testing.T) {
		inv := l3.invoice("5000sat")
		one := l1.sameID(1)
		// B is spent: checkrune is refused, and nothing runs.
		e := one.call("checkrune", map[string]any{"rune": runeB, "method": cmd, "params": []any{inv}}, nil)
		runeRefusal(t, e, idB, "15000sat/1h")
		// A has room: checkrune, showrunes, then the method.
		var ok struct{ Valid bool }
		one.must("checkrune", map[string]any{"rune": runeA, "method": cmd, "params": []any{inv}}, &ok)
		assert.Assert(t, ok.Valid)
		one.must("showrunes", map[string]any{"rune": runeA}, nil)
		before := l1.runeSpent(idA)
		var r payResult
		completed(t, l1, l3, one.call(cmd, []any{inv}, &r), r)
		l1.settled()
		assert.Equal(t, l1.runeSpent(idA)-before, l1.sentFor(r.hash(t)), "charged to A")
	})

	t.Run("pay-up-to-createrune", func(t *testing.T) {
		var cr struct {
			Rune     string `json:"rune"`
			UniqueID string `json:"unique_id"`
		}
		l1.must("pay-up-to-createrune", map[string]any{"limit": "2000sat", "budget": "5000sat/1d"}, &cr)
		h := app{l1, l2, cr.Rune, cmd}
		paid(h, cr.UniqueID, l3.invoice("2000sat"))
		noHTLC(t, l1, l2, func() {
			e, _ := h.pay(l3.invoice("2001sat"))
			runeRefusal(t, e, cr.UniqueID, "limit")
		})
		// Only the payment commands and read-only basics.
		e := l2.call("commando", map[string]any{"peer_id": l1.ID, "method": "withdraw", "params": []any{"bcrt1qxyz", "all"}, "rune": cr.Rune}, nil)
		assert.Assert(t, e != nil && is.Contains(e.Message, "Not permitted")().Success(), "%v", e)
		assert.Equal(t, l1.runeSpent(cr.UniqueID), sent[cr.UniqueID])
	})

	t.Run("a blacklisted rune", func(t *testing.T) {
		before := l1.runeSpent(idA)
		l1.must("blacklistrune", map[string]any{"start": idA}, nil)
		noHTLC(t, l1, l2, func() {
			e, _ := a.pay(l3.invoice("1000sat"))
			assert.Assert(t, e != nil && is.Contains(e.Message, "Blacklisted")().Success(), "%v", e)
		})
		assert.Equal(t, l1.runeSpent(idA), before)
	})
	l1.checkAlive()
}

// waitRead waits until pay-up-to has read the node's records.
func waitRead(t testing.TB, n *node) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var st struct{ History string }
		if n.tryCall("pay-up-to-status", nil, &st) == nil && st.History == "read" {
			return
		}
		assert.Assert(t, time.Now().Before(deadline), "records not read")
		time.Sleep(50 * time.Millisecond)
	}
}
