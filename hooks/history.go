package hooks

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// Config is what the guard needs of lightningd's init.
type Config struct {
	RPCPath string // the RPC socket
}

// Start reads the node's payment records and datastore in the
// background, then keeps the datastore and the ledger in step with
// lightningd. It never blocks: the plugin's own calls pass its own hook.
func (g *Guard) Start(cfg Config) {
	g.init()
	go g.run(cfg)
}

// logf reports through lightningd's log, when there is one.
func (g *Guard) logf(level, format string, args ...any) {
	if g.Out != nil {
		g.Out.Log(level, format, args...)
	}
}

func (g *Guard) run(cfg Config) {
	var c *jsonrpc.Client
	for {
		var err error
		if c == nil {
			if c, err = jsonrpc.Dial(cfg.RPCPath, "pay-up-to"); err != nil {
				c = nil
			}
		}
		if err == nil {
			err = g.loadHistory(c)
		}
		if err == nil {
			break
		}
		g.ledger.FailLoad(err)
		g.logf("unusual", "cannot read the node's payment records (payments are refused while a budget is set): %v", err)
		if c != nil {
			c.Close()
			c = nil
		}
		time.Sleep(2 * time.Second)
	}
	g.logf("info", "payment records read")
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-g.ledger.Wake():
		case <-tick.C:
			for _, h := range g.ledger.Unconfirmed() {
				rows, err := listSendpays(c, map[string]any{"payment_hash": h.String()}, g.ledger.NodeID())
				if err != nil {
					g.logf("unusual", "listsendpays %s: %v", h, err)
					continue
				}
				g.ledger.Reconcile(h, rows)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		n, err := g.flush(ctx, c)
		if err != nil {
			g.logf("unusual", "cannot write the ledger to the datastore: %v", err)
		}
		cancel()
		if n >= 10_000 { // the first records of a big history: give back what writing them took
			debug.FreeOSMemory()
		}
	}
}

// flush writes the ledger's queued records to the datastore and returns
// how many it wrote; a failed write is queued again.
func (g *Guard) flush(ctx context.Context, c *jsonrpc.Client) (int, error) {
	var firstErr error
	n := 0
	for {
		ws := g.ledger.Writes(256)
		if len(ws) == 0 {
			return n, firstErr
		}
		n += len(ws)
		for _, w := range ws {
			if w.Kind == ledger.IndexKind && firstErr != nil {
				g.ledger.Retry(w) // it would claim a record that failed
				continue
			}
			key := []string{"pay-up-to", w.Kind, w.Name}
			var err error
			if w.Value == nil {
				err = c.Call(ctx, "deldatastore", map[string]any{"key": key}, nil)
				if e, ok := err.(*jsonrpc.Error); ok && e.Code == 1200 { // no such key
					err = nil
				}
			} else {
				err = c.Call(ctx, "datastore", map[string]any{"key": key, "string": *w.Value, "mode": "create-or-replace"}, nil)
			}
			if err != nil {
				g.ledger.Retry(w)
				if firstErr == nil {
					firstErr = err
				}
			}
		}
		if firstErr != nil {
			return n, firstErr
		}
	}
}

