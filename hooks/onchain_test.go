package hooks

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/hooks/refuse"
	"github.com/payupto/pay-up-to/jsonrpc"
	"github.com/payupto/pay-up-to/jsonrpc/jsonrpctest"
)

// p2wpkh is a pay-to-witness-pubkey-hash script for a key hash made of b.
func p2wpkh(b byte) []byte { return append([]byte{0x00, 0x14}, bytes.Repeat([]byte{b}, 20)...) }

func addr(t *testing.T, script []byte) string {
	a := amount.ScriptAddress(script, "regtest")
	assert.Assert(t, a != "")
	return a
}

// psbtV0 builds a BIP174 version-0 PSBT spending inputs (their amounts in
// witness_utxo when known, -1 for none) to outs.
func psbtV0(inputs []int64, outs []amount.TxOut) (string, string) {
	var tx bytes.Buffer
	le := func(n any) { binary.Write(&tx, binary.LittleEndian, n) }
	le(uint32(2))
	tx.WriteByte(byte(len(inputs)))
	for i := range inputs {
		h := sha256.Sum256([]byte{byte(i)})
		tx.Write(h[:])
		le(uint32(i))
		tx.WriteByte(0)
		le(uint32(0xffffffff))
	}
	tx.WriteByte(byte(len(outs)))
	for _, o := range outs {
		le(o.Value)
		tx.WriteByte(byte(len(o.Script)))
		tx.Write(o.Script)
	}
	le(uint32(0))
	id := sha256.Sum256(tx.Bytes())
	id = sha256.Sum256(id[:])
	for i, j := 0, 31; i < j; i, j = i+1, j-1 {
		id[i], id[j] = id[j], id[i]
	}
	var p bytes.Buffer
	p.WriteString("psbt\xff")
	p.Write([]byte{1, 0})
	if tx.Len() < 0xfd {
		p.WriteByte(byte(tx.Len()))
	} else {
		p.WriteByte(0xfd)
		binary.Write(&p, binary.LittleEndian, uint16(tx.Len()))
	}
	p.Write(tx.Bytes())
	p.WriteByte(0)
	for _, v := range inputs {
		if v >= 0 {
			script := p2wpkh(0xaa)
			p.Write([]byte{1, 1, byte(8 + 1 + len(script))})
			binary.Write(&p, binary.LittleEndian, uint64(v))
			p.WriteByte(byte(len(script)))
			p.Write(script)
		}
		p.WriteByte(0)
	}
	for range outs {
		p.WriteByte(0)
	}
	return base64.StdEncoding.EncodeToString(p.Bytes()), fmt.Sprintf("%x", id)
}

// chainGuard is a guard on lightningd v26.06 (regtest) with its records
// read and a budget, whose lightningd has the wallet addresses ours and
// the channels chans (a listpeerchannels "channels" array).
func chainGuard(t *testing.T, limit, budget string, ours []string, chans string) *Guard {
	g := guard(t, limit)
	assert.NilError(t, g.Options.SetBudget(budget))
	assert.Equal(t, g.Options.Ready("regtest"), "")
	g.cln.Store(2606)
	g.ledger.Load(nil, ledger.Saved{}, "02self")
	mine, theirs := net.Pipe()
	go jsonrpctest.Serve(theirs, func(method string, params json.RawMessage) string {
		switch method {
		case "listaddresses":
			var p struct{ Address string }
			json.Unmarshal(params, &p)
			for _, a := range ours {
				if a == p.Address {
					return fmt.Sprintf(`{"addresses":[{"keyidx":3,"bech32":%q,"p2tr":""}]}`, a)
				}
			}
			return `{"addresses":[]}`
		case "listpeerchannels":
			return `{"channels":` + chans + `}`
		}
		return ""
	})
	c := jsonrpc.NewClient(mine, "pay-up-to")
	t.Cleanup(func() { c.Close() })
	g.rpc.Store(c)
	return g
}

func spentOnChain(g *Guard) (spent, onchain amount.MSat) {
	w := g.ledger.Status().Windows[0]
	return w.Spent, w.OnChain
}

