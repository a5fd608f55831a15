package metrics

import (
	"sync/atomic"
	"time"
)

// bounds are the histogram's upper bounds (seconds): a decision in
// memory takes microseconds, one that asks lightningd or etcd
// milliseconds, a stuck one seconds.
var bounds = []float64{0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// histogram counts durations into bounds without a lock: an observation
// is two atomic adds.
type histogram struct {
	counts [20]atomic.Uint64 // per bound, and past the last (+Inf)
	sum    atomic.Int64      // nanoseconds
}

func (h *histogram) observe(d time.Duration) {
	s := d.Seconds()
	i := 0
	for i < len(bounds) && s > bounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sum.Add(int64(d))
}

// snapshot is the cumulative count at each bound, +Inf last, and the
// sum in seconds. Read while observations go on, it may be off by the
// few in flight, as any scrape is.
func (h *histogram) snapshot() (cum []uint64, sum float64) {
	cum = make([]uint64, len(h.counts))
	var n uint64
	for i := range h.counts {
		n += h.counts[i].Load()
		cum[i] = n
	}
	return cum, time.Duration(h.sum.Load()).Seconds()
}
