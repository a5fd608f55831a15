package operator

import (
	"context"
	"encoding/json"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/hooks/ledger"
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

// defaultRestrictions are what pay-up-to-createrune's runes may call: the
// payment commands and read-only basics.
var defaultRestrictions = []string{"method=pay", "method=xpay", "method=renepay", "method=keysend", "method=xkeysend", "method=sendamount",
	"method=getinfo", "method=listpays", "method=pay-up-to-status", "method=decode"}

// readAllowance reads the params of an allowance method (names, by
// position or name) and the allowance they give (to rune_id, if among
// them), where lightningd can hold runes to allowances.
func (m *Methods) readAllowance(params jsonrpc.Value, names []string) (map[string]string, ledger.Allowance, error) {
	a, err := args(params, names)
	if err != nil {
		return nil, ledger.Allowance{}, err
	}
	if why := m.runesSupported(); why != "" {
		return nil, ledger.Allowance{}, paramsError("%s", why)
	}
	al := ledger.Allowance{Rune: a["rune_id"]}
	if s := a["limit"]; s != "" {
		lim, err := amount.ParseMSat(s)
		if err != nil {
			return nil, al, paramsError("limit: %v", err)
		}
		al.Limit, al.HasLimit = lim, true
	}
	if al.Windows, err = ledger.ParseBudget(a["budget"]); err != nil {
		return nil, al, paramsError("%v", err)
	}
	return a, al, nil
}

// runesSupported says why this lightningd cannot hold runes to
// allowances, or "": per-rune allowances need checkrune (CLN v23.08+).
func (m *Methods) runesSupported() string {
	switch _, v, _ := m.Conn(); {
	case v == 0:
		return "lightningd's version is not known yet; try again in a moment"
	case v < 2308:
		return "per-rune allowances need lightningd's checkrune (CLN v23.08+): before it, commando checked runes itself, out of pay-up-to's sight"
	}
	return ""
}

// ServeSetAllowance answers pay-up-to-setallowance rune_id [limit] [budget].
func (m *Methods) ServeSetAllowance(params jsonrpc.Value) (any, error) {
	a, al, err := m.readAllowance(params, []string{"rune_id", "limit", "budget"})
	if err != nil {
		return nil, err
	}
	if err := m.Ledger.SetAllowance(al); err != nil {
		return nil, paramsError("%v", err)
	}
	m.logf("info", "rune %s allowance: limit %q, budget %q", al.Rune, a["limit"], a["budget"])
	return m.allowanceStatus(al.Rune), nil
}

// ServeDelAllowance answers pay-up-to-delallowance rune_id.
func (m *Methods) ServeDelAllowance(params jsonrpc.Value) (any, error) {
	a, err := args(params, []string{"rune_id"})
	if err != nil {
		return nil, err
	}
	if !m.Ledger.DelAllowance(a["rune_id"]) {
		return nil, paramsError("rune %q has no allowance", a["rune_id"])
	}
	m.logf("info", "rune %s allowance removed", a["rune_id"])
	return map[string]any{"rune_id": a["rune_id"], "deleted": true}, nil
}

// ServeCreateRune answers pay-up-to-createrune [limit] [budget]
// [restrictions]: lightningd's createrune with the default restrictions
// and the caller's, then the allowance, in one step. It waits on
// lightningd, so it answers off the stdin loop.
func (m *Methods) ServeCreateRune(params jsonrpc.Value) (any, error) {
	a, al, err := m.readAllowance(params, []string{"limit", "budget", "restrictions"})
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
	c, _, err := m.connected()
	if err != nil {
		return nil, err
	}
	return deferred(func(ctx context.Context) (any, error) {
		var res struct {
			Rune     string `json:"rune"`
			UniqueID string `json:"unique_id"`
		}
		if err := c.Call(ctx, "createrune", map[string]any{"restrictions": restr}, &res); err != nil {
			return nil, err
		}
		al.Rune = res.UniqueID
		if err := m.Ledger.SetAllowance(al); err != nil {
			return nil, paramsError("%v", err)
		}
		m.logf("info", "rune %s made, allowance: limit %q, budget %q", al.Rune, a["limit"], a["budget"])
		return struct {
			Rune     string `json:"rune"`
			UniqueID string `json:"unique_id"`
			AllowanceStatus
		}{res.Rune, res.UniqueID, m.allowanceStatus(al.Rune)}, nil
	}), nil
}

func (m *Methods) allowanceStatus(rune string) AllowanceStatus {
	for _, r := range m.Status().Runes {
		if r.RuneID == rune {
			return r
		}
	}
	return AllowanceStatus{RuneID: rune, Budgets: []BudgetStatus{}}
}
