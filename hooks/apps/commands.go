package apps

import (
	"fmt"
	"sort"
	"strings"

	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// An app with an allowance runs only what this table lets it, plus what
// the operator adds with app-commands: every other command, known or not
// (another plugin's, a later version's), is refused at its checkrune.
// Each command of v24.11, v25.12 and v26.06 (their doc/schemas, and
// `help` of a node with the built-in plugins) is decided here, so that a
// command a new version adds is refused until someone decides it.

// class is what a command is to an app.
type class uint8

const (
	closed   class = iota // refused by default; app-commands may add it
	reads                 // only reads the node's state
	receives              // makes, or waits on, invoices, offers and addresses
	spends                // a spend, held to the app's allowance, or a step of one
	own                   // allowed on the app's own rune only
	never                 // changes, stops or steps around the guard: app-commands cannot add it
)

// rule is a command's class, and for never why.
type rule struct {
	class class
	why   string
}

// Reasons of the commands apps may never run.
const (
	changesGuard = "it would change the guard or the node's configuration"
	stopsGuard   = "it would stop the node, or a plugin, and the guard with it"
	guardRecords = "it would write or delete the guard's records"
	mintsRune    = "it would mint a rune without an allowance; an app may only restrict its own (createrune with its rune)"
	showsRunes   = "it would show other runes, the operator's among them"
	liftsRevoke  = "it would change which runes are revoked, and can lift the operator's revocations"
	otherRune    = "it would run a command under another rune"
	unseenPay    = "it pays out of sight of the app's allowance (a payer plugin's own command); apps use xpay, pay or renepay"
	readsSecret  = "it would read or replace the node's secrets or wallet"
	hiddenPath   = "it would let a REST path run commands with no rune the guard can see"
	devCommand   = "developer commands reach past every check"
)

// table decides every command known. Commands not in it are closed.
var table = map[string]rule{
	// Only read.
	"getinfo": {class: reads}, "help": {class: reads}, "decode": {class: reads}, "decodepay": {class: reads},
	"feerates": {class: reads}, "parsefeerate": {class: reads}, "checkmessage": {class: reads},
	"getroute": {class: reads}, "getroutes": {class: reads}, "setpsbtversion": {class: reads},
	"listaddresses": {class: reads}, "listchainmoves": {class: reads}, "listchannelmoves": {class: reads},
	"listchannels": {class: reads}, "listclosedchannels": {class: reads},
	"listforwards": {class: reads}, "listfunds": {class: reads}, "listhtlcs": {class: reads},
	"listincoming": {class: reads}, "listinvoicerequests": {class: reads}, "listinvoices": {class: reads},
	"listnetworkevents": {class: reads}, "listnodes": {class: reads}, "listoffers": {class: reads},
	"listpays": {class: reads}, "listpeerchannels": {class: reads}, "listpeers": {class: reads},
	"listsendpays": {class: reads}, "listsqlschemas": {class: reads}, "listtransactions": {class: reads},
	"paystatus": {class: reads}, "renepaystatus": {class: reads}, "autoclean-status": {class: reads},
	"askrene-listlayers": {class: reads}, "askrene-listreservations": {class: reads},
	"bkpr-channelsapy": {class: reads}, "bkpr-inspect": {class: reads}, "bkpr-listaccountevents": {class: reads},
	"bkpr-listbalances": {class: reads}, "bkpr-listincome": {class: reads}, "bkpr-report": {class: reads},
	"currencyconvert": {class: reads}, "currencyrate": {class: reads}, "currencyrates": {class: reads},
	"datastoreusage": {class: reads}, "fetchbip353": {class: reads}, "notifications": {class: reads},
	"estimatefees": {class: reads}, "getchaininfo": {class: reads}, "getrawblockbyheight": {class: reads},
	"getutxout": {class: reads}, "listwatch": {class: reads},
	"wait": {class: reads}, "waitanyinvoice": {class: reads}, "waitblockheight": {class: reads},
	"waitinvoice": {class: reads}, "waitsendpay": {class: reads},
	"pay-up-to-status": {class: reads},

	// Receive.
	"invoice": {class: receives}, "createinvoice": {class: receives}, "offer": {class: receives},
	"invoicerequest": {class: receives}, "sendinvoice": {class: receives}, "newaddr": {class: receives},

	// Spend, held to the allowance (Lightning and on-chain), with the
	// calls their clients make on the way.
	"pay": {class: spends}, "xpay": {class: spends}, "renepay": {class: spends}, "sendamount": {class: spends},
	"keysend": {class: spends}, "xkeysend": {class: spends}, "fetchinvoice": {class: spends},
	"preapproveinvoice": {class: spends}, "preapprovekeysend": {class: spends},
	"sendpay": {class: spends}, "sendonion": {class: spends}, "injectpaymentonion": {class: spends},
	"withdraw": {class: spends}, "multiwithdraw": {class: spends},
	"txprepare": {class: spends}, "txsend": {class: spends}, "txdiscard": {class: spends},
	"fundpsbt": {class: spends}, "utxopsbt": {class: spends}, "signpsbt": {class: spends}, "sendpsbt": {class: spends},
	"reserveinputs": {class: spends}, "unreserveinputs": {class: spends},

	// On its own rune only.
	"pay-up-to-pause": {class: own}, "createrune": {class: own}, "showrunes": {class: own},

	// Never.
	"pay-up-to-resume": {never, "an app may not lift a pause"}, "pay-up-to-setallowance": {never, "an app may not change allowances"},
	"pay-up-to-delallowance": {never, "an app may not change allowances"}, "pay-up-to-createrune": {never, "an app may not change allowances"},
	"pay-up-to-fleet-forget": {never, "an app may not change the fleet"},
	"setconfig":              {never, changesGuard},
	"plugin":                 {never, stopsGuard}, "stop": {never, stopsGuard}, "graceful": {never, stopsGuard},
	"reckless":  {never, stopsGuard},
	"datastore": {never, guardRecords}, "deldatastore": {never, guardRecords},
	"commando-rune": {class: own}, "commando-listrunes": {never, showsRunes},
	"blacklistrune": {never, liftsRevoke}, "commando-blacklist": {never, liftsRevoke}, "destroyrune": {never, liftsRevoke},
	"invokerune": {never, otherRune}, "xpay-as-pay": {never, unseenPay}, "renesendpay": {never, unseenPay}, "dev": {never, devCommand},
	"exposesecret": {never, readsSecret}, "recover": {never, readsSecret}, "emergencyrecover": {never, readsSecret},
	"recoverchannel": {never, readsSecret}, "restorefrompeer": {never, readsSecret},
	"clnrest-register-path": {never, hiddenPath},
}

// Closed commands, decided: refused by default (they open channels or
// change them, sign as the node, talk to peers, delete records, or read
// what may hold secrets), for the operator to add with app-commands.
var decidedClosed = []string{
	"abort_channels", "addblockdepthwatch", "addoutpointwatch", "addpsbtinput", "addscidwatch",
	"addscriptpubkeywatch", "createinvoicerequest", "createoffer", "decryptencrypteddata",
	"delblockdepthwatch", "deloutpointwatch", "delscidwatch", "delscriptpubkeywatch", "injectutxodeposit",
	"injectutxospend", "payersign", "setleaserates", "stfu_channels",
	"addgossip", "addpsbtoutput", "askrene-age", "askrene-bias-channel", "askrene-bias-node",
	"askrene-create-channel", "askrene-create-layer", "askrene-disable-node", "askrene-inform-channel",
	"askrene-remove-channel-update", "askrene-remove-layer", "askrene-reserve", "askrene-unreserve",
	"askrene-update-channel", "autoclean-once", "batching", "bkpr-dumpincomecsv",
	"bkpr-editdescriptionbyoutpoint", "bkpr-editdescriptionbypaymentid", "cancelrecurringinvoice", "check",
	"checkrune", "close", "commando", "connect", "createonion", "createproof", "delforward", "delinvoice",
	"delnetworkevent", "delpay", "deprecations", "disableinvoicerequest", "disableoffer", "disconnect",
	"enableoffer", "fundchannel", "fundchannel_cancel", "fundchannel_complete", "fundchannel_start",
	"funderupdate", "getemergencyrecoverdata", "getlog", "injectonionmessage", "listconfigs",
	"listdatastore", "makesecret", "multifundchannel", "openchannel_abort", "openchannel_bump",
	"openchannel_init", "openchannel_signed", "openchannel_update", "ping", "sendcustommsg",
	"sendrawtransaction", "setchannel", "signinvoice", "signmessage", "signmessagewithkey", "splice_init",
	"splice_signed", "splice_update", "splicein", "spliceout", "sql", "staticbackup", "upgradewallet",
}

func init() {
	for _, m := range decidedClosed {
		table[m] = rule{class: closed}
	}
}

// ruleOf is method's rule; every dev- command is never an app's.
func ruleOf(method string) (rule, bool) {
	if strings.HasPrefix(method, "dev-") {
		return rule{never, devCommand}, true
	}
	r, ok := table[method]
	return r, ok
}

// Decided reports whether the table decides method.
func Decided(method string) bool {
	_, ok := ruleOf(method)
	return ok
}

// Denied says why an app may not run a command: Why, and Addable when
// the operator may allow it with app-commands.
type Denied struct {
	Why     string
	Addable bool
}

// May returns why an app whose rune's unique id is rid may not run
// method with params, given the commands the operator added, or nil.
func May(method string, params jsonrpc.Value, rid string, added Commands) *Denied {
	r, known := ruleOf(method)
	switch {
	case r.class == never:
		return &Denied{Why: r.why}
	case r.class == own:
		if why := notOwn(method, params, rid); why != "" {
			return &Denied{Why: why}
		}
		return nil
	case known && r.class != closed, added[method]:
		return nil
	}
	return &Denied{Why: "an app with an allowance may not run " + method, Addable: true}
}

// notOwn says why a command of the own class reaches beyond the app's
// own rune, or "".
func notOwn(method string, params jsonrpc.Value, rid string) string {
	switch method {
	case "pay-up-to-pause":
		if arg(params, []string{"rune_id", "reason"}, "rune_id") != rid {
			return "an app may pause only itself"
		}
	case "createrune", "commando-rune":
		rune := arg(params, price.Order("createrune", 0), "rune")
		if rune == "" {
			return mintsRune
		}
		if id, err := RuneID(rune); err != nil || id != rid {
			return "an app may restrict only its own rune"
		}
	case "showrunes":
		id, err := RuneID(arg(params, []string{"rune"}, "rune"))
		if err != nil || id != rid {
			return "an app may show only its own rune; " + showsRunes
		}
	}
	return ""
}

// Commands are the commands the operator lets apps run beyond the
// table (app-commands), by name.
type Commands map[string]bool

// ParseCommands reads app-commands: comma-separated command names. It
// errs naming one an app may never run, and why.
func ParseCommands(s string) (Commands, error) {
	cs := Commands{}
	for _, m := range strings.Split(s, ",") {
		m = strings.TrimSpace(m)
		if m == "" {
			continue
		}
		if strings.ContainsAny(m, " \t\"\\") {
			return nil, fmt.Errorf("app-commands: %q is not a command name", m)
		}
		if r, _ := ruleOf(m); r.class == never || r.class == own {
			why := r.why
			if r.class == own {
				why = "apps may run it on their own rune only, as they already do"
			}
			return nil, fmt.Errorf("app-commands: an app may never be allowed %s: %s", m, why)
		}
		cs[m] = true
	}
	return cs, nil
}

// String lists the commands, sorted and comma-separated.
func (cs Commands) String() string {
	out := make([]string, 0, len(cs))
	for m := range cs {
		out = append(out, m)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// arg is the text of name in params (by name, or by position in order);
// for an array, its first element; "" if it is absent or given twice.
func arg(params jsonrpc.Value, order []string, name string) string {
	a, err := price.ReadArgs(params, order)
	if err != nil || a[name] == nil {
		return ""
	}
	v := a[name]
	if v.Kind() == '[' {
		var first jsonrpc.Value
		v.Elements(func(e jsonrpc.Value) bool { first = e; return false })
		v = first
	}
	return strings.TrimSpace(price.Text(v))
}
