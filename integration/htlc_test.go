package integration

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/payupto/pay-up-to/integration/lnnet"
)

// rawCall sends one request with the given id, as any local client may.
func (n *node) rawCall(id, method string, params any, result any) *rpcError {
	n.t.Helper()
	conn, err := net.Dial("unix", n.RPCPath())
	assert.NilError(n.t, err)
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(120 * time.Second))
	req, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	_, err = conn.Write(req)
	assert.NilError(n.t, err)
	var resp struct {
		Result json.RawMessage `json:"result"`
		Error  *rpcError       `json:"error"`
	}
	assert.NilError(n.t, json.NewDecoder(bufio.NewReader(conn)).Decode(&resp))
	if resp.Error == nil && result != nil {
		assert.NilError(n.t, json.Unmarshal(resp.Result, result))
	}
	return resp.Error
}

// route is getroute's route from n to dest delivering msat.
func (n *node) route(dest *node, msat int64) []map[string]any {
	n.t.Helper()
	var r struct{ Route []map[string]any }
	n.must("getroute", map[string]any{"id": dest.ID, "amount_msat": msat, "riskfactor": 1}, &r)
	assert.Assert(n.t, len(r.Route) > 0)
	return r.Route
}

// decoded is what a raw sender needs of an invoice.
type decoded struct {
	PaymentHash   string `json:"payment_hash"`
	PaymentSecret string `json:"payment_secret"`
}

func (n *node) decode(inv string) decoded {
	n.t.Helper()
	var d decoded
	n.must("decode", []any{inv}, &d)
	if d.PaymentHash == "" { // v23.02 has no decode of bolt11 here
		n.must("decodepay", []any{inv}, &d)
	}
	return d
}

// sentFor sums amount_sent_msat over a payment's pending and complete
// HTLCs.
func (n *node) sentFor(hash string) int64 {
	n.t.Helper()
	var r struct {
		Payments []struct {
			Status     string          `json:"status"`
			AmountSent json.RawMessage `json:"amount_sent_msat"`
		}
	}
	n.must("listsendpays", map[string]any{"payment_hash": hash}, &r)
	total := int64(0)
	for _, p := range r.Payments {
		if p.Status != "failed" {
			m, err := lnnet.Msat(p.AmountSent)
			assert.NilError(n.t, err)
			total += m
		}
	}
	return total
}

// TestRawSends: sendpay is held to the limit, all parts of a payment
// together, whatever id the caller claims, and to the budget; within them
// it completes and is counted.
func TestRawSends(t *testing.T) {
	l1, l2, l3 := newLine(t, nil)
	l1.startGuard(map[string]any{"limit": "0.001btc", "budget": "0.004btc/1h"})

	t.Run("over the limit", func(t *testing.T) {
		inv := l3.decode(l3.invoice("0.002btc"))
		for _, id := range []string{
			"test:sendpay#1",
			"cli:pay#7/cln:xpay-as-pay#8/cln-xpay:injectpaymentonion#9", // copied from xpay's parts
			"pay:sendonion#10", // an unchained payer plugin's
		} {
			noHTLC(t, l1, l2, func() {
				e := l1.rawCall(id, "sendpay", map[string]any{"route": l1.route(l3, 200_000_000), "payment_hash": inv.PaymentHash, "payment_secret": inv.PaymentSecret}, nil)
				refusal(t, e, map[string]any{"maximum_is": "0.001btc", "payment_hash": inv.PaymentHash})
			})
		}
	})

	t.Run("within the limit completes and counts", func(t *testing.T) {
		inv := l3.decode(l3.invoice("10000sat"))
		before := l1.status().Budgets[0].SpentMsat
		l1.must("sendpay", map[string]any{"route": l1.route(l3, 10_000_000), "payment_hash": inv.PaymentHash, "payment_secret": inv.PaymentSecret}, nil)
		var r struct{ Status string }
		l1.must("waitsendpay", map[string]any{"payment_hash": inv.PaymentHash, "timeout": 60}, &r)
		assert.Equal(t, r.Status, "complete")
		sent := l1.sentFor(inv.PaymentHash)
		assert.Assert(t, sent > 10_000_000)
		assert.Equal(t, l1.status().Budgets[0].SpentMsat-before, sent)
	})

	t.Run("over the budget", func(t *testing.T) {
		// 10,000 sat are out already: 0.0009btc more is over 20,000 sat.
		big := l3.decode(l3.invoice("0.0009btc"))
		l1.startGuard(map[string]any{"limit": "0.001btc", "budget": "20000sat/1h"})
		noHTLC(t, l1, l2, func() {
			e := l1.call("sendpay", map[string]any{"route": l1.route(l3, 90_000_000), "payment_hash": big.PaymentHash, "payment_secret": big.PaymentSecret}, nil)
			data := overBudget(t, e, "20000sat/1h")
			assert.Equal(t, data["payment_hash"], big.PaymentHash)
		})
		l1.startGuard(map[string]any{"limit": "0.001btc", "budget": "0.004btc/1h"})
	})

	t.Run("parts together never exceed the limit", func(t *testing.T) {
		// 0.0015btc in two parts of 0.00075btc: each under the limit.
		inv := l3.decode(l3.invoice("0.0015btc"))
		part := func(partid int) *rpcError {
			return l1.call("sendpay", map[string]any{"route": l1.route(l3, 75_000_000), "payment_hash": inv.PaymentHash,
				"payment_secret": inv.PaymentSecret, "amount_msat": 150_000_000, "partid": partid, "groupid": 1}, nil)
		}
		e1 := part(1)
		assert.Assert(t, e1 == nil, "%v", e1)
		e := part(2)
		assert.Assert(t, e != nil, "the second part went out")
		assert.Equal(t, e.Code, int64(codeOverLimit), "%v", e)
		assert.Assert(t, is.Contains(string(e.Data), `"out_msat"`))
		assert.Assert(t, l1.sentFor(inv.PaymentHash) <= 100_000_000, "more than the limit is out")
	})
	l1.checkAlive()
}

