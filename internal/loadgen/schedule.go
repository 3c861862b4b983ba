package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signalgate/signalgate/internal/localpg"
)

// RunSchedule measures how close to a scheduled instant two instances on
// one database switch revision: each round schedules the other revision 2 s
// ahead while clients decide on both instances, then reads the decision
// log: an instance's switch is its first decision under the new revision
// (its last under the old one bounds it from below). The goal: a spread of
// at most 100 ms between instances.
func RunSchedule(ctx context.Context, bin string, rounds int, stdout, stderr io.Writer) (err error) {
	client := newAttackClient()
	dir, err := os.MkdirTemp("", "loadgen-schedule-")
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, removeRelocatedCluster(dir), os.RemoveAll(dir)) }()
	fmt.Fprintln(stderr, "loadgen schedule: starting PostgreSQL and two signalgate instances")
	cluster, err := localpg.Start(ctx, localpg.Options{DataDir: dir})
	if err != nil {
		return fmt.Errorf("start PostgreSQL: %w", err)
	}
	defer func() { err = errors.Join(err, cluster.Stop(context.WithoutCancel(ctx))) }()
	var nodes []*server
	defer func() {
		for _, n := range nodes {
			err = errors.Join(err, n.close())
		}
	}()
	for _, name := range []string{"spread-a", "spread-b"} {
		n, err := startSignalgateWith(ctx, client, bin, "SIGNALGATE_DATABASE_URL="+cluster.AppURL(),
			"SIGNALGATE_OWNER_DATABASE_URL="+cluster.OwnerURL(), "SIGNALGATE_NODE="+name)
		if err != nil {
			return err
		}
		nodes = append(nodes, n)
	}
	// The first instance created the admin; its token serves on both.
	nodes[1].header = nodes[0].header.Clone()
	if err := publishCandidate(ctx, client, nodes[0]); err != nil {
		return fmt.Errorf("publish the candidate: %w", err)
	}
	db, err := pgx.Connect(ctx, cluster.OwnerURL())
	if err != nil {
		return err
	}
	defer db.Close(context.WithoutCancel(ctx))

	body := []byte(`{"input":{"signal":{"source":"ai_chat","topics":["hiking"]},"subject":{"id":"s","region":"US"},"purpose":"ads"}}`)
	fmt.Fprintf(stdout, "\n| round | switch | %s after the instant | %s after the instant | spread | resolution |\n|---:|---|---:|---:|---:|---:|\n", "spread-a", "spread-b")
	var spreads []time.Duration
	from, to := "r1", "r2"
	for round := 1; round <= rounds; round++ {
		at := time.Now().Add(2 * time.Second).UTC()
		sched := []byte(fmt.Sprintf(`{"revision":%q,"at":%q}`, to, at.Format(time.RFC3339Nano)))
		if err := call(ctx, client, nodes[0], "POST", "/admin/v1/schedules", sched, nil, nil); err != nil {
			return err
		}
		if err := decideAround(ctx, client, nodes, body, at); err != nil {
			return err
		}
		sw, err := switches(ctx, db, at, from, to)
		if err != nil {
			return err
		}
		if len(sw) != len(nodes) {
			return fmt.Errorf("round %d: %d of %d instances were seen switching", round, len(sw), len(nodes))
		}
		a, b := sw[0], sw[1]
		spread := absDuration(a.first.Sub(b.first))
		spreads = append(spreads, spread)
		fmt.Fprintf(stdout, "| %d | %s → %s | %s | %s | %s | %s |\n", round, from, to, ms(a.first.Sub(at)), ms(b.first.Sub(at)), ms(spread),
			ms(max(a.first.Sub(a.lastOld), b.first.Sub(b.lastOld))))
		from, to = to, from
		time.Sleep(500 * time.Millisecond) // the schedule is recorded done
	}
	slices.Sort(spreads)
	fmt.Fprintf(stdout, "\nSpread between the two instances: median %s, worst %s over %d rounds (goal ≤ 100 ms).\n",
		ms(spreads[len(spreads)/2]), ms(spreads[len(spreads)-1]), len(spreads))
	fmt.Fprintln(stdout, "An instance's switch is its first decision under the new revision; the resolution column is the largest gap to its last decision under the old one.")
	return nil
}

// decideAround keeps 4 clients deciding on each instance from 300 ms
// before at to 300 ms after it.
func decideAround(ctx context.Context, client *http.Client, nodes []*server, body []byte, at time.Time) error {
	time.Sleep(time.Until(at.Add(-300 * time.Millisecond)))
	var wg sync.WaitGroup
	errc := make(chan error, 4*len(nodes))
	for _, n := range nodes {
		for range 4 {
			wg.Go(func() {
				for time.Now().Before(at.Add(300 * time.Millisecond)) {
					if _, err := n.decide(ctx, client, body); err != nil {
						errc <- err
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(errc)
	return <-errc
}

type nodeSwitch struct {
	node           string
	first, lastOld time.Time
}

// switches reads, per instance, the first decision under to and the last
// under from around at, in node order.
func switches(ctx context.Context, db *pgx.Conn, at time.Time, from, to string) ([]nodeSwitch, error) {
	rows, err := db.Query(ctx, `SELECT node,
		min(decided_at) FILTER (WHERE revision = $3),
		max(decided_at) FILTER (WHERE revision = $2 AND decided_at <= (SELECT min(decided_at) FROM decision_logs d
			WHERE d.node = l.node AND d.revision = $3 AND d.decided_at >= $1::timestamptz - interval '1 second'))
		FROM decision_logs l WHERE decided_at >= $1::timestamptz - interval '1 second' AND decided_at <= $1::timestamptz + interval '1 second'
		GROUP BY node ORDER BY node`, at, from, to)
	if err != nil {
		return nil, fmt.Errorf("read the switches: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (nodeSwitch, error) {
		var s nodeSwitch
		var first, last *time.Time
		if err := r.Scan(&s.node, &first, &last); err != nil {
			return s, err
		}
		if first == nil || last == nil {
			return s, fmt.Errorf("instance %s has no decision on both sides of the switch", s.node)
		}
		s.first, s.lastOld = *first, *last
		return s, nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the switches: %w", err)
	}
	return out, nil
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
