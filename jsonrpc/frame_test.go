package jsonrpc

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"gotest.tools/v3/assert"
)

// messages reads all of in, through a reader that returns one byte at a
// time when slow (to cross every buffer boundary).
func messages(t *testing.T, in string, max int, slow bool) []Message {
	t.Helper()
	var r io.Reader = strings.NewReader(in)
	if slow {
		r = iotest.OneByteReader(r)
	}
	rd := NewReader(r, max)
	var out []Message
	for {
		m, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		assert.NilError(t, err)
		out = append(out, Message{Data: append([]byte(nil), m.Data...), Truncated: m.Truncated})
	}
}

func TestReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // "…" suffix: truncated
	}{
		{"one", `{"a":1}`, []string{`{"a":1}`}},
		{"cln framing", "{\"a\":1}\n\n{\"b\":2}\n\n", []string{`{"a":1}`, `{"b":2}`}},
		{"no separator", `{"a":1}{"b":2}[3]`, []string{`{"a":1}`, `{"b":2}`, `[3]`}},
		{"blank lines inside", "{\"p\":[\n\n\"x\",\n\n\n1]}\n\n", []string{"{\"p\":[\n\n\"x\",\n\n\n1]}"}},
		{"braces in strings", `{"s":"}}]]{{"}{"t":"\"}"}`, []string{`{"s":"}}]]{{"}`, `{"t":"\"}"}`}},
		{"escaped backslash", `{"s":"\\"}{"t":1}`, []string{`{"s":"\\"}`, `{"t":1}`}},
		{"raw control characters", "{\"s\":\"a\tb\x01c\nd\"}", []string{"{\"s\":\"a\tb\x01c\nd\"}"}},
		{"invalid utf-8", "{\"s\":\"\xff\xfe\"}", []string{"{\"s\":\"\xff\xfe\"}"}},
		{"junk line then message", "not json\n{\"a\":1}", []string{"not json", `{"a":1}`}},
		{"junk runs into message", `garbage{"a":1}`, []string{"garbage", `{"a":1}`}},
		{"top-level string", `"str" {"a":1}`, []string{`"str"`, `{"a":1}`}},
		{"cut off by EOF", `{"a":1}{"b":[1,2`, []string{`{"a":1}`, `{"b":[1,2…`}},
		{"cut off in string", `{"b":"abc`, []string{`{"b":"abc…`}},
		{"only space", " \n\n\t ", nil},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		for _, slow := range []bool{false, true} {
			t.Run(tt.name, func(t *testing.T) {
				var got []string
				for _, m := range messages(t, tt.in, 0, slow) {
					s := string(m.Data)
					if m.Truncated {
						s += "…"
					}
					got = append(got, s)
				}
				assert.DeepEqual(t, got, tt.want)
			})
		}
	}
}

func TestReaderDeepNesting(t *testing.T) {
	deep := strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000)
	got := messages(t, deep+"\n\n{\"a\":1}", 0, false)
	assert.Equal(t, len(got), 2)
	assert.Equal(t, len(got[0].Data), 200_000)
	assert.Equal(t, string(got[1].Data), `{"a":1}`)
}

func TestReaderOversize(t *testing.T) {
	const max = 1 << 20
	big := `{"id":"x","method":"m","params":["` + strings.Repeat("a", 3*max) + `"]}`
	got := messages(t, big+"\n\n{\"after\":1}\n\n", max, false)
	assert.Equal(t, len(got), 2)
	assert.Assert(t, got[0].Truncated)
	assert.Equal(t, len(got[0].Data), headSize)
	assert.Assert(t, bytes.HasPrefix(got[0].Data, []byte(`{"id":"x","method":"m"`)))
	assert.Equal(t, string(got[1].Data), `{"after":1}`, "stream must resynchronize")

	// Up to the limit, a message is read whole.
	fits := `{"p":"` + strings.Repeat("b", max-10) + `"}`
	got = messages(t, fits, max, false)
	assert.Equal(t, len(got), 1)
	assert.Assert(t, !got[0].Truncated)
	assert.Equal(t, len(got[0].Data), len(fits))
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("boom") }

func TestReaderError(t *testing.T) {
	_, err := NewReader(errReader{}, 0).Next()
	assert.ErrorContains(t, err, "boom")
}

func BenchmarkReader(b *testing.B) {
	msg := []byte(`{"jsonrpc":"2.0","id":"cli:pay#1/cln:rpc_command#2","method":"rpc_command","params":{"rpc_command":{"jsonrpc":"2.0","method":"pay","id":"cli:pay#1","params":["lnbcrt2m1p4s2w6dsp5kwehw4vuusp2eeflctf7wdtk8dugr28m9z3zfrcucvq8j893mluqpp5sq82g8yy5a4c2t3nn3ryf8czv02r2e7qqgryqpmyjy22uy2wqrdsdqlw3hk7gr90pcx2mnnd9mx2grsd9a85cgxqyjw5qcqp29qxpqysgq2jm0y82d2337q6h7u4jclv3ctf7wxhssud2n4z5u87ye7e2em6xp024md9gqdz4dnmjnfedrttf275hst7rsgwgh8n5qnrw8z6qmlnqqseeq9f"]}}}` + "\n\n")
	in := bytes.Repeat(msg, 1000)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	var rd *Reader
	for i := 0; i < b.N; i++ {
		if i%1000 == 0 {
			rd = NewReader(bytes.NewReader(in), 0)
		}
		if _, err := rd.Next(); err != nil {
			b.Fatal(err)
		}
	}
}
