package jsonrpc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
)

// serveOnce answers every connection to a unix socket with answer, after
// reading a request.
func serveOnce(t *testing.T, answer string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rpc")
	l, err := net.Listen("unix", path)
	assert.NilError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				NewReader(conn, 0).Next()
				w := bufio.NewWriter(conn)
				w.WriteString(answer)
				w.Flush()
			}()
		}
	}()
	return path
}

// TestStream: a big answer's elements arrive one by one, the same as the
// whole answer's, whatever surrounds them; an error is an *Error; an
// answer cut short or malformed is an error, never a hang.
func TestStream(t *testing.T) {
	var rows []string
	for i := range 20_000 {
		rows = append(rows, fmt.Sprintf(`{"created_index":%d,"bolt11":"ln\"}]x\\","n":[1,{"a":[]}],"ok":true, "f":-1.5e3}`, i))
	}
	// Strings longer than the read buffer, escapes across its edges.
	rows = append(rows, `{"s":"`+strings.Repeat(`\\`, 40_001)+`\"`+strings.Repeat("x", 70_000)+`\\\""}`)
	answer := `{"jsonrpc":"2.0","id":"x","result":{"before":{"payments":[1]},"payments":[` + strings.Join(rows, " ,\n") + `],"after":"]"}}` + "\n\n"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(serveOnce(t, answer), "t")
	assert.NilError(t, err)
	defer c.Close()
	var got []string
	assert.NilError(t, c.Stream(ctx, "listsendpays", nil, "payments", func(v Value) error {
		got = append(got, string(v))
		return nil
	}))
	assert.DeepEqual(t, got, rows)

	stop := errors.New("enough")
	n := 0
	err = c.Stream(ctx, "listsendpays", nil, "payments", func(Value) error { n++; return stop })
	assert.Equal(t, err, stop)
	assert.Equal(t, n, 1)

	for answer, want := range map[string]string{
		`{"jsonrpc":"2.0","id":"x","error":{"code":-32602,"message":"unknown parameter"}}`: "unknown parameter",
		`{"jsonrpc":"2.0","id":"x","result":{"invoices":[]}}`:                              "no payments array",
		`{"jsonrpc":"2.0","id":"x","result":{"payments":[{"a":1},{"b":`:                    "unexpected EOF",
		`{"jsonrpc":"2.0","id":"x","result":{"payments":[{"a":1}}}`:                        "malformed",
		`[]`: "malformed",
	} {
		c, err := Dial(serveOnce(t, answer), "t")
		assert.NilError(t, err)
		err = c.Stream(ctx, "listsendpays", nil, "payments", func(Value) error { return nil })
		assert.ErrorContains(t, err, want)
		c.Close()
	}
	var e *Error
	c2, _ := Dial(serveOnce(t, `{"id":"x","error":{"code":-32602,"message":"no"}}`), "t")
	assert.Assert(t, errors.As(c2.Stream(ctx, "listsendpays", nil, "payments", func(Value) error { return nil }), &e))
	assert.Equal(t, e.Code, int64(-32602))
}

// FuzzStream: any answer ends (no panic, no hang); a complete one streams
// the elements the whole answer has.
func FuzzStream(f *testing.F) {
	for _, s := range []string{
		`{"result":{"payments":[{"a":"]"},2,"x",[3]]}}`,
		`{"error":{"code":1,"message":"m"}}`,
		`{"result":{"p":{"payments":[]},"payments":[ ]}}`,
		`{"result":{"payments":[1,]}}`,
		`{"result":{"payments":[tru"e]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var got []string
		err := streamArray(bufio.NewReader(bytes.NewReader(in)), "payments", func(v Value) error {
			got = append(got, string(v))
			return nil
		})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) && !errors.Is(err, errStream) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		res, ok := Value(in).Member("result")
		arr, ok2 := res.Member("payments")
		if !ok || !ok2 {
			return // duplicate keys: jsmn's first and the stream's may differ
		}
		var whole []string
		arr.Elements(func(v Value) bool { whole = append(whole, string(v)); return true })
		if len(whole) != len(got) {
			return // the whole-answer reader is more lenient
		}
		for i := range got {
			if strings.TrimSpace(got[i]) != strings.TrimSpace(whole[i]) {
				t.Fatalf("element %d: streamed %q, whole %q", i, got[i], whole[i])
			}
		}
	})
}

// BenchmarkStream reads a listsendpays answer of 10,000 rows shaped like
// v26.06's, element by element as the stream does.
func BenchmarkStream(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"jsonrpc":"2.0","id":"x","result":{"payments":[`)
	for i := range 10_000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"created_index":%d,"id":%d,"payment_hash":"%064x","groupid":1,"updated_index":%d,"destination":"03d0000000000000000000000000000000000000000000000000000000000000000","amount_msat":10000000,"amount_sent_msat":10000101,"created_at":1700000000,"completed_at":1700000001,"status":"complete","payment_preimage":"%064x","bolt11":"lnbcrt2m1p4s2w6dsp5kwehw4vuusp2eeflctf7wdtk8dugr28m9z3zfrcucvq8j893mluqpp5sq82g8yy5a4c2t3nn3ryf8czv02r2e7qqgryqpmyjy22uy2wqrdsdqlw3hk7gr90pcx2mnnd9mx2grsd9a85cgxqyjw5qcqp29qxpqysgq2jm0y82d2337q6h7u4jclv3ctf7wxhssud2n4z5u87ye7e2em6xp024md9gqdz4dnmjnfedrttf275hst7rsgwgh8n5qnrw8z6qmlnqqseeq9f"}`, i, i, i, i, i)
	}
	sb.WriteString("]}}")
	in := []byte(sb.String())
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		n := 0
		if err := streamArray(bufio.NewReaderSize(bytes.NewReader(in), 64<<10), "payments", func(Value) error { n++; return nil }); err != nil || n != 10_000 {
			b.Fatal(err, n)
		}
	}
}
