// Package amount handles Lightning money as integer millisatoshis: CLN's
// amount syntax, BOLT11 and BOLT12 amounts, and btc formatting for messages.
package amount

import (
	"errors"
	"strconv"
	"strings"
)

// MSat is an amount in millisatoshis. Money is never a float here.
type MSat uint64

const (
	msatPerSat = 1000
	msatPerBTC = 100_000_000_000
)

// ErrSyntax and ErrRange are wrapped by ParseMSat errors.
var (
	ErrSyntax = errors.New("invalid amount")
	ErrRange  = errors.New("amount out of range")
)

// A ParseError records a failed ParseMSat.
type ParseError struct {
	Input  string
	Reason string
	Err    error // ErrSyntax or ErrRange
}

func (e *ParseError) Error() string {
	return "amount: " + e.Reason + " in " + strconv.Quote(e.Input)
}

func (e *ParseError) Unwrap() error { return e.Err }

// ParseMSat parses CLN's amount syntax: a bare number of msat, or a number
// followed by "msat", "sat", or "btc" (up to 11 decimals, exact). It is
// stricter than CLN, which accepts any suffix that starts with a unit
// ("5satoshi"): a caller that refuses what it cannot parse stays safe.
func ParseMSat(s string) (MSat, error) {
	num, scale := s, 0
	switch {
	case strings.HasSuffix(s, "msat"):
		num = s[:len(s)-4]
	case strings.HasSuffix(s, "sat"):
		num, scale = s[:len(s)-3], 3
	case strings.HasSuffix(s, "btc"):
		num, scale = s[:len(s)-3], 11
	}
	whole, frac, dotted := strings.Cut(num, ".")
	if dotted && scale != 11 {
		return 0, &ParseError{s, "decimals without a btc unit", ErrSyntax}
	}
	if !digits(whole) || (frac != "" && !digits(frac)) {
		return 0, &ParseError{s, "not a number of msat, sat or btc", ErrSyntax}
	}
	if len(frac) > scale {
		return 0, &ParseError{s, "too many decimals", ErrSyntax}
	}
	w, err := strconv.ParseUint(whole, 10, 64)
	if err != nil {
		return 0, &ParseError{s, "overflow", ErrRange}
	}
	var f uint64
	if frac != "" {
		f, _ = strconv.ParseUint(frac, 10, 64) // at most 11 digits
		f *= pow10(scale - len(frac))
	}
	m := pow10(scale)
	if w > (^uint64(0)-f)/m {
		return 0, &ParseError{s, "overflow", ErrRange}
	}
	return MSat(w*m + f), nil
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func pow10(n int) uint64 {
	p := uint64(1)
	for ; n > 0; n-- {
		p *= 10
	}
	return p
}

// String formats m as CLN does for msat fields: "1234msat".
func (m MSat) String() string { return strconv.FormatUint(uint64(m), 10) + "msat" }

// BTC formats m in bitcoin with no trailing zeros: "0.002btc",
// "0.00100000001btc", "1btc". It is exact for every MSat.
func (m MSat) BTC() string {
	whole, frac := uint64(m)/msatPerBTC, uint64(m)%msatPerBTC
	s := strconv.FormatUint(whole, 10)
	if frac != 0 {
		f := strconv.FormatUint(frac, 10)
		s += "." + strings.TrimRight(strings.Repeat("0", 11-len(f))+f, "0")
	}
	return s + "btc"
}
