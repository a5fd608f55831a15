package fleet

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/payupto/pay-up-to/amount"
	"github.com/payupto/pay-up-to/hooks/fleet/etcd"
)

// Descriptions of the fleet's options, for lightning-cli listconfigs.
const (
	EtcdDescription   = "Share the budget with the other nodes of a fleet through etcd: comma-separated etcd client URLs (http:// or https://), any of which may be down"
	NameDescription   = "The fleet's name, and the prefix of every key pay-up-to keeps in etcd (letters, digits, '.', '_' and '-')"
	CACertDescription = "PEM file of the CA that signed the etcd servers' certificates"
	CertDescription   = "PEM file of the client certificate pay-up-to shows etcd"
	KeyDescription    = "PEM file of the client certificate's key"
	ShareDescription  = "What this member may spend alone while etcd cannot be reached (e.g. 10000sat): reserved in the fleet's budget beforehand"
)

// Config is what a member needs of its options.
type Config struct {
	Name  string
	Etcd  etcd.Config
	Share amount.MSat // msat
}

// Options collects the fleet's options as lightningd gives them at start.
type Options struct {
	mu sync.Mutex // protects c and share
	c  Config
}

// SetEtcd reads fleet-etcd.
func (o *Options) SetEtcd(s string) error {
	eps, err := etcd.ParseEndpoints(s)
	if err != nil {
		return err
	}
	o.mu.Lock()
	o.c.Etcd.Endpoints = eps
	o.mu.Unlock()
	return nil
}

// SetName reads fleet-name.
func (o *Options) SetName(s string) error {
	if err := checkName(s); err != nil {
		return err
	}
	o.mu.Lock()
	o.c.Name = s
	o.mu.Unlock()
	return nil
}

func checkName(s string) error {
	if s == "" || len(s) > 64 {
		return errors.New("fleet-name must be 1 to 64 characters")
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("fleet-name %q may hold only letters, digits, '.', '_' and '-'", s)
		}
	}
	return nil
}

// SetCACert, SetCert and SetKey read the TLS files' paths; each must be
// a readable file.
func (o *Options) SetCACert(s string) error {
	return o.setFile(&o.c.Etcd.CACert, "fleet-etcd-cacert", s)
}
func (o *Options) SetCert(s string) error { return o.setFile(&o.c.Etcd.Cert, "fleet-etcd-cert", s) }
func (o *Options) SetKey(s string) error  { return o.setFile(&o.c.Etcd.Key, "fleet-etcd-key", s) }

func (o *Options) setFile(dst *string, name, s string) error {
	f, err := os.Open(s)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	f.Close()
	o.mu.Lock()
	*dst = s
	o.mu.Unlock()
	return nil
}

// SetShare reads fleet-offline-share, in CLN's amount syntax.
func (o *Options) SetShare(s string) error {
	m, err := amount.ParseMSat(s)
	if err != nil {
		return fmt.Errorf("fleet-offline-share: %w", err)
	}
	o.mu.Lock()
	o.c.Share = m
	o.mu.Unlock()
	return nil
}

// Config returns the fleet's config; ok is false when the node is in no
// fleet. The error says which options do not go together.
func (o *Options) Config() (c Config, ok bool, err error) {
	o.mu.Lock()
	c = o.c
	o.mu.Unlock()
	tlsSet := c.Etcd.CACert != "" || c.Etcd.Cert != "" || c.Etcd.Key != ""
	switch {
	case len(c.Etcd.Endpoints) == 0 && c.Name == "" && !tlsSet && c.Share == 0:
		return c, false, nil
	case len(c.Etcd.Endpoints) == 0:
		return c, false, errors.New("fleet-name, fleet-offline-share and the fleet-etcd TLS options need fleet-etcd")
	case c.Name == "":
		return c, false, errors.New("fleet-etcd needs fleet-name")
	case (c.Etcd.Cert == "") != (c.Etcd.Key == ""):
		return c, false, errors.New("fleet-etcd-cert and fleet-etcd-key go together")
	}
	if tlsSet {
		for _, e := range c.Etcd.Endpoints {
			if !strings.HasPrefix(e, "https://") {
				return c, false, fmt.Errorf("fleet-etcd %s is not https://, but TLS files are set", e)
			}
		}
	}
	if _, err := etcd.New(c.Etcd); err != nil {
		return c, false, err
	}
	return c, true, nil
}
