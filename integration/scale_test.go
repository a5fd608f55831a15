package integration

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
)

// A way to pay 1000sat from l1 to l3, and what pay-up-to reserves for it:
// the amount plus its payer's exact fee allowance.
type scaleWay struct {
	cmd         string
	params      func(l3 *node) []any
	reservation int64 // msat
}

func byInvoice(cmd string, reservation int64) scaleWay {
	return scaleWay{cmd, func(l3 *node) []any { return []any{l3.invoice("1000sat")} }, reservation}
}

func byKeysend(cmd string, reservation int64) scaleWay {
	return scaleWay{cmd, func(l3 *node) []any { return []any{l3.ID, 1_000_000} }, reservation}
}

// TestFortyUnderOneID: forty payments at once, every client sending id 1
// on its own connection, against a budget with room for exactly N of
// them, to the last msat of their exact fee allowances: exactly N complete, the others are refused 2102 and nothing else
// fails; then spent_msat equals l1's listsendpays and nothing stays
// reserved. For pay (run by xpay and by legacy pay), xpay, keysend and
// xkeysend.
func TestFortyUnderOneID(t *testing.T) {
	const n = 29
	lines := []struct {
		opts []string
		ways []scaleWay
	}{{nil, []scaleWay{byInvoice("pay", 1_005_000), byKeysend("keysend", 1_005_000)}}}
	if l1, _, _ := sharedLine(t); l1.hasConfig("xpay-handle-pay") {
		lines = []struct {
			opts []string
			ways []scaleWay
		}{
			// xpay's default: 1%, so 10,000msat on 1000sat.
			{[]string{"--xpay-handle-pay=true"}, []scaleWay{byInvoice("pay", 1_010_000), byInvoice("xpay", 1_010_000), byKeysend("xkeysend", 1_010_000)}},
			// Legacy pay and keysend: 0.5%, at least 5000msat.
			{[]string{"--xpay-handle-pay=false"}, []scaleWay{byInvoice("pay", 1_005_000), byKeysend("keysend", 1_005_000)}},
		}
	}
	for _, ln := range lines {
		t.Run(fmt.Sprint(ln.opts), func(t *testing.T) {
			l1, _, l3 := newLine(t, ln.opts, "plugin="+plugin, "limit=0.001btc")
			for _, w := range ln.ways {
				if !l1.has(w.cmd) {
					t.Logf("%s: not on this version", w.cmd)
					continue
				}
				t.Run(w.cmd, func(t *testing.T) { fortyAtOnce(t, l1, l3, w, n) })
			}
		})
	}
}

func fortyAtOnce(t *testing.T, l1, l3 *node, w scaleWay, n int) {
	l1.settled()
	before := l1.sentSince(0)
	// Room for exactly n reservations, to the msat; what the n settle to
	// (1000sat and a few msat of fees each) never frees one more.
	room := int64(n) * w.reservation
	// The budget's first start also counts what left on-chain before it
	// (the line's channel open): started once to learn it, then with the
	// room on top.
	l1.startGuard(map[string]any{"limit": "0.001btc", "budget": fmt.Sprintf("%dmsat/1d", before+room)})
	_, onchain := l1.spent()
	l1.startGuard(map[string]any{"limit": "0.001btc", "budget": fmt.Sprintf("%dmsat/1d", before+onchain+room)})
	assert.Equal(t, l1.status().Budgets[0].SpentMsat, before+onchain)
	const total = 40
	params := make([][]any, total)
	for i := range params {
		params[i] = w.params(l3)
	}
	one := l1.sameID(1)
	errs := make([]*rpcError, total)
	results := make([]payResult, total)
	var wg sync.WaitGroup
	for i := range params {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = one.call(w.cmd, params[i], &results[i])
		}()
	}
	wg.Wait()
	paid, refused := 0, 0
	for i, e := range errs {
		switch {
		case e == nil:
			paid++
			completed(t, l1, l3, e, results[i])
		case e.Code == codeOverBudget:
			refused++
		default:
			t.Errorf("%s failed otherwise: %v", w.cmd, e)
		}
	}
	assert.Equal(t, paid, n, "%s: %d paid, %d refused", w.cmd, paid, refused)
	assert.Equal(t, refused, total-n)
	l1.settled()
	deadline := time.Now().Add(15 * time.Second)
	for l1.status().Budgets[0].ReservedMsat != 0 {
		assert.Assert(t, time.Now().Before(deadline), "still reserved after every payment ended: %+v", l1.status())
		time.Sleep(100 * time.Millisecond)
	}
	assert.Equal(t, l1.status().Budgets[0].SpentMsat, l1.sentSince(0)+onchain)
	t.Logf("%s: %d of %d completed, %d msat spent", w.cmd, paid, total, l1.sentSince(0)-before)
	l1.checkAlive()
}
