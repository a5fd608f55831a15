package operator

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/payupto/pay-up-to/hooks/fleet"

	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/hooks/pause"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// Status is the answer of pay-up-to-status.
type Status struct {
	// Version is pay-up-to's own (Methods.Version), if set.
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
	Paused      *pause.Pause  `json:"paused"`
	PausedRunes []pause.Pause `json:"paused_runes"`
	// Fleet is the fleet the budgets are shared with, if any: then each
	// budget's spent and reserved are the whole fleet's.
	Fleet *fleet.Status `json:"fleet,omitempty"`
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

// AllowanceStatus is a rune's allowance, as the allowance methods and
// pay-up-to-status show it.
type AllowanceStatus struct {
	RuneID    string         `json:"rune_id"`
	Limit     string         `json:"limit,omitempty"`
	LimitMSat *uint64        `json:"limit_msat,omitempty"`
	Budgets   []BudgetStatus `json:"budgets"`
}

// StatusUsage and StatusDescription document pay-up-to-status for help.
const (
	StatusUsage       = ""
	StatusDescription = "Show pay-up-to's limit, each budget window's spent, reserved and available amounts, and recent refusals."
)

// Tally counts approvals and refusals since start, for pay-up-to-status
// and the metrics.
type Tally struct {
	mu                sync.Mutex // protects everything below
	approved, refused uint64
	recent            []json.RawMessage // the last few, newest last: {"time",…told}
	approvals         map[string]uint64 // by method
	refusals          map[Refusals]uint64
}

// Refusals is what refusals are counted by.
type Refusals struct {
	Method string
	Code   int
}

const (
	recentRefusals = 10
	// tallyMethods bounds the methods counted by name: an app may name
	// any command, and each name would be one more series to keep.
	tallyMethods = 64
)

// Approval counts an approved spend by method.
func (t *Tally) Approval(method string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.approved++
	if t.approvals == nil {
		t.approvals = map[string]uint64{}
	}
	t.approvals[t.name(method)]++
}

// Refusal counts a refusal of method with code; told is its
// pay_up_to_refused notification.
func (t *Tally) Refusal(method string, code int, told json.RawMessage) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.refused++
	if t.refusals == nil {
		t.refusals = map[Refusals]uint64{}
	}
	t.refusals[Refusals{t.name(method), code}]++
	rec := fmt.Appendf(nil, `{"time":%d,`, time.Now().Unix())
	t.recent = append(t.recent, append(rec, told[1:]...))
	if len(t.recent) > recentRefusals {
		t.recent = t.recent[1:]
	}
}

// name is method, or "other" once tallyMethods names are counted; t.mu
// is held.
func (t *Tally) name(method string) string {
	if _, ok := t.approvals[method]; ok {
		return method
	}
	for k := range t.refusals {
		if k.Method == method {
			return method
		}
	}
	seen := map[string]bool{}
	for m := range t.approvals {
		seen[m] = true
	}
	for k := range t.refusals {
		seen[k.Method] = true
	}
	if len(seen) >= tallyMethods {
		return "other"
	}
	return method
}

// Counts are copies of the approvals by method and the refusals by
// method and code.
func (t *Tally) Counts() (map[string]uint64, map[Refusals]uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	a := make(map[string]uint64, len(t.approvals))
	for k, v := range t.approvals {
		a[k] = v
	}
	r := make(map[Refusals]uint64, len(t.refusals))
	for k, v := range t.refusals {
		r[k] = v
	}
	return a, r
}

// ServeStatus answers pay-up-to-status.
func (m *Methods) ServeStatus(jsonrpc.Value) (any, error) {
	return m.Status(), nil
}

// Status is the guard's state now.
func (m *Methods) Status() Status {
	st := Status{Version: m.Version, Budgets: []BudgetStatus{}, RecentRefusals: []json.RawMessage{}, Runes: []AllowanceStatus{}}
	if lim, ok := m.Options.Limit(); ok {
		n := uint64(lim)
		st.Limit, st.LimitMSat = lim.BTC(), &n
	}
	ls := m.Ledger.Status()
	st.Budgets = budgets(ls.Windows, ls.Loaded)
	if m.Fleet != nil {
		fs := m.Fleet.Status(longest(ls.Windows))
		st.Fleet = &fs
		st.Budgets = budgets(m.Fleet.Windows(ls.Windows), ls.Loaded && fs.Reachable)
	}
	for _, r := range ls.Runes {
		a := AllowanceStatus{RuneID: r.ID, Budgets: budgets(r.Windows, ls.Loaded)}
		if r.HasLimit {
			n := uint64(r.Limit)
			a.Limit, a.LimitMSat = r.Limit.BTC(), &n
		}
		st.Runes = append(st.Runes, a)
	}
	if x, ok := m.Pauses.Stopped(); ok {
		st.Paused = &x
	}
	st.PausedRunes = m.Pauses.Runes()
	m.Tally.mu.Lock()
	st.Approved, st.Refused = m.Tally.approved, m.Tally.refused
	st.RecentRefusals = append(st.RecentRefusals, m.Tally.recent...)
	m.Tally.mu.Unlock()
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

func longest(ws []ledger.WindowStatus) time.Duration {
	var l time.Duration
	for _, w := range ws {
		l = max(l, w.Period)
	}
	return l
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
