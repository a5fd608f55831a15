package operator

import (
	"context"
	"encoding/hex"

	"github.com/payupto/pay-up-to/jsonrpc"
)

// Usage and description of pay-up-to-fleet-forget, for lightning-cli help.
const (
	FleetForgetUsage       = "node_id"
	FleetForgetDescription = "Drop a member of the node's fleet that is gone for good: what it still reserved counts as spent, since its payments may have completed."
)

// ServeFleetForget answers pay-up-to-fleet-forget node_id.
func (m *Methods) ServeFleetForget(params jsonrpc.Value) (any, error) {
	a, err := args(params, []string{"node_id"})
	if err != nil {
		return nil, err
	}
	if m.Fleet == nil {
		return nil, paramsError("the node is in no fleet (fleet-etcd)")
	}
	id := a["node_id"]
	if b, err := hex.DecodeString(id); err != nil || len(b) != 33 {
		return nil, paramsError("node_id %q is not a node id (66 hex digits)", id)
	}
	return deferred(func(ctx context.Context) (any, error) {
		ms, err := m.Fleet.Forget(ctx, id)
		if err != nil {
			return nil, err
		}
		m.logf("unusual", "forgot fleet member %s", id)
		return map[string]any{"forgotten": ms}, nil
	}), nil
}