func TestOnChain(t *testing.T) {
	outside, change, cold := p2wpkh(1), p2wpkh(2), p2wpkh(3)
	g := chainGuard(t, "0.001btc", "0.002btc/1d", []string{addr(t, change)}, `[{"peer_id":"02peer","channel_id":"aa","short_channel_id":"1x1x1","state":"CHANNELD_NORMAL","to_us_msat":150000000,"funding_txid":"00","funding_outnum":0}]`)
	assert.NilError(t, g.Options.SetTrusted(addr(t, cold)))

	// At the command: to others above the limit is refused; to ours, to a
	// trusted address, or "all" (priced once built) go on.
	code, data := verdict(t, g, hook("withdraw", "cli:withdraw#1", []any{addr(t, outside), 100_001}))
	assert.Equal(t, code, int64(refuse.CodeOverLimit))
	assert.Equal(t, data["destination"], addr(t, outside))
	assert.Equal(t, data["amount_msat"], float64(100_001_000))
	for _, dest := range [][]byte{change, cold} {
		code, data = verdict(t, g, hook("withdraw", "cli:withdraw#2", []any{addr(t, dest), "1btc"}))
		assert.Equal(t, code, int64(0), "%v", data)
	}
	code, _ = verdict(t, g, hook("withdraw", "cli:withdraw#3", map[string]any{"destination": addr(t, outside), "satoshi": "all"}))
	assert.Equal(t, code, int64(0))
	code, data = verdict(t, g, hook("multiwithdraw", "cli:multiwithdraw#4", []any{[]any{map[string]any{addr(t, outside): "60000sat"}, map[string]any{addr(t, outside): 50000}}}))
	assert.Equal(t, code, int64(refuse.CodeOverLimit), "%v", data)
	spent, _ := spentOnChain(g)
	assert.Equal(t, spent, amount.MSat(0), "nothing counts before a signature")

	// A transaction: 50,000 sat out, 49,000 back to our change, 1,000 fee.
	ps, txid := psbtV0([]int64{100_000}, []amount.TxOut{{Value: 50_000, Script: outside}, {Value: 49_000, Script: change}})
	code, data = verdict(t, g, hook("signpsbt", "cli:withdraw#5/cln:withdraw#6/txprepare:signpsbt#7", []any{ps}))
	assert.Equal(t, code, int64(0), "%v", data)
	spent, onchain := spentOnChain(g)
	assert.Equal(t, spent, amount.MSat(51_000_000))
	assert.Equal(t, onchain, spent)
	code, _ = verdict(t, g, hook("sendpsbt", "cli:withdraw#5/cln:withdraw#6/txprepare:sendpsbt#8", map[string]any{"psbt": ps}))
	assert.Equal(t, code, int64(0))
	spent, _ = spentOnChain(g)
	assert.Equal(t, spent, amount.MSat(51_000_000), "signed then sent counts once (%s)", txid)

	// Over the limit, and over the budget: nothing more counts.
	ps2, _ := psbtV0([]int64{300_000}, []amount.TxOut{{Value: 100_001, Script: outside}, {Value: 199_000, Script: change}})
	code, data = verdict(t, g, hook("sendpsbt", "x", []any{ps2}))
	assert.Equal(t, code, int64(refuse.CodeOverLimit), "%v", data)
	assert.Equal(t, data["fee_msat"], float64(999_000))
	ps3, _ := psbtV0([]int64{300_000}, []amount.TxOut{{Value: 99_000, Script: outside}, {Value: 150_000, Script: change}}) // 99,000 + 51,000 fee
	code, data = verdict(t, g, hook("signpsbt", "y", []any{ps3}))
	assert.Equal(t, code, int64(refuse.CodeOverBudget), "%v", data)
	assert.Equal(t, data["requested_msat"], float64(150_000_000))
	assert.Equal(t, data["used_msat"], float64(51_000_000))

	// A sweep to the trusted address counts its fee only.
	ps4, _ := psbtV0([]int64{300_000}, []amount.TxOut{{Value: 299_500, Script: cold}})
	code, _ = verdict(t, g, hook("sendpsbt", "z", []any{ps4}))
	assert.Equal(t, code, int64(0))
	spent, _ = spentOnChain(g)
	assert.Equal(t, spent, amount.MSat(51_500_000))

	// Without input amounts the fee is not known: refused unless nothing
	// leaves.
	ps5, _ := psbtV0([]int64{-1}, []amount.TxOut{{Value: 1000, Script: outside}})
	code, data = verdict(t, g, hook("signpsbt", "w", []any{ps5}))
	assert.Equal(t, code, int64(refuse.CodeUnverified), "%v", data)
	code, _ = verdict(t, g, hook("signpsbt", "w", []any{"cHNidP8junk"}))
	assert.Equal(t, code, int64(refuse.CodeUnverified))

	// A close to another's address: our balance leaves.
	code, data = verdict(t, g, hook("close", "cli:close#9", []any{"02peer", nil, addr(t, outside)}))
	assert.Equal(t, code, int64(refuse.CodeOverLimit), "%v", data)
	assert.Equal(t, data["amount_msat"], float64(150_000_000))
	code, _ = verdict(t, g, hook("close", "cli:close#10", map[string]any{"id": "1x1x1", "destination": addr(t, cold)}))
	assert.Equal(t, code, int64(0))
	code, _ = verdict(t, g, hook("close", "cli:close#11", map[string]any{"id": "1x1x1"}))
	assert.Equal(t, code, int64(0))

	// What an open gives the peer.
	code, data = verdict(t, g, hook("fundchannel", "cli:fundchannel#12", map[string]any{"id": "02peer", "amount": 500_000, "push_msat": "0.002btc"}))
	assert.Equal(t, code, int64(refuse.CodeOverLimit), "%v", data)
	code, data = verdict(t, g, hook("fundchannel_start", "cli:fundchannel#13/cln:fundchannel#14", map[string]any{"id": "02peer", "amount": 500_000, "push_msat": 1_000_000}))
	assert.Equal(t, code, int64(0), "%v", data)
	spent, _ = spentOnChain(g)
	assert.Equal(t, spent, amount.MSat(52_500_000))
	code, data = verdict(t, g, hook("fundchannel_start", "cli:fundchannel#15", map[string]any{"id": "02peer", "amount": 500_000, "close_to": addr(t, outside)}))
	assert.Equal(t, code, int64(refuse.CodeOverLimit), "%v", data)
}

