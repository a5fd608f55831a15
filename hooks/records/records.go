// Package records keeps the ledger in step with lightningd's records of
// what left the node (listsendpays, the sendpay and payers'
// notifications, paid invoices) and writes the ledger's own records to a
// store.
package records

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/payupto/pay-up-to/hooks/ledger"
	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/hooks/store"
	"github.com/payupto/pay-up-to/hooks/trust"
	"github.com/payupto/pay-up-to/hooks/wallet"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// Keeper reads lightningd's records into Ledger.
type Keeper struct {
	Ledger *ledger.Ledger
	// Log reports through lightningd's log.
	Log func(level, format string, args ...any)
	// Wallet, if set, is lightningd's wallet as the guard asks it, and
	// the trusted destinations, for counting at a first start the
	// on-chain spends made before it (chain.go).
	Wallet func(c *jsonrpc.Client) (wallet.Node, *trust.List)
}

// savedKinds are the kinds of the ledger's records in the store.
var savedKinds = []string{"a", "p", "r", "h", ledger.IndexKind}

// Load reads the ledger's records from st, then every payment record of
// node self that they do not hold (at a first start, the wallet's
// on-chain spends too), then what was in flight when the guard stopped,
// then which payments to ourselves our invoices received.
func (k *Keeper) Load(ctx context.Context, c *jsonrpc.Client, st store.Store, self string) error {
	var sv ledger.Saved
	for _, kind := range savedKinds {
		recs, err := st.List(ctx, kind)
		if err != nil {
			return err
		}
		for name, v := range recs {
			sv.Add(kind, name, v)
		}
	}
	unseen := sv.Unseen(k.Ledger)
	ld := k.Ledger.StartLoad(sv, self)
	if err := listAll(ctx, c, self, ld.From(), ld.Rows); err != nil {
		return err
	}
	if unseen && k.Wallet != nil {
		w, t := k.Wallet(c)
		if err := k.countChain(ctx, w, t, ld); err != nil {
			return err
		}
	}
	ld.Done()
	// What was in flight when we stopped, which the rows read do not show.
	for _, h := range k.Ledger.Pending() {
		if err := k.reconcile(ctx, c, h); err != nil {
			return err
		}
	}
	debug.FreeOSMemory() // the pages read are garbage now
	k.creditPaid(ctx, c)
	return nil
}

// Keep runs for good once Load is done: it asks lightningd about the
// payments whose end the ledger has not seen, every second, and writes
// the ledger's queued records to st as they come.
func (k *Keeper) Keep(c *jsonrpc.Client, st store.Store) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-k.Ledger.Wake():
		case <-tick.C:
			for _, h := range k.Ledger.Unconfirmed() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				if err := k.reconcile(ctx, c, h); err != nil {
					k.Log("unusual", "%v", err)
				}
				cancel()
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		n, err := k.flush(ctx, st)
		if err != nil {
			k.Log("unusual", "cannot write the ledger to the datastore: %v", err)
		}
		cancel()
		if n >= 10_000 { // the first records of a big history: give back what writing them took
			debug.FreeOSMemory()
		}
	}
}

// reconcile reads the rows of one payment hash into the ledger.
func (k *Keeper) reconcile(ctx context.Context, c *jsonrpc.Client, h ledger.Hash) error {
	var raw jsonrpc.Value
	if err := c.Call(ctx, "listsendpays", map[string]any{"payment_hash": h.String()}, &raw); err != nil {
		return fmt.Errorf("listsendpays %s: %w", h, err)
	}
	var out []ledger.Row
	if err := rows(raw, k.Ledger.NodeID(), func(r ledger.Row, _ uint64) { out = append(out, r) }); err != nil {
		return err
	}
	k.Ledger.Reconcile(h, out)
	return nil
}

// flush writes the ledger's queued records to st and returns how many it
// wrote; a failed write is queued again.
func (k *Keeper) flush(ctx context.Context, st store.Store) (int, error) {
	var firstErr error
	n := 0
	for {
		ws := k.Ledger.Writes(256)
		if len(ws) == 0 {
			return n, firstErr
		}
		n += len(ws)
		for _, w := range ws {
			if w.Kind == ledger.IndexKind && firstErr != nil {
				k.Ledger.Retry(w) // it would claim a record that failed
				continue
			}
			if err := st.Put(ctx, w.Kind, w.Name, w.Value); err != nil {
				k.Ledger.Retry(w)
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

// pageSize is how many listsendpays rows one call asks for (v23.11+).
const pageSize = 5000

// listAll reads the payment records from created_index from on, a page
// at a time where lightningd can (v23.11+), and every record where it
// cannot; each answer is read as it arrives, never held whole.
func listAll(ctx context.Context, c *jsonrpc.Client, self string, from uint64, load func([]ledger.Row)) error {
	page := make([]ledger.Row, 0, pageSize)
	for start, first := from, true; ; first = false {
		n := 0
		err := stream(ctx, c, self, map[string]any{"index": "created", "start": start, "limit": pageSize}, page, func(p []ledger.Row, idx uint64) {
			n += len(p)
			start = max(start, idx+1)
			load(p)
		})
		if e, ok := errors.AsType[*jsonrpc.Error](err); ok && e.Code == -32602 && first { // no index (before v23.11)
			return stream(ctx, c, self, map[string]any{}, page, func(p []ledger.Row, _ uint64) { load(p) })
		}
		if err != nil || n < pageSize {
			return err
		}
	}
}

// stream calls listsendpays with params and hands load its rows pageSize
// at a time, as the answer arrives, with the greatest created_index
// among them; page is the buffer to use.
func stream(ctx context.Context, c *jsonrpc.Client, self string, params map[string]any, page []ledger.Row, load func([]ledger.Row, uint64)) error {
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

// creditPaid asks lightningd whether our invoices received the payments
// to ourselves that the records read at start do not settle.
func (k *Keeper) creditPaid(ctx context.Context, c *jsonrpc.Client) {
	for _, h := range k.Ledger.Uncredited() {
		var res struct {
			Invoices []struct {
				Status   string        `json:"status"`
				Received jsonrpc.Value `json:"amount_received_msat"`
			} `json:"invoices"`
		}
		if err := c.Call(ctx, "listinvoices", map[string]any{"payment_hash": h.String()}, &res); err != nil {
			k.Log("unusual", "listinvoices %s: %v", h, err)
			continue
		}
		if len(res.Invoices) == 1 && res.Invoices[0].Status == "paid" {
			if m, err := price.MSat(res.Invoices[0].Received); err == nil {
				k.Ledger.Received(h, m)
			}
		}
	}
}
