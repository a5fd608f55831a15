package integration

import (
	"encoding/json"
	"os"
	"regexp"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/integration/lnnet"
)

const codeOverBudget = 2102

// guardStatus is pay-up-to-status's answer.
type guardStatus struct {
	Limit     string `json:"limit"`
	LimitMsat int64  `json:"limit_msat"`
	Budgets   []struct {
		Budget        string `json:"budget"`
		BudgetMsat    int64  `json:"budget_msat"`
		WindowS       int64  `json:"window_s"`
		SpentMsat     int64  `json:"spent_msat"`
		ReservedMsat  int64  `json:"reserved_msat"`
		AvailableMsat int64  `json:"available_msat"`
		OnchainMsat   int64  `json:"onchain_msat"`
	} `json:"budgets"`
	Approved       int64             `json:"approved"`
	Refused        int64             `json:"refused"`
	RecentRefusals []json.RawMessage `json:"recent_refusals"`
	History        string            `json:"history"`
}

func (n *node) status() guardStatus {
	n.t.Helper()
	var s guardStatus
	n.must("pay-up-to-status", nil, &s)
	return s
}

// xpayHandlesPay reports whether xpay runs n's pay (xpay-handle-pay).
func (n *node) xpayHandlesPay() bool {
	n.t.Helper()
	if !n.hasConfig("xpay-handle-pay") {
		return false
	}
	var r struct {
		Configs map[string]struct {
			ValueBool bool `json:"value_bool"`
		}
	}
	n.must("listconfigs", map[string]any{"config": "xpay-handle-pay"}, &r)
	return r.Configs["xpay-handle-pay"].ValueBool
}

