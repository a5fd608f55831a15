package hooks

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// Usage and descriptions of the allowance methods, for lightning-cli help.
const (
	CreateRuneUsage         = "[limit] [budget] [restrictions]"
	CreateRuneDescription   = "Make a rune for an app (payment commands and read-only basics, plus your restrictions) with its own allowance: a per-payment limit and budget windows, on top of the node's."
	SetAllowanceUsage       = "rune_id [limit] [budget]"
	SetAllowanceDescription = "Set or replace the allowance of the rune with this unique id (and of every rune derived from it): a per-payment limit and budget windows, on top of the node's."
	DelAllowanceUsage       = "rune_id"
	DelAllowanceDescription = "Remove a rune's allowance; its payments are then held to the node's limit and budget only."
)

// RuneRequiredDescription documents the rune-allowance-required option.
const RuneRequiredDescription = "Refuse payments authorised by a rune (commando, clnrest) that has no allowance (true or false)"

// defaultRestrictions are what pay-up-to-createrune's runes may call: the
// payment commands and read-only basics.
var defaultRestrictions = []string{"method=pay", "method=xpay", "method=renepay", "method=keysend", "method=xkeysend", "method=sendamount",
	"method=getinfo", "method=listpays", "method=pay-up-to-status", "method=decode"}

// AllowanceStatus is a rune's allowance, as the allowance methods and
// pay-up-to-status show it.
type AllowanceStatus struct {
	RuneID    string         `json:"rune_id"`
	Limit     string         `json:"limit,omitempty"`
	LimitMSat *uint64        `json:"limit_msat,omitempty"`
	Budgets   []BudgetStatus `json:"budgets"`
}

// CheckRuneRequired validates rune-allowance-required.
func (g *Guard) CheckRuneRequired(s string) error {
	_, err := parseBool(s)
	return err
}

// SetRuneRequired sets rune-allowance-required.
func (g *Guard) SetRuneRequired(s string) error {
	b, err := parseBool(s)
	if err == nil {
		g.runeRequired.Store(b)
	}
	return err
}

