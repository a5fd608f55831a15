package price

import (
	"errors"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// Checksum-valid regtest invoices (signatures are lightningd's business)
// and BOLT12 strings built for these tests.
const (
	inv1m  = "lnbcrt1m1p4s2w6dsp5kwehw4vuusp2eeflctf7wdtk8dugr28m9z3zfrcucvq8j893mluqpp5sq82g8yy5a4c2t3nn3ryf8czv02r2e7qqgryqpmyjy22uy2wqrdsdqlw3hk7gr90pcx2mnnd9mx2grsd9a85cgxqyjw5qcqp29qxpqysgq2jm0y82d2337q6h7u4jclv3ctf7wxhssud2n4z5u87ye7e2em6xp024md9gqdz4dnmjnfedrttf275hst7rsgwgh8n5qnrw8z6qmlnqqy580kh"
	invAny = "lnbcrt1p4s2w6dsp5kwehw4vuusp2eeflctf7wdtk8dugr28m9z3zfrcucvq8j893mluqpp5sq82g8yy5a4c2t3nn3ryf8czv02r2e7qqgryqpmyjy22uy2wqrdsdqlw3hk7gr90pcx2mnnd9mx2grsd9a85cgxqyjw5qcqp29qxpqysgq2jm0y82d2337q6h7u4jclv3ctf7wxhssud2n4z5u87ye7e2em6xp024md9gqdz4dnmjnfedrttf275hst7rsgwgh8n5qnrw8z6qmlnqq3n6wjm"
	lno2m  = "lno1pqzqh67zqq9qxar9vy"
	lnoUSD = "lno1qcp4256ypqpqraq2qd6x2cg"
	dest   = "021454364f0fb80ef0018b42605e9f17f4e6f13cdcbdc16dd1686970fb11fd3235"
	hash   = "80ea41c484a76b852e739c6449f8263d4356780002064077244a5e1151c0db"
)

func TestLightning(t *testing.T) {
	for _, tt := range []struct {
		name, method, params string
		want                 Payment
		err                  string
	}{
		{name: "invoice", method: "xpay", params: `{"invstring":"` + inv1m + `","maxfee":"7sat","retry_for":30}`,
			want: Payment{Amount: 100_000_000, Known: true, What: "invoice amount", Key: "bolt11", Subject: inv1m, Fee: 7000, Retry: 30 * time.Second}},
		{name: "positional pay, default fee", method: "pay", params: `["` + inv1m + `"]`,
			want: Payment{Amount: 100_000_000, Known: true, What: "invoice amount", Key: "bolt11", Subject: inv1m, Fee: 1_000_000, Retry: time.Minute}},
		{name: "amountless with amount", method: "pay", params: `["` + invAny + `","2000sat"]`,
			want: Payment{Amount: 2_000_000, Known: true, What: "payment amount", Key: "bolt11", Subject: invAny, Fee: 20_000, Retry: time.Minute, Amountless: []string{amount.Canonical(invAny)}}},
		{name: "amountless without amount", method: "xpay", params: `["` + invAny + `"]`},
		{name: "amountless at preapprove", method: "preapproveinvoice", params: `["` + invAny + `"]`,
			want: Payment{What: "payment amount", Key: "bolt11", Subject: invAny, NeedsAmount: true}},
		{name: "offer", method: "xpay", params: `{"invstring":"` + lno2m + `"}`,
			want: Payment{Amount: 200_000_000, Known: true, What: "invoice amount", Key: "offer", Subject: lno2m, Fee: 2_000_000, Retry: time.Minute}},
		{name: "offer in currency", method: "xpay", params: `{"invstring":"` + lnoUSD + `"}`, err: "the offer's amount is in USD, which cannot be priced in bitcoin"},
		{name: "BIP353 name", method: "xpay", params: `{"invstring":"bob@example.com","amount_msat":5000}`,
			want: Payment{Amount: 5000, What: "payment amount", Key: "invstring", Subject: "bob@example.com"}},
		{name: "keysend", method: "keysend", params: `{"destination":"` + dest + `","amount_msat":"1sat","maxfee":2}`,
			want: Payment{Amount: 1000, Known: true, What: "keysend amount", Key: "destination", Subject: dest, Dest: dest, Fee: 2, Retry: time.Minute}},
		{name: "keysend without amount", method: "keysend", params: `{"destination":"` + dest + `"}`,
			want: Payment{What: "keysend amount", Key: "destination", Subject: dest, Dest: dest}},
		{name: "invoice given twice", method: "xpay", params: `{"invstring":"` + inv1m + `","invstring":"` + lno2m + `"}`, err: "invstring is given twice"},
		{name: "bolt11 and invstring", method: "pay", params: `{"invstring":"` + inv1m + `","bolt11":"` + lno2m + `"}`, err: "bolt11 and invstring are both given"},
		{name: "a BIP353 name and an invoice", method: "pay", params: `{"invstring":"a@b","bolt11":"` + inv1m + `"}`, err: "bolt11 and invstring are both given"},
		{name: "amount given twice", method: "xpay", params: `{"invstring":"` + inv1m + `","amount_msat":1,"amount_msat":1}`, err: "amount_msat is given twice"},
		{name: "bad amount", method: "pay", params: `["` + invAny + `","lots"]`, err: "cannot read the amount"},
		{name: "bad invoice", method: "pay", params: `["lnbcrt1junk"]`, err: "cannot read the invoice"},
		{name: "bad maxfee", method: "xpay", params: `{"invstring":"` + inv1m + `","maxfee":"x"}`, err: "cannot read maxfee"},
		{name: "not params", method: "xpay", params: `"x"`, err: "cannot read the parameters"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Lightning(tt.method, jsonrpc.Value(tt.params), 0, true)
			if tt.err != "" {
				var e *Error
				assert.Assert(t, errors.As(err, &e))
				assert.ErrorContains(t, err, tt.err)
				return
			}
			assert.NilError(t, err)
			p.Hash = [32]byte{}
			assert.DeepEqual(t, p, tt.want)
		})
	}
}

