package amount

import (
	"math/big"
	"strings"
	"testing"
)

// clnParse is common/amount.c's parse_amount_msat, transcribed: the
// reference ParseMSat must never disagree with when both accept.
func clnParse(s string) (uint64, bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	whole := s[:i]
	frac, dotted := "", false
	if i < len(s) && s[i] == '.' {
		dotted = true
		j := i + 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		frac = s[i+1 : j]
		i = j
		if i == len(s) && frac == "" {
			return 0, false
		}
	}
	if whole == "" && !dotted && i == len(s) {
		return 0, false
	}
	suffix := s[i:]
	num := func(d string, tens int) (uint64, bool) {
		if d == "" {
			return 0, false
		}
		n := new(big.Int)
		n.SetString(d, 10)
		n.Mul(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(tens)), nil))
		if !n.IsUint64() {
			return 0, false
		}
		return n.Uint64(), true
	}
	switch {
	case !dotted && suffix == "":
		return num(whole, 0)
	case !dotted && strings.HasPrefix(suffix, "msat"):
		return num(whole, 0)
	case !dotted && strings.HasPrefix(suffix, "sat"):
		return num(whole, 3)
	case strings.HasPrefix(suffix, "btc"):
		if frac == "" {
			return num(whole, 11)
		}
		if len(frac) > 11 {
			return 0, false
		}
		a, ok1 := num(whole, 11)
		b, ok2 := num(frac, 11-len(frac))
		if !ok1 || !ok2 || a+b < a {
			return 0, false
		}
		return a + b, true
	}
	return 0, false
}

func FuzzParseMSat(f *testing.F) {
	for _, s := range []string{"0", "1msat", "100sat", "0.001btc", "1.btc", ".5btc", "1.5sat", "18446744073709551615", "184467440.73709551615btc", "5satoshi", "1e3", "+1", " 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMSat(s)
		ref, refOK := clnParse(s)
		if err != nil {
			return // stricter than CLN is safe: the caller refuses
		}
		if !refOK || uint64(m) != ref {
			t.Fatalf("ParseMSat(%q) = %d, CLN reads %d (ok=%v)", s, m, ref, refOK)
		}
		for _, f := range []string{m.BTC(), m.String(), strings.TrimSuffix(m.String(), "msat")} {
			if back, err := ParseMSat(f); err != nil || back != m {
				t.Fatalf("%q → %d → %q → %d, %v", s, m, f, back, err)
			}
		}
	})
}

func FuzzDecode(f *testing.F) {
	for _, v := range bolt11Valid {
		f.Add(v.invoice)
	}
	for _, s := range []string{regtest2m, regtestNoAmnt, "lno1pqpzwyq2p32x2um5ypmx2cm5dae8x93pqthvwfzadd7jejes8q9lhc4rvjxd022zv5l44g6qah82ru5rdpnpj", "lni1pgrxxmmxvejkt2syp04uyqq", "l+no1qcp4256ypq", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		inv, err := Decode(s)
		if err != nil {
			return
		}
		again, err := Decode(Canonical(s))
		if err != nil || again != inv {
			t.Fatalf("Decode(%q) = %+v, of its canonical form %+v, %v", s, inv, again, err)
		}
		if inv.Kind != Bolt11 || !inv.HasAmount {
			return
		}
		// Re-derive the amount from the human-readable part with big
		// numbers: lightningd's arithmetic without its overflow.
		c := Canonical(s)
		hrp := c[:strings.LastIndexByte(c, '1')]
		a := hrp[strings.IndexAny(hrp, "0123456789"):]
		pico := map[byte]int64{'m': 1e9, 'u': 1e6, 'n': 1e3, 'p': 1}
		mul, ok := pico[a[len(a)-1]]
		if ok {
			a = a[:len(a)-1]
		} else {
			mul = 1e12
		}
		n, _ := new(big.Int).SetString(a, 10)
		n.Mul(n, big.NewInt(mul)) // pico-bitcoin; 10 per msat
		q, r := n.QuoRem(n, big.NewInt(10), new(big.Int))
		if r.Sign() != 0 || !q.IsUint64() || q.Uint64() != uint64(inv.Amount) {
			t.Fatalf("Decode(%q) amount %d, want %s (rem %s)", s, inv.Amount, q, r)
		}
	})
}

