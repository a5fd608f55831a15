package amount

import (
	"fmt"
	"strings"
)

const charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

var charsetRev = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(charset); i++ {
		t[charset[i]] = int8(i)
	}
	return t
}()

// genTable[t] is the XOR of the BIP173 generators selected by the bits of
// t: one lookup per character instead of five tests.
var genTable = func() (t [32]uint32) {
	gen := [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
	for top := range t {
		for i := 0; i < 5; i++ {
			if (top>>i)&1 == 1 {
				t[top] ^= gen[i]
			}
		}
	}
	return t
}()

func polymod(hrp string, data []byte) uint32 {
	chk := uint32(1)
	step := func(v byte) {
		chk = (chk&0x1ffffff)<<5 ^ uint32(v) ^ genTable[chk>>25]
	}
	for i := 0; i < len(hrp); i++ {
		step(hrp[i] >> 5)
	}
	step(0)
	for i := 0; i < len(hrp); i++ {
		step(hrp[i] & 31)
	}
	for _, v := range data {
		step(v)
	}
	return chk
}

// bech32Decode splits s into its human-readable part and 5-bit data. With
// checksum it verifies and strips the BIP173 checksum (no length limit:
// invoices exceed 90 characters); BOLT12 strings carry none. s must be in
// one case; the hrp is returned in lower case.
func bech32Decode(s string, checksum bool) (hrp string, data []byte, err error) {
	var lower, upper bool
	for i := 0; i < len(s); i++ {
		lower = lower || s[i] >= 'a' && s[i] <= 'z'
		upper = upper || s[i] >= 'A' && s[i] <= 'Z'
	}
	if lower && upper {
		return "", nil, fmt.Errorf("amount: bech32 string mixes upper and lower case")
	}
	if upper {
		s = strings.ToLower(s)
	}
	sep := strings.LastIndexByte(s, '1')
	if sep < 1 {
		return "", nil, fmt.Errorf("amount: bech32 string has no separator")
	}
	hrp = s[:sep]
	for i := 0; i < len(hrp); i++ {
		if hrp[i] < 33 || hrp[i] > 126 {
			return "", nil, fmt.Errorf("amount: bech32 prefix has invalid character %q", hrp[i])
		}
	}
	rest := s[sep+1:]
	if checksum && len(rest) < 6 {
		return "", nil, fmt.Errorf("amount: bech32 string too short")
	}
	data = make([]byte, len(rest))
	for i := 0; i < len(rest); i++ {
		v := charsetRev[rest[i]]
		if v < 0 {
			return "", nil, fmt.Errorf("amount: invalid bech32 character %q", rest[i])
		}
		data[i] = byte(v)
	}
	if checksum {
		if polymod(hrp, data) != 1 {
			return "", nil, fmt.Errorf("amount: bad bech32 checksum")
		}
		data = data[:len(data)-6]
	}
	return hrp, data, nil
}

// bytes8 regroups 5-bit values into bytes, dropping the final padding
// bits: ok is false for more than 4 of them, zero tells whether they are
// all zero.
func bytes8(data []byte) (out []byte, ok, zero bool) {
	out = make([]byte, 0, len(data)*5/8)
	var acc uint32
	bits := 0
	for _, v := range data {
		acc = acc<<5 | uint32(v)
		bits += 5
		if bits >= 8 {
			bits -= 8
			out = append(out, byte(acc>>bits))
		}
	}
	return out, bits < 5, acc&(1<<bits-1) == 0
}
