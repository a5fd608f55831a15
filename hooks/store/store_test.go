package store

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/payupto/pay-up-to/jsonrpc/jsonrpctest"
)

// TestDatastore: records live under ["pay-up-to", kind, name]; deleting
// what is not there is no error, any other failure is.
func TestDatastore(t *testing.T) {
	kept := map[string]string{}
	c := jsonrpctest.Client(func(method string, params json.RawMessage) string {
		var p struct {
			Key    []string
			String string
			Mode   string
		}
		json.Unmarshal(params, &p)
		switch method {
		case "datastore":
			if len(p.Key) != 3 || p.Key[0] != "pay-up-to" || p.Mode != "create-or-replace" {
				return jsonrpctest.Error(-32602, "bad key")
			}
			kept[p.Key[1]+"/"+p.Key[2]] = p.String
			return `{}`
		case "deldatastore":
			k := p.Key[1] + "/" + p.Key[2]
			if _, ok := kept[k]; !ok {
				return jsonrpctest.Error(1200, "does not exist")
			}
			delete(kept, k)
			return `{}`
		case "listdatastore":
			if len(p.Key) != 2 || p.Key[0] != "pay-up-to" {
				return jsonrpctest.Error(-32602, "bad key")
			}
			var ds []map[string]any
			for k, v := range kept {
				if strings.HasPrefix(k, p.Key[1]+"/") {
					ds = append(ds, map[string]any{"key": []string{"pay-up-to", p.Key[1], k[len(p.Key[1])+1:]}, "string": v})
				}
			}
			// A record without a string (hex only) is not ours.
			ds = append(ds, map[string]any{"key": []string{"pay-up-to", p.Key[1], "hex"}, "hex": "00"})
			b, _ := json.Marshal(map[string]any{"datastore": ds})
			return string(b)
		}
		return ""
	})
	defer c.Close()
	ctx := context.Background()
	d := Datastore{C: c}
	v1, v2 := "1,why", "x"
	assert.NilError(t, d.Put(ctx, "pause", "node", &v1))
	assert.NilError(t, d.Put(ctx, "a", "5", &v2))
	got, err := d.List(ctx, "pause")
	assert.NilError(t, err)
	assert.DeepEqual(t, got, map[string]string{"node": "1,why"})
	assert.NilError(t, d.Put(ctx, "pause", "node", nil))
	assert.NilError(t, d.Put(ctx, "pause", "node", nil), "deleting what is gone")
	got, err = d.List(ctx, "pause")
	assert.NilError(t, err)
	assert.DeepEqual(t, got, map[string]string{})

	c.Close()
	assert.ErrorContains(t, d.Put(ctx, "a", "5", nil), "")
	_, err = d.List(ctx, "a")
	assert.ErrorContains(t, err, "listdatastore")
}
