package fleet

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/payupto/pay-up-to/hooks/fleet/etcd"
	"github.com/payupto/pay-up-to/integration/etcdnet"
)

// BenchmarkConfirm measures what a fleet adds to an approved payment:
// Confirm against a real local etcd (one member, fsync on), with one
// member approving one payment at a time or 16 at once, and with three
// members approving 16 at once each. It reports p50 and p99 of one Confirm and
// approvals per second across the fleet.
func BenchmarkConfirm(b *testing.B) {
	cl := startEtcd(b, etcdnet.Config{Members: 1})
	for _, run := range [][2]int{{1, 1}, {1, 16}, {3, 16}} {
		members, inFlight := run[0], run[1]
		b.Run(fmt.Sprintf("members=%d/inflight=%d", members, inFlight), func(b *testing.B) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			t := &testing.T{}
			c := Config{Name: fmt.Sprintf("bench%d-%d-%d", members, inFlight, b.N), Etcd: etcd.Config{Endpoints: cl.URLs()}}
			var ns []*node
			for i := range members {
				ns = append(ns, newNode(t, ctx, c, nodeID(i+1), "1000btc/1d"))
			}
			lat := make([]time.Duration, b.N)
			var next sync.Mutex
			i := 0
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for _, n := range ns {
				for range inFlight {
					wg.Go(func() {
						for {
							next.Lock()
							k := i
							i++
							next.Unlock()
							if k >= b.N {
								return
							}
							t0 := time.Now()
							if err := n.pay(ctx, "1", 1000); err != nil {
								b.Error(err)
								return
							}
							lat[k] = time.Since(t0)
						}
					})
				}
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "approvals/s")
		})
	}
}
