package manifest

import (
	"fmt"
	"io"
	"strings"
)

// Usage writes what a person running the binary by hand needs: what it
// is, its version, how to start it under lightningd, and the options and
// RPC methods that getmanifest declares, so that a new one appears here
// by being declared.
func (p *Plugin) Usage(w io.Writer, name, version string) {
	path := "/path/to/" + name
	var opts []string
	for _, o := range p.Options {
		if o.Extra {
			continue
		}
		val := o.Example
		if val == "" {
			val = "VALUE"
		}
		opts = append(opts, o.Name+"="+val)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n\n", name, version)
	if p.Summary != "" {
		wrap(&b, "", p.Summary)
		b.WriteString("\n")
	}
	wrap(&b, "", "lightningd starts it and talks to it on stdin and stdout. Start it on a running node:")
	fmt.Fprintf(&b, "\n    lightning-cli -k plugin subcommand=start plugin=%s\n\n", strings.Join(append([]string{path}, opts...), " "))
	wrap(&b, "", "or from lightningd's config file, where important-plugin makes lightningd stop rather than run on without it:")
	fmt.Fprintf(&b, "\n    important-plugin=%s\n", path)
	for _, o := range opts {
		fmt.Fprintf(&b, "    %s\n", o)
	}
	if len(p.Options) > 0 {
		b.WriteString("\n")
		wrap(&b, "", "Options, in the config file or on plugin start; dynamic ones also with lightning-cli setconfig NAME VALUE:")
		for _, o := range p.Options {
			b.WriteString("\n  " + o.Name)
			if o.Dynamic {
				b.WriteString(" (dynamic)")
			} else {
				b.WriteString(" (at start)")
			}
			if o.Required {
				b.WriteString(" (required)")
			}
			b.WriteString("\n")
			wrap(&b, "      ", o.Description)
			if o.Extra {
				wrap(&b, "      ", "e.g. "+o.Name+"="+o.Example)
			}
		}
	}
	if len(p.Methods) > 0 {
		b.WriteString("\nRPC methods, through lightning-cli:\n")
		for _, m := range p.Methods {
			b.WriteString("\n  " + strings.TrimSpace(m.Name+" "+m.Usage) + "\n")
			wrap(&b, "      ", m.Description)
		}
	}
	fmt.Fprintf(&b, "\nUsage: %s [--help | --version]\n", name)
	wrap(&b, "", "lightningd runs plugins with LIGHTNINGD_PLUGIN=1 in their environment; without it "+name+" prints this and exits.")
	io.WriteString(w, b.String())
}

// wrap writes text in lines of at most 76 columns (a longer word has a
// line of its own), each line starting with indent.
func wrap(b *strings.Builder, indent, text string) {
	n := 0
	for _, word := range strings.Fields(text) {
		switch {
		case n == 0:
			b.WriteString(indent)
			n = len(indent)
		case n+1+len(word) > 76:
			b.WriteString("\n" + indent)
			n = len(indent)
		default:
			b.WriteString(" ")
			n++
		}
		b.WriteString(word)
		n += len(word)
	}
	if n > 0 {
		b.WriteString("\n")
	}
}
