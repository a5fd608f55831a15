package manifest

import (
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

func TestUsage(t *testing.T) {
	tests := []struct {
		name string
		p    Plugin
		want string
	}{{
		name: "nothing declared",
		want: `guard v1

lightningd starts it and talks to it on stdin and stdout. Start it on a
running node:

    lightning-cli -k plugin subcommand=start plugin=/path/to/guard

or from lightningd's config file, where important-plugin makes lightningd
stop rather than run on without it:

    important-plugin=/path/to/guard

Usage: guard [--help | --version]
lightningd runs plugins with LIGHTNINGD_PLUGIN=1 in their environment;
without it guard prints this and exits.
`,
	}, {
		name: "options and methods",
		p: Plugin{
			Summary: "Guards things.",
			Options: []Option{
				{Name: "limit", Description: "The most.", Example: "1sat", Dynamic: true, Required: true},
				// Its first line is 76 columns: the most.
				{Name: "mode", Description: "How, in a description long enough to be wrapped at seventy-six columns and indented."},
			},
			Methods: []Method{
				{Name: "guard-status", Description: "Show it."},
				{Name: "guard-set", Usage: "value [force]", Description: "Set it."},
			},
		},
		want: `guard v1

Guards things.

lightningd starts it and talks to it on stdin and stdout. Start it on a
running node:

    lightning-cli -k plugin subcommand=start plugin=/path/to/guard limit=1sat mode=VALUE

or from lightningd's config file, where important-plugin makes lightningd
stop rather than run on without it:

    important-plugin=/path/to/guard
    limit=1sat
    mode=VALUE

Options, in the config file or on plugin start; dynamic ones also with
lightning-cli setconfig NAME VALUE:

  limit (dynamic) (required)
      The most.

  mode (at start)
      How, in a description long enough to be wrapped at seventy-six columns
      and indented.

RPC methods, through lightning-cli:

  guard-status
      Show it.

  guard-set value [force]
      Set it.

Usage: guard [--help | --version]
lightningd runs plugins with LIGHTNINGD_PLUGIN=1 in their environment;
without it guard prints this and exits.
`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			tt.p.Usage(&b, "guard", "v1")
			assert.Equal(t, b.String(), tt.want)
		})
	}
}
