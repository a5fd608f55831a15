package jsonrpc

import (
	"testing"

	"gotest.tools/v3/assert"
)

func TestValueMember(t *testing.T) {
	tests := []struct {
		name, obj, key, want string
		found                bool
	}{
		{"simple", `{"a":1,"b":"x"}`, "b", `"x"`, true},
		{"first of duplicates", `{"params":[1],"params":[2]}`, "params", `[1]`, true},
		{"nested not top level", `{"x":{"a":1},"a":2}`, "a", `2`, true},
		{"escaped key", `{"\u0061":5}`, "a", `5`, true},
		{"spaces", " { \"a\" :\n [ 1 , 2 ] } ", "a", "[ 1 , 2 ]", true},
		{"missing", `{"a":1}`, "b", "", false},
		{"not an object", `[1,2]`, "a", "", false},
		{"cut off value", `{"a":1,"b":[1,2`, "b", `[1,2`, true},
		{"raw tab in string", "{\"a\":\"x\ty\"}", "a", "\"x\ty\"", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, ok := Value(tt.obj).Member(tt.key)
			assert.Equal(t, ok, tt.found)
			assert.Equal(t, string(v), tt.want)
		})
	}
}

func TestValueString(t *testing.T) {
	tests := []struct {
		in, want string
		bad      bool
	}{
		{in: `"abc"`, want: "abc"},
		{in: `"a\"b\\c\/d"`, want: `a"b\c/d`},
		{in: `"\n\t\r\b\f"`, want: "\n\t\r\b\f"},
		{in: `"\u00e9\u20ac"`, want: "é€"},
		{in: `"\ud83d\ude00"`, want: "😀"},
		{in: `"\ud83d"`, want: "\ufffd"},
		{in: "\"raw\ttab\"", want: "raw\ttab"},
		{in: " \"padded\" ", want: "padded"},
		{in: `"\x"`, bad: true},
		{in: `"\u12"`, bad: true},
		{in: `"abc`, bad: true},
		{in: `123`, bad: true},
		{in: `"a" "b"`, bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Value(tt.in).String()
			if tt.bad {
				assert.ErrorIs(t, err, ErrBadJSON)
				return
			}
			assert.NilError(t, err)
			assert.Equal(t, got, tt.want)
		})
	}
}

func TestValueElements(t *testing.T) {
	var got []string
	err := Value(`[1, "two", {"three":[3]}, null ,[]]`).Elements(func(v Value) bool {
		got = append(got, string(v))
		return true
	})
	assert.NilError(t, err)
	assert.DeepEqual(t, got, []string{"1", `"two"`, `{"three":[3]}`, "null", "[]"})

	assert.NilError(t, Value(`[]`).Elements(func(Value) bool { t.Fatal("called"); return true }))
	assert.ErrorIs(t, Value(`[1,`).Elements(func(Value) bool { return true }), ErrBadJSON)
	assert.ErrorIs(t, Value(`{}`).Elements(func(Value) bool { return true }), ErrBadJSON)
	assert.ErrorIs(t, Value(`[1 2]`).Elements(func(Value) bool { return true }), ErrBadJSON)
}

func TestValueKind(t *testing.T) {
	assert.Equal(t, Value(` {`).Kind(), byte('{'))
	assert.Equal(t, Value(``).Kind(), byte(0))
	assert.Assert(t, Value(`null`).IsNull())
	assert.Assert(t, Value(``).IsNull())
	assert.Assert(t, !Value(`0`).IsNull())
}
