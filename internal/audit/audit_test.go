package audit_test

import (
	"testing"
	"time"

	"github.com/signalgate/signalgate/internal/audit"
)

func chain(n int) []audit.Entry {
	var out []audit.Entry
	for i := range n {
		e := audit.Entry{At: time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC), Actor: "alice", Action: "draft.save",
			Target: "draft", Detail: []byte(`{"b": 1, "a": "x"}`)}
		if i == 0 {
			audit.Seal(&e, nil)
		} else {
			audit.Seal(&e, &out[i-1])
		}
		out = append(out, e)
	}
	return out
}

func TestVerify(t *testing.T) {
	t.Parallel()
	if b := audit.Verify(chain(5)); b != nil {
		t.Fatalf("an intact chain broke: %+v", b)
	}
	reformatted := chain(3)
	reformatted[1].Detail = []byte(`{"a":"x","b":1}`) // as jsonb may give it back
	if b := audit.Verify(reformatted); b != nil {
		t.Errorf("a reformatted detail broke the chain: %+v", b)
	}
	cases := map[string]func([]audit.Entry) []audit.Entry{
		"edited actor":  func(c []audit.Entry) []audit.Entry { c[2].Actor = "mallory"; return c },
		"edited detail": func(c []audit.Entry) []audit.Entry { c[2].Detail = []byte(`{"a":"y","b":1}`); return c },
		"deleted":       func(c []audit.Entry) []audit.Entry { return append(c[:2], c[3:]...) },
		"reordered":     func(c []audit.Entry) []audit.Entry { c[2], c[3] = c[3], c[2]; return c },
		"resealed edit": func(c []audit.Entry) []audit.Entry {
			c[2].Actor = "mallory"
			c[2].Hash = audit.HashOf(c[2]) // the next entry still names the old hash
			return c
		},
	}
	for name, tamper := range cases {
		if b := audit.Verify(tamper(chain(5))); b == nil || b.Seq > 4 {
			t.Errorf("%s: not detected (%+v)", name, b)
		}
	}
}
