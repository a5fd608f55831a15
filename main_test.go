package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	"gotest.tools/v3/golden"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/hooks"
	"github.com/payupto/pay-up-to/hooks/refuse"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// run feeds in to a fresh plugin and returns everything it wrote.
func run(t testing.TB, in []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	assert.NilError(t, newPlugin(&out, false).Serve(bytes.NewReader(in)))
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

// answerable: an id that is not a JSON string, number or null cannot be
// echoed, so is not answered. Raw control characters are allowed inside
// a string only, as lightningd forwards them there.
func answerable(id []byte) bool {
	if id == nil || strings.IndexByte(`"-0123456789n`, id[0]) < 0 {
		return false
	}
	if id[0] == '"' {
		return json.Valid(blankControls(id)) // lightningd's parser takes raw controls in strings
	}
	return json.Valid(id) // and nowhere else: 0 then a control byte is no number
}

// blankControls turns raw control characters, which lightningd's parser
// accepts inside strings and encoding/json does not, into spaces.
func blankControls(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if c < 0x20 {
			c = ' '
		}
		out[i] = c
	}
	return out
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
func checkProtocol(t *testing.T, in, out []byte) (results []string) {
	t.Helper()
	var wantIDs []string
	var isHook []bool
	rd := jsonrpc.NewReader(bytes.NewReader(in), 0)
	for {
		m, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("input: %v", err)
		}
		v := jsonrpc.Value(m.Data)
		if id, ok := v.Member("id"); ok && answerable(id) {
			wantIDs = append(wantIDs, string(blankControls(id)))
			method, _ := v.Member("method")
			isHook = append(isHook, string(method) == `"rpc_command"`)
		}
	}
	// Plain checks, not asserts: the fuzzer runs this thousands of times
	// a second.
	var gotIDs []string
	dec := json.NewDecoder(bytes.NewReader(blankControls(out)))
	for i := 0; ; i++ {
		var r reply
		err := dec.Decode(&r)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil || r.JSONRPC != "2.0" {
			t.Fatalf("output message %d is not JSON-RPC 2.0: %v", i, err)
		}
		if r.ID == nil && r.Method == hooks.RefusedTopic {
			var p struct {
				Method, Message string
				Code            int
			}
			if err := json.Unmarshal(r.Params, &p); err != nil || p.Code < refuse.CodeOverLimit || p.Code > refuse.CodePaused || p.Message == "" {
				t.Fatalf("bad %s notification %s (%v)", r.Method, r.Params, err)
			}
			continue
		}
		if r.ID == nil {
			var p struct{ Level, Message string }
			if err := json.Unmarshal(r.Params, &p); err != nil || r.Method != "log" || !(p.Level == "debug" || p.Level == "info" || p.Level == "unusual" || p.Level == "broken") {
				t.Fatalf("a notification that is not a log line: %s %s (%v)", r.Method, r.Params, err)
			}
			continue
		}
		if (r.Result == nil) == (r.Error == nil) {
			t.Fatalf("reply needs exactly one of result and error: %s", r.ID)
		}
		if n := len(gotIDs); n < len(isHook) && isHook[n] {
			var hr struct {
				Result string `json:"result"`
				Return *struct {
					Error *jsonrpc.Error `json:"error"`
				} `json:"return"`
			}
			switch err := json.Unmarshal(r.Result, &hr); {
			case r.Error != nil:
				t.Fatalf("hook %s answered with a top-level error", r.ID)
			case err != nil:
				t.Fatalf("hook %s: %v", r.ID, err)
			case hr.Return != nil && (hr.Return.Error == nil || hr.Return.Error.Code == 0 || hr.Return.Error.Message == ""):
				t.Fatalf("hook %s: a refusal needs a code and a message: %s", r.ID, r.Result)
			case hr.Return == nil && hr.Result != "continue":
				t.Fatalf("hook %s: neither continue nor a refusal: %s", r.ID, r.Result)
			}
		}
		gotIDs = append(gotIDs, string(r.ID))
		results = append(results, string(r.Result))
	}
	if !slices.Equal(gotIDs, wantIDs) {
		assert.DeepEqual(t, gotIDs, wantIDs)
	}
	return results
}

const handshake = `{"jsonrpc":"2.0","id":"m","method":"getmanifest","params":{}}` + "\n\n" +
	`{"jsonrpc":"2.0","id":"i","method":"init","params":{"options":{"limit":"0.001btc"},"configuration":{"startup":false}}}` + "\n\n"

