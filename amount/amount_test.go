package amount

import (
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestParseMSat(t *testing.T) {
	tests := []struct {
		in   string
		want MSat
		err  error // nil: valid
	}{
		{"0", 0, nil},
		{"1", 1, nil},
		{"100000000", 100_000_000, nil},
		{"100000000msat", 100_000_000, nil},
		{"100000sat", 100_000_000, nil},
		{"0.001btc", 100_000_000, nil},
		{"0.00100000001btc", 100_000_001, nil},
		{"0.00000000001btc", 1, nil},
		{"1btc", 100_000_000_000, nil},
		{"1.btc", 100_000_000_000, nil}, // CLN accepts an empty fraction
		{"21000000btc", 2_100_000_000_000_000_000, nil},
		{"18446744073709551615", math.MaxUint64, nil},
		{"18446744073709551615msat", math.MaxUint64, nil},
		{"18446744073709551sat", 18446744073709551000, nil},
		{"184467440.73709551615btc", math.MaxUint64, nil},
		{"0000100sat", 100_000, nil},

		{"", 0, ErrSyntax},
		{"msat", 0, ErrSyntax},
		{"btc", 0, ErrSyntax},
		{"+1", 0, ErrSyntax},
		{"-1", 0, ErrSyntax},
		{"1e3", 0, ErrSyntax},
		{"1BTC", 0, ErrSyntax},
		{"1Sat", 0, ErrSyntax},
		{".5btc", 0, ErrSyntax},
		{"1.5sat", 0, ErrSyntax},
		{"1.5msat", 0, ErrSyntax},
		{"1.5", 0, ErrSyntax},
		{"0.000000000001btc", 0, ErrSyntax}, // 12 decimals
		{" 1", 0, ErrSyntax},
		{"1 sat", 0, ErrSyntax},
		{"1satoshi", 0, ErrSyntax}, // CLN takes it; we refuse rather than guess
		{"0x10", 0, ErrSyntax},
		{"1..0btc", 0, ErrSyntax},
		{"18446744073709551616", 0, ErrRange},
		{"18446744073709552sat", 0, ErrRange},
		{"184467440.73709551616btc", 0, ErrRange},
		{"184467441btc", 0, ErrRange},
		{"99999999999999999999999btc", 0, ErrRange},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseMSat(tt.in)
			if tt.err != nil {
				assert.ErrorIs(t, err, tt.err)
				assert.Assert(t, is.Contains(err.Error(), "amount: "))
				return
			}
			assert.NilError(t, err)
			assert.Equal(t, got, tt.want)
		})
	}
}

func TestParseMSatMessage(t *testing.T) {
	_, err := ParseMSat("0.000000000001btc")
	assert.Error(t, err, `amount: too many decimals in "0.000000000001btc"`)
}

func TestBTC(t *testing.T) {
	tests := []struct {
		in   MSat
		want string
	}{
		{0, "0btc"},
		{1, "0.00000000001btc"},
		{1000, "0.00000001btc"},
		{100_000_000, "0.001btc"},
		{200_000_000, "0.002btc"},
		{100_000_001, "0.00100000001btc"},
		{10_000_000, "0.0001btc"},
		{100_000_000_000, "1btc"},
		{150_000_000_000, "1.5btc"},
		{math.MaxUint64, "184467440.73709551615btc"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.in.BTC(), tt.want)
			back, err := ParseMSat(tt.in.BTC())
			assert.NilError(t, err)
			assert.Equal(t, back, tt.in)
		})
	}
	assert.Equal(t, MSat(42).String(), "42msat")
}

