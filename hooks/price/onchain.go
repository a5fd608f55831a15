package price

import (
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// How each on-chain command is priced (its positional orders are in
// orders.go). The wallet commands of the txprepare plugin and the opens
// of the spender plugin build their transactions with signpsbt and
// sendpsbt through lightningd's RPC (plugins/txprepare.c,
// plugins/spender/multifundchannel.c at v26.06.6), and spliceout with
// splice_signed (plugins/spender/splice.c), so those calls pass the hook
// too: they are the gates no wallet transaction escapes, and are priced
// from the PSBT itself. A close is signed inside lightningd (closingd),
// so it is priced at the command.
var onchain = map[string]func(Args) (OnChain, error){
	"withdraw":          withdraw,
	"multiwithdraw":     outputs,
	"txprepare":         outputs,
	"signpsbt":          psbt("psbt"),
	"sendpsbt":          psbt("psbt"),
	"splice_signed":     psbt("psbt"),
	"close":             closeTo,
	"fundchannel":       open,
	"fundchannel_start": open,
	"openchannel_init":  open,
	"multifundchannel":  multifund,
	"spliceout":         spliceout,
}

// IsOnChain reports whether method may send on-chain (OnChainSpend prices
// it).
func IsOnChain(method string) bool {
	_, ok := onchain[method]
	return ok
}

// Gate reports whether method broadcasts or signs a wallet transaction
// given as a PSBT: what it spends is known exactly, and where pay-up-to
// counts it.
func Gate(method string) bool {
	return method == "signpsbt" || method == "sendpsbt" || method == "splice_signed"
}

// Output is one place an on-chain command sends to.
type Output struct {
	// Address is as the command gave it; Script the scriptPubKey it pays
	// (from the address, or the PSBT's output).
	Address string
	Script  []byte
	// Sat is the amount in sat; All: "all" the wallet holds, known only
	// once the transaction is built.
	Sat uint64
	All bool
	// Index is the output's place in the PSBT's transaction.
	Index int
}

// Where is how refusals name the output on network: its address, or
// its script in hex.
func (o Output) Where(network string) string {
	if o.Address != "" {
		return o.Address
	}
	if a := amount.ScriptAddress(o.Script, network); a != "" {
		return a
	}
	return "script " + hex.EncodeToString(o.Script)
}

// OnChain is what an on-chain command asks to send. Which of Outputs are
// the node's own (its wallet, its channels) or trusted is for the caller
// to find out: only lightningd knows its wallet.
type OnChain struct {
	Outputs []Output
	// PSBT is the transaction of a gate (signpsbt, sendpsbt,
	// splice_signed); TxID its txid and Fee its mining fee in sat when
	// every input's amount is known (FeeKnown).
	PSBT     *amount.PSBT
	TxID     string
	Fee      uint64
	FeeKnown bool
	// Channel names the channel or peer a close empties into Outputs[0]
	// (its balance comes from lightningd).
	Channel string
	// Peer is what an open gives its peer outright, in msat: push_msat,
	// and the lease fee of a liquidity ad (Lease: a fee rate that
	// depends on the funding feerate is not in it).
	Peer amount.MSat
	// Committed are opens with close_to: Sat is the channel's amount,
	// which every close of it pays to Address.
	Committed []Output
	// Check: priced here to refuse early; what it spends is counted at
	// its gate (sendpsbt) or by the call it makes (fundchannel_start,
	// openchannel_init).
	Check bool
}

// Upper is the most o may send away without asking lightningd which
// outputs are the wallet's: every output not trusted, its peer's share,
// and with the fee, in msat, and where it goes (on network). An output of
// "all" is left out: its amount is known once the transaction is built.
// ok is false for a close (its balance is lightningd's to tell) and on
// overflow.
func (o OnChain) Upper(trusted func(script []byte) bool, network string) (amt, total amount.MSat, dests []string, ok bool) {
	for _, out := range append(o.Outputs, o.Committed...) {
		if trusted(out.Script) || out.All {
			continue
		}
		m := amount.MSat(out.Sat) * 1000
		if out.Sat > 21e14 || amt+m < amt {
			return 0, 0, nil, false
		}
		amt += m
		dests = append(dests, out.Where(network))
	}
	if o.Channel != "" || amt+o.Peer < amt {
		return 0, 0, nil, false
	}
	amt += o.Peer
	total = amt
	if o.FeeKnown && total+amount.MSat(o.Fee)*1000 >= total && o.Fee <= 21e14 {
		total += amount.MSat(o.Fee) * 1000
	}
	return amt, total, dests, true
}

// OnChainSpend prices an on-chain command (IsOnChain) on lightningd v.
func OnChainSpend(method string, params jsonrpc.Value, v Version) (OnChain, error) {
	a, err := Read(method, params, v)
	if err != nil {
		return OnChain{}, fail(err.Error(), "", "")
	}
	o, err := onchain[method](a)
	if err != nil {
		return OnChain{}, err
	}
	switch method {
	case "withdraw", "multiwithdraw", "txprepare", "fundchannel", "multifundchannel", "spliceout":
		o.Check = true
	}
	return o, nil
}

func withdraw(a Args) (OnChain, error) {
	d := a["destination"]
	if d == nil {
		return OnChain{}, nil // required: lightningd refuses
	}
	s := a["satoshi"]
	if s == nil {
		return OnChain{}, nil
	}
	out, err := output(Text(d), s)
	return OnChain{Outputs: []Output{out}}, err
}

// outputs reads multiwithdraw's and txprepare's outputs: an array of
// {address: amount} objects (param_outputs, plugins/txprepare.c).
func outputs(a Args) (OnChain, error) {
	v := a["outputs"]
	if v == nil {
		return OnChain{}, nil
	}
	if v.Kind() != '[' {
		return OnChain{}, fail("outputs is not an array", "", "")
	}
	var o OnChain
	var bad error
	err := v.Elements(func(e jsonrpc.Value) bool {
		if e.Kind() != '{' {
			bad = fail("an output is not an {address: amount} object", "", "")
			return false
		}
		e.Members(func(addr string, amt jsonrpc.Value) bool {
			out, err := output(addr, amt)
			if err != nil {
				bad = err
				return false
			}
			o.Outputs = append(o.Outputs, out)
			return true
		})
		return bad == nil
	})
	if bad != nil {
		return OnChain{}, bad
	}
	if err != nil {
		return OnChain{}, fail("cannot read the outputs", "", "")
	}
	return o, nil
}

// output reads an address and an amount in sat as param_sat_or_all
// reads it: a number of sat, an amount with a unit (whole sat), or
// "all".
func output(addr string, amt jsonrpc.Value) (Output, error) {
	addr = strings.TrimSpace(addr)
	script, _, err := amount.AddressScript(addr)
	if err != nil {
		return Output{}, fail(fmt.Sprintf("cannot read the address %q: %v", addr, err), "destination", addr)
	}
	out := Output{Address: addr, Script: script}
	t := strings.TrimSpace(Text(amt))
	if t == "all" {
		out.All = true
		return out, nil
	}
	if out.Sat, err = sat(t); err != nil {
		return Output{}, fail(fmt.Sprintf("cannot read the amount for %s: %v", addr, err), "destination", addr)
	}
	return out, nil
}

// sat reads an amount of whole sat: a bare number is sat (param_sat),
// else CLN's amount syntax.
func sat(t string) (uint64, error) {
	if n, err := strconv.ParseUint(t, 10, 64); err == nil {
		if n > math.MaxUint64/1000 {
			return 0, fmt.Errorf("%q is too large", t)
		}
		return n, nil
	}
	m, err := amount.ParseMSat(t)
	if err != nil {
		return 0, err
	}
	if m%1000 != 0 {
		return 0, fmt.Errorf("%q is not a whole number of sat", t)
	}
	return uint64(m) / 1000, nil
}

// psbt prices a gate from its PSBT (BIP174 v0 or BIP370 v2, as
// setpsbtversion makes either).
func psbt(name string) func(Args) (OnChain, error) {
	return func(a Args) (OnChain, error) {
		v := a[name]
		if v == nil {
			return OnChain{}, nil
		}
		s, err := v.String()
		if err != nil {
			return OnChain{}, fail("the psbt is not a string", "", "")
		}
		p, err := amount.DecodePSBT(s)
		if err != nil {
			return OnChain{}, fail(fmt.Sprintf("cannot read the PSBT: %v", err), "", "")
		}
		o := OnChain{PSBT: p, TxID: p.TxID()}
		o.Fee, o.FeeKnown = p.Fee()
		for i, out := range p.Outputs {
			o.Outputs = append(o.Outputs, Output{Script: out.Script, Sat: out.Value, Index: i})
		}
		return o, nil
	}
}

// closeTo prices close: with a destination, our balance in the channel
// leaves to it.
func closeTo(a Args) (OnChain, error) {
	d := a["destination"]
	if d == nil {
		return OnChain{}, nil // to our wallet
	}
	id := a["id"]
	if id == nil {
		return OnChain{}, nil
	}
	addr := strings.TrimSpace(Text(d))
	script, _, err := amount.AddressScript(addr)
	if err != nil {
		return OnChain{}, fail(fmt.Sprintf("cannot read the address %q: %v", addr, err), "destination", addr)
	}
	return OnChain{Channel: strings.TrimSpace(Text(id)), Outputs: []Output{{Address: addr, Script: script, All: true}}}, nil
}

// open prices fundchannel, fundchannel_start and openchannel_init: what
// the peer is given, and a channel committed to a close_to address.
func open(a Args) (OnChain, error) {
	var o OnChain
	var err error
	if o.Peer, err = given(a); err != nil {
		return OnChain{}, err
	}
	ct := a["close_to"]
	if ct == nil {
		return o, nil
	}
	amt := a["amount"]
	if amt == nil {
		return OnChain{}, nil
	}
	out, err := output(Text(ct), amt)
	if err != nil {
		return OnChain{}, err
	}
	o.Committed = append(o.Committed, out)
	return o, nil
}

// given is what an open gives the peer: push_msat, and a lease's fee.
func given(a Args) (amount.MSat, error) {
	var m amount.MSat
	if p := a["push_msat"]; p != nil {
		var err error
		if m, err = MSat(p); err != nil {
			return 0, fail(fmt.Sprintf("cannot read push_msat: %v", err), "", "")
		}
	}
	fee, err := leaseFee(a)
	if err != nil {
		return 0, err
	}
	if m+fee < m {
		return 0, fail("push_msat and the lease fee overflow", "", "")
	}
	return m + fee, nil
}

// leaseFee is the fee of a liquidity ad for request_amt at compact_lease
// (common/lease_rates.c lease_rates_get_fee): lease_fee_base_sat plus
// request_amt × lease_fee_basis / 10,000, in msat. The share for the
// peer's funding weight depends on the funding feerate lightningd picks,
// and is paid as part of the open's on-chain fee.
func leaseFee(a Args) (amount.MSat, error) {
	ra := a["request_amt"]
	if ra == nil {
		return 0, nil
	}
	req, err := sat(strings.TrimSpace(Text(ra)))
	if err != nil {
		return 0, fail(fmt.Sprintf("cannot read request_amt: %v", err), "", "")
	}
	cl := a["compact_lease"]
	if cl == nil || req == 0 {
		return 0, nil // lightningd refuses a request without rates
	}
	b, err := hex.DecodeString(strings.TrimSpace(Text(cl)))
	// funding_weight u16, lease_fee_basis u16, channel_fee_max_proportional_thousandths
	// u16, lease_fee_base_sat u32, channel_fee_max_base_msat tu32 (lease_rates.c).
	if err != nil || len(b) < 10 || len(b) > 14 {
		return 0, fail("cannot read compact_lease", "", "")
	}
	basis := uint64(b[2])<<8 | uint64(b[3])
	base := uint64(b[6])<<24 | uint64(b[7])<<16 | uint64(b[8])<<8 | uint64(b[9])
	if req > math.MaxUint64/10_000/1000 {
		return 0, fail("request_amt is too large", "", "")
	}
	return amount.MSat((base + req*basis/10_000) * 1000), nil
}

// multifund prices multifundchannel's destinations.
func multifund(a Args) (OnChain, error) {
	v := a["destinations"]
	if v == nil {
		return OnChain{}, nil
	}
	if v.Kind() != '[' {
		return OnChain{}, fail("destinations is not an array", "", "")
	}
	var o OnChain
	var bad error
	v.Elements(func(d jsonrpc.Value) bool {
		if d.Kind() != '{' {
			bad = fail("a destination is not an object", "", "")
			return false
		}
		da, err := ReadArgs(d, nil)
		if err != nil {
			bad = fail("in a destination, "+err.Error(), "", "")
			return false
		}
		x, err := open(da)
		if err != nil {
			bad = err
			return false
		}
		if o.Peer+x.Peer < o.Peer {
			bad = fail("the amounts overflow", "", "")
			return false
		}
		o.Peer += x.Peer
		o.Committed = append(o.Committed, x.Committed...)
		return true
	})
	return o, bad
}

// spliceout prices spliceout: amount leaves the channel to destination
// (our wallet when absent).
func spliceout(a Args) (OnChain, error) {
	d := a["destination"]
	if d == nil {
		return OnChain{}, nil
	}
	amt := a["amount"]
	if amt == nil {
		return OnChain{}, nil
	}
	addr := strings.TrimSpace(Text(d))
	if addr == "wallet" {
		return OnChain{}, nil
	}
	out, err := output(addr, amt)
	if err != nil {
		return OnChain{}, err
	}
	return OnChain{Outputs: []Output{out}}, nil
}
