// Package proc is what the test helpers that run servers (lnnet, etcdnet,
// promnet) share: free loopback ports handed out once each, process
// groups, and the tail of a log for an error.
package proc

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

var (
	portsMu sync.Mutex // protects ports
	ports   = map[int]bool{}
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago and
// that no earlier call in this process returned. It picks between 10000
// and 32000, below the kernel's range for outgoing connections (from
// 32768): a port from listening on :0 comes from there, and a server's
// own connections could take it between this check and the bind, or
// before a killed server binds it again on restart.
func FreePort() (int, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 1000 {
		p := 10000 + rand.IntN(22000)
		if ports[p] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		l.Close()
		ports[p] = true
		return p, nil
	}
	return 0, errors.New("proc: no free port between 10000 and 32000")
}

// Tail returns the last n lines of data, at most max bytes of them.
func Tail(data []byte, n, max int) string {
	data = bytes.TrimSpace(data)
	if len(data) > max {
		data = data[len(data)-max:]
	}
	lines := bytes.Split(data, []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// Go returns the go command that builds the test tools: the one on PATH
// (go test puts its own first), else $GOROOT/bin/go.
func Go() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	if root := os.Getenv("GOROOT"); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("proc: no go command on PATH or in $GOROOT/bin")
}