// FuzzBolt11Amount puts fuzzed amounts in a valid invoice (fresh checksum)
// and compares the decoded amount with exact big-number arithmetic.
func FuzzBolt11Amount(f *testing.F) {
	for _, s := range []string{"2m", "10p", "1p", "184467440737095516150p", "99999999999999999999n", "0", "1", "x", "1mm", ""} {
		f.Add(s)
	}
	_, data, err := bech32Decode(bolt11Valid[1].invoice, true)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, a string) {
		for i := 0; i < len(a); i++ {
			if a[i] < 33 || a[i] > 126 || a[i] == '1' && i == len(a)-1 || a[i] >= 'A' && a[i] <= 'Z' {
				return // not a lower-case bech32 prefix
			}
		}
		inv, err := DecodeBolt11(bech32Encode("lnbcrt"+a, data))
		// As lightningd: the prefix runs to the first digit.
		d := strings.IndexAny(a, "0123456789")
		if d < 0 {
			if err == nil && inv.HasAmount {
				t.Fatalf("%q: amount %d from a prefix without one", a, inv.Amount)
			}
			return
		}
		num, m := a[d:], int64(1e12)
		if p, ok := map[byte]int64{'m': 1e9, 'u': 1e6, 'n': 1e3, 'p': 1}[num[len(num)-1]]; ok {
			num, m = num[:len(num)-1], p
		}
		n, isNum := new(big.Int).SetString(num, 10)
		if !isNum || strings.ContainsAny(num, "+-_") {
			if err == nil {
				t.Fatalf("%q: accepted a malformed amount as %d", a, inv.Amount)
			}
			return
		}
		n.Mul(n, big.NewInt(m))
		q, r := n.QuoRem(n, big.NewInt(10), new(big.Int))
		valid := r.Sign() == 0 && new(big.Int).Mul(q, big.NewInt(10)).IsUint64()
		if valid != (err == nil) {
			t.Fatalf("%q: err %v, want valid=%v (%s)", a, err, valid, q)
		}
		if valid && uint64(inv.Amount) != q.Uint64() {
			t.Fatalf("%q: amount %d, want %s", a, inv.Amount, q)
		}
	})
}

// FuzzBolt12 decodes fuzzed TLV streams as BOLT12 invoices and offers.
func FuzzBolt12(f *testing.F) {
	f.Add(tlv(170, tu64Bytes(200_000_000)), true)
	f.Add(append(tlv(10, []byte("d")), tlv(170, tu64Bytes(1))...), true)
	f.Add(append(tlv(6, []byte("USD")), tlv(8, tu64Bytes(5))...), false)
	f.Add([]byte{0xfd, 0x00, 0xaa, 0x01, 0x01}, true)
	f.Fuzz(func(t *testing.T, stream []byte, invoice bool) {
		hrp, want := "lno", 8
		if invoice {
			hrp, want = "lni", 170
		}
		inv, err := Decode(bolt12String(hrp, stream))
		if err != nil {
			return
		}
		// Reference: the first record of the amount type, read plainly.
		var amt uint64
		found := false
		for b := stream; len(b) > 0 && !found; {
			typ, rest, err1 := bigSize(b)
			n, rest, err2 := bigSize(rest)
			if err1 != nil || err2 != nil || n > uint64(len(rest)) {
				t.Fatalf("accepted a broken stream %x", stream)
			}
			if typ == uint64(want) {
				for _, c := range rest[:n] {
					amt = amt<<8 | uint64(c)
				}
				found = true
			}
			b = rest[n:]
		}
		if found != inv.HasAmount || uint64(inv.Amount) != amt {
			t.Fatalf("stream %x: decoded %+v, reference %d (found %v)", stream, inv, amt, found)
		}
	})
}

