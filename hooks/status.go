package hooks

import (
	"encoding/json"
	"time"

	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// Status is the answer of pay-up-to-status.
type Status struct {
	// Version is pay-up-to's own (Guard.Version), if set.
	Version        string            `json:"version,omitempty"`
	Limit          string            `json:"limit,omitempty"`
	LimitMSat      *uint64           `json:"limit_msat,omitempty"`
	Budgets        []BudgetStatus    `json:"budgets"`
	Approved       uint64            `json:"approved"`
	Refused        uint64            `json:"refused"`
	RecentRefusals []json.RawMessage `json:"recent_refusals"`
	// History says whether lightningd's payment records have been read.
	History string `json:"history"`
	// Runes are the runes with an allowance, by unique id.
	Runes []AllowanceStatus `json:"runes"`
	// Paused is the node's pause, or null; PausedRunes the runes paused.
	Paused      *Pause  `json:"paused"`
	PausedRunes []Pause `json:"paused_runes"`
}

// BudgetStatus is one window now, in msat. Spent and available are
// absent (null) until the node's records are read: a figure not yet
// known is never shown as 0.
type BudgetStatus struct {
	Budget       string  `json:"budget"`
	BudgetMSat   uint64  `json:"budget_msat"`
	WindowS      int64   `json:"window_s"`
	SpentMSat    *uint64 `json:"spent_msat"`
	ReservedMSat uint64  `json:"reserved_msat"`
	// AvailableMSat is what a payment may still take, fees included.
	AvailableMSat *uint64 `json:"available_msat"`
	// OnchainMSat is the share of SpentMSat that left on-chain (outputs
	// to others and mining fees).
	OnchainMSat *uint64 `json:"onchain_msat"`
}

// StatusUsage and StatusDescription document pay-up-to-status for help.
const (
	StatusUsage       = ""
	StatusDescription = "Show pay-up-to's limit, each budget window's spent, reserved and available amounts, and recent refusals."
)

// ServeStatus answers pay-up-to-status.
func (g *Guard) ServeStatus(jsonrpc.Value) (any, error) {
	g.init()
	return g.status(), nil
}

func (g *Guard) status() Status {
	st := Status{Version: g.Version, Budgets: []BudgetStatus{}, RecentRefusals: []json.RawMessage{}, Runes: []AllowanceStatus{}}
	if lim, ok := g.Limit(); ok {
		n := uint64(lim)
		st.Limit, st.LimitMSat = lim.BTC(), &n
	}
	ls := g.ledger.Status()
	st.Budgets = budgets(ls.Windows, ls.Loaded)
	for _, r := range ls.Runes {
		a := AllowanceStatus{RuneID: r.ID, Budgets: budgets(r.Windows, ls.Loaded)}
		if r.HasLimit {
			n := uint64(r.Limit)
			a.Limit, a.LimitMSat = r.Limit.BTC(), &n
		}
		st.Runes = append(st.Runes, a)
	}
	if x, ok := g.pauses.get(nodeKey); ok {
		st.Paused = &x
	}
	st.PausedRunes = g.pauses.runes()
	g.stats.mu.Lock()
	st.Approved, st.Refused = g.stats.approved, g.stats.refused
	st.RecentRefusals = append(st.RecentRefusals, g.stats.recent...)
	g.stats.mu.Unlock()
	switch {
	case ls.Loaded:
		st.History = "read"
	case ls.LoadErr != "":
		st.History = "not read: " + ls.LoadErr + " (spent figures unknown)"
	default:
		st.History = "not read yet (spent figures unknown)"
	}
	return st
}

// budgets shows windows; spent and available only once known.
func budgets(ws []ledger.WindowStatus, known bool) []BudgetStatus {
	out := []BudgetStatus{}
	for _, w := range ws {
		b := BudgetStatus{Budget: w.Spec, BudgetMSat: uint64(w.Amount), WindowS: int64(w.Period / time.Second), ReservedMSat: uint64(w.Reserved)}
		if known {
			spent, avail, onchain := uint64(w.Spent), uint64(w.Available), uint64(w.OnChain)
			b.SpentMSat, b.AvailableMSat, b.OnchainMSat = &spent, &avail, &onchain
		}
		out = append(out, b)
	}
	return out
}