// cycle opens l3→l1 on a line, so that l1 can pay itself around
// l1→l2→l3→l1, and returns the route for a payment delivering amt to l1.
func cycle(t *testing.T, l1, l2, l3 *node) func(amt int64) []map[string]any {
	nw := getNetwork(t)
	assert.NilError(t, nw.Fund(channelSat*2, l3.Node))
	assert.NilError(t, nw.OpenChannel(l3.Node, l1.Node, channelSat))
	assert.NilError(t, nw.Mine(6))
	assert.NilError(t, nw.WaitRoutable([]*lnnet.Node{l1.Node, l2.Node, l3.Node}, 2*time.Minute))
	return func(amt int64) []map[string]any {
		var back struct {
			Route []map[string]any
		}
		l3.must("getroute", map[string]any{"id": l1.ID, "amount_msat": amt, "riskfactor": 1}, &back)
		assert.Equal(t, len(back.Route), 1)
		scid := back.Route[0]["channel"].(string)
		var ch struct {
			Channels []struct {
				Source string `json:"source"`
				Base   int64  `json:"base_fee_millisatoshi"`
				PPM    int64  `json:"fee_per_millionth"`
				Delay  int64  `json:"delay"`
			}
		}
		l1.must("listchannels", map[string]any{"short_channel_id": scid}, &ch)
		var base, ppm, delay int64
		for _, c := range ch.Channels {
			if c.Source == l3.ID {
				base, ppm, delay = c.Base, c.PPM, c.Delay
			}
		}
		var front struct {
			Route []map[string]any
		}
		l1.must("getroute", map[string]any{"id": l3.ID, "amount_msat": amt + base + amt*ppm/1_000_000, "riskfactor": 1,
			"cltv": int64(back.Route[0]["delay"].(float64)) + delay, "exclude": []string{scid + "/0", scid + "/1"}}, &front)
		assert.Equal(t, len(front.Route), 2, "%v", front.Route)
		return append(front.Route, back.Route...)
	}
}

// spentNow is the first window's spent figure once it has settled at
// want (the sendpay and invoice notifications arrive a little after the
// payment's answer), or after 10 s.
func (n *node) spentNow(want int64) int64 {
	n.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for n.status().Budgets[0].SpentMsat != want && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	return n.status().Budgets[0].SpentMsat
}

