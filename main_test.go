package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/payupto/pay-up-to/jsonrpc"
	"gotest.tools/v3/assert"
	"gotest.tools/v3/golden"
)

// run feeds in to a fresh plugin and returns everything it wrote.
func run(t testing.TB, in []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	assert.NilError(t, newPlugin(&out).Serve(bytes.NewReader(in)))
	return out.Bytes()
}

// TestGolden replays testdata/<case>.in (what lightningd writes) and
// compares with testdata/<case>.golden; -update rewrites the golden files.
func TestGolden(t *testing.T) {
	cases, err := filepath.Glob("testdata/*.in")
	assert.NilError(t, err)
	assert.Assert(t, len(cases) > 0)
	for _, in := range cases {
		name := strings.TrimSuffix(filepath.Base(in), ".in")
		t.Run(name, func(t *testing.T) {
			input, err := os.ReadFile(in)
			assert.NilError(t, err)
			out := run(t, input)
			checkProtocol(t, input, out)
			golden.Assert(t, string(out), name+".golden")
		})
	}
}

type reply struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
	Result  json.RawMessage `json:"result"`
	Error   json.RawMessage `json:"error"`
}

// checkProtocol checks what must hold for any input: every message out is
// valid JSON-RPC 2.0; every request in with a readable id gets exactly one
// answer, in order, echoing the id byte for byte; a hook is never answered
// with a top-level error; log levels are ones lightningd knows.
func checkProtocol(t *testing.T, in, out []byte) {
	t.Helper()
	var wantIDs []string
	var hooks []bool
	rd := jsonrpc.NewReader(bytes.NewReader(in), 0)
	for {
		m, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		assert.NilError(t, err)
		v := jsonrpc.Value(m.Data)
		if id, ok := v.Member("id"); ok {
			wantIDs = append(wantIDs, string(id))
			method, _ := v.Member("method")
			hooks = append(hooks, string(method) == `"rpc_command"`)
		}
	}
	var gotIDs []string
	dec := json.NewDecoder(bytes.NewReader(out))
	for i := 0; ; i++ {
		var r reply
		err := dec.Decode(&r)
		if errors.Is(err, io.EOF) {
			break
		}
		assert.NilError(t, err, "output message %d is not JSON", i)
		assert.Equal(t, r.JSONRPC, "2.0")
		if r.ID == nil {
			assert.Equal(t, r.Method, "log")
			var p struct{ Level, Message string }
			assert.NilError(t, json.Unmarshal(r.Params, &p))
			assert.Assert(t, p.Level == "debug" || p.Level == "info" || p.Level == "unusual" || p.Level == "broken", p.Level)
			continue
		}
		assert.Assert(t, (r.Result == nil) != (r.Error == nil), "reply needs exactly one of result and error: %s", r.ID)
		if n := len(gotIDs); n < len(hooks) && hooks[n] {
			assert.Assert(t, r.Error == nil, "hook %s answered with a top-level error", r.ID)
			var hr struct {
				Result string `json:"result"`
				Return *struct {
					Error *jsonrpc.Error `json:"error"`
				} `json:"return"`
			}
			assert.NilError(t, json.Unmarshal(r.Result, &hr))
			if hr.Return != nil {
				assert.Assert(t, hr.Return.Error != nil && hr.Return.Error.Code != 0 && hr.Return.Error.Message != "")
			} else {
				assert.Equal(t, hr.Result, "continue")
			}
		}
		gotIDs = append(gotIDs, string(r.ID))
	}
	assert.DeepEqual(t, gotIDs, wantIDs)
}
