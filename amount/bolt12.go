package amount

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// BOLT12 TLV types read here.
const (
	tlvOfferCurrency      = 6
	tlvOfferAmount        = 8
	tlvInvoicePaymentHash = 168
	tlvInvoiceAmount      = 170
)

var errTruncated = errors.New("amount: bolt12 TLV stream is truncated")

// decodeBolt12 reads a BOLT12 invoice (lni1…: invoice_amount, required) or
// offer (lno1…: offer_amount, optional, maybe in another currency).
func decodeBolt12(s string) (Invoice, error) {
	c := trimScheme(s)
	// BOLT12: "+" and optional white space join a split string; each
	// "+" stands between bech32 characters.
	if strings.IndexByte(c, '+') >= 0 {
		var b strings.Builder
		for i, part := range strings.Split(c, "+") {
			if i > 0 {
				part = strings.TrimLeft(part, " \t\r\n")
			}
			if part == "" {
				return Invoice{}, fmt.Errorf("amount: misplaced + in bolt12 string")
			}
			b.WriteString(part)
		}
		c = b.String()
	}
	hrp, data, err := bech32Decode(c, false)
	if err != nil {
		return Invoice{}, err
	}
	var inv Invoice
	switch hrp {
	case "lni":
		inv.Kind = Bolt12Invoice
	case "lno":
		inv.Kind = Bolt12Offer
	default:
		return Invoice{}, fmt.Errorf("amount: unsupported bolt12 prefix %q", hrp)
	}
	stream, ok, _ := bytes8(data)
	if !ok {
		return Invoice{}, fmt.Errorf("amount: bolt12 string has more than 4 bits of padding")
	}
	var prev uint64
	first := true
	for len(stream) > 0 {
		var typ, n uint64
		if typ, stream, err = bigSize(stream); err != nil {
			return Invoice{}, err
		}
		if n, stream, err = bigSize(stream); err != nil {
			return Invoice{}, err
		}
		if !first && typ <= prev {
			return Invoice{}, fmt.Errorf("amount: bolt12 TLV types out of order (%d after %d)", typ, prev)
		}
		first, prev = false, typ
		if n > uint64(len(stream)) {
			return Invoice{}, errTruncated
		}
		v := stream[:n]
		stream = stream[n:]
		switch {
		case typ == tlvInvoiceAmount && inv.Kind == Bolt12Invoice,
			typ == tlvOfferAmount && inv.Kind == Bolt12Offer:
			a, err := tu64(v)
			if err != nil {
				return Invoice{}, err
			}
			inv.Amount, inv.HasAmount = MSat(a), true
		case typ == tlvInvoicePaymentHash && inv.Kind == Bolt12Invoice:
			if len(v) != 32 {
				return Invoice{}, fmt.Errorf("amount: bolt12 invoice_payment_hash is %d bytes, not 32", len(v))
			}
			inv.PaymentHash = hex.EncodeToString(v)
		case typ == tlvOfferCurrency && inv.Kind == Bolt12Offer:
			if !utf8.Valid(v) {
				return Invoice{}, fmt.Errorf("amount: bolt12 offer currency is not UTF-8")
			}
			inv.Currency = string(v)
		}
	}
	if inv.Kind == Bolt12Invoice && !inv.HasAmount {
		return Invoice{}, fmt.Errorf("amount: bolt12 invoice has no invoice_amount")
	}
	if inv.Currency != "" && !inv.HasAmount {
		return Invoice{}, fmt.Errorf("amount: bolt12 offer has a currency but no amount")
	}
	return inv, nil
}

// bigSize reads a BOLT1 BigSize integer, minimally encoded.
func bigSize(b []byte) (uint64, []byte, error) {
	if len(b) == 0 {
		return 0, nil, errTruncated
	}
	n, min := 0, uint64(0)
	switch b[0] {
	case 0xfd:
		n, min = 2, 0xfd
	case 0xfe:
		n, min = 4, 0x10000
	case 0xff:
		n, min = 8, 0x100000000
	default:
		return uint64(b[0]), b[1:], nil
	}
	if len(b) < 1+n {
		return 0, nil, errTruncated
	}
	var v uint64
	for _, c := range b[1 : 1+n] {
		v = v<<8 | uint64(c)
	}
	if v < min {
		return 0, nil, fmt.Errorf("amount: bolt12 BigSize not minimally encoded")
	}
	return v, b[1+n:], nil
}

// tu64 reads a truncated big-endian u64 (no leading zero bytes).
func tu64(v []byte) (uint64, error) {
	if len(v) > 8 || (len(v) > 0 && v[0] == 0) {
		return 0, fmt.Errorf("amount: bolt12 amount is not a minimal tu64")
	}
	var a uint64
	for _, c := range v {
		a = a<<8 | uint64(c)
	}
	return a, nil
}
