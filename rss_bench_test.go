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
	"sync/atomic"
	"testing"
	"time"

	"github.com/payupto/pay-up-to/jsonrpc"
)

// fakeLightningd serves, on a unix socket, what pay-up-to asks of
// lightningd at start: n complete payments in the last day (paged
// listsendpays, as v23.11+), an empty datastore, and a reply to every
// datastore write (counted in writes).
func fakeLightningd(b *testing.B, path string, n int, writes *atomic.Int64) {
	l, err := net.Listen("unix", path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	now := time.Now().Unix()
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
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
						Params struct{ Start, Limit int }
					}
					json.Unmarshal(m.Data, &req)
					var res []byte
					switch req.Method {
					case "getinfo":
						res = []byte(`{"id":"02aa","version":"v26.06.6"}`)
					case "listconfigs":
						res = []byte(`{"configs":{}}`)
					case "wait":
						res = []byte(`{"subsystem":"invoices","created":1}`)
					case "listdatastore":
						res = []byte(`{"datastore":[]}`)
					case "listinvoices":
						res = []byte(`{"invoices":[]}`)
					case "datastore", "deldatastore":
						writes.Add(1)
						res = []byte(`{}`)
					case "listsendpays":
						res = []byte(`{"payments":[`)
						for i := req.Params.Start; i < min(req.Params.Start+req.Params.Limit, n); i++ {
							if i > req.Params.Start {
								res = append(res, ',')
							}
							res = fmt.Appendf(res, `{"created_index":%d,"id":%d,"payment_hash":"%064x","groupid":1,"destination":"03bb","amount_msat":10000000,"amount_sent_msat":10000101,"created_at":%d,"completed_at":%d,"status":"complete"}`,
								i, i+1, i, now-86_000+int64(i)*86_000/int64(n), now)
						}
						res = append(res, "]}"...)
					default:
						fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"error":{"code":-32601,"message":"unknown"}}`, req.ID)
						w.Flush()
						continue
					}
					fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":%s}`, req.ID, res)
					w.Flush()
				}
			}()
		}
	}()
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

// BenchmarkRebuildRSS starts the real binary (PAY_UP_TO_BIN, or one built
// here) as lightningd does, with a budget, against a node with 100,000
// payments in the window, and reports its resident memory once it has
// read them (rss-read-MB) and once it has written its records
// (rss-MB), and the peak (hwm-MB). No GOMEMLIMIT.
func BenchmarkRebuildRSS(b *testing.B) {
	const rows = 100_000
	bin := os.Getenv("PAY_UP_TO_BIN")
	if bin == "" {
		bin = filepath.Join(b.TempDir(), "pay-up-to")
		if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
	}
	var readMB, rssMB, hwmMB float64
	for b.Loop() {
		dir, err := os.MkdirTemp("", "rss") // short: unix socket paths are limited
		if err != nil {
			b.Fatal(err)
		}
		defer os.RemoveAll(dir)
		var writes atomic.Int64
		fakeLightningd(b, filepath.Join(dir, "rpc"), rows, &writes)
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "LIGHTNINGD_PLUGIN=1")
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(stdin, `{"jsonrpc":"2.0","id":1,"method":"getmanifest","params":{}}`+"\n\n"+
			`{"jsonrpc":"2.0","id":2,"method":"init","params":{"options":{"limit":"0.001btc","budget":"10btc/1d"},"configuration":{"lightning-dir":%q,"rpc-file":"rpc","startup":false,"network":"regtest"}}}`+"\n\n", dir)
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
		deadline := time.Now().Add(2 * time.Minute)
		for status() != "read" {
			if time.Now().After(deadline) {
				b.Fatal("records not read")
			}
			time.Sleep(20 * time.Millisecond)
		}
		readMB = procKB(cmd.Process.Pid, "VmRSS") / 1024
		for last := int64(-1); writes.Load() != last; time.Sleep(time.Second) { // until quiet
			last = writes.Load()
		}
		if writes.Load() < rows {
			b.Fatalf("only %d datastore writes", writes.Load())
		}
		rssMB, hwmMB = procKB(cmd.Process.Pid, "VmRSS")/1024, procKB(cmd.Process.Pid, "VmHWM")/1024
		stdin.Close()
		cmd.Wait()
	}
	b.ReportMetric(readMB, "rss-read-MB")
	b.ReportMetric(rssMB, "rss-MB")
	b.ReportMetric(hwmMB, "hwm-MB")
}
