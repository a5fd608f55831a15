// Demo replays a recorded lightningd → plugin session through the
// pay-up-to binary and prints what the node's users would have seen: each
// command a client sent, and whether pay-up-to let it run or refused it.
//
//	go run ./integration/demo -bin ./pay-up-to testdata/session-v26.06.in
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"strings"

	"github.com/payupto/pay-up-to/jsonrpc"
)

// call is one rpc_command hook call: the command a client (or a plugin)
// sent to lightningd.
type call struct {
	hookID string
	method string
	id     string // the command's own id: "cli:pay#5", nested ones "cli:pay#5/…"
	params string
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("demo: ")
	bin := flag.String("bin", "./pay-up-to", "pay-up-to binary")
	flag.Parse()
	if flag.NArg() != 1 {
		log.Fatal("usage: demo -bin ./pay-up-to transcript.in")
	}
	in, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		log.Fatal(err)
	}
	cmd := exec.Command(*bin)
	cmd.Env = append(os.Environ(), "LIGHTNINGD_PLUGIN=1") // as lightningd runs plugins
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		log.Fatalf("%s: %v", *bin, err)
	}
	answers := map[string]json.RawMessage{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var m struct {
			ID     json.RawMessage
			Result json.RawMessage
		}
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			log.Fatalf("plugin wrote non-JSON: %v", err)
		}
		if m.ID != nil {
			answers[string(m.ID)] = m.Result
		}
	}

	var calls []call
	rd := jsonrpc.NewReader(bytes.NewReader(in), 0)
	for {
		m, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		v := jsonrpc.Value(m.Data)
		id, _ := v.Member("id")
		method, _ := v.Member("method")
		params, _ := v.Member("params")
		switch string(method) {
		case `"init"`:
			opts, _ := params.Member("options")
			fmt.Printf("$ lightning-cli -k plugin subcommand=start plugin=$PWD/pay-up-to %s\n", options(opts))
			fmt.Printf("  init answer: %s\n\n", answers[string(id)])
		case `"rpc_command"`:
			rc, _ := params.Member("rpc_command")
			c := call{hookID: string(id)}
			if mv, ok := rc.Member("method"); ok {
				c.method, _ = mv.String()
			}
			if iv, ok := rc.Member("id"); ok {
				if c.id, err = iv.String(); err != nil {
					c.id = string(iv)
				}
			}
			if pv, ok := rc.Member("params"); ok {
				c.params = string(pv)
			}
			calls = append(calls, c)
		}
	}

	for _, c := range calls {
		if strings.Contains(c.id, "/") || c.method == "notifications" {
			continue // made by lightningd or a plugin on a client's behalf
		}
		fmt.Printf("$ lightning-cli %s %s\n", c.method, short(c.params))
		// The command's own refusal holds, unless xpay rewrote it (its
		// calls then run as xpay-as-pay): lightningd ignores the refusal
		// and a call the command makes is refused instead.
		refused, where := refusal(answers[c.hookID]), c.method
		if rewritten(calls, c.id) {
			refused = nil
		}
		for _, n := range calls {
			if refused == nil && strings.HasPrefix(n.id, c.id+"/") {
				refused, where = refusal(answers[n.hookID]), n.method
			}
		}
		if refused == nil {
			fmt.Printf("  passes the guard: lightningd runs it\n\n")
			continue
		}
		var pretty bytes.Buffer
		json.Indent(&pretty, refused, "  ", "   ")
		fmt.Printf("  %s\n  (refused at %s; lightning-cli exits 1)\n\n", pretty.String(), where)
	}
}

// refusal returns the error object of a hook answer that refuses.
func refusal(answer json.RawMessage) json.RawMessage {
	var a struct {
		Return struct{ Error json.RawMessage }
	}
	json.Unmarshal(answer, &a)
	return a.Return.Error
}

func rewritten(calls []call, id string) bool {
	for _, c := range calls {
		if strings.HasPrefix(c.id, id+"/cln:xpay-as-pay#") {
			return true
		}
	}
	return false
}

func options(opts jsonrpc.Value) string {
	var parts []string
	opts.Members(func(k string, v jsonrpc.Value) bool {
		s, _ := v.String()
		parts = append(parts, k+"="+s)
		return true
	})
	return strings.Join(parts, " ")
}

// short shows params as lightning-cli arguments, long invoices cut.
func short(params string) string {
	var v any
	dec := json.NewDecoder(strings.NewReader(params))
	dec.UseNumber()
	if dec.Decode(&v) != nil {
		return params
	}
	var args []string
	add := func(k string, x any) {
		s := fmt.Sprint(x)
		if len(s) > 40 {
			s = s[:24] + "…" + s[len(s)-8:]
		}
		if k != "" {
			s = k + "=" + s
		}
		args = append(args, s)
	}
	switch p := v.(type) {
	case []any:
		for _, x := range p {
			add("", x)
		}
	case map[string]any:
		args = append(args, "-k")
		for k, x := range p {
			add(k, x)
		}
	}
	return strings.Join(args, " ")
}
