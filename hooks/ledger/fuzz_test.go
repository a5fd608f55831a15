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

// FuzzRecord: any datastore record is read or refused; one that is read
// loads, and a part's renders to a record that reads the same.
func FuzzRecord(f *testing.F) {
	k := PartKey{Hash{1}, 2, 3}.String()
	f.Add("p", k, "1700000000,1000,990,1,1,5")
	f.Add("p", k, "1700000000,1000,1000,0,0")
	f.Add("r", "1-1", "1700000000,1700000070,5000,"+Hash{9}.String()+",r=5,cli:pay#1,x")
	f.Add("a", "5", "1000;0.01btc/1d,5sat/1h")
	f.Add("p", k, "1700000000,1000,1000,2,0,5,e=900")
	f.Add("r", "1-2", "1700000000,1700000070,5000,,r=5,t=4000,cli:pay#1")
	f.Add("h", "1699999200", "f 1-40 42\nb 1699999200 5000\nr 1699999260 5 300\np "+k+" 41 1700000000,1000,1000,0,0,5\n")
	f.Add("h", "1699999200", "b 1699999200 5000\n")
	f.Add("i", "created", "41")
	f.Fuzz(func(t *testing.T, kind, name, value string) {
		var sv Saved
		if !sv.Add(kind, name, value) {
			return
		}
		for k, p := range sv.parts {
			var again Saved
			if !again.Add("p", k.String(), partRecord(p)) || partRecord(again.parts[k]) != partRecord(p) || again.parts[k].credit() != p.credit() || again.parts[k].exempt() != p.exempt() {
				t.Fatalf("%q read as %q, which reads otherwise", value, partRecord(p))
			}
		}
		l := New(func() time.Time { return time.Unix(1_700_000_010, 0) })
		l.SetWindows([]Window{{Spec: "1btc/1w", Amount: 100_000_000_000, Period: 7 * 24 * time.Hour}})
		l.Load(nil, sv, "02self")
		l.Status()
		for h := range sv.hours { // what it writes back reads again
			if rec := l.record(h); rec != "" {
				var again Saved
				if !again.Add("h", name, rec) {
					t.Fatalf("%q loaded and rendered as %q, which does not read", value, rec)
				}
			}
		}
	})
}
