package ledger

import (
	"testing"
	"time"
)

// FuzzParseBudget: a budget that parses has windows of positive length
// that parse again, one by one, to the same thing.
func FuzzParseBudget(f *testing.F) {
	for _, s := range []string{"0.01btc/1d", "0.002btc/1h,0.01btc/1d,0.05btc/7d", "1/1s", "", "1btc/0d", "5sat/99999999999w", "1btc/1d,1btc/24h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ws, err := ParseBudget(s)
		if err != nil {
			return
		}
		for _, w := range ws {
			if w.Period < time.Second || w.Period > maxPeriod {
				t.Fatalf("%q: period %v", s, w.Period)
			}
			again, err := ParseBudget(w.Spec)
			if err != nil || len(again) != 1 || again[0] != w {
				t.Fatalf("%q: window %q does not parse alone: %v %v", s, w.Spec, again, err)
			}
		}
	})
}
