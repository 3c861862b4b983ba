package main

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signalgate/signalgate/internal/engine"
	"github.com/signalgate/signalgate/internal/pgtest"
	"github.com/signalgate/signalgate/internal/policy"
	"github.com/signalgate/signalgate/internal/replay"
	"github.com/signalgate/signalgate/internal/settings"
	"github.com/signalgate/signalgate/internal/store"
)

// TestSeedDecisions: seeding fills the range with decisions that exercise
// every reason of the default policy, that the same seed reproduces, and
// that replay to exactly what was logged.
func TestSeedDecisions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	env := map[string]string{
		"SIGNALGATE_DATABASE_URL":       db.AppURL,
		"SIGNALGATE_OWNER_DATABASE_URL": db.URL,
		"SIGNALGATE_DATA_DIR":           t.TempDir(),
		"SIGNALGATE_LOG_LEVEL":          "error",
	}
	from, to := "2026-01-10T00:00:00Z", "2026-01-12T00:00:00Z"
	out, errOut, err := runCLI(t, env, "seed-decisions", "2000", "--from", from, "--to", to, "--seed", "7")
	if err != nil || !strings.Contains(out, "seeded 2000 decisions under r1") {
		t.Fatalf("seed-decisions: %v\n%s%s", err, out, errOut)
	}

	var total, seedRows, inDefault int64
	if err := db.Pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE client = 'seed' AND node = 'seed' AND revision = 'r1'),
		(SELECT count(*) FROM decision_logs_default) FROM decision_logs`).Scan(&total, &seedRows, &inDefault); err != nil {
		t.Fatal(err)
	}
	if total != 2000 || seedRows != 2000 || inDefault != 0 {
		t.Errorf("%d rows, %d by the seeder under r1, %d in the default partition; want 2000, 2000, 0", total, seedRows, inDefault)
	}
	days := map[string]int{}
	rows, err := db.Pool.Query(ctx, `SELECT to_char(decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), count(*) FROM decision_logs GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var day string
		var n int
		if err := rows.Scan(&day, &n); err != nil {
			t.Fatal(err)
		}
		days[day] = n
	}
	if len(days) != 2 || days["2026-01-10"] < 600 || days["2026-01-11"] < 600 {
		t.Errorf("rows per day %v: want both days of the range, evenly", days)
	}

	var codes []string
	if err := db.Pool.QueryRow(ctx, `SELECT array_agg(DISTINCT c ORDER BY c) FROM decision_logs, unnest(reason_codes) AS c`).Scan(&codes); err != nil {
		t.Fatal(err)
	}
	want := []string{"before_rollout", "invalid_input", "minor", "no_rollout", "region_excluded", "sensitive_category"}
	if !slices.Equal(codes, want) {
		t.Errorf("reason codes %v, want every one of the default policy's: %v", codes, want)
	}
	var allowed int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM decision_logs WHERE allow`).Scan(&allowed); err != nil {
		t.Fatal(err)
	}
	if allowed < 600 || allowed > 1600 {
		t.Errorf("%d of 2000 allowed: the mix should be neither all allowed nor all denied", allowed)
	}

	// The same seed gives the same log, id for id.
	again := pgtest.New(t)
	env["SIGNALGATE_DATABASE_URL"], env["SIGNALGATE_OWNER_DATABASE_URL"] = again.AppURL, again.URL
	if out, errOut, err := runCLI(t, env, "seed-decisions", "2000", "--from", from, "--to", to, "--seed", "7"); err != nil {
		t.Fatalf("second seed-decisions: %v\n%s%s", err, out, errOut)
	}
	const digest = `SELECT md5(string_agg(decision_id::text || decided_at::text || input::text || result::text, ',' ORDER BY decision_id)) FROM decision_logs`
	var first, second string
	if err := db.Pool.QueryRow(ctx, digest).Scan(&first); err != nil {
		t.Fatal(err)
	}
	if err := again.Pool.QueryRow(ctx, digest).Scan(&second); err != nil {
		t.Fatal(err)
	}
	if first != second {
		t.Error("the same seed gave a different log")
	}

	// Seeded decisions replay like native ones.
	st, err := store.Open(ctx, db.URL, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	revisions := policy.NewService(st.Policies(), settings.NewService(st.Settings(), nil), engine.New(time.Second), slog.New(slog.DiscardHandler), nil)
	rp := replay.NewService(st.LogReader(), revisions, time.Second)
	rows, err = db.Pool.Query(ctx, `SELECT decision_id FROM decision_logs ORDER BY md5(decision_id::text) LIMIT 200`)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		res, err := rp.Replay(ctx, id, "", nil)
		if err != nil {
			t.Fatalf("replay %s: %v", id, err)
		}
		if !res.Match {
			t.Errorf("replay %s: logged %s, replayed %s", id, res.Entry.Result, res.Replayed)
		}
	}
}

// TestSeedDecisionsArguments: a wrong count or range is refused before
// anything is written.
func TestSeedDecisionsArguments(t *testing.T) {
	t.Parallel()
	env := map[string]string{"SIGNALGATE_DATABASE_URL": "postgres://nobody@127.0.0.1:1/none", "SIGNALGATE_LOG_LEVEL": "error"}
	for _, args := range [][]string{
		{},
		{"ten"},
		{"0"},
		{"10", "--days", "0"},
		{"10", "--from", "2026-01-02T00:00:00Z"},
		{"10", "--from", "2026-01-02T00:00:00Z", "--to", "2026-01-01T00:00:00Z"},
		{"10", "--seed", "-1"},
	} {
		_, errOut, err := runCLI(t, env, append([]string{"seed-decisions"}, args...)...)
		if !errors.Is(err, errExit1) || errOut == "" {
			t.Errorf("seed-decisions %q: %v %q, want exit status 1 and a reason", args, err, errOut)
		}
	}
}
