package trust

import (
	"strings"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/payupto/pay-up-to/amount"
)

const nodeID = "021454364f0fb80ef0018b42605e9f17f4e6f13cdcbdc16dd1686970fb11fd3235"

func TestParse(t *testing.T) {
	for _, bad := range []string{"banana", "bcrt1qjunk", "02" + nodeID[2:65], "04" + nodeID[2:]} {
		_, err := Parse(bad)
		assert.ErrorContains(t, err, "neither a node id nor an address", bad)
	}
	l, err := Parse(" bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080 ," + "02" + "1454364F0FB80EF0018B42605E9F17F4E6F13CDCBDC16DD1686970FB11FD3235")
	assert.NilError(t, err)
	assert.Assert(t, l.HasNodes())
	assert.Assert(t, l.Node(nodeID), "node ids in any case")
	assert.Assert(t, !l.Node("03"+nodeID[2:]))
	script, _, err := amount.AddressScript("bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080")
	assert.NilError(t, err)
	assert.Assert(t, l.Script(script))
	assert.Equal(t, l.WrongNetwork("regtest"), "")
	assert.Assert(t, l.WrongNetwork("bitcoin") != "")

	empty, err := Parse("")
	assert.NilError(t, err)
	assert.Assert(t, !empty.HasNodes() && !empty.Script(script))
	var none *List
	assert.Assert(t, !none.HasNodes() && !none.Node(nodeID) && !none.Script(script) && none.WrongNetwork("regtest") == "")
}

// Regtest's base58 addresses are testnet's; its bech32 ones are bcrt1.
func TestBase58OnRegtest(t *testing.T) {
	l, err := Parse("mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn,2MzQwSSnBHWHqSAqtTVQ6v47XtaisrJa1Vc")
	assert.NilError(t, err)
	assert.Equal(t, l.WrongNetwork("regtest"), "")
	l, err = Parse("tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx")
	assert.NilError(t, err)
	assert.Assert(t, strings.Contains(l.WrongNetwork("regtest"), "this node is on regtest"))
}
