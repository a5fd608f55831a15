// Package etcd is a client of etcd's v3 JSON API (its gRPC gateway) over
// HTTP: ranges, transactions with compares, and watches, across several
// endpoints, with TLS and client certificates. Standard library only.
//
// Keys and values travel base64 in JSON and 64-bit integers as strings
// (etcd's api/etcdserverpb/rpc.proto through grpc-gateway's JSON
// marshaller; checked on etcd 3.5 and 3.6).
package etcd

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Config says which etcd to reach and how.
type Config struct {
	// Endpoints are client URLs (http:// or https://), any of which may
	// be down.
	Endpoints []string
	// CACert is a PEM file of the CA that signed the servers'
	// certificates ("": the system's); Cert and Key a client certificate
	// and its key, both or neither.
	CACert, Cert, Key string
}

// ParseEndpoints reads comma-separated client URLs.
func ParseEndpoints(s string) ([]string, error) {
	var out []string
	for _, e := range strings.Split(s, ",") {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		u, err := url.Parse(e)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return nil, fmt.Errorf("etcd: %q is not an etcd client URL such as http://127.0.0.1:2379", e)
		}
		out = append(out, u.Scheme+"://"+u.Host)
	}
	if len(out) == 0 {
		return nil, errors.New("etcd: no endpoint")
	}
	return out, nil
}

// Client calls etcd. Its methods are safe for concurrent use.
type Client struct {
	eps []string
	hc  *http.Client
	cur atomic.Int32 // the endpoint that answered last
}

