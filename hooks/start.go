package hooks

import (
	"context"
	"fmt"
	"time"

	"github.com/payupto/pay-up-to/hooks/fleet"

	"github.com/payupto/pay-up-to/hooks/pause"
	"github.com/payupto/pay-up-to/hooks/price"
	"github.com/payupto/pay-up-to/hooks/store"
	"github.com/payupto/pay-up-to/jsonrpc"
)

// Start connects to lightningd's RPC socket at path in the background,
// reads what the guard needs of it (until it can, every two seconds),
// then keeps the ledger and the store in step with lightningd. It never
// blocks: the plugin's own calls pass its own hook.
func (g *Guard) Start(path string) {
	go func() {
		for {
			c, err := jsonrpc.Dial(path, "pay-up-to")
			if err == nil {
				if err = g.connect(c); err == nil {
					g.logf("info", "payment records read")
					g.Records.Keep(c, store.Datastore{C: c})
					return
				}
				c.Close()
			}
			g.ledger.FailLoad(err)
			g.logf("unusual", "cannot read the node's payment records (payments are refused while a budget is set): %v", err)
			time.Sleep(2 * time.Second)
		}
	}()
}

// connect reads lightningd's version and xpay's part, the pauses, then
// the records; only then do the guard's decisions ask lightningd.
func (g *Guard) connect(c *jsonrpc.Client) error {
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
			g.intents.SetXpayTakesPay(*v)
		}
	}
	st := store.Datastore{C: c}
	// First what is paused: no spend should slip through a restart.
	kept, err := st.List(ctx, pause.Kind)
	if err != nil {
		return err
	}
	for key, rec := range kept {
		if x, ok := pause.Read(key, rec); ok {
			g.pauses.Set(key, &x)
			g.logf("unusual", "%s is paused since %s: %s", pause.Name(key), time.Unix(x.Since, 0).UTC().Format(time.RFC3339), x.Reason)
		}
	}
	// Before the records are read, so that once pay-up-to-status says so,
	// every new invoice is watched.
	g.preimages.Start(ctx, c)
	if err := g.Records.Load(ctx, c, st, info.ID); err != nil {
		return err
	}
	if f := g.fleet.Load(); f != nil {
		f.Join(info.ID) // what we spend is known: the fleet may see it
	}
	g.rpc.Store(c)
	return nil
}

// Ready checks the options at init and joins the fleet, if one is set,
// in the background; it returns why the guard cannot run, or "".
func (g *Guard) Ready(network string) string {
	if why := g.Options.Ready(network); why != "" {
		return why
	}
	c, ok, err := g.Fleet.Config()
	if err != nil {
		return err.Error()
	}
	if !ok {
		return ""
	}
	m, err := fleet.New(c, g.ledger, &g.pauses, g.logf)
	if err != nil {
		return err.Error()
	}
	g.fleet.Store(m)
	g.Operator.Fleet = m
	m.Start(context.Background())
	return ""
}
