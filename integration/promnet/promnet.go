// Package promnet runs a real Prometheus server and promtool on this
// machine for tests, so that what the project exports is checked by the
// code that will read it in production rather than by our idea of the
// format. Install builds both at a fixed version into the user's cache
// directory, Start runs a server on loopback that scrapes the given
// targets, Query and WaitScraped ask it over the HTTP API, and
// CheckMetrics and CheckRules run promtool's linters.
package promnet

import (
	"github.com/payupto/pay-up-to/integration/proc"

	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Server is a Prometheus server on 127.0.0.1, on a free port.
type Server struct {
	URL string // such as http://127.0.0.1:12345
	Dir string // prometheus.yml, the TSDB in data and the server's output in prometheus.log; Stop removes it

	hc   *http.Client
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	once sync.Once     // for Stop
}

// Sample is one element of an instant vector.
type Sample struct {
	Labels map[string]string
	Value  float64
}

// jobName is the job_name of the scrape job that Start configures.
const jobName = "pay-up-to"

// timeout bounds how long Start waits for the server to be ready.
const timeout = 60 * time.Second

// Start runs prometheus (as Install returns it) in a new temporary
// directory, scraping targets (host:port, path /metrics) every interval in
// one job named "pay-up-to", and evaluating the rules in rulesFile (none
// if ""), also every interval. It waits until /-/ready answers 200; if it
// cannot, it stops the server and returns an error that ends with the tail
// of the server's output.
func Start(prometheus string, targets []string, interval time.Duration, rulesFile string) (*Server, error) {
	// Prometheus durations have no fractions: 1.5s must be 1500ms.
	if interval < time.Millisecond {
		return nil, fmt.Errorf("promnet: interval %v is under 1ms", interval)
	}
	ivl := fmt.Sprintf("%dms", interval.Milliseconds())
	if targets == nil {
		targets = []string{} // null in JSON, where YAML wants a list
	}
	// JSON strings and lists are YAML too, with no quoting to get wrong.
	tj, err := json.Marshal(targets)
	if err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: %s
  evaluation_interval: %s
scrape_configs:
  - job_name: %s
    metrics_path: /metrics
    static_configs:
      - targets: %s
`, ivl, ivl, jobName, tj)
	if rulesFile != "" {
		// Prometheus reads a relative path from the config's directory.
		abs, err := filepath.Abs(rulesFile)
		if err != nil {
			return nil, err
		}
		rj, err := json.Marshal([]string{abs})
		if err != nil {
			return nil, err
		}
		cfg += fmt.Sprintf("rule_files: %s\n", rj)
	}
	dir, err := os.MkdirTemp("", "promnet")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &Server{Dir: dir, hc: &http.Client{
		Transport: &http.Transport{DisableKeepAlives: true},
		Timeout:   10 * time.Second,
	}}
	// Another program can take the port between our check and
	// Prometheus's bind: then try again on a new port.
	for try := 1; ; try++ {
		err := s.start(prometheus)
		if err == nil {
			return s, nil
		}
		inUse := bytes.Contains(s.log(), []byte("address already in use"))
		s.kill()
		if !inUse || try == 3 {
			s.Stop()
			return nil, err
		}
	}
}

// start runs prometheus on a new port, with an empty TSDB, and waits until
// it is ready.
func (s *Server) start(prometheus string) error {
	port, err := proc.FreePort()
	if err != nil {
		return err
	}
	s.URL = fmt.Sprintf("http://127.0.0.1:%d", port)
	data := filepath.Join(s.Dir, "data")
	if err := os.RemoveAll(data); err != nil {
		return err
	}
	out, err := os.Create(filepath.Join(s.Dir, "prometheus.log"))
	if err != nil {
		return err
	}
	defer out.Close() // the child has its own copy
	cmd := exec.Command(prometheus,
		"--config.file="+filepath.Join(s.Dir, "prometheus.yml"),
		"--storage.tsdb.path="+data,
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port),
		// A hidden flag, 5s by default: the scrape manager takes in new
		// targets at most this often, so the first scrape comes about 3 s
		// sooner.
		"--scrape.discovery-reload-interval=100ms",
	)
	// Without built-in assets Prometheus looks for its web UI under the
	// working directory: make that one with nothing in it to find.
	cmd.Dir = s.Dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = proc.Attr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("promnet: starting prometheus: %w", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done
	deadline := time.Now().Add(timeout)
	for {
		if s.ready() {
			return nil
		}
		if !s.running() {
			return s.failure("prometheus exited at start")
		}
		if time.Now().After(deadline) {
			return s.failure("prometheus not ready after %v", timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *Server) ready() bool {
	resp, err := s.hc.Get(s.URL + "/-/ready")
	if err != nil {
		return false
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Query evaluates expr at the current time and returns the result, which
// must be an instant vector (or a scalar: then one sample with no labels).
func (s *Server) Query(expr string) ([]Sample, error) {
	var data struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := s.get("/api/v1/query?query="+url.QueryEscape(expr), &data); err != nil {
		return nil, fmt.Errorf("promnet: query %s: %w", expr, err)
	}
	switch data.ResultType {
	case "vector":
		var result []struct {
			Metric map[string]string `json:"metric"`
			Value  []json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(data.Result, &result); err != nil {
			return nil, fmt.Errorf("promnet: query %s: %w", expr, err)
		}
		samples := make([]Sample, len(result))
		for i, r := range result {
			v, err := value(r.Value)
			if err != nil {
				return nil, fmt.Errorf("promnet: query %s: %w", expr, err)
			}
			samples[i] = Sample{Labels: r.Metric, Value: v}
		}
		return samples, nil
	case "scalar":
		var pair []json.RawMessage
		if err := json.Unmarshal(data.Result, &pair); err != nil {
			return nil, fmt.Errorf("promnet: query %s: %w", expr, err)
		}
		v, err := value(pair)
		if err != nil {
			return nil, fmt.Errorf("promnet: query %s: %w", expr, err)
		}
		return []Sample{{Labels: map[string]string{}, Value: v}}, nil
	default:
		return nil, fmt.Errorf("promnet: query %s: result type %q, not vector", expr, data.ResultType)
	}
}

// value decodes a [timestamp, "value"] pair of the API.
func value(pair []json.RawMessage) (float64, error) {
	var s string
	if len(pair) != 2 || json.Unmarshal(pair[1], &s) != nil {
		b, _ := json.Marshal(pair)
		return 0, fmt.Errorf("bad value %s", b)
	}
	return strconv.ParseFloat(s, 64) // NaN and ±Inf are spelled as Go spells them
}

// get decodes the data of the API's answer to GET path into data, or
// returns the API's error.
func (s *Server) get(path string, data any) error {
	resp, err := s.hc.Get(s.URL + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	var r struct {
		Status    string          `json:"status"`
		ErrorType string          `json:"errorType"`
		Error     string          `json:"error"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("%s: %s", resp.Status, proc.Tail(body, 5, 1000))
	}
	if r.Status != "success" {
		return fmt.Errorf("%s: status %q: %s: %s", resp.Status, r.Status, r.ErrorType, r.Error)
	}
	return json.Unmarshal(r.Data, data)
}

