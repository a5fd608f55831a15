// Claimer is a test plugin for a hop that should forward a payment but
// claims it instead: its htlc_accepted hook resolves every HTLC whose
// payment hash is that of a preimage listed in the file named by its
// option claim-file (hex, one per line, read at each HTLC), and lets any
// other through. Any node can do this with a preimage it knows.
//
// While the file named by its option hold-file exists, it holds every
// HTLC instead (its answer waits), as a payee that is slow to settle:
// the payer's payments stay in flight.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log"
	"os"
	"strings"
	"time"

	"github.com/payupto/pay-up-to/jsonrpc"
)

func main() {
	log.SetPrefix("claimer: ")
	log.SetFlags(0)
	s := jsonrpc.NewServer(os.Stdout, 0)
	var file, hold string
	s.Handle("getmanifest", jsonrpc.HandlerFunc(func(jsonrpc.Value) (any, error) {
		return map[string]any{
			"options": []any{
				map[string]any{"name": "claim-file", "type": "string", "description": "file of preimages to claim with"},
				map[string]any{"name": "hold-file", "type": "string", "description": "HTLCs are held while this file exists"},
			},
			"rpcmethods": []any{}, "hooks": []any{map[string]any{"name": "htlc_accepted"}}, "dynamic": true,
		}, nil
	}))
	s.Handle("init", jsonrpc.HandlerFunc(func(p jsonrpc.Value) (any, error) {
		var in struct {
			Options struct {
				File string `json:"claim-file"`
				Hold string `json:"hold-file"`
			} `json:"options"`
		}
		json.Unmarshal(p, &in)
		file, hold = in.Options.File, in.Options.Hold
		return struct{}{}, nil
	}))
	s.Handle("htlc_accepted", jsonrpc.HandlerFunc(func(p jsonrpc.Value) (any, error) {
		var in struct {
			HTLC struct {
				PaymentHash string `json:"payment_hash"`
			} `json:"htlc"`
		}
		json.Unmarshal(p, &in)
		if _, err := os.Stat(hold); hold != "" && err == nil {
			s.Log("info", "holding %s", in.HTLC.PaymentHash)
			return jsonrpc.Deferred(func(reply func(any, error)) {
				for {
					if _, err := os.Stat(hold); err != nil {
						reply(map[string]any{"result": "continue"}, nil)
						return
					}
					time.Sleep(100 * time.Millisecond)
				}
			}), nil
		}
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