// Real regtest invoices (../shared/transcripts): 0.002btc, 0.0001btc,
// and one without an amount.
const (
	under  = "lnbcrt100u1p4s2w6dsp5fkug3eky9m30y596acgvjfn6rnhrv87y2qhrwapj0k45h7d7yjhspp5r53dqnrkl0kyns2562a2re26vn23a7k2990ptyhks53le97mdn2sdqjvd5x2ctsypcxj7n6vyxqyjw5qcqp29qxpqysgqhwasflswslvxx26ah3j86aw4485r74e20c2u23dhhfkjht6n5w53axd8g6c020l058yqsnrf4et9kw3au5h2cas8ggkdrvzl0arndespvm3fkp"
	invAny = "lnbcrt1p4s2w6dsp5fl9py2w4638k2attlj57qpp9lk24rtvynclesulhhapy2aktlq0spp554etrl48qz4nwnvtdslma78ck6wg2gfn5gkhd4uqfqc9y87kzjyqdqvw35hqgr2v9eqxqyjw5qcqp29qxpqysgqesfua4kelhxne3ecn4c8qm78pzv6l5qkaq8hmqx20ttvylv5q7hxwpl245y56cxwfqcnec88gwyfp6lecavgcddelywmhhfugp25zkqqwsssp7"
)

const over = "lnbcrt2m1p4s2w6dsp5kwehw4vuusp2eeflctf7wdtk8dugr28m9z3zfrcucvq8j893mluqpp5sq82g8yy5a4c2t3nn3ryf8czv02r2e7qqgryqpmyjy22uy2wqrdsdqlw3hk7gr90pcx2mnnd9mx2grsd9a85cgxqyjw5qcqp29qxpqysgq2jm0y82d2337q6h7u4jclv3ctf7wxhssud2n4z5u87ye7e2em6xp024md9gqdz4dnmjnfedrttf275hst7rsgwgh8n5qnrw8z6qmlnqqseeq9f"

func hookCall(id, method, params string) string {
	return `{"jsonrpc":"2.0","id":"` + id + `","method":"rpc_command","params":{"rpc_command":{"jsonrpc":"2.0","method":"` + method + `","id":"` + id + `","params":` + params + `}}}` + "\n\n"
}

// TestHostileSizes: a 16 MB request (beyond anything lightningd sends) is
// read and answered normally; a 100,000-deep one is answered without
// recursion; both keep the stream in sync.
func TestHostileSizes(t *testing.T) {
	label := strings.Repeat("x", 16<<20)
	deep := strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000)
	in := handshake +
		hookCall("big-invoice", "invoice", `{"amount_msat":1,"label":"`+label+`","description":"d"}`) +
		hookCall("big-pay", "xpay", `{"invstring":"`+over+`","label":"`+label+`"}`) +
		hookCall("deep-getinfo", "getinfo", deep) +
		hookCall("deep-pay", "xpay", `["`+over+`",`+deep+`]`) +
		hookCall("after", "xpay", `["`+over+`"]`)
	out := string(run(t, []byte(in)))
	checkProtocol(t, []byte(in), []byte(out))
	for _, want := range []string{
		`{"jsonrpc":"2.0","id":"big-invoice","result":{"result":"continue"}}`,
		`{"jsonrpc":"2.0","id":"big-pay","result":{"return":{"error":{"code":2100,`,
		`{"jsonrpc":"2.0","id":"deep-getinfo","result":{"result":"continue"}}`,
		`{"jsonrpc":"2.0","id":"deep-pay","result":{"return":{"error":{"code":2101,`,
		`{"jsonrpc":"2.0","id":"after","result":{"return":{"error":{"code":2100,`,
	} {
		assert.Assert(t, strings.Contains(out, want), want)
	}
}

// TestOverCap: past the 64 MiB cap a hook request is answered from its
// first bytes: refused if it may spend, continued if not.
func TestOverCap(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 130 MB")
	}
	pad := strings.Repeat("y", 65<<20)
	in := handshake +
		hookCall("huge-invoice", "invoice", `{"amount_msat":1,"label":"`+pad+`","description":"d"}`) +
		hookCall("huge-pay", "pay", `{"bolt11":"`+over+`","label":"`+pad+`"}`) +
		hookCall("after", "getinfo", `[]`)
	out := string(run(t, []byte(in)))
	for _, want := range []string{
		`{"jsonrpc":"2.0","id":"huge-invoice","result":{"result":"continue"}}`,
		`{"jsonrpc":"2.0","id":"huge-pay","result":{"return":{"error":{"code":2101,"message":"pay-up-to: refusing pay: the request is too large to check, or cut off"}}}}`,
		`{"jsonrpc":"2.0","id":"after","result":{"result":"continue"}}`,
	} {
		assert.Assert(t, strings.Contains(out, want), want)
	}
}

