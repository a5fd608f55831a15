// Package manifest answers lightningd's plugin handshake: getmanifest
// (options, hooks, RPC methods, subscriptions, notifications), init (option
// values, or a refusal to run), and the setconfig/check calls that change a
// dynamic option at runtime.
package manifest

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/payupto/pay-up-to/jsonrpc"
)

// Option is a plugin option. lightningd has no amount type, so amounts
// are strings that Set parses.
type Option struct {
	Name        string
	Description string
	// Type is "string" (the default) or "bool"; Check and Set get a bool
	// as "true" or "false".
	Type string
	// Example is a valid value, for the start commands Usage shows.
	Example string
	// Dynamic lets `setconfig` change the option at runtime (CLN v23.08+).
	Dynamic bool
	// Required options disable the plugin at init when missing.
	Required bool
	// Extra options are left out of Usage's start examples: they need
	// more than the plugin (a fleet's etcd, a Prometheus).
	Extra bool
	// Check validates a value; Set validates and applies it.
	Check func(val string) error
	Set   func(val string) error
}

// Hook registers a hook. Filters (CLN v25.12+; older versions ignore them)
// limit which calls lightningd sends; Before and After order us against
// other plugins by basename.
type Hook struct {
	Name    string   `json:"name"`
	Filters []string `json:"filters,omitempty"`
	Before  []string `json:"before,omitempty"`
	After   []string `json:"after,omitempty"`
}

// Method is an RPC method the plugin adds to lightningd.
type Method struct {
	Name        string
	Usage       string // parameters, as `lightning-cli help` shows them
	Description string
	Handler     jsonrpc.Handler
}

// Subscription is a lightningd notification the plugin receives.
type Subscription struct {
	Topic   string
	Handler func(method string, params jsonrpc.Value)
}

// Config is what init tells of lightningd.
type Config struct {
	LightningDir string
	RPCFile      string // the RPC socket, relative to LightningDir
	Network      string
	Startup      bool // lightningd is starting, not `plugin start`
}

// Plugin is what the handshake declares.
type Plugin struct {
	// Summary says what the plugin does, for Usage; lightningd never sees it.
	Summary       string
	Options       []Option
	Hooks         []Hook
	Methods       []Method
	Subscriptions []Subscription
	// Topics are notifications the plugin sends, for others to subscribe.
	Topics []string
	// Init, if set, runs once the options are applied; a non-empty
	// answer is why the plugin cannot run.
	Init func(Config) string

	initialized bool // lightningd sends init once; no later one may reconfigure
}

type option struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Description string `json:"description"`
	Dynamic     bool   `json:"dynamic,omitempty"`
}

type rpcmethod struct {
	Name        string `json:"name"`
	Usage       string `json:"usage"`
	Description string `json:"description"`
}

type topic struct {
	Method string `json:"method"`
}

type getmanifest struct {
	Options       []option    `json:"options"`
	RPCMethods    []rpcmethod `json:"rpcmethods"`
	Hooks         []Hook      `json:"hooks"`
	Subscriptions []string    `json:"subscriptions"`
	Notifications []topic     `json:"notifications,omitempty"`
	Dynamic       bool        `json:"dynamic"`
	CanCheck      bool        `json:"cancheck"`
}

// Register installs the handshake methods on s.
func (p *Plugin) Register(s *jsonrpc.Server) {
	s.Handle("getmanifest", jsonrpc.HandlerFunc(p.getmanifest))
	s.Handle("init", jsonrpc.HandlerFunc(func(params jsonrpc.Value) (any, error) {
		return p.init(s, params)
	}))
	s.Handle("setconfig", jsonrpc.HandlerFunc(func(params jsonrpc.Value) (any, error) {
		return p.setconfig(s, params, false)
	}))
	s.Handle("check", jsonrpc.HandlerFunc(func(params jsonrpc.Value) (any, error) {
		return p.setconfig(s, params, true)
	}))
	for _, m := range p.Methods {
		s.Handle(m.Name, m.Handler)
	}
	for _, sub := range p.Subscriptions {
		s.Handle(sub.Topic, notification{sub})
	}
}

// notification adapts a subscription to a Handler: lightningd's
// notifications carry no id, so nothing is answered.
type notification struct{ sub Subscription }

func (n notification) ServeRPC(params jsonrpc.Value) (any, error) {
	n.sub.Handler(n.sub.Topic, params)
	return nil, nil
}

func (p *Plugin) getmanifest(jsonrpc.Value) (any, error) {
	m := getmanifest{RPCMethods: []rpcmethod{}, Hooks: p.Hooks, Subscriptions: []string{}, Dynamic: true, CanCheck: true}
	for _, r := range p.Methods {
		m.RPCMethods = append(m.RPCMethods, rpcmethod{r.Name, r.Usage, r.Description})
	}
	for _, sub := range p.Subscriptions {
		m.Subscriptions = append(m.Subscriptions, sub.Topic)
	}
	for _, t := range p.Topics {
		m.Notifications = append(m.Notifications, topic{t})
	}
	for _, o := range p.Options {
		typ := o.Type
		if typ == "" {
			typ = "string"
		}
		m.Options = append(m.Options, option{Name: o.Name, Type: typ, Description: o.Description, Dynamic: o.Dynamic})
	}
	if m.Hooks == nil {
		m.Hooks = []Hook{}
	}
	return m, nil
}

