package records

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/jsonrpc"
	"github.com/payupto/pay-up-to/jsonrpc/jsonrpctest"
)

// memory is a Store in memory.
type memory struct {
	mu sync.Mutex
	m  map[[2]string]string
}

func (s *memory) List(_ context.Context, kind string) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for k, v := range s.m {
		if k[0] == kind {
			out[k[1]] = v
		}
	}
	return out, nil
}

func (s *memory) Put(_ context.Context, kind, name string, value *string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if value == nil {
		delete(s.m, [2]string{kind, name})
	} else {
		s.m[[2]string{kind, name}] = *value
	}
	return nil
}

// node answers listsendpays with n complete payments of 1000 msat sent
// each, paged by created_index where paged (v23.11+), else whole.
func node(n int, paged bool, now int64) *jsonrpc.Client {
	return jsonrpctest.Client(func(method string, params json.RawMessage) string {
		if method != "listsendpays" {
			return ""
		}
		var p struct {
			Index       string
			Start       uint64
			Limit       uint64
			PaymentHash string `json:"payment_hash"`
		}
		json.Unmarshal(params, &p)
		start, end := uint64(0), uint64(n)
		switch {
		case p.PaymentHash != "":
			return `{"payments":[]}`
		case p.Index != "" && !paged:
			return jsonrpctest.Error(-32602, "Unknown parameter index")
		case p.Index != "":
			start = max(p.Start, 1) - 1 // created_index ≥ start
			end = min(start+p.Limit, uint64(n))
		}
		var b strings.Builder
		b.WriteString(`{"payments":[`)
		for i := start; i < end; i++ {
			if i > start {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"created_index":%d,"payment_hash":"%064x","groupid":1,"partid":0,"destination":"02aa","amount_msat":999,"amount_sent_msat":1000,"created_at":%d,"status":"complete"}`, i+1, i+1, now)
		}
		b.WriteString(`]}`)
		return b.String()
	})
}

// TestLoad: every row is read, paged or not; the ledger's records go to
// the store, and a restart from them reads only what is new.
func TestLoad(t *testing.T) {
	now := time.Now().Unix()
	for _, paged := range []bool{true, false} {
		c := node(12_345, paged, now)
		k := &Keeper{Ledger: ledger.New(time.Now), Log: func(_, f string, a ...any) { t.Logf(f, a...) }}
		ws, _ := ledger.ParseBudget("1btc/1d")
		k.Ledger.SetWindows(ws)
		st := &memory{m: map[[2]string]string{}}
		assert.NilError(t, k.Load(context.Background(), c, st, "02self"))
		assert.Equal(t, k.Ledger.Status().Windows[0].Spent, amount.MSat(12_345_000), "paged %v", paged)
		n, err := k.flush(context.Background(), st)
		assert.NilError(t, err)
		assert.Assert(t, n > 0 && len(st.m) > 0)

		k2 := &Keeper{Ledger: ledger.New(time.Now), Log: func(_, f string, a ...any) { t.Logf(f, a...) }}
		k2.Ledger.SetWindows(ws)
		assert.NilError(t, k2.Load(context.Background(), c, st, "02self"))
		assert.Equal(t, k2.Ledger.Status().Windows[0].Spent, k.Ledger.Status().Windows[0].Spent)
		c.Close()
	}
}

// FuzzRow: a listsendpays row that parses has a state and the hash it gave.
func FuzzRow(f *testing.F) {
	h := fmt.Sprintf("%064x", 1)
	f.Add(`{"created_index":1,"payment_hash":"` + h + `","groupid":1,"partid":2,"amount_msat":100,"amount_sent_msat":"101msat","created_at":5,"status":"complete","destination":"02aa"}`)
	f.Add(`{"payment_hash":"` + h + `","amount_sent_msat":1,"status":"failed"}`)
	f.Fuzz(func(t *testing.T, s string) {
		r, _, err := parseRow(jsonrpc.Value(s), "02aa")
		if err != nil {
			return
		}
		if r.State > ledger.Failed || !strings.Contains(strings.ToLower(s), r.Key.Hash.String()) {
			t.Fatalf("%q: %+v", s, r)
		}
	})
}

// TestCreditPaid: a payment to ourselves read at start counts only its
// fee once listinvoices says our invoice received it (amounts as
// numbers, v23.05+, or "…msat" strings, v23.02).
func TestCreditPaid(t *testing.T) {
	for _, received := range []string{`1000000`, `"1000000msat"`} {
		now := time.Now().Unix()
		h := fmt.Sprintf("%064x", 7)
		c := jsonrpctest.Client(func(method string, params json.RawMessage) string {
			switch method {
			case "listsendpays":
				return fmt.Sprintf(`{"payments":[{"created_index":1,"payment_hash":"%s","groupid":1,"partid":0,"destination":"02self","amount_msat":1000000,"amount_sent_msat":1001000,"created_at":%d,"status":"complete"}]}`, h, now)
			case "listinvoices":
				return `{"invoices":[{"status":"paid","amount_received_msat":` + received + `}]}`
			}
			return ""
		})
		k := &Keeper{Ledger: ledger.New(time.Now), Log: func(_, f string, a ...any) { t.Logf(f, a...) }}
		ws, _ := ledger.ParseBudget("1btc/1d")
		k.Ledger.SetWindows(ws)
		assert.NilError(t, k.Load(context.Background(), c, &memory{m: map[[2]string]string{}}, "02self"))
		assert.Equal(t, k.Ledger.Status().Windows[0].Spent, amount.MSat(1000), "received %s", received)
		c.Close()
	}
}