// TestOutstanding: hundreds of hook calls sent before any answer, before
// init too, each answered once with its own id.
func TestOutstanding(t *testing.T) {
	var in strings.Builder
	in.WriteString(`{"jsonrpc":"2.0","id":"m","method":"getmanifest","params":{}}` + "\n\n")
	for i := 0; i < 300; i++ {
		if i == 100 {
			in.WriteString(`{"jsonrpc":"2.0","id":"i","method":"init","params":{"options":{"limit":"0.001btc"},"configuration":{}}}` + "\n\n")
		}
		in.WriteString(hookCall(fmt.Sprintf("cli:getinfo#%d", i), "getinfo", "[]"))
		in.WriteString(hookCall(fmt.Sprintf("cli:xpay#%d", i), "xpay", `["`+over+`"]`))
	}
	out := run(t, []byte(in.String()))
	checkProtocol(t, []byte(in.String()), out)
	assert.Equal(t, strings.Count(string(out), `"error":{"code":2101`), 100, "refused before init: no limit yet")
	assert.Equal(t, strings.Count(string(out), `"error":{"code":2100`), 200)
	assert.Equal(t, strings.Count(string(out), `"result":"continue"`), 300)
}

// TestByHand: run without LIGHTNINGD_PLUGIN=1, the binary prints its
// usage or version; the usage lists every option and method it declares.
func TestByHand(t *testing.T) {
	tests := []struct {
		args         []string
		code         int
		stdout       string // a prefix
		stderrPrefix string
	}{
		{args: nil, code: 0, stdout: "pay-up-to dev\n\nA Core Lightning plugin"},
		{args: []string{"--help"}, code: 0, stdout: "pay-up-to dev\n\nA Core Lightning plugin"},
		{args: []string{"-h"}, code: 0, stdout: "pay-up-to dev\n\nA Core Lightning plugin"},
		{args: []string{"--version"}, code: 0, stdout: "pay-up-to dev\n"},
		{args: []string{"-version"}, code: 0, stdout: "pay-up-to dev\n"},
		{args: []string{"--limit=1sat"}, code: 2, stderrPrefix: "pay-up-to: unknown arguments [\"--limit=1sat\"]\n\npay-up-to dev\n"},
		{args: []string{"--version", "--help"}, code: 2, stderrPrefix: "pay-up-to: unknown arguments"},
		{args: []string{""}, code: 2, stderrPrefix: "pay-up-to: unknown arguments"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr strings.Builder
			assert.Equal(t, byHand(tt.args, &stdout, &stderr), tt.code)
			assert.Assert(t, strings.HasPrefix(stdout.String(), tt.stdout), stdout.String())
			if tt.stdout == "pay-up-to dev\n" {
				assert.Equal(t, stdout.String(), tt.stdout)
			}
			if tt.code == 0 {
				assert.Equal(t, stderr.String(), "")
			} else {
				assert.Equal(t, stdout.String(), "")
				assert.Assert(t, strings.HasPrefix(stderr.String(), tt.stderrPrefix), stderr.String())
			}
		})
	}
	var usage strings.Builder
	byHand(nil, &usage, io.Discard)
	p := describe(jsonrpc.NewServer(io.Discard, 0), hooks.New(nil, ""), false)
	for _, o := range p.Options {
		assert.Assert(t, strings.Contains(usage.String(), "\n  "+o.Name+" "), o.Name)
		if o.Extra {
			assert.Assert(t, strings.Contains(usage.String(), " e.g. "+o.Name+"="+o.Example+"\n"), o.Name)
			continue
		}
		assert.Assert(t, strings.Contains(usage.String(), "\n    "+o.Name+"="+o.Example+"\n"), o.Name)
	}
	for _, m := range p.Methods {
		assert.Assert(t, strings.Contains(usage.String(), "\n  "+m.Name), m.Name)
	}
}

