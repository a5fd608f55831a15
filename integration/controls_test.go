package integration

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/payupto/pay-up-to/hooks/apps"
)

const (
	codePaused   = 2104
	codeCommando = 19537 // commando's code for a refused checkrune
)

// commando runs method on l1 from l2 with rune, as a remote app does.
func (a app) call(method string, params any, result any) *rpcError {
	return a.l2.call("commando", map[string]any{"peer_id": a.l1.ID, "method": method, "params": params, "rune": a.rune}, result)
}

// snapshot is what an app must not be able to change: the guard's
// allowances, the node's options, the guard's records and its plugin.
func (n *node) snapshot() string {
	n.t.Helper()
	var st struct {
		Limit   string          `json:"limit"`
		Budgets json.RawMessage `json:"budgets"`
		Runes   json.RawMessage `json:"runes"`
		Paused  json.RawMessage `json:"paused"`
	}
	n.must("pay-up-to-status", nil, &st)
	st.Budgets = nil // spent moves; the budget strings are in the options
	var cfg [3]json.RawMessage
	for i, name := range []string{"limit", "budget", "trusted-destinations"} {
		n.must("listconfigs", map[string]any{"config": name}, &cfg[i])
	}
	var store, plugins json.RawMessage
	n.must("listdatastore", map[string]any{"key": []string{"pay-up-to"}}, &store)
	var list struct{ Plugins []struct{ Name string } }
	n.must("plugin", map[string]any{"subcommand": "list"}, &list)
	guards := 0
	for _, p := range list.Plugins {
		if len(p.Name) >= 10 && p.Name[len(p.Name)-10:] == "/pay-up-to" {
			guards++
		}
	}
	plugins, _ = json.Marshal(guards)
	b, _ := json.Marshal([]any{st, cfg, store, plugins})
	return string(b)
}