func parseBool(s string) (bool, error) {
	switch s {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("%q is not true or false", s)
}

// allowanceArgs reads [rune_id] [limit] [budget] by position or name.
func allowanceArgs(params jsonrpc.Value, names []string) (map[string]string, error) {
	a, err := price.ReadArgs(params, names)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for k, vs := range a {
		if len(vs) != 1 {
			return nil, fmt.Errorf("%s is given twice", k)
		}
		if k == "restrictions" {
			out[k] = string(vs[0])
			continue
		}
		out[k] = price.Text(vs[0])
	}
	for k := range out {
		if !slices.Contains(names, k) {
			return nil, fmt.Errorf("unknown parameter %s", k)
		}
	}
	return out, nil
}

// readAllowance reads the params of an allowance method (names, by
// position or name) and the allowance they give (to rune_id, if among
// them), where lightningd can hold runes to allowances.
func (g *Guard) readAllowance(params jsonrpc.Value, names []string) (map[string]string, ledger.Allowance, error) {
	g.init()
	a, err := allowanceArgs(params, names)
	if err != nil {
		return nil, ledger.Allowance{}, paramsError("%v", err)
	}
	if why := g.runesSupported(); why != "" {
		return nil, ledger.Allowance{}, paramsError("%s", why)
	}
	al, err := allowance(a["rune_id"], a)
	if err != nil {
		return nil, ledger.Allowance{}, paramsError("%v", err)
	}
	return a, al, nil
}

func allowance(rune string, a map[string]string) (ledger.Allowance, error) {
	al := ledger.Allowance{Rune: rune}
	if s := a["limit"]; s != "" {
		m, err := amount.ParseMSat(s)
		if err != nil {
			return al, fmt.Errorf("limit: %v", err)
		}
		al.Limit, al.HasLimit = m, true
	}
	ws, err := ledger.ParseBudget(a["budget"])
	al.Windows = ws
	return al, err
}

// runesSupported says why this lightningd cannot hold runes to
// allowances, or "": per-rune allowances need checkrune (CLN v23.08+).
func (g *Guard) runesSupported() string {
	switch v := g.cln.Load(); {
	case v == 0:
		return "lightningd's version is not known yet; try again in a moment"
	case v < 2308:
		return "per-rune allowances need lightningd's checkrune (CLN v23.08+): before it, commando checked runes itself, out of pay-up-to's sight"
	}
	return ""
}

func paramsError(format string, args ...any) error {
	return jsonrpc.Errorf(jsonrpc.ErrInvalidParams, "pay-up-to: "+format, args...)
}

// ServeSetAllowance answers pay-up-to-setallowance rune_id [limit] [budget].
func (g *Guard) ServeSetAllowance(params jsonrpc.Value) (any, error) {
	a, al, err := g.readAllowance(params, []string{"rune_id", "limit", "budget"})
	if err != nil {
		return nil, err
	}
	if err := g.ledger.SetAllowance(al); err != nil {
		return nil, paramsError("%v", err)
	}
	g.logf("info", "rune %s allowance: limit %q, budget %q", al.Rune, a["limit"], a["budget"])
	return g.allowanceStatus(al.Rune), nil
}

// ServeDelAllowance answers pay-up-to-delallowance rune_id.
func (g *Guard) ServeDelAllowance(params jsonrpc.Value) (any, error) {
	g.init()
	a, err := allowanceArgs(params, []string{"rune_id"})
	if err != nil {
		return nil, paramsError("%v", err)
	}
	if !g.ledger.DelAllowance(a["rune_id"]) {
		return nil, paramsError("rune %q has no allowance", a["rune_id"])
	}
	g.logf("info", "rune %s allowance removed", a["rune_id"])
	return map[string]any{"rune_id": a["rune_id"], "deleted": true}, nil
}

// ServeCreateRune answers pay-up-to-createrune [limit] [budget]
// [restrictions]: lightningd's createrune with the default restrictions
// and the caller's, then the allowance, in one step. It waits on
// lightningd, so it answers off the stdin loop.
func (g *Guard) ServeCreateRune(params jsonrpc.Value) (any, error) {
	a, al, err := g.readAllowance(params, []string{"limit", "budget", "restrictions"})
	if err != nil {
		return nil, err
	}
	restr := []any{defaultRestrictions}
	if s := a["restrictions"]; s != "" {
		var more []any
		if err := json.Unmarshal([]byte(s), &more); err != nil {
			return nil, paramsError("restrictions: want an array of arrays of strings, like createrune's: %v", err)
		}
		restr = append(restr, more...)
	}
	c := g.rpc.Load()
	if c == nil {
		return nil, paramsError("not connected to lightningd yet; try again in a moment")
	}
	return jsonrpc.Deferred(func(reply func(any, error)) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var res struct {
			Rune     string `json:"rune"`
			UniqueID string `json:"unique_id"`
		}
		if err := c.Call(ctx, "createrune", map[string]any{"restrictions": restr}, &res); err != nil {
			reply(nil, err)
			return
		}
		al.Rune = res.UniqueID
		if err := g.ledger.SetAllowance(al); err != nil {
			reply(nil, paramsError("%v", err))
			return
		}
		g.logf("info", "rune %s made, allowance: limit %q, budget %q", al.Rune, a["limit"], a["budget"])
		reply(struct {
			Rune     string `json:"rune"`
			UniqueID string `json:"unique_id"`
			AllowanceStatus
		}{res.Rune, res.UniqueID, g.allowanceStatus(al.Rune)}, nil)
	}), nil
}

func (g *Guard) allowanceStatus(rune string) AllowanceStatus {
	for _, r := range g.status().Runes {
		if r.RuneID == rune {
			return r
		}
	}
	return AllowanceStatus{RuneID: rune, Budgets: []BudgetStatus{}}
}