// loadHistory reads getinfo, the datastore and every payment record.
func (g *Guard) loadHistory(c *jsonrpc.Client) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var info struct {
		ID      string `json:"id"`
		Version string `json:"version"`
	}
	if err := c.Call(ctx, "getinfo", nil, &info); err != nil {
		return fmt.Errorf("getinfo: %w", err)
	}
	g.cln.Store(int32(price.ParseVersion(info.Version)))
	// Whether xpay takes pay over (v24.11+; default true since v26.06):
	// refusing a pay that xpay rewrites is ignored, and logged.
	var cfg struct {
		Configs map[string]struct {
			ValueBool *bool `json:"value_bool"`
		} `json:"configs"`
	}
	if c.Call(ctx, "listconfigs", map[string]any{"config": "xpay-handle-pay"}, &cfg) == nil {
		if v := cfg.Configs["xpay-handle-pay"].ValueBool; v != nil {
			g.xpayTakesPay.Store(*v)
		}
	}
	// First what is paused: no spend should slip through a restart.
	if err := g.loadPauses(ctx, c); err != nil {
		return err
	}
	// Before the records are read, so that once pay-up-to-status says so,
	// every new invoice is watched.
	g.watch.startWatching(ctx, c)
	sv, err := loadSaved(ctx, c)
	if err != nil {
		return err
	}
	ld := g.ledger.StartLoad(sv, info.ID)
	if err := listAllSendpays(ctx, c, info.ID, ld.From(), ld.Rows); err != nil {
		return err
	}
	ld.Done()
	// What was in flight when we stopped, which the rows read do not show.
	for _, h := range g.ledger.Pending() {
		rows, err := listSendpays(c, map[string]any{"payment_hash": h.String()}, info.ID)
		if err != nil {
			return err
		}
		g.ledger.Reconcile(h, rows)
	}
	debug.FreeOSMemory() // the pages read are garbage now
	g.creditPaid(ctx, c)
	g.rpc.Store(c)
	return nil
}

// loadSaved reads the allowances, parts and reservations kept in the
// datastore.
func loadSaved(ctx context.Context, c *jsonrpc.Client) (ledger.Saved, error) {
	var sv ledger.Saved
	var ds struct {
		Datastore []struct {
			Key    []string `json:"key"`
			String *string  `json:"string"`
		} `json:"datastore"`
	}
	for _, kind := range []string{"a", "p", "r", "h", ledger.IndexKind} {
		if err := c.Call(ctx, "listdatastore", map[string]any{"key": []string{"pay-up-to", kind}}, &ds); err != nil {
			return sv, fmt.Errorf("listdatastore: %w", err)
		}
		for _, e := range ds.Datastore {
			if len(e.Key) == 3 && e.String != nil {
				sv.Add(kind, e.Key[2], *e.String)
			}
		}
	}
	return sv, nil
}

// loadPauses reads the pauses kept in the datastore.
func (g *Guard) loadPauses(ctx context.Context, c *jsonrpc.Client) error {
	var ds struct {
		Datastore []struct {
			Key    []string `json:"key"`
			String *string  `json:"string"`
		} `json:"datastore"`
	}
	if err := c.Call(ctx, "listdatastore", map[string]any{"key": []string{"pay-up-to", "pause"}}, &ds); err != nil {
		return fmt.Errorf("listdatastore: %w", err)
	}
	for _, e := range ds.Datastore {
		if len(e.Key) != 3 || e.String == nil {
			continue
		}
		if x, ok := readPause(e.Key[2], *e.String); ok {
			g.pauses.set(e.Key[2], &x)
			g.logf("unusual", "%s is paused since %s: %s", pauseName(e.Key[2]), time.Unix(x.Since, 0).UTC().Format(time.RFC3339), x.Reason)
		}
	}
	return nil
}

// pageSize is how many listsendpays rows one call asks for (v23.11+).
const pageSize = 5000

// listAllSendpays reads the payment records from created_index from on, a
// page at a time where lightningd can (v23.11+), and every record where
// it cannot; each answer is read as it arrives, never held whole.
func listAllSendpays(ctx context.Context, c *jsonrpc.Client, self string, from uint64, load func([]ledger.Row)) error {
	page := make([]ledger.Row, 0, pageSize)
	for start, first := from, true; ; first = false {
		n := 0
		err := streamSendpays(ctx, c, self, map[string]any{"index": "created", "start": start, "limit": pageSize}, page, func(p []ledger.Row, idx uint64) {
			n += len(p)
			start = max(start, idx+1)
			load(p)
		})
		if e, ok := errors.AsType[*jsonrpc.Error](err); ok && e.Code == -32602 && first { // no index (before v23.11)
			return streamSendpays(ctx, c, self, map[string]any{}, page, func(p []ledger.Row, _ uint64) { load(p) })
		}
		if err != nil || n < pageSize {
			return err
		}
	}
}