// TestAppsCannotLiftTheirLimits: an app whose rune is unrestricted (a
// plain createrune, as many guides show) but carries an allowance runs,
// from l2 over commando, only what apps may run: every other command,
// the ways to change or stop the guard above all, is refused at its
// checkrune and nothing changes; the app still reads, invoices and pays
// within its allowance, and the operator's app-commands widens what it
// may run, never to what would change or stop the guard.
func TestAppsCannotLiftTheirLimits(t *testing.T) {
	l1, l2, l3 := newLine(t, nil, "plugin="+plugin, "limit=0.001btc", "budget=0.003btc/1d")
	waitRead(t, l1)
	if !l1.has("checkrune") {
		t.Skip("lightningd " + version + " has no checkrune (CLN v23.08+): apps' runes cannot be held there")
	}
	rune, id := l1.newRune(nil)
	l1.must("pay-up-to-setallowance", map[string]any{"rune_id": id, "limit": "10000sat", "budget": "20000sat/1d"}, nil)
	other, _ := l1.newRune([]any{[]any{"method=getinfo"}})
	a := app{l1, l2, rune, "pay"}
	before := l1.snapshot()
	refused := func(method string, params any) {
		t.Helper()
		e := a.call(method, params, nil)
		assert.Assert(t, e != nil, "%s %v was not refused", method, params)
		assert.Equal(t, e.Code, int64(codeCommando), "%s: %v", method, e)
		assert.Assert(t, is.Contains(e.Message, "pay-up-to:"), "%s: %v", method, e)
	}
	for _, c := range []struct {
		method string
		params any
	}{
		{"pay-up-to-setallowance", map[string]any{"rune_id": id, "limit": "1btc", "budget": "10btc/1d"}},
		{"pay-up-to-setallowance", []any{id, "1btc", "10btc/1d"}},
		{"pay-up-to-delallowance", map[string]any{"rune_id": id}},
		{"pay-up-to-createrune", map[string]any{"limit": "1btc"}},
		{"pay-up-to-resume", map[string]any{}},
		{"pay-up-to-pause", map[string]any{"reason": "an app pausing the node"}},
		{"setconfig", map[string]any{"config": "limit", "val": "1btc"}},
		{"setconfig", []any{"budget", "100btc/1d"}},
		{"setconfig", map[string]any{"config": "trusted-destinations", "val": l3.ID}},
		{"setconfig", map[string]any{"config": "app-commands", "val": "setconfig"}},
		{"plugin", map[string]any{"subcommand": "stop", "plugin": "pay-up-to"}},
		{"plugin", []any{"stop", plugin}},
		{"plugin", []any{"list"}},
		{"datastore", map[string]any{"key": []string{"pay-up-to", "x"}, "string": "y", "mode": "create-or-replace"}},
		{"datastore", map[string]any{"key": []string{"myapp", "x"}, "string": "y"}},
		{"deldatastore", map[string]any{"key": []string{"pay-up-to", "allowance", id}}},
		{"createrune", map[string]any{}},
		{"createrune", map[string]any{"restrictions": []any{[]any{"method=pay"}}}},
		{"createrune", map[string]any{"rune": other}},
		{"showrunes", map[string]any{}},
		{"blacklistrune", map[string]any{"start": 0, "relist": true}},
		{"reckless", []any{"disable", "pay-up-to"}},
		{"reckless", []any{"install", "anything"}},
		{"otherplugin-transfer", map[string]any{"amount": 1}},
		{"dev-forget-channel", map[string]any{"id": l2.ID}},
		{"signmessage", []any{"I am this node"}},
		{"connect", []any{l3.ID}},
		{"close", []any{l2.ID}},
		{"exposesecret", []any{"x"}},
		{"clnrest-register-path", map[string]any{"path": "/pay", "rpc_method": "pay", "rune_required": false}},
		{"stop", []any{}},
	} {
		refused(c.method, c.params)
	}
	assert.Equal(t, l1.snapshot(), before, "an app changed the guard")
	e := a.call("connect", []any{l3.ID}, nil)
	assert.Assert(t, is.Contains(e.Message, "pay-up-to: an app with an allowance may not run connect; the operator can allow it with app-commands=connect"), "%v", e)

	// It reads, invoices, restricts its own rune, and pays within its
	// allowance.
	for _, c := range []struct {
		method string
		params any
	}{
		{"getinfo", []any{}},
		{"listfunds", []any{}},
		{"listpeerchannels", map[string]any{}},
		{"pay-up-to-status", []any{}},
		{"invoice", map[string]any{"amount_msat": 1000, "label": "app", "description": "app"}},
		{"showrunes", map[string]any{"rune": rune}},
		{"createrune", map[string]any{"rune": rune, "restrictions": []any{[]any{"method=pay"}}}},
	} {
		assert.Assert(t, a.call(c.method, c.params, nil) == nil, "%s", c.method)
	}
	e, r := a.pay(l3.invoice("5000sat"))
	completed(t, l1, l3, e, r)
	noHTLC(t, l1, l2, func() {
		e, _ := a.pay(l3.invoice("10001sat"))
		runeRefusal(t, e, id, "limit")
	})

	// The operator widens what apps may run; never to what would change
	// or stop the guard.
	if l1.hasConfig("app-commands") && l1.has("setconfig") {
		l1.must("setconfig", map[string]any{"config": "app-commands", "val": "connect"}, nil)
		e := a.call("connect", []any{l2.ID}, nil) // a peer already
		assert.Assert(t, e == nil, "%v", e)
		e = l1.call("setconfig", map[string]any{"config": "app-commands", "val": "connect,plugin"}, nil)
		assert.Assert(t, e != nil && is.Contains(e.Message, "an app may never be allowed plugin")().Success(), "%v", e)
		refused("plugin", []any{"list"})
	}
	l1.checkAlive()
}

// TestAppCommandsDecided: every command this lightningd offers, its
// plugins' included, is decided by the table of what apps may run.
func TestAppCommandsDecided(t *testing.T) {
	l1 := startNode(t, nil, "plugin="+plugin, "limit=0.001btc")
	if !l1.has("checkrune") {
		t.Skip("lightningd " + version + " has no checkrune (CLN v23.08+): no app has an allowance there, so the table is never asked")
	}
	var h struct {
		Help []struct {
			Command string `json:"command"`
		} `json:"help"`
	}
	l1.must("help", nil, &h)
	var undecided []string
	for _, c := range h.Help {
		name, _, _ := strings.Cut(c.Command, " ")
		if !apps.Decided(name) && !strings.HasPrefix(name, "pay-up-to-") {
			undecided = append(undecided, name)
		}
	}
	assert.Assert(t, len(h.Help) > 100, "help lists %d commands", len(h.Help))
	assert.Assert(t, len(undecided) == 0, "lightningd %s has commands the table does not decide: %v", version, undecided)
}

