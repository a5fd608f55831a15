// Pay-up-to is a Core Lightning plugin that refuses payments above a limit
// and payments that would exceed a budget per period, fees included, and
// bounds every HTLC the node sends.
//
// Build it with make, then start it on a running node:
//
//	lightning-cli -k plugin subcommand=start plugin=$PWD/pay-up-to limit=0.001btc budget=0.01btc/1d
//
// or load it from the config file, where important-plugin makes lightningd
// stop rather than run without the guard:
//
//	important-plugin=/path/to/pay-up-to
//	limit=0.001btc
//	budget=0.002btc/1h,0.01btc/1d
//
// The limit takes CLN's amount syntax (0.001btc, 100000sat, 100000000msat,
// or a bare number of msat); the budget is a list of AMOUNT/PERIOD windows
// (periods in s, m, h, d or w). Both can be changed with setconfig. A
// payment of an invoice, offer or keysend above the limit fails with a
// JSON-RPC error whose data holds invoice_too_high (or amount_too_high),
// maximum_is and the invoice (code 2100); one that would exceed a budget
// window fails with code 2102 and budget_exceeded, used_msat,
// requested_msat and available_at. sendpay, sendonion and
// injectpaymentonion are held to the same limit and budget. Every other
// command runs untouched. `lightning-cli pay-up-to-status` shows what each
// window holds.
//
// An app connected through commando or clnrest can have its own
// allowance, on top of the node's: `lightning-cli pay-up-to-createrune
// limit=10000sat budget=50000sat/1d` makes a rune for it, and
// pay-up-to-setallowance / pay-up-to-delallowance manage the allowance of
// an existing rune by its unique id. A payment beyond a rune's allowance
// fails with code 2103. See README.md for what is guarded.
//
// With PAY_UP_TO_RECORD=/path/file in its environment it appends what
// lightningd sends it to that file (a transcript for golden tests).
package main

import (
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/payupto/pay-up-to/hooks"
	"github.com/payupto/pay-up-to/hooks/fleet"
	"github.com/payupto/pay-up-to/hooks/metrics"
	"github.com/payupto/pay-up-to/hooks/operator"
	"github.com/payupto/pay-up-to/hooks/options"
	"github.com/payupto/pay-up-to/jsonrpc"
	"github.com/payupto/pay-up-to/manifest"
)

// version is set at build time (make: -ldflags -X main.version=…); a
// plain go build or go test says dev.
var version = "dev"

func main() {
	log.SetPrefix("pay-up-to: ")
	log.SetFlags(0)
	// lightningd sets LIGHTNINGD_PLUGIN=1 for every plugin it starts (since
	// v0.6.3); anyone else is a person asking what this file is. Under
	// lightningd arguments are ignored: with --developer (v23.11+) it
	// passes --developer to every plugin.
	if os.Getenv("LIGHTNINGD_PLUGIN") != "1" {
		os.Exit(byHand(os.Args[1:], os.Stdout, os.Stderr))
	}

	// lightningd stops plugins with SIGTERM: leave cleanly. A closed
	// stdout is an error to report, not a silent SIGPIPE death.
	signal.Ignore(syscall.SIGPIPE)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-sig; os.Exit(0) }()

	// PAY_UP_TO_RECORD=file keeps a copy of everything lightningd sends,
	// to make new golden transcripts from real traffic.
	var in io.Reader = os.Stdin
	if path := os.Getenv("PAY_UP_TO_RECORD"); path != "" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			log.Fatal(err)
		}
		defer f.Close()
		in = io.TeeReader(os.Stdin, f)
	}
	if err := newPlugin(os.Stdout, true).Serve(in); err != nil {
		log.Fatal(err)
	}
}

// byHand answers a person who ran the binary: usage (to stderr, exit 2,
// for an argument it does not know) or the version.
func byHand(args []string, stdout, stderr io.Writer) int {
	usage := func(w io.Writer) {
		describe(jsonrpc.NewServer(io.Discard, 0), hooks.New(nil, version), false).Usage(w, "pay-up-to", version)
	}
	if len(args) == 0 {
		args = []string{"--help"}
	}
	if len(args) == 1 {
		switch args[0] {
		case "-h", "-help", "--help":
			usage(stdout)
			return 0
		case "-version", "--version":
			fmt.Fprintf(stdout, "pay-up-to %s\n", version)
			return 0
		}
	}
	fmt.Fprintf(stderr, "pay-up-to: unknown arguments %q\n\n", args)
	usage(stderr)
	return 2
}

// newPlugin wires the guard into a server writing to w. With history,
// init starts reading the node's payment records over its RPC socket;
// golden tests run without.
func newPlugin(w io.Writer, history bool) *jsonrpc.Server {
	srv := jsonrpc.NewServer(w, 0)
	guard := hooks.New(srv, version)
	srv.Observe = guard.Metrics.Observe
	describe(srv, guard, history).Register(srv)
	srv.Handle("rpc_command", guard)
	return srv
}

