// Package wallet asks lightningd what is the node's own (its addresses,
// its channels' funding outputs, its balance in a channel), and so what
// of an on-chain spend leaves the node.
package wallet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// Node is a lightningd to ask: C nil until pay-up-to is connected, its
// Version and Network once known.
type Node struct {
	C       *jsonrpc.Client
	Version price.Version
	Network string
}

// ErrNotConnected is why nothing can be told the node's before pay-up-to
// has connected to lightningd.
var ErrNotConnected = errors.New("pay-up-to is not connected to lightningd yet, so it cannot tell the node's own addresses")

// Ours reports whether lightningd's wallet has script (listaddresses,
// v24.11+). Before v24.11 only a developer-mode lightningd can say
// (dev-listaddrs): otherwise why says so, and the output counts as
// leaving. It errs when lightningd cannot be asked.
func (w Node) Ours(ctx context.Context, script []byte) (ours bool, why string, err error) {
	addr := amount.ScriptAddress(script, w.Network)
	if addr == "" {
		return false, "", nil // no address form: not the wallet's
	}
	if w.C == nil {
		return false, "", ErrNotConnected
	}
	var res struct {
		Addresses []struct {
			Bech32 string `json:"bech32"`
			P2tr   string `json:"p2tr"`
			P2sh   string `json:"p2sh"`
		} `json:"addresses"`
	}
	if v := w.Version; v != 0 && v < 2411 {
		// No listaddresses: its developer-mode ancestor lists them all.
		if err := w.C.Call(ctx, "dev-listaddrs", map[string]any{}, &res); err != nil {
			return false, "lightningd before v24.11 cannot say which addresses are its own (no listaddresses, and dev-listaddrs needs developer mode)", nil
		}
	} else if err := w.C.Call(ctx, "listaddresses", map[string]any{"address": addr}, &res); err != nil {
		if e, ok := err.(*jsonrpc.Error); ok && e.Code == -32602 {
			return false, "", nil // not an address lightningd takes: not the wallet's
		}
		return false, "", fmt.Errorf("cannot tell whether %s is the node's own: listaddresses: %v", addr, err)
	}
	for _, a := range res.Addresses {
		if a.Bech32 == addr || a.P2tr == addr || a.P2sh == addr {
			return true, "", nil
		}
	}
	return false, "", nil
}

// Channels is what pricing needs of listpeerchannels.
type Channels struct {
	Channels []struct {
		PeerID         string          `json:"peer_id"`
		ChannelID      string          `json:"channel_id"`
		ShortChannelID string          `json:"short_channel_id"`
		State          string          `json:"state"`
		ToUs           json.RawMessage `json:"to_us_msat"`
		FundingTxID    string          `json:"funding_txid"`
		FundingOutnum  *uint32         `json:"funding_outnum"`
		Inflight       []struct {
			FundingTxID   string  `json:"funding_txid"`
			FundingOutnum *uint32 `json:"funding_outnum"`
		} `json:"inflight"`
	} `json:"channels"`
}

// Channels reads the node's channels.
func (w Node) Channels(ctx context.Context) (Channels, error) {
	var res Channels
	if w.C == nil {
		return res, ErrNotConnected
	}
	if err := w.C.Call(ctx, "listpeerchannels", map[string]any{}, &res); err != nil {
		return res, fmt.Errorf("cannot read the node's channels: listpeerchannels: %v", err)
	}
	return res, nil
}

// FundingOutputs lists our channels' funding outputs, and those of
// splices and opens in flight, as "txid:outnum".
func (w Node) FundingOutputs(ctx context.Context) (map[string]bool, error) {
	res, err := w.Channels(ctx)
	out := map[string]bool{}
	for _, ch := range res.Channels {
		if ch.FundingOutnum != nil {
			out[fmt.Sprintf("%s:%d", ch.FundingTxID, *ch.FundingOutnum)] = true
		}
		for _, f := range ch.Inflight {
			if f.FundingOutnum != nil {
				out[fmt.Sprintf("%s:%d", f.FundingTxID, *f.FundingOutnum)] = true
			}
		}
	}
	return out, err
}

// Balance is our balance (to_us_msat) in the open channels a close
// names (a peer id, a channel id or a short channel id), in msat; it errs
// when there is none.
func (w Node) Balance(ctx context.Context, id string) (amount.MSat, error) {
	res, err := w.Channels(ctx)
	if err != nil {
		return 0, err
	}
	var sum amount.MSat
	found := false
	for _, ch := range res.Channels {
		if id != ch.PeerID && id != ch.ChannelID && id != ch.ShortChannelID {
			continue
		}
		if strings.HasPrefix(ch.State, "ONCHAIN") || ch.State == "CLOSED" || ch.State == "FUNDING_SPEND_SEEN" {
			continue
		}
		m, err := price.MSat(jsonrpc.Value(ch.ToUs))
		if err != nil {
			return 0, fmt.Errorf("cannot read the balance of channel %s: %v", ch.ChannelID, err)
		}
		sum, found = sum+m, true
	}
	if !found {
		return 0, fmt.Errorf("no open channel %s to price", id)
	}
	return sum, nil
}
