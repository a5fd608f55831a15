package apps

import (
	"encoding/base64"
	"os"
	"path/filepath"
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

func TestMay(t *testing.T) {
	own := mkRune("=5&method^pay")
	added := Commands{"connect": true}
	for _, c := range []struct {
		method, params string
		want           string // "": may run; "+": refused, addable
	}{
		{"getinfo", `[]`, ""},
		{"listfunds", `{}`, ""},
		{"xpay", `["lnbcrt1"]`, ""},
		{"invoice", `[1000,"l","d"]`, ""},
		{"pay-up-to-status", `[]`, ""},
		{"connect", `["02aa"]`, ""}, // added by the operator
		{"disconnect", `["02aa"]`, "+"},
		{"otherplugin-transfer", `{}`, "+"},
		{"listconfigs", `{}`, "+"},
		{"pay-up-to-pause", `["5"]`, ""},
		{"pay-up-to-pause", `{"rune_id":"6"}`, "an app may pause only itself"},
		{"pay-up-to-resume", `["5"]`, "an app may not lift a pause"},
		{"plugin", `["list"]`, stopsGuard},
		{"datastore", `{"key":["myapp","x"]}`, guardRecords},
		{"createrune", `{"rune":"` + own + `"}`, ""},
		{"createrune", `{"rune":"` + mkRune("=6") + `"}`, "an app may restrict only its own rune"},
		{"createrune", `[]`, mintsRune},
		{"commando-rune", `[]`, mintsRune},
		{"showrunes", `["` + own + `"]`, ""},
		{"showrunes", `[]`, "an app may show only its own rune; " + showsRunes},
		{"blacklistrune", `{"start":1,"relist":true}`, liftsRevoke},
		{"reckless", `["disable","pay-up-to"]`, stopsGuard},
		{"clnrest-register-path", `{}`, hiddenPath},
		{"dev-forget-channel", `{}`, devCommand},
		{"signmessagewithkey", `{}`, "+"},
	} {
		r := May(c.method, jsonrpc.Value(c.params), "5", added)
		switch c.want {
		case "":
			assert.Assert(t, r == nil, "%s %s: %+v", c.method, c.params, r)
		case "+":
			assert.DeepEqual(t, r, &Denied{Why: "an app with an allowance may not run " + c.method, Addable: true})
		default:
			assert.DeepEqual(t, r, &Denied{Why: c.want})
		}
	}
}

func TestParseCommands(t *testing.T) {
	cs, err := ParseCommands(" connect, setchannel,,fundchannel ")
	assert.NilError(t, err)
	assert.Equal(t, cs.String(), "connect,fundchannel,setchannel")
	cs, err = ParseCommands("")
	assert.NilError(t, err)
	assert.Equal(t, len(cs), 0)
	for s, want := range map[string]string{
		"connect,setconfig":      "app-commands: an app may never be allowed setconfig: " + changesGuard,
		"dev-forget-channel":     "app-commands: an app may never be allowed dev-forget-channel: " + devCommand,
		"datastore":              "app-commands: an app may never be allowed datastore: " + guardRecords,
		"createrune":             "app-commands: an app may never be allowed createrune: apps may run it on their own rune only, as they already do",
		"pay-up-to-setallowance": "app-commands: an app may never be allowed pay-up-to-setallowance: an app may not change allowances",
		`con"nect`:               `app-commands: "con\"nect" is not a command name`,
	} {
		_, err := ParseCommands(s)
		assert.Error(t, err, want, s)
	}
}

// TestVersionsDecided: every command of each supported version's
// schemas is decided by the table, so that a command a new version adds
// is refused until someone decides it.
func TestVersionsDecided(t *testing.T) {
	files, err := filepath.Glob("testdata/commands-*.txt")
	assert.NilError(t, err)
	assert.Assert(t, len(files) >= 3)
	known := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		assert.NilError(t, err)
		for _, m := range strings.Fields(string(b)) {
			known[m] = true
			assert.Assert(t, Decided(m), "%s: %s is not decided: add it to the table", f, m)
		}
	}
	// And the table names no command no version has (a typo refuses
	// nothing and allows nothing), but for plugins' own and pay-up-to's.
	for m := range table {
		if !known[m] && !strings.HasPrefix(m, "pay-up-to-") {
			switch m {
			case "listincoming", "paystatus", "estimatefees", "getchaininfo", "getrawblockbyheight", "getutxout",
				"sendrawtransaction", "restorefrompeer", "commando-rune", "commando-listrunes", "commando-blacklist", "decodepay",
				"abort_channels", "addblockdepthwatch", "addoutpointwatch", "addpsbtinput", "addscidwatch",
				"addscriptpubkeywatch", "createinvoicerequest", "createoffer", "decryptencrypteddata",
				"delblockdepthwatch", "deloutpointwatch", "delscidwatch", "delscriptpubkeywatch", "injectutxodeposit",
				"injectutxospend", "payersign", "setleaserates", "stfu_channels", "listwatch", "destroyrune", "invokerune",
				"xpay-as-pay", "renesendpay", "dev":
				continue // in `help`, not in every schema list
			}
			t.Errorf("the table names %s, which no version's schemas have", m)
		}
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
