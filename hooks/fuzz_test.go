package hooks

import (
	"testing"
	"time"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/jsonrpc"
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

// FuzzSend: any low-level send's params are priced or refused with a
// reason, never a panic; a priced send is admitted or refused, and what is
// admitted stays within the limit per payment hash.
func FuzzSend(f *testing.F) {
	f.Add("sendpay", `{"route":[{"id":"02aa","channel":"1x1x1","amount_msat":1000,"delay":9}],"payment_hash":"`+hexHash(hash(1))+`"}`)
	f.Add("sendpay", `[[{"id":"02self","amount_msat":"2000msat"},{"id":"02self","amount_msat":1500}],"`+hexHash(hash(2))+`",null,null,null,null,3,null,4]`)
	f.Add("sendonion", `{"onion":"00","first_hop":{"id":"02aa","amount_msat":"1sat","delay":9},"payment_hash":"`+hexHash(hash(3))+`","partid":1,"groupid":2}`)
	f.Add("injectpaymentonion", `{"onion":"00","payment_hash":"`+hexHash(hash(4))+`","amount_msat":5000,"cltv_expiry":10,"partid":1,"groupid":1}`)
	f.Fuzz(func(t *testing.T, method, params string) {
		if lowLevel[method] == nil {
			method = "sendpay"
		}
		g := new(Guard)
		g.init()
		g.ledger.store = nil
		g.ledger.load(nil, saved{}, "02self")
		g.SetLimit("1000000")
		s, err := g.readSend(method, "fuzz", jsonrpc.Value(params))
		if err != nil {
			return
		}
		if r := g.ledger.admit(s, 1_000_000, true); r != nil {
			return
		}
		if !s.self && g.ledger.byHash[s.key.hash] > amount.MSat(1_000_000) {
			t.Fatalf("admitted %v beyond the limit", s.sent)
		}
	})
}

// FuzzRow: a listsendpays row that parses has a 32-byte hash and a state.
func FuzzRow(f *testing.F) {
	f.Add(`{"created_index":1,"payment_hash":"` + hexHash(hash(1)) + `","groupid":1,"partid":2,"amount_msat":100,"amount_sent_msat":"101msat","created_at":5,"status":"complete","destination":"02aa"}`)
	f.Add(`{"payment_hash":"` + hexHash(hash(1)) + `","amount_sent_msat":1,"status":"failed"}`)
	f.Fuzz(func(t *testing.T, s string) {
		r, _, err := parseRow(jsonrpc.Value(s))
		if err != nil {
			return
		}
		if len(r.key.hash) != 32 || r.state > failed {
			t.Fatalf("%q: %+v", s, r)
		}
	})
}
