package hooks

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/hooks/refuse"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// Apps reach the node with a rune, through commando or clnrest, and each
// rune may have its own allowance. The rpc_command payload of the command
// an app runs carries no rune, but commando and clnrest first ask
// lightningd's checkrune about it (plugins/commando.c try_command,
// plugins/rest-plugin/src/shared.rs verify_rune), and checkrune passes
// this hook with the rune, the method and its params. So:
//
//   - at checkrune, a payment that the rune's allowance cannot cover is
//     refused (an error with code and message: commando relays it as
//     "Invalid rune: <message>"; a result without "valid" would kill it);
//   - one it can cover is noted as a claim, once lightningd says the rune
//     is its own and not blacklisted (showrunes, which changes nothing;
//     checkrune itself would count a use against per= and rate=);
//   - the command that follows, with the same method and params, takes
//     the oldest claim, and its payment is reserved in and charged to
//     that rune as well as the node, atomically, or refused with 2103.
//
// lightningd checks the rune's restrictions after the hook continues, so
// a claim whose checkrune lightningd then refuses is never taken by its
// own command; claims expire after claimLife.

// claimLife is how long a claim waits for its command, which commando and
// clnrest send as soon as checkrune answers.
const claimLife = 10 * time.Second

// runeID returns a rune's unique id: a rune is base64url (padded or not)
// of a 32-byte hash and its restrictions, the first of which is
// "=<id>" or "=<id>-<version>" (lightningd/runes.c, ccan/ccan/rune).
func runeID(s string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(strings.TrimSpace(s), "="))
	if err != nil || len(b) < 34 || b[32] != '=' {
		return "", errors.New("not a rune")
	}
	id := b[33:]
	if i := bytes.IndexAny(id, "&|-\\"); i >= 0 {
		id = id[:i]
	}
	if len(id) == 0 || len(id) > 20 || strings.Trim(string(id), "0123456789") != "" {
		return "", errors.New("not a rune: no unique id")
	}
	return string(id), nil
}

// claims are payments that checkrune let through for a rune, waiting for
// their command.
type claims struct {
	mu sync.Mutex // protects m and n
	m  map[string][]claim
	n  int // claims waiting, for the fast path
}

type claim struct {
	rune string
	at   time.Time
}

// canonical is a command's key: its method and params, as JSON with
// sorted keys, so that the same params sent twice match.
func canonical(method string, params jsonrpc.Value) string {
	var v any
	d := json.NewDecoder(bytes.NewReader(params))
	d.UseNumber()
	if d.Decode(&v) == nil {
		if b, err := json.Marshal(v); err == nil {
			return method + " " + string(b)
		}
	}
	return method + " " + string(bytes.TrimSpace(params))
}

func (c *claims) add(rune, method string, params jsonrpc.Value) {
	k := canonical(method, params)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string][]claim{}
	}
	c.m[k] = append(c.m[k], claim{rune, time.Now()})
	c.n++
}

// take returns the rune of the oldest live claim for this command, or "".
func (c *claims) take(method string, params jsonrpc.Value) string {
	c.mu.Lock()
	if c.n == 0 {
		c.mu.Unlock()
		return ""
	}
	c.mu.Unlock()
	k := canonical(method, params)
	c.mu.Lock()
	defer c.mu.Unlock()
	old := time.Now().Add(-claimLife)
	for k2, cs := range c.m { // forget what expired
		for len(cs) > 0 && cs[0].at.Before(old) {
			cs, c.n = cs[1:], c.n-1
		}
		if len(cs) == 0 {
			delete(c.m, k2)
		} else {
			c.m[k2] = cs
		}
	}
	cs := c.m[k]
	if len(cs) == 0 {
		return ""
	}
	if c.m[k], c.n = cs[1:], c.n-1; len(cs) == 1 {
		delete(c.m, k)
	}
	return cs[0].rune
}

