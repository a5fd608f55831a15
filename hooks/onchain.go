package hooks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/hooks/refuse"
	"github.com/payupto/pay-up-to/hooks/wallet"
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
		return g.refuse(method, refuse.Price(method, err))
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
		s, r := g.leaving(ctx, wallet.Node{C: g.rpc.Load(), Version: g.version(), Network: g.network()}, method, o)
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
func (g *Guard) refuse(method string, r *refuse.Refusal) any {
	g.tell(method, r)
	return r.Answer()
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
func (g *Guard) leaving(ctx context.Context, w wallet.Node, method string, o price.OnChain) (chainSpend, *refuse.Refusal) {
	var s chainSpend
	add := func(m amount.MSat, dest string) bool {
		if s.leaving+m < m {
			return false
		}
		s.leaving += m
		s.dests = append(s.dests, dest)
		return true
	}
	t := g.trusted.Load()
	isOurs := func(script []byte) (bool, string, error) {
		if t.Script(script) {
			return true, "", nil
		}
		return w.Ours(ctx, script)
	}
	if o.Channel != "" { // a close to a destination
		ours, why, err := isOurs(o.Outputs[0].Script)
		if err != nil {
			return s, refuse.Unverified(method, err.Error(), "destination", o.Outputs[0].Address)
		}
		if ours {
			return s, nil
		}
		bal, err := w.Balance(ctx, o.Channel)
		if err != nil {
			return s, refuse.Unverified(method, err.Error(), "destination", o.Outputs[0].Address)
		}
		add(bal, o.Outputs[0].Address)
		s.unknown = why
		return s, nil
	}
	var funding map[string]bool // read when first needed
	for _, out := range append(o.Outputs, o.Committed...) {
		if t.Script(out.Script) {
			continue
		}
		if price.Gate(method) {
			var err error
			if funding == nil {
				if funding, err = w.FundingOutputs(ctx); err != nil {
					return s, refuse.Unverified(method, err.Error(), "", "")
				}
			}
			if funding[fmt.Sprintf("%s:%d", o.TxID, out.Index)] {
				continue // a channel of ours being opened or spliced
			}
		}
		ours, why, err := isOurs(out.Script)
		if err != nil {
			return s, refuse.Unverified(method, err.Error(), "destination", g.address(out))
		}
		if ours {
			continue
		}
		if out.All { // the amount is known once the transaction is built
			if o.Check {
				continue
			}
			return s, refuse.Unverified(method, "the amount committed to close_to is \"all\"", "destination", g.address(out))
		}
		if !add(amount.MSat(out.Sat)*1000, g.address(out)) || out.Sat > 21e14 {
			return s, refuse.Unverified(method, "the amounts overflow", "", "")
		}
		if why != "" {
			s.unknown = why
		}
	}
	if o.Peer > 0 && !add(o.Peer, "the channel's peer") {
		return s, refuse.Unverified(method, "the amounts overflow", "", "")
	}
	if price.Gate(method) {
		switch {
		case o.FeeKnown:
			s.fee = amount.MSat(o.Fee) * 1000
		case s.leaving > 0:
			return s, refuse.Unverified(method, "an input of the PSBT has no amount (witness_utxo or non_witness_utxo), so its mining fee cannot be known", "destination", strings.Join(s.dests, ","))
		}
	}
	return s, nil
}

// spendOnChain asks the ledger; a gate and a close are counted.
func (g *Guard) spendOnChain(method, id string, o price.OnChain, s chainSpend, rune string) *refuse.Refusal {
	limit, hasLimit := g.Limit()
	if !hasLimit && !g.ledger.HasBudget() {
		return refuse.Unverified(method, "no limit or budget is configured yet", "", "")
	}
	sp := ledger.OnChain{ID: spendID(method, id, o), Leaving: s.leaving, Fee: s.fee, Rune: rune}
	v := g.ledger.SpendOnChain(sp, limit, hasLimit, !o.Check)
	if v == nil {
		if !o.Check {
			g.stats.approval()
		}
		return nil
	}
	return refuse.Chain(method, v, s.leaving, s.fee, s.dests, s.unknown)
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
