package operator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/hooks/options"
	"github.com/payupto/pay-up-to/hooks/pause"
	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/hooks/store"
	"github.com/payupto/pay-up-to/jsonrpc"
	"github.com/payupto/pay-up-to/jsonrpc/jsonrpctest"
)

// memory is a store.Store in memory, failing while broken.
type memory struct {
	m      map[string]string
	broken bool
}

func (s *memory) List(context.Context, string) (map[string]string, error) { return s.m, nil }
func (s *memory) Put(_ context.Context, kind, name string, v *string) error {
	if s.broken {
		return errors.New("the datastore is away")
	}
	if v == nil {
		delete(s.m, kind+"/"+name)
	} else {
		s.m[kind+"/"+name] = *v
	}
	return nil
}

func methods(t *testing.T, v price.Version, st store.Store) *Methods {
	l := ledger.New(time.Now)
	o := &options.Options{Ledger: l}
	assert.NilError(t, o.SetLimit("0.001btc"))
	assert.NilError(t, o.SetBudget("0.01btc/1d"))
	c := jsonrpctest.Client(func(method string, params json.RawMessage) string {
		if method == "createrune" {
			return `{"rune":"AAAA","unique_id":"9"}`
		}
		return ""
	})
	t.Cleanup(func() { c.Close() })
	return &Methods{Ledger: l, Options: o, Pauses: &pause.Book{}, Tally: &Tally{}, Version: "test",
		Conn: func() (*jsonrpc.Client, price.Version, store.Store) {
			if st == nil {
				return nil, v, nil
			}
			return c, v, st
		}}
}

// wait runs a deferred answer.
func wait(res any, err error) (any, error) {
	d, ok := res.(jsonrpc.Deferred)
	if !ok || err != nil {
		return res, err
	}
	type answer struct {
		res any
		err error
	}
	done := make(chan answer, 1)
	d(func(r any, e error) { done <- answer{r, e} })
	a := <-done
	return a.res, a.err
}

func TestStatus(t *testing.T) {
	m := methods(t, 2606, &memory{m: map[string]string{}})
	st := m.Status()
	assert.Equal(t, st.Version, "test")
	assert.Equal(t, *st.LimitMSat, uint64(100_000_000))
	assert.Equal(t, len(st.Budgets), 1)
	assert.Assert(t, st.Budgets[0].SpentMSat == nil, "not known before the records are read")
	assert.Equal(t, st.History, "not read yet (spent figures unknown)")
	m.Ledger.Load(nil, ledger.Saved{}, "02self")
	m.Tally.Approval("pay")
	m.Tally.Refusal("pay", 2100, json.RawMessage(`{"method":"pay","code":2100}`))
	st = m.Status()
	assert.Equal(t, *st.Budgets[0].SpentMSat, uint64(0))
	assert.Equal(t, st.History, "read")
	assert.Equal(t, st.Approved, uint64(1))
	assert.Equal(t, st.Refused, uint64(1))
	assert.Equal(t, len(st.RecentRefusals), 1)
}

// TestTallyBounded: refusals and approvals are counted by method and
// code, and past 64 method names the rest count as "other": an app can
// name any command.
func TestTallyBounded(t *testing.T) {
	var y Tally
	y.Approval("pay")
	y.Approval("pay")
	for i := range 100 {
		y.Refusal(fmt.Sprintf("cmd%d", i), 2103, json.RawMessage(`{"code":2103}`))
	}
	y.Refusal("pay", 2102, json.RawMessage(`{"code":2102}`))
	a, r := y.Counts()
	assert.DeepEqual(t, a, map[string]uint64{"pay": 2})
	assert.Equal(t, r[Refusals{"pay", 2102}], uint64(1))
	assert.Equal(t, r[Refusals{"cmd62", 2103}], uint64(1))
	assert.Equal(t, r[Refusals{"other", 2103}], uint64(37))
	assert.Equal(t, len(r), 65)
}

