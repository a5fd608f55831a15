package integration

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/payupto/pay-up-to/integration/lnnet"
)

// mempool lists the txids in btcd's mempool.
func mempool(t *testing.T) []string {
	t.Helper()
	var ids []string
	assert.NilError(t, getNetwork(t).Btcd.Call("getrawmempool", nil, &ids))
	slices.Sort(ids)
	return ids
}

// mempoolFee is a transaction's fee in msat, as btcd has it: its inputs'
// values (from the transactions they spend) less its outputs'.
func mempoolFee(t *testing.T, txid string) int64 {
	t.Helper()
	type tx struct {
		Vin []struct {
			Txid string `json:"txid"`
			Vout int    `json:"vout"`
		} `json:"vin"`
		Vout []struct {
			Value json.Number `json:"value"`
		} `json:"vout"`
	}
	get := func(id string) tx {
		var x tx
		assert.NilError(t, getNetwork(t).Btcd.Call("getrawtransaction", []any{id, 1}, &x))
		return x
	}
	sat := func(v json.Number) int64 {
		n, err := lnnet.BtcToSat(v)
		assert.NilError(t, err)
		return n
	}
	x := get(txid)
	fee := int64(0)
	for _, in := range x.Vin {
		fee += sat(get(in.Txid).Vout[in.Vout].Value)
	}
	for _, out := range x.Vout {
		fee -= sat(out.Value)
	}
	return fee * 1000
}

// newAddr is a fresh bech32 address of n's wallet.
func (n *node) newAddr() string {
	n.t.Helper()
	var a struct{ Bech32 string }
	n.must("newaddr", map[string]any{"addresstype": "bech32"}, &a)
	return a.Bech32
}

// spent is the first window's spent_msat and its on-chain share.
func (n *node) spent() (spent, onchain int64) {
	n.t.Helper()
	var s struct {
		Budgets []struct {
			SpentMsat   int64 `json:"spent_msat"`
			OnchainMsat int64 `json:"onchain_msat"`
		} `json:"budgets"`
	}
	n.must("pay-up-to-status", nil, &s)
	return s.Budgets[0].SpentMsat, s.Budgets[0].OnchainMsat
}

// nothingLeaves runs send, which pay-up-to must refuse with code, and
// checks that no transaction reached btcd's mempool.
func nothingLeaves(t *testing.T, code int64, send func() *rpcError) *rpcError {
	t.Helper()
	before := mempool(t)
	e := send()
	assert.Assert(t, e != nil, "not refused")
	assert.Equal(t, e.Code, code, "%v", e)
	assert.Assert(t, is.Contains(e.Message, "pay-up-to:"), "%v", e)
	time.Sleep(300 * time.Millisecond)
	assert.DeepEqual(t, mempool(t), before)
	return e
}

// withdrawn checks a withdraw that completed: in btcd's mempool, and the
// window's spent moved by want(fee) exactly.
func withdrawn(t *testing.T, l1 *node, e *rpcError, txid string, before int64, want func(fee int64) int64) {
	t.Helper()
	assert.Assert(t, e == nil, "%v", e)
	assert.Assert(t, slices.Contains(mempool(t), txid), "%s not in the mempool", txid)
	fee := mempoolFee(t, txid)
	spent, onchain := l1.spent()
	assert.Equal(t, spent-before, want(fee), "fee %d", fee)
	assert.Equal(t, onchain, spent, "all of it on-chain")
	assert.NilError(t, getNetwork(t).Mine(1)) // its change is spendable
}

