package proc

import (
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

func TestFreePort(t *testing.T) {
	seen := map[int]bool{}
	for range 50 {
		p, err := FreePort()
		assert.NilError(t, err)
		assert.Assert(t, p >= 10000 && p < 32000, p)
		assert.Assert(t, !seen[p], "port %d twice", p)
		seen[p] = true
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		assert.NilError(t, err)
		l.Close()
	}
}

func TestTail(t *testing.T) {
	assert.Equal(t, Tail([]byte("a\nb\nc\n\n"), 2, 100), "b\nc")
	assert.Equal(t, Tail([]byte("abcdef"), 5, 3), "def")
	assert.Equal(t, Tail(nil, 5, 3), "")
}

func TestGo(t *testing.T) {
	bin, err := Go()
	assert.NilError(t, err)
	out, err := exec.Command(bin, "env", "GOVERSION").Output()
	assert.NilError(t, err)
	assert.Assert(t, strings.HasPrefix(string(out), "go1."), "%s", out)

	t.Setenv("PATH", t.TempDir())
	t.Setenv("GOROOT", t.TempDir())
	_, err = Go()
	assert.ErrorContains(t, err, "no go command")
}
