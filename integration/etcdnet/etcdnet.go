// Package etcdnet runs real etcd servers on this machine for the fleet's
// tests and demo. Install builds etcd at a fixed version into the user's
// cache directory, NewTLS makes a CA and certificates, and Start runs a
// cluster of members on loopback that a test can kill and restart one by
// one, as a crash would.
//
// Members run with a short heartbeat (50 ms) and election timeout (500 ms)
// so that tests are quick, but otherwise as in production: every write is
// synced to disk.
package etcdnet

import (
	"github.com/payupto/pay-up-to/integration/proc"

	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Config says what a cluster runs.
type Config struct {
	Etcd    string // the etcd binary, as Install returns it
	Members int    // how many members (1, 3, …); 0 means 1
	Dir     string // where the members' data dirs and logs go; "" means a new temporary directory, which Stop removes
	TLS     *TLS   // nil: clients speak plain http; else https, with a client certificate the CA signed (peers stay plain http)
}

// Cluster is etcd members on loopback, on free ports.
type Cluster struct {
	Dir string // member i has its data in mI.etcd, its log in mI.log and its stdout and stderr in mI.out

	etcd      string
	tls       *TLS
	scheme    string          // of the client URLs: http or https
	tr        *http.Transport // for the client URLs (with the client certificate under TLS)
	hc        *http.Client    // tr with a timeout, for /health
	initial   string          // the --initial-cluster flag
	token     string          // the --initial-cluster-token flag
	removeDir bool            // Start made Dir: Stop removes it

	mu      sync.Mutex // protects the processes of members
	members []*member
}

// member is one etcd server; its ports stay the same across restarts.
type member struct {
	name         string
	client, peer int           // ports on 127.0.0.1
	cmd          *exec.Cmd     // the latest process, nil before the first
	done         chan struct{} // closed when cmd has exited
}

// timeout bounds how long Start and Restart wait for a member.
const timeout = 60 * time.Second

// Start starts every member of a new cluster (any data in Dir from an
// earlier cluster is removed) and waits until each one's /health says
// true. If it cannot, it stops what it started and returns an error that
// ends with the tail of the members' logs.
func Start(c Config) (*Cluster, error) {
	n := max(c.Members, 1)
	cl := &Cluster{Dir: c.Dir, etcd: c.Etcd, tls: c.TLS, scheme: "http", tr: &http.Transport{DisableKeepAlives: true}}
	if c.TLS != nil {
		cfg, err := c.TLS.ClientConfig()
		if err != nil {
			return nil, err
		}
		cl.scheme, cl.tr.TLSClientConfig = "https", cfg
	}
	cl.hc = &http.Client{Transport: cl.tr, Timeout: 2 * time.Second}
	if cl.Dir == "" {
		dir, err := os.MkdirTemp("", "etcdnet")
		if err != nil {
			return nil, err
		}
		cl.Dir, cl.removeDir = dir, true
	} else if err := os.MkdirAll(cl.Dir, 0o755); err != nil {
		return nil, err
	}
	for i := range n {
		cl.members = append(cl.members, &member{name: fmt.Sprintf("m%d", i)})
	}
	// Another program can take a port between our check and etcd's bind:
	// then try again on new ports.
	for try := 1; ; try++ {
		err := cl.start()
		if err == nil {
			return cl, nil
		}
		inUse := cl.addrInUse(cl.members)
		cl.mu.Lock()
		cl.killAll()
		cl.mu.Unlock()
		if !inUse || try == 3 {
			cl.Stop()
			return nil, err
		}
	}
}

// start runs every member on new ports and waits until all are healthy.
func (c *Cluster) start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.token = "etcdnet-" + rand.Text()
	var peers []string
	for _, m := range c.members {
		var err error
		if m.client, err = proc.FreePort(); err != nil {
			return err
		}
		if m.peer, err = proc.FreePort(); err != nil {
			return err
		}
		peers = append(peers, fmt.Sprintf("%s=http://127.0.0.1:%d", m.name, m.peer))
		for _, ext := range []string{".etcd", ".log", ".out"} {
			if err := os.RemoveAll(filepath.Join(c.Dir, m.name+ext)); err != nil {
				return err
			}
		}
	}
	c.initial = strings.Join(peers, ",")
	for _, m := range c.members {
		if err := c.run(m, "new"); err != nil {
			return err
		}
	}
	// No member has quorum before a majority runs, so wait for all at once.
	deadline := time.Now().Add(timeout)
	waiting := append([]*member(nil), c.members...)
	for len(waiting) > 0 {
		for _, m := range c.members {
			if !m.running() {
				return c.failure(c.members, "%s exited at start", m.name)
			}
		}
		if c.healthy(waiting[0]) {
			waiting = waiting[1:]
			continue
		}
		if time.Now().After(deadline) {
			return c.failure(c.members, "%s not healthy after %v", waiting[0].name, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// run starts m's process; state is new or existing.
func (c *Cluster) run(m *member, state string) error {
	client := c.url(m)
	peer := fmt.Sprintf("http://127.0.0.1:%d", m.peer)
	args := []string{
		"--name=" + m.name,
		"--data-dir=" + filepath.Join(c.Dir, m.name+".etcd"),
		"--listen-client-urls=" + client,
		"--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer,
		"--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=" + c.initial,
		"--initial-cluster-token=" + c.token,
		"--initial-cluster-state=" + state,
		"--heartbeat-interval=50",
		"--election-timeout=500",
		"--logger=zap",
		"--log-level=warn",
		"--log-outputs=" + filepath.Join(c.Dir, m.name+".log"),
	}
	if c.tls != nil {
		args = append(args,
			"--cert-file="+c.tls.ServerCert,
			"--key-file="+c.tls.ServerKey,
			"--trusted-ca-file="+c.tls.CA,
			"--client-cert-auth")
	}
	out, err := os.OpenFile(filepath.Join(c.Dir, m.name+".out"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer out.Close() // the child has its own copy
	cmd := exec.Command(c.etcd, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = proc.Attr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("etcdnet: starting %s: %w", m.name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	m.cmd, m.done = cmd, done
	return nil
}

// URLs returns the client URLs of the members, in order.
func (c *Cluster) URLs() []string {
	urls := make([]string, len(c.members))
	for i, m := range c.members {
		urls[i] = c.url(m)
	}
	return urls
}

func (c *Cluster) url(m *member) string {
	return fmt.Sprintf("%s://127.0.0.1:%d", c.scheme, m.client)
}

// Client returns an HTTP client for the members' client URLs: it presents
// the client certificate and trusts the CA under TLS. It keeps no
// connections alive, so a killed member leaves none behind.
func (c *Cluster) Client() *http.Client {
	return &http.Client{Transport: c.tr}
}

// Kill sends member i SIGKILL and waits for it to exit. A member that is
// not running is left alone.
func (c *Cluster) Kill(i int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.members[i].kill()
}

// Restart starts member i again on its data dir and ports. If a majority
// of the members then runs, it waits until member i says it is healthy;
// otherwise (it cannot be, without quorum) only until it listens.
func (c *Cluster) Restart(i int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.members[i]
	if m.running() {
		return fmt.Errorf("etcdnet: %s is running", m.name)
	}
	if err := c.run(m, "existing"); err != nil {
		return err
	}
	up := 0
	for _, o := range c.members {
		if o.running() {
			up++
		}
	}
	quorum := up > len(c.members)/2
	deadline := time.Now().Add(timeout)
	for {
		if quorum && c.healthy(m) || !quorum && listening(m.client) {
			return nil
		}
		if !m.running() {
			return c.failure([]*member{m}, "%s exited at restart", m.name)
		}
		if time.Now().After(deadline) {
			m.kill()
			return c.failure([]*member{m}, "%s not healthy %v after restart", m.name, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Healthy reports whether member i's /health says true.
func (c *Cluster) Healthy(i int) bool {
	return c.healthy(c.members[i])
}

func (c *Cluster) healthy(m *member) bool {
	resp, err := c.hc.Get(c.url(m) + "/health")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var h struct {
		Health string `json:"health"`
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&h) == nil && h.Health == "true"
}

// Stop kills every member and removes Dir if Start made it.
func (c *Cluster) Stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.killAll()
	if c.removeDir {
		os.RemoveAll(c.Dir)
		c.removeDir = false
	}
}

// killAll kills every member; c.mu must be held.
func (c *Cluster) killAll() {
	for _, m := range c.members {
		m.kill()
	}
}

func (m *member) running() bool {
	if m.cmd == nil {
		return false
	}
	select {
	case <-m.done:
		return false
	default:
		return true
	}
}

func (m *member) kill() error {
	if !m.running() {
		return nil
	}
	if err := m.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("etcdnet: killing %s: %w", m.name, err)
	}
	<-m.done
	return nil
}

// failure returns an error that says what went wrong, followed by the
// last lines each of ms wrote.
func (c *Cluster) failure(ms []*member, format string, args ...any) error {
	var b strings.Builder
	fmt.Fprintf(&b, "etcdnet: "+format, args...)
	for _, m := range ms {
		for _, ext := range []string{".log", ".out"} {
			data, _ := os.ReadFile(filepath.Join(c.Dir, m.name+ext))
			if t := proc.Tail(data, 10, 4000); t != "" {
				fmt.Fprintf(&b, "\n--- %s%s:\n%s", m.name, ext, t)
			}
		}
	}
	return errors.New(b.String())
}

// addrInUse reports whether one of ms could not bind a port.
func (c *Cluster) addrInUse(ms []*member) bool {
	for _, m := range ms {
		for _, ext := range []string{".log", ".out"} {
			data, _ := os.ReadFile(filepath.Join(c.Dir, m.name+ext))
			if bytes.Contains(data, []byte("address already in use")) {
				return true
			}
		}
	}
	return false
}

func listening(port int) bool {
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}