// init applies option values. A problem answers {"disable": reason}, so
// `plugin start` fails loudly instead of leaving the node unguarded. At
// lightningd's startup the plugin exits instead: lightningd makes a
// disabled important-plugin unimportant and runs on, while an important
// plugin that dies stops it.
func (p *Plugin) init(s *jsonrpc.Server, params jsonrpc.Value) (any, error) {
	if p.initialized {
		return nil, jsonrpc.Errorf(jsonrpc.ErrInvalidRequest, "pay-up-to: already initialized")
	}
	p.initialized = true
	var in struct {
		Options       map[string]json.RawMessage `json:"options"`
		Configuration struct {
			LightningDir string `json:"lightning-dir"`
			RPCFile      string `json:"rpc-file"`
			Network      string `json:"network"`
			Startup      bool   `json:"startup"`
		} `json:"configuration"`
	}
	if err := json.Unmarshal(params, &in); err != nil {
		return disable(fmt.Sprintf("cannot read init params: %v", err)), nil
	}
	reason := p.configure(s, in.Options)
	if reason == "" && p.Init != nil {
		c := in.Configuration
		reason = p.Init(Config{LightningDir: c.LightningDir, RPCFile: c.RPCFile, Network: c.Network, Startup: c.Startup})
	}
	if reason == "" {
		return struct{}{}, nil
	}
	if in.Configuration.Startup {
		s.Log("broken", "%s; exiting", reason)
		return nil, fmt.Errorf("%s: %w", reason, jsonrpc.ErrShutdown)
	}
	return disable(reason), nil
}

// configure applies option values, returning why it could not.
func (p *Plugin) configure(s *jsonrpc.Server, options map[string]json.RawMessage) string {
	for _, o := range p.Options {
		raw, ok := options[o.Name]
		if !ok || string(raw) == "null" {
			if o.Required {
				return fmt.Sprintf("option %s is required (e.g. %s=0.001btc)", o.Name, o.Name)
			}
			continue
		}
		val, err := optionText(raw)
		if err != nil {
			return fmt.Sprintf("option %s: want a string, got %s", o.Name, raw)
		}
		if err := o.Set(val); err != nil {
			return fmt.Sprintf("option %s=%s: %v", o.Name, val, err)
		}
		s.Log("info", "%s=%s", o.Name, val)
	}
	return ""
}

// optionText is an option's value as Check and Set take it: a string's
// content, or a bool as "true" or "false".
func optionText(raw json.RawMessage) (string, error) {
	switch s := string(raw); s {
	case "true", "false":
		return s, nil
	}
	var val string
	err := json.Unmarshal(raw, &val)
	return val, err
}

func disable(reason string) map[string]string {
	return map[string]string{"disable": "pay-up-to: " + plain(reason)}
}

// plain words a reason for lightningd, which escapes a plugin's message
// once more on its way to the caller (setconfig, plugin start): a double
// quote would reach the user as \", so it becomes a single one.
func plain(reason string) string { return strings.ReplaceAll(reason, `"`, "'") }

// invalid is a setconfig rejection.
func invalid(format string, args ...any) error {
	return jsonrpc.Errorf(jsonrpc.ErrInvalidParams, "%s", plain(fmt.Sprintf(format, args...)))
}

// setconfig applies (or with check only validates) a dynamic option.
// A rejection is a JSON-RPC error: lightningd passes it to the caller and
// keeps the old value.
func (p *Plugin) setconfig(s *jsonrpc.Server, params jsonrpc.Value, check bool) (any, error) {
	var in struct {
		Command string           `json:"command_to_check"`
		Config  string           `json:"config"`
		Val     *json.RawMessage `json:"val"`
	}
	if err := json.Unmarshal(params, &in); err != nil {
		return nil, invalid("pay-up-to: %v", err)
	}
	if check && in.Command != "setconfig" {
		return nil, invalid("pay-up-to: cannot check %q", in.Command)
	}
	for _, o := range p.Options {
		if o.Name != in.Config || !o.Dynamic {
			continue
		}
		var val string
		var err error
		if in.Val != nil {
			val, err = optionText(*in.Val)
		}
		if in.Val == nil || err != nil {
			return nil, invalid("pay-up-to: %s needs a value", o.Name)
		}
		apply := o.Set
		if check {
			apply = o.Check
		}
		if err := apply(val); err != nil {
			return nil, invalid("pay-up-to: %s=%s: %v", o.Name, val, err)
		}
		if !check {
			s.Log("info", "%s changed to %s", o.Name, val)
		}
		return struct{}{}, nil
	}
	return nil, invalid("pay-up-to: no dynamic option %q", in.Config)
}
