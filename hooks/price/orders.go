package price

// order is the positional parameters of a command, from a lightningd
// version on.
type order struct {
	from  Version
	names []string
}

// orders lists, newest first, the positional parameters of every command
// pricing reads, as lightningd's param() lists them (dev-only parameters
// take a slot too), v23.02–v26.06: plugins/pay.c, plugins/keysend.c,
// plugins/xpay/xpay.c, plugins/renepay/main.c, lightningd/pay.c,
// lightningd/invoice.c, lightningd/runes.c, plugins/txprepare.c,
// wallet/walletrpc.c, lightningd/closing_control.c,
// lightningd/opening_control.c, lightningd/dual_open_control.c,
// lightningd/channel_control.c and plugins/spender/*.c. Only keysend's
// differ where pricing reads them.
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
	"checkrune":          {{0, []string{"rune", "nodeid", "method", "params"}}}, // v23.08+

	"withdraw":          {{0, []string{"destination", "satoshi", "feerate", "minconf", "utxos"}}},
	"multiwithdraw":     {{0, []string{"outputs", "feerate", "minconf", "utxos"}}},
	"txprepare":         {{0, []string{"outputs", "feerate", "minconf", "utxos"}}},
	"signpsbt":          {{0, []string{"psbt", "signonly"}}},
	"sendpsbt":          {{0, []string{"psbt", "reserve"}}},
	"close":             {{0, []string{"id", "unilateraltimeout", "destination", "fee_negotiation_step", "wrong_funding", "force_lease_closed", "feerange"}}},
	"fundchannel":       {{0, []string{"id", "amount", "feerate", "announce", "minconf", "utxos", "push_msat", "close_to", "request_amt", "compact_lease", "mindepth", "reserve", "channel_type"}}},
	"fundchannel_start": {{0, []string{"id", "amount", "feerate", "announce", "close_to", "push_msat", "mindepth", "reserve", "channel_type"}}},
	"multifundchannel":  {{0, []string{"destinations", "feerate", "minconf", "utxos", "minchannels", "commitment_feerate"}}},
	"openchannel_init":  {{0, []string{"id", "amount", "initialpsbt", "commitment_feerate", "funding_feerate", "announce", "close_to", "request_amt", "compact_lease", "channel_type"}}},
	"spliceout":         {{0, []string{"channel", "amount", "destination", "force_feerate"}}},
	"splice_signed":     {{0, []string{"psbt", "channel_id", "sign_first"}}},
	"datastore":         {{0, []string{"key", "string", "hex", "mode", "generation"}}},
	"deldatastore":      {{0, []string{"key", "generation"}}},
	"plugin":            {{0, []string{"subcommand", "plugin"}}},
	"createrune":        {{0, []string{"rune", "restrictions"}}},
}

// Order returns method's positional parameters on lightningd v; the
// newest while v is not known.
func Order(method string, v Version) []string {
	for _, o := range orders[method] {
		if v == 0 || v >= o.from {
			return o.names
		}
	}
	return nil
}
