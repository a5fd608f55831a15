// Chainbackend is a Bitcoin backend plugin for lightningd that talks to
// btcd instead of bitcoind: it answers lightningd's five backend methods
// (getchaininfo, estimatefees, getrawblockbyheight, getutxout,
// sendrawtransaction) from btcd's JSON-RPC. Start lightningd with
//
//	--disable-plugin=bcli --plugin=/path/to/chainbackend
//	--btcd-rpcconnect=127.0.0.1:PORT --btcd-rpcuser=USER --btcd-rpcpassword=PASS
//
// Fee estimates are fixed (regtest has no fee market).
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"strconv"
	"strings"

	"github.com/payupto/pay-up-to/integration/lnnet"
	"github.com/payupto/pay-up-to/jsonrpc"
)

type method struct {
	Name        string `json:"name"`
	Usage       string `json:"usage"`
	Description string `json:"description"`
}

type option struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Description string `json:"description"`
}

var options = []option{
	{"btcd-rpcconnect", "string", "btcd's JSON-RPC address, host:port"},
	{"btcd-rpcuser", "string", "btcd's --rpcuser"},
	{"btcd-rpcpassword", "string", "btcd's --rpcpass"},
}

// backend answers the backend methods from btcd.
type backend struct {
	btcd lnnet.BtcdClient
}

func main() {
	log.SetPrefix("chainbackend: ")
	log.SetFlags(0)
	s := jsonrpc.NewServer(os.Stdout, 0)
	b := &backend{}
	answers := map[string]func(jsonrpc.Value) (any, error){
		"getchaininfo":        b.getchaininfo,
		"estimatefees":        b.estimatefees,
		"getrawblockbyheight": b.getrawblockbyheight,
		"getutxout":           b.getutxout,
		"sendrawtransaction":  b.sendrawtransaction,
	}
	var methods []method
	for name, answer := range answers {
		methods = append(methods, method{Name: name, Usage: "", Description: "btcd backend"})
		s.Handle(name, jsonrpc.HandlerFunc(answer))
	}
	s.Handle("getmanifest", jsonrpc.HandlerFunc(func(jsonrpc.Value) (any, error) {
		return map[string]any{"options": options, "rpcmethods": methods, "dynamic": false}, nil
	}))
	s.Handle("init", jsonrpc.HandlerFunc(b.init))
	if err := s.Serve(os.Stdin); err != nil {
		log.Fatal(err)
	}
}

func (b *backend) init(p jsonrpc.Value) (any, error) {
	opts, _ := p.Member("options")
	for name, dst := range map[string]*string{"btcd-rpcconnect": &b.btcd.Addr, "btcd-rpcuser": &b.btcd.User, "btcd-rpcpassword": &b.btcd.Password} {
		if v, ok := opts.Member(name); ok {
			*dst, _ = v.String()
		}
	}
	if b.btcd.Addr == "" {
		return map[string]any{"disable": "chainbackend: --btcd-rpcconnect is required"}, nil
	}
	return struct{}{}, nil
}

// failure turns a btcd error into the JSON-RPC error lightningd logs.
func failure(method string, err error) error {
	return fmt.Errorf("chainbackend: %s: %w", method, err)
}

func (b *backend) getchaininfo(jsonrpc.Value) (any, error) {
	var info struct {
		Chain   string
		Blocks  int64
		Headers int64
	}
	if err := b.btcd.Call("getblockchaininfo", nil, &info); err != nil {
		return nil, failure("getchaininfo", err)
	}
	return map[string]any{"chain": info.Chain, "headercount": info.Headers, "blockcount": info.Blocks, "ibd": false}, nil
}

// estimatefees answers both shapes: feerate_floor and feerates (v23.05+)
// and the named rates (older), in sat per kVB.
func (b *backend) estimatefees(jsonrpc.Value) (any, error) {
	r := map[string]any{
		"feerate_floor": 1000,
		"feerates":      []map[string]int{{"blocks": 2, "feerate": 5000}, {"blocks": 6, "feerate": 3000}, {"blocks": 12, "feerate": 2000}, {"blocks": 100, "feerate": 1000}},
	}
	for _, n := range []string{"opening", "mutual_close", "unilateral_close", "delayed_to_us", "htlc_resolution", "penalty"} {
		r[n] = 5000
	}
	r["min_acceptable"], r["max_acceptable"] = 1000, 100000
	return r, nil
}

// number reads a member that lightningd sends as a JSON number.
func number(p jsonrpc.Value, name string) (int64, error) {
	v, ok := p.Member(name)
	if !ok {
		return 0, fmt.Errorf("chainbackend: no %s", name)
	}
	return strconv.ParseInt(string(v), 10, 64)
}

func (b *backend) getrawblockbyheight(p jsonrpc.Value) (any, error) {
	height, err := number(p, "height")
	if err != nil {
		return nil, err
	}
	var hash string
	if err := b.btcd.Call("getblockhash", []any{height}, &hash); err != nil {
		var be *lnnet.BtcdError
		if errors.As(err, &be) {
			// Above the tip: lightningd waits and asks again.
			return map[string]any{"blockhash": nil, "block": nil}, nil
		}
		return nil, failure("getrawblockbyheight", err)
	}
	var block string
	if err := b.btcd.Call("getblock", []any{hash, 0}, &block); err != nil {
		return nil, failure("getrawblockbyheight", err)
	}
	return map[string]any{"blockhash": hash, "block": block}, nil
}

func (b *backend) getutxout(p jsonrpc.Value) (any, error) {
	txidV, _ := p.Member("txid")
	txid, err := txidV.String()
	if err != nil {
		return nil, fmt.Errorf("chainbackend: getutxout: bad txid: %w", err)
	}
	vout, err := number(p, "vout")
	if err != nil {
		return nil, err
	}
	var out *struct {
		Value        json.Number
		ScriptPubKey struct{ Hex string }
	}
	if err := b.btcd.Call("gettxout", []any{txid, vout}, &out); err != nil {
		return nil, failure("getutxout", err)
	}
	if out == nil {
		return map[string]any{"amount": nil, "script": nil}, nil
	}
	sat, err := lnnet.BtcToSat(out.Value)
	if err != nil {
		return nil, failure("getutxout", err)
	}
	return map[string]any{"amount": fmt.Sprintf("%dsat", sat), "script": out.ScriptPubKey.Hex}, nil
}

func (b *backend) sendrawtransaction(p jsonrpc.Value) (any, error) {
	txV, _ := p.Member("tx")
	tx, err := txV.String()
	if err != nil {
		return nil, fmt.Errorf("chainbackend: sendrawtransaction: bad tx: %w", err)
	}
	err = b.btcd.Call("sendrawtransaction", []any{tx}, nil)
	var be *lnnet.BtcdError
	switch {
	case err == nil:
		return map[string]any{"success": true, "errmsg": ""}, nil
	case errors.As(err, &be) && (be.Code == -27 || strings.Contains(be.Message, "already have transaction")):
		// Already in the chain (-27) or in the mempool (-26 with this
		// message): it is out (both peers broadcast a mutual close).
		return map[string]any{"success": true, "errmsg": ""}, nil
	case errors.As(err, &be):
		return map[string]any{"success": false, "errmsg": be.Message}, nil
	}
	return nil, failure("sendrawtransaction", err)
}
