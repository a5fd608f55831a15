package jsonrpc

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// FuzzReader: framing always ends, never loses or invents bytes outside
// white space, and reads the same whatever the read sizes.
func FuzzReader(f *testing.F) {
	for _, s := range []string{
		"{\"a\":1}\n\n{\"b\":[1,\"]\"]}\n\n",
		"{\"p\":[\n\n\"x\\\"\",\t1]}",
		"junk\n{\"a\":\"\\\\\"}[[[",
		"\"str\" 12 {\"x\":{}}",
	} {
		f.Add([]byte(s), 64)
	}
	f.Fuzz(func(t *testing.T, in []byte, max int) {
		max = 16 + (max%4096+4096)%4096
		read := func(r io.Reader) []Message {
			rd := NewReader(r, max)
			var out []Message
			for i := 0; ; i++ {
				if i > len(in)+1 {
					t.Fatalf("more messages than bytes")
				}
				m, err := rd.Next()
				if errors.Is(err, io.EOF) {
					return out
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(m.Data) == 0 {
					t.Fatalf("empty message")
				}
				out = append(out, Message{Data: append([]byte(nil), m.Data...), Truncated: m.Truncated})
			}
		}
		fast := read(bytes.NewReader(in))
		slow := read(iotest.OneByteReader(bytes.NewReader(in)))
		if len(fast) != len(slow) {
			t.Fatalf("%d messages read at once, %d byte by byte", len(fast), len(slow))
		}
		// Up to the first truncated message (whose dropped tail makes
		// positions ambiguous) messages are the input, less white space.
		rest, skipped := in, false
		for i, m := range fast {
			if !bytes.Equal(m.Data, slow[i].Data) || m.Truncated != slow[i].Truncated {
				t.Fatalf("message %d differs with read sizes: %q vs %q", i, m.Data, slow[i].Data)
			}
			j := bytes.Index(rest, m.Data)
			if j < 0 || !skipped && len(bytes.TrimLeft(rest[:j], " \t\r\n")) != 0 {
				t.Fatalf("message %d %q is not the next bytes of the input", i, m.Data)
			}
			rest, skipped = rest[j+len(m.Data):], skipped || m.Truncated
			if m.Truncated && len(m.Data) > max {
				t.Fatalf("truncated message keeps %d bytes, max %d", len(m.Data), max)
			}
		}
	})
}
