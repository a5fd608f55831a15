package metrics

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

var metricName = regexp.MustCompile(`\bpay_up_to_[a-z_]+`)

// families are the metric names a busy guard's scrape shows.
func families(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile("testdata/busy.golden")
	assert.NilError(t, err)
	out := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if name, ok := strings.CutPrefix(line, "# TYPE "); ok {
			f := strings.Fields(name)
			out[f[0]] = true
			if f[1] == "histogram" {
				out[f[0]+"_bucket"], out[f[0]+"_sum"], out[f[0]+"_count"] = true, true, true
			}
		}
	}
	return out
}

// TestDashboard: the Grafana dashboard imports as is (its datasource is
// an input) and asks only for metrics pay-up-to exports.
func TestDashboard(t *testing.T) {
	b, err := os.ReadFile("dashboard.json")
	assert.NilError(t, err)
	var d struct {
		Inputs []struct{ Name, Type string } `json:"__inputs"`
		UID    string                        `json:"uid"`
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	assert.NilError(t, json.Unmarshal(b, &d))
	assert.Equal(t, len(d.Inputs), 1)
	assert.Equal(t, d.Inputs[0].Name, "DS_PROMETHEUS")
	fam := families(t)
	used := map[string]bool{}
	for _, p := range d.Panels {
		assert.Assert(t, len(p.Targets) > 0, p.Title)
		for _, tg := range p.Targets {
			names := metricName.FindAllString(tg.Expr, -1)
			assert.Assert(t, len(names) > 0, "%s: %s", p.Title, tg.Expr)
			for _, n := range names {
				assert.Assert(t, fam[n], "%s asks for %s, which pay-up-to does not export", p.Title, n)
				used[n] = true
			}
		}
	}
	for _, want := range []string{"pay_up_to_budget_spent_msat", "pay_up_to_refusals_by_method_total", "pay_up_to_budget_reserved_msat", "pay_up_to_rune_budget_msat"} {
		assert.Assert(t, used[want], "the dashboard does not show %s", want)
	}
}

// TestRules: the alerting rules ask only for metrics pay-up-to exports
// (promtool checks their syntax in the integration tests).
func TestRules(t *testing.T) {
	b, err := os.ReadFile("rules.yml")
	assert.NilError(t, err)
	fam := families(t)
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		expr, ok := strings.CutPrefix(strings.TrimSpace(line), "expr: ")
		if !ok {
			continue
		}
		n++
		for _, name := range metricName.FindAllString(expr, -1) {
			assert.Assert(t, fam[name], "rule asks for %s: %s", name, expr)
		}
	}
	assert.Equal(t, n, 6)
}
