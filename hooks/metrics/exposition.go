package metrics

import (
	"bytes"
	"sort"
	"strconv"
	"strings"

	"github.com/payupto/pay-up-to/hooks/operator"
)

// text builds Prometheus' text exposition format (version 0.0.4): each
// family's # HELP and # TYPE, then its samples.
type text struct{ b bytes.Buffer }

func (t *text) family(name, typ, help string) {
	t.b.WriteString("# HELP " + name + " " + help + "\n# TYPE " + name + " " + typ + "\n")
}

// sample writes name{k="v",…} value; labels are pairs.
func (t *text) sample(name string, value string, labels ...string) {
	t.b.WriteString(name)
	for i := 0; i+1 < len(labels); i += 2 {
		if i == 0 {
			t.b.WriteByte('{')
		} else {
			t.b.WriteByte(',')
		}
		t.b.WriteString(labels[i] + `="` + escape(labels[i+1]) + `"`)
	}
	if len(labels) > 0 {
		t.b.WriteByte('}')
	}
	t.b.WriteString(" " + value + "\n")
}

// escape is a label value as the format writes it.
func escape(v string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
}

func u(n uint64) string  { return strconv.FormatUint(n, 10) }
func f(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// window is a budget's label: its period as the operator wrote it
// ("0.01btc/1d" → "1d").
func window(spec string) string {
	if i := strings.LastIndexByte(spec, '/'); i >= 0 {
		return spec[i+1:]
	}
	return spec
}

// figures are what one scrape shows, taken before anything is written.
type figures struct {
	st        operator.Status
	approvals map[string]uint64
	refusals  map[operator.Refusals]uint64
	hooks     map[string][]uint64 // cumulative bucket counts, +Inf last
	sums      map[string]float64
}

// write formats the figures; families without samples are left out.
func (x figures) write() []byte {
	var t text
	st := x.st
	t.family("pay_up_to_info", "gauge", "pay-up-to's version, as a label.")
	t.sample("pay_up_to_info", "1", "version", st.Version)
	if st.LimitMSat != nil {
		t.family("pay_up_to_limit_msat", "gauge", "The limit on one payment (msat), fees included.")
		t.sample("pay_up_to_limit_msat", u(*st.LimitMSat))
	}
	t.family("pay_up_to_paused", "gauge", "1 while the node's spending is paused (pay-up-to-pause, or the fleet's), else 0.")
	t.sample("pay_up_to_paused", flag(st.Paused != nil))
	t.family("pay_up_to_paused_runes", "gauge", "How many runes are paused.")
	t.sample("pay_up_to_paused_runes", strconv.Itoa(len(st.PausedRunes)))
	t.family("pay_up_to_records_read", "gauge", "1 once lightningd's payment records are read (before that, spent figures are unknown and not shown), else 0.")
	t.sample("pay_up_to_records_read", flag(st.History == "read"))

	budgets(&t, "pay_up_to_budget", st.Budgets, nil)
	t.family("pay_up_to_approved_total", "counter", "Spends approved since pay-up-to started.")
	t.sample("pay_up_to_approved_total", u(st.Approved))
	t.family("pay_up_to_refused_total", "counter", "Commands refused since pay-up-to started.")
	t.sample("pay_up_to_refused_total", u(st.Refused))
	if len(x.approvals) > 0 {
		t.family("pay_up_to_approvals_by_method_total", "counter", "Spends approved since pay-up-to started, by command (past 64 names, other).")
		for _, m := range sorted(x.approvals) {
			t.sample("pay_up_to_approvals_by_method_total", u(x.approvals[m]), "method", m)
		}
	}
	if len(x.refusals) > 0 {
		t.family("pay_up_to_refusals_by_method_total", "counter", "Commands refused since pay-up-to started, by command (past 64 names, other) and error code.")
		keys := make([]operator.Refusals, 0, len(x.refusals))
		for k := range x.refusals {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			return keys[i].Method < keys[j].Method || keys[i].Method == keys[j].Method && keys[i].Code < keys[j].Code
		})
		for _, k := range keys {
			t.sample("pay_up_to_refusals_by_method_total", u(x.refusals[k]), "method", k.Method, "code", strconv.Itoa(k.Code))
		}
	}

	if len(st.Runes) > 0 {
		first := true
		for _, r := range st.Runes {
			if r.LimitMSat == nil {
				continue
			}
			if first {
				t.family("pay_up_to_rune_limit_msat", "gauge", "An app's limit on one payment (msat), by the unique id of its rune.")
				first = false
			}
			t.sample("pay_up_to_rune_limit_msat", u(*r.LimitMSat), "rune_id", r.RuneID)
		}
		var ws []operator.BudgetStatus
		var ids []string
		for _, r := range st.Runes {
			for _, b := range r.Budgets {
				ws, ids = append(ws, b), append(ids, r.RuneID)
			}
		}
		budgets(&t, "pay_up_to_rune_budget", ws, ids)
	}

	if fl := st.Fleet; fl != nil {
		t.family("pay_up_to_fleet_reachable", "gauge", "1 while the fleet's etcd answers, else 0 (spends under a budget then come from the offline share, or are refused).")
		t.sample("pay_up_to_fleet_reachable", flag(fl.Reachable), "fleet", fl.Name)
		if len(fl.Members) > 0 {
			t.family("pay_up_to_fleet_member_spent_msat", "gauge", "What a member of the fleet spent (msat) in this node's longest window.")
			for _, m := range fl.Members {
				t.sample("pay_up_to_fleet_member_spent_msat", u(uint64(m.Spent)), "fleet", fl.Name, "node_id", m.NodeID)
			}
			t.family("pay_up_to_fleet_member_reserved_msat", "gauge", "What a member of the fleet reserves (msat), its offline share included.")
			for _, m := range fl.Members {
				t.sample("pay_up_to_fleet_member_reserved_msat", u(uint64(m.Reserved+m.Share)), "fleet", fl.Name, "node_id", m.NodeID)
			}
			t.family("pay_up_to_fleet_member_last_seen_timestamp_seconds", "gauge", "When a member of the fleet last wrote to etcd (unix seconds).")
			for _, m := range fl.Members {
				t.sample("pay_up_to_fleet_member_last_seen_timestamp_seconds", strconv.FormatInt(m.LastSeen, 10), "fleet", fl.Name, "node_id", m.NodeID)
			}
		}
	}

	if len(x.hooks) > 0 {
		t.family("pay_up_to_hook_duration_seconds", "histogram", "How long a hook call takes, from lightningd's request being read to pay-up-to's answer being written.")
		for _, h := range sorted(x.hooks) {
			cum := x.hooks[h]
			for i, b := range bounds {
				t.sample("pay_up_to_hook_duration_seconds_bucket", u(cum[i]), "hook", h, "le", f(b))
			}
			t.sample("pay_up_to_hook_duration_seconds_bucket", u(cum[len(cum)-1]), "hook", h, "le", "+Inf")
			t.sample("pay_up_to_hook_duration_seconds_sum", f(x.sums[h]), "hook", h)
			t.sample("pay_up_to_hook_duration_seconds_count", u(cum[len(cum)-1]), "hook", h)
		}
	}
	return t.b.Bytes()
}