// TestLifecycle runs the built binary: EOF on stdin or SIGTERM exit 0
// promptly; a broken stdout exits non-zero. Without LIGHTNINGD_PLUGIN=1
// it prints usage instead of reading stdin.
func TestLifecycle(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "pay-up-to")
	build := exec.Command("go", "build", "-ldflags=-X main.version=1.2.3+test", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	assert.NilError(t, err, string(out))
	// plugin runs bin as lightningd does, or (byLightningd false) as a
	// person at a shell would.
	var shellEnv []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "LIGHTNINGD_PLUGIN=") {
			shellEnv = append(shellEnv, e)
		}
	}
	plugin := func(byLightningd bool, args ...string) *exec.Cmd {
		cmd := exec.Command(bin, args...)
		cmd.Env = shellEnv
		if byLightningd {
			cmd.Env = append(shellEnv, "LIGHTNINGD_PLUGIN=1")
		}
		return cmd
	}

	t.Run("by hand", func(t *testing.T) {
		cmd := plugin(false)
		cmd.Stdin = strings.NewReader(handshake)
		out, err := cmd.Output()
		assert.NilError(t, err)
		assert.Assert(t, strings.HasPrefix(string(out), "pay-up-to 1.2.3+test\n\n"), string(out))
		assert.Assert(t, !strings.Contains(string(out), `"jsonrpc"`), "answered stdin by hand: %s", out)
		out, err = plugin(false, "--version").Output()
		assert.NilError(t, err)
		assert.Equal(t, string(out), "pay-up-to 1.2.3+test\n")
		cmd = plugin(false, "--limit=1sat")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err = cmd.Output()
		var ee *exec.ExitError
		assert.Assert(t, errors.As(err, &ee) && ee.ExitCode() == 2, "want exit 2, got %v", err)
		assert.Equal(t, string(out), "")
		assert.Assert(t, strings.Contains(stderr.String(), "Usage: pay-up-to"), stderr.String())
	})
	t.Run("under lightningd, arguments ignored", func(t *testing.T) {
		// A lightningd run with --developer (v23.11+) passes --developer
		// to every plugin.
		cmd := plugin(true, "--developer")
		cmd.Stdin = strings.NewReader(handshake)
		out, err := cmd.Output()
		assert.NilError(t, err)
		assert.Assert(t, strings.Contains(string(out), `"message":"pay-up-to 1.2.3+test started"`), string(out))
	})
	t.Run("EOF", func(t *testing.T) {
		cmd := plugin(true)
		cmd.Stdin = strings.NewReader(handshake)
		out, err := cmd.Output()
		assert.NilError(t, err)
		assert.Assert(t, strings.Contains(string(out), `"id":"i","result":{}`))
	})
	t.Run("SIGTERM", func(t *testing.T) {
		cmd := plugin(true)
		stdin, err := cmd.StdinPipe()
		assert.NilError(t, err)
		var stdout lockedBuffer // the plugin writes it while we read it
		cmd.Stdout = &stdout
		assert.NilError(t, cmd.Start())
		io.WriteString(stdin, handshake)
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(stdout.String(), `"id":"i"`) && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		assert.NilError(t, cmd.Process.Signal(syscall.SIGTERM))
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			assert.NilError(t, err)
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			t.Fatal("no exit 5s after SIGTERM")
		}
	})
	t.Run("broken stdout", func(t *testing.T) {
		r, w, err := os.Pipe()
		assert.NilError(t, err)
		r.Close()
		cmd := plugin(true)
		cmd.Stdin = strings.NewReader(handshake + hookCall("x", "getinfo", "[]"))
		cmd.Stdout = w
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err = cmd.Run()
		w.Close()
		var ee *exec.ExitError
		assert.Assert(t, errors.As(err, &ee), "want a non-zero exit, got %v", err)
		assert.Assert(t, strings.Contains(stderr.String(), "pay-up-to: "), stderr.String())
	})
}