// startGuard (re)starts pay-up-to on n with these options and waits until
// it has read the node's payment records.
func (n *node) startGuard(opts map[string]any) {
	n.t.Helper()
	n.stopGuard()
	p := map[string]any{"subcommand": "start", "plugin": plugin}
	for k, v := range opts {
		p[k] = v
	}
	n.must("plugin", p, nil)
	deadline := time.Now().Add(20 * time.Second)
	for n.status().History != "read" {
		if time.Now().After(deadline) {
			n.t.Fatalf("pay-up-to did not read the payment records: %+v", n.status())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sentSince sums amount_sent_msat over n's pending and complete HTLCs
// created after cutoff (unix seconds): what a window must hold.
func (n *node) sentSince(cutoff int64) int64 {
	n.t.Helper()
	var r struct {
		Payments []struct {
			Status     string          `json:"status"`
			CreatedAt  int64           `json:"created_at"`
			AmountSent json.RawMessage `json:"amount_sent_msat"`
		}
	}
	n.must("listsendpays", nil, &r)
	total := int64(0)
	for _, p := range r.Payments {
		if p.Status == "failed" || p.CreatedAt <= cutoff {
			continue
		}
		m, err := lnnet.Msat(p.AmountSent)
		assert.NilError(n.t, err)
		total += m
	}
	return total
}

// overBudget checks that e is pay-up-to's budget refusal for window and
// returns its data.
func overBudget(t *testing.T, e *rpcError, window string) map[string]any {
	t.Helper()
	assert.Assert(t, e != nil, "payment was not refused")
	assert.Equal(t, e.Code, int64(codeOverBudget), "%v", e)
	assert.Assert(t, is.Contains(e.Message, "exceed the budget "+window))
	var data map[string]any
	assert.NilError(t, json.Unmarshal(e.Data, &data), "%v", e)
	assert.Equal(t, data["budget_exceeded"], window)
	return data
}

// pay pays invstring from n with pay, which every version has.
func (n *node) pay(invstring string) (*rpcError, payResult) {
	n.t.Helper()
	var r payResult
	e := n.call("pay", map[string]any{"bolt11": invstring}, &r)
	return e, r
}

// TestBudget: payments count with their real fees, a window refuses what
// would exceed it (naming when it frees up), rolls over, and several
// windows hold at once; a restart and deleted history free nothing.
func TestBudget(t *testing.T) {
	l1, l2, l3 := newLine(t, []string{"--plugin=" + subscriber})
	const win = "25000sat/20s"
	const day = "35000sat/1h"
	l1.startGuard(map[string]any{"limit": "0.001btc", "budget": win + "," + day})
	// The first start counted the line's channel open (its fee) in both
	// windows; the 20 s window is left with payments only once it rolls
	// out (what a start reads is kept in minute sums, so up to 80 s), the
	// hour's keeps it.
	hour := l1.status().Budgets[1]
	base := hour.OnchainMsat
	assert.Assert(t, base > 0 && hour.SpentMsat == base, "the first start counts what left on-chain, nothing else: %+v", hour)
	for deadline := time.Now().Add(120 * time.Second); l1.status().Budgets[0].SpentMsat != 0; time.Sleep(200 * time.Millisecond) {
		assert.Assert(t, time.Now().Before(deadline), "the open never left the 20 s window: %+v", l1.status())
	}
	st := l1.status()
	assert.Equal(t, len(st.Budgets), 2)
	assert.Equal(t, st.Budgets[0].BudgetMsat, int64(25_000_000))
	assert.Equal(t, st.Budgets[0].WindowS, int64(20))
	assert.Equal(t, st.Budgets[1].SpentMsat, base)

	// 10,000 sat with pay's default fee allowance: 10,100,000 msat where
	// xpay runs pay (1%), 10,050,000 msat where legacy pay does (0.5%).
	requested := 10_050_000.0
	if l1.xpayHandlesPay() {
		requested = 10_100_000.0
	}
	start := time.Now().Unix() - 1
	var hashes []string
	for i := 0; i < 2; i++ {
		e, r := l1.pay(l3.invoice("10000sat"))
		completed(t, l1, l3, e, r)
		hashes = append(hashes, r.hash(t))
	}
	l1.settled()
	st = l1.status()
	spent := l1.sentSince(start)
	assert.Assert(t, spent > 20_000_000, "two-hop payments pay l2 a fee: %d", spent)
	assert.Equal(t, st.Budgets[1].SpentMsat, spent+base, "spent_msat must match listsendpays and the open")
	assert.Equal(t, st.Budgets[0].SpentMsat, spent)
	assert.Equal(t, st.Budgets[0].ReservedMsat, int64(0), "settled payments reserve nothing")

	// A third would exceed the 20 s window until the first rolls out.
	inv := l3.invoice("10000sat")
	var data map[string]any
	noHTLC(t, l1, l2, func() {
		e, _ := l1.pay(inv)
		data = overBudget(t, e, win)
	})
	assert.Equal(t, data["budget_msat"], 25_000_000.0)
	assert.Equal(t, data["used_msat"], float64(spent))
	assert.Equal(t, data["requested_msat"], requested)
	assert.Equal(t, data["bolt11"], inv)
	first := l1.sendpays(hashes[0])
	assert.Assert(t, len(first) > 0)
	var created struct {
		Payments []struct {
			CreatedAt int64 `json:"created_at"`
		}
	}
	l1.must("listsendpays", map[string]any{"payment_hash": hashes[0]}, &created)
	assert.Equal(t, data["available_at"], float64(created.Payments[0].CreatedAt+20))
	assert.Assert(t, st.Approved >= 2)

	// Told: a log line at info level, and a notification another plugin
	// receives.
	// v24.11 escapes the quotes in log lines.
	told := regexp.MustCompile(`plugin-subscriber: received pay_up_to_refused .*code\W+2102.*budget_exceeded\W+` + regexp.QuoteMeta(win))
	var log []byte
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && !told.Match(log); time.Sleep(50 * time.Millisecond) {
		log, _ = os.ReadFile(l1.LogPath())
	}
	assert.Assert(t, is.Contains(string(log), "INFO    plugin-pay-up-to: refused "), "no refusal line in the log")
	assert.Assert(t, told.Match(log), "the subscriber got no pay_up_to_refused")

	// The window rolls: at available_at the same invoice goes through.
	time.Sleep(time.Until(time.Unix(int64(data["available_at"].(float64))+1, 0)))
	e, r := l1.pay(inv)
	completed(t, l1, l3, e, r)
	l1.settled()

	// Now the hour window is the one that refuses (three payments in it).
	inv = l3.invoice("10000sat")
	noHTLC(t, l1, l2, func() {
		e, _ := l1.pay(inv)
		data = overBudget(t, e, day)
	})
	assert.Equal(t, data["available_at"], float64(created.Payments[0].CreatedAt+3600))

	// Deleted history and a restart free nothing.
	before := l1.status().Budgets[1].SpentMsat
	if l1.has("delpay") {
		l1.must("delpay", map[string]any{"payment_hash": hashes[0], "status": "complete"}, nil)
		assert.Equal(t, len(l1.sendpays(hashes[0])), 0)
		assert.Equal(t, l1.status().Budgets[1].SpentMsat, before, "delpay freed budget")
	}
	l1.startGuard(map[string]any{"limit": "0.001btc", "budget": win + "," + day})
	assert.Equal(t, l1.status().Budgets[1].SpentMsat, before, "a restart freed budget")
	noHTLC(t, l1, l2, func() {
		e, _ := l1.pay(inv)
		overBudget(t, e, day)
	})

	// setconfig: a bad budget is rejected and the old one kept.
	if l1.has("setconfig") {
		e := l1.call("setconfig", []any{"budget", "lots"}, nil)
		assert.Assert(t, e != nil, "an invalid budget must be rejected")
		assert.Equal(t, l1.status().Budgets[1].Budget, day)
		l1.must("setconfig", []any{"budget", "1btc/1d"}, nil)
		e, r := l1.pay(inv)
		completed(t, l1, l3, e, r)
	}
	l1.checkAlive()
}

// TestBudgetConcurrent: payments started together never jointly exceed a
// window: each is approved against what the others reserved.
func TestBudgetConcurrent(t *testing.T) {
	l1, _, l3 := newLine(t, nil)
	// Room for four payments of 10,000 sat with their fee allowance.
	l1.startGuard(map[string]any{"budget": "45000sat/1h"})
	base := l1.onchainOnly(t) // the line's channel open
	const n = 8
	invs := make([]string, n)
	for i := range invs {
		invs[i] = l3.invoice("10000sat")
	}
	var wg sync.WaitGroup
	errs := make([]*rpcError, n)
	for i := range invs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var r payResult
			errs[i] = l1.call("pay", map[string]any{"bolt11": invs[i]}, &r)
		}()
	}
	wg.Wait()
	paid, refused := 0, 0
	for _, e := range errs {
		switch {
		case e == nil:
			paid++
		case e.Code == codeOverBudget:
			refused++
		default:
			t.Errorf("unexpected error: %v", e)
		}
	}
	assert.Equal(t, paid, 4, "paid %d, refused %d", paid, refused)
	assert.Equal(t, refused, n-4)
	l1.settled()
	spent := l1.sentSince(0)
	assert.Assert(t, spent <= 45_000_000, "spent %d", spent)
	assert.Equal(t, l1.status().Budgets[0].SpentMsat, spent+base)
	l1.checkAlive()
}

// TestBudgetNoRoute: a payment that fails before any HTLC exists holds its
// reservation only while its payer may retry.
func TestBudgetNoRoute(t *testing.T) {
	l1, _, _ := newLine(t, nil)
	lone := startNode(t, nil)
	l1.startGuard(map[string]any{"budget": "15000sat/1h"})
	base := l1.onchainOnly(t) // the line's channel open
	var inv struct{ Bolt11 string }
	lone.must("invoice", map[string]any{"amount_msat": "10000sat", "label": "unreachable", "description": "no route"}, &inv)
	e := l1.call("pay", map[string]any{"bolt11": inv.Bolt11, "retry_for": 2}, nil)
	assert.Assert(t, e != nil && e.Code != codeOverBudget, "%v", e)
	assert.Equal(t, len(l1.sendpays("")), 0)
	deadline := time.Now().Add(30 * time.Second)
	for l1.status().Budgets[0].ReservedMsat != 0 {
		assert.Assert(t, time.Now().Before(deadline), "reservation never released: %+v", l1.status())
		time.Sleep(200 * time.Millisecond)
	}
	assert.Equal(t, l1.status().Budgets[0].AvailableMsat, 15_000_000-base)
}

// TestRefusedByPayee: a payment the payee refuses for good (here an
// invoice it deleted: incorrect_or_unknown_payment_details) frees its
// reservation as soon as the payer gives up, not at its deadline
// (retry_for, 60 s): legacy pay tells with pay_failure, xpay with
// pay_part_end (v25.09+; before, xpay's reservation ends at its deadline).
func TestRefusedByPayee(t *testing.T) {
	l1, _, l3 := newLine(t, nil)
	if l1.xpayHandlesPay() {
		l1.must("setconfig", []any{"xpay-handle-pay", false}, nil)
	}
	l1.startGuard(map[string]any{"budget": "15000sat/1h"})
	cmds := []string{"pay"}
	if v := price.ParseVersion(version); l1.has("xpay") && (v == 0 || v >= 2509) {
		cmds = append(cmds, "xpay") // pay_part_end since v25.09
	}
	for _, cmd := range cmds {
		inv := l3.invoice("10000sat")
		l3.must("delinvoice", map[string]any{"label": l3.labelOf(inv), "status": "unpaid"}, nil)
		e := l1.call(cmd, []any{inv}, nil)
		assert.Assert(t, e != nil && e.Code != codeOverBudget, "%s: %v", cmd, e)
		deadline := time.Now().Add(3 * time.Second)
		for l1.status().Budgets[0].ReservedMsat != 0 {
			assert.Assert(t, time.Now().Before(deadline), "%s: reservation held after the payee refused: %+v", cmd, l1.status())
			time.Sleep(100 * time.Millisecond)
		}
	}
	e, r := l1.pay(l3.invoice("10000sat"))
	completed(t, l1, l3, e, r)
	l1.checkAlive()
}

// TestBudgetLightningdRestart: after lightningd restarts, pay-up-to (loaded
// from the config) starts from the node's records and its own: nothing
// spent in the window is forgotten, deleted history included.
func TestBudgetLightningdRestart(t *testing.T) {
	l1, _, l3 := newLine(t, nil, "important-plugin="+plugin, "budget=25000sat/1h")
	for i := 0; i < 2; i++ {
		e, r := l1.pay(l3.invoice("10000sat"))
		completed(t, l1, l3, e, r)
		if i == 0 && l1.has("delpay") {
			l1.settled()
			l1.must("delpay", map[string]any{"payment_hash": r.hash(t), "status": "complete"}, nil)
		}
	}
	l1.settled()
	spent := l1.status().Budgets[0].SpentMsat
	assert.Assert(t, spent > 20_000_000)

	assert.NilError(t, l1.Restart())
	deadline := time.Now().Add(20 * time.Second)
	for l1.status().History != "read" {
		assert.Assert(t, time.Now().Before(deadline), "records not read after restart: %+v", l1.status())
		time.Sleep(50 * time.Millisecond)
	}
	assert.Equal(t, l1.status().Budgets[0].SpentMsat, spent, "a restart of lightningd freed budget")
	e, _ := l1.pay(l3.invoice("10000sat"))
	overBudget(t, e, "25000sat/1h")
	l1.checkAlive()
}
