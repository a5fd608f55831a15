package etcdnet

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
)

// install returns etcd of version, or skips the test when the go command
// cannot build it (no module proxy, say).
func install(t *testing.T, version string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("etcdnet: -short: no etcd")
	}
	start := time.Now()
	bin, err := Install(version, "")
	if err != nil {
		msg := strings.TrimPrefix(strings.Join(strings.Fields(err.Error()), " "), "etcdnet: ")
		t.Skipf("etcdnet: cannot install etcd: %s", msg)
	}
	if d := time.Since(start); d > time.Second {
		t.Logf("built etcd %s in %v", version, d.Round(time.Second))
	}
	return bin
}

func start(t *testing.T, c Config) *Cluster {
	t.Helper()
	cl, err := Start(c)
	assert.NilError(t, err)
	t.Cleanup(cl.Stop)
	return cl
}

// call posts req as JSON to url and returns the answer of a 200.
func call(ctx context.Context, hc *http.Client, url string, req any) ([]byte, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	r, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", resp.Status, b)
	}
	return b, nil
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// put writes key=value through the member at url, giving up after d.
func put(hc *http.Client, url, key, value string, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_, err := call(ctx, hc, url+"/v3/kv/put", map[string]string{"key": b64(key), "value": b64(value)})
	return err
}

// putEventually retries put for up to 20 s: after a kill or a restart,
// the members may still be electing a leader.
func putEventually(t *testing.T, hc *http.Client, url, key, value string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := put(hc, url, key, value, 2*time.Second)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("put %s through %s: %v", key, url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// get reads key through the member at url (a linearizable read).
func get(t *testing.T, hc *http.Client, url, key string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, err := call(ctx, hc, url+"/v3/kv/range", map[string]string{"key": b64(key)})
	assert.NilError(t, err)
	var r struct {
		Kvs []struct {
			Key, Value string
		}
	}
	assert.NilError(t, json.Unmarshal(b, &r), "%s", b)
	assert.Equal(t, len(r.Kvs), 1, "%s", b)
	v, err := base64.StdEncoding.DecodeString(r.Kvs[0].Value)
	assert.NilError(t, err)
	return string(v)
}

func TestSingle(t *testing.T) {
	for _, version := range []string{Version, Version2} {
		t.Run(version, func(t *testing.T) {
			c := start(t, Config{Etcd: install(t, version)})
			hc, url := c.Client(), c.URLs()[0]
			assert.Assert(t, strings.HasPrefix(url, "http://127.0.0.1:"), url)
			assert.Assert(t, c.Healthy(0))

			resp, err := hc.Get(url + "/version")
			assert.NilError(t, err)
			var v struct{ Etcdserver string }
			assert.NilError(t, json.NewDecoder(resp.Body).Decode(&v))
			resp.Body.Close()
			assert.Equal(t, "v"+v.Etcdserver, version)

			const value = "héllo\x00\n\"world\""
			assert.NilError(t, put(hc, url, "k", value, 5*time.Second))
			assert.Equal(t, get(t, hc, url, "k"), value)
		})
	}
}

func TestQuorum(t *testing.T) {
	etcd := install(t, Version)
	begin := time.Now()
	step := func(what string) { t.Logf("%6.2fs %s", time.Since(begin).Seconds(), what) }
	c := start(t, Config{Etcd: etcd, Members: 3})
	step("started 3 members")
	hc, urls := c.Client(), c.URLs()
	assert.Equal(t, len(urls), 3)
	for i := range urls {
		assert.Assert(t, c.Healthy(i), "m%d", i)
	}
	putEventually(t, hc, urls[0], "a", "1")
	step("put through m0")

	// One of three down: the two others still make a quorum.
	assert.NilError(t, c.Kill(0))
	assert.Assert(t, !c.Healthy(0))
	putEventually(t, hc, urls[1], "a", "2")
	assert.Equal(t, get(t, hc, urls[2], "a"), "2")
	step("killed m0, put through m1")

	// Two down: no write gets through.
	assert.NilError(t, c.Kill(1))
	err := put(hc, urls[2], "a", "3", 5*time.Second)
	assert.Assert(t, err != nil, "a put without quorum succeeded")
	step("killed m1, put through m2 failed: " + err.Error())

	assert.NilError(t, c.Restart(0))
	step("restarted m0")
	assert.NilError(t, c.Restart(1))
	step("restarted m1")
	putEventually(t, hc, urls[2], "a", "4")
	assert.Equal(t, get(t, hc, urls[0], "a"), "4")
	step("put through m2")

	// All down at once, as in a power cut: what was written is still there.
	for i := range urls {
		assert.NilError(t, c.Kill(i))
	}
	step("killed all")
	assert.NilError(t, c.Restart(0)) // no quorum: returns once it listens
	assert.Assert(t, !c.Healthy(0))
	step("restarted m0 (no quorum)")
	assert.NilError(t, c.Restart(1))
	step("restarted m1")
	assert.NilError(t, c.Restart(2))
	step("restarted m2")
	for i := range urls {
		assert.Assert(t, c.Healthy(i), "m%d", i)
	}
	assert.Equal(t, get(t, hc, urls[1], "a"), "4")
	putEventually(t, hc, urls[0], "a", "5")
	step("put through m0")
}

func TestTLS(t *testing.T) {
	etcd := install(t, Version)
	certs, err := NewTLS(t.TempDir())
	assert.NilError(t, err)
	c := start(t, Config{Etcd: etcd, TLS: certs})
	hc, url := c.Client(), c.URLs()[0]
	assert.Assert(t, strings.HasPrefix(url, "https://127.0.0.1:"), url)
	assert.NilError(t, put(hc, url, "k", "v", 5*time.Second))
	assert.Equal(t, get(t, hc, url, "k"), "v")

	noCert, err := certs.ClientConfig()
	assert.NilError(t, err)
	noCert.Certificates = nil
	other, err := NewTLS(t.TempDir())
	assert.NilError(t, err)
	otherCA, err := other.ClientConfig()
	assert.NilError(t, err)
	otherCA.RootCAs = noCert.RootCAs // trusts the server, but its certificate is from another CA
	for name, hc := range map[string]*http.Client{
		"no client certificate":       {Transport: &http.Transport{TLSClientConfig: noCert}},
		"certificate from another CA": {Transport: &http.Transport{TLSClientConfig: otherCA}},
		"plain http":                  {},
	} {
		u := url
		if name == "plain http" {
			u = "http" + strings.TrimPrefix(url, "https")
		}
		err := put(hc, u, "k", "w", 5*time.Second)
		assert.Assert(t, err != nil, "%s: a put succeeded", name)
		t.Logf("%s: %v", name, err)
	}
	assert.Equal(t, get(t, hc, url, "k"), "v")
}
