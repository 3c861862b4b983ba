package seed

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestGenerator: items come in decided_at order inside the range, at
// microsecond precision, with v7 ids stamped with their decided_at, and a
// seed reproduces them exactly.
func TestGenerator(t *testing.T) {
	t.Parallel()
	from := time.Date(2026, 1, 10, 7, 30, 0, 123456789, time.UTC).Truncate(time.Microsecond)
	to := from.Add(50 * time.Hour)
	const n = 20000
	a := newGenerator(42, []string{"diabetes", "election"}, from, to, n)
	b := newGenerator(42, []string{"diabetes", "election"}, from, to, n)
	var prev time.Time
	perHour := make([]int, 24)
	for i := range n {
		x, err := a.next()
		if err != nil {
			t.Fatal(err)
		}
		y, _ := b.next()
		if x.At != y.At || x.ID != y.ID || !bytes.Equal(x.Raw, y.Raw) {
			t.Fatalf("item %d differs under the same seed:\n%v %s\n%v %s", i, x.At, x.Raw, y.At, y.Raw)
		}
		if x.At.Before(from) || !x.At.Before(to) || x.At.Before(prev) || x.At.Location() != time.UTC || x.At.Nanosecond()%1000 != 0 {
			t.Fatalf("item %d at %v: want UTC microseconds in [%v, %v) after %v", i, x.At, from, to, prev)
		}
		prev = x.At
		perHour[x.At.Hour()]++
		if x.ID.Version() != 7 || x.ID.Variant() != uuid.RFC4122 {
			t.Fatalf("item %d id %s is not a v7 UUID", i, x.ID)
		}
		sec, nsec := x.ID.Time().UnixTime()
		if got := time.Unix(sec, nsec); got.UnixMilli() != x.At.UnixMilli() {
			t.Fatalf("item %d id %s stamps %v, decided at %v", i, x.ID, got, x.At)
		}
	}
	// Traffic peaks in the afternoon (UTC) and ebbs at night.
	if perHour[15] < 2*perHour[3] {
		t.Errorf("no diurnal cycle: %d decisions at 15h, %d at 3h", perHour[15], perHour[3])
	}
}
