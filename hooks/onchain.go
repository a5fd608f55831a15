package hooks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// On-chain spends. What leaves is every output to a script that is
// neither the wallet's (listaddresses, v24.11+) nor one of our channels'
// funding outputs (listpeerchannels) nor trusted, plus the mining fee; a
// close's balance to such a destination; what an open gives its peer;
// and a channel committed to such a close_to. Only lightningd knows its
// wallet, so the answer waits for it, off the stdin loop.
//
// A transaction counts from when lightningd signs it (signpsbt, and
// splice_signed) or sends it (sendpsbt), once: whoever holds a signed
// transaction can broadcast it. The commands that build one (withdraw,
// txprepare, fundchannel…) are priced too, to refuse before anything is
// built; a close, which lightningd signs itself, counts at the command.

// onChain answers an on-chain command: read, price, tell ours from what
// leaves, ask the ledger, answer.
func (g *Guard) onChain(method, id string, params jsonrpc.Value) any {
	rune := g.chainRunes.of(id, g.claims.take(method, params))
	o, err := price.OnChainSpend(method, params, g.version())
	if err != nil {
		return g.refuse(method, priceRefusal(method, err))
	}
	if len(o.Outputs) == 0 && o.Peer == 0 && len(o.Committed) == 0 {
		return continueAnswer
	}
	if o.TxID != "" && g.ledger.Counted(spendID(method, id, o)) {
		return continueAnswer // signed, now sent: counted once
	}
	g.chainRunes.note(id, rune) // the calls it makes are charged to its rune
	decide := func() any {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s, r := g.leaving(ctx, g.wallet(), method, o)
		if r == nil {
			r = g.spendOnChain(method, id, o, s, rune)
		}
		if r == nil {
			return continueAnswer
		}
		return g.refuse(method, r)
	}
	if g.rpc.Load() == nil {
		return decide() // nothing to ask: trusted destinations, or a refusal
	}
	return jsonrpc.Deferred(func(reply func(any, error)) { reply(decide(), nil) })
}

// refuse tells a refusal and returns its answer.
func (g *Guard) refuse(method string, r *refusal) any {
	g.tell(method, r)
	return r.answer()
}

// chainSpend is what an on-chain command sends away, in msat.
type chainSpend struct {
	leaving amount.MSat // to others
	fee     amount.MSat // to miners, when known
	dests   []string    // where it goes, for refusals
	// unknown says why an output was counted as leaving without knowing
	// whether it is the node's own.
	unknown string
}

// leaving finds what of o goes to others.
func (g *Guard) leaving(ctx context.Context, w wallet, method string, o price.OnChain) (chainSpend, *refusal) {
	var s chainSpend
	add := func(m amount.MSat, dest string) bool {
		if s.leaving+m < m {
			return false
		}
		s.leaving += m
		s.dests = append(s.dests, dest)
		return true
	}
	if o.Channel != "" { // a close to a destination
		ours, why, err := w.ours(ctx, o.Outputs[0].Script)
		if err != nil {
			return s, unverified(method, err.Error(), "destination", o.Outputs[0].Address)
		}
		if ours {
			return s, nil
		}
		bal, err := w.balance(ctx, o.Channel)
		if err != nil {
			return s, unverified(method, err.Error(), "destination", o.Outputs[0].Address)
		}
		add(bal, o.Outputs[0].Address)
		s.unknown = why
		return s, nil
	}
	var funding map[string]bool // read when first needed
	for _, out := range append(o.Outputs, o.Committed...) {
		if g.trusted.Load().script(out.Script) {
			continue
		}
		if price.Gate(method) {
			var err error
			if funding == nil {
				if funding, err = w.fundingOutputs(ctx); err != nil {
					return s, unverified(method, err.Error(), "", "")
				}
			}
			if funding[fmt.Sprintf("%s:%d", o.TxID, out.Index)] {
				continue // a channel of ours being opened or spliced
			}
		}
		ours, why, err := w.ours(ctx, out.Script)
		if err != nil {
			return s, unverified(method, err.Error(), "destination", g.address(out))
		}
		if ours {
			continue
		}
		if out.All { // the amount is known once the transaction is built
			if o.Check {
				continue
			}
			return s, unverified(method, "the amount committed to close_to is \"all\"", "destination", g.address(out))
		}
		if !add(amount.MSat(out.Sat)*1000, g.address(out)) || out.Sat > 21e14 {
			return s, unverified(method, "the amounts overflow", "", "")
		}
		if why != "" {
			s.unknown = why
		}
	}
	if o.Peer > 0 && !add(o.Peer, "the channel's peer") {
		return s, unverified(method, "the amounts overflow", "", "")
	}
	if price.Gate(method) {
		switch {
		case o.FeeKnown:
			s.fee = amount.MSat(o.Fee) * 1000
		case s.leaving > 0:
			return s, unverified(method, "an input of the PSBT has no amount (witness_utxo or non_witness_utxo), so its mining fee cannot be known", "destination", strings.Join(s.dests, ","))
		}
	}
	return s, nil
}