// pausedEverywhere checks that every way to spend is refused 2104 with
// nothing leaving: pay, xpay, keysend, a raw sendpay and a withdraw.
func pausedEverywhere(t *testing.T, l1, l2, l3 *node, reason string) {
	t.Helper()
	st := l1.statusPaused()
	assert.Assert(t, st.Paused != nil, "status does not show the pause")
	assert.Equal(t, st.Paused.Reason, reason)
	cmds := []string{"pay"}
	if l1.has("xpay") {
		cmds = append(cmds, "xpay")
	}
	for _, cmd := range cmds {
		noHTLC(t, l1, l2, func() {
			e := l1.call(cmd, []any{l3.invoice("1000sat")}, nil)
			assert.Assert(t, e != nil && e.Code == codePaused, "%s: %v", cmd, e)
			assert.Assert(t, is.Contains(e.Message, reason), "%v", e)
		})
	}
	noHTLC(t, l1, l2, func() {
		e := l1.call("keysend", []any{l3.ID, 1_000_000}, nil)
		assert.Assert(t, e != nil && e.Code == codePaused, "keysend: %v", e)
	})
	inv := l3.decode(l3.invoice("1000sat"))
	noHTLC(t, l1, l2, func() {
		e := l1.call("sendpay", map[string]any{"route": l1.route(l3, 1_000_000), "payment_hash": inv.PaymentHash, "payment_secret": inv.PaymentSecret}, nil)
		assert.Assert(t, e != nil && e.Code == codePaused, "sendpay: %v", e)
	})
	nothingLeaves(t, codePaused, func() *rpcError {
		return l1.call("withdraw", map[string]any{"destination": l3.newAddr(), "satoshi": 1000}, nil)
	})
}

// waitReconnected waits until n's channels are back in use after a
// restart of lightningd.
func (n *node) waitReconnected() {
	n.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var r struct {
			Channels []struct {
				PeerConnected bool   `json:"peer_connected"`
				State         string `json:"state"`
			}
		}
		n.must("listpeerchannels", nil, &r)
		ready := len(r.Channels) > 0
		for _, c := range r.Channels {
			ready = ready && c.PeerConnected && c.State == "CHANNELD_NORMAL"
		}
		if ready {
			return
		}
		assert.Assert(n.t, time.Now().Before(deadline), "channels not back after a restart: %+v", r)
		time.Sleep(100 * time.Millisecond)
	}
}

type pausedStatus struct {
	Paused *struct {
		Since  int64  `json:"since"`
		Reason string `json:"reason"`
	} `json:"paused"`
	PausedRunes []struct {
		RuneID string `json:"rune_id"`
		Reason string `json:"reason"`
	} `json:"paused_runes"`
}

func (n *node) statusPaused() pausedStatus {
	n.t.Helper()
	var st pausedStatus
	n.must("pay-up-to-status", nil, &st)
	return st
}

// TestPause: pay-up-to-pause stops every spend at once, stays through a
// plugin restart and a lightningd restart, cannot be lifted by an app,
// and pay-up-to-resume lets payments complete again.
func TestPause(t *testing.T) {
	l1, l2, l3 := newLine(t, nil, "plugin="+plugin, "limit=0.001btc", "budget=0.003btc/1d")
	waitRead(t, l1)
	assert.NilError(t, getNetwork(t).Fund(1_000_000, l1.Node))
	const reason = "rune 7 leaked"
	l1.must("pay-up-to-pause", map[string]any{"reason": reason}, nil)
	pausedEverywhere(t, l1, l2, l3, reason)

	l1.startGuard(map[string]any{"limit": "0.001btc", "budget": "0.003btc/1d"})
	pausedEverywhere(t, l1, l2, l3, reason)

	assert.NilError(t, l1.Restart())
	waitRead(t, l1)
	l1.waitReconnected()
	pausedEverywhere(t, l1, l2, l3, reason)

	if l1.has("checkrune") {
		// An app, even one allowed every pay-up-to method, cannot resume.
		rune, id := l1.newRune([]any{[]any{"method^pay"}})
		l1.must("pay-up-to-setallowance", []any{id, "10000sat"}, nil)
		e := app{l1, l2, rune, "pay"}.call("pay-up-to-resume", map[string]any{}, nil)
		assert.Assert(t, e != nil && e.Code == codeCommando, "%v", e)
		assert.Assert(t, l1.statusPaused().Paused != nil)
	} else {
		t.Log("lightningd " + version + " has no checkrune (CLN v23.08+): the app's part skipped")
	}

	l1.must("pay-up-to-resume", map[string]any{}, nil)
	assert.Assert(t, l1.statusPaused().Paused == nil)
	e, r := l1.pay(l3.invoice("1000sat"))
	completed(t, l1, l3, e, r)
	var w struct{ Txid string }
	assert.Assert(t, l1.call("withdraw", map[string]any{"destination": l3.newAddr(), "satoshi": 1000}, &w) == nil)
	l1.checkAlive()
}

