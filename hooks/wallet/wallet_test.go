package wallet

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/hooks/trust"
	"github.com/payupto/pay-up-to/jsonrpc/jsonrpctest"
)

const ourAddr = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"

// node is a lightningd on version v that answers listaddresses (or,
// before v24.11, dev-listaddrs when dev) and listpeerchannels.
func node(t *testing.T, v int, dev bool) Node {
	c := jsonrpctest.Client(func(method string, params json.RawMessage) string {
		var p struct{ Address string }
		json.Unmarshal(params, &p)
		switch {
		case method == "listaddresses" && p.Address == ourAddr, method == "dev-listaddrs" && dev:
			return `{"addresses":[{"keyidx":1,"bech32":"` + ourAddr + `"}]}`
		case method == "listaddresses":
			return `{"addresses":[]}`
		case method == "listpeerchannels":
			return `{"channels":[
				{"peer_id":"02aa","channel_id":"c1","short_channel_id":"1x1x0","state":"CHANNELD_NORMAL","to_us_msat":5000000,"funding_txid":"ab","funding_outnum":1,"inflight":[{"funding_txid":"cd","funding_outnum":0}]},
				{"peer_id":"02aa","channel_id":"c2","state":"ONCHAIN","to_us_msat":7000000,"funding_txid":"ef","funding_outnum":0}]}`
		}
		return ""
	})
	t.Cleanup(func() { c.Close() })
	return Node{C: c, Version: price.Version(v), Network: "regtest"}
}

func TestOurs(t *testing.T) {
	ctx := context.Background()
	script, _, err := amount.AddressScript(ourAddr)
	assert.NilError(t, err)
	other := append([]byte{0, 20}, bytes.Repeat([]byte{1}, 20)...) // someone's P2WPKH

	for _, tt := range []struct {
		v   int
		dev bool
	}{{2606, false}, {2302, true}} {
		n := node(t, tt.v, tt.dev)
		ours, why, err := n.Ours(ctx, script)
		assert.NilError(t, err)
		assert.Assert(t, ours && why == "", "v%d", tt.v)
		if tt.dev {
			continue // dev-listaddrs lists them all
		}
		ours, _, err = n.Ours(ctx, other)
		assert.NilError(t, err)
		assert.Assert(t, !ours)
	}
	// Before v24.11 without developer mode: not known, and said why.
	ours, why, err := node(t, 2302, false).Ours(ctx, script)
	assert.NilError(t, err)
	assert.Assert(t, !ours && why != "")
	// Not connected.
	_, _, err = Node{Network: "regtest"}.Ours(ctx, script)
	assert.Equal(t, err, ErrNotConnected)
}

func TestChannels(t *testing.T) {
	ctx := context.Background()
	n := node(t, 2606, false)
	f, err := n.FundingOutputs(ctx)
	assert.NilError(t, err)
	assert.DeepEqual(t, f, map[string]bool{"ab:1": true, "cd:0": true, "ef:0": true})
	b, err := n.Balance(ctx, "02aa")
	assert.NilError(t, err)
	assert.Equal(t, b, amount.MSat(5_000_000), "a closing channel's balance is not ours to send")
	b, err = n.Balance(ctx, "1x1x0")
	assert.NilError(t, err)
	assert.Equal(t, b, amount.MSat(5_000_000))
	_, err = n.Balance(ctx, "c2")
	assert.ErrorContains(t, err, "no open channel")
}

// TestLeaving: what goes to the wallet, to a trusted address or into one
// of our channels stays; the rest, a peer's push and a gate's fee leave.
func TestLeaving(t *testing.T) {
	w := node(t, 2606, false)
	ctx := context.Background()
	script := func(addr string) []byte {
		s, _, err := amount.AddressScript(addr)
		assert.NilError(t, err)
		return s
	}
	const other, trusted = "bcrt1qxmqzw5yv4mcnfm6mug3vt3s4f0mla248eteghm", "bcrt1qyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zs4w3j0"
	tl, err := trust.Parse(trusted)
	assert.NilError(t, err)
	o := price.OnChain{Outputs: []price.Output{
		{Address: ourAddr, Script: script(ourAddr), Sat: 1000},
		{Address: trusted, Script: script(trusted), Sat: 2000},
		{Address: other, Script: script(other), Sat: 3000},
	}, Peer: 500}
	s, err := w.Leaving(ctx, tl, "withdraw", o)
	assert.NilError(t, err)
	assert.DeepEqual(t, s, Spend{Leaving: 3_000_500, Dests: []string{other, "the channel's peer"}})

	// A gate: our channel's funding output stays; the fee must be known.
	o = price.OnChain{TxID: "ab", Outputs: []price.Output{{Script: script(other), Sat: 3000, Index: 0}, {Script: script(other), Sat: 9000, Index: 1}}}
	_, err = w.Leaving(ctx, nil, "sendpsbt", o)
	assert.ErrorContains(t, err, "its mining fee cannot be known")
	o.Fee, o.FeeKnown = 200, true
	s, err = w.Leaving(ctx, nil, "sendpsbt", o)
	assert.NilError(t, err)
	assert.DeepEqual(t, s, Spend{Leaving: 3_000_000, Fee: 200_000, Dests: []string{other}})

	// A close to an outside address empties our balance there.
	o = price.OnChain{Channel: "c1", Outputs: []price.Output{{Address: other, Script: script(other)}}}
	s, err = w.Leaving(ctx, nil, "close", o)
	assert.NilError(t, err)
	assert.DeepEqual(t, s, Spend{Leaving: 5_000_000, Dests: []string{other}})
}
