package proc

import (
	"net"
	"strconv"
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