// New checks c and reads its certificate files.
func New(c Config) (*Client, error) {
	if len(c.Endpoints) == 0 {
		return nil, errors.New("etcd: no endpoint")
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CACert != "" {
		pem, err := os.ReadFile(c.CACert)
		if err != nil {
			return nil, fmt.Errorf("etcd: CA certificate: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("etcd: %s holds no PEM certificate", c.CACert)
		}
	}
	if (c.Cert == "") != (c.Key == "") {
		return nil, errors.New("etcd: a client certificate needs its key, and a key its certificate")
	}
	if c.Cert != "" {
		cert, err := tls.LoadX509KeyPair(c.Cert, c.Key)
		if err != nil {
			return nil, fmt.Errorf("etcd: client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	tr := &http.Transport{
		TLSClientConfig:     tc,
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 15 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   false,
	}
	return &Client{eps: append([]string(nil), c.Endpoints...), hc: &http.Client{Transport: tr}}, nil
}

// Close drops idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// Error is an error etcd answered with.
type Error struct {
	Code    int    // gRPC status code
	Message string // e.g. "etcdserver: request timed out"
}

func (e *Error) Error() string { return "etcd: " + e.Message }

// KV is a key as etcd keeps it.
type KV struct {
	Key, Value                           string
	CreateRevision, ModRevision, Version int64
}

// Range reads Key, or with End the keys in [Key, End) (Prefix gives
// the End of a prefix), changed at MinModRevision or later (0: any).
type Range struct {
	Key, End       string
	MinModRevision int64
}

// Prefix is the End of the range of every key that starts with p.
func Prefix(p string) string {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return "\x00" // every key
}

// Compare is one condition of a transaction: Target ("MOD", "VERSION",
// "CREATE" or "VALUE") of Key compared ("EQUAL", "NOT_EQUAL", "GREATER",
// "LESS") with Rev, or with Value for "VALUE". A key that is not there
// has revisions and version 0.
type Compare struct {
	Key, Target, Result string
	Rev                 int64
	Value               string
}

// Op is one operation of a transaction: exactly one of Put (Key and
// Value), Delete (a key) or Range.
type Op struct {
	Put    *KV
	Delete string
	Range  *Range
}

// TxnResult is what a transaction did: whether the compares held, the
// revision after it, and the keys each Range op read, in order.
type TxnResult struct {
	Succeeded bool
	Revision  int64
	Ranges    [][]KV
}

// Txn runs success if every compare holds, else failure, atomically.
func (c *Client) Txn(ctx context.Context, cmps []Compare, success, failure []Op) (TxnResult, error) {
	req := map[string]any{"compare": wireCompares(cmps), "success": wireOps(success), "failure": wireOps(failure)}
	var resp struct {
		Header    header `json:"header"`
		Succeeded bool   `json:"succeeded"`
		Responses []struct {
			Range *rangeResp `json:"response_range"`
		} `json:"responses"`
	}
	if err := c.call(ctx, "/v3/kv/txn", req, &resp); err != nil {
		return TxnResult{}, err
	}
	r := TxnResult{Succeeded: resp.Succeeded, Revision: int64(resp.Header.Revision)}
	for _, x := range resp.Responses {
		if x.Range != nil {
			kvs, err := x.Range.kvs()
			if err != nil {
				return TxnResult{}, err
			}
			r.Ranges = append(r.Ranges, kvs)
		}
	}
	return r, nil
}

// Get reads a range, linearizably, and the revision it was read at.
func (c *Client) Get(ctx context.Context, r Range) ([]KV, int64, error) {
	var resp rangeResp
	if err := c.call(ctx, "/v3/kv/range", wireRange(r), &resp); err != nil {
		return nil, 0, err
	}
	kvs, err := resp.kvs()
	return kvs, int64(resp.Header.Revision), err
}

// Event is one change a watch sees.
type Event struct {
	Delete bool
	KV     KV // for a delete, Key and ModRevision only
}

// ErrCompacted: a watch asked for revisions etcd has compacted away.
var ErrCompacted = errors.New("etcd: the revisions asked for are compacted")

// Watch calls fn with the changes to r's keys from revision from on, in
// revision order, until ctx ends or the stream breaks; it returns why.
// fn is called with no events too: when the watch is made, and on
// progress.
func (c *Client) Watch(ctx context.Context, r Range, from int64, fn func(rev int64, evs []Event)) error {
	create := map[string]any{"key": b64(r.Key), "start_revision": strconv.FormatInt(from, 10)}
	if r.End != "" {
		create["range_end"] = b64(r.End)
	}
	body, err := c.post(ctx, "/v3/watch", map[string]any{"create_request": create}, 0)
	if err != nil {
		return err
	}
	defer body.Close()
	dec := json.NewDecoder(body)
	for {
		var msg struct {
			Result *struct {
				Header          header `json:"header"`
				Canceled        bool   `json:"canceled"`
				CompactRevision num    `json:"compact_revision"`
				CancelReason    string `json:"cancel_reason"`
				Events          []struct {
					Type string `json:"type"`
					KV   wireKV `json:"kv"`
				} `json:"events"`
			} `json:"result"`
			Error *wireError `json:"error"`
		}
		if err := dec.Decode(&msg); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("etcd: watch: %w", err)
		}
		if msg.Error != nil {
			return msg.Error.err()
		}
		res := msg.Result
		if res == nil {
			continue
		}
		if res.CompactRevision != 0 {
			return ErrCompacted
		}
		if res.Canceled {
			return fmt.Errorf("etcd: watch canceled: %s", res.CancelReason)
		}
		evs := make([]Event, 0, len(res.Events))
		for _, e := range res.Events {
			kv, err := e.KV.decode()
			if err != nil {
				return err
			}
			evs = append(evs, Event{Delete: e.Type == "DELETE", KV: kv})
		}
		fn(int64(res.Header.Revision), evs)
	}
}

// call posts req to path and decodes the answer into resp.
func (c *Client) call(ctx context.Context, path string, req, resp any) error {
	body, err := c.post(ctx, path, req, Attempt)
	if err != nil {
		return err
	}
	defer body.Close()
	b, err := io.ReadAll(io.LimitReader(body, 64<<20))
	if err != nil {
		return fmt.Errorf("etcd: %s: %w", path, err)
	}
	if err := json.Unmarshal(b, resp); err != nil {
		return fmt.Errorf("etcd: %s: bad answer: %w", path, err)
	}
	return nil
}

// Attempt bounds one request to one member: a member that lost its
// leader holds a request until etcd's own timeout (seconds), while
// another member would answer at once. A request cut off this way may
// still be applied: the guard's transactions compare revisions, so
// trying one again is safe.
var Attempt = time.Second

// post sends req to each endpoint in turn, from the one that answered
// last, until one answers or ctx ends, giving each at most attempt; with
// attempt 0 (a watch) each endpoint is tried once, unbounded but by ctx.
// An answer that is an error is returned as *Error. The caller closes
// the body.
func (c *Client) post(ctx context.Context, path string, req any, attempt time.Duration) (io.ReadCloser, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	start := int(c.cur.Load())
	var errs []error
	for i := 0; ; i++ {
		if i >= len(c.eps) {
			// Every member failed: while an election runs none answers.
			// Round again until ctx ends (an unbounded call tries once).
			if attempt == 0 || ctx.Err() != nil {
				break
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
			if ctx.Err() != nil {
				break
			}
			if i%len(c.eps) == 0 {
				errs = errs[:0]
			}
		}
		n := (start + i) % len(c.eps)
		actx, cancel := ctx, context.CancelFunc(func() {})
		if attempt > 0 {
			actx, cancel = context.WithTimeout(ctx, attempt)
		}
		hr, err := http.NewRequestWithContext(actx, "POST", c.eps[n]+path, bytes.NewReader(b))
		if err != nil {
			cancel()
			return nil, err
		}
		hr.Header.Set("Content-Type", "application/json")
		resp, err := c.hc.Do(hr)
		if err != nil {
			cancel()
			if ctx.Err() != nil {
				errs = append(errs, fmt.Errorf("%s: %w", c.eps[n], ctx.Err()))
				break
			}
			errs = append(errs, fmt.Errorf("%s: %w", c.eps[n], unwrapURL(err)))
			continue
		}
		resp.Body = cancelBody{resp.Body, cancel}
		if resp.StatusCode != http.StatusOK {
			e := answerError(resp)
			if unavailable(e) && attempt > 0 {
				errs = append(errs, fmt.Errorf("%s: %w", c.eps[n], e))
				continue
			}
			return nil, e
		}
		c.cur.Store(int32(n))
		return resp.Body, nil
	}
	return nil, fmt.Errorf("etcd: no endpoint answered: %w", errors.Join(errs...))
}

// cancelBody ends its request's context once read.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// unavailable reports whether another member may answer what this one
// could not (gRPC Unavailable: no leader, stopping, too many requests).
func unavailable(e *Error) bool { return e.Code == 14 }

func unwrapURL(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err
	}
	return err
}

// answerError reads an HTTP answer that is not 200 and closes it.
func answerError(resp *http.Response) *Error {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	var we wireError
	if json.Unmarshal(b, &we) == nil && (we.Message != "" || we.Error != "") {
		return we.err()
	}
	return &Error{Code: -1, Message: fmt.Sprintf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))}
}

// wire types

type wireError struct {
	Error   string `json:"error"`
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (w *wireError) err() *Error {
	m := w.Message
	if m == "" {
		m = w.Error
	}
	return &Error{Code: w.Code, Message: m}
}

// num is a 64-bit integer, which grpc-gateway writes as a string.
type num int64

func (n *num) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("etcd: %s is not an integer", b)
	}
	*n = num(v)
	return nil
}

