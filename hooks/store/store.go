// Package store keeps the guard's own records (allowances, reservations,
// hours spent, pauses) where they outlive a restart: a Store, which is
// lightningd's datastore today.
package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/payupto/pay-up-to/jsonrpc"
)

// Store holds records by kind and name, as strings.
type Store interface {
	// List returns every record of kind, by name.
	List(ctx context.Context, kind string) (map[string]string, error)
	// Put writes a record, or deletes it when value is nil; deleting what
	// is not there is no error.
	Put(ctx context.Context, kind, name string, value *string) error
}

// Datastore is lightningd's datastore, under ["pay-up-to", kind, name].
type Datastore struct {
	C *jsonrpc.Client
}

// top is the datastore key every record is under.
const top = "pay-up-to"

// List reads ["pay-up-to", kind, *] with listdatastore.
func (d Datastore) List(ctx context.Context, kind string) (map[string]string, error) {
	var ds struct {
		Datastore []struct {
			Key    []string `json:"key"`
			String *string  `json:"string"`
		} `json:"datastore"`
	}
	if err := d.C.Call(ctx, "listdatastore", map[string]any{"key": []string{top, kind}}, &ds); err != nil {
		return nil, fmt.Errorf("listdatastore: %w", err)
	}
	out := make(map[string]string, len(ds.Datastore))
	for _, e := range ds.Datastore {
		if len(e.Key) == 3 && e.String != nil {
			out[e.Key[2]] = *e.String
		}
	}
	return out, nil
}

// noSuchKey is deldatastore's error for a key it does not have
// (DATASTORE_DEL_DOES_NOT_EXIST, common/jsonrpc_errors.h).
const noSuchKey = 1200

// Put writes with datastore (create-or-replace) or deletes with
// deldatastore.
func (d Datastore) Put(ctx context.Context, kind, name string, value *string) error {
	key := []string{top, kind, name}
	if value != nil {
		return d.C.Call(ctx, "datastore", map[string]any{"key": key, "string": *value, "mode": "create-or-replace"}, nil)
	}
	err := d.C.Call(ctx, "deldatastore", map[string]any{"key": key}, nil)
	if e, ok := errors.AsType[*jsonrpc.Error](err); ok && e.Code == noSuchKey {
		return nil
	}
	return err
}