// streamSendpays calls listsendpays with params and hands load its rows
// pageSize at a time, as the answer arrives, with the greatest
// created_index among them; page is the buffer to use.
func streamSendpays(ctx context.Context, c *jsonrpc.Client, self string, params map[string]any, page []ledger.Row, load func([]ledger.Row, uint64)) error {
	page = page[:0]
	var top uint64
	err := c.Stream(ctx, "listsendpays", params, "payments", func(v jsonrpc.Value) error {
		r, idx, err := parseRow(v, self)
		if err != nil {
			return err
		}
		top = max(top, idx)
		if page = append(page, r); len(page) == pageSize {
			load(page, top)
			page = page[:0]
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("listsendpays: %w", err)
	}
	if len(page) > 0 {
		load(page, top)
	}
	return nil
}

// rows calls fn for each row of a listsendpays answer.
func rows(raw jsonrpc.Value, self string, fn func(ledger.Row, uint64)) error {
	ps, ok := raw.Member("payments")
	if !ok || ps.Kind() != '[' {
		return fmt.Errorf("listsendpays: no payments")
	}
	var bad error
	err := ps.Elements(func(p jsonrpc.Value) bool {
		r, idx, err := parseRow(p, self)
		if err != nil {
			bad = fmt.Errorf("listsendpays: %w", err)
			return false
		}
		fn(r, idx)
		return true
	})
	if bad != nil {
		return bad
	}
	return err
}

// listSendpays reads the rows params select.
func listSendpays(c *jsonrpc.Client, params map[string]any, self string) ([]ledger.Row, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var raw jsonrpc.Value
	if err := c.Call(ctx, "listsendpays", params, &raw); err != nil {
		return nil, fmt.Errorf("listsendpays: %w", err)
	}
	var out []ledger.Row
	err := rows(raw, self, func(r ledger.Row, _ uint64) { out = append(out, r) })
	return out, err
}

// wireRow is a listsendpays row or a sendpay_* notification's payment.
// Amounts are numbers, or "…msat" strings with deprecated APIs (v23.02).
type wireRow struct {
	PaymentHash        string
	GroupID, PartID    uint64
	AmountSent, Amount jsonrpc.Value // amount_sent_msat, amount_msat
	CreatedAt          int64
	Status             string
	ToUs               bool // destination is our own node
	CreatedIndex       uint64
}

// parseRow reads a listsendpays row.
func parseRow(v jsonrpc.Value, self string) (ledger.Row, uint64, error) {
	w, err := readRow(v, self)
	if err != nil {
		return ledger.Row{}, 0, err
	}
	return w.row()
}

// readRow reads a row's members one by one (a busy node has hundreds of
// thousands of them).
func readRow(v jsonrpc.Value, self string) (wireRow, error) {
	var w wireRow
	var bad error
	num := func(k string, x jsonrpc.Value, dst *uint64) {
		n, err := strconv.ParseUint(strings.TrimSpace(string(x)), 10, 64)
		if err != nil {
			bad = fmt.Errorf("%s: not a number", k)
		}
		*dst = n
	}
	str := func(k string, x jsonrpc.Value, dst *string) {
		s, err := x.String()
		if err != nil {
			bad = fmt.Errorf("%s: %v", k, err)
		}
		*dst = s
	}
	var created uint64
	err := v.Members(func(k string, x jsonrpc.Value) bool {
		switch k {
		case "payment_hash":
			str(k, x, &w.PaymentHash)
		case "groupid":
			num(k, x, &w.GroupID)
		case "partid":
			num(k, x, &w.PartID)
		case "created_index":
			num(k, x, &w.CreatedIndex)
		case "created_at":
			num(k, x, &created)
		case "status":
			str(k, x, &w.Status)
		case "destination":
			w.ToUs = self != "" && len(x) == len(self)+2 && string(x[1:len(x)-1]) == self
		case "amount_sent_msat":
			w.AmountSent = x
		case "amount_msat":
			w.Amount = x
		}
		return bad == nil
	})
	if bad != nil {
		return w, bad
	}
	w.CreatedAt = int64(created)
	return w, err
}

func (w wireRow) row() (ledger.Row, uint64, error) {
	h, ok := ledger.ParseHash(w.PaymentHash)
	r := ledger.Row{Key: ledger.PartKey{Hash: h, GroupID: w.GroupID, PartID: w.PartID}, Created: w.CreatedAt, ToUs: w.ToUs, Index: w.CreatedIndex}
	if !ok {
		return r, 0, fmt.Errorf("payment_hash %q", w.PaymentHash)
	}
	var err error
	if r.Sent, err = price.MSat(w.AmountSent); err != nil {
		return r, 0, fmt.Errorf("amount_sent_msat: %w", err)
	}
	if len(w.Amount) > 0 {
		if r.Delivered, err = price.MSat(w.Amount); err != nil {
			return r, 0, fmt.Errorf("amount_msat: %w", err)
		}
	}
	switch w.Status {
	case "pending":
		r.State = ledger.Pending
	case "complete":
		r.State = ledger.Complete
	case "failed":
		r.State = ledger.Failed
	default:
		return r, 0, fmt.Errorf("status %q", w.Status)
	}
	return r, w.CreatedIndex, nil
}

// OnSendpay applies lightningd's sendpay_success and sendpay_failure
// notifications, which it sends for every part of every payment. A
// payment whose payee refused it for good (code 203) stops reserving.
func (g *Guard) OnSendpay(method string, params jsonrpc.Value) {
	var w wireRow
	var err error
	refused := false
	switch method {
	case "sendpay_success":
		v, _ := params.Member("sendpay_success")
		w, err = readRow(v, g.ledger.NodeID())
	case "sendpay_failure":
		v, _ := params.Member("sendpay_failure")
		d, _ := v.Member("data")
		w, err = readRow(d, g.ledger.NodeID())
		w.Status = "failed"
		code, _ := v.Member("code")
		refused = string(code) == "203" // PAY_DESTINATION_PERM_FAIL
	default:
		return
	}
	if err != nil {
		return // not a payment row
	}
	r, _, err := w.row()
	if err != nil {
		g.logf("unusual", "cannot read %s: %v", method, err)
		return
	}
	g.ledger.Resolve(r)
	if refused {
		g.ledger.Ended(r.Key.Hash)
	}
}

// incorrectOrUnknown is BOLT 4's incorrect_or_unknown_payment_details
// (PERM|15): from the final node, xpay gives the payment up
// (plugins/xpay/xpay.c, v26.06.6).
const incorrectOrUnknown = 0x400f

// OnPayEnd applies the notifications payers send of their own: legacy
// pay's and keysend's pay_failure (the payment ended, every part final),
// and xpay's pay_part_end for a part the payee refused for good. Either
// ends the payment's reservation. Plugins' notifications reach a
// subscriber as {"origin","payload"} before v25.09, unwrapped in
// params since; pay_failure nests its fields under its name.
func (g *Guard) OnPayEnd(method string, params jsonrpc.Value) {
	v := params
	if p, ok := v.Member("payload"); ok {
		v = p
	}
	if p, ok := v.Member(method); ok {
		v = p
	}
	if method == "pay_part_end" {
		status, _ := v.Member("status")
		code, _ := v.Member("error_code")
		_, onTheWay := v.Member("failed_short_channel_id")
		if s, _ := status.String(); s != "failure" || onTheWay || strings.TrimSpace(string(code)) != strconv.Itoa(incorrectOrUnknown) {
			return
		}
	} else if method != "pay_failure" {
		return
	}
	hv, _ := v.Member("payment_hash")
	s, _ := hv.String()
	if h, ok := ledger.ParseHash(s); ok {
		g.ledger.Ended(h)
	}
}
