package amount

import (
	"encoding/hex"
	"fmt"
	"math/bits"
	"strings"
)

// Kind tells what an invoice string is.
type Kind int

// Kinds of invoice strings.
const (
	Bolt11 Kind = iota + 1
	Bolt12Invoice
	Bolt12Offer
)

// Invoice is what pay-up-to needs to know of an invoice string.
type Invoice struct {
	Kind Kind
	// Amount is valid when HasAmount; a bolt11 invoice or offer may omit it.
	Amount    MSat
	HasAmount bool
	// Currency is an offer's ISO 4217 code when its amount is not in BTC;
	// Amount is then in that currency's minor unit, not msat.
	Currency string
	// PaymentHash is the hex payment hash of an invoice (an offer has
	// none): what links the HTLCs a payment sends to its approval.
	PaymentHash string
}

// Canonical is the invoice string as CLN's pay and preapproveinvoice read
// it: without a "lightning:" scheme, in lower case.
func Canonical(s string) string { return strings.ToLower(trimScheme(s)) }

// trimScheme removes a "lightning:" URI scheme, as BOLT11 allows.
func trimScheme(s string) string {
	if strings.HasPrefix(s, "lightning:") || strings.HasPrefix(s, "LIGHTNING:") {
		return s[len("lightning:"):]
	}
	return s
}

// Decode reads a BOLT11 invoice, BOLT12 invoice (lni1…) or BOLT12 offer
// (lno1…), with or without a "lightning:" scheme.
func Decode(s string) (Invoice, error) {
	c := trimScheme(s)
	prefix := func(p string) bool { return len(c) >= len(p) && strings.EqualFold(c[:len(p)], p) }
	switch {
	case prefix("lni1"), prefix("lno1"), strings.IndexByte(c, '+') >= 0:
		return decodeBolt12(s)
	case prefix("ln"):
		return DecodeBolt11(s)
	}
	return Invoice{}, fmt.Errorf("amount: %.20q is not a bolt11 invoice, bolt12 invoice or offer", s)
}

// DecodeBolt11 verifies the bech32 checksum of a BOLT11 invoice and reads
// the amount from its human-readable part, as common/bolt11.c does but with
// overflow rejected. It does not check the signature: lightningd does.
func DecodeBolt11(s string) (Invoice, error) {
	hrp, data, err := bech32Decode(trimScheme(s), true)
	if err != nil {
		return Invoice{}, err
	}
	hash, err := bolt11Layout(data)
	if err != nil {
		return Invoice{}, err
	}
	inv := Invoice{Kind: Bolt11, PaymentHash: hash}
	i := strings.IndexAny(hrp, "0123456789")
	if i < 0 {
		i = len(hrp)
	}
	if !strings.HasPrefix(hrp[:i], "ln") {
		return Invoice{}, fmt.Errorf("amount: bolt11 prefix %q does not start with ln", hrp[:i])
	}
	a := hrp[i:]
	if a == "" {
		return inv, nil
	}
	// Pico-bitcoin per unit; no multiplier means whole bitcoin.
	m10 := uint64(10 * msatPerBTC)
	switch a[len(a)-1] {
	case 'm':
		m10 /= 1e3
	case 'u':
		m10 /= 1e6
	case 'n':
		m10 /= 1e9
	case 'p':
		m10 /= 1e12
	}
	if m10 != 10*msatPerBTC {
		a = a[:len(a)-1]
	}
	if !digits(a) {
		return Invoice{}, fmt.Errorf("amount: invalid bolt11 amount %q", hrp[i:])
	}
	var n uint64
	for j := 0; j < len(a); j++ {
		hi, lo := bits.Mul64(n, 10)
		if hi != 0 || lo+uint64(a[j]-'0') < lo {
			return Invoice{}, fmt.Errorf("amount: bolt11 amount %q overflows", hrp[i:])
		}
		n = lo + uint64(a[j]-'0')
	}
	hi, pico := bits.Mul64(n, m10)
	if hi != 0 {
		return Invoice{}, fmt.Errorf("amount: bolt11 amount %q overflows", hrp[i:])
	}
	if pico%10 != 0 {
		return Invoice{}, fmt.Errorf("amount: bolt11 amount %q is not a whole msat", hrp[i:])
	}
	inv.Amount, inv.HasAmount = MSat(pico/10), true
	return inv, nil
}

// bolt11Layout checks that data is a timestamp, tagged fields that fit
// exactly, and a signature, and returns the payment hash (field p) in hex.
// lightningd checks the rest, signature included.
func bolt11Layout(data []byte) (hash string, err error) {
	const timestamp, signature = 7, 104
	const tagPaymentHash, hashLen = 1, 52 // 52 five-bit groups: 256 bits
	if len(data) < timestamp+signature {
		return "", fmt.Errorf("amount: bolt11 invoice is too short")
	}
	i, end := timestamp, len(data)-signature
	for i < end {
		if end-i < 3 {
			return "", fmt.Errorf("amount: bolt11 tagged field is truncated")
		}
		n := int(data[i+1])<<5 | int(data[i+2])
		// BOLT11: readers skip a p field of the wrong length; the first
		// well-formed one counts, as in common/bolt11.c.
		if data[i] == tagPaymentHash && n == hashLen && hash == "" && i+3+n <= end {
			if b, _, _ := bytes8(data[i+3 : i+3+n]); len(b) == 32 {
				hash = hex.EncodeToString(b)
			}
		}
		i += 3 + n
	}
	if i != end {
		return "", fmt.Errorf("amount: bolt11 tagged field overruns the signature")
	}
	return hash, nil
}
