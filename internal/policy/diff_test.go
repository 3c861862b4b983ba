package policy_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/signalgate/signalgate/internal/policy"
)

func TestDiff(t *testing.T) {
	t.Parallel()
	var lines []string
	for i := range 20 {
		lines = append(lines, "line "+string(rune('a'+i)))
	}
	before := strings.Join(lines, "\n") + "\n"
	lines[16] = "line Q"
	lines = append(lines[:3], lines[4:]...)
	after := strings.Join(lines, "\n") + "\n"
	data := func(s string) map[string]any {
		var d map[string]any
		if err := json.Unmarshal([]byte(s), &d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	from := policy.Content{Modules: map[string]string{"a.rego": before, "gone.rego": "x\n"},
		Data: data(`{"t": {"start": "2025-12-16T00:00:00Z", "list": [1, 2], "keep": true, "old": 1}}`)}
	to := policy.Content{Modules: map[string]string{"a.rego": after, "new.rego": "y\n"},
		Data: data(`{"t": {"start": "2026-01-01T00:00:00Z", "list": [1, 2, 3], "keep": true, "new": "x"}}`)}
	mods, changes := policy.Diff(from, to, "r1", "r2")
	if len(mods) != 3 || mods[0].Path != "a.rego" || mods[0].Status != "modified" || mods[1].Status != "removed" || mods[2].Status != "added" {
		t.Fatalf("modules %+v", mods)
	}
	want := `--- r1/a.rego
+++ r2/a.rego
@@ -1,7 +1,6 @@
 line a
 line b
 line c
-line d
 line e
 line f
 line g
@@ -14,7 +13,7 @@
 line n
 line o
 line p
-line q
+line Q
 line r
 line s
 line t
`
	if diff := cmp.Diff(want, mods[0].Unified); diff != "" {
		t.Errorf("unified diff (-want +got):\n%s", diff)
	}
	wantChanges := []policy.DataChange{
		{Path: "t.list[2]", Op: "added", After: float64(3)},
		{Path: "t.new", Op: "added", After: "x"},
		{Path: "t.old", Op: "removed", Before: float64(1)},
		{Path: "t.start", Op: "changed", Before: "2025-12-16T00:00:00Z", After: "2026-01-01T00:00:00Z"},
	}
	if diff := cmp.Diff(wantChanges, changes); diff != "" {
		t.Errorf("data changes (-want +got):\n%s", diff)
	}
}
