// Subscriber is a test plugin that subscribes to pay-up-to's
// pay_up_to_refused notification and writes each one it receives to
// lightningd's log, so the integration tests can see that other plugins
// are told of every refusal. Start lightningd with
// --plugin=/path/to/subscriber.
package main

import (
	"log"
	"os"

	"github.com/payupto/pay-up-to/jsonrpc"
)

func main() {
	log.SetPrefix("subscriber: ")
	log.SetFlags(0)
	s := jsonrpc.NewServer(os.Stdout, 0)
	s.Handle("getmanifest", jsonrpc.HandlerFunc(func(jsonrpc.Value) (any, error) {
		return map[string]any{"options": []any{}, "rpcmethods": []any{}, "subscriptions": []string{"pay_up_to_refused"}, "dynamic": true}, nil
	}))
	s.Handle("init", jsonrpc.HandlerFunc(func(jsonrpc.Value) (any, error) { return struct{}{}, nil }))
	s.Handle("pay_up_to_refused", jsonrpc.HandlerFunc(func(p jsonrpc.Value) (any, error) {
		s.Log("info", "received pay_up_to_refused %s", p)
		return nil, nil
	}))
	if err := s.Serve(os.Stdin); err != nil {
		log.Fatal(err)
	}
}