// Regtest invoices made by lightningd v26.06 (../shared/transcripts).
const (
	regtest2m     = "lnbcrt2m1p4s2w6dsp5kwehw4vuusp2eeflctf7wdtk8dugr28m9z3zfrcucvq8j893mluqpp5sq82g8yy5a4c2t3nn3ryf8czv02r2e7qqgryqpmyjy22uy2wqrdsdqlw3hk7gr90pcx2mnnd9mx2grsd9a85cgxqyjw5qcqp29qxpqysgq2jm0y82d2337q6h7u4jclv3ctf7wxhssud2n4z5u87ye7e2em6xp024md9gqdz4dnmjnfedrttf275hst7rsgwgh8n5qnrw8z6qmlnqqseeq9f"
	regtest100u   = "lnbcrt100u1p4s2w6dsp5fkug3eky9m30y596acgvjfn6rnhrv87y2qhrwapj0k45h7d7yjhspp5r53dqnrkl0kyns2562a2re26vn23a7k2990ptyhks53le97mdn2sdqjvd5x2ctsypcxj7n6vyxqyjw5qcqp29qxpqysgqhwasflswslvxx26ah3j86aw4485r74e20c2u23dhhfkjht6n5w53axd8g6c020l058yqsnrf4et9kw3au5h2cas8ggkdrvzl0arndespvm3fkp"
	regtestNoAmnt = "lnbcrt1p4s2w6dsp5fl9py2w4638k2attlj57qpp9lk24rtvynclesulhhapy2aktlq0spp554etrl48qz4nwnvtdslma78ck6wg2gfn5gkhd4uqfqc9y87kzjyqdqvw35hqgr2v9eqxqyjw5qcqp29qxpqysgqesfua4kelhxne3ecn4c8qm78pzv6l5qkaq8hmqx20ttvylv5q7hxwpl245y56cxwfqcnec88gwyfp6lecavgcddelywmhhfugp25zkqqwsssp7"
)

func TestDecodeBolt11(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		hasAmount bool
		msat      MSat
	}{
		{"regtest 2m", regtest2m, true, 200_000_000},
		{"regtest 100u", regtest100u, true, 10_000_000},
		{"regtest amountless", regtestNoAmnt, false, 0},
		{"upper case", strings.ToUpper(regtest2m), true, 200_000_000},
		{"lightning: prefix", "lightning:" + regtest2m, true, 200_000_000},
		{"LIGHTNING: prefix", "LIGHTNING:" + strings.ToUpper(regtest2m), true, 200_000_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := Decode(tt.in)
			assert.NilError(t, err)
			assert.Equal(t, inv.HasAmount, tt.hasAmount)
			assert.Equal(t, inv.Amount, tt.msat)
		})
	}
}

// bolt11With re-encodes the vector's data under another human-readable
// part, with a fresh checksum, to test amounts the spec has no vector for.
func bolt11With(t *testing.T, hrp string) string {
	t.Helper()
	_, data, err := bech32Decode(bolt11Valid[1].invoice, true)
	assert.NilError(t, err)
	return bech32Encode(hrp, data)
}

func bech32Encode(hrp string, data []byte) string {
	chk := polymod(hrp, append(append([]byte(nil), data...), 0, 0, 0, 0, 0, 0)) ^ 1
	var b strings.Builder
	b.WriteString(hrp + "1")
	for _, v := range data {
		b.WriteByte(charset[v])
	}
	for i := 0; i < 6; i++ {
		b.WriteByte(charset[(chk>>(5*(5-i)))&31])
	}
	return b.String()
}

