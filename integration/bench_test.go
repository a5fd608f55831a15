package integration

import (
	"slices"
	"testing"
	"time"
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
