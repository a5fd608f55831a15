package jsonrpc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// maxElement bounds one streamed element: a listsendpays row is under a
// few kB.
const maxElement = 16 << 20

// Stream calls method and hands fn each element of the array at
// result.<member> as it arrives, on a connection of its own, so that an
// answer of any size is never held whole (listsendpays before v23.11 has
// no paging). A JSON-RPC error is returned as *Error; an error from fn
// ends the call with it. On a Client not made by Dial the answer is read
// whole.
func (c *Client) Stream(ctx context.Context, method string, params any, member string, fn func(Value) error) error {
	if c.dial == nil {
		var raw Value
		if err := c.Call(ctx, method, params, &raw); err != nil {
			return err
		}
		arr, ok := raw.Member(member)
		if !ok || arr.Kind() != '[' {
			return fmt.Errorf("jsonrpc: %s: no %s array", method, member)
		}
		var ferr error
		err := arr.Elements(func(v Value) bool { ferr = fn(v); return ferr == nil })
		if ferr != nil {
			return ferr
		}
		return err
	}
	if params == nil {
		params = struct{}{}
	}
	p, err := json.Marshal(params)
	if err != nil {
		return fmt.Errorf("jsonrpc: %s params: %w", method, err)
	}
	conn, err := c.dial()
	if err != nil {
		return fmt.Errorf("jsonrpc: %w", err)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			conn.Close()
		case <-done:
			conn.Close()
		}
	}()
	msg := append(AppendString([]byte(`{"jsonrpc":"2.0","id":`), c.prefix+method+"#stream"), `,"method":`...)
	msg = append(AppendString(msg, method), `,"params":`...)
	msg = append(append(msg, p...), "}\n\n"...)
	if _, err := conn.Write(msg); err != nil {
		return fmt.Errorf("jsonrpc: writing: %w", err)
	}
	err = streamArray(bufio.NewReaderSize(conn, 64<<10), member, fn)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// streamArray reads one answer, {…,"result":{…,"<member>":[…]}} or
// {…,"error":{…}}, calling fn with each element of the array.
func streamArray(r *bufio.Reader, member string, fn func(Value) error) error {
	s := streamer{r: r}
	found := false
	err := s.object(func(key string) error {
		switch key {
		case "result":
			return s.object(func(key string) error {
				if key != member {
					return s.value(nil)
				}
				found = true
				return s.array(fn)
			})
		case "error":
			var b []byte
			if err := s.value(&b); err != nil {
				return err
			}
			e := &Error{Code: ErrInternal.Code, Message: "jsonrpc: malformed error"}
			json.Unmarshal(b, e)
			return e
		}
		return s.value(nil)
	})
	if err == nil && !found {
		err = fmt.Errorf("%w: no %s array", errStream, member)
	}
	return err
}

// streamer reads JSON from a reader without holding more than one value,
// and without recursion.
type streamer struct{ r *bufio.Reader }

var errStream = errors.New("jsonrpc: malformed streamed answer")

func (s *streamer) next() (byte, error) {
	for {
		c, err := s.r.ReadByte()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		if !isSpace(c) {
			return c, nil
		}
	}
}

// object reads an object, calling member with each key; member must read
// its value.
func (s *streamer) object(member func(key string) error) error {
	return s.items('{', '}', func() error {
		if c, err := s.next(); err != nil || c != '"' {
			return orBad(err)
		}
		var raw []byte
		if err := s.str(&raw); err != nil {
			return err
		}
		key, err := unquote(append([]byte{'"'}, raw...))
		if err != nil {
			return errStream
		}
		if c, err := s.next(); err != nil || c != ':' {
			return orBad(err)
		}
		return member(key)
	})
}

// array reads an array, calling fn with each element.
func (s *streamer) array(fn func(Value) error) error {
	var buf []byte
	return s.items('[', ']', func() error {
		buf = buf[:0]
		if err := s.value(&buf); err != nil {
			return err
		}
		return fn(Value(buf))
	})
}

// items reads a container from open to close, calling item for each of
// its comma-separated items.
func (s *streamer) items(open, close byte, item func() error) error {
	if c, err := s.next(); err != nil || c != open {
		return orBad(err)
	}
	if c, err := s.next(); err != nil || c == close {
		return err
	}
	s.r.UnreadByte()
	for {
		if err := item(); err != nil {
			return err
		}
		switch c, err := s.next(); {
		case err != nil:
			return err
		case c == close:
			return nil
		case c != ',':
			return errStream
		}
	}
}

// value reads one value, appending its bytes to capture unless nil.
func (s *streamer) value(capture *[]byte) error {
	c, err := s.next()
	if err != nil {
		return err
	}
	put := func(c byte) error {
		if capture != nil {
			if len(*capture) >= maxElement {
				return fmt.Errorf("%w: an element over %d bytes", errStream, maxElement)
			}
			*capture = append(*capture, c)
		}
		return nil
	}
	switch c {
	case '"':
		put(c)
		return s.str(capture)
	case '{', '[':
		depth := 0
		for {
			if err := put(c); err != nil {
				return err
			}
			switch c {
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			case '"':
				if err := s.str(capture); err != nil {
					return err
				}
			}
			if depth == 0 {
				return nil
			}
			if c, err = s.r.ReadByte(); err != nil {
				return orBad(err)
			}
		}
	case ',', ':', '}', ']':
		return errStream
	}
	for { // a number or literal: up to the next delimiter
		if err := put(c); err != nil {
			return err
		}
		if c, err = s.r.ReadByte(); err != nil {
			return orBad(err)
		}
		if isSpace(c) || c == ',' || c == '}' || c == ']' {
			return s.r.UnreadByte()
		}
		if c == '{' || c == '[' || c == '"' || c == ':' {
			return errStream
		}
	}
}

// str reads the rest of a string after its opening quote, closing quote
// included. Rows are mostly strings (hashes, invoices): they are read a
// buffer at a time.
func (s *streamer) str(capture *[]byte) error {
	odd := false // the bytes so far end in an odd run of backslashes
	for {
		chunk, err := s.r.ReadSlice('"')
		if err != nil && err != bufio.ErrBufferFull {
			return orBad(err)
		}
		if capture != nil {
			if len(*capture)+len(chunk) > maxElement {
				return fmt.Errorf("%w: an element over %d bytes", errStream, maxElement)
			}
			*capture = append(*capture, chunk...)
		}
		body := chunk
		if err == nil {
			body = chunk[:len(chunk)-1]
		}
		run := len(body) - len(bytes.TrimRight(body, "\\"))
		if run == len(body) {
			odd = odd != (run%2 == 1)
		} else {
			odd = run%2 == 1
		}
		if err == nil {
			if !odd {
				return nil
			}
			odd = false // the escaped quote ends the run
		}
	}
}

func orBad(err error) error {
	if err == nil {
		return errStream
	}
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
