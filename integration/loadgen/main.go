// Loadgen measures pay-up-to at the pipe: it starts the plugin as
// lightningd does, performs the handshake, streams rpc_command hook calls
// (other commands, payments under and over the limit) keeping -c of them in
// flight, and reports round-trip percentiles and throughput. It runs the
// same load against a floor, a responder that frames each message and
// writes a canned continue without decoding JSON, and prints the ratio.
//
//	go run ./integration/loadgen -bin ./pay-up-to -n 200000 -c 16
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Real regtest invoices (../shared/transcripts/session-v26.06.in).
const (
	over  = "lnbcrt2m1p4s2w6dsp5kwehw4vuusp2eeflctf7wdtk8dugr28m9z3zfrcucvq8j893mluqpp5sq82g8yy5a4c2t3nn3ryf8czv02r2e7qqgryqpmyjy22uy2wqrdsdqlw3hk7gr90pcx2mnnd9mx2grsd9a85cgxqyjw5qcqp29qxpqysgq2jm0y82d2337q6h7u4jclv3ctf7wxhssud2n4z5u87ye7e2em6xp024md9gqdz4dnmjnfedrttf275hst7rsgwgh8n5qnrw8z6qmlnqqseeq9f"
	under = "lnbcrt100u1p4s2w6dsp5fkug3eky9m30y596acgvjfn6rnhrv87y2qhrwapj0k45h7d7yjhspp5r53dqnrkl0kyns2562a2re26vn23a7k2990ptyhks53le97mdn2sdqjvd5x2ctsypcxj7n6vyxqyjw5qcqp29qxpqysgqhwasflswslvxx26ah3j86aw4485r74e20c2u23dhhfkjht6n5w53axd8g6c020l058yqsnrf4et9kw3au5h2cas8ggkdrvzl0arndespvm3fkp"
)

// mix is the load: mostly commands that do not spend, as on a node.
var mix = []struct{ method, params string }{
	{"getinfo", `[]`},
	{"listpeerchannels", `{}`},
	{"getroutes", `{"source":"03c560fae7a8f0c9a65ceee65071cdb97b19f9579111073ac2c0a36158dba94beb","destination":"021454364f0fb80ef0018b42605e9f17f4e6f13cdcbdc16dd1686970fb11fd3235","amount_msat":200000000,"layers":["auto.localchans","auto.sourcefree","xpay"],"maxfee_msat":2000000,"final_cltv":10,"maxdelay":2016}`},
	{"xpay", `["` + under + `"]`},
	{"xpay", `["` + over + `"]`},
	{"preapproveinvoice", `{"bolt11":"` + under + `"}`},
	{"preapproveinvoice", `{"bolt11":"` + over + `"}`},
	{"keysend", `["021454364f0fb80ef0018b42605e9f17f4e6f13cdcbdc16dd1686970fb11fd3235",200000000]`},
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("loadgen: ")
	bin := flag.String("bin", "./pay-up-to", "plugin binary")
	n := flag.Int("n", 200_000, "hook calls per run")
	c := flag.Int("c", 16, "calls in flight")
	floor := flag.Bool("floor", false, "act as the floor responder (internal)")
	procs := flag.Int("procs", 1, "GOMAXPROCS of the responders (cores they may use)")
	only := flag.String("only", "", "send only this method from the mix (e.g. getinfo)")
	flag.Parse()
	// Started by lightningd (as the integration benchmarks do), it is
	// the floor plugin.
	if *floor || os.Getenv("LIGHTNINGD_PLUGIN") == "1" {
		respond(os.Stdin, os.Stdout)
		return
	}
	if *only != "" {
		mix = slices.DeleteFunc(mix, func(m struct{ method, params string }) bool { return m.method != *only })
		if len(mix) == 0 {
			log.Fatalf("no %q in the mix", *only)
		}
	}
	self, err := os.Executable()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("loadgen: %d hook calls, %d in flight, %d-call mix (%s), responders GOMAXPROCS=%d, %d CPUs\n", *n, *c, len(mix), methods(), *procs, runtime.NumCPU())
	env := append(os.Environ(), fmt.Sprintf("GOMAXPROCS=%d", *procs), "LIGHTNINGD_PLUGIN=1")
	pc, fc := exec.Command(*bin), exec.Command(self, "-floor")
	pc.Env, fc.Env = env, env
	p := run(pc, *n, *c)
	f := run(fc, *n, *c)
	p.print("pay-up-to")
	f.print("floor")
	fmt.Printf("ratio pay-up-to/floor: p50 %.2fx, p99 %.2fx, throughput %.2fx\n",
		float64(p.p50)/float64(f.p50), float64(p.p99)/float64(f.p99), p.rate/f.rate)
	fmt.Printf("startup to getmanifest answer (median of 20): %v\n", startup(*bin, 20))
	if st, err := os.Stat(*bin); err == nil {
		fmt.Printf("binary size: %.2f MB (%d bytes)\n", float64(st.Size())/1e6, st.Size())
	}
}

func methods() string {
	var m []string
	for _, x := range mix {
		m = append(m, x.method)
	}
	return strings.Join(m, ",")
}

type result struct {
	p50, p99, max time.Duration
	rate          float64 // calls per second
	rssKB         int     // peak resident set of the responder
	n             int
}

