package jsontype

import (
	"encoding/json"
	"errors"
	"testing"
)

type inner struct {
	N int `json:"n"`
}

type outer struct {
	Name  string   `json:"name"`
	List  []string `json:"list"`
	Inner inner    `json:"inner"`
	On    bool     `json:"on"`
	Ratio float64  `json:"ratio"`
}

func TestDescribe(t *testing.T) {
	for _, tc := range []struct{ in, prefix, want string }{
		{`[]`, "", "must be an object, not an array"},
		{`{"name": 7}`, "", "name must be a string, not a number"},
		{`{"list": "x"}`, "", "list must be an array, not a string"},
		{`{"inner": {"n": "1"}}`, "", "inner.n must be an integer, not a string"},
		{`{"inner": {"n": 1.5}}`, "", "inner.n must be an integer, not a number 1.5"},
		{`{"on": "yes"}`, "body", "body.on must be true or false, not a string"},
		{`{"ratio": {}}`, "", "ratio must be a number, not an object"},
		{`{"name": true}`, "", "name must be a string, not a boolean"},
	} {
		var v outer
		msg, ok := Describe(json.Unmarshal([]byte(tc.in), &v), tc.prefix)
		if !ok || msg != tc.want {
			t.Errorf("%s: %q %v, want %q", tc.in, msg, ok, tc.want)
		}
	}
	if _, ok := Describe(errors.New("other"), ""); ok {
		t.Error("Describe took an error that is not a type error")
	}
}