// budgets writes the families of budget windows named prefix_…; with
// ids, window i is an app's, whose rune has the unique id ids[i].
func budgets(t *text, prefix string, ws []operator.BudgetStatus, ids []string) {
	if len(ws) == 0 {
		return
	}
	whose, by, fleet := "A budget window's ", "", " In a fleet, the whole fleet's."
	if ids != nil {
		whose, by, fleet = "An app's budget window's ", " By the unique id of the app's rune.", ""
	}
	labels := func(i int) []string {
		if len(ids) > 0 {
			return []string{"rune_id", ids[i], "window", window(ws[i].Budget)}
		}
		return []string{"window", window(ws[i].Budget)}
	}
	each := func(suffix, help string, v func(b operator.BudgetStatus) *uint64) {
		first := true
		for i, b := range ws {
			n := v(b)
			if n == nil {
				continue
			}
			if first {
				t.family(prefix+suffix, "gauge", whose+help+by)
				first = false
			}
			t.sample(prefix+suffix, u(*n), labels(i)...)
		}
	}
	each("_msat", "amount (msat).", func(b operator.BudgetStatus) *uint64 { return &b.BudgetMSat })
	each("_window_seconds", "period (seconds).", func(b operator.BudgetStatus) *uint64 { n := uint64(b.WindowS); return &n })
	each("_spent_msat", "spent (msat), fees included; absent until the records are read."+fleet, func(b operator.BudgetStatus) *uint64 { return b.SpentMSat })
	each("_reserved_msat", "reserved by payments under way (msat)."+fleet, func(b operator.BudgetStatus) *uint64 { return &b.ReservedMSat })
	each("_available_msat", "room left for a payment (msat), fees included; absent until the records are read.", func(b operator.BudgetStatus) *uint64 { return b.AvailableMSat })
	each("_onchain_msat", "spent on-chain (msat): outputs to others and mining fees, a part of spent.", func(b operator.BudgetStatus) *uint64 { return b.OnchainMSat })
}

func sorted[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
