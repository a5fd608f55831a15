package manifest

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/payupto/pay-up-to/jsonrpc"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func plugin(value *string) *Plugin {
	set := func(v string) error {
		if !strings.HasSuffix(v, "sat") {
			return errors.New("want sat")
		}
		*value = v
		return nil
	}
	return &Plugin{
		Options: []Option{{Name: "limit", Description: "max", Dynamic: true, Required: true, Check: func(v string) error {
			if !strings.HasSuffix(v, "sat") {
				return errors.New("want sat")
			}
			return nil
		}, Set: set}},
		Hooks: []Hook{{Name: "rpc_command", Filters: []string{"pay"}, After: []string{"cln-xpay"}}},
	}
}

// serve runs requests through a server with the plugin registered and
// returns the answers (log notifications dropped) and Serve's error.
func serve(t *testing.T, p *Plugin, in string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	s := jsonrpc.NewServer(&out, 0)
	p.Register(s)
	err := s.Serve(strings.NewReader(in))
	var answers []string
	for _, m := range strings.Split(out.String(), "\n\n") {
		if m != "" && !strings.Contains(m, `"method":"log"`) {
			answers = append(answers, m)
		}
	}
	return strings.Join(answers, "\n"), err
}

func TestGetmanifest(t *testing.T) {
	var v string
	out, err := serve(t, plugin(&v), `{"jsonrpc":"2.0","id":1,"method":"getmanifest","params":{"allow-deprecated-apis":false}}`)
	assert.NilError(t, err)
	assert.Equal(t, out, `{"jsonrpc":"2.0","id":1,"result":{"options":[{"name":"limit","type":"string","description":"max","dynamic":true}],"rpcmethods":[],"hooks":[{"name":"rpc_command","filters":["pay"],"after":["cln-xpay"]}],"subscriptions":[],"dynamic":true,"cancheck":true}}`)
}

func TestInit(t *testing.T) {
	tests := []struct {
		name, options string
		startup       bool
		want          string // answer; "" when the plugin must exit
		value         string
	}{
		{"ok", `{"limit":"5sat"}`, false, `{}`, "5sat"},
		{"ok at startup", `{"limit":"5sat"}`, true, `{}`, "5sat"},
		{"missing", `{}`, false, `{"disable":"pay-up-to: option limit is required (e.g. limit=0.001btc)"}`, ""},
		{"null", `{"limit":null}`, false, `{"disable":"pay-up-to: option limit is required (e.g. limit=0.001btc)"}`, ""},
		{"bad", `{"limit":"5btc"}`, false, `{"disable":"pay-up-to: option limit=5btc: want sat"}`, ""},
		{"not a string", `{"limit":5}`, false, `{"disable":"pay-up-to: option limit: want a string, got 5"}`, ""},
		{"missing at startup", `{}`, true, "", ""},
		{"bad at startup", `{"limit":"x"}`, true, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v string
			startup := "false"
			if tt.startup {
				startup = "true"
			}
			out, err := serve(t, plugin(&v), `{"jsonrpc":"2.0","id":"i","method":"init","params":{"options":`+tt.options+`,"configuration":{"startup":`+startup+`}}}`)
			if tt.want == "" {
				assert.ErrorIs(t, err, jsonrpc.ErrShutdown, "an important plugin must stop lightningd, not be disabled")
				assert.Assert(t, is.Contains(err.Error(), "option limit"))
				assert.Equal(t, out, "")
				return
			}
			assert.NilError(t, err)
			assert.Equal(t, out, `{"jsonrpc":"2.0","id":"i","result":`+tt.want+`}`)
			assert.Equal(t, v, tt.value)
		})
	}
}

func TestSetconfig(t *testing.T) {
	v := "1sat"
	out, err := serve(t, plugin(&v), strings.Join([]string{
		`{"id":1,"method":"check","params":{"command_to_check":"setconfig","config":"limit","val":"9btc"}}`,
		`{"id":2,"method":"check","params":{"command_to_check":"setconfig","config":"limit","val":"9sat"}}`,
		`{"id":3,"method":"setconfig","params":{"config":"limit","val":"7btc"}}`,
		`{"id":4,"method":"setconfig","params":{"config":"limit","val":"7sat"}}`,
		`{"id":5,"method":"setconfig","params":{"config":"other","val":"1"}}`,
		`{"id":6,"method":"setconfig","params":{"config":"limit"}}`,
		`{"id":7,"method":"check","params":{"command_to_check":"pay"}}`,
	}, "\n"))
	assert.NilError(t, err)
	assert.Equal(t, out, strings.Join([]string{
		`{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"pay-up-to: limit=9btc: want sat"}}`,
		`{"jsonrpc":"2.0","id":2,"result":{}}`,
		`{"jsonrpc":"2.0","id":3,"error":{"code":-32602,"message":"pay-up-to: limit=7btc: want sat"}}`,
		`{"jsonrpc":"2.0","id":4,"result":{}}`,
		`{"jsonrpc":"2.0","id":5,"error":{"code":-32602,"message":"pay-up-to: no dynamic option 'other'"}}`,
		`{"jsonrpc":"2.0","id":6,"error":{"code":-32602,"message":"pay-up-to: limit needs a value"}}`,
		`{"jsonrpc":"2.0","id":7,"error":{"code":-32602,"message":"pay-up-to: cannot check 'pay'"}}`,
	}, "\n"))
	assert.Equal(t, v, "7sat", "a check must not apply; a rejected value must not stick")
}

func TestInitOnce(t *testing.T) {
	var v string
	out, err := serve(t, plugin(&v), `{"id":1,"method":"init","params":{"options":{"limit":"5sat"},"configuration":{}}}`+
		`{"id":2,"method":"init","params":{"options":{"limit":"9sat"},"configuration":{}}}`+
		`{"method":"init","params":{"options":{},"configuration":{"startup":true}}}`)
	assert.NilError(t, err)
	assert.Equal(t, out, `{"jsonrpc":"2.0","id":1,"result":{}}`+"\n"+`{"jsonrpc":"2.0","id":2,"error":{"code":-32600,"message":"pay-up-to: already initialized"}}`)
	assert.Equal(t, v, "5sat")
}