// FuzzPSBT decodes arbitrary bytes as a PSBT, seeded with BIP174's and
// BIP370's vectors. Decoding must return; what it accepts must give a fee
// and txid without panicking, the same on a second decoding, with values
// and fee checked against big-number sums.
func FuzzPSBT(f *testing.F) {
	for _, raw := range psbtSeeds(f) {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := ParsePSBT(raw)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "amount: ") {
				t.Fatalf("error without prefix: %v", err)
			}
			return
		}
		fee, ok := p.Fee()
		id := p.TxID()
		again, err := DecodePSBT(psbtBase64(raw))
		if err != nil || !samePSBT(p, again) {
			t.Fatalf("second decoding differs: %+v, %+v, %v", p, again, err)
		}
		if fee2, ok2 := again.Fee(); fee2 != fee || ok2 != ok || again.TxID() != id {
			t.Fatalf("second decoding prices %d,%v as %s, first %d,%v as %s", fee2, ok2, again.TxID(), fee, ok, id)
		}
		if len(id) != 64 || p.Version != 0 && p.Version != 2 {
			t.Fatalf("txid %q, version %d", id, p.Version)
		}
		if p.Version == 0 && id != unsignedTxID(t, raw) {
			t.Fatalf("txid %s is not the unsigned transaction's", id)
		}
		limit := big.NewInt(maxMoney)
		in, out, all := new(big.Int), new(big.Int), true
		for _, i := range p.Inputs {
			all = all && i.HasUTXO
			if i.Value > maxMoney {
				t.Fatalf("input value %d", i.Value)
			}
			in.Add(in, new(big.Int).SetUint64(i.Value))
		}
		for _, o := range p.Outputs {
			if o.Value > maxMoney {
				t.Fatalf("output value %d", o.Value)
			}
			out.Add(out, new(big.Int).SetUint64(o.Value))
		}
		want := all && in.Cmp(limit) <= 0 && out.Cmp(limit) <= 0 && out.Cmp(in) <= 0
		if ok != want || ok && new(big.Int).Sub(in, out).Uint64() != fee {
			t.Fatalf("fee %d,%v; inputs %s, outputs %s, all UTXOs %v", fee, ok, in, out, all)
		}
	})
}

// FuzzAddress decodes arbitrary strings as addresses and writes arbitrary
// scripts as addresses: a decoded address must be written back as itself
// (bech32 in lower case), and a written one decode to its script.
func FuzzAddress(f *testing.F) {
	addrs, scripts := addressSeeds()
	for i, a := range addrs {
		var s []byte
		if i < len(scripts) {
			s = scripts[i]
		}
		f.Add(a, s)
	}
	f.Fuzz(func(t *testing.T, addr string, script []byte) {
		s, network, err := AddressScript(addr)
		if err == nil {
			if back := ScriptAddress(s, network); back != canonical(addr) {
				t.Fatalf("%q → %x on %s → %q", addr, s, network, back)
			}
		} else if !strings.HasPrefix(err.Error(), "amount: ") {
			t.Fatalf("error without prefix: %v", err)
		}
		for _, n := range []string{"bitcoin", "testnet", "testnet4", "signet", "regtest"} {
			a := ScriptAddress(script, n)
			if a == "" {
				continue
			}
			back, net, err := AddressScript(a)
			want := n
			if n == "testnet4" || n == "signet" || n == "regtest" && !segwitForm(a) {
				want = "testnet"
			}
			if err != nil || string(back) != string(script) || net != want || a != canonical(a) {
				t.Fatalf("%x on %s → %q → %x on %s, %v", script, n, a, back, net, err)
			}
		}
	})
}