// TestOnChainOpen: a channel's funding output is ours; only the fee of
// the transaction that opens it counts.
func TestOnChainOpen(t *testing.T) {
	change, funding := p2wpkh(2), append([]byte{0x00, 0x20}, bytes.Repeat([]byte{9}, 32)...)
	ps, txid := psbtV0([]int64{1_000_000}, []amount.TxOut{{Value: 400_000, Script: change}, {Value: 599_000, Script: funding}})
	g := chainGuard(t, "0.001btc", "0.002btc/1d", []string{addr(t, change)}, `[{"peer_id":"02peer","channel_id":"aa","state":"CHANNELD_AWAITING_LOCKIN","to_us_msat":599000000,"funding_txid":"`+txid+`","funding_outnum":1}]`)
	code, data := verdict(t, g, hook("signpsbt", "cli:fundchannel#1/a", []any{ps}))
	assert.Equal(t, code, int64(0), "%v", data)
	spent, _ := spentOnChain(g)
	assert.Equal(t, spent, amount.MSat(1_000_000))
}

// TestOnChainBeforeListaddresses: before v24.11 lightningd cannot say
// which addresses are its own, so every output counts, and the refusal
// says why.
func TestOnChainBeforeListaddresses(t *testing.T) {
	change := p2wpkh(2)
	g := chainGuard(t, "0.001btc", "1btc/1d", []string{addr(t, change)}, `[]`)
	g.cln.Store(2302)
	ps, _ := psbtV0([]int64{1_000_000}, []amount.TxOut{{Value: 990_000, Script: change}})
	code, data := verdict(t, g, hook("signpsbt", "a", []any{ps}))
	assert.Equal(t, code, int64(refuse.CodeOverLimit), "%v", data)
	res, _ := g.Operator.ServeStatus(nil)
	b, _ := json.Marshal(res)
	assert.Assert(t, strings.Contains(string(b), "listaddresses"), string(b))
}

func TestTrustedDestinations(t *testing.T) {
	g := guard(t, "1sat")
	for _, bad := range []string{"banana", "bcrt1qjunk", "02" + strings.Repeat("0", 63)} {
		assert.ErrorContains(t, g.Options.SetTrusted(bad), "neither a node id nor an address", bad)
	}
	assert.NilError(t, g.Options.SetTrusted("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4, 021454364f0fb80ef0018b42605e9f17f4e6f13cdcbdc16dd1686970fb11fd3235"))
	assert.Assert(t, strings.Contains(g.Options.Ready("regtest"), "is a bitcoin address, and this node is on regtest"))
	assert.ErrorContains(t, g.Options.CheckTrusted("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"), "this node is on regtest")
	assert.NilError(t, g.Options.SetTrusted(""))
}