func TestSend(t *testing.T) {
	h := `"` + hash + `00"`
	s, err := Send("sendpay", jsonrpc.Value(`{"route":[{"id":"02aa","amount_msat":1010},{"id":"02bb","amount_out_msat":"1sat"}],"payment_hash":`+h+`,"partid":2}`), 0)
	assert.NilError(t, err)
	assert.Equal(t, s.Sent, amount.MSat(1010))
	assert.Equal(t, s.Delivered, amount.MSat(1000))
	assert.Equal(t, s.LastHop, "02bb")
	assert.Equal(t, s.PartID, uint64(2))
	assert.Equal(t, s.GroupID, NoGroup)

	// A hop naming its node or amount twice: lightningd v26.06 reads
	// node_id_out and amount_out_msat first, older versions refuse it.
	// Never a send to ourselves unless all agree; the most leaves, the
	// least arrives.
	for route, want := range map[string]SendPrice{
		`[{"id":"02aa","amount_msat":9,"amount_out_msat":7,"msatoshi":8}]`:                                   {Sent: 9, Delivered: 7, LastHop: "02aa"},
		`[{"id":"02aa","amount_msat":9},{"node_id_out":"02bb","id":"02bb","amount_msat":5,"amount_msat":4}]`: {Sent: 9, Delivered: 4, LastHop: "02bb"},
		`[{"id":"02aa","amount_msat":9},{"node_id_out":"02cc","id":"02bb","amount_msat":5}]`:                 {Sent: 9},
		`[{"id":"02aa","amount_msat":9},{"id":"02bb","id":"02cc","amount_msat":5}]`:                          {Sent: 9},
		`[{"id":"02aa","amount_msat":9},{"id":"02bb","id":3,"amount_msat":5}]`:                               {Sent: 9},
		`[{"node_id_out":"02bb","amount_out_msat":9}]`:                                                       {Sent: 9, Delivered: 9, LastHop: "02bb"},
	} {
		s, err := Send("sendpay", jsonrpc.Value(`{"route":`+route+`,"payment_hash":`+h+`}`), 2606)
		assert.NilError(t, err, route)
		s.Hash, s.GroupID = [32]byte{}, 0
		assert.DeepEqual(t, s, want)
	}

	s, err = Send("injectpaymentonion", jsonrpc.Value(`{"onion":"00","payment_hash":`+h+`,"amount_msat":5000,"cltv_expiry":9,"partid":0,"groupid":3}`), 2604)
	assert.NilError(t, err)
	assert.Assert(t, !s.Unpriced)
	s, _ = Send("injectpaymentonion", jsonrpc.Value(`{"onion":"00","payment_hash":`+h+`,"amount_msat":5000,"cltv_expiry":9}`), 2606)
	assert.Assert(t, s.Unpriced)

	for _, bad := range []string{`{"route":[]}`, `{"payment_hash":"00","route":[]}`, `{"payment_hash":` + h + `,"route":{}}`, `{"payment_hash":` + h + `,"route":[{"id":"02aa"}]}`, `{"payment_hash":` + h + `,"partid":"x","route":[]}`} {
		_, err := Send("sendpay", jsonrpc.Value(bad), 0)
		assert.Assert(t, err != nil, bad)
	}
}