func TestBolt11Amounts(t *testing.T) {
	tests := []struct {
		hrp  string
		msat MSat
		err  string
	}{
		{hrp: "lnbc1", msat: 100_000_000_000},
		{hrp: "lnbc1m", msat: 100_000_000},
		{hrp: "lnbc1u", msat: 100_000},
		{hrp: "lnbc1n", msat: 100},
		{hrp: "lnbc10p", msat: 1},
		{hrp: "lnbc0010p", msat: 1},
		{hrp: "lnbc0", msat: 0},
		{hrp: "lntbs5m", msat: 500_000_000},
		{hrp: "lnbcrt1000001n", msat: 100_000_100},
		{hrp: "lnbc1844674407370955160p", msat: 184_467_440_737_095_516},
		// lightningd multiplies unchecked in pico-bitcoin and would wrap
		// these; they are refused, not misread.
		{hrp: "lnbc184467440", err: "overflows"},
		{hrp: "lnbc18446744073709551620p", err: "overflows"},
		{hrp: "lnbc1p", err: "not a whole msat"},
		{hrp: "lnbc11p", err: "not a whole msat"},
		{hrp: "lnbc184467441", err: "overflows"},
		{hrp: "lnbc184467440737095516160p", err: "overflows"},
		{hrp: "lnbc99999999999999999999", err: "overflows"},
		{hrp: "lnbc18446744073709551616m", err: "overflows"},
		{hrp: "lnbc1x", err: "invalid bolt11 amount"},
		{hrp: "lnbcm", msat: 0}, // prefix "lnbcm": lightningd knows no such chain
		{hrp: "lnbc1mm", err: "invalid bolt11 amount"},
		{hrp: "lnbc1m1", err: "invalid bolt11 amount"},
		{hrp: "bc1m", err: "does not start with ln"},
	}
	for _, tt := range tests {
		t.Run(tt.hrp, func(t *testing.T) {
			inv, err := DecodeBolt11(bolt11With(t, tt.hrp))
			if tt.err != "" {
				assert.ErrorContains(t, err, tt.err)
				return
			}
			assert.NilError(t, err)
			assert.Equal(t, inv.Amount, tt.msat)
		})
	}
}

// lni builds a BOLT12 string from TLV records.
func bolt12String(hrp string, records ...[]byte) string {
	var stream []byte
	for _, r := range records {
		stream = append(stream, r...)
	}
	var out strings.Builder
	out.WriteString(hrp + "1")
	var acc uint32
	bits := 0
	for _, c := range stream {
		acc = acc<<8 | uint32(c)
		bits += 8
		for bits >= 5 {
			bits -= 5
			out.WriteByte(charset[(acc>>bits)&31])
		}
	}
	if bits > 0 {
		out.WriteByte(charset[(acc<<(5-bits))&31])
	}
	return out.String()
}

func tlv(typ uint64, val []byte) []byte {
	out := bigSizeBytes(typ)
	out = append(out, bigSizeBytes(uint64(len(val)))...)
	return append(out, val...)
}

