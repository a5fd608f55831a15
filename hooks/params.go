package hooks

import (
	"strconv"
	"strings"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// order is the positional parameters of a command, from a lightningd
// version on (major*100+minor: 2411 is v24.11).
type order struct {
	from  int
	names []string
}

// orders lists, newest first, the positional parameters of every command
// the hook reads, as lightningd's param() lists them (dev-only parameters
// take a slot too): plugins/pay.c, plugins/keysend.c, plugins/xpay/xpay.c,
// plugins/renepay/main.c, lightningd/pay.c, lightningd/invoice.c and
// lightningd/runes.c,
// v23.02–v26.06. Only keysend's differ where the guard reads them.
var orders = map[string][]order{
	"pay":        {{0, []string{"bolt11", "amount_msat", "label", "riskfactor", "maxfeepercent", "retry_for", "maxdelay", "exemptfee", "localinvreqid", "exclude", "maxfee", "description", "partial_msat"}}},
	"xpay":       {{0, []string{"invstring", "amount_msat", "maxfee", "layers", "retry_for", "partial_msat", "maxdelay", "payer_note", "label", "localinvreqid"}}},
	"renepay":    {{0, []string{"invstring", "amount_msat", "maxfee", "maxdelay", "retry_for", "description", "label", "exclude"}}},
	"sendamount": {{0, []string{"invstring", "amount_msat", "maxfee", "layers", "retry_for", "maxdelay", "payer_note", "label"}}},
	"keysend": {
		{2411, []string{"destination", "amount_msat", "label", "maxfeepercent", "retry_for", "maxdelay", "exemptfee", "extratlvs", "routehints", "maxfee", "dev_use_shadow"}},
		{2311, []string{"destination", "amount_msat", "label", "maxfeepercent", "retry_for", "maxdelay", "exemptfee", "extratlvs", "routehints", "dev_use_shadow"}},
		{0, []string{"destination", "amount_msat", "label", "maxfeepercent", "retry_for", "maxdelay", "exemptfee", "extratlvs", "routehints"}},
	},
	"xkeysend":           {{0, []string{"destination", "amount_msat", "label", "maxfee", "layers", "retry_for", "maxdelay", "extratlvs"}}},
	"preapproveinvoice":  {{0, []string{"bolt11"}}},
	"preapprovekeysend":  {{0, []string{"destination", "payment_hash", "amount_msat"}}},
	"sendpay":            {{0, []string{"route", "payment_hash", "label", "amount_msat", "bolt11", "payment_secret", "partid", "localinvreqid", "groupid", "payment_metadata", "description"}}},
	"sendonion":          {{0, []string{"onion", "first_hop", "payment_hash", "label", "shared_secrets", "partid", "bolt11", "amount_msat", "destination", "localinvreqid", "groupid", "description", "total_amount_msat"}}},
	"injectpaymentonion": {{0, []string{"onion", "payment_hash", "amount_msat", "cltv_expiry", "partid", "groupid", "blinding", "label", "invstring", "localinvreqid", "destination_msat", "destination"}}},
	"invoice":            {{0, []string{"amount_msat", "label", "description", "expiry", "fallbacks", "preimage", "exposeprivatechannels", "cltv", "deschashonly"}}},
	"createinvoice":      {{0, []string{"invstring", "label", "preimage"}}},
	"checkrune":          {{0, []string{"rune", "nodeid", "method", "params"}}}, // lightningd/runes.c, v23.08+
}

// order returns method's positional parameters on the lightningd the
// guard runs on; the newest until its version is known.
func (g *Guard) order(method string) []string {
	v := int(g.cln.Load())
	for _, o := range orders[method] {
		if v == 0 || v >= o.from {
			return o.names
		}
	}
	return nil
}

// clnVersion reads lightningd's version ("v24.11.2", "v26.06rc1") as
// major*100+minor, or 0.
func clnVersion(version string) int {
	v := strings.TrimPrefix(version, "v")
	major, rest, _ := strings.Cut(v, ".")
	minor, _, _ := strings.Cut(rest, ".")
	if i := strings.IndexFunc(minor, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		minor = minor[:i]
	}
	ma, err1 := strconv.Atoi(major)
	mi, err2 := strconv.Atoi(minor)
	if err1 != nil || err2 != nil || ma < 0 || mi < 0 || mi > 99 {
		return 0
	}
	return ma*100 + mi
}

// args collects named parameters from positional or keyword params. A
// positional null is absent, as lightningd reads it. Every occurrence of
// a duplicated key is kept: lightningd rejects duplicates but xpay's pay
// redirect reads the last one, so the policy checks them all.
func args(params jsonrpc.Value, positional []string) (map[string][]jsonrpc.Value, error) {
	out := map[string][]jsonrpc.Value{}
	var err error
	switch params.Kind() {
	case '[':
		i := 0
		err = params.Elements(func(v jsonrpc.Value) bool {
			if i < len(positional) && !v.IsNull() {
				out[positional[i]] = append(out[positional[i]], v)
			}
			i++
			return true
		})
	case '{':
		err = params.Members(func(k string, v jsonrpc.Value) bool {
			if !v.IsNull() {
				out[k] = append(out[k], v)
			}
			return true
		})
	case 0, 'n':
	default:
		err = jsonrpc.ErrBadJSON
	}
	return out, err
}

func pick(a map[string][]jsonrpc.Value, names []string) []jsonrpc.Value {
	var vs []jsonrpc.Value
	for _, n := range names {
		vs = append(vs, a[n]...)
	}
	return vs
}

// msat reads an amount as param_msat does: a JSON number, or a string in
// CLN's amount syntax.
func msat(v jsonrpc.Value) (amount.MSat, error) {
	return amount.ParseMSat(strings.TrimSpace(text(v)))
}

// text is a value's text as lightningd's parsers see it: a string's
// content, or any other token as written. Numbers may come as strings
// ("60", "5.0"): json_to_number and json_to_millionths read the text of
// either.
func text(v jsonrpc.Value) string {
	if v.Kind() == '"' {
		s, err := v.String()
		if err != nil {
			return string(v)
		}
		return s
	}
	return string(v)
}
