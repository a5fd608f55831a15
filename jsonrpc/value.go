package jsonrpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Value is raw JSON read the way CLN's jsmn reads it: raw control
// characters inside strings are accepted, duplicate keys are kept (Member
// returns the first, as lightningd acts on the first), and a value cut short
// yields what it holds so far. Walking never recurses, so depth is no risk.
type Value []byte

// UnmarshalJSON keeps the raw JSON, as json.RawMessage does: a Value in a
// struct that encoding/json fills (a number, an "…msat" string) is then
// read like any other. Without it, []byte would want base64.
func (v *Value) UnmarshalJSON(b []byte) error {
	*v = append((*v)[:0], b...)
	return nil
}

// ErrBadJSON is returned for input that is not JSON even by jsmn's rules.
var ErrBadJSON = errors.New("jsonrpc: malformed JSON")

// Kind is the first byte of v past white space: '{', '[', '"', 't', 'f',
// 'n', a digit or '-', or 0 when v is empty.
func (v Value) Kind() byte {
	i := skipSpace(v, 0)
	if i >= len(v) {
		return 0
	}
	return v[i]
}

// IsNull reports whether v is the literal null (or empty).
func (v Value) IsNull() bool {
	i := skipSpace(v, 0)
	return i >= len(v) || v[i] == 'n'
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// end returns the index just past the value starting at b[i].
func end(b []byte, i int) (int, error) {
	if i >= len(b) {
		return i, ErrBadJSON
	}
	switch b[i] {
	case '"':
		// The closing quote is the first not preceded by an odd run of
		// backslashes; IndexByte makes long invoices cheap to skip.
		for j := i + 1; ; {
			k := bytes.IndexByte(b[j:], '"')
			if k < 0 {
				return len(b), ErrBadJSON
			}
			q, n := j+k, 0
			for p := q - 1; p > i && b[p] == '\\'; p-- {
				n++
			}
			if n%2 == 0 {
				return q + 1, nil
			}
			j = q + 1
		}
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				k, err := end(b, j)
				if err != nil {
					return k, err
				}
				j = k - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return len(b), ErrBadJSON
	case ',', ':', '}', ']':
		return i, ErrBadJSON
	}
	j := i
	for j < len(b) && !isSpace(b[j]) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ':' {
		j++
	}
	return j, nil
}

// Members calls fn for each member of object v, in order, until fn
// returns false. It returns ErrBadJSON if v is not a whole object, after
// calling fn for the members it could read.
func (v Value) Members(fn func(key string, val Value) bool) error {
	i := skipSpace(v, 0)
	if i >= len(v) || v[i] != '{' {
		return ErrBadJSON
	}
	i = skipSpace(v, i+1)
	if i < len(v) && v[i] == '}' {
		return nil
	}
	for {
		if i >= len(v) || v[i] != '"' {
			return ErrBadJSON
		}
		k, err := end(v, i)
		if err != nil {
			return err
		}
		key, err := unquote(v[i:k])
		if err != nil {
			return err
		}
		i = skipSpace(v, k)
		if i >= len(v) || v[i] != ':' {
			return ErrBadJSON
		}
		i = skipSpace(v, i+1)
		e, err := end(v, i)
		if err != nil {
			if e == len(v) && e > i {
				fn(key, v[i:e]) // cut off: what it holds so far
			}
			return err
		}
		if !fn(key, v[i:e]) {
			return nil
		}
		i = skipSpace(v, e)
		if i < len(v) && v[i] == '}' {
			return nil
		}
		if i >= len(v) || v[i] != ',' {
			return ErrBadJSON
		}
		i = skipSpace(v, i+1)
	}
}

// Member returns the first member of object v called name.
func (v Value) Member(name string) (Value, bool) {
	var out Value
	found := false
	v.Members(func(k string, val Value) bool {
		if k == name {
			out, found = val, true
		}
		return !found
	})
	return out, found
}

// Elements calls fn for each element of array v until fn returns false,
// like Members.
func (v Value) Elements(fn func(val Value) bool) error {
	i := skipSpace(v, 0)
	if i >= len(v) || v[i] != '[' {
		return ErrBadJSON
	}
	i = skipSpace(v, i+1)
	if i < len(v) && v[i] == ']' {
		return nil
	}
	for {
		e, err := end(v, i)
		if err != nil {
			return err
		}
		if !fn(v[i:e]) {
			return nil
		}
		i = skipSpace(v, e)
		if i < len(v) && v[i] == ']' {
			return nil
		}
		if i >= len(v) || v[i] != ',' {
			return ErrBadJSON
		}
		i = skipSpace(v, i+1)
	}
}

// String returns the contents of string v with escapes resolved. Raw
// control characters are kept, as jsmn keeps them.
func (v Value) String() (string, error) {
	i := skipSpace(v, 0)
	e, err := end(v, i)
	if err != nil || v[i] != '"' || skipSpace(v, e) != len(v) {
		return "", ErrBadJSON
	}
	return unquote(v[i:e])
}

// unquote decodes a quoted JSON string, tolerating raw control characters.
func unquote(q []byte) (string, error) {
	s := q[1 : len(q)-1]
	simple := true
	for _, c := range s {
		if c == '\\' {
			simple = false
			break
		}
	}
	if simple {
		return intern(s), nil
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(s) {
			return "", ErrBadJSON
		}
		switch s[i] {
		case '"', '\\', '/':
			out = append(out, s[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, n := hex4(s[i+1:])
			if n == 0 {
				return "", ErrBadJSON
			}
			i += n
			if utf16.IsSurrogate(r) {
				if i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					if r2, n2 := hex4(s[i+3:]); n2 != 0 {
						if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
							r = d
							i += 2 + n2
						}
					}
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", ErrBadJSON
		}
	}
	return string(out), nil
}

func hex4(b []byte) (rune, int) {
	if len(b) < 4 {
		return 0, 0
	}
	n, err := strconv.ParseUint(string(b[:4]), 16, 32)
	if err != nil {
		return 0, 0
	}
	return rune(n), 4
}

// echoable reports whether v can be echoed as an id: one string (raw
// control characters allowed, as lightningd forwards client ids raw), a
// number, or null. Echoing anything else would put non-JSON on stdout.
func (v Value) echoable() bool {
	switch v.Kind() {
	case '"':
		e, err := end(v, 0)
		if err != nil || e != len(v) {
			return false
		}
		if bytes.IndexByte(v, '\\') < 0 {
			return true
		}
		_, err = unquote(v) // only to check the escapes
		return err == nil
	case 'n':
		return string(v) == "null"
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return json.Valid(v) // a valid value starting so is a number
	}
	return false
}

// AppendString appends s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD, no HTML escaping.
func AppendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		case c < utf8.RuneSelf:
			b = append(b, c)
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, s[i:i+n]...)
			}
			i += n
			continue
		}
		i++
	}
	return append(b, '"')
}

// intern returns the keys every request carries without allocating.
func intern(b []byte) string {
	switch string(b) {
	case "jsonrpc":
		return "jsonrpc"
	case "id":
		return "id"
	case "method":
		return "method"
	case "params":
		return "params"
	case "rpc_command":
		return "rpc_command"
	case "bolt11":
		return "bolt11"
	case "invstring":
		return "invstring"
	case "amount_msat":
		return "amount_msat"
	case "destination":
		return "destination"
	}
	return string(b)
}
