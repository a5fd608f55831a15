package jsonrpc

import (
	"bytes"
	"errors"
	"io"
)

// Default limits of a Reader.
const (
	DefaultMaxMessage = 64 << 20 // past this a message is truncated, not buffered
	headSize          = 64 << 10 // what is kept of a truncated message
	minRead           = 64 << 10
)

// Message is one JSON value read from the stream.
type Message struct {
	// Data is the whole value, or its first bytes when Truncated. It is
	// valid until the next call to Next.
	Data []byte
	// Truncated is set when the value was longer than the Reader's maximum
	// or was cut off by end of input.
	Truncated bool
}

// Reader splits a byte stream into JSON values by following JSON structure
// (depth, strings, escapes), not lines: lightningd forwards client requests
// raw, so a message may hold newlines, blank lines and control characters.
// Bytes that are not JSON end at a newline or '{' and come back as a value
// of their own, which keeps the stream in sync.
type Reader struct {
	r          io.Reader
	max        int
	buf        []byte
	start, end int // buf[start:end] is unconsumed input
	err        error
}

// NewReader returns a Reader that truncates values longer than max bytes
// (DefaultMaxMessage if max <= 0).
func NewReader(r io.Reader, max int) *Reader {
	if max <= 0 {
		max = DefaultMaxMessage
	}
	return &Reader{r: r, max: max, buf: make([]byte, minRead)}
}

// Buffered reports whether input is already waiting, so that a writer can
// delay flushing while a burst is being answered.
func (r *Reader) Buffered() bool {
	for r.start < r.end && isSpace(r.buf[r.start]) {
		r.start++
	}
	return r.start < r.end
}

// fill reads more input after buf[start:end], making room first.
func (r *Reader) fill() bool {
	if r.err != nil {
		return false
	}
	if r.start > 0 {
		r.end = copy(r.buf, r.buf[r.start:r.end])
		r.start = 0
	}
	if len(r.buf)-r.end < minRead/2 {
		r.buf = append(r.buf[:r.end], make([]byte, len(r.buf))...)
		r.buf = r.buf[:cap(r.buf)]
	}
	n, err := r.r.Read(r.buf[r.end:])
	r.end += n
	if err != nil {
		r.err = err
	}
	return n > 0 || err == nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

// Next returns the next value. At the end of input it returns io.EOF, or a
// truncated Message first if the input ended inside a value.
func (r *Reader) Next() (Message, error) {
	for !r.Buffered() {
		if !r.fill() {
			return Message{}, r.eof()
		}
	}
	var (
		depth         int
		inStr, escape bool
		scalar        = r.buf[r.start] != '{' && r.buf[r.start] != '[' && r.buf[r.start] != '"'
		i             = r.start // next byte to scan
		first         = true    // i is the value's first byte
		head          []byte    // set once the value outgrew max
	)
	for {
		for ; i < r.end; i, first = i+1, false {
			c := r.buf[i]
			switch {
			case escape:
				escape = false
			case inStr:
				// Skip plain string bytes in bulk.
				if c != '"' && c != '\\' {
					k := bytes.IndexByte(r.buf[i:r.end], '"')
					if k < 0 {
						k = r.end - i
					}
					if b := bytes.IndexByte(r.buf[i:i+k], '\\'); b >= 0 {
						k = b
					}
					i += k - 1
					continue
				}
				if c == '\\' {
					escape = true
				} else if c == '"' {
					inStr = false
					if depth == 0 && !scalar {
						return r.done(i+1, head)
					}
				}
			case c == '"':
				inStr = true
			case scalar:
				if !first && (c == '\n' || c == '{') {
					return r.done(i, head)
				}
			case c == '{' || c == '[':
				depth++
			case c == '}' || c == ']':
				depth--
				if depth == 0 {
					return r.done(i+1, head)
				}
			}
		}
		if i-r.start > r.max && head == nil {
			head = append([]byte(nil), r.buf[r.start:r.start+min(headSize, r.max)]...)
		}
		if head != nil {
			// Drop what was scanned: a huge value never sits in memory.
			r.start, i = r.end, 0
		}
		scanned := i - r.start
		if !r.fill() {
			if head != nil {
				return Message{Data: head, Truncated: true}, nil
			}
			m := Message{Data: r.buf[r.start:r.end], Truncated: !scalar || inStr}
			r.start = r.end
			return m, nil
		}
		if head != nil {
			i = r.start
		} else {
			i = r.start + scanned
		}
	}
}

func (r *Reader) done(end int, head []byte) (Message, error) {
	data := r.buf[r.start:end]
	r.start = end
	if head == nil && len(data) > r.max {
		head = data[:min(headSize, r.max)]
	}
	if head != nil {
		return Message{Data: head, Truncated: true}, nil
	}
	return Message{Data: data}, nil
}

func (r *Reader) eof() error {
	if r.err == nil || errors.Is(r.err, io.EOF) {
		return io.EOF
	}
	return r.err
}
