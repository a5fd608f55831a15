package options

import (
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/hooks/ledger"
)

func TestOptions(t *testing.T) {
	o := &Options{Ledger: ledger.New(time.Now)}
	_, ok := o.Limit()
	assert.Assert(t, !ok)
	assert.Equal(t, o.Configured(), "no limit or budget is configured yet")
	assert.Equal(t, o.Ready("regtest"), "option limit is required unless budget is set (e.g. limit=0.001btc or budget=0.01btc/1d)")

	assert.ErrorContains(t, o.SetLimit("1.5sat"), "")
	assert.NilError(t, o.SetLimit("0.001btc"))
	lim, ok := o.Limit()
	assert.Assert(t, ok)
	assert.Equal(t, lim, amount.MSat(100_000_000))
	assert.ErrorContains(t, o.SetLimit("x"), "")
	lim, _ = o.Limit()
	assert.Equal(t, lim, amount.MSat(100_000_000), "a bad limit keeps the old one")
	assert.Equal(t, o.Configured(), "")

	assert.ErrorContains(t, o.CheckBudget("1btc"), "")
	assert.NilError(t, o.SetBudget("1btc/1d"))
	assert.Assert(t, o.Ledger.HasBudget())

	assert.ErrorContains(t, o.SetRuneRequired("yes"), `"yes" is not true or false`)
	assert.NilError(t, o.SetRuneRequired("true"))
	assert.Assert(t, o.RuneRequired())

	// An address of another network is refused once the network is known.
	const mainnet = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
	o = &Options{Ledger: o.Ledger}
	assert.NilError(t, o.SetLimit("1sat"))
	assert.NilError(t, o.CheckTrusted(mainnet))
	assert.Equal(t, o.Ready("regtest"), "")
	assert.ErrorContains(t, o.SetTrusted(mainnet), "")
	assert.Assert(t, o.Trusted() == nil, "a refused list is not applied")
	assert.NilError(t, o.SetTrusted("bcrt1qxmqzw5yv4mcnfm6mug3vt3s4f0mla248eteghm"))
	assert.Assert(t, o.Trusted() != nil)
}
