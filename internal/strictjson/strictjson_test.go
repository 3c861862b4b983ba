package strictjson_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/signalgate/signalgate/internal/strictjson"
)

func TestParseAccepts(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, in, want string }{
		{"object", `{"a": 1, "b": [true, false, null], "c": {"d": "e"}}`, `{"a": 1, "b": [true, false, null], "c": {"d": "e"}}`},
		{"escapes", `"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00"`, `"a\"b\\c/d\b\f\n\r\t\u00e9😀"`},
		{"numbers", `[0, -0, 1.5, -2e10, 3E-2, 12345678901234567890]`, `[0, -0, 1.5, -2e10, 3E-2, 12345678901234567890]`},
		{"utf-8", `"ü ✓ 😀"`, `"ü ✓ 😀"`},
		{"whitespace", " \t\n{ } \r\n", `{}`},
		{"32 deep", strings.Repeat("[", 32) + strings.Repeat("]", 32), strings.Repeat("[", 32) + strings.Repeat("]", 32)},
		{"1000 wide", "[" + strings.TrimSuffix(strings.Repeat("1,", 1000), ",") + "]", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := strictjson.Parse([]byte(tc.in), strictjson.DefaultLimits)
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if tc.want == "" {
				return
			}
			want := ast.MustParseTerm(tc.want).Value
			if v.Compare(want) != 0 {
				t.Errorf("got %v, want %v", v, want)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, in, msg string }{
		{"empty", ``, "unexpected end"},
		{"truncated", `{"a":`, "unexpected end"},
		{"trailing", `{} {}`, "after the JSON value"},
		{"single quotes", `{'a':1}`, "expected a string key"},
		{"trailing comma", `[1,]`, "unexpected character"},
		{"leading zero", `012`, "after the JSON value"},
		{"bare minus", `-`, "invalid number"},
		{"dot without digits", `1.`, "digits expected"},
		{"NaN", `NaN`, "unexpected character"},
		{"raw NUL", "\"a\x00b\"", "NUL"},
		{"escaped NUL", `"a\u0000b"`, "NUL"},
		{"NUL outside strings", "[1,\x00]", "NUL"},
		{"control char", "\"a\nb\"", "control character"},
		{"invalid UTF-8", "\"\xff\"", "invalid UTF-8"},
		{"invalid UTF-8 after escape", "\"\\n\xc3\x28\"", "invalid UTF-8"},
		{"lone high surrogate", `"\ud800"`, "surrogate"},
		{"lone low surrogate", `"\udc00"`, "surrogate"},
		{"high then non-low", `"\ud800\u0041"`, "surrogate"},
		{"bad escape", `"\x"`, "invalid escape"},
		{"bad hex", `"\u12g4"`, "invalid \\u escape"},
		{"duplicate key", `{"a":1,"a":2}`, `duplicate key "a"`},
		{"duplicate key in a wide object", `{` + wideKeys(20) + `,"k3":0}`, `duplicate key "k3"`},
		{"duplicate key after escape", `{"a":1,"\u0061":2}`, `duplicate key "a"`},
		{"33 deep", strings.Repeat("[", 33) + strings.Repeat("]", 33), "nesting deeper than 32"},
		{"1001 wide array", "[" + strings.TrimSuffix(strings.Repeat("1,", 1001), ",") + "]", "wider than 1000"},
		{"1001 wide object", "{" + wideKeys(1001) + "}", "wider than 1000"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := strictjson.Parse([]byte(tc.in), strictjson.DefaultLimits)
			var se *strictjson.SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a SyntaxError", err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %q, want it to mention %q", err, tc.msg)
			}
		})
	}
}

func wideKeys(n int) string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = `"k` + itoa(i) + `":0`
	}
	return strings.Join(keys, ",")
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

func TestParseObjectMembers(t *testing.T) {
	t.Parallel()
	body := `{ "input" : {"a": [1, 2]} , "inputs": [ {"x":1}, 2 ,"s" ] }`
	m, err := strictjson.ParseObject([]byte(body), strictjson.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 || m[0].Key != "input" || string(m[0].Raw) != `{"a": [1, 2]}` || m[0].Elems != nil {
		t.Fatalf("member 0 = %+v", m[0])
	}
	if m[1].Key != "inputs" || len(m[1].Elems) != 3 || string(m[1].Elems[0]) != `{"x":1}` || string(m[1].Elems[2]) != `"s"` {
		t.Fatalf("member 1 = %+v", m[1])
	}
	if _, err := strictjson.ParseObject([]byte(`[1]`), strictjson.DefaultLimits); err == nil {
		t.Error("a top-level array was accepted as an object")
	}
}

// FuzzParse: whatever Parse accepts, encoding/json accepts too, and it is
// valid UTF-8 without NUL; whatever encoding/json refuses, Parse refuses.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,"x",null]}`, `"\ud83d\ude00"`, `[1e5,-0.5]`, `{"a":1,"a":2}`, "\"\x00\"", `"\u0000"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := strictjson.Parse(b, strictjson.DefaultLimits)
		valid := json.Valid(b)
		if err == nil {
			if !valid {
				t.Fatalf("accepted invalid JSON %q", b)
			}
			s := v.String()
			if !utf8.ValidString(s) {
				t.Fatalf("value of %q is not valid UTF-8", b)
			}
			if strings.Contains(s, "\x00") {
				t.Fatalf("value of %q holds NUL", b)
			}
		}
	})
}