// TestOnChain: every sat that leaves on-chain is held to the limit and
// the budget; what stays the node's counts its mining fee only.
func TestOnChain(t *testing.T) {
	l1, l2, l3 := newLine(t, nil, "plugin="+plugin, "limit=0.001btc", "budget=0.002btc/1d")
	nw := getNetwork(t)
	assert.NilError(t, nw.Fund(1_000_000, l1.Node, l1.Node))
	waitRead(t, l1)
	someone := l3.newAddr()
	base, _ := l1.spent() // the fee of the line's channel open
	var res struct {
		Txid string `json:"txid"`
	}

	// Over the limit: refused, nothing broadcast.
	nothingLeaves(t, codeOverLimit, func() *rpcError {
		return l1.call("withdraw", []any{someone, 1_000_000}, nil)
	})
	nothingLeaves(t, codeOverLimit, func() *rpcError {
		return l1.call("multiwithdraw", map[string]any{"outputs": []any{map[string]any{someone: "90000sat"}, map[string]any{l2.newAddr(): "90000sat"}}}, nil)
	})
	nothingLeaves(t, codeOverLimit, func() *rpcError {
		return l1.call("txprepare", map[string]any{"outputs": []any{map[string]any{someone: "0.005btc"}}}, nil)
	})
	if l1.has("addpsbtoutput") {
		var f struct{ Psbt string }
		l1.must("fundpsbt", map[string]any{"satoshi": 400_000, "feerate": "normal", "startweight": 200, "excess_as_change": true}, &f)
		var a struct{ Psbt string }
		l1.must("addpsbtoutput", map[string]any{"satoshi": 400_000, "initialpsbt": f.Psbt, "destination": someone}, &a)
		nothingLeaves(t, codeOverLimit, func() *rpcError { return l1.call("signpsbt", map[string]any{"psbt": a.Psbt}, nil) })
		nothingLeaves(t, codeOverLimit, func() *rpcError { return l1.call("sendpsbt", map[string]any{"psbt": a.Psbt}, nil) })
		l1.must("unreserveinputs", map[string]any{"psbt": f.Psbt}, nil)
	}
	l1.must("connect", map[string]any{"id": l3.ID, "host": "127.0.0.1", "port": l3.Port}, nil)
	nothingLeaves(t, codeOverLimit, func() *rpcError {
		return l1.call("fundchannel", map[string]any{"id": l3.ID, "amount": 200_000, "push_msat": "0.005btc"}, nil)
	})
	nothingLeaves(t, codeOverLimit, func() *rpcError {
		return l1.call("close", map[string]any{"id": l2.ID, "destination": someone}, nil)
	})
	spent, _ := l1.spent()
	assert.Equal(t, spent, base, "refusals count nothing")

	// Under the limit to someone: counted exactly, amount and fee.
	e := l1.call("withdraw", []any{someone, 50_000}, &res)
	withdrawn(t, l1, e, res.Txid, base, func(fee int64) int64 { return 50_000_000 + fee })
	// To our own address, to a trusted one, and a channel open: the fee.
	spent, _ = l1.spent()
	e = l1.call("withdraw", []any{l1.newAddr(), 500_000}, &res)
	withdrawn(t, l1, e, res.Txid, spent, func(fee int64) int64 { return fee })
	cold := l2.newAddr()
	if l1.has("setconfig") {
		l1.must("setconfig", []any{"trusted-destinations", cold}, nil)
	} else { // v23.02: set at a restart of the plugin
		l1.startGuard(map[string]any{"limit": "0.001btc", "budget": "0.002btc/1d", "trusted-destinations": cold})
	}
	spent, _ = l1.spent()
	e = l1.call("withdraw", []any{cold, 300_000}, &res)
	withdrawn(t, l1, e, res.Txid, spent, func(fee int64) int64 { return fee })
	spent, _ = l1.spent()
	e = l1.call("fundchannel", map[string]any{"id": l3.ID, "amount": 300_000}, &res)
	withdrawn(t, l1, e, res.Txid, spent, func(fee int64) int64 { return fee })

	// txprepare then txsend: counted at the signature.
	spent, _ = l1.spent()
	var tp struct{ Txid string }
	l1.must("txprepare", map[string]any{"outputs": []any{map[string]any{someone: 40_000}}}, &tp)
	e = l1.call("txsend", map[string]any{"txid": tp.Txid}, &res)
	withdrawn(t, l1, e, res.Txid, spent, func(fee int64) int64 { return 40_000_000 + fee })

	// Restarts keep what left: one more spend past the budget is refused.
	spent, _ = l1.spent()
	assert.Assert(t, spent-base > 90_000_000 && spent-base < 100_000_000, "%d", spent)
	e = l1.call("withdraw", []any{someone, 95_000}, &res)
	withdrawn(t, l1, e, res.Txid, spent, func(fee int64) int64 { return 95_000_000 + fee })
	l1.startGuard(map[string]any{"limit": "0.001btc", "budget": "0.002btc/1d"})
	after, _ := l1.spent()
	spent, _ = l1.spent()
	assert.Equal(t, after, spent)
	d := overBudget(t, nothingLeaves(t, codeOverBudget, func() *rpcError { return l1.call("withdraw", []any{someone, 20_000}, nil) }), "0.002btc/1d")
	assert.Equal(t, d["used_msat"], float64(spent))
	assert.NilError(t, l1.Restart())
	waitRead(t, l1)
	l1.waitSynced()
	after, _ = l1.spent()
	assert.Equal(t, after, spent, "lightningd restart")
	nothingLeaves(t, codeOverBudget, func() *rpcError { return l1.call("withdraw", []any{someone, 20_000}, nil) })

	// The whole wallet: priced, and refused, at its signature.
	nothingLeaves(t, codeOverLimit, func() *rpcError { return l1.call("withdraw", []any{someone, "all"}, nil) })
	l1.checkAlive()
}

