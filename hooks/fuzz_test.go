package hooks

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// FuzzSend: any low-level send's params are priced or refused with a
// reason, never a panic; a priced send is admitted or refused, and what is
// admitted stays within the limit per payment hash.
func FuzzSend(f *testing.F) {
	f.Add("sendpay", `{"route":[{"id":"02aa","channel":"1x1x1","amount_msat":1000,"delay":9}],"payment_hash":"`+hash(1).String()+`"}`)
	f.Add("sendpay", `[[{"id":"02self","amount_msat":"2000msat"},{"id":"02self","amount_msat":1500}],"`+hash(2).String()+`",null,null,null,null,3,null,4]`)
	f.Add("sendonion", `{"onion":"00","first_hop":{"id":"02aa","amount_msat":"1sat","delay":9},"payment_hash":"`+hash(3).String()+`","partid":1,"groupid":2}`)
	f.Add("injectpaymentonion", `{"onion":"00","payment_hash":"`+hash(4).String()+`","amount_msat":5000,"cltv_expiry":10,"partid":1,"groupid":1}`)
	f.Fuzz(func(t *testing.T, method, params string) {
		if !price.IsSend(method) {
			method = "sendpay"
		}
		g := New(nil, "")
		g.ledger.Load(nil, ledger.Saved{}, "02self")
		g.Options.SetLimit("1000000")
		s, err := g.readSend(&command{method: method, id: "fuzz", params: jsonrpc.Value(params)})
		if err != nil {
			return
		}
		if v := g.ledger.Admit(s, 1_000_000, true); v != nil {
			return
		}
		// Admitted: a second part of the same hash over the rest of the
		// limit is refused, unless it is to ourselves and trusted.
		s.Key.PartID++
		s.Sent = 1_000_001 - min(s.Sent, 1_000_000)
		if v := g.ledger.Admit(s, 1_000_000, true); v == nil && !(s.Self && s.Trusted) {
			t.Fatalf("admitted beyond the limit: %+v", s)
		}
	})
}

// FuzzCheckrune: a checkrune call of any shape is answered, never with a
// panic, and a refusal always has a code and a message (commando stops
// lightningd otherwise).
func FuzzCheckrune(f *testing.F) {
	f.Add(`{"rune":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA9NQ","method":"xpay","params":["` + benchUnder + `"]}`)
	f.Add(`["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA9NQ",null,"keysend",{"destination":"02aa","amount_msat":"1btc"}]`)
	f.Fuzz(func(t *testing.T, params string) {
		g := New(nil, "")
		g.Options.SetLimit("0.001btc")
		g.cln.Store(2606)
		g.ledger.Load(nil, ledger.Saved{}, "02self")
		g.ledger.SetAllowance(ledger.Allowance{Rune: "5", Limit: 1000, HasLimit: true})
		g.Options.SetRuneRequired("true")
		res, err := g.ServeRPC(jsonrpc.Value(`{"rpc_command":{"id":"x","method":"checkrune","params":` + params + `}}`))
		if err != nil {
			t.Fatal(err)
		}
		if b, ok := res.(json.RawMessage); ok && !strings.Contains(string(b), `"result":"continue"`) &&
			!(strings.Contains(string(b), `"code":`) && strings.Contains(string(b), `"message":"pay-up-to:`)) {
			t.Fatalf("%s: %s", params, b)
		}
	})
}
