// Chainbackend is a Bitcoin backend plugin for lightningd that needs no
// bitcoind: a regtest chain holding only the genesis block. It is enough for
// nodes to start, make invoices and offers, and attempt payments, which then
// fail at routing. Start lightningd with
// --disable-plugin=bcli --plugin=/path/to/chainbackend.
package main

import (
	"log"
	"os"

	"github.com/payupto/pay-up-to/jsonrpc"
)

const (
	genesisHash = "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206"
	genesisHex  = "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4adae5494dffff7f20020000000101000000010000000000000000000000000000000000000000000000000000000000000000ffffffff4d04ffff001d0104455468652054696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e206272696e6b206f66207365636f6e64206261696c6f757420666f722062616e6b73ffffffff0100f2052a01000000434104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac00000000"
)

type method struct {
	Name        string `json:"name"`
	Usage       string `json:"usage"`
	Description string `json:"description"`
}

func main() {
	log.SetPrefix("chainbackend: ")
	log.SetFlags(0)
	s := jsonrpc.NewServer(os.Stdout, 0)
	answers := map[string]func(jsonrpc.Value) any{
		"getchaininfo": func(jsonrpc.Value) any {
			return map[string]any{"chain": "regtest", "headercount": 0, "blockcount": 0, "ibd": false}
		},
		// Both shapes: feerate_floor/feerates (v23.05+) and named rates (older).
		"estimatefees": func(jsonrpc.Value) any {
			r := map[string]any{
				"feerate_floor": 1000,
				"feerates":      []map[string]int{{"blocks": 2, "feerate": 5000}, {"blocks": 6, "feerate": 3000}, {"blocks": 12, "feerate": 2000}, {"blocks": 100, "feerate": 1000}},
			}
			for _, n := range []string{"opening", "mutual_close", "unilateral_close", "delayed_to_us", "htlc_resolution", "penalty", "min_acceptable", "max_acceptable"} {
				r[n] = 5000
			}
			r["min_acceptable"], r["max_acceptable"] = 1000, 100000
			return r
		},
		"getrawblockbyheight": func(p jsonrpc.Value) any {
			if h, ok := p.Member("height"); ok && string(h) == "0" {
				return map[string]any{"blockhash": genesisHash, "block": genesisHex}
			}
			return map[string]any{"blockhash": nil, "block": nil}
		},
		"getutxout": func(jsonrpc.Value) any { return map[string]any{"amount": nil, "script": nil} },
		"sendrawtransaction": func(jsonrpc.Value) any {
			return map[string]any{"success": false, "errmsg": "chainbackend: no bitcoin network"}
		},
	}
	var methods []method
	for name, answer := range answers {
		methods = append(methods, method{Name: name, Usage: "", Description: "regtest genesis-only backend"})
		s.Handle(name, jsonrpc.HandlerFunc(func(p jsonrpc.Value) (any, error) { return answer(p), nil }))
	}
	s.Handle("getmanifest", jsonrpc.HandlerFunc(func(jsonrpc.Value) (any, error) {
		return map[string]any{"options": []any{}, "rpcmethods": methods, "dynamic": false}, nil
	}))
	s.Handle("init", jsonrpc.HandlerFunc(func(jsonrpc.Value) (any, error) { return struct{}{}, nil }))
	if err := s.Serve(os.Stdin); err != nil {
		log.Fatal(err)
	}
}
