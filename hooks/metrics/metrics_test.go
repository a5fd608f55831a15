package metrics

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	"gotest.tools/v3/golden"

	"github.com/payupto/pay-up-to/hooks/fleet"
	"github.com/payupto/pay-up-to/hooks/operator"
	"github.com/payupto/pay-up-to/hooks/pause"
)

func ptr(n uint64) *uint64 { return &n }

// sampleStatus is a guard with a limit, two windows (the second's spent
// not known yet is impossible: both known), an app with an allowance, a
// paused rune and a fleet of two.
func sampleStatus() operator.Status {
	p := pause.New("7", 1_796_000_000, "audit")
	return operator.Status{
		Version: "0.4.0", Limit: "0.001btc", LimitMSat: ptr(100_000_000),
		Budgets: []operator.BudgetStatus{
			{Budget: "0.002btc/1h", BudgetMSat: 200_000_000, WindowS: 3600, SpentMSat: ptr(1_500_000), ReservedMSat: 1_005_000, AvailableMSat: ptr(197_495_000), OnchainMSat: ptr(328_000)},
			{Budget: "0.01btc/1d", BudgetMSat: 1_000_000_000, WindowS: 86400, SpentMSat: ptr(9_500_000), ReservedMSat: 1_005_000, AvailableMSat: ptr(989_495_000), OnchainMSat: ptr(328_000)},
		},
		Approved: 12, Refused: 3, History: "read",
		Runes: []operator.AllowanceStatus{{RuneID: "5", Limit: "10000sat", LimitMSat: ptr(10_000_000),
			Budgets: []operator.BudgetStatus{{Budget: "20000sat/1d", BudgetMSat: 20_000_000, WindowS: 86400, SpentMSat: ptr(4_000_000), AvailableMSat: ptr(16_000_000), OnchainMSat: ptr(0)}}}},
		PausedRunes: []pause.Pause{p},
		Fleet: &fleet.Status{Name: "hot", Reachable: true, Revision: 9, Members: []fleet.MemberStatus{
			{NodeID: "02aa", Spent: 6_000_000, Reserved: 1_005_000, LastSeen: 1_796_000_100},
			{NodeID: "03bb", Spent: 3_500_000, Share: 2_000_000, LastSeen: 1_796_000_090},
		}},
	}
}

func sampleServer(t *testing.T, st func() operator.Status) (*Server, *[]string) {
	var tally operator.Tally
	tally.Approval("pay")
	tally.Approval("withdraw")
	tally.Refusal("pay", 2102, json.RawMessage(`{"code":2102}`))
	tally.Refusal("keysend", 2100, json.RawMessage(`{"code":2100}`))
	tally.Refusal("connect", 2103, json.RawMessage(`{"code":2103}`))
	var mu sync.Mutex
	var logs []string
	s := New(st, &tally, func(level, format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		logs = append(logs, level+": "+strings.TrimSpace(format))
		_ = args
	}, "rpc_command")
	t.Cleanup(s.Close)
	return s, &logs
}

// TestExposition: what a scrape of a busy guard shows, to the byte.
func TestExposition(t *testing.T) {
	s, _ := sampleServer(t, sampleStatus)
	for _, d := range []time.Duration{3 * time.Microsecond, 40 * time.Microsecond, 2 * time.Millisecond, 20 * time.Second} {
		s.Observe("rpc_command", d)
	}
	s.Observe("getmanifest", time.Second) // not a hook: not timed
	out := s.figures().write()
	golden.Assert(t, string(out), "busy.golden")
	lint(t, string(out))
}

// TestExpositionUnknown: before the records are read, no spent figure is
// shown (never a 0 that is not known); no limit, no fleet, no runes.
func TestExpositionUnknown(t *testing.T) {
	s, _ := sampleServer(t, func() operator.Status {
		return operator.Status{Version: "dev", History: "not read yet (spent figures unknown)",
			Budgets: []operator.BudgetStatus{{Budget: "1000sat/1h", BudgetMSat: 1_000_000, WindowS: 3600}}}
	})
	out := string(s.figures().write())
	lint(t, out)
	for _, absent := range []string{"pay_up_to_limit_msat", "pay_up_to_budget_spent_msat", "pay_up_to_budget_available_msat", "pay_up_to_fleet", "pay_up_to_rune"} {
		assert.Assert(t, !strings.Contains(out, absent), "%s shown:\n%s", absent, out)
	}
	assert.Assert(t, strings.Contains(out, "\npay_up_to_records_read 0\n"), out)
	assert.Assert(t, strings.Contains(out, `pay_up_to_budget_reserved_msat{window="1h"} 0`), out)
}

var (
	helpRe   = regexp.MustCompile(`^# HELP (pay_up_to_[a-z_]+) \S.*$`)
	typeRe   = regexp.MustCompile(`^# TYPE (pay_up_to_[a-z_]+) (gauge|counter|histogram)$`)
	sampleRe = regexp.MustCompile(`^(pay_up_to_[a-z_]+)(\{[a-z_]+="(?:[^"\\]|\\.)*"(?:,[a-z_]+="(?:[^"\\]|\\.)*")*\})? (\d+(?:\.\d+)?(?:e[-+]\d+)?|\+Inf)$`)
)

