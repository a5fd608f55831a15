package preimages

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/jsonrpc"
	"github.com/payupto/pay-up-to/jsonrpc/jsonrpctest"
)

// TestSecret: only an unpaid invoice made after the watch started, with
// no preimage a caller gave, has a secret preimage.
func TestSecret(t *testing.T) {
	pre := func(b byte) (string, ledger.Hash) {
		p := make([]byte, 32)
		p[0] = b
		return hex.EncodeToString(p), sha256.Sum256(p)
	}
	invoices := map[string]string{} // hash → status,created_index
	c := jsonrpctest.Client(func(method string, params json.RawMessage) string {
		var p struct {
			PaymentHash string `json:"payment_hash"`
		}
		json.Unmarshal(params, &p)
		switch method {
		case "wait":
			return `{"created":10}`
		case "listinvoices":
			if inv, ok := invoices[p.PaymentHash]; ok {
				return `{"invoices":[` + inv + `]}`
			}
			return `{"invoices":[]}`
		}
		return ""
	})
	defer c.Close()
	ctx := context.Background()
	var w Watch
	_, h1 := pre(1)
	ok, why := w.Secret(ctx, c, h1)
	assert.Assert(t, !ok)
	assert.Equal(t, why, "pay-up-to cannot tell who chose its preimage: ")
	w.Start(ctx, c)
	for i, tt := range []struct {
		status  string
		created int
		chosen  bool
		want    string
	}{
		{"unpaid", 11, false, ""},
		{"unpaid", 11, true, "a caller chose its preimage"},
		{"unpaid", 10, false, "its invoice was made before pay-up-to started watching invoices"},
		{"paid", 11, false, "its invoice is paid, so its preimage is known"},
	} {
		p, h := pre(byte(10 + i))
		invoices[h.String()] = fmt.Sprintf(`{"status":%q,"created_index":%d}`, tt.status, tt.created)
		if tt.chosen {
			w.Note(jsonrpc.Value(`{"amount_msat":1,"label":"x","description":"d","preimage":"`+p+`"}`), []string{"amount_msat", "label", "description", "expiry", "fallbacks", "preimage"})
		}
		ok, why := w.Secret(ctx, c, h)
		assert.Equal(t, ok, tt.want == "", "%+v", tt)
		assert.Equal(t, why, tt.want)
	}
	_, h := pre(99)
	ok, why = w.Secret(ctx, c, h)
	assert.Assert(t, !ok)
	assert.Equal(t, why, "this node has no invoice for it")
}

func TestChosen(t *testing.T) {
	assert.Assert(t, Chosen("invoice") && Chosen("createinvoice") && !Chosen("pay"))
}