// waitSynced waits until lightningd has caught up with the chain after a
// restart: until then it refuses to build transactions (304) before any
// signature is asked for.
func (n *node) waitSynced() {
	n.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var info map[string]any
		n.must("getinfo", nil, &info)
		_, a := info["warning_bitcoind_sync"]
		_, b := info["warning_lightningd_sync"]
		if !a && !b {
			return
		}
		assert.Assert(n.t, time.Now().Before(deadline), "lightningd not synced: %v", info)
		time.Sleep(100 * time.Millisecond)
	}
}

// TestOnChainRune: an app whose rune allows withdraw is held to its
// allowance on-chain too, at checkrune, and charged what its
// transactions really send, fees included.
func TestOnChainRune(t *testing.T) {
	l1, l2, l3 := newLine(t, nil, "plugin="+plugin, "limit=0.001btc", "budget=0.002btc/1d")
	waitRead(t, l1)
	if !l1.has("checkrune") {
		t.Skip("lightningd " + version + " has no checkrune (CLN v23.08+): per-rune allowances need it")
	}
	assert.NilError(t, getNetwork(t).Fund(1_000_000, l1.Node))
	someone := l3.newAddr()
	rune, id := l1.newRune([]any{[]any{"method=withdraw"}})
	l1.must("pay-up-to-setallowance", map[string]any{"rune_id": id, "limit": "20000sat", "budget": "30000sat/1d"}, nil)
	withdraw := func(sat int) (*rpcError, string) {
		var r struct{ Txid string }
		e := l2.call("commando", map[string]any{"peer_id": l1.ID, "method": "withdraw", "params": map[string]any{"destination": someone, "satoshi": sat}, "rune": rune}, &r)
		return e, r.Txid
	}
	e := nothingLeaves(t, 19537, func() *rpcError { e, _ := withdraw(20_001); return e })
	runeRefusal(t, e, id, "limit")

	e, txid := withdraw(15_000)
	assert.Assert(t, e == nil, "%v", e)
	assert.Assert(t, slices.Contains(mempool(t), txid))
	assert.Equal(t, l1.runeSpent(id), 15_000_000+mempoolFee(t, txid), "the rune is charged the amount and its fee")
	assert.NilError(t, getNetwork(t).Mine(1))

	e = nothingLeaves(t, 19537, func() *rpcError { e, _ := withdraw(15_000); return e })
	runeRefusal(t, e, id, "30000sat/1d")
	l1.checkAlive()
}

// TestFirstStartOnChain: what the wallet sent on-chain before pay-up-to
// first ran (the line's channel open, a withdraw this morning) counts in
// the budget from the first start, exactly as the guard would have
// counted it; a spend past the budget is then refused with nothing
// leaving, and a restart does not count them twice.
func TestFirstStartOnChain(t *testing.T) {
	l1, _, l3 := newLine(t, nil)
	if !l1.has("listaddresses") {
		t.Skip("lightningd " + version + " has no listaddresses (CLN v24.11+): the wallet's own outputs cannot be told, so earlier spends are not counted (the log says so)")
	}
	nw := getNetwork(t)
	assert.NilError(t, nw.Fund(1_000_000, l1.Node, l1.Node))
	someone := l3.newAddr()
	var res struct {
		Txid string `json:"txid"`
	}
	l1.must("withdraw", []any{someone, 100_000}, &res)
	want := 100_000_000 + mempoolFee(t, res.Txid)
	var chans struct {
		Channels []struct {
			Opener      string `json:"opener"`
			FundingTxid string `json:"funding_txid"`
		} `json:"channels"`
	}
	l1.must("listpeerchannels", nil, &chans)
	for _, c := range chans.Channels {
		if c.Opener == "local" {
			want += mempoolFee(t, c.FundingTxid) // an open counts its fee
		}
	}
	opts := map[string]any{"limit": "0.01btc", "budget": "0.0015btc/1d"}
	l1.startGuard(opts)
	spent, onchain := l1.spent()
	assert.Equal(t, spent, want)
	assert.Equal(t, onchain, want)
	nothingLeaves(t, codeOverBudget, func() *rpcError {
		return l1.call("withdraw", []any{someone, 60_000}, nil)
	})
	assert.NilError(t, nw.Mine(1))
	l1.startGuard(opts)
	spent, _ = l1.spent()
	assert.Equal(t, spent, want, "a restart counted them again")
}

// onchainOnly is what the first start counted in the first window: on-chain
// spends made before pay-up-to ran (the line's channel open), and nothing
// else yet.
func (n *node) onchainOnly(t *testing.T) int64 {
	t.Helper()
	spent, onchain := n.spent()
	assert.Equal(t, spent, onchain, "the first start counts what left on-chain, nothing else")
	assert.Assert(t, onchain > 0, "the line's channel open left a fee")
	return onchain
}
