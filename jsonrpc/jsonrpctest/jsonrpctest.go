// Package jsonrpctest is a stand-in lightningd for tests: it answers a
// Client's calls with what a function gives.
package jsonrpctest

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"

	"github.com/payupto/pay-up-to/jsonrpc"
)

// Answer gives the result of a call as JSON, an Error, or "" for
// lightningd's "Unknown command" error.
type Answer func(method string, params json.RawMessage) string

// errMark starts an Answer that is an error object.
const errMark = "\x00"

// Error is the Answer of an error with code and message.
func Error(code int, message string) string {
	b, _ := json.Marshal(map[string]any{"code": code, "message": message})
	return errMark + string(b)
}

// Serve answers requests over conn until it closes.
func Serve(conn net.Conn, answer Answer) {
	rd := jsonrpc.NewReader(conn, 0)
	for {
		m, err := rd.Next()
		if err != nil {
			return
		}
		var req struct {
			ID     json.RawMessage
			Method string
			Params json.RawMessage
		}
		json.Unmarshal(m.Data, &req)
		switch res := answer(req.Method, req.Params); {
		case res == "":
			fmt.Fprintf(conn, `{"jsonrpc":"2.0","id":%s,"error":{"code":-32601,"message":"Unknown command"}}`, req.ID)
		case strings.HasPrefix(res, errMark):
			fmt.Fprintf(conn, `{"jsonrpc":"2.0","id":%s,"error":%s}`, req.ID, res[len(errMark):])
		default:
			fmt.Fprintf(conn, `{"jsonrpc":"2.0","id":%s,"result":%s}`, req.ID, res)
		}
	}
}

// Client is a Client connected to a stand-in that answers with answer;
// close it to stop the stand-in.
func Client(answer Answer) *jsonrpc.Client {
	mine, theirs := net.Pipe()
	go Serve(theirs, answer)
	return jsonrpc.NewClient(mine, "pay-up-to")
}