func (r result) print(name string) {
	fmt.Printf("%-10s p50 %6.1fµs  p99 %6.1fµs  max %7.1fµs  %8.0f calls/s  peak RSS %.1f MB\n",
		name, us(r.p50), us(r.p99), us(r.max), r.rate, float64(r.rssKB)/1024)
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// run drives one responder process with n hook calls, c in flight.
func run(cmd *exec.Cmd, n, c int) result {
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	w := bufio.NewWriter(stdin)
	r := bufio.NewReaderSize(stdout, 1<<16)
	fmt.Fprint(w, `{"jsonrpc":"2.0","id":"m","method":"getmanifest","params":{}}`+"\n\n"+
		`{"jsonrpc":"2.0","id":"i","method":"init","params":{"options":{"limit":"0.001btc"},"configuration":{"startup":false}}}`+"\n\n")
	w.Flush()
	for got := 0; got < 2; {
		if id := readID(r); id == "m" || id == "i" {
			got++
		}
	}

	sent := make([]time.Time, n)
	lat := make([]time.Duration, n)
	slots := make(chan struct{}, c)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // reader: match answers to calls by id
		defer wg.Done()
		for got := 0; got < n; {
			id := readID(r)
			i, err := strconv.Atoi(strings.TrimPrefix(id, "cli:x#"))
			if err != nil {
				continue // a log notification
			}
			lat[i] = time.Since(sent[i])
			got++
			<-slots
		}
	}()
	start := time.Now()
	var buf bytes.Buffer
	for i := 0; i < n; i++ {
		slots <- struct{}{}
		m := mix[i%len(mix)]
		buf.Reset()
		fmt.Fprintf(&buf, `{"jsonrpc":"2.0","id":"cli:x#%d","method":"rpc_command","params":{"rpc_command":{"jsonrpc":"2.0","method":"%s","id":"cli:%s#%d","params":%s}}}`+"\n\n", i, m.method, m.method, i, m.params)
		sent[i] = time.Now()
		w.Write(buf.Bytes())
		if len(slots) == cap(slots) || i == n-1 {
			w.Flush()
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	rss := peakRSS(cmd.Process.Pid)
	stdin.Close()
	cmd.Wait()
	slices.Sort(lat)
	return result{p50: lat[n/2], p99: lat[n*99/100], max: lat[n-1], rate: float64(n) / elapsed.Seconds(), rssKB: rss, n: n}
}

// readID returns the id of the next message from a responder, reading
// only as far as that message's end ("\n\n").
func readID(r *bufio.Reader) string {
	var msg []byte
	for {
		line, err := r.ReadSlice('\n')
		if err != nil && err != bufio.ErrBufferFull {
			log.Fatalf("responder: %v", err)
		}
		msg = append(msg, line...)
		if bytes.HasSuffix(msg, []byte("}\n")) {
			break
		}
	}
	r.ReadByte() // second '\n'
	return id(msg)
}

// id extracts a string id by bytes: the floor's "no decoding" too.
func id(msg []byte) string {
	i := bytes.Index(msg, []byte(`"id":"`))
	if i < 0 {
		return ""
	}
	rest := msg[i+6:]
	return string(rest[:bytes.IndexByte(rest, '"')])
}

// floorManifest makes the floor usable as a lightningd plugin too (the
// integration benchmarks load it to measure lightningd's own hook cost).
const floorManifest = `{"options":[],"rpcmethods":[],"hooks":[{"name":"rpc_command"}],"dynamic":true}`

// respond is the floor: frame each message, echo its id with a canned
// continue (or, for getmanifest, a canned manifest).
func respond(in io.Reader, out io.Writer) {
	r := bufio.NewReaderSize(in, 1<<16)
	w := bufio.NewWriterSize(out, 1<<16)
	for {
		if r.Buffered() == 0 {
			w.Flush() // before a read that may wait
		}
		msg, err := r.ReadSlice('\n')
		if err != nil {
			w.Flush()
			return
		}
		if len(bytes.TrimSpace(msg)) == 0 {
			continue
		}
		// The id, raw: a string (lightningd's ids) or a number (v23's
		// handshake), found by bytes.
		i := bytes.Index(msg, []byte(`"id":`))
		if i < 0 {
			continue // a notification
		}
		rest := msg[i+5:]
		n := bytes.IndexAny(rest, ",}")
		if rest[0] == '"' {
			n = 2 + bytes.IndexByte(rest[1:], '"')
		}
		w.WriteString(`{"jsonrpc":"2.0","id":`)
		w.Write(rest[:n])
		if bytes.Contains(msg, []byte(`"method":"getmanifest"`)) {
			w.WriteString(`,"result":` + floorManifest + `}` + "\n\n")
			continue
		}
		w.WriteString(`,"result":{"result":"continue"}}` + "\n\n")
	}
}

func peakRSS(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			kb, _ := strconv.Atoi(strings.Fields(l)[1])
			return kb
		}
	}
	return 0
}

// startup times process start to the getmanifest answer.
func startup(bin string, runs int) time.Duration {
	var ts []time.Duration
	for i := 0; i < runs; i++ {
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "LIGHTNINGD_PLUGIN=1")
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		start := time.Now()
		if err := cmd.Start(); err != nil {
			log.Fatal(err)
		}
		io.WriteString(stdin, `{"jsonrpc":"2.0","id":"m","method":"getmanifest","params":{}}`+"\n\n")
		readID(bufio.NewReader(stdout))
		ts = append(ts, time.Since(start))
		stdin.Close()
		cmd.Wait()
	}
	slices.Sort(ts)
	return ts[len(ts)/2]
}
