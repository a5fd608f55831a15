package amount

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
)

// bech32mConst is what a bech32m checksum (BIP350) leaves polymod with;
// a bech32 one (BIP173) leaves 1.
const bech32mConst = 0x2bc830a3

// Address forms per network: the segwit human-readable part (BIP173;
// signet and testnet4 share testnet's) and the base58 version bytes of
// P2PKH and P2SH addresses.
type addrNet struct {
	name        string
	hrp         string
	p2pkh, p2sh byte
}

var (
	mainNet    = addrNet{"bitcoin", "bc", 0x00, 0x05}
	testNet    = addrNet{"testnet", "tb", 0x6f, 0xc4}
	regtestNet = addrNet{"regtest", "bcrt", 0x6f, 0xc4}
)

// netNamed takes lightningd's network names (getinfo, listconfigs).
func netNamed(network string) (addrNet, bool) {
	switch network {
	case "bitcoin":
		return mainNet, true
	case "testnet", "testnet4", "signet":
		return testNet, true
	case "regtest":
		return regtestNet, true
	}
	return addrNet{}, false
}

// AddressScript returns the scriptPubKey an address pays and its network:
// "bitcoin", "testnet" (signet and testnet4 share its prefixes) or
// "regtest". Segwit addresses are BIP173 bech32 for witness version 0 and
// BIP350 bech32m for versions 1 to 16, all in one case; P2PKH and P2SH
// addresses are base58check, case-sensitive, and report "testnet" for
// regtest too, whose version bytes are testnet's.
func AddressScript(addr string) (script []byte, network string, err error) {
	lower := strings.ToLower(addr)
	for _, n := range []addrNet{mainNet, testNet, regtestNet} {
		if strings.HasPrefix(lower, n.hrp+"1") {
			return segwitScript(addr, n)
		}
	}
	return base58Script(addr)
}

// ScriptAddress is the address of a standard script on network (a name
// lightningd uses), or "" for a script with no address form: P2PKH and
// P2SH in base58check, witness programs of versions 0 to 16 (BIP141) in
// lower-case bech32 (BIP173) or bech32m (BIP350).
func ScriptAddress(script []byte, network string) string {
	n, ok := netNamed(network)
	if !ok {
		return ""
	}
	switch {
	case len(script) == 25 && script[0] == 0x76 && script[1] == 0xa9 && script[2] == 20 &&
		script[23] == 0x88 && script[24] == 0xac: // OP_DUP OP_HASH160 <20> OP_EQUALVERIFY OP_CHECKSIG
		return base58Check(n.p2pkh, script[3:23])
	case len(script) == 23 && script[0] == 0xa9 && script[1] == 20 && script[22] == 0x87: // OP_HASH160 <20> OP_EQUAL
		return base58Check(n.p2sh, script[2:22])
	}
	version, program, ok := witnessProgram(script)
	if !ok {
		return ""
	}
	return segwitEncode(n.hrp, version, program)
}

// witnessProgram splits a BIP141 witness program, OP_0 or OP_1..OP_16 then
// one push of 2 to 40 bytes, keeping those an address can carry.
func witnessProgram(script []byte) (version byte, program []byte, ok bool) {
	if len(script) < 4 || len(script) > 42 || int(script[1]) != len(script)-2 {
		return 0, nil, false
	}
	switch op := script[0]; {
	case op == 0:
		version = 0
	case op >= 0x51 && op <= 0x60:
		version = op - 0x50
	default:
		return 0, nil, false
	}
	program = script[2:]
	return version, program, validProgram(version, program)
}

// validProgram: version 0 programs are 20 or 32 bytes (BIP141), later
// versions 2 to 40 (BIP350).
func validProgram(version byte, program []byte) bool {
	if version == 0 {
		return len(program) == 20 || len(program) == 32
	}
	return version <= 16 && len(program) >= 2 && len(program) <= 40
}

// segwitScript decodes a segwit address of network n (its hrp matched).
func segwitScript(addr string, n addrNet) ([]byte, string, error) {
	if len(addr) > 90 {
		return nil, "", fmt.Errorf("amount: segwit address is %d characters, more than 90", len(addr))
	}
	hrp, data, err := bech32Decode(addr, false)
	if err != nil {
		return nil, "", err
	}
	if hrp != n.hrp {
		// "bc1…" may have a later '1' in a bad string: the hrp is
		// what comes before the last one.
		return nil, "", fmt.Errorf("amount: unknown segwit address prefix %q", hrp)
	}
	if len(data) < 7 {
		return nil, "", errors.New("amount: segwit address has no witness version")
	}
	version := data[0]
	want, variant := uint32(1), "bech32"
	if version > 0 {
		want, variant = bech32mConst, "bech32m"
	}
	if polymod(hrp, data) != want {
		return nil, "", fmt.Errorf("amount: segwit address has a bad checksum (version %d takes %s)", version, variant)
	}
	if version > 16 {
		return nil, "", fmt.Errorf("amount: segwit address has witness version %d, above 16", version)
	}
	program, ok, zero := bytes8(data[1 : len(data)-6])
	ok = ok && zero // BIP 173: the padding is zero
	if !ok {
		return nil, "", errors.New("amount: segwit address has bad padding")
	}
	if !validProgram(version, program) {
		return nil, "", fmt.Errorf("amount: segwit address has a %d-byte version %d program", len(program), version)
	}
	op := version
	if version > 0 {
		op = 0x50 + version // OP_1..OP_16
	}
	return append([]byte{op, byte(len(program))}, program...), n.name, nil
}