// checkRune answers a checkrune call: refused when the rune's allowance
// cannot cover the payment it asks about, else continued, and noted once
// lightningd says the rune is its own.
func (g *Guard) checkRune(params jsonrpc.Value) any {
	a, err := price.Read("checkrune", params, g.version())
	if err != nil || len(a["rune"]) != 1 || len(a["method"]) != 1 {
		return continueAnswer // lightningd refuses it
	}
	method, _ := a["method"][0].String()
	runeStr, _ := a["rune"][0].String()
	rid, err := runeID(runeStr)
	if err != nil {
		return continueAnswer // lightningd refuses it
	}
	var inner jsonrpc.Value = jsonrpc.Value("[]")
	if ps := a["params"]; len(ps) == 1 {
		inner = append(jsonrpc.Value(nil), ps[0]...)
	}
	if x, ok := g.pauses.get(rid); ok {
		return g.refuse("checkrune", refuse.Paused(method, x.RuneID, x.Since, x.Reason))
	}
	if why := escapes(method, inner, rid); why != "" && (g.runeRequired.Load() || g.ledger.Allowed(rid)) {
		r := &refuse.Refusal{Code: CodeRuneAllowance,
			Message: fmt.Sprintf("pay-up-to: rune %s may not call %s: %s", rid, method, why),
			Data:    []refuse.Field{{Key: "rune_id", Str: rid}, {Key: "method", Str: method}}}
		g.tell("checkrune", r)
		return r.Answer()
	}
	if !guarded(method) {
		return continueAnswer
	}
	if !g.ledger.Allowed(rid) {
		if g.runeRequired.Load() {
			r := &refuse.Refusal{Code: CodeRuneAllowance,
				Message: fmt.Sprintf("pay-up-to: rune %s has no allowance, and rune-allowance-required is set (pay-up-to-setallowance %s …)", rid, rid),
				Data:    []refuse.Field{{Key: "rune_id", Str: rid}}}
			g.tell("checkrune", r)
			return r.Answer()
		}
		return continueAnswer
	}
	// What cannot be priced here (a BIP353 name) is priced, or refused,
	// at the command or its preapprove call, and charged to the rune.
	if amt, total, key, subj, ok := g.price(method, inner); ok {
		if v := g.ledger.Check(rid, amt, total); v != nil {
			r := refuse.Payment("checkrune", v, key, subj)
			g.tell("checkrune", r)
			return r.Answer()
		}
	}
	c := g.rpc.Load()
	if c == nil {
		r := refuse.Unverified("checkrune", "pay-up-to cannot check runes before it is connected to lightningd", "rune_id", rid)
		g.tell("checkrune", r)
		return r.Answer()
	}
	runeStr = strings.Clone(runeStr)
	return jsonrpc.Deferred(func(reply func(any, error)) {
		if g.runeIsOurs(c, runeStr) {
			g.claims.add(rid, method, inner)
		}
		reply(continueAnswer, nil)
	})
}

// price is what a command asks to spend: the amount for the recipient
// and the most it may take with fees; ok is false when it cannot be told
// here.
func (g *Guard) price(method string, params jsonrpc.Value) (amt, total amount.MSat, key, subj string, ok bool) {
	if price.IsOnChain(method) {
		return g.priceOnChain(method, params)
	}
	if price.IsSend(method) {
		s, err := g.readSend(method, "", params)
		if err != nil {
			return 0, 0, "", "", false
		}
		return s.Sent, s.Sent, "payment_hash", s.Key.Hash.String(), true
	}
	p, r := g.quote(method, "", params, false, false)
	sum, fits := p.Total()
	if r != nil || !p.Known || !fits {
		return 0, 0, "", "", false
	}
	return p.Amount, sum, p.Key, p.Subject, true
}

// priceOnChain is what an on-chain command asks of a rune's allowance,
// without asking lightningd which outputs are the wallet's: an app is
// held to every output not trusted (the exact amounts of a withdraw of
// "all" are charged at its signpsbt and sendpsbt).
func (g *Guard) priceOnChain(method string, params jsonrpc.Value) (amt, total amount.MSat, key, subj string, ok bool) {
	o, err := price.OnChainSpend(method, params, g.version())
	if err != nil {
		return 0, 0, "", "", false
	}
	t := g.trusted.Load()
	var dests []string
	for _, out := range append(o.Outputs, o.Committed...) {
		if t.Script(out.Script) || out.All {
			continue
		}
		m := amount.MSat(out.Sat) * 1000
		if out.Sat > 21e14 || amt+m < amt {
			return 0, 0, "", "", false
		}
		amt += m
		dests = append(dests, g.address(out))
	}
	if o.Channel != "" || amt+o.Peer < amt {
		return 0, 0, "", "", false // a close's balance is priced at the command
	}
	amt += o.Peer
	total = amt
	if o.FeeKnown && total+amount.MSat(o.Fee)*1000 >= total && o.Fee <= 21e14 {
		total += amount.MSat(o.Fee) * 1000
	}
	return amt, total, "destination", strings.Join(dests, ","), true
}

// runeIsOurs asks lightningd whether it made the rune and has not
// blacklisted it; its restrictions are lightningd's to check.
func (g *Guard) runeIsOurs(c *jsonrpc.Client, rune string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var res struct {
		Runes []struct {
			OurRune     *bool `json:"our_rune"`
			Blacklisted bool  `json:"blacklisted"`
		} `json:"runes"`
	}
	if err := c.Call(ctx, "showrunes", map[string]any{"rune": rune}, &res); err != nil {
		return false
	}
	return len(res.Runes) == 1 && (res.Runes[0].OurRune == nil || *res.Runes[0].OurRune) && !res.Runes[0].Blacklisted
}
