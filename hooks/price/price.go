// Package price tells what a command asks to spend, over Lightning and
// on-chain: a pure function of the method, its params and lightningd's
// version. It keeps no state, calls nothing, and answers with errors,
// never with refusals.
package price

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// Error is a command that cannot be priced; Key and Subject name what it
// pays (bolt11, offer, invstring, destination, payment_hash), if known.
type Error struct {
	Why          string
	Key, Subject string
}

func (e *Error) Error() string { return e.Why }

func fail(why, key, subject string) *Error { return &Error{Why: why, Key: key, Subject: subject} }

// Version is lightningd's version as major*100+minor (2411 is v24.11); 0
// is not known, read as the newest.
type Version int

// ParseVersion reads lightningd's version ("v24.11.2", "v26.06rc1"), or
// returns 0.
func ParseVersion(version string) Version {
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
	return Version(ma*100 + mi)
}

// OnionPriced reports whether injectpaymentonion's amount_msat is what it
// debits: before v26.06 lightningd checks it against the onion.
func (v Version) OnionPriced() bool { return v != 0 && v < 2606 }

// Args are a command's parameters by name.
type Args map[string]jsonrpc.Value

// ReadArgs collects named parameters from positional or keyword params. A
// positional null is absent, as lightningd reads it. A name given twice
// is an error: lightningd refuses such a call ("duplicate json
// names", common/json_param.c, v23.02–v26.06), but a plugin's
// rpc_command hook may rewrite it first (xpay's pay reads the last
// bolt11), so no reader of the guard may pick one.
func ReadArgs(params jsonrpc.Value, positional []string) (Args, error) {
	out := Args{}
	var nulls []string // names given as null, which are absent
	var err error
	switch params.Kind() {
	case '[':
		i := 0
		err = params.Elements(func(v jsonrpc.Value) bool {
			if i < len(positional) && !v.IsNull() {
				out[positional[i]] = v
			}
			i++
			return true
		})
	case '{':
		var twice string
		err = params.Members(func(k string, v jsonrpc.Value) bool {
			if _, ok := out[k]; ok || slices.Contains(nulls, k) {
				twice = k
				return false
			}
			if v.IsNull() {
				nulls = append(nulls, k)
			} else {
				out[k] = v
			}
			return true
		})
		if err == nil && twice != "" {
			return nil, fmt.Errorf("%s is given twice", twice)
		}
	case 0, 'n':
	default:
		err = jsonrpc.ErrBadJSON
	}
	if err != nil {
		return nil, errors.New("cannot read the parameters")
	}
	return out, nil
}

// Read reads method's params in its positional order on lightningd v.
func Read(method string, params jsonrpc.Value, v Version) (Args, error) {
	return ReadArgs(params, Order(method, v))
}

// Pick returns the values of the names given, of aliases one of which
// lightningd takes.
func (a Args) Pick(names ...string) []jsonrpc.Value {
	var vs []jsonrpc.Value
	for _, n := range names {
		if v := a[n]; v != nil {
			vs = append(vs, v)
		}
	}
	return vs
}

// MSat reads an amount as param_msat does: a JSON number, or a string in
// CLN's amount syntax.
func MSat(v jsonrpc.Value) (amount.MSat, error) {
	return amount.ParseMSat(strings.TrimSpace(Text(v)))
}

// Text is a value's text as lightningd's parsers see it: a string's
// content, or any other token as written. Numbers may come as strings
// ("60", "5.0"): json_to_number and json_to_millionths read the text of
// either.
func Text(v jsonrpc.Value) string {
	if v.Kind() == '"' {
		s, err := v.String()
		if err != nil {
			return string(v)
		}
		return s
	}
	return string(v)
}
