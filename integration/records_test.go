package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/payupto/pay-up-to/hooks/price"
)

// records is what pay-up-to keeps in n's datastore, by kind/name.
func (n *node) records() map[string]string {
	n.t.Helper()
	var ds struct {
		Datastore []struct {
			Key    []string `json:"key"`
			String *string  `json:"string"`
		} `json:"datastore"`
	}
	out := map[string]string{}
	for _, kind := range []string{"p", "h", "i", "r", "a"} {
		n.must("listdatastore", map[string]any{"key": []string{"pay-up-to", kind}}, &ds)
		for _, e := range ds.Datastore {
			if len(e.Key) == 3 && e.String != nil {
				out[e.Key[1]+"/"+e.Key[2]] = *e.String
			}
		}
	}
	return out
}

// stopGuard stops pay-up-to on n.
func (n *node) stopGuard() {
	n.t.Helper()
	var list struct{ Plugins []struct{ Name string } }
	n.must("plugin", map[string]any{"subcommand": "list"}, &list)
	for _, p := range list.Plugins {
		if strings.HasSuffix(p.Name, "/pay-up-to") {
			n.must("plugin", map[string]any{"subcommand": "stop", "plugin": p.Name}, nil)
		}
	}
}

// TestRecordsAcrossRestarts: the records of an earlier version (one per
// part) are read, kept and deleted; settled payments fold into the hour's
// record; a restart that finds the hours but not the index they were
// written up to (killed between two writes) reads the rows again and
// counts none twice; deleted history frees nothing; and nothing grows
// per payment.
func TestRecordsAcrossRestarts(t *testing.T) {
	const budget = "0.01btc/1d"
	l1, _, l3 := newLine(t, nil, "plugin="+plugin, "limit=0.001btc", "budget="+budget)
	waitRead(t, l1)
	opts := map[string]any{"limit": "0.001btc", "budget": budget}
	base := l1.status().Budgets[0].SpentMsat // the channels' opening fees
	var hashes []string
	for range 3 {
		e, r := l1.pay(l3.invoice("10000sat"))
		completed(t, l1, l3, e, r)
		hashes = append(hashes, r.hash(t))
	}
	l1.settled()
	spent := l1.status().Budgets[0].SpentMsat
	assert.Equal(t, spent-base, l1.sentSince(time.Now().Unix()-86400))

	// An earlier version's record of a part whose history was deleted.
	l1.stopGuard()
	old := fmt.Sprintf("%064x-1-0", 0xfeed)
	l1.must("datastore", map[string]any{"key": []string{"pay-up-to", "p", old},
		"string": fmt.Sprintf("%d,7000000,7000000,1,0", time.Now().Unix()-1800)}, nil)
	l1.startGuard(opts)
	spent += 7_000_000
	assert.Equal(t, l1.status().Budgets[0].SpentMsat, spent, "the earlier record's part is not counted")
	deadline := time.Now().Add(10 * time.Second)
	for l1.records()["p/"+old] != "" {
		assert.Assert(t, time.Now().Before(deadline), "the earlier record is kept: %v", l1.records())
		time.Sleep(100 * time.Millisecond)
	}

	// Settled parts fold into their hour's record after two minutes.
	deadline = time.Now().Add(4 * time.Minute)
	for {
		l1.status() // the guard folds as it works
		all := ""
		for k, v := range l1.records() {
			if strings.HasPrefix(k, "h/") {
				all += v
			}
		}
		folded := strings.Contains(all, "\nb ") || strings.HasPrefix(all, "b ") || strings.Contains(all, "f ")
		for _, h := range hashes {
			folded = folded && !strings.Contains(all, "p "+h)
		}
		if folded {
			break
		}
		assert.Assert(t, time.Now().Before(deadline), "not folded: %q", all)
		time.Sleep(2 * time.Second)
	}
	assert.Equal(t, l1.status().Budgets[0].SpentMsat, spent)
	recs := l1.records()
	indexed := price.ParseVersion(version) == 0 || price.ParseVersion(version) >= 2311
	assert.Equal(t, recs["i/created"] != "", indexed, "index record (lightningd has created_index from v23.11): %v", recs)
	assert.Assert(t, len(recs) <= 4, "records grow with payments: %v", recs)

	// Killed between writing the hours and the index: rows read again
	// (before v23.11 every start reads them all).
	l1.stopGuard()
	if indexed {
		l1.must("deldatastore", map[string]any{"key": []string{"pay-up-to", "i", "created"}}, nil)
	}
	l1.startGuard(opts)
	assert.Equal(t, l1.status().Budgets[0].SpentMsat, spent, "rows read again were counted twice")

	// Deleted history, then a restart: nothing freed.
	if l1.has("delpay") {
		for _, h := range hashes {
			l1.must("delpay", map[string]any{"payment_hash": h, "status": "complete"}, nil)
		}
	}
	l1.startGuard(opts)
	assert.Equal(t, l1.status().Budgets[0].SpentMsat, spent, "a restart after delpay freed budget")

	// And payments go on, counted once.
	e, r := l1.pay(l3.invoice("10000sat"))
	completed(t, l1, l3, e, r)
	l1.settled()
	assert.Equal(t, l1.status().Budgets[0].SpentMsat, spent+l1.sentFor(r.hash(t)))
	l1.checkAlive()
}
