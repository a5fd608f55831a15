package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// cycle reads msg over and over, n times, then EOF.
type cycle struct {
	msg  []byte
	n    int
	off  int
	sent int
}

func (c *cycle) Read(p []byte) (int, error) {
	total := 0
	for total < len(p) {
		if c.sent >= c.n {
			if total == 0 {
				return 0, io.EOF
			}
			break
		}
		k := copy(p[total:], c.msg[c.off:])
		total += k
		c.off += k
		if c.off == len(c.msg) {
			c.off, c.sent = 0, c.sent+1
		}
	}
	return total, nil
}

// BenchmarkHookRound is one rpc_command hook call end to end: framing,
// decoding, the decision and the encoded answer.
func BenchmarkHookRound(b *testing.B) {
	for _, bc := range []struct{ name, method, params string }{
		{"getinfo", "getinfo", `[]`},
		{"getroutes", "getroutes", `{"source":"03c560fae7a8f0c9a65ceee65071cdb97b19f9579111073ac2c0a36158dba94beb","destination":"021454364f0fb80ef0018b42605e9f17f4e6f13cdcbdc16dd1686970fb11fd3235","amount_msat":200000000,"layers":["auto.localchans","auto.sourcefree","xpay"],"maxfee_msat":2000000,"final_cltv":10,"maxdelay":2016}`},
		{"xpay-under", "xpay", `["` + under + `"]`},
		{"xpay-over", "xpay", `["` + over + `"]`},
		{"keysend-over", "keysend", `["021454364f0fb80ef0018b42605e9f17f4e6f13cdcbdc16dd1686970fb11fd3235",200000000]`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			srv := newPlugin(io.Discard, false)
			if err := srv.Serve(&cycle{msg: []byte(handshake), n: 1}); err != nil {
				b.Fatal(err)
			}
			msg := []byte(hookCall("cli:x#1/cln:rpc_command#2", bc.method, bc.params))
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			b.ResetTimer()
			if err := srv.Serve(&cycle{msg: msg, n: b.N}); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkHookRoundScraped is BenchmarkHookRound with metrics served,
// off and scraped every 100 ms: a scrape must not hold up a hook call.
func BenchmarkHookRoundScraped(b *testing.B) {
	for _, bc := range []struct{ name, method, params string }{
		{"getinfo", "getinfo", `[]`},
		{"xpay-under", "xpay", `["` + under + `"]`},
		{"keysend-over", "keysend", `["021454364f0fb80ef0018b42605e9f17f4e6f13cdcbdc16dd1686970fb11fd3235",200000000]`},
	} {
		for _, scrape := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/scrape=%v", bc.name, scrape), func(b *testing.B) {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					b.Fatal(err)
				}
				addr := ln.Addr().String()
				ln.Close()
				srv := newPlugin(io.Discard, false)
				init := strings.Replace(handshake, `"limit":"0.001btc"`, `"limit":"0.001btc","metrics-listen":"`+addr+`"`, 1)
				if err := srv.Serve(&cycle{msg: []byte(init), n: 1}); err != nil {
					b.Fatal(err)
				}
				stop := make(chan struct{})
				var scrapes atomic.Int64
				if scrape {
					go func() {
						t := time.NewTicker(100 * time.Millisecond)
						defer t.Stop()
						for {
							select {
							case <-stop:
								return
							case <-t.C:
								if resp, err := http.Get("http://" + addr + "/metrics"); err == nil {
									io.Copy(io.Discard, resp.Body)
									resp.Body.Close()
									scrapes.Add(1)
								}
							}
						}
					}()
				}
				msg := []byte(hookCall("cli:x#1/cln:rpc_command#2", bc.method, bc.params))
				b.ReportAllocs()
				b.ResetTimer()
				if err := srv.Serve(&cycle{msg: msg, n: b.N}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				close(stop)
				b.ReportMetric(float64(scrapes.Load()), "scrapes")
			})
		}
	}
}

// TestNoGrowth: a million hook calls leave the heap where it was.
func TestNoGrowth(t *testing.T) {
	if testing.Short() {
		t.Skip("a million messages")
	}
	srv := newPlugin(io.Discard, false)
	srv.Serve(&cycle{msg: []byte(handshake), n: 1})
	msgs := []string{hookCall("a", "getinfo", "[]"), hookCall("b", "xpay", `["`+over+`"]`), hookCall("c", "pay", `["`+invAny+`",5000]`)}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	for _, m := range msgs {
		srv.Serve(&cycle{msg: []byte(m), n: 10_000})
	}
	before := heap()
	for _, m := range msgs {
		srv.Serve(&cycle{msg: []byte(m), n: 333_334})
	}
	after := heap()
	if after > before+1<<20 {
		t.Fatalf("heap grew from %d to %d bytes over 1,000,000 hook calls", before, after)
	}
	t.Logf("heap %d → %d bytes over 1,000,000 hook calls", before, after)
}
