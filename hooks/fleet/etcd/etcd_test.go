package etcd

import (
	"testing"

	"gotest.tools/v3/assert"
)

func TestParseEndpoints(t *testing.T) {
	eps, err := ParseEndpoints(" http://127.0.0.1:2379, https://etcd.example:2379/ ")
	assert.NilError(t, err)
	assert.DeepEqual(t, eps, []string{"http://127.0.0.1:2379", "https://etcd.example:2379"})
	for _, bad := range []string{"", ",", "127.0.0.1:2379", "unix:///x", "http://", "http://h:1/v3", "http://u:p@h:1", "http://h:1?x=1"} {
		_, err := ParseEndpoints(bad)
		assert.Assert(t, err != nil, bad)
	}
}

func TestPrefix(t *testing.T) {
	assert.Equal(t, Prefix("f/"), "f0")
	assert.Equal(t, Prefix("a\xff"), "b")
	assert.Equal(t, Prefix("\xff"), "\x00")
}

func TestNew(t *testing.T) {
	_, err := New(Config{})
	assert.ErrorContains(t, err, "no endpoint")
	_, err = New(Config{Endpoints: []string{"https://h:1"}, Cert: "x"})
	assert.ErrorContains(t, err, "needs its key")
	_, err = New(Config{Endpoints: []string{"https://h:1"}, CACert: "/nonexistent"})
	assert.ErrorContains(t, err, "CA certificate")
}
