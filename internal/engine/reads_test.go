package engine_test

import (
	"strings"
	"testing"
)

// TestReads: the default policy reads a subject's region and minor flag,
// never its id, and nothing reads what no module mentions.
func TestReads(t *testing.T) {
	p := defaultPolicy(t)
	for path, want := range map[string]bool{
		"subject/region": true, "subject/minor": true, "signal/topics": true,
		"subject/id": false, "signal/id": false, "nothing/here": false,
	} {
		if got := p.Reads(strings.Split(path, "/")); got != want {
			t.Errorf("Reads(%s) = %v, want %v", path, got, want)
		}
	}
}