// spendOnChain asks the ledger; a gate and a close are counted.
func (g *Guard) spendOnChain(method, id string, o price.OnChain, s chainSpend, rune string) *refusal {
	limit, hasLimit := g.Limit()
	if !hasLimit && !g.ledger.HasBudget() {
		return unverified(method, "no limit or budget is configured yet", "", "")
	}
	sp := ledger.OnChain{ID: spendID(method, id, o), Leaving: s.leaving, Fee: s.fee, Rune: rune}
	v := g.ledger.SpendOnChain(sp, limit, hasLimit, !o.Check)
	if v == nil {
		if !o.Check {
			g.stats.approval()
		}
		return nil
	}
	return chainRefusal(method, v, s)
}

// spendID names what a spend counts: a transaction by its txid, any
// other (a close, an open's push) by the call.
func spendID(method, id string, o price.OnChain) ledger.Hash {
	if o.TxID != "" {
		if b, err := hex.DecodeString(o.TxID); err == nil && len(b) == 32 {
			return ledger.Hash(b)
		}
	}
	return sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%d", method, id, time.Now().UnixNano()))
}

// address is how refusals name an output.
func (g *Guard) address(out price.Output) string {
	if out.Address != "" {
		return out.Address
	}
	if a := amount.ScriptAddress(out.Script, g.network()); a != "" {
		return a
	}
	return "script " + hex.EncodeToString(out.Script)
}

// wallet asks lightningd which scripts are the node's; c is nil until
// pay-up-to is connected.
type wallet struct {
	g *Guard
	c *jsonrpc.Client
}

func (g *Guard) wallet() wallet { return wallet{g, g.rpc.Load()} }

// errNotConnected is why nothing can be told the node's before pay-up-to
// has connected to lightningd.
var errNotConnected = errors.New("pay-up-to is not connected to lightningd yet, so it cannot tell the node's own addresses")

// ours reports whether lightningd's wallet, or the operator's trusted
// list, has script. Before v24.11 only a developer-mode lightningd can
// say (dev-listaddrs): otherwise why says so, and the output counts as
// leaving.
func (w wallet) ours(ctx context.Context, script []byte) (ours bool, why string, err error) {
	if w.g.trusted.Load().script(script) {
		return true, "", nil
	}
	addr := amount.ScriptAddress(script, w.g.network())
	if addr == "" {
		return false, "", nil // no address form: not the wallet's
	}
	if w.c == nil {
		return false, "", errNotConnected
	}
	var res struct {
		Addresses []struct {
			Bech32 string `json:"bech32"`
			P2tr   string `json:"p2tr"`
			P2sh   string `json:"p2sh"`
		} `json:"addresses"`
	}
	if v := w.g.version(); v != 0 && v < 2411 {
		// No listaddresses: its developer-mode ancestor lists them all.
		if err := w.c.Call(ctx, "dev-listaddrs", map[string]any{}, &res); err != nil {
			return false, "lightningd before v24.11 cannot say which addresses are its own (no listaddresses, and dev-listaddrs needs developer mode)", nil
		}
	} else if err := w.c.Call(ctx, "listaddresses", map[string]any{"address": addr}, &res); err != nil {
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

// peerChannels is what pricing needs of listpeerchannels.
type peerChannels struct {
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

func (w wallet) channels(ctx context.Context) (peerChannels, error) {
	var res peerChannels
	if w.c == nil {
		return res, errNotConnected
	}
	if err := w.c.Call(ctx, "listpeerchannels", map[string]any{}, &res); err != nil {
		return res, fmt.Errorf("cannot read the node's channels: listpeerchannels: %v", err)
	}
	return res, nil
}

// fundingOutputs lists our channels' funding outputs, and those of
// splices in flight, as "txid:outnum".
func (w wallet) fundingOutputs(ctx context.Context) (map[string]bool, error) {
	res, err := w.channels(ctx)
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

// balance is our balance in the channels a close names (a peer id, a
// channel id or a short channel id), in msat.
func (w wallet) balance(ctx context.Context, id string) (amount.MSat, error) {
	res, err := w.channels(ctx)
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

// chainRunes remembers which rune authorised an on-chain command, so the
// calls it makes (signpsbt, sendpsbt, fundchannel_start), whose ids its
// id prefixes, are charged to it.
type chainRunes struct {
	mu sync.Mutex // protects m
	m  map[string]chainRune
}

type chainRune struct {
	rune string
	at   time.Time
}

// chainRuneLife bounds how long a command's calls are charged to its
// rune: opens wait for their peers, withdraws for their signatures.
const chainRuneLife = 10 * time.Minute

// note remembers the rune of command id, if any.
func (r *chainRunes) note(id, rune string) {
	if rune == "" || id == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]chainRune{}
	}
	now := time.Now()
	if len(r.m) > 1024 {
		for k, e := range r.m {
			if now.Sub(e.at) > chainRuneLife {
				delete(r.m, k)
			}
		}
	}
	r.m[id] = chainRune{rune, now}
}

// of is rune if set, else the rune of the command whose id prefixes id.
func (r *chainRunes) of(id, rune string) string {
	if rune != "" {
		return rune
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := strings.LastIndexByte(id, '/'); i > 0; i = strings.LastIndexByte(id[:i], '/') {
		if e, ok := r.m[id[:i]]; ok && time.Since(e.at) < chainRuneLife {
			return e.rune
		}
	}
	return ""
}
