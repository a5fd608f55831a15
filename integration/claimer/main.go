// Claimer is a test plugin for a hop that should forward a payment but
// claims it instead: its htlc_accepted hook resolves every HTLC whose
// payment hash is that of a preimage listed in the file named by its
// option claim-file (hex, one per line, read at each HTLC), and lets any
// other through. Any node can do this with a preimage it knows.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log"
	"os"
	"strings"

	"github.com/payupto/pay-up-to/jsonrpc"
)

func main() {
	log.SetPrefix("claimer: ")
	log.SetFlags(0)
	s := jsonrpc.NewServer(os.Stdout, 0)
	var file string
	s.Handle("getmanifest", jsonrpc.HandlerFunc(func(jsonrpc.Value) (any, error) {
		return map[string]any{
			"options":    []any{map[string]any{"name": "claim-file", "type": "string", "description": "file of preimages to claim with"}},
			"rpcmethods": []any{}, "hooks": []any{map[string]any{"name": "htlc_accepted"}}, "dynamic": true,
		}, nil
	}))
	s.Handle("init", jsonrpc.HandlerFunc(func(p jsonrpc.Value) (any, error) {
		var in struct {
			Options struct {
				File string `json:"claim-file"`
			} `json:"options"`
		}
		json.Unmarshal(p, &in)
		file = in.Options.File
		return struct{}{}, nil
	}))
	s.Handle("htlc_accepted", jsonrpc.HandlerFunc(func(p jsonrpc.Value) (any, error) {
		var in struct {
			HTLC struct {
				PaymentHash string `json:"payment_hash"`
			} `json:"htlc"`
		}
		json.Unmarshal(p, &in)
		b, _ := os.ReadFile(file)
		for _, line := range strings.Fields(string(b)) {
			pre, err := hex.DecodeString(line)
			if err != nil {
				continue
			}
			if h := sha256.Sum256(pre); hex.EncodeToString(h[:]) == in.HTLC.PaymentHash {
				s.Log("info", "claiming %s", in.HTLC.PaymentHash)
				return map[string]any{"result": "resolve", "payment_key": line}, nil
			}
		}
		return map[string]any{"result": "continue"}, nil
	}))
	if err := s.Serve(os.Stdin); err != nil {
		log.Fatal(err)
	}
}