// segwitEncode writes a segwit address: bech32 for version 0, bech32m
// after.
func segwitEncode(hrp string, version byte, program []byte) string {
	data := []byte{version}
	var acc uint32
	bits := 0
	for _, b := range program {
		acc = acc<<8 | uint32(b)
		bits += 8
		for bits >= 5 {
			bits -= 5
			data = append(data, byte(acc>>bits)&31)
		}
	}
	if bits > 0 {
		data = append(data, byte(acc<<(5-bits))&31)
	}
	c := uint32(1)
	if version > 0 {
		c = bech32mConst
	}
	chk := polymod(hrp, append(data, 0, 0, 0, 0, 0, 0)) ^ c
	var b strings.Builder
	b.WriteString(hrp)
	b.WriteByte('1')
	for _, v := range data {
		b.WriteByte(charset[v])
	}
	for i := 0; i < 6; i++ {
		b.WriteByte(charset[chk>>(5*(5-i))&31])
	}
	return b.String()
}

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

var base58Rev = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(base58Alphabet); i++ {
		t[base58Alphabet[i]] = int8(i)
	}
	return t
}()

// base58Script decodes a P2PKH or P2SH address: base58check of a version
// byte and a 20-byte hash.
func base58Script(addr string) ([]byte, string, error) {
	// 25 bytes take at most 35 characters: no longer string is one.
	if len(addr) == 0 || len(addr) > 35 {
		return nil, "", fmt.Errorf("amount: %q is not a bitcoin address", addr)
	}
	raw, ok := base58Decode(addr)
	if !ok {
		return nil, "", fmt.Errorf("amount: address %q has a character outside base58", addr)
	}
	if len(raw) != 25 {
		return nil, "", fmt.Errorf("amount: base58 address holds %d bytes, not 25", len(raw))
	}
	sum := checksum4(raw[:21])
	if string(sum[:]) != string(raw[21:]) {
		return nil, "", errors.New("amount: base58 address has a bad checksum")
	}
	hash := raw[1:21]
	for _, n := range []addrNet{mainNet, testNet} {
		switch raw[0] {
		case n.p2pkh:
			return append(append([]byte{0x76, 0xa9, 20}, hash...), 0x88, 0xac), n.name, nil
		case n.p2sh:
			return append(append([]byte{0xa9, 20}, hash...), 0x87), n.name, nil
		}
	}
	return nil, "", fmt.Errorf("amount: base58 address version 0x%02x is not P2PKH or P2SH", raw[0])
}

// base58Decode decodes s (short: the work is quadratic in its length).
func base58Decode(s string) ([]byte, bool) {
	zeros := 0
	for zeros < len(s) && s[zeros] == '1' {
		zeros++
	}
	var num []byte // big-endian
	for i := zeros; i < len(s); i++ {
		d := base58Rev[s[i]]
		if d < 0 {
			return nil, false
		}
		carry := int(d)
		for j := len(num) - 1; j >= 0; j-- {
			carry += 58 * int(num[j])
			num[j] = byte(carry)
			carry >>= 8
		}
		for ; carry > 0; carry >>= 8 {
			num = append([]byte{byte(carry)}, num...)
		}
	}
	return append(make([]byte, zeros), num...), true
}

// base58Check encodes a version byte and payload with their checksum.
func base58Check(version byte, payload []byte) string {
	raw := append([]byte{version}, payload...)
	sum := checksum4(raw)
	raw = append(raw, sum[:]...)
	zeros := 0
	for zeros < len(raw) && raw[zeros] == 0 {
		zeros++
	}
	var digits []byte // base 58, most significant first
	for _, b := range raw[zeros:] {
		carry := int(b)
		for j := len(digits) - 1; j >= 0; j-- {
			carry += 256 * int(digits[j])
			digits[j] = byte(carry % 58)
			carry /= 58
		}
		for ; carry > 0; carry /= 58 {
			digits = append([]byte{byte(carry % 58)}, digits...)
		}
	}
	var b strings.Builder
	b.WriteString(strings.Repeat("1", zeros))
	for _, d := range digits {
		b.WriteByte(base58Alphabet[d])
	}
	return b.String()
}

// checksum4 is base58check's checksum: the first 4 bytes of a double
// SHA-256.
func checksum4(b []byte) (sum [4]byte) {
	h := sha256.Sum256(b)
	h = sha256.Sum256(h[:])
	copy(sum[:], h[:4])
	return sum
}
