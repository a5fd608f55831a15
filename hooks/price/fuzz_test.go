package price

import (
	"testing"

	"github.com/payupto/pay-up-to/jsonrpc"
)

// FuzzOnChain: any params of any on-chain command are priced or refused
// with a reason, never a panic; a priced PSBT's outputs are its own.
func FuzzOnChain(f *testing.F) {
	f.Add("withdraw", `["`+addrA+`", 1000]`)
	f.Add("multiwithdraw", `[[{"`+addrA+`":"90000sat"},{"`+addrB+`":"all"}]]`)
	f.Add("close", `["02aa", null, "`+addrB+`"]`)
	f.Add("multifundchannel", `[[{"id":"02aa","amount":1,"push_msat":5,"request_amt":9,"compact_lease":"029a00640064000000644e20"}]]`)
	f.Add("signpsbt", `["cHNidP8BAFICAAAAAZ38ZijCbFiZ/hvT3DOGZb/VXXraEPYiCXPfLTht7BJ2AQAAAAD/////AfA9zR0AAAAAFgAUezoAv9wU0neVwrdJAdCdpu8TNXkAAAAATwEENYfPAto/0AiAAAAAlwSLGtBEWx7IJ1UXcnyHtOTrwYogP/oPlMAVZr046QADUbdDiH7h1A3DKmBDck8tZFmztaTXPa7I+64EcvO8Q+IM2QxqT64AAIAAAACAAAAAgAABAR8A4fUFAAAAABYAFJ19f3YDF3UiZaBXk4KMgZwrJ8SgAQMEAQAAAAAA"]`)
	f.Fuzz(func(t *testing.T, method, params string) {
		if !IsOnChain(method) {
			method = "withdraw"
		}
		o, err := OnChainSpend(method, jsonrpc.Value(params), 0)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("%s: not a *price.Error: %v", method, err)
			}
			return
		}
		if o.PSBT != nil && len(o.Outputs) != len(o.PSBT.Outputs) {
			t.Fatalf("%d outputs of a PSBT with %d", len(o.Outputs), len(o.PSBT.Outputs))
		}
	})
}
