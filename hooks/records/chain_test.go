package records

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/hooks/trust"
	"github.com/payupto/pay-up-to/hooks/wallet"
	"github.com/payupto/pay-up-to/jsonrpc"
	"github.com/payupto/pay-up-to/jsonrpc/jsonrpctest"
)

func p2wpkh(b byte) []byte { return append([]byte{0x00, 0x14}, bytes.Repeat([]byte{b}, 20)...) }

// header is a block whose header says unix time t.
func header(t int64) string {
	h := make([]byte, 80)
	binary.LittleEndian.PutUint32(h[68:], uint32(t))
	return hex.EncodeToString(h)
}

// TestFirstStartCountsChain: at a first start under a budget, what the
// wallet funded in the window counts as a sendpsbt of it would have:
// outputs to others and the fee; the wallet's change and a trusted
// address stay; a transaction older than the window, or one others
// funded, does not count; a later start does not count them again.
func TestFirstStartCountsChain(t *testing.T) {
	now := time.Now().Unix()
	ours1, ours2, other, trusted := p2wpkh(1), p2wpkh(2), p2wpkh(3), p2wpkh(4)
	addr := func(s []byte) string { return amount.ScriptAddress(s, "regtest") }
	txid := func(b byte) string { return strings.Repeat(fmt.Sprintf("%02x", b), 32) }
	out := func(i int, msat uint64, s []byte) map[string]any {
		return map[string]any{"index": i, "amount_msat": msat, "scriptPubKey": hex.EncodeToString(s)}
	}
	in := func(id string, i int) map[string]any { return map[string]any{"txid": id, "index": i, "sequence": 0} }
	txs := []map[string]any{
		// Someone pays the wallet: not ours to count.
		{"hash": txid(0xaa), "blockheight": 100, "inputs": []any{in(txid(0xee), 0)}, "outputs": []any{out(0, 1_000_000_000, ours1), out(1, 5_000_000, other)}},
		// A withdraw: 300000sat to others, 699000sat change, 1000sat fee.
		{"hash": txid(0xbb), "blockheight": 101, "inputs": []any{in(txid(0xaa), 0)}, "outputs": []any{out(0, 300_000_000, other), out(1, 699_000_000, ours2)}},
		// Unconfirmed: 500000sat to a trusted address, 1000sat fee.
		{"hash": txid(0xcc), "blockheight": 0, "inputs": []any{in(txid(0xbb), 1)}, "outputs": []any{out(0, 500_000_000, trusted), out(1, 198_000_000, ours1)}},
		// Ten days ago: outside the window.
		{"hash": txid(0xdd), "blockheight": 50, "inputs": []any{in(txid(0xaa), 0)}, "outputs": []any{out(0, 999_000_000, other)}},
	}
	var listed atomic.Int32
	c := jsonrpctest.Client(func(method string, params json.RawMessage) string {
		var p struct {
			Address string
			Height  uint32
		}
		json.Unmarshal(params, &p)
		switch method {
		case "listtransactions":
			listed.Add(1)
			b, _ := json.Marshal(map[string]any{"transactions": txs})
			return string(b)
		case "listaddresses":
			if p.Address == addr(ours1) || p.Address == addr(ours2) {
				return `{"addresses":[{"keyidx":1,"bech32":"` + p.Address + `"}]}`
			}
			return `{"addresses":[]}`
		case "listpeerchannels":
			return `{"channels":[]}`
		case "getrawblockbyheight":
			at := now - 3600
			if p.Height == 50 {
				at = now - 10*86400
			}
			return `{"blockhash":"00","block":"` + header(at) + `"}`
		case "listsendpays":
			return `{"payments":[]}`
		}
		return ""
	})
	defer c.Close()
	tl, err := trust.Parse(addr(trusted))
	assert.NilError(t, err)
	ws, _ := ledger.ParseBudget("0.1btc/1d")
	keeper := func() *Keeper {
		k := &Keeper{Ledger: ledger.New(time.Now), Log: func(_, f string, a ...any) { t.Logf(f, a...) },
			Wallet: func(c *jsonrpc.Client) (wallet.Node, *trust.List) {
				return wallet.Node{C: c, Version: price.Version(2606), Network: "regtest"}, tl
			}}
		k.Ledger.SetWindows(ws)
		return k
	}
	st := &memory{m: map[[2]string]string{}}
	k := keeper()
	assert.NilError(t, k.Load(context.Background(), c, st, "02self"))
	w := k.Ledger.Status().Windows[0]
	assert.Equal(t, w.Spent, amount.MSat(302_000_000))
	assert.Equal(t, w.OnChain, amount.MSat(302_000_000))
	assert.Equal(t, listed.Load(), int32(1))
	_, err = k.flush(context.Background(), st)
	assert.NilError(t, err)

	// A restart reads them from the records, and lists nothing again.
	k2 := keeper()
	assert.NilError(t, k2.Load(context.Background(), c, st, "02self"))
	assert.Equal(t, k2.Ledger.Status().Windows[0].Spent, amount.MSat(302_000_000))
	assert.Equal(t, listed.Load(), int32(1))

	// Without a budget nothing needs counting.
	k3 := &Keeper{Ledger: ledger.New(time.Now), Log: k.Log, Wallet: k.Wallet}
	assert.NilError(t, k3.Load(context.Background(), c, &memory{m: map[[2]string]string{}}, "02self"))
	assert.Equal(t, listed.Load(), int32(1))
}
