package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/payupto/pay-up-to/integration/proc"
	"github.com/payupto/pay-up-to/integration/promnet"
)

// TestMetrics: a real Prometheus scrapes a guarded l1 while it pays,
// refuses over the limit and over the budget, and an app pays through
// commando from l2; Prometheus' answers then equal pay-up-to-status:
// spent per window, approvals and refusals, refusals by code, the app's
// spent. promtool passes the real scrape and the alerting rules, and
// the refusals alert fires.
func TestMetrics(t *testing.T) {
	getNetwork(t) // skips first where there is no lightningd: nothing to build for
	prom, promtool, err := promnet.Install(promnet.Version, "")
	if err != nil {
		t.Skipf("integration: cannot install Prometheus %s: %v", promnet.Version, err)
	}
	port, err := proc.FreePort()
	assert.NilError(t, err)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	l1, l2, l3 := newLine(t, nil, "important-plugin="+plugin, "limit=0.001btc", "budget=60000sat/1h", "metrics-listen="+addr)
	waitRead(t, l1)
	rules := "../hooks/metrics/rules.yml"
	assert.NilError(t, promnet.CheckRules(promtool, rules))
	ps, err := promnet.Start(prom, []string{addr}, time.Second, rules)
	assert.NilError(t, err)
	t.Cleanup(ps.Stop)
	assert.NilError(t, ps.WaitScraped("pay-up-to", 30*time.Second))

	e, r := l1.pay(l3.invoice("20000sat"))
	completed(t, l1, l3, e, r)
	e, _ = l1.pay(l3.invoice("0.002btc"))
	assert.Assert(t, e != nil && e.Code == codeOverLimit, "%v", e)
	app := ""
	if l1.has("checkrune") {
		rn, id := l1.newRune(nil)
		l1.must("pay-up-to-setallowance", []any{id, nil, "30000sat/1h"}, nil)
		e, r := appOf(l1, l2, rn).pay(l3.invoice("10000sat"))
		completed(t, l1, l3, e, r)
		app = id
	}
	l1.settled()
	e, _ = l1.pay(l3.invoice("50000sat"))
	assert.Assert(t, e != nil && e.Code == codeOverBudget, "%v", e)

	st := l1.status()
	want := map[string]float64{
		`pay_up_to_budget_spent_msat{window="1h"}`:                          float64(st.Budgets[0].SpentMsat),
		`pay_up_to_budget_msat{window="1h"}`:                                float64(st.Budgets[0].BudgetMsat),
		`pay_up_to_limit_msat`:                                              float64(st.LimitMsat),
		`pay_up_to_approved_total`:                                          float64(st.Approved),
		`pay_up_to_refused_total`:                                           float64(st.Refused),
		`sum(pay_up_to_refusals_by_method_total)`:                           float64(st.Refused),
		`pay_up_to_records_read`:                                            1,
		`pay_up_to_paused`:                                                  0,
		`count(pay_up_to_hook_duration_seconds_bucket{hook="rpc_command"})`: 20,
	}
	for _, rr := range st.RecentRefusals { // all of them: fewer than ten
		var x struct{ Code int }
		assert.NilError(t, json.Unmarshal(rr, &x))
		want[fmt.Sprintf(`sum(pay_up_to_refusals_by_method_total{code="%d"})`, x.Code)]++
	}
	assert.Equal(t, int64(len(st.RecentRefusals)), st.Refused)
	if app != "" {
		want[`pay_up_to_rune_budget_spent_msat{rune_id="`+app+`",window="1h"}`] = float64(l1.runeSpent(app))
	}
	assert.Assert(t, st.Budgets[0].SpentMsat > 20_000_000, "%+v", st)
	waitFor(t, 30*time.Second, func() string {
		for expr, v := range want {
			got, err := ps.Query(expr)
			if err != nil {
				return err.Error()
			}
			if len(got) != 1 || got[0].Value != v {
				return fmt.Sprintf("Prometheus: %s = %+v, pay-up-to-status says %v", expr, got, v)
			}
		}
		return ""
	})
	waitFor(t, 30*time.Second, func() string {
		got, err := ps.Query(`ALERTS{alertname="PayUpToRefusals",alertstate="firing"}`)
		if err != nil || len(got) != 1 {
			return fmt.Sprintf("the refusals alert does not fire: %+v %v", got, err)
		}
		return ""
	})

	resp, err := http.Get("http://" + addr + "/metrics")
	assert.NilError(t, err)
	scrape, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.NilError(t, err)
	assert.NilError(t, promnet.CheckMetrics(promtool, scrape))
	t.Logf("a scrape: %d bytes; hook p99 %s", len(scrape), quantile(t, ps, 0.99))

	// A bad value is refused with the reason; a port in use too, and the
	// old address keeps serving.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	defer busy.Close()
	if l1.has("setconfig") {
		e := l1.call("setconfig", map[string]any{"config": "metrics-listen", "val": "9751"}, nil)
		assert.Assert(t, e != nil && strings.Contains(e.Message, "want host:port"), "%v", e)
		e = l1.call("setconfig", map[string]any{"config": "metrics-listen", "val": busy.Addr().String()}, nil)
		assert.Assert(t, e != nil && strings.Contains(e.Message, "cannot listen"), "%v", e)
		resp, err := http.Get("http://" + addr + "/metrics")
		assert.NilError(t, err)
		resp.Body.Close()
	}
	// At start, a port in use is said in the log, and the guard guards.
	l3.must("plugin", map[string]any{"subcommand": "start", "plugin": plugin, "limit": "1000sat", "metrics-listen": busy.Addr().String()}, nil)
	waitFor(t, 10*time.Second, func() string {
		if b, _ := os.ReadFile(l3.LogPath()); !strings.Contains(string(b), "no metrics are served (the guard keeps guarding)") {
			return "l3's log does not say the port is in use"
		}
		return ""
	})
	e, _ = l3.pay(l1.invoice("2000sat"))
	assert.Assert(t, e != nil && e.Code == codeOverLimit, "%v", e)
	l1.checkAlive()
	l3.checkAlive()
}

// appOf is l2's app paying through l1 with rn, by xpay where there is one.
func appOf(l1, l2 *node, rn string) app {
	cmd := "pay"
	if l1.has("xpay") {
		cmd = "xpay"
	}
	return app{l1, l2, rn, cmd}
}

func quantile(t *testing.T, ps *promnet.Server, q float64) string {
	got, err := ps.Query(`histogram_quantile(` + strconv.FormatFloat(q, 'g', -1, 64) + `, sum by (le) (rate(pay_up_to_hook_duration_seconds_bucket[1m])))`)
	if err != nil || len(got) != 1 {
		return fmt.Sprintf("unknown (%v)", err)
	}
	return time.Duration(got[0].Value * float64(time.Second)).String()
}
