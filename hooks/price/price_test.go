package price

import (
	"testing"

	"gotest.tools/v3/assert"
)

// TestReadArgs: by position or by name, a null is absent, and a name
// given twice (a null among them) is refused.
func TestReadArgs(t *testing.T) {
	order := []string{"a", "b", "c"}
	for params, want := range map[string]map[string]string{
		`[1,null,"x"]`:              {"a": "1", "c": `"x"`},
		`[1,2,3,4]`:                 {"a": "1", "b": "2", "c": "3"},
		`{"a":1,"z":[2],"b":null}`:  {"a": "1", "z": "[2]"},
		`{}`:                        {},
		`null`:                      {},
		`{"a":{"a":1,"a":2},"b":3}`: {"a": `{"a":1,"a":2}`, "b": "3"}, // nested: its reader's to refuse
	} {
		a, err := ReadArgs([]byte(params), order)
		assert.NilError(t, err, params)
		got := map[string]string{}
		for k, v := range a {
			got[k] = string(v)
		}
		assert.DeepEqual(t, got, want)
	}
	for params, err := range map[string]string{
		`{"a":1,"a":2}`:       "a is given twice",
		`{"a":1,"b":2,"a":1}`: "a is given twice",
		`{"a":null,"a":2}`:    "a is given twice",
		`{"a":2,"a":null}`:    "a is given twice",
		`{"a":null,"a":null}`: "a is given twice",
		`"x"`:                 "cannot read the parameters",
		`{"a":1,`:             "cannot read the parameters",
	} {
		_, e := ReadArgs([]byte(params), order)
		assert.Error(t, e, err, params)
	}
}