func bigSizeBytes(v uint64) []byte {
	switch {
	case v < 0xfd:
		return []byte{byte(v)}
	case v <= 0xffff:
		return []byte{0xfd, byte(v >> 8), byte(v)}
	case v <= 0xffffffff:
		return []byte{0xfe, byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
	}
	return []byte{0xff, byte(v >> 56), byte(v >> 48), byte(v >> 40), byte(v >> 32), byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
}

func tu64Bytes(v uint64) []byte {
	b := new(big.Int).SetUint64(v).Bytes()
	return b
}

func TestDecodeBolt12(t *testing.T) {
	desc := tlv(10, []byte("Test vectors"))
	node := tlv(22, make([]byte, 33))
	tests := []struct {
		name      string
		in        string
		kind      Kind
		hasAmount bool
		msat      MSat
		currency  string
		err       string
	}{
		// From BOLT12's offers-test.json and format-string-test.json.
		{name: "offer with amount", in: "lno1pqpzwyq2p32x2um5ypmx2cm5dae8x93pqthvwfzadd7jejes8q9lhc4rvjxd022zv5l44g6qah82ru5rdpnpj", kind: Bolt12Offer, hasAmount: true, msat: 10000},
		{name: "offer with currency", in: "lno1qcp4256ypqpzwyq2p32x2um5ypmx2cm5dae8x93pqthvwfzadd7jejes8q9lhc4rvjxd022zv5l44g6qah82ru5rdpnpj", kind: Bolt12Offer, hasAmount: true, msat: 10000, currency: "USD"},
		{name: "minimal offer", in: "lno1zcss9mk8y3wkklfvevcrszlmu23kfrxh49px20665dqwmn4p72pksese", kind: Bolt12Offer},
		{name: "upper case", in: "LNO1PQPS7SJQPGTYZM3QV4UXZMTSD3JJQER9WD3HY6TSW35K7MSJZFPY7NZ5YQCNYGRFDEJ82UM5WF5K2UCKYYPWA3EYT44H6TXTXQUQH7LZ5DJGE4AFGFJN7K4RGRKUAG0JSD5XVXG", kind: Bolt12Offer, hasAmount: true, msat: 1_000_000},
		{name: "+ joins", in: "l+no1pqps7sjqpgtyzm3qv4uxzmtsd3jjqer9wd3hy6tsw35k7msjzfpy7nz5yqcnygrfdej82um5wf5k2uckyypwa3eyt44h6txtxquqh7lz5djge4afgfjn7k4rgrkuag0jsd5xvxg", kind: Bolt12Offer, hasAmount: true, msat: 1_000_000},
		{name: "+ and white space", in: "lno1pqps7sjqpgt+ yzm3qv4uxzmtsd3jjqer9wd3hy6tsw3+  5k7msjzfpy7nz5yqcn+\nygrfdej82um5wf5k2uckyypwa3eyt44h6txtxquqh7lz5djge4afgfjn7k4rgrkuag0jsd+\r\n 5xvxg", kind: Bolt12Offer, hasAmount: true, msat: 1_000_000},
		{name: "mixed case", in: "LnO1PqPs7sJqPgTyZm3qV4UxZmTsD3JjQeR9Wd3hY6TsW35k7mSjZfPy7nZ5YqCnYgRfDeJ82uM5Wf5k2uCkYyPwA3EyT44h6tXtXqUqH7Lz5dJgE4AfGfJn7k4rGrKuAg0jSd5xVxG", err: "mixes"},
		{name: "trailing +", in: "lno1pqps7sjqpgtyzm3qv4uxzmtsd3jjqer9wd3hy6tsw35k7msjzfpy7nz5yqcnygrfdej82um5wf5k2uckyypwa3eyt44h6txtxquqh7lz5djge4afgfjn7k4rgrkuag0jsd5xvxg+", err: "misplaced +"},
		{name: "double +", in: "ln++o1pqps7sjqpgtyzm3qv4uxzmtsd3jjqer9wd3hy6tsw35k7msjzfpy7nz5yqcnygrfdej82um5wf5k2uckyypwa3eyt44h6txtxquqh7lz5djge4afgfjn7k4rgrkuag0jsd5xvxg", err: "misplaced +"},
		{name: "truncated in length", in: "lno1pt7s", err: "truncated"},
		{name: "truncated after length", in: "lno1pgpq", err: "truncated"},
		{name: "fields out of order", in: "lno1zcssyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqsz", err: "out of order"},
		{name: "padding over 4 bits", in: "lno1zcss9mk8y3wkklfvevcrszlmu23kfrxh49px20665dqwmn4p72pkseseq", err: "padding"},

		// Invoices built here: invoice_amount (170) is what is paid.
		{name: "invoice", in: bolt12String("lni", desc, node, tlv(170, tu64Bytes(200_000_000))), kind: Bolt12Invoice, hasAmount: true, msat: 200_000_000},
		{name: "invoice max amount", in: bolt12String("lni", tlv(170, tu64Bytes(math.MaxUint64))), kind: Bolt12Invoice, hasAmount: true, msat: math.MaxUint64},
		{name: "invoice ignores offer_amount", in: bolt12String("lni", tlv(6, []byte("USD")), tlv(8, tu64Bytes(5)), tlv(170, tu64Bytes(7))), kind: Bolt12Invoice, hasAmount: true, msat: 7},
		{name: "invoice with lightning:", in: "lightning:" + strings.ToUpper(bolt12String("lni", tlv(170, tu64Bytes(1)))), kind: Bolt12Invoice, hasAmount: true, msat: 1},
		{name: "invoice with high types", in: bolt12String("lni", tlv(170, tu64Bytes(9)), tlv(240, make([]byte, 64)), tlv(1_000_000_001, nil)), kind: Bolt12Invoice, hasAmount: true, msat: 9},
		{name: "invoice without amount", in: bolt12String("lni", desc, node), err: "no invoice_amount"},
		{name: "invoice amount not minimal", in: bolt12String("lni", tlv(170, []byte{0, 1})), err: "minimal"},
		{name: "invoice amount too long", in: bolt12String("lni", tlv(170, make([]byte, 9))), err: "minimal"},
		{name: "invoice repeated amount", in: bolt12String("lni", tlv(170, tu64Bytes(1)), tlv(170, tu64Bytes(1<<40))), err: "out of order"},
		{name: "invoice length overruns", in: bolt12String("lni", []byte{0xaa, 0x05, 1}), err: "truncated"},
		{name: "bigsize not minimal", in: bolt12String("lni", []byte{0xfd, 0x00, 0x10, 0x00}), err: "minimally"},
		{name: "offer currency without amount", in: bolt12String("lno", tlv(6, []byte("EUR")), desc), err: "currency but no amount"},
		{name: "offer currency not UTF-8", in: bolt12String("lno", tlv(6, []byte{0xff, 0xfe}), tlv(8, tu64Bytes(1))), err: "UTF-8"},
		{name: "invoice request", in: bolt12String("lnr", tlv(82, tu64Bytes(1))), err: "amount: "},
		{name: "bad character", in: "lni1bio", err: "invalid bech32 character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := Decode(tt.in)
			if tt.err != "" {
				assert.ErrorContains(t, err, tt.err)
				return
			}
			assert.NilError(t, err)
			assert.Equal(t, inv.Kind, tt.kind)
			assert.Equal(t, inv.HasAmount, tt.hasAmount)
			assert.Equal(t, inv.Amount, tt.msat)
			assert.Equal(t, inv.Currency, tt.currency)
		})
	}
}

func TestDecodeNotAnInvoice(t *testing.T) {
	for _, in := range []string{"", "hello", "lnurl1dp68gurn8ghj7", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "alice@example.com"} {
		_, err := Decode(in)
		assert.Assert(t, err != nil, in)
		assert.Assert(t, !errors.Is(err, ErrSyntax))
	}
}

func BenchmarkDecodeBolt11(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Decode(regtest2m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseMSat(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := ParseMSat("0.00100000001btc"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPaymentHash reads BOLT11's p field (the spec's vectors, whose hash is
// 0001…0102, and one with another) and BOLT12's invoice_payment_hash.
func TestPaymentHash(t *testing.T) {
	const specHash = "0001020304050607080900010203040506070809000102030405060708090102"
	for _, v := range bolt11Valid {
		t.Run(v.name, func(t *testing.T) {
			inv, err := Decode(v.invoice)
			assert.NilError(t, err)
			want := specHash
			if v.name == "9678785340p" {
				want = "462264ede7e14047e9b249da94fefc47f41f7d02ee9b091815a5506bc8abf75f"
			}
			assert.Equal(t, inv.PaymentHash, want)
		})
	}
	t.Run("p field of the wrong length is skipped", func(t *testing.T) {
		_, data, err := bech32Decode(bolt11Valid[1].invoice, true)
		assert.NilError(t, err)
		// Insert a 51-group p field before the real one.
		field := append([]byte{1, 1, 19}, make([]byte, 51)...)
		data = append(append(append([]byte(nil), data[:7]...), field...), data[7:]...)
		inv, err := Decode(bech32Encode("lnbc2500u", data))
		assert.NilError(t, err)
		assert.Equal(t, inv.PaymentHash, specHash)
	})
	t.Run("offer has none", func(t *testing.T) {
		inv, err := Decode("lno1qcp4256ypqpzwyq2p32x2um5ypmx2cm5dae8x93pqthvwfzadd7jejes8q9lhc4rvjxd022zv5l44g6qah82ru5rdpnpj")
		assert.NilError(t, err)
		assert.Equal(t, inv.PaymentHash, "")
	})
}
