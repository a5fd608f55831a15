package hooks

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// lowLevel lists the calls that offer an HTLC.
var lowLevel = map[string]bool{"sendpay": true, "sendonion": true, "injectpaymentonion": true}

// readSend prices a low-level send by what it takes from our channel:
// sendpay's first hop, sendonion's first_hop, injectpaymentonion's
// amount_msat (which lightningd v26.06+ no longer checks against the onion).
func (g *Guard) readSend(method, id string, params jsonrpc.Value) (ledger.Send, error) {
	s := ledger.Send{ID: id, Key: ledger.PartKey{GroupID: ledger.NoGroup}}
	if id != "" {
		s.Rune = g.claims.take(method, params)
	}
	a, err := args(params, g.order(method))
	if err != nil {
		return s, fmt.Errorf("cannot read the parameters")
	}
	one := func(name string) (jsonrpc.Value, error) {
		vs := a[name]
		if len(vs) > 1 {
			return nil, fmt.Errorf("%s is given twice", name)
		}
		if len(vs) == 0 {
			return nil, nil
		}
		return vs[0], nil
	}
	h, err := one("payment_hash")
	if err != nil || h == nil {
		return s, fmt.Errorf("no payment_hash")
	}
	hx, err := h.String()
	var ok bool
	if s.Key.Hash, ok = ledger.ParseHash(hx); err != nil || !ok {
		return s, fmt.Errorf("payment_hash is not 32 bytes of hex")
	}
	for name, dst := range map[string]*uint64{"partid": &s.Key.PartID, "groupid": &s.Key.GroupID} {
		v, err := one(name)
		if err != nil {
			return s, err
		}
		if v != nil {
			if *dst, err = strconv.ParseUint(strings.Trim(string(v), " \t\r\n\""), 10, 64); err != nil {
				return s, fmt.Errorf("%s is not a number", name)
			}
		}
	}
	switch method {
	case "sendpay":
		r, err := one("route")
		if err != nil || r == nil {
			return s, fmt.Errorf("no route")
		}
		return g.readRoute(s, r)
	case "sendonion":
		fh, err := one("first_hop")
		if err != nil || fh == nil {
			return s, fmt.Errorf("no first_hop")
		}
		s.Sent, err = hopAmount(fh)
		return s, err
	default: // injectpaymentonion
		v, err := one("amount_msat")
		if err != nil || v == nil {
			return s, fmt.Errorf("no amount_msat")
		}
		if s.Sent, err = msat(v); err != nil {
			return s, fmt.Errorf("amount_msat: %v", err)
		}
		s.Unpriced = !g.onionPriced.Load()
		return s, nil
	}
}

// readRoute prices sendpay: what the first hop receives leaves our
// channel. A route whose last hop is our own node is a payment to
// ourselves (a rebalance): only its fees are spent.
func (g *Guard) readRoute(s ledger.Send, route jsonrpc.Value) (ledger.Send, error) {
	var hops []jsonrpc.Value
	if err := route.Elements(func(v jsonrpc.Value) bool { hops = append(hops, v); return true }); err != nil || route.Kind() != '[' {
		return s, fmt.Errorf("route is not an array")
	}
	if len(hops) == 0 {
		s.Self, s.Trusted = true, true // paying our own invoice: no HTLC
		return s, nil
	}
	var err error
	if s.Sent, err = hopAmount(hops[0]); err != nil {
		return s, err
	}
	last := hops[len(hops)-1]
	if idv, ok := last.Member("id"); ok {
		if id, _ := idv.String(); id != "" && id == g.ledger.NodeID() {
			s.Self = true
			if s.Delivered, err = hopAmount(last); err != nil {
				return s, err
			}
		}
	}
	return s, nil
}

// hopAmount reads a route hop's amount: amount_msat, amount_out_msat
// (v26.06+) or the old msatoshi; the largest if several are given.
func hopAmount(hop jsonrpc.Value) (amount.MSat, error) {
	if hop.Kind() != '{' {
		return 0, fmt.Errorf("a route hop is not an object")
	}
	var m amount.MSat
	found := false
	var bad error
	hop.Members(func(k string, v jsonrpc.Value) bool {
		if k != "amount_msat" && k != "amount_out_msat" && k != "msatoshi" {
			return true
		}
		a, err := msat(v)
		if err != nil {
			bad = fmt.Errorf("%s: %v", k, err)
			return false
		}
		m, found = max(m, a), true
		return true
	})
	if bad != nil {
		return 0, bad
	}
	if !found {
		return 0, fmt.Errorf("a route hop has no amount_msat")
	}
	return m, nil
}
