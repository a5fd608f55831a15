package integration

import (
	"slices"
	"testing"
	"time"

	"github.com/payupto/pay-up-to/integration/lnnet"
)

// latency runs call b.N times and reports p50 and p99 in µs.
func latency(b *testing.B, call func()) {
	b.Helper()
	d := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t := time.Now()
		call()
		d = append(d, time.Since(t))
	}
	b.StopTimer()
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2])/1e3, "p50-µs")
	b.ReportMetric(float64(d[len(d)*99/100])/1e3, "p99-µs")
}

func benchNode(b *testing.B, opts ...string) *node {
	if skipReason != "" {
		b.Skip(skipReason)
	}
	n, err := launch(b, opts)
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkGetinfo: what the guard adds to every RPC call, beside a
// do-nothing hook plugin (the floor: lightningd's own cost of a hook).
func BenchmarkGetinfo(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts []string
	}{
		{"no-plugin", nil},
		{"floor-hook", []string{"--plugin=" + floor}},
		{"pay-up-to", []string{"--plugin=" + plugin, "--limit=0.001btc"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			n := benchNode(b, bc.opts...)
			defer n.stop()
			latency(b, func() {
				if err := n.tryCall("getinfo", nil, nil); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// BenchmarkRefusal: how long a refused payment takes to come back.
func BenchmarkRefusal(b *testing.B) {
	n := benchNode(b, "--plugin="+plugin, "--limit=0.001btc")
	defer n.stop()
	peer := "021454364f0fb80ef0018b42605e9f17f4e6f13cdcbdc16dd1686970fb11fd3235"
	latency(b, func() {
		if err := n.tryCall("keysend", []any{peer, "0.002btc"}, nil); err == nil {
			b.Fatal("keysend over the limit was not refused")
		}
	})
}

// BenchmarkCommandoPay: a payment from l2 through l1 over commando with a
// rune, l1 paying l3 over two hops; without an allowance the guard lets
// checkrune through at once, with one it prices the payment, asks
// lightningd about the rune (showrunes) and charges the rune.
func BenchmarkCommandoPay(b *testing.B) {
	nw := getNetwork(b)
	nodes, err := nw.Line(channelSat, lnnet.NodeOptions{Name: "l1", Config: []string{"plugin=" + plugin, "limit=0.001btc"}}, lnnet.NodeOptions{Name: "l2"}, lnnet.NodeOptions{Name: "l3"})
	if err != nil {
		b.Fatal(err)
	}
	l1, l2, l3 := &node{nodes[0], b, nil}, &node{nodes[1], b, nil}, &node{nodes[2], b, nil}
	defer l3.Stop()
	defer l2.Stop()
	defer l1.stop()
	if !l1.has("checkrune") {
		b.Skip("lightningd " + version + " has no checkrune")
	}
	waitRead(b, l1)
	cmd := "pay"
	if l1.has("xpay") {
		cmd = "xpay"
	}
	plain, _ := l1.newRune(nil)
	held, id := l1.newRune(nil)
	l1.must("pay-up-to-setallowance", []any{id, nil, "1btc/1d"}, nil)
	inv := l3.invoice("1000sat")
	for _, bc := range []struct{ name, rune string }{{"rune-without-allowance", plain}, {"rune-with-allowance", held}} {
		// The checkrune alone, as commando sends it before the payment.
		b.Run("checkrune/"+bc.name, func(b *testing.B) {
			latency(b, func() {
				if err := l1.tryCall("checkrune", map[string]any{"nodeid": l2.ID, "rune": bc.rune, "method": cmd, "params": []any{inv}}, nil); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run("pay/"+bc.name, func(b *testing.B) {
			invs := make([]string, b.N)
			for i := range invs {
				invs[i] = l3.invoice("1000sat")
			}
			i := 0
			latency(b, func() {
				if e, _ := (app{l1, l2, bc.rune, cmd}).pay(invs[i]); e != nil {
					b.Fatal(e)
				}
				i++
			})
		})
	}
}
