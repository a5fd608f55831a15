package apps

import (
	"encoding/base64"
	"strings"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/payupto/pay-up-to/jsonrpc"
)

// mkRune makes a rune with these restrictions (its hash is no one's).
func mkRune(restr string) string {
	return base64.URLEncoding.EncodeToString(append(make([]byte, 32), restr...))
}

func TestRuneID(t *testing.T) {
	mk := mkRune
	for rune, want := range map[string]string{
		mk("=0"):                        "0",
		mk("=12&method=pay"):            "12",
		mk("=7-1&method^list|method=x"): "7",
		// Padded or not, as lightningd accepts.
		base64.RawURLEncoding.EncodeToString(append(make([]byte, 32), "=42"...)): "42",
		// Real: lightningd's tests' master rune.
		"OSqc7ixY6F-gjcigBfxtzKUI54uzgFSA6YfBQoWGDV89MA==": "0",
	} {
		got, err := RuneID(rune)
		assert.NilError(t, err, rune)
		assert.Equal(t, got, want, rune)
	}
	for _, bad := range []string{"", "!!!", mk(""), mk("method=pay"), mk("=x"), mk("=&"), base64.URLEncoding.EncodeToString([]byte("=1"))} {
		_, err := RuneID(bad)
		assert.Assert(t, err != nil, bad)
	}
	assert.NilError(t, CheckID("123"))
	assert.ErrorContains(t, CheckID("12a"), `rune_id "12a" is not`)
	assert.ErrorContains(t, CheckID(""), "is not")
}

// TestClaims: the command takes the oldest claim of the same method and
// params, whatever their key order or spacing, once.
func TestClaims(t *testing.T) {
	var c Claims
	assert.Equal(t, c.Take("pay", jsonrpc.Value(`{"bolt11":"x"}`)), "")
	c.Add("5", "pay", jsonrpc.Value(`{"bolt11":"x","maxfee":1}`))
	c.Add("6", "pay", jsonrpc.Value(`{"maxfee":1, "bolt11":"x"}`))
	assert.Equal(t, c.Take("xpay", jsonrpc.Value(`{"bolt11":"x","maxfee":1}`)), "")
	assert.Equal(t, c.Take("pay", jsonrpc.Value(` {"maxfee":1,"bolt11":"x"}`)), "5")
	assert.Equal(t, c.Take("pay", jsonrpc.Value(`{"bolt11":"x","maxfee":1}`)), "6")
	assert.Equal(t, c.Take("pay", jsonrpc.Value(`{"bolt11":"x","maxfee":1}`)), "")
}

// TestCalls: a command's calls, whose ids its id prefixes, are its rune's.
func TestCalls(t *testing.T) {
	var c Calls
	c.Note("cli:withdraw#1", "5")
	c.Note("cli:other#2", "")
	assert.Equal(t, c.Of("cli:withdraw#1/cln:signpsbt#3", ""), "5")
	assert.Equal(t, c.Of("cli:withdraw#1/a#2/cln:sendpsbt#4", ""), "5")
	assert.Equal(t, c.Of("cli:other#2/cln:signpsbt#5", ""), "")
	assert.Equal(t, c.Of("cli:withdraw#1/cln:signpsbt#3", "7"), "7")
	assert.Equal(t, c.Of("cli:withdraw#10/cln:signpsbt#3", ""), "")
}

func TestEscape(t *testing.T) {
	for _, c := range []struct{ method, params, want string }{
		{"pay-up-to-pause", `["5"]`, ""},
		{"pay-up-to-pause", `{"rune_id":"6"}`, "an app may pause only itself"},
		{"plugin", `["list"]`, ""},
		{"plugin", `{"subcommand":"stop","plugin":"pay-up-to"}`, "an app may not start or stop plugins"},
		{"datastore", `{"key":["pay-up-to","a","5"]}`, "an app may not write the guard's records"},
		{"datastore", `{"key":"pay-up-to"}`, "an app may not write the guard's records"},
		{"datastore", `{"key":["myapp"]}`, ""},
		{"createrune", `{"rune":"x"}`, ""},
		{"commando-rune", `[]`, "an app may not mint a new rune (it would carry no allowance); it may only restrict its own"},
		{"getinfo", `[]`, ""},
	} {
		assert.Equal(t, Escape(c.method, jsonrpc.Value(c.params), "5"), c.want, "%s %s", c.method, c.params)
	}
}

// FuzzRuneID: whatever a checkrune carries, RuneID returns a unique id of
// digits found right after the rune's 32-byte hash, or an error.
func FuzzRuneID(f *testing.F) {
	f.Add("OSqc7ixY6F-gjcigBfxtzKUI54uzgFSA6YfBQoWGDV89MA==")
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA9MTImbWV0aG9kPXBheQ")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := RuneID(s)
		if err != nil {
			return
		}
		if id == "" || strings.Trim(id, "0123456789") != "" {
			t.Fatalf("%q: id %q", s, id)
		}
	})
}
