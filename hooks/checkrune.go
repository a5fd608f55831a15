package hooks

import (
	"context"
	"strings"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/hooks/apps"
	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/hooks/refuse"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// checkRune answers a checkrune call, which commando and clnrest make
// before each command an app runs (see package apps): refused while the
// rune is paused, for a command an app may not run, or for a spend its
// allowance cannot cover (commando relays the error as "Invalid rune:
// <message>"; a result without "valid" would kill it); else continued,
// and the spend noted as the rune's once lightningd says the rune is its
// own.
func (g *Guard) checkRune(c *command) (ask, error) {
	a, err := price.Read("checkrune", c.params, g.version())
	if err != nil || a["rune"] == nil || a["method"] == nil {
		return nil, nil // lightningd refuses it
	}
	method, _ := a["method"].String()
	rune, _ := a["rune"].String()
	rid, err := apps.RuneID(rune)
	if err != nil || method == "" {
		return nil, nil // lightningd refuses it
	}
	asked := &command{method: method, params: jsonrpc.Value("[]"), kind: kindOf(method)}
	if ps := a["params"]; ps != nil {
		asked.params = append(jsonrpc.Value(nil), ps...)
	}
	if err := g.mayRun(asked, rid); err != nil || !asked.spends() || !g.ledger.Allowed(rid) {
		return nil, err
	}
	// What cannot be priced here (a BIP353 name) is priced, or refused,
	// at the command or its preapprove call, and charged to the rune.
	if amt, total, key, subj, ok := g.runePrice(asked); ok {
		if v := g.ledger.Check(rid, amt, total); v != nil {
			return nil, &refuse.Payment{Verdict: v, Key: key, Subject: subj}
		}
	}
	rpc := g.rpc.Load()
	if rpc == nil {
		return nil, &refuse.Unverified{Why: "pay-up-to cannot check runes before it is connected to lightningd", Key: "rune_id", Subject: rid}
	}
	return func(ctx context.Context) error {
		if apps.IsOurs(ctx, rpc, rune) {
			g.claims.Add(rid, method, asked.params)
		}
		return nil
	}, nil
}

// mayRun refuses what the app whose rune's unique id is rid may not run
// now: anything while its rune is paused; when the rune has an allowance
// or every rune must, any command outside what apps may run (package
// apps) and the operator's app-commands; a spend, when every rune must
// have an allowance and it has none.
func (g *Guard) mayRun(c *command, rid string) error {
	if x, ok := g.pauses.Get(rid); ok {
		return &refuse.Paused{Method: c.method, Pause: x}
	}
	allowed, required := g.ledger.Allowed(rid), g.Options.RuneRequired()
	if allowed || required {
		if r := apps.May(c.method, c.params, rid, g.Options.AppCommands()); r != nil {
			return &refuse.NotForApps{Rune: rid, Method: c.method, Why: r.Why, Addable: r.Addable}
		}
	}
	if c.spends() && !allowed && required {
		return &refuse.NoAllowance{Rune: rid}
	}
	return nil
}

// runePrice is what a command asks of a rune's allowance: the amount for
// the recipient and the most it may take with fees; ok is false when it
// cannot be told here.
func (g *Guard) runePrice(c *command) (amt, total amount.MSat, key, subj string, ok bool) {
	switch c.kind {
	case onChain:
		o, err := price.OnChainSpend(c.method, c.params, g.version())
		if err != nil {
			return 0, 0, "", "", false
		}
		amt, total, dests, ok := o.Upper(g.Options.Trusted().Script, g.Options.Network())
		return amt, total, "destination", strings.Join(dests, ","), ok
	case send:
		s, err := g.readSend(c)
		if err != nil {
			return 0, 0, "", "", false
		}
		return s.Sent, s.Sent, "payment_hash", s.Key.Hash.String(), true
	}
	p, err := g.quote(c, false, false)
	sum, fits := p.Total()
	if err != nil || !p.Known || !fits {
		return 0, 0, "", "", false
	}
	return p.Amount, sum, p.Key, p.Subject, true
}