// lint holds a scrape to Prometheus' conventions (promtool checks the
// same on real scrapes in the integration tests): every sample under a
// family declared once with HELP and TYPE, counters end in _total,
// gauges name their unit, no series twice.
func lint(t *testing.T, out string) {
	t.Helper()
	assert.Assert(t, strings.HasSuffix(out, "\n"))
	types := map[string]string{}
	family := ""
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if m := helpRe.FindStringSubmatch(line); m != nil {
			assert.Assert(t, types[m[1]] == "", "family %s twice", m[1])
			family = m[1]
			continue
		}
		if m := typeRe.FindStringSubmatch(line); m != nil {
			assert.Equal(t, m[1], family, "TYPE without its HELP: %s", line)
			types[family] = m[2]
			switch m[2] {
			case "counter":
				assert.Assert(t, strings.HasSuffix(family, "_total"), family)
			case "gauge":
				assert.Assert(t, regexp.MustCompile(`_(msat|seconds|read|paused|runes|reachable|info)$`).MatchString(family), "gauge %s names no unit", family)
			case "histogram":
				assert.Assert(t, strings.HasSuffix(family, "_seconds"), family)
			}
			continue
		}
		m := sampleRe.FindStringSubmatch(line)
		assert.Assert(t, m != nil, "not a sample: %q", line)
		name := m[1]
		if types[family] == "histogram" {
			name = regexp.MustCompile(`_(bucket|sum|count)$`).ReplaceAllString(name, "")
		}
		assert.Equal(t, name, family, "sample outside its family: %s", line)
		series := m[1] + m[2]
		assert.Assert(t, !seen[series], "series twice: %s", series)
		seen[series] = true
	}
}

func get(t *testing.T, addr, path string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	assert.NilError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	assert.NilError(t, err)
	return resp.StatusCode, string(b), resp.Header
}

// TestServe: nothing listens before Start; then /metrics answers, other
// paths do not; setconfig moves it, refuses a port in use (keeping the
// old one), and turns it off.
func TestServe(t *testing.T) {
	s, logs := sampleServer(t, sampleStatus)
	assert.NilError(t, s.Set("127.0.0.1:0"))
	assert.Equal(t, s.Addr(), "", "listening before init")
	s.Start()
	addr := s.Addr()
	assert.Assert(t, addr != "", "%v", *logs)
	code, body, h := get(t, addr, "/metrics")
	assert.Equal(t, code, 200)
	assert.Equal(t, h.Get("Content-Type"), "text/plain; version=0.0.4; charset=utf-8")
	assert.Assert(t, strings.Contains(body, "pay_up_to_limit_msat 100000000\n"), body)
	code, _, _ = get(t, addr, "/")
	assert.Equal(t, code, 404)
	resp, err := http.Post("http://"+addr+"/metrics", "text/plain", nil)
	assert.NilError(t, err)
	resp.Body.Close()
	assert.Equal(t, resp.StatusCode, 405)

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	defer busy.Close()
	err = s.Set(busy.Addr().String())
	assert.ErrorContains(t, err, "cannot listen")
	assert.Equal(t, s.Addr(), addr, "the old address stays")
	code, _, _ = get(t, addr, "/metrics")
	assert.Equal(t, code, 200)

	assert.NilError(t, s.Set("127.0.0.1:0"))
	moved := s.Addr()
	assert.Assert(t, moved != addr && moved != "")
	_, err = http.Get("http://" + addr + "/metrics")
	assert.Assert(t, err != nil, "the old address still answers")
	assert.NilError(t, s.Set(""))
	assert.Equal(t, s.Addr(), "")
	_, err = http.Get("http://" + moved + "/metrics")
	assert.Assert(t, err != nil, "still answers when off")
}

// TestStartPortInUse: at start, a port in use is said in the log; the
// plugin goes on (Start returns nothing to fail init with).
func TestStartPortInUse(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	defer busy.Close()
	s, logs := sampleServer(t, sampleStatus)
	assert.NilError(t, s.Set(busy.Addr().String()))
	s.Start()
	assert.Equal(t, s.Addr(), "")
	assert.Equal(t, len(*logs), 1)
	assert.Assert(t, strings.HasPrefix((*logs)[0], "unusual: metrics-listen=%s: %v; no metrics are served (the guard keeps guarding)"), (*logs)[0])
}

func TestAddress(t *testing.T) {
	for in, want := range map[string]string{
		"":               "",
		"off":            "",
		"127.0.0.1:9751": "127.0.0.1:9751",
		":9751":          "127.0.0.1:9751",
		"[::1]:9751":     "[::1]:9751",
		"0.0.0.0:9751":   "0.0.0.0:9751",
		"localhost:0":    "localhost:0",
	} {
		got, err := Address(in)
		assert.NilError(t, err, in)
		assert.Equal(t, got, want, in)
	}
	for in, why := range map[string]string{
		"9751":             "want host:port",
		"127.0.0.1":        "want host:port",
		"127.0.0.1:http":   "is not a number",
		"127.0.0.1:70000":  "is not a number",
		"127.0.0.1:-1":     "is not a number",
		"::1:9751":         "want host:port",
		"127.0.0.1:9751/x": "is not a number",
	} {
		_, err := Address(in)
		assert.ErrorContains(t, err, why, in)
	}
}

// TestScrapeHoldsNoLock: a scraper that never reads its answer holds up
// neither Observe nor another scrape.
func TestScrapeHoldsNoLock(t *testing.T) {
	s, _ := sampleServer(t, sampleStatus)
	assert.NilError(t, s.Set("127.0.0.1:0"))
	s.Start()
	c, err := net.Dial("tcp", s.Addr())
	assert.NilError(t, err)
	defer c.Close()
	io.WriteString(c, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n") // and never read
	done := make(chan struct{})
	go func() {
		for range 1000 {
			s.Observe("rpc_command", time.Microsecond)
		}
		get(t, s.Addr(), "/metrics")
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("held up by a scraper that does not read")
	}
}