// FuzzPlugin feeds arbitrary bytes, after a handshake, to the whole plugin.
// Beyond checkProtocol: a spend command whose invoice or amount is plainly
// over the limit is never answered continue.
func FuzzPlugin(f *testing.F) {
	// Each message of the recorded sessions is a seed of its own: small
	// inputs keep the fuzzer fast (the golden tests replay them whole).
	cases, _ := filepath.Glob("testdata/*.in")
	for _, c := range cases {
		b, err := os.ReadFile(c)
		if err != nil {
			f.Fatal(err)
		}
		rd := jsonrpc.NewReader(bytes.NewReader(b), 0)
		for {
			m, err := rd.Next()
			if err != nil {
				break
			}
			if len(m.Data) <= maxFuzzInput {
				f.Add(append(m.Data[:len(m.Data):len(m.Data)], "\n\n"...))
			}
		}
	}
	f.Add([]byte(hookCall("a", "xpay", `["`+over+`"]`)))
	f.Add([]byte(hookCall("b", "keysend", `{"destination":"02","amount_msat":"0.002btc"}`)))
	f.Fuzz(fuzzPlugin)
}

// maxFuzzInput bounds FuzzPlugin's inputs, in bytes: a few hook calls.
const maxFuzzInput = 8 << 10

// fuzzPlugin runs the plugin on in after the handshake: it must answer
// every request, in order, never continue a spend over the limit, and
// never hang.
func fuzzPlugin(t *testing.T, in []byte) {
	if len(in) > maxFuzzInput {
		return // what longer inputs add, the golden transcripts cover
	}
	{
		in = append([]byte(handshake), in...)
		// A hang is a failure too: lightningd has no hook timeout.
		done := make(chan []byte, 1)
		go func() {
			var out bytes.Buffer
			newPlugin(&out, false).Serve(bytes.NewReader(in))
			done <- out.Bytes()
		}()
		var out []byte
		select {
		case out = <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("no end of input reached in 5s for %q", in)
		}
		// Answers come in request order (checkProtocol checked).
		answers := checkProtocol(t, in, out)
		rd := jsonrpc.NewReader(bytes.NewReader(in), 0)
		limit, limited := amount.MSat(0), false
		for {
			m, err := rd.Next()
			if err != nil {
				break
			}
			v := jsonrpc.Value(m.Data)
			method, _ := v.Member("method")
			id, _ := v.Member("id")
			params, _ := v.Member("params")
			if string(method) == `"init"` {
				opts, _ := params.Member("options")
				l, _ := opts.Member("limit")
				s, _ := l.String()
				if x, err := amount.ParseMSat(s); err == nil && !limited {
					limit, limited = x, true
				}
			}
			if !answerable(id) {
				continue
			}
			answer := answers[0]
			answers = answers[1:]
			if string(method) != `"rpc_command"` || answer != `{"result":"continue"}` {
				continue
			}
			cmd, _ := params.Member("rpc_command")
			mv, _ := cmd.Member("method")
			name, _ := mv.String()
			if name == "pay" || name == "" {
				continue // pay may be left to preapproveinvoice
			}
			spends := map[string]bool{"xpay": true, "renepay": true, "sendamount": true, "keysend": true, "xkeysend": true, "preapproveinvoice": true, "preapprovekeysend": true}[name]
			if spends && !limited {
				t.Fatalf("%s continued before a limit was set", name)
			}
			if !spends {
				continue
			}
			// The invoice and amount parameters, by position or name.
			cp, _ := cmd.Member("params")
			var invs, amts []jsonrpc.Value
			amtPos := 1
			if name == "preapprovekeysend" {
				amtPos = 2
			}
			i := 0
			cp.Elements(func(x jsonrpc.Value) bool {
				if i == 0 {
					invs = append(invs, x)
				}
				if i == amtPos {
					amts = append(amts, x)
				}
				i++
				return true
			})
			cp.Members(func(k string, x jsonrpc.Value) bool {
				switch k {
				case "bolt11", "invstring":
					invs = append(invs, x)
				case "amount_msat", "msatoshi":
					amts = append(amts, x)
				}
				return true
			})
			for _, a := range invs {
				s, _ := a.String()
				if inv, err := amount.Decode(s); err == nil && inv.HasAmount && inv.Currency == "" && inv.Amount > limit {
					t.Fatalf("%s of %s over the limit %s continued", name, inv.Amount, limit)
				}
			}
			if len(invs) == 0 && !strings.Contains(name, "keysend") {
				continue // no invoice: lightningd refuses the call itself
			}
			for _, a := range amts {
				s, err := a.String()
				if err != nil {
					s = string(a)
				}
				if m, err := amount.ParseMSat(s); err == nil && m > limit {
					t.Fatalf("%s with amount %s over the limit %s continued", name, m, limit)
				}
			}
		}
	}
}

// lockedBuffer is a bytes.Buffer that one goroutine may write while
// another reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