// TestPauseOneApp: a rune paused alone is refused (through commando:
// "Invalid rune: pay-up-to: … paused"); the node's own payments and
// another app's still complete.
func TestPauseOneApp(t *testing.T) {
	l1, l2, l3 := newLine(t, nil, "plugin="+plugin, "limit=0.001btc", "budget=0.003btc/1d")
	waitRead(t, l1)
	if !l1.has("checkrune") {
		t.Skip("lightningd " + version + " has no checkrune (CLN v23.08+): an app cannot be paused alone")
	}
	runeA, idA := l1.newRune(nil)
	runeB, idB := l1.newRune(nil)
	for _, id := range []string{idA, idB} {
		l1.must("pay-up-to-setallowance", []any{id, "10000sat", "50000sat/1d"}, nil)
	}
	a, b := app{l1, l2, runeA, "pay"}, app{l1, l2, runeB, "pay"}
	l1.must("pay-up-to-pause", []any{idA, "app A misbehaves"}, nil)
	st := l1.statusPaused()
	assert.Assert(t, st.Paused == nil)
	assert.Equal(t, len(st.PausedRunes), 1)
	assert.Equal(t, st.PausedRunes[0].RuneID, idA)

	noHTLC(t, l1, l2, func() {
		e, _ := a.pay(l3.invoice("1000sat"))
		assert.Assert(t, e != nil && e.Code == codeCommando, "%v", e)
		assert.Assert(t, is.Contains(e.Message, "Invalid rune: pay-up-to:"), "%v", e)
		assert.Assert(t, is.Contains(e.Message, "paused"), "%v", e)
	})
	e, r := b.pay(l3.invoice("1000sat"))
	completed(t, l1, l3, e, r)
	e, r = l1.pay(l3.invoice("1000sat"))
	completed(t, l1, l3, e, r)
	// Another app cannot lift A's pause.
	assert.Assert(t, b.call("pay-up-to-resume", []any{idA}, nil) != nil)
	l1.must("pay-up-to-resume", []any{idA}, nil)
	time.Sleep(100 * time.Millisecond)
	e, r = a.pay(l3.invoice("1000sat"))
	completed(t, l1, l3, e, r)
	l1.checkAlive()
}

// TestTrustedNodes: with l3's id in trusted-destinations, 0.005btc (five
// times the limit) to l3 through l2 completes and the budget moves by its
// routing fees only; the same to l2 is refused; an app's allowance still
// holds toward l3.
func TestTrustedNodes(t *testing.T) {
	l1, l2, l3 := newLine(t, nil, "plugin="+plugin, "limit=0.001btc", "budget=0.003btc/1d")
	waitRead(t, l1)
	if l1.has("setconfig") {
		l1.must("setconfig", []any{"trusted-destinations", l3.ID}, nil)
	} else {
		l1.startGuard(map[string]any{"limit": "0.001btc", "budget": "0.003btc/1d", "trusted-destinations": l3.ID})
	}
	cmds := []string{"pay", "keysend"}
	if l1.has("xpay") {
		cmds = append(cmds, "xpay")
	}
	for _, cmd := range cmds {
		before := l1.status().Budgets[0].SpentMsat
		var r payResult
		var e *rpcError
		if cmd == "keysend" {
			e = l1.call(cmd, []any{l3.ID, 500_000_000}, &r)
		} else {
			e = l1.call(cmd, []any{l3.invoice("0.005btc")}, &r)
		}
		completed(t, l1, l3, e, r)
		l1.settled()
		sent := l1.sentFor(r.hash(t))
		assert.Assert(t, sent > 500_000_000, "%s: l2 takes a fee", cmd)
		st := l1.status().Budgets[0]
		assert.Equal(t, st.SpentMsat-before, sent-500_000_000, "%s: only the routing fees count", cmd)
		assert.Equal(t, st.ReservedMsat, int64(0))
	}
	noHTLC(t, l1, l2, func() {
		refusal(t, l1.call("pay", []any{l2.invoice("0.005btc")}, nil), map[string]any{"maximum_is": "0.001btc"})
	})
	noHTLC(t, l1, l2, func() {
		refusal(t, l1.call("keysend", []any{l2.ID, 500_000_000}, nil), map[string]any{"maximum_is": "0.001btc"})
	})
	// What counted survives a restart of the plugin.
	spent := l1.status().Budgets[0].SpentMsat
	l1.startGuard(map[string]any{"limit": "0.001btc", "budget": "0.003btc/1d", "trusted-destinations": l3.ID})
	assert.Equal(t, l1.status().Budgets[0].SpentMsat, spent)

	if !l1.has("checkrune") {
		t.Log("lightningd " + version + " has no checkrune (CLN v23.08+): the app's part skipped")
		return
	}
	rune, id := l1.newRune(nil)
	l1.must("pay-up-to-setallowance", []any{id, "10000sat"}, nil)
	a := app{l1, l2, rune, "pay"}
	noHTLC(t, l1, l2, func() {
		e, _ := a.pay(l3.invoice("20000sat"))
		runeRefusal(t, e, id, "limit")
	})
	e, r := a.pay(l3.invoice("10000sat"))
	completed(t, l1, l3, e, r)
	l1.checkAlive()
}
