package trust

import (
	"context"
	"encoding/json"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/jsonrpc/jsonrpctest"
)

// TestPays: the payee is what lightningd's decode vouches for; an
// invoice it finds invalid, or one to ourselves, pays no trusted node.
func TestPays(t *testing.T) {
	const ours, self = "03aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "02bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	c := jsonrpctest.Client(func(method string, params json.RawMessage) string {
		var p struct{ String string }
		json.Unmarshal(params, &p)
		switch p.String {
		case "lnbcrt-ours":
			return `{"type":"bolt11 invoice","valid":true,"payee":"` + ours + `"}`
		case "lno-ours":
			return `{"type":"bolt12 offer","valid":true,"offer_issuer_id":"` + ours + `"}`
		case "lnbcrt-forged":
			return `{"type":"bolt11 invoice","valid":false,"payee":"` + ours + `"}`
		case "lnbcrt-self":
			return `{"type":"bolt11 invoice","valid":true,"payee":"` + self + `"}`
		}
		return `{"type":"bolt11 invoice","valid":true,"payee":"02cc"}`
	})
	defer c.Close()
	tl, err := Parse(ours + "," + self)
	assert.NilError(t, err)
	ctx := context.Background()
	for _, tt := range []struct {
		p    price.Payment
		want bool
	}{
		{price.Payment{Key: "bolt11", Subject: "lnbcrt-ours"}, true},
		{price.Payment{Key: "offer", Subject: "lno-ours"}, true},
		{price.Payment{Key: "destination", Dest: ours}, true},
		{price.Payment{Key: "bolt11", Subject: "lnbcrt-forged"}, false},
		{price.Payment{Key: "bolt11", Subject: "lnbcrt-self"}, false},
		{price.Payment{Key: "bolt11", Subject: "lnbcrt-other"}, false},
		{price.Payment{Key: "destination", Dest: "02cc"}, false},
	} {
		assert.Equal(t, tl.Pays(ctx, c, tt.p, self), tt.want, "%+v", tt.p)
	}
	var none *List
	assert.Assert(t, !none.Pays(ctx, c, price.Payment{Key: "destination", Dest: ours}, self))
}