func TestAllowances(t *testing.T) {
	_, err := methods(t, 0, nil).ServeSetAllowance(jsonrpc.Value(`["5","1000sat"]`))
	assert.ErrorContains(t, err, "lightningd's version is not known yet")
	_, err = methods(t, 2302, nil).ServeSetAllowance(jsonrpc.Value(`["5","1000sat"]`))
	assert.ErrorContains(t, err, "CLN v23.08+")

	m := methods(t, 2606, &memory{m: map[string]string{}})
	for params, want := range map[string]string{
		`{"rune_id":"5","limit":"1000sat","rune_id":"6"}`: "rune_id is given twice",
		`{"rune_id":"5","maximum":"1000sat"}`:             "unknown parameter maximum",
		`["5","1.5sat"]`:                                  "limit:",
		`["5","1000sat","1sat"]`:                          "",
	} {
		_, err := m.ServeSetAllowance(jsonrpc.Value(params))
		if want == "" {
			assert.ErrorContains(t, err, "pay-up-to:", params)
			continue
		}
		assert.ErrorContains(t, err, want, params)
	}
	res, err := m.ServeSetAllowance(jsonrpc.Value(`["5","1000sat","5000sat/1d"]`))
	assert.NilError(t, err)
	a := res.(AllowanceStatus)
	assert.Equal(t, a.RuneID, "5")
	assert.Equal(t, *a.LimitMSat, uint64(1_000_000))
	assert.Equal(t, a.Budgets[0].BudgetMSat, uint64(5_000_000))
	assert.Assert(t, m.Ledger.Allowed("5"))

	res, err = wait(m.ServeCreateRune(jsonrpc.Value(`{"limit":"2000sat"}`)))
	assert.NilError(t, err)
	b, _ := json.Marshal(res)
	assert.Equal(t, string(b), `{"rune":"AAAA","unique_id":"9","rune_id":"9","limit":"0.00002btc","limit_msat":2000000,"budgets":[]}`)

	_, err = m.ServeDelAllowance(jsonrpc.Value(`["5"]`))
	assert.NilError(t, err)
	assert.Assert(t, !m.Ledger.Allowed("5"))
	_, err = m.ServeDelAllowance(jsonrpc.Value(`["5"]`))
	assert.ErrorContains(t, err, `rune "5" has no allowance`)
}

// TestPauses: a pause is kept before it is in force, and lifted the same
// way; one that cannot be kept is not made.
func TestPauses(t *testing.T) {
	_, err := methods(t, 2606, nil).ServePause(jsonrpc.Value(`[]`))
	assert.ErrorContains(t, err, "not connected to lightningd yet")

	st := &memory{m: map[string]string{}}
	m := methods(t, 2606, st)
	_, err = m.ServePause(jsonrpc.Value(`["x7"]`))
	assert.ErrorContains(t, err, `rune_id "x7" is not a rune's unique id`)
	_, err = wait(m.ServePause(jsonrpc.Value(`{"rune_id":"7","reason":"leaked"}`)))
	assert.NilError(t, err)
	x, ok := m.Pauses.Get("7")
	assert.Assert(t, ok)
	assert.Equal(t, st.m["pause/7"], x.Record())

	st.broken = true
	_, err = wait(m.ServePause(jsonrpc.Value(`[]`)))
	assert.ErrorContains(t, err, "cannot keep the pause in the datastore: the datastore is away")
	_, ok = m.Pauses.Get(pause.Node)
	assert.Assert(t, !ok, "a pause not kept is not in force")

	st.broken = false
	_, err = m.ServeResume(jsonrpc.Value(`[]`))
	assert.ErrorContains(t, err, "the node is not paused")
	res, err := wait(m.ServeResume(jsonrpc.Value(`["7"]`)))
	assert.NilError(t, err)
	assert.DeepEqual(t, res, map[string]any{"resumed": "rune 7"})
	assert.Equal(t, len(st.m), 0)
}