// describe declares the guard's options, hook, method and notifications.
func describe(srv *jsonrpc.Server, guard *hooks.Guard, history bool) *manifest.Plugin {
	opts, fl, ops, recs, mx := guard.Options, guard.Fleet, guard.Operator, guard.Records, guard.Metrics
	return &manifest.Plugin{
		Summary: "A Core Lightning plugin that refuses payments above a limit, and payments that would make what leaves the node, fees included, exceed a budget per hour, day or week. It bounds every HTLC the node offers, and gives each app connected with a rune (commando, clnrest) an allowance of its own; every other command runs untouched.",
		Options: []manifest.Option{{
			Name:        "limit",
			Description: options.LimitDescription,
			Example:     "0.001btc",
			Dynamic:     true,
			Check:       opts.CheckLimit,
			Set:         opts.SetLimit,
		}, {
			Name:        "budget",
			Description: options.BudgetDescription,
			Example:     "0.002btc/1h,0.01btc/1d",
			Dynamic:     true,
			Check:       opts.CheckBudget,
			Set:         opts.SetBudget,
		}, {
			Name:        "rune-allowance-required",
			Type:        "bool",
			Description: options.RuneRequiredDescription,
			Example:     "true",
			Dynamic:     true,
			Check:       opts.CheckRuneRequired,
			Set:         opts.SetRuneRequired,
		}, {
			Name:        "app-commands",
			Description: options.AppCommandsDescription,
			Example:     "connect,setchannel",
			Dynamic:     true,
			Check:       opts.CheckAppCommands,
			Set:         opts.SetAppCommands,
		}, {
			Name:        "trusted-destinations",
			Description: options.TrustedDescription,
			Example:     "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
			Dynamic:     true,
			Check:       opts.CheckTrusted,
			Set:         opts.SetTrusted,
		}, {
			Name:        "metrics-listen",
			Description: metrics.ListenDescription,
			Example:     "127.0.0.1:9751",
			Dynamic:     true,
			Check:       mx.Check,
			Set:         mx.Set,
			Extra:       true,
		}, {
			Name:        "fleet-etcd",
			Description: fleet.EtcdDescription,
			Example:     "http://127.0.0.1:2379",
			Set:         fl.SetEtcd,
			Extra:       true,
		}, {
			Name:        "fleet-name",
			Description: fleet.NameDescription,
			Example:     "payments",
			Set:         fl.SetName,
			Extra:       true,
		}, {
			Name:        "fleet-etcd-cacert",
			Description: fleet.CACertDescription,
			Example:     "/etc/pay-up-to/etcd-ca.pem",
			Set:         fl.SetCACert,
			Extra:       true,
		}, {
			Name:        "fleet-etcd-cert",
			Description: fleet.CertDescription,
			Example:     "/etc/pay-up-to/etcd-client.pem",
			Set:         fl.SetCert,
			Extra:       true,
		}, {
			Name:        "fleet-etcd-key",
			Description: fleet.KeyDescription,
			Example:     "/etc/pay-up-to/etcd-client-key.pem",
			Set:         fl.SetKey,
			Extra:       true,
		}, {
			Name:        "fleet-offline-share",
			Description: fleet.ShareDescription,
			Example:     "10000sat",
			Set:         fl.SetShare,
			Extra:       true,
		}},
		Hooks: []manifest.Hook{{Name: "rpc_command", Filters: hooks.Filters(), After: []string{"cln-xpay"}}},
		Methods: []manifest.Method{{
			Name:        "pay-up-to-status",
			Usage:       operator.StatusUsage,
			Description: operator.StatusDescription,
			Handler:     jsonrpc.HandlerFunc(ops.ServeStatus),
		}, {
			Name:        "pay-up-to-createrune",
			Usage:       operator.CreateRuneUsage,
			Description: operator.CreateRuneDescription,
			Handler:     jsonrpc.HandlerFunc(ops.ServeCreateRune),
		}, {
			Name:        "pay-up-to-setallowance",
			Usage:       operator.SetAllowanceUsage,
			Description: operator.SetAllowanceDescription,
			Handler:     jsonrpc.HandlerFunc(ops.ServeSetAllowance),
		}, {
			Name:        "pay-up-to-delallowance",
			Usage:       operator.DelAllowanceUsage,
			Description: operator.DelAllowanceDescription,
			Handler:     jsonrpc.HandlerFunc(ops.ServeDelAllowance),
		}, {
			Name:        "pay-up-to-pause",
			Usage:       operator.PauseUsage,
			Description: operator.PauseDescription,
			Handler:     jsonrpc.HandlerFunc(ops.ServePause),
		}, {
			Name:        "pay-up-to-resume",
			Usage:       operator.ResumeUsage,
			Description: operator.ResumeDescription,
			Handler:     jsonrpc.HandlerFunc(ops.ServeResume),
		}, {
			Name:        "pay-up-to-fleet-forget",
			Usage:       operator.FleetForgetUsage,
			Description: operator.FleetForgetDescription,
			Handler:     jsonrpc.HandlerFunc(ops.ServeFleetForget),
		}},
		Subscriptions: []manifest.Subscription{
			{Topic: "sendpay_success", Handler: recs.OnSendpay},
			{Topic: "sendpay_failure", Handler: recs.OnSendpay},
			{Topic: "invoice_payment", Handler: recs.OnInvoicePayment},
			{Topic: "pay_failure", Handler: recs.OnPayEnd},
			{Topic: "pay_part_end", Handler: recs.OnPayEnd},
		},
		Topics: []string{hooks.RefusedTopic, operator.PausedTopic, operator.ResumedTopic},
		Init: func(c manifest.Config) string {
			if why := guard.Ready(c.Network); why != "" {
				return why
			}
			if history {
				guard.Start(filepath.Join(c.LightningDir, c.RPCFile))
			}
			mx.Start()
			srv.Log("info", "pay-up-to %s started", version)
			return ""
		},
	}
}