// WaitScraped waits until Prometheus has scraped every target of job at
// least once and the latest scrape of each succeeded (up is 1), or d has
// passed; then the error says what each target's last scrape got.
func (s *Server) WaitScraped(job string, d time.Duration) error {
	expr := "up{job=" + strconv.Quote(job) + "}"
	deadline := time.Now().Add(d)
	for {
		samples, err := s.Query(expr)
		if err == nil && len(samples) > 0 && allOne(samples) {
			return nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("promnet: %s after %v: %s", expr, d, s.targets(job, samples))
			}
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func allOne(samples []Sample) bool {
	for _, s := range samples {
		if s.Value != 1 {
			return false
		}
	}
	return true
}

// targets describes samples of up, with the last scrape error of each of
// job's targets as /api/v1/targets has it.
func (s *Server) targets(job string, samples []Sample) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d series", len(samples))
	for _, sm := range samples {
		fmt.Fprintf(&b, "; %s=%v", sm.Labels["instance"], sm.Value)
	}
	var data struct {
		ActiveTargets []struct {
			Labels    map[string]string `json:"labels"`
			ScrapeURL string            `json:"scrapeUrl"`
			Health    string            `json:"health"`
			LastError string            `json:"lastError"`
		} `json:"activeTargets"`
	}
	if err := s.get("/api/v1/targets?state=active", &data); err != nil {
		fmt.Fprintf(&b, "; targets: %v", err)
		return b.String()
	}
	for _, t := range data.ActiveTargets {
		if t.Labels["job"] == job {
			fmt.Fprintf(&b, "; %s %s", t.ScrapeURL, t.Health)
			if t.LastError != "" {
				fmt.Fprintf(&b, ": %s", t.LastError)
			}
		}
	}
	return b.String()
}

// Stop sends Prometheus SIGTERM, kills it if it has not exited 10 s later,
// and removes Dir.
func (s *Server) Stop() {
	s.once.Do(func() {
		if s.running() {
			if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				s.kill()
			}
			select {
			case <-s.done:
			case <-time.After(10 * time.Second):
				s.kill()
			}
		}
		os.RemoveAll(s.Dir)
	})
}

func (s *Server) running() bool {
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL and waits for the process to exit.
func (s *Server) kill() {
	if !s.running() {
		return
	}
	s.cmd.Process.Kill()
	<-s.done
}

func (s *Server) log() []byte {
	data, _ := os.ReadFile(filepath.Join(s.Dir, "prometheus.log"))
	return data
}

// failure returns an error that says what went wrong, followed by the
// last lines Prometheus wrote.
func (s *Server) failure(format string, args ...any) error {
	msg := fmt.Sprintf("promnet: "+format, args...)
	if t := proc.Tail(s.log(), 10, 4000); t != "" {
		msg += "\n--- prometheus.log:\n" + t
	}
	return errors.New(msg)
}

// CheckMetrics runs `promtool check metrics` on exposition, a scrape in
// the text format, and returns an error with promtool's output if it finds
// anything wrong. promtool prints lint problems and exits 3 for them (1
// for text it cannot parse); older versions exit 0 with problems printed,
// so any output at all counts as a problem too.
func CheckMetrics(promtool string, exposition []byte) error {
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(exposition)
	out, err := cmd.CombinedOutput()
	out = bytes.TrimSpace(out)
	if err != nil {
		return fmt.Errorf("promnet: promtool check metrics: %v\n%s", err, proc.Tail(out, 20, 4000))
	}
	if len(out) > 0 {
		return fmt.Errorf("promnet: promtool check metrics:\n%s", proc.Tail(out, 20, 4000))
	}
	return nil
}

// CheckRules runs `promtool check rules` on file and returns an error with
// promtool's output if it fails.
func CheckRules(promtool, file string) error {
	out, err := exec.Command(promtool, "check", "rules", file).CombinedOutput()
	if err != nil {
		return fmt.Errorf("promnet: promtool check rules %s: %v\n%s", file, err, proc.Tail(out, 20, 4000))
	}
	return nil
}
