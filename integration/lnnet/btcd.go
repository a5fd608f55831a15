package lnnet

import (
	"github.com/payupto/pay-up-to/integration/proc"

	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

// BtcdVersion is the btcd that InstallBtcd installs.
const BtcdVersion = "v0.24.2"

// InstallBtcd returns the path of btcd BtcdVersion in dir, installing it
// there with `go install` first unless it is already there. An empty dir
// means the user cache directory (pay-up-to/btcd-VERSION in it).
func InstallBtcd(dir string) (string, error) {
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		dir = filepath.Join(cache, "pay-up-to", "btcd-"+BtcdVersion)
	}
	bin := filepath.Join(dir, "btcd")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// Install beside the final name, then rename, so that a concurrent
	// run never sees half a binary.
	tmp, err := os.MkdirTemp(dir, "install")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	goBin, err := proc.Go()
	if err != nil {
		return "", err
	}
	cmd := exec.Command(goBin, "install", "github.com/btcsuite/btcd@"+BtcdVersion)
	cmd.Dir = tmp // outside any module: go.mod is not touched
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("lnnet: go install github.com/btcsuite/btcd@%s: %v\n%s", BtcdVersion, err, out)
	}
	if err := os.Rename(filepath.Join(tmp, "btcd"), bin); err != nil {
		return "", err
	}
	return bin, nil
}

// BtcdClient calls btcd's JSON-RPC over HTTP with basic auth.
type BtcdClient struct {
	Addr, User, Password string // host:port and credentials

	once sync.Once
	hc   *http.Client
}

// BtcdError is an error btcd answered with.
type BtcdError struct {
	Code    int64  `json:"code"`
	Message string `json:"message"`
}

func (e *BtcdError) Error() string { return fmt.Sprintf("btcd: %d: %s", e.Code, e.Message) }