// TestPaymentsToOurselves: a payment around a cycle back to l1 is exempt
// from the limit only when lightningd chose its invoice's preimage, and
// counts in full until l1's invoice received it. A hop that knows the
// preimage (l2, running a plugin that claims HTLCs) takes what it can.
func TestPaymentsToOurselves(t *testing.T) {
	l1, l2, l3 := newLine(t, nil)
	if !l1.has("wait") {
		t.Skip("lightningd " + version + " has no invoice index (wait, created_index: v23.08+): a payment to ourselves is held to the limit there")
	}
	routeBack := cycle(t, l1, l2, l3)
	l1.startGuard(map[string]any{"limit": "0.001btc", "budget": "0.01btc/1h"})
	claims := filepath.Join(t.TempDir(), "claims")
	assert.NilError(t, os.WriteFile(claims, nil, 0o600))
	l2.must("plugin", map[string]any{"subcommand": "start", "plugin": claimer, "claim-file": claims}, nil)

	// knownInvoice makes an invoice on l1 with a preimage of the caller's,
	// and tells l2 that preimage.
	knownInvoice := func(amount string) (decoded, string) {
		pre := make([]byte, 32)
		rand.Read(pre)
		var r struct{ Bolt11 string }
		l1.must("invoice", map[string]any{"amount_msat": amount, "label": fmt.Sprintf("k%d", labels.Add(1)), "description": "known", "preimage": hex.EncodeToString(pre)}, &r)
		f, err := os.OpenFile(claims, os.O_APPEND|os.O_WRONLY, 0)
		assert.NilError(t, err)
		fmt.Fprintln(f, hex.EncodeToString(pre))
		f.Close()
		return l1.decode(r.Bolt11), r.Bolt11
	}
	send := func(inv decoded, amt int64) *rpcError {
		return l1.call("sendpay", map[string]any{"route": routeBack(amt), "payment_hash": inv.PaymentHash, "payment_secret": inv.PaymentSecret, "amount_msat": amt}, nil)
	}
	wait := func(inv decoded) {
		var r struct{ Status string }
		l1.must("waitsendpay", map[string]any{"payment_hash": inv.PaymentHash, "timeout": 60}, &r)
		assert.Equal(t, r.Status, "complete")
	}

	t.Run("a preimage the client chose, above the limit", func(t *testing.T) {
		inv, _ := knownInvoice("0.002btc")
		noHTLC(t, l1, l2, func() {
			e := send(inv, 200_000_000)
			refusal(t, e, map[string]any{"maximum_is": "0.001btc", "payment_hash": inv.PaymentHash})
			assert.Assert(t, is.Contains(e.Message, "a caller chose its preimage"), "%v", e)
		})
	})

	var claimed decoded
	var claimedSent int64
	t.Run("a preimage the client chose, below the limit, claimed by a hop", func(t *testing.T) {
		inv, _ := knownInvoice("0.0005btc")
		before := l1.status().Budgets[0].SpentMsat
		l1.settled()
		bal := l1.balance(l2)
		assert.Assert(t, send(inv, 50_000_000) == nil)
		wait(inv)
		assert.Equal(t, l1.invoiceStatus(inv.PaymentHash), "unpaid", "l2 claimed it; l1's invoice never received it")
		claimedSent = l1.sentFor(inv.PaymentHash)
		l1.settled()
		lost := bal - l1.balance(l2)
		assert.Assert(t, lost >= 50_000_000, "l1 lost only %d msat to l2", lost)
		assert.Equal(t, l1.spentNow(before+claimedSent)-before, claimedSent, "counted in full")
		claimed = inv
	})

	var fees int64
	t.Run("a rebalance above the limit with lightningd's preimage", func(t *testing.T) {
		const amt = 200_000_000 // twice the limit
		inv := l1.decode(l1.invoice("0.002btc"))
		before := l1.status().Budgets[0].SpentMsat
		e := send(inv, amt)
		assert.Assert(t, e == nil, "the rebalance was refused: %v", e)
		wait(inv)
		assert.Equal(t, l1.invoiceStatus(inv.PaymentHash), "paid")
		fees = l1.sentFor(inv.PaymentHash) - amt
		assert.Assert(t, fees > 0)
		assert.Equal(t, l1.spentNow(before+fees)-before, fees, "a rebalance counts only its fees, once back")
	})

	t.Run("a hop that names us but goes to l2", func(t *testing.T) {
		// v26.06 reads node_id_out before id (either(), lightningd/pay.c);
		// older versions refuse node_id_out. It is no send to ourselves.
		inv := l1.decode(l1.invoice("0.002btc"))
		hop := l1.route(l2, 200_000_000)[0]
		hop["node_id_out"], hop["id"] = l2.ID, l1.ID
		noHTLC(t, l1, l2, func() {
			e := l1.call("sendpay", map[string]any{"route": []any{hop}, "payment_hash": inv.PaymentHash, "payment_secret": inv.PaymentSecret}, nil)
			assert.Assert(t, e != nil && e.Code == codeOverLimit, "%v", e)
		})
	})

	t.Run("a paid invoice's hash is not trusted again", func(t *testing.T) {
		// Its preimage is in listinvoices now.
		inv := l1.decode(l1.invoice("0.0015btc"))
		assert.Assert(t, send(inv, 150_000_000) == nil)
		wait(inv)
		noHTLC(t, l1, l2, func() {
			e := l1.call("sendpay", map[string]any{"route": routeBack(150_000_000), "payment_hash": inv.PaymentHash, "payment_secret": inv.PaymentSecret, "amount_msat": 150_000_000, "groupid": 9}, nil)
			assert.Assert(t, e != nil && e.Code == codeOverLimit, "%v", e)
		})
	})

	t.Run("restart and delpay keep it", func(t *testing.T) {
		want := l1.status().Budgets[0].SpentMsat
		l1.startGuard(map[string]any{"limit": "0.001btc", "budget": "0.01btc/1h"})
		assert.Equal(t, l1.status().Budgets[0].SpentMsat, want)
		l1.must("delpay", map[string]any{"payment_hash": claimed.PaymentHash, "status": "complete"}, nil)
		l1.startGuard(map[string]any{"limit": "0.001btc", "budget": "0.01btc/1h"})
		assert.Equal(t, l1.status().Budgets[0].SpentMsat, want, "the claimed payment still counts in full")
	})
	_ = claimedSent
	l1.checkAlive()
}