type header struct {
	Revision num `json:"revision"`
}

type wireKV struct {
	Key            string `json:"key"`
	Value          string `json:"value"`
	CreateRevision num    `json:"create_revision"`
	ModRevision    num    `json:"mod_revision"`
	Version        num    `json:"version"`
}

func (w wireKV) decode() (KV, error) {
	k, err := base64.StdEncoding.DecodeString(w.Key)
	if err != nil {
		return KV{}, fmt.Errorf("etcd: a key is not base64: %w", err)
	}
	v, err := base64.StdEncoding.DecodeString(w.Value)
	if err != nil {
		return KV{}, fmt.Errorf("etcd: a value is not base64: %w", err)
	}
	return KV{Key: string(k), Value: string(v), CreateRevision: int64(w.CreateRevision), ModRevision: int64(w.ModRevision), Version: int64(w.Version)}, nil
}

type rangeResp struct {
	Header header   `json:"header"`
	KVs    []wireKV `json:"kvs"`
}

func (r *rangeResp) kvs() ([]KV, error) {
	out := make([]KV, 0, len(r.KVs))
	for _, w := range r.KVs {
		kv, err := w.decode()
		if err != nil {
			return nil, err
		}
		out = append(out, kv)
	}
	return out, nil
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func wireRange(r Range) map[string]any {
	m := map[string]any{"key": b64(r.Key)}
	if r.End != "" {
		m["range_end"] = b64(r.End)
	}
	if r.MinModRevision > 0 {
		m["min_mod_revision"] = strconv.FormatInt(r.MinModRevision, 10)
	}
	return m
}

func wireCompares(cmps []Compare) []map[string]any {
	out := make([]map[string]any, 0, len(cmps))
	for _, c := range cmps {
		m := map[string]any{"key": b64(c.Key), "target": c.Target, "result": c.Result}
		switch c.Target {
		case "MOD":
			m["mod_revision"] = strconv.FormatInt(c.Rev, 10)
		case "CREATE":
			m["create_revision"] = strconv.FormatInt(c.Rev, 10)
		case "VERSION":
			m["version"] = strconv.FormatInt(c.Rev, 10)
		case "VALUE":
			m["value"] = b64(c.Value)
		}
		out = append(out, m)
	}
	return out
}

func wireOps(ops []Op) []map[string]any {
	out := make([]map[string]any, 0, len(ops))
	for _, o := range ops {
		switch {
		case o.Put != nil:
			out = append(out, map[string]any{"request_put": map[string]any{"key": b64(o.Put.Key), "value": b64(o.Put.Value)}})
		case o.Range != nil:
			out = append(out, map[string]any{"request_range": wireRange(*o.Range)})
		default:
			out = append(out, map[string]any{"request_delete_range": map[string]any{"key": b64(o.Delete)}})
		}
	}
	return out
}
