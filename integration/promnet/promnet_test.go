package promnet

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

var (
	installOnce      sync.Once
	promBin, toolBin string
	installErr       error
)

// install returns prometheus and promtool of Version, or skips the test
// when the go command cannot build them (no module proxy, say). The first
// build takes minutes.
func install(t *testing.T) (prometheus, promtool string) {
	t.Helper()
	if testing.Short() {
		t.Skip("promnet: -short: no prometheus")
	}
	installOnce.Do(func() {
		start := time.Now()
		promBin, toolBin, installErr = Install(Version, "")
		if d := time.Since(start); d > time.Second && installErr == nil {
			t.Logf("built prometheus %s in %v", Version, d.Round(time.Second))
		}
	})
	if installErr != nil {
		msg := strings.TrimPrefix(strings.Join(strings.Fields(installErr.Error()), " "), "promnet: ")
		t.Skipf("promnet: cannot install prometheus: %s", msg)
	}
	return promBin, toolBin
}

const goodMetrics = `# HELP payupto_test_events_total Events the test counted.
# TYPE payupto_test_events_total counter
payupto_test_events_total{kind="a"} 42
`

const goodRules = `groups:
  - name: payupto
    rules:
      - record: job:payupto_test_events:sum
        expr: sum by (job) (payupto_test_events_total)
      - alert: PayUpToTestEventsStuck
        expr: rate(payupto_test_events_total[5m]) == 0
        for: 10m
        labels:
          severity: warning
        annotations:
          summary: No events for 10 minutes.
`

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	assert.NilError(t, os.WriteFile(path, []byte(text), 0o644))
	return path
}

// TestScrape has Prometheus scrape a counter and evaluate a recording rule
// on it.
func TestScrape(t *testing.T) {
	prometheus, _ := install(t)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.Write([]byte(goodMetrics))
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	s, err := Start(prometheus, []string{l.Addr().String()}, time.Second, writeFile(t, "rules.yml", goodRules))
	assert.NilError(t, err)
	t.Cleanup(s.Stop)
	assert.Assert(t, strings.HasPrefix(s.URL, "http://127.0.0.1:"), s.URL)

	assert.NilError(t, s.WaitScraped("pay-up-to", 30*time.Second))
	samples, err := s.Query("payupto_test_events_total")
	assert.NilError(t, err)
	assert.Assert(t, is.Len(samples, 1))
	assert.Equal(t, samples[0].Value, 42.0)
	assert.DeepEqual(t, samples[0].Labels, map[string]string{
		"__name__": "payupto_test_events_total",
		"instance": l.Addr().String(),
		"job":      "pay-up-to",
		"kind":     "a",
	})

	// The recording rule runs every second too.
	deadline := time.Now().Add(30 * time.Second)
	for {
		samples, err = s.Query("job:payupto_test_events:sum")
		assert.NilError(t, err)
		if len(samples) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	assert.Assert(t, is.Len(samples, 1))
	assert.Equal(t, samples[0].Value, 42.0)

	samples, err = s.Query("scalar(payupto_test_events_total) * 2")
	assert.NilError(t, err)
	assert.Assert(t, is.Len(samples, 1))
	assert.Equal(t, samples[0].Value, 84.0)

	_, err = s.Query("sum(")
	assert.ErrorContains(t, err, "bad_data")

	dir := s.Dir
	s.Stop()
	_, err = os.Stat(dir)
	assert.Assert(t, os.IsNotExist(err), "Stop left %s", dir)
}

func TestWaitScrapedDown(t *testing.T) {
	prometheus, _ := install(t)
	// A port that nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	addr := l.Addr().String()
	l.Close()
	s, err := Start(prometheus, []string{addr}, time.Second, "")
	assert.NilError(t, err)
	t.Cleanup(s.Stop)
	err = s.WaitScraped("pay-up-to", 10*time.Second)
	assert.ErrorContains(t, err, addr)
	t.Log(err)
}

func TestStartFails(t *testing.T) {
	prometheus, _ := install(t)
	_, err := Start(prometheus, nil, time.Second, writeFile(t, "rules.yml", "groups: [{name: x, rules: [{record: r, expr: 'sum('}]}]\n"))
	assert.ErrorContains(t, err, "prometheus exited at start")
	assert.ErrorContains(t, err, "prometheus.log")
	t.Log(err)
}

func TestCheckMetrics(t *testing.T) {
	_, promtool := install(t)
	assert.NilError(t, CheckMetrics(promtool, []byte(goodMetrics)))

	for name, text := range map[string]string{
		"no _total":  "# HELP payupto_test_events Events.\n# TYPE payupto_test_events counter\npayupto_test_events 1\n",
		"no HELP":    "# TYPE payupto_test_events_total counter\npayupto_test_events_total 1\n",
		"unparsable": "payupto_test_events_total{kind=\"a} 1\n",
	} {
		err := CheckMetrics(promtool, []byte(text))
		assert.Assert(t, err != nil, "%s: passed", name)
		t.Logf("%s: %v", name, err)
	}
}

func TestCheckRules(t *testing.T) {
	_, promtool := install(t)
	assert.NilError(t, CheckRules(promtool, writeFile(t, "good.yml", goodRules)))

	for name, text := range map[string]string{
		"bad expr":  "groups:\n  - name: g\n    rules:\n      - record: r:x\n        expr: sum(rate(x[5m])\n",
		"bad field": "groups:\n  - name: g\n    rules:\n      - record: r:x\n        expr: x\n        frequency: 1m\n",
	} {
		err := CheckRules(promtool, writeFile(t, "bad.yml", text))
		assert.Assert(t, err != nil, "%s: passed", name)
		t.Logf("%s: %v", name, err)
	}
}
