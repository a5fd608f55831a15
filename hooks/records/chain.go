package records

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/hooks/trust"
	"github.com/payupto/pay-up-to/hooks/wallet"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// A budget counts what left on-chain in its windows, and a first start
// has seen none of it: this morning's withdraw left before pay-up-to
// ran. So at a first start every transaction the wallet funded (each of
// its inputs a wallet output) is counted as a sendpsbt of it would have
// been (package wallet: outputs to others, plus the mining fee), at its
// block's time, or now while unconfirmed. Closes to an outside address
// and pushes to peers before the first start are not in lightningd's
// transactions as such, and are not counted.

// chainTx is a listtransactions entry.
type chainTx struct {
	Hash        string `json:"hash"`
	Blockheight uint32 `json:"blockheight"`
	Inputs      []struct {
		Txid  string `json:"txid"`
		Index uint32 `json:"index"`
	} `json:"inputs"`
	Outputs []struct {
		Index        uint32        `json:"index"`
		AmountMsat   jsonrpc.Value `json:"amount_msat"`
		ScriptPubKey string        `json:"scriptPubKey"`
	} `json:"outputs"`
}

// txOut is an output of a transaction lightningd knows.
type txOut struct {
	script []byte
	msat   amount.MSat
}

// countChain counts the on-chain spends of the wallet in the windows;
// ld is loading. It asks lightningd (listtransactions, listaddresses,
// listpeerchannels, getrawblockbyheight) through w.
func (k *Keeper) countChain(ctx context.Context, w wallet.Node, t *trust.List, ld *ledger.Loader) error {
	// Read as it arrives, without each transaction's raw hex: a busy
	// wallet's answer is large.
	var txs []chainTx
	err := w.C.Stream(ctx, "listtransactions", nil, "transactions", func(v jsonrpc.Value) error {
		var tx chainTx
		if err := json.Unmarshal(v, &tx); err != nil {
			return err
		}
		txs = append(txs, tx)
		return nil
	})
	if err != nil {
		return fmt.Errorf("listtransactions: %w", err)
	}
	outs := map[string]txOut{}
	for _, tx := range txs {
		for _, o := range tx.Outputs {
			s, err1 := hex.DecodeString(o.ScriptPubKey)
			m, err2 := price.MSat(o.AmountMsat)
			if err1 != nil || err2 != nil {
				return fmt.Errorf("listtransactions: output %s:%d unreadable", tx.Hash, o.Index)
			}
			outs[fmt.Sprintf("%s:%d", tx.Hash, o.Index)] = txOut{s, m}
		}
	}
	ours := map[string]bool{}
	times := map[uint32]int64{}
	n := 0
	for _, tx := range txs {
		in, funded, err := k.walletInputs(ctx, w, tx, outs, ours)
		if u, ok := err.(errUnknowable); ok {
			k.Log("unusual", "on-chain spends made before pay-up-to first ran are not counted: lightningd cannot tell the wallet's own outputs (%s)", u.why)
			return nil
		}
		if err != nil {
			return err
		}
		if !funded {
			continue
		}
		o := price.OnChain{TxID: tx.Hash, FeeKnown: true}
		var out amount.MSat
		for _, x := range tx.Outputs {
			v := outs[fmt.Sprintf("%s:%d", tx.Hash, x.Index)]
			out += v.msat
			o.Outputs = append(o.Outputs, price.Output{Script: v.script, Sat: uint64(v.msat / 1000), Index: int(x.Index)})
		}
		if out > in {
			continue // not what a wallet funds
		}
		o.Fee = uint64((in - out) / 1000)
		s, err := w.Leaving(ctx, t, "sendpsbt", o)
		if err != nil {
			return err
		}
		at, err := blockTime(ctx, w.C, tx.Blockheight, times)
		if err != nil {
			return err
		}
		id, err := hex.DecodeString(tx.Hash)
		if err != nil || len(id) != 32 {
			return fmt.Errorf("listtransactions: txid %q", tx.Hash)
		}
		if ld.OnChain(ledger.OnChain{ID: ledger.Hash(id), Leaving: s.Leaving, Fee: s.Fee}, at) {
			n++
		}
	}
	if n > 0 {
		k.Log("info", "counted %d on-chain spends made before pay-up-to first ran", n)
	}
	return nil
}

// walletInputs is what tx's inputs bring in, in msat, if every one of
// them is a wallet output (funded); ours caches the wallet's scripts.
func (k *Keeper) walletInputs(ctx context.Context, w wallet.Node, tx chainTx, outs map[string]txOut, ours map[string]bool) (amount.MSat, bool, error) {
	var in amount.MSat
	for _, i := range tx.Inputs {
		prev, ok := outs[fmt.Sprintf("%s:%d", i.Txid, i.Index)]
		if !ok {
			return 0, false, nil
		}
		mine, known := ours[string(prev.script)]
		if !known {
			var why string
			var err error
			mine, why, err = w.Ours(ctx, prev.script)
			if err != nil {
				return 0, false, err
			}
			if why != "" {
				return 0, false, errUnknowable{why}
			}
			ours[string(prev.script)] = mine
		}
		if !mine {
			return 0, false, nil
		}
		in += prev.msat
	}
	return in, len(tx.Inputs) > 0, nil
}

// errUnknowable: lightningd cannot tell which outputs are the wallet's
// (before v24.11, outside developer mode), so nothing is counted.
type errUnknowable struct{ why string }

func (e errUnknowable) Error() string { return e.why }

// blockTime is the unix time of the block at height (now for 0: not yet
// mined), from its header (getrawblockbyheight, the chain backend's).
func blockTime(ctx context.Context, c *jsonrpc.Client, height uint32, cache map[uint32]int64) (int64, error) {
	if height == 0 {
		return time.Now().Unix(), nil
	}
	if t, ok := cache[height]; ok {
		return t, nil
	}
	var res struct {
		Block string `json:"block"`
	}
	if err := c.Call(ctx, "getrawblockbyheight", map[string]any{"height": height}, &res); err != nil {
		return 0, fmt.Errorf("getrawblockbyheight %d: %w", height, err)
	}
	b, err := hex.DecodeString(res.Block)
	if err != nil || len(b) < 80 {
		return 0, fmt.Errorf("getrawblockbyheight %d: no block header", height)
	}
	// A block may say a time ahead of ours (regtest mines in bursts): a
	// spend is not counted as made later than now.
	t := min(int64(binary.LittleEndian.Uint32(b[68:72])), time.Now().Unix())
	cache[height] = t
	return t, nil
}
