package price

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// lowLevel lists the calls that offer an HTLC.
var lowLevel = map[string]bool{"sendpay": true, "sendonion": true, "injectpaymentonion": true}

// IsSend reports whether method offers an HTLC (Send prices it).
func IsSend(method string) bool { return lowLevel[method] }

// NoGroup is a Send's GroupID when the call gives none: lightningd picks
// one.
const NoGroup = ^uint64(0)

// SendPrice is what one low-level send takes from our channel.
type SendPrice struct {
	Hash            [32]byte
	GroupID, PartID uint64
	// Sent is what leaves our channel, in msat; Delivered what the last
	// hop of a sendpay receives.
	Sent, Delivered amount.MSat
	// LastHop is the node id a sendpay's route ends at; Empty: the route
	// is empty (paying our own invoice: no HTLC).
	LastHop string
	Empty   bool
	// BadLast is why the last hop's amount cannot be read: only a send
	// to ourselves needs it.
	BadLast error
	// Unpriced: Sent is not what the send takes (injectpaymentonion on
	// lightningd v26.06+, which does not check amount_msat against the
	// onion).
	Unpriced bool
}

// Send prices a low-level send (IsSend) by what it takes from our
// channel: sendpay's first hop, sendonion's first_hop,
// injectpaymentonion's amount_msat.
func Send(method string, params jsonrpc.Value, v Version) (SendPrice, error) {
	s := SendPrice{GroupID: NoGroup}
	a, err := Read(method, params, v)
	if err != nil {
		return s, err
	}
	h := a["payment_hash"]
	if h == nil {
		return s, fmt.Errorf("no payment_hash")
	}
	hx, err := h.String()
	var ok bool
	if s.Hash, ok = parseHash(hx); err != nil || !ok {
		return s, fmt.Errorf("payment_hash is not 32 bytes of hex")
	}
	for name, dst := range map[string]*uint64{"partid": &s.PartID, "groupid": &s.GroupID} {
		if v := a[name]; v != nil {
			if *dst, err = strconv.ParseUint(strings.Trim(string(v), " \t\r\n\""), 10, 64); err != nil {
				return s, fmt.Errorf("%s is not a number", name)
			}
		}
	}
	switch method {
	case "sendpay":
		r := a["route"]
		if r == nil {
			return s, fmt.Errorf("no route")
		}
		return route(s, r)
	case "sendonion":
		fh := a["first_hop"]
		if fh == nil {
			return s, fmt.Errorf("no first_hop")
		}
		s.Sent, err = hopAmount(fh, true)
		return s, err
	default: // injectpaymentonion
		x := a["amount_msat"]
		if x == nil {
			return s, fmt.Errorf("no amount_msat")
		}
		if s.Sent, err = MSat(x); err != nil {
			return s, fmt.Errorf("amount_msat: %v", err)
		}
		s.Unpriced = !v.OnionPriced()
		return s, nil
	}
}

// route prices sendpay: what the first hop receives leaves our channel.
func route(s SendPrice, r jsonrpc.Value) (SendPrice, error) {
	var hops []jsonrpc.Value
	if err := r.Elements(func(v jsonrpc.Value) bool { hops = append(hops, v); return true }); err != nil || r.Kind() != '[' {
		return s, fmt.Errorf("route is not an array")
	}
	if len(hops) == 0 {
		s.Empty = true
		return s, nil
	}
	var err error
	if s.Sent, err = hopAmount(hops[0], true); err != nil {
		return s, err
	}
	s.LastHop = lastHop(hops[len(hops)-1])
	if s.LastHop != "" {
		s.Delivered, s.BadLast = hopAmount(hops[len(hops)-1], false)
	}
	return s, nil
}

// hopAmounts names a route hop's amount: amount_out_msat (v26.06+; read
// first, then amount_msat, by either() in lightningd/pay.c) and the old
// msatoshi. A hop may give several, or one twice.
var hopAmounts = []string{"amount_msat", "amount_out_msat", "msatoshi"}

// hopAmount reads a route hop's amount in msat; of several given, the
// largest for what leaves, the smallest for what a send to ourselves
// delivers, so a hop lightningd reads differently across versions is
// never counted low.
func hopAmount(hop jsonrpc.Value, largest bool) (amount.MSat, error) {
	if hop.Kind() != '{' {
		return 0, fmt.Errorf("a route hop is not an object")
	}
	var m amount.MSat
	found := false
	var bad error
	hop.Members(func(k string, v jsonrpc.Value) bool {
		if !slices.Contains(hopAmounts, k) {
			return true
		}
		a, err := MSat(v)
		if err != nil {
			bad = fmt.Errorf("%s: %v", k, err)
			return false
		}
		if found && largest {
			a = max(m, a)
		} else if found {
			a = min(m, a)
		}
		m, found = a, true
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

// lastHop reads the node a route ends at: node_id_out (v26.06+) or id.
// Given several that differ (v26.06 reads the first node_id_out, older
// versions refuse a name twice), it is none: the send is not one to
// ourselves.
func lastHop(hop jsonrpc.Value) string {
	var id string
	same := true
	hop.Members(func(k string, v jsonrpc.Value) bool {
		if k != "id" && k != "node_id_out" {
			return true
		}
		s, _ := v.String()
		if id != "" && s != id || s == "" {
			same = false
			return false
		}
		id = s
		return true
	})
	if !same {
		return ""
	}
	return id
}

// parseHash reads 64 hex digits.
func parseHash(s string) ([32]byte, bool) {
	var h [32]byte
	if len(s) != 64 {
		return h, false
	}
	_, err := hex.Decode(h[:], []byte(s))
	return h, err == nil
}
