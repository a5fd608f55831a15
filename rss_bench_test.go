package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payupto/pay-up-to/jsonrpc"
)

// standIn is a stand-in lightningd for the restart benchmark: n complete
// payments from the last 12 hours, rows shaped like v26.06's (paged
// listsendpays by created_index), and a datastore kept in memory across
// the plugin's starts, counting its writes.
type standIn struct {
	n       int
	now     int64
	noIndex bool // as lightningd before v23.11: no created_index, no paging

	mu     sync.Mutex
	store  map[string]string // key joined with "\x00"
	writes int
}

const benchBolt11 = "lnbcrt2m1p4s2w6dsp5kwehw4vuusp2eeflctf7wdtk8dugr28m9z3zfrcucvq8j893mluqpp5sq82g8yy5a4c2t3nn3ryf8czv02r2e7qqgryqpmyjy22uy2wqrdsdqlw3hk7gr90pcx2mnnd9mx2grsd9a85cgxqyjw5qcqp29qxpqysgq2jm0y82d2337q6h7u4jclv3ctf7wxhssud2n4z5u87ye7e2em6xp024md9gqdz4dnmjnfedrttf275hst7rsgwgh8n5qnrw8z6qmlnqqseeq9f"

func (s *standIn) serve(b *testing.B, path string) {
	l, err := net.Listen("unix", path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go s.conn(conn)
		}
	}()
}

func (s *standIn) conn(conn net.Conn) {
	defer conn.Close()
	rd := jsonrpc.NewReader(conn, 0)
	w := bufio.NewWriter(conn)
	for {
		m, err := rd.Next()
		if err != nil {
			return
		}
		var req struct {
			ID     json.RawMessage
			Method string
			Params struct {
				Index        string
				PaymentHash  string `json:"payment_hash"`
				Start, Limit int
				Key          []string
				String       string
			}
		}
		json.Unmarshal(m.Data, &req)
		var res []byte
		switch req.Method {
		case "getinfo":
			res = []byte(`{"id":"02aa","version":"v26.06.6"}`)
		case "listconfigs":
			res = []byte(`{"configs":{}}`)
		case "listtransactions":
			res = []byte(`{"transactions":[]}`)
		case "wait":
			res = []byte(`{"subsystem":"invoices","created":1}`)
		case "listinvoices":
			res = []byte(`{"invoices":[]}`)
		case "listdatastore":
			res = s.list(req.Params.Key)
		case "datastore", "deldatastore":
			s.mu.Lock()
			s.writes++
			k := strings.Join(req.Params.Key, "\x00")
			if req.Method == "datastore" {
				s.store[k] = req.Params.String
			} else {
				delete(s.store, k)
			}
			s.mu.Unlock()
			res = []byte(`{}`)
		case "listsendpays":
			first := max(req.Params.Start, 1)
			last := min(first+req.Params.Limit-1, s.n)
			switch {
			case s.noIndex && req.Params.Index != "":
				fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"error":{"code":-32602,"message":"index: unknown parameter"}}`, req.ID)
				w.Flush()
				continue
			case s.noIndex && req.Params.PaymentHash == "":
				first, last = 1, s.n // everything, in one answer
			case req.Params.PaymentHash != "" || req.Params.Index != "created":
				first, last = 1, 0 // every row is complete: none is asked for by hash
			}
			// Written as it is made: a stand-in for v23.02 answers with every row.
			fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":{"payments":[`, req.ID)
			for i := first; i <= last; i++ {
				if i > first {
					w.WriteByte(',')
				}
				at := s.now - 43_000 + int64(i)*43_000/int64(s.n)
				idx := ""
				if !s.noIndex {
					idx = fmt.Sprintf(`"created_index":%d,"updated_index":%d,`, i, i)
				}
				fmt.Fprintf(w, `{%s"id":%d,"payment_hash":"%064x","groupid":1,"destination":"03d0000000000000000000000000000000000000000000000000000000000000000","amount_msat":10000000,"amount_sent_msat":10000101,"created_at":%d,"completed_at":%d,"status":"complete","payment_preimage":"%064x","bolt11":"%s"}`,
					idx, i, i, at, at+1, i, benchBolt11)
			}
			w.WriteString("]}}")
			w.Flush()
			continue
		default:
			fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"error":{"code":-32601,"message":"unknown"}}`, req.ID)
			w.Flush()
			continue
		}
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":%s}`, req.ID, res)
		w.Flush()
	}
}

