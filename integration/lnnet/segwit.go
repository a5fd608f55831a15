package lnnet

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// opTrue is the witness script every mined coin pays to: anyone can spend
// it with the witness [51], so the network needs no wallet to fund nodes.
var opTrue = []byte{0x51}

// opTrueScript is P2WSH(OP_TRUE): 0020 + sha256(51).
func opTrueScript() []byte {
	h := sha256.Sum256(opTrue)
	return append([]byte{0x00, 0x20}, h[:]...)
}

// MiningAddress is the regtest address of P2WSH(OP_TRUE), btcd's
// --miningaddr.
func MiningAddress() string {
	h := sha256.Sum256(opTrue)
	a, err := segwitEncode("bcrt", 0, h[:])
	if err != nil {
		panic(err) // a constant input
	}
	return a
}

const charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

const (
	bech32Const  = 1
	bech32mConst = 0x2bc830a3
)

func polymod(values []byte) uint32 {
	gen := [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
	chk := uint32(1)
	for _, v := range values {
		top := chk >> 25
		chk = (chk&0x1ffffff)<<5 ^ uint32(v)
		for i := 0; i < 5; i++ {
			if top>>i&1 == 1 {
				chk ^= gen[i]
			}
		}
	}
	return chk
}

func hrpExpand(hrp string) []byte {
	b := make([]byte, 0, 2*len(hrp)+1)
	for i := 0; i < len(hrp); i++ {
		b = append(b, hrp[i]>>5)
	}
	b = append(b, 0)
	for i := 0; i < len(hrp); i++ {
		b = append(b, hrp[i]&31)
	}
	return b
}

// convertBits regroups bits; pad adds zero bits to complete the last group.
func convertBits(data []byte, from, to uint, pad bool) ([]byte, error) {
	var acc, bits uint
	var out []byte
	maxv := uint(1)<<to - 1
	for _, v := range data {
		if uint(v)>>from != 0 {
			return nil, errors.New("lnnet: bad bech32 data")
		}
		acc = acc<<from | uint(v)
		bits += from
		for bits >= to {
			bits -= to
			out = append(out, byte(acc>>bits&maxv))
		}
	}
	if pad {
		if bits > 0 {
			out = append(out, byte(acc<<(to-bits)&maxv))
		}
	} else if bits >= from || acc<<(to-bits)&maxv != 0 {
		return nil, errors.New("lnnet: bad bech32 padding")
	}
	return out, nil
}

// segwitEncode makes a BIP173 (v0) or BIP350 (v1+) address.
func segwitEncode(hrp string, version byte, program []byte) (string, error) {
	conv, err := convertBits(program, 8, 5, true)
	if err != nil {
		return "", err
	}
	data := append([]byte{version}, conv...)
	c := uint32(bech32Const)
	if version > 0 {
		c = bech32mConst
	}
	values := append(hrpExpand(hrp), data...)
	mod := polymod(append(values, 0, 0, 0, 0, 0, 0)) ^ c
	var sb strings.Builder
	sb.WriteString(hrp + "1")
	for _, d := range data {
		sb.WriteByte(charset[d])
	}
	for i := 0; i < 6; i++ {
		sb.WriteByte(charset[mod>>(5*(5-i))&31])
	}
	return sb.String(), nil
}

// AddressScript decodes a segwit address (bech32 or bech32m, any network)
// to its scriptPubKey.
func AddressScript(addr string) ([]byte, error) {
	a := strings.ToLower(addr)
	if a != addr && strings.ToUpper(addr) != addr {
		return nil, fmt.Errorf("lnnet: mixed case in address %q", addr)
	}
	sep := strings.LastIndexByte(a, '1')
	if sep < 1 || len(a)-sep-1 < 7 {
		return nil, fmt.Errorf("lnnet: not a segwit address: %q", addr)
	}
	hrp := a[:sep]
	var data []byte
	for _, c := range a[sep+1:] {
		i := strings.IndexRune(charset, c)
		if i < 0 {
			return nil, fmt.Errorf("lnnet: bad character %q in address %q", c, addr)
		}
		data = append(data, byte(i))
	}
	c := polymod(append(hrpExpand(hrp), data...))
	version := data[0]
	if version > 16 || (version == 0) != (c == bech32Const) || (version > 0) != (c == bech32mConst) {
		return nil, fmt.Errorf("lnnet: bad checksum in address %q", addr)
	}
	program, err := convertBits(data[1:len(data)-6], 5, 8, false)
	if err != nil {
		return nil, fmt.Errorf("%w in %q", err, addr)
	}
	if len(program) < 2 || len(program) > 40 || version == 0 && len(program) != 20 && len(program) != 32 {
		return nil, fmt.Errorf("lnnet: bad witness program length %d in %q", len(program), addr)
	}
	op := version
	if version > 0 {
		op = 0x50 + version
	}
	return append([]byte{op, byte(len(program))}, program...), nil
}

// output is one transaction output.
type output struct {
	sat    int64
	script []byte
}

// spendOpTrue serializes a transaction spending P2WSH(OP_TRUE) output
// prev:vout to outs, and returns it with its txid.
func spendOpTrue(prev string, vout uint32, outs []output) (rawHex, txid string, err error) {
	p, err := hex.DecodeString(prev)
	if err != nil || len(p) != 32 {
		return "", "", fmt.Errorf("lnnet: bad txid %q", prev)
	}
	var body bytes.Buffer // everything but marker, flag and witness
	le32 := func(b *bytes.Buffer, v uint32) { binary.Write(b, binary.LittleEndian, v) }
	le32(&body, 2)
	body.WriteByte(1)
	for i := 31; i >= 0; i-- {
		body.WriteByte(p[i])
	}
	le32(&body, vout)
	body.WriteByte(0) // empty scriptSig
	le32(&body, 0xffffffff)
	body.WriteByte(byte(len(outs)))
	for _, o := range outs {
		binary.Write(&body, binary.LittleEndian, o.sat)
		body.WriteByte(byte(len(o.script)))
		body.Write(o.script)
	}
	b := body.Bytes()
	var tx bytes.Buffer
	tx.Write(b[:4])              // version
	tx.Write([]byte{0, 1})       // segwit marker and flag
	tx.Write(b[4:])              // inputs and outputs
	tx.Write([]byte{1, 1, 0x51}) // one witness item: the script OP_TRUE
	le32(&tx, 0)                 // locktime
	le32(&body, 0)
	h1 := sha256.Sum256(body.Bytes())
	h2 := sha256.Sum256(h1[:])
	for i, j := 0, 31; i < j; i, j = i+1, j-1 {
		h2[i], h2[j] = h2[j], h2[i]
	}
	return hex.EncodeToString(tx.Bytes()), hex.EncodeToString(h2[:]), nil
}
