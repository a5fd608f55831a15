package hooks

import (
	"encoding/json"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/jsonrpc"
	"github.com/payupto/pay-up-to/jsonrpc/jsonrpctest"
)

// Real regtest invoice for 0.0001btc (../shared/transcripts).
const benchUnder = "lnbcrt100u1p4s2w6dsp5fkug3eky9m30y596acgvjfn6rnhrv87y2qhrwapj0k45h7d7yjhspp5r53dqnrkl0kyns2562a2re26vn23a7k2990ptyhks53le97mdn2sdqjvd5x2ctsypcxj7n6vyxqyjw5qcqp29qxpqysgqhwasflswslvxx26ah3j86aw4485r74e20c2u23dhhfkjht6n5w53axd8g6c020l058yqsnrf4et9kw3au5h2cas8ggkdrvzl0arndespvm3fkp"

// hash is a test payment hash.
func hash(n int) ledger.Hash {
	var h ledger.Hash
	h[0], h[1], h[2], h[3] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	return h
}

// benchRows makes n listsendpays rows spread over the last day.
func benchRows(n int, now int64) []ledger.Row {
	rows := make([]ledger.Row, n)
	for i := range rows {
		rows[i] = ledger.Row{Key: ledger.PartKey{Hash: hash(i), GroupID: 1}, Sent: 10_000_101, Delivered: 10_000_000, Created: now - 86_000 + int64(i)*86_000/int64(n), State: ledger.Complete}
	}
	return rows
}

// BenchmarkApprove is the hook's decision on an xpay under the limit:
// with a limit only, and with budgets over 100,000 payments in the window.
func BenchmarkApprove(b *testing.B) {
	params := jsonrpc.Value(`{"rpc_command":{"jsonrpc":"2.0","id":"cli:xpay#1","method":"xpay","params":["` + benchUnder + `"]}}`)
	for _, bc := range []struct{ name, budget string }{
		{"limit-only", ""},
		{"budget-100k-payments", "100btc/1h,1000btc/1d,5000btc/7d"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			g := New(nil, "")
			g.Options.SetLimit("0.001btc")
			if bc.budget != "" {
				g.Options.SetBudget(bc.budget)
			}
			g.ledger.Load(benchRows(100_000, time.Now().Unix()), ledger.Saved{}, "02self")
			b.ReportAllocs()
			for b.Loop() {
				res, _ := g.ServeRPC(params)
				if string(res.(json.RawMessage)) != `{"result":"continue"}` {
					b.Fatalf("refused: %s", res)
				}
			}
		})
	}
}

// fakeNode answers getinfo, listconfigs, listdatastore and paged
// listsendpays (index=created) over conn, as lightningd v23.11+ does.
func fakeNode(conn net.Conn, rows []ledger.Row) {
	jsonrpctest.Serve(conn, func(method string, params json.RawMessage) string {
		switch method {
		case "getinfo":
			return `{"id":"02self","version":"v26.06.6"}`
		case "listconfigs":
			return `{"configs":{}}`
		case "listtransactions":
			return `{"transactions":[]}`
		case "listdatastore":
			return `{"datastore":[]}`
		case "listsendpays":
			var p struct{ Start, Limit uint64 }
			json.Unmarshal(params, &p)
			res := []byte(`{"payments":[`)
			end := min(p.Start+p.Limit, uint64(len(rows)))
			for i := p.Start; i < end; i++ {
				r := rows[i]
				if i > p.Start {
					res = append(res, ',')
				}
				res = fmt.Appendf(res, `{"created_index":%d,"id":%d,"payment_hash":"%s","groupid":1,"updated_index":%d,"destination":"03d0000000000000000000000000000000000000000000000000000000000000000","amount_msat":%d,"amount_sent_msat":%d,"created_at":%d,"completed_at":%d,"status":"complete","payment_preimage":"%064x","bolt11":"%s"}`,
					i, i+1, r.Key.Hash, i, r.Delivered, r.Sent, r.Created, r.Created+1, i, benchUnder)
			}
			return string(append(res, "]}"...))
		}
		return ""
	})
}

// BenchmarkStartupRebuild reads 100,000 payment rows from a node (paged
// listsendpays over a socket) into the ledger, and reports the heap the
// ledger then holds (its datastore writes still queued).
func BenchmarkStartupRebuild(b *testing.B) {
	rows := benchRows(100_000, time.Now().Unix())
	var heapMB, liveMB float64
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse
	}
	for b.Loop() {
		before := heap()
		ours, theirs := net.Pipe()
		go fakeNode(theirs, rows)
		g := New(nil, "")
		g.Options.SetBudget("1btc/1d")
		c := jsonrpc.NewClient(ours, "pay-up-to")
		if err := g.connect(c); err != nil {
			b.Fatal(err)
		}
		c.Close()
		heapMB = float64(heap()-before) / (1 << 20)
		for len(g.ledger.Writes(1<<20)) > 0 { // as once the first run's records are sent
		}
		liveMB = float64(heap()-before) / (1 << 20)
		runtime.KeepAlive(g)
	}
	b.ReportMetric(heapMB, "ledger-heap-MB")
	b.ReportMetric(liveMB, "ledger-heap-sent-MB")
}
