package apps

import (
	"strings"

	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// An app holds a rune, and its holder is not the operator: a command
// that would change or stop the guard, or step around it, is refused at
// its checkrune when the rune has an allowance (or, with
// rune-allowance-required, for any rune). Read from each version's
// command list, v23.08–v26.06.

// Escape says why an app whose rune's id is rid may not run method with
// params, or "".
func Escape(method string, params jsonrpc.Value, rid string) string {
	switch method {
	case "pay-up-to-resume":
		return "an app may not lift a pause"
	case "pay-up-to-pause":
		if arg(params, []string{"rune_id", "reason"}, "rune_id") != rid {
			return "an app may pause only itself"
		}
	case "pay-up-to-setallowance", "pay-up-to-delallowance", "pay-up-to-createrune":
		return "an app may not change allowances"
	case "setconfig":
		return "an app may not change the node's configuration (the guard's options, or which plugin pays)"
	case "plugin":
		if sub := arg(params, price.Order(method, 0), "subcommand"); sub != "list" {
			return "an app may not start or stop plugins"
		}
	case "datastore", "deldatastore":
		if key := arg(params, price.Order(method, 0), "key"); key == "pay-up-to" {
			return "an app may not write the guard's records"
		}
	case "createrune", "commando-rune":
		if arg(params, price.Order("createrune", 0), "rune") == "" {
			return "an app may not mint a new rune (it would carry no allowance); it may only restrict its own"
		}
	case "exposesecret":
		return "an app may not read the node's secret"
	case "recover":
		return "an app may not replace the node's wallet"
	}
	return ""
}

// arg is the text of the first value of name in params (by name, or by
// position in order); for an array, its first element ("key":
// ["pay-up-to", …]).
func arg(params jsonrpc.Value, order []string, name string) string {
	a, err := price.ReadArgs(params, order)
	if err != nil || len(a[name]) == 0 {
		return ""
	}
	v := a[name][0]
	if v.Kind() == '[' {
		var first jsonrpc.Value
		v.Elements(func(e jsonrpc.Value) bool { first = e; return false })
		v = first
	}
	return strings.TrimSpace(price.Text(v))
}
