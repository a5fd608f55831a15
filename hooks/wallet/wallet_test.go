package wallet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/jsonrpc"
)

const ourAddr = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"

// node is a lightningd on version v that answers listaddresses (or,
// before v24.11, dev-listaddrs when dev) and listpeerchannels.
func node(t *testing.T, v int, dev bool) Node {
	ours, theirs := net.Pipe()
	go func() {
		rd := jsonrpc.NewReader(theirs, 0)
		for {
			m, err := rd.Next()
			if err != nil {
				return
			}
			var req struct {
				ID     json.RawMessage
				Method string
				Params struct{ Address string }
			}
			json.Unmarshal(m.Data, &req)
			res := ""
			switch {
			case req.Method == "listaddresses" && req.Params.Address == ourAddr, req.Method == "dev-listaddrs" && dev:
				res = `{"addresses":[{"keyidx":1,"bech32":"` + ourAddr + `"}]}`
			case req.Method == "listaddresses":
				res = `{"addresses":[]}`
			case req.Method == "listpeerchannels":
				res = `{"channels":[
					{"peer_id":"02aa","channel_id":"c1","short_channel_id":"1x1x0","state":"CHANNELD_NORMAL","to_us_msat":5000000,"funding_txid":"ab","funding_outnum":1,"inflight":[{"funding_txid":"cd","funding_outnum":0}]},
					{"peer_id":"02aa","channel_id":"c2","state":"ONCHAIN","to_us_msat":7000000,"funding_txid":"ef","funding_outnum":0}]}`
			}
			if res == "" {
				fmt.Fprintf(theirs, `{"jsonrpc":"2.0","id":%s,"error":{"code":-32601,"message":"Unknown command"}}`, req.ID)
			} else {
				fmt.Fprintf(theirs, `{"jsonrpc":"2.0","id":%s,"result":%s}`, req.ID, res)
			}
		}
	}()
	c := jsonrpc.NewClient(ours, "test")
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
