package lnnet

import (
	"encoding/hex"
	"testing"

	"gotest.tools/v3/assert"
)

// BIP173 and BIP350 vectors, and the mining address.
func TestAddressScript(t *testing.T) {
	for _, tt := range []struct{ addr, script, err string }{
		{"BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "0014751e76e8199196d454941c45d1b3a323f1433bd6", ""},
		{"tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262", ""},
		{"bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y", "5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6", ""},
		{"BC1SW50QGDZ25J", "6002751e", ""},
		{"bcrt1qft5p2uhsdcdc3l2ua4ap5qqfg4pjaqlp250x7us7a8qqhrxrxfsqseac85", "00204ae81572f06e1b88fd5ced7a1a000945432e83e1551e6f721ee9c00b8cc33260", ""},
		{"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd", "", "checksum"}, // bech32m checksum on v0... wrong encoding
		{"tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sL5k7", "", "mixed case"},
		{"bc1zw508d6qejxtdg4y5r3zarqfsj7", "", "checksum"},
	} {
		s, err := AddressScript(tt.addr)
		if tt.err != "" {
			assert.ErrorContains(t, err, tt.err, tt.addr)
			continue
		}
		assert.NilError(t, err, tt.addr)
		assert.Equal(t, hex.EncodeToString(s), tt.script, tt.addr)
	}
	assert.Equal(t, MiningAddress(), "bcrt1qft5p2uhsdcdc3l2ua4ap5qqfg4pjaqlp250x7us7a8qqhrxrxfsqseac85")
	assert.Equal(t, hex.EncodeToString(opTrueScript()), "00204ae81572f06e1b88fd5ced7a1a000945432e83e1551e6f721ee9c00b8cc33260")
}