// Call sends one request; a JSON-RPC error comes back as *BtcdError. A
// connection error is retried once: btcd drops idle connections after about
// ten seconds, and keep-alive is off anyway.
func (c *BtcdClient) Call(method string, params []any, result any) error {
	c.once.Do(func() {
		c.hc = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	})
	if params == nil {
		params = []any{}
	}
	body, err := json.Marshal(map[string]any{"jsonrpc": "1.0", "id": 1, "method": method, "params": params})
	if err != nil {
		return err
	}
	var resp *http.Response
	for try := 0; ; try++ {
		req, err := http.NewRequest("POST", "http://"+c.Addr, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.SetBasicAuth(c.User, c.Password)
		req.Header.Set("Content-Type", "application/json")
		resp, err = c.hc.Do(req)
		if err == nil {
			break
		}
		if try == 1 {
			return fmt.Errorf("btcd: %s: %w", method, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("btcd: %s: %w", method, err)
	}
	var r struct {
		Result json.RawMessage `json:"result"`
		Error  *BtcdError      `json:"error"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("btcd: %s: %s: %.200q", method, resp.Status, b)
	}
	if r.Error != nil {
		return r.Error
	}
	if result == nil {
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(r.Result))
	d.UseNumber()
	return d.Decode(result)
}

// BtcToSat converts a BTC amount as btcd prints it (json.Number, at most 8
// decimals) to satoshis, exactly.
func BtcToSat(n json.Number) (int64, error) {
	r, ok := new(big.Rat).SetString(string(n))
	if !ok {
		return 0, fmt.Errorf("lnnet: bad btc amount %q", n)
	}
	r.Mul(r, big.NewRat(100_000_000, 1))
	if !r.IsInt() {
		return 0, fmt.Errorf("lnnet: btc amount %q is not whole satoshis", n)
	}
	return r.Num().Int64(), nil
}

// Btcd is a running regtest btcd whose mined coins pay to P2WSH(OP_TRUE).
type Btcd struct {
	BtcdClient
	Dir string // its data and log directory

	cmd  *exec.Cmd
	done chan struct{}
	log  bytes.Buffer // its stdout and stderr

	sendLock sync.Mutex // one funding transaction at a time; protects next
	next     int64      // lowest height whose coinbase may be unspent
}

// StartBtcd starts btcd (bin) on a free loopback port with its data in dir,
// and mines past segwit and taproot activation (height 432) with more than
// a hundred mature coinbases.
func StartBtcd(bin, dir string) (*Btcd, error) {
	port, err := proc.FreePort()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "btcd.conf")
	if err := os.WriteFile(conf, nil, 0o600); err != nil {
		return nil, err
	}
	b := &Btcd{
		BtcdClient: BtcdClient{Addr: fmt.Sprintf("127.0.0.1:%d", port), User: "lnnet", Password: "lnnet"},
		Dir:        dir,
		done:       make(chan struct{}),
		next:       1,
	}
	b.cmd = exec.Command(bin,
		"--regtest", "--notls", "--nolisten", "--txindex",
		"--rpcuser="+b.User, "--rpcpass="+b.Password, "--rpclisten="+b.Addr,
		"--miningaddr="+MiningAddress(),
		"-C", conf, "--datadir="+filepath.Join(dir, "data"), "--logdir="+filepath.Join(dir, "logs"))
	b.cmd.Stdout, b.cmd.Stderr = &syncWriter{w: &b.log}, &syncWriter{w: &b.log}
	b.cmd.SysProcAttr = proc.Attr()
	if err := b.cmd.Start(); err != nil {
		return nil, fmt.Errorf("lnnet: starting btcd: %w", err)
	}
	go func() { b.cmd.Wait(); close(b.done) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int64
		err := b.Call("getblockcount", nil, &n)
		if err == nil {
			break
		}
		select {
		case <-b.done:
			return nil, fmt.Errorf("lnnet: btcd exited: %s", b.log.String())
		default:
		}
		if time.Now().After(deadline) {
			b.Stop()
			return nil, fmt.Errorf("lnnet: btcd did not answer in 30s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := b.Generate(440); err != nil {
		b.Stop()
		return nil, err
	}
	return b, nil
}

// Generate mines n blocks and returns their hashes.
func (b *Btcd) Generate(n int) ([]string, error) {
	var hashes []string
	if err := b.Call("generate", []any{n}, &hashes); err != nil {
		return nil, err
	}
	return hashes, nil
}

// Height returns the height of the chain tip.
func (b *Btcd) Height() (int64, error) {
	var n int64
	err := b.Call("getblockcount", nil, &n)
	return n, err
}

// Send pays sat satoshis to each address (output i to addrs[i]) in one
// transaction spending a mature coinbase, and returns its txid. It does
// not mine.
func (b *Btcd) Send(addrs []string, sat int64) (string, error) {
	outs := make([]output, 0, len(addrs)+1)
	total := int64(0)
	for _, a := range addrs {
		s, err := AddressScript(a)
		if err != nil {
			return "", err
		}
		outs = append(outs, output{sat, s})
		total += sat
	}
	if len(outs) > 250 {
		return "", errors.New("lnnet: too many outputs")
	}
	b.sendLock.Lock()
	defer b.sendLock.Unlock()
	tip, err := b.Height()
	if err != nil {
		return "", err
	}
	const fee = 20000
	for ; b.next <= tip-100; b.next++ {
		var hash string
		if err := b.Call("getblockhash", []any{b.next}, &hash); err != nil {
			return "", err
		}
		var block struct{ Tx []string }
		if err := b.Call("getblock", []any{hash, 1}, &block); err != nil {
			return "", err
		}
		var out *struct{ Value json.Number }
		if err := b.Call("gettxout", []any{block.Tx[0], 0}, &out); err != nil {
			return "", err
		}
		if out == nil {
			continue // spent
		}
		value, err := BtcToSat(out.Value)
		if err != nil {
			return "", err
		}
		if value < total+fee+1000 {
			continue
		}
		raw, txid, err := spendOpTrue(block.Tx[0], 0, append(outs, output{value - total - fee, opTrueScript()}))
		if err != nil {
			return "", err
		}
		b.next++
		var got string
		if err := b.Call("sendrawtransaction", []any{raw}, &got); err != nil {
			return "", err
		}
		if got != txid {
			return "", fmt.Errorf("lnnet: btcd took %s as %s", txid, got)
		}
		return txid, nil
	}
	return "", fmt.Errorf("lnnet: no mature coinbase holds %d sat", total+fee)
}

// Stop ends btcd and waits for it.
func (b *Btcd) Stop() {
	select {
	case <-b.done:
		return
	default:
	}
	b.cmd.Process.Signal(os.Interrupt)
	select {
	case <-b.done:
	case <-time.After(10 * time.Second):
		b.cmd.Process.Kill()
		<-b.done
	}
}

// syncWriter serializes writes from a process's stdout and stderr.
type syncWriter struct {
	mu sync.Mutex // protects w
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
