package pause

import (
	"testing"

	"gotest.tools/v3/assert"
)

func TestRecord(t *testing.T) {
	for _, key := range []string{Node, "12"} {
		x := New(key, 1_700_000_000, "a reason, with a comma")
		got, ok := Read(key, x.Record())
		assert.Assert(t, ok)
		assert.DeepEqual(t, got, x)
	}
	assert.Equal(t, New("12", 1, "").RuneID, "12")
	assert.Equal(t, New(Node, 1, "").RuneID, "")
	for _, bad := range []string{"", "x,why", "12"} {
		_, ok := Read(Node, bad)
		assert.Assert(t, !ok, bad)
	}
}

func TestBook(t *testing.T) {
	var b Book
	_, ok := b.Get(Node)
	assert.Assert(t, !ok)
	n, r := New(Node, 1, "n"), New("7", 2, "r")
	b.Set(Node, &n)
	b.Set("7", &r)
	got, ok := b.Get(Node)
	assert.Assert(t, ok)
	assert.DeepEqual(t, got, n)
	assert.DeepEqual(t, b.Runes(), []Pause{r})
	b.Set("7", nil)
	assert.DeepEqual(t, b.Runes(), []Pause{})
	assert.Equal(t, Name(Node), "the node")
	assert.Equal(t, Name("7"), "rune 7")
}
