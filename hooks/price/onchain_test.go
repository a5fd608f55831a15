package price

import (
	"testing"

	"gotest.tools/v3/assert"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/jsonrpc"
)

const (
	addrA = "bcrt1qxmqzw5yv4mcnfm6mug3vt3s4f0mla248eteghm"
	addrB = "bcrt1q3zrldgw5eyu2clum0ywxgj8399pz28fa0np2cx"
)

func TestOnChainSpend(t *testing.T) {
	type out struct {
		Addr string
		Sat  uint64
		All  bool
	}
	for _, tt := range []struct {
		name, method, params string
		outs                 []out
		peer                 amount.MSat
		committed            []out
		channel              string
		check                bool
		err                  string
	}{
		{name: "withdraw", method: "withdraw", params: `["` + addrA + `", 1000]`, outs: []out{{addrA, 1000, false}}, check: true},
		{name: "withdraw all", method: "withdraw", params: `{"destination":"` + addrA + `","satoshi":"all"}`, outs: []out{{addrA, 0, true}}, check: true},
		{name: "withdraw with a unit", method: "withdraw", params: `["` + addrA + `", "0.001btc"]`, outs: []out{{addrA, 100_000, false}}, check: true},
		{name: "withdraw msat", method: "withdraw", params: `["` + addrA + `", "1500msat"]`, err: "not a whole number of sat"},
		{name: "withdraw twice", method: "withdraw", params: `{"destination":"` + addrA + `","satoshi":1,"satoshi":2}`, err: "given twice"},
		{name: "withdraw bad address", method: "withdraw", params: `["bcrt1qnope", 1]`, err: "cannot read the address"},
		{name: "multiwithdraw", method: "multiwithdraw", params: `[[{"` + addrA + `":"90000sat"},{"` + addrB + `":5}]]`, outs: []out{{addrA, 90_000, false}, {addrB, 5, false}}, check: true},
		{name: "txprepare not an array", method: "txprepare", params: `{"outputs":{"` + addrA + `":1}}`, err: "not an array"},
		{name: "close to an address", method: "close", params: `["02aa", null, "` + addrB + `"]`, outs: []out{{addrB, 0, true}}, channel: "02aa"},
		{name: "close to the wallet", method: "close", params: `{"id":"02aa"}`},
		{name: "fundchannel push", method: "fundchannel", params: `{"id":"02aa","amount":100000,"push_msat":"1000sat"}`, peer: 1_000_000, check: true},
		{name: "fundchannel_start close_to", method: "fundchannel_start", params: `["02aa", 200000, null, null, "` + addrA + `"]`, committed: []out{{addrA, 200_000, false}}},
		{name: "lease", method: "openchannel_init", params: `{"id":"02aa","amount":100000,"initialpsbt":"x","request_amt":1000000,"compact_lease":"029a00640064000000644e20"}`, peer: (100 + 1_000_000*100/10_000) * 1000},
		{name: "multifundchannel, push_msat twice", method: "multifundchannel", params: `[[{"id":"02aa","amount":1,"push_msat":5,"push_msat":0}]]`, err: "in a destination, push_msat is given twice"},
		{name: "multifundchannel", method: "multifundchannel", params: `[[{"id":"02aa","amount":1,"push_msat":5},{"id":"02bb","amount":"all","close_to":"` + addrB + `"}]]`, peer: 5, committed: []out{{addrB, 0, true}}, check: true},
		{name: "spliceout to the wallet", method: "spliceout", params: `["aa", "1000"]`, check: true},
		{name: "spliceout", method: "spliceout", params: `["aa", "1000", "` + addrA + `"]`, outs: []out{{addrA, 1000, false}}, check: true},
		{name: "signpsbt junk", method: "signpsbt", params: `["cHNidP8B"]`, err: "cannot read the PSBT"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o, err := OnChainSpend(tt.method, jsonrpc.Value(tt.params), 0)
			if tt.err != "" {
				assert.ErrorContains(t, err, tt.err)
				return
			}
			assert.NilError(t, err)
			got := func(os []Output) []out {
				var r []out
				for _, x := range os {
					assert.Assert(t, len(x.Script) > 0)
					r = append(r, out{x.Address, x.Sat, x.All})
				}
				return r
			}
			assert.DeepEqual(t, got(o.Outputs), tt.outs)
			assert.DeepEqual(t, got(o.Committed), tt.committed)
			assert.Equal(t, o.Peer, tt.peer)
			assert.Equal(t, o.Channel, tt.channel)
			assert.Equal(t, o.Check, tt.check)
		})
	}
}