// list answers listdatastore for the keys under prefix.
func (s *standIn) list(prefix []string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := strings.Join(prefix, "\x00")
	out := []byte(`{"datastore":[`)
	first := true
	for k, v := range s.store {
		if k != p && !strings.HasPrefix(k, p+"\x00") {
			continue
		}
		if !first {
			out = append(out, ',')
		}
		first = false
		key, _ := json.Marshal(strings.Split(k, "\x00"))
		val, _ := json.Marshal(v)
		out = fmt.Appendf(out, `{"key":%s,"string":%s}`, key, val)
	}
	return append(out, "]}"...)
}

func (s *standIn) counts() (keys, writes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.store), s.writes
}

// procKB reads a field of /proc/pid/status in kB.
func procKB(pid int, field string) float64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return n
		}
	}
	return 0
}

// startFigures are one start of the plugin against the stand-in.
type startFigures struct {
	readS, hwmMB, rssMB float64
	keys, writes        int
}

// start runs the real binary as lightningd does, with a one-week budget,
// until it has read the history and its datastore writes have gone quiet.
func (s *standIn) start(b *testing.B, bin, dir string) startFigures {
	_, w0 := s.counts()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "LIGHTNINGD_PLUGIN=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	fmt.Fprintf(stdin, `{"jsonrpc":"2.0","id":1,"method":"getmanifest","params":{}}`+"\n\n"+
		`{"jsonrpc":"2.0","id":2,"method":"init","params":{"options":{"limit":"0.001btc","budget":"100000btc/1w"},"configuration":{"lightning-dir":%q,"rpc-file":"rpc","startup":false,"network":"regtest"}}}`+"\n\n", dir)
	rd := jsonrpc.NewReader(stdout, 0)
	status := func() string {
		fmt.Fprint(stdin, `{"jsonrpc":"2.0","id":"s","method":"pay-up-to-status","params":{}}`+"\n\n")
		for {
			m, err := rd.Next()
			if err != nil {
				b.Fatal(err)
			}
			var r struct {
				ID     string
				Result struct{ History string }
			}
			if json.Unmarshal(m.Data, &r) == nil && r.ID == "s" {
				return r.Result.History
			}
		}
	}
	deadline := time.Now().Add(5 * time.Minute)
	for status() != "read" {
		if time.Now().After(deadline) {
			b.Fatal("records not read")
		}
		time.Sleep(10 * time.Millisecond)
	}
	f := startFigures{readS: time.Since(t0).Seconds()}
	for last := -1; ; time.Sleep(2 * time.Second) { // until the writes are quiet
		if _, w := s.counts(); w != last {
			last = w
			continue
		}
		break
	}
	f.rssMB, f.hwmMB = procKB(cmd.Process.Pid, "VmRSS")/1024, procKB(cmd.Process.Pid, "VmHWM")/1024
	keys, w1 := s.counts()
	f.keys, f.writes = keys, w1-w0
	return f
}

// BenchmarkRestart starts the real binary (PAY_UP_TO_BIN, or one built
// here) as lightningd does, with a budget, against a stand-in lightningd
// with PAY_UP_TO_BENCH_N complete payments (100,000 unless set) in the
// last 12 hours, then starts it again on the records the first start
// kept, as every restart of a busy node does. PAY_UP_TO_BENCH_NOINDEX=1
// makes the stand-in a lightningd before v23.11 (no created_index, every
// row in one answer). For each start it reports
// the seconds until the history is read, peak and final RSS, and the
// datastore's keys and the writes that start made. No GOMEMLIMIT.
func BenchmarkRestart(b *testing.B) {
	n := 100_000
	if v := os.Getenv("PAY_UP_TO_BENCH_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("PAY_UP_TO_BENCH_N=%q: not a positive number", v)
		}
	}
	bin := os.Getenv("PAY_UP_TO_BIN")
	if bin == "" {
		bin = filepath.Join(b.TempDir(), "pay-up-to")
		if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
	}
	var first, again startFigures
	for b.Loop() {
		dir, err := os.MkdirTemp("", "rss") // short: unix socket paths are limited
		if err != nil {
			b.Fatal(err)
		}
		defer os.RemoveAll(dir)
		s := &standIn{n: n, now: time.Now().Unix(), store: map[string]string{}, noIndex: os.Getenv("PAY_UP_TO_BENCH_NOINDEX") == "1"}
		s.serve(b, filepath.Join(dir, "rpc"))
		first = s.start(b, bin, dir)
		again = s.start(b, bin, dir)
	}
	for _, x := range []struct {
		name string
		f    startFigures
	}{{"first", first}, {"restart", again}} {
		b.ReportMetric(x.f.readS, x.name+"-read-s")
		b.ReportMetric(x.f.hwmMB, x.name+"-peak-MB")
		b.ReportMetric(x.f.rssMB, x.name+"-rss-MB")
		b.ReportMetric(float64(x.f.keys), x.name+"-keys")
		b.ReportMetric(float64(x.f.writes), x.name+"-writes")
	}
}
