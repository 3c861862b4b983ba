package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signalgate/signalgate/internal/decisionlog"
	"github.com/signalgate/signalgate/internal/settings"
)

// TestTamperEvidence: every committed batch is checkpointed; audit verify
// finds a row edited, deleted or inserted behind the log's back, and
// accounts for what retention and erasure removed. The serving role can
// only insert into the log.
func TestTamperEvidence(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	ctx := context.Background()
	var ids []string
	for i := range 30 {
		ids = append(ids, s.decide(t, mixedInput(i)))
	}
	env := map[string]string{"SIGNALGATE_DATABASE_URL": s.db.URL, "SIGNALGATE_DATA_DIR": t.TempDir(), "SIGNALGATE_LOG_LEVEL": "error"}
	verify := func(wantIntact bool, want string) {
		t.Helper()
		out, errOut, err := runCLI(t, env, "audit", "verify")
		if intact := err == nil; intact != wantIntact || !strings.Contains(out, want) {
			t.Errorf("audit verify (want intact=%v, %q): %v\n%s%s", wantIntact, want, err, out, errOut)
		}
	}
	verify(true, "30 decisions verified")

	app, err := pgxpool.New(ctx, s.db.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	var partition string
	if err := s.db.Pool.QueryRow(ctx, `SELECT tableoid::regclass::text FROM decision_logs WHERE decision_id = $1`, ids[3]).Scan(&partition); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`UPDATE decision_logs SET allow = NOT allow WHERE decision_id = '` + ids[3] + `'`,
		`DELETE FROM decision_logs WHERE decision_id = '` + ids[3] + `'`,
		`DELETE FROM ` + partition,
		`TRUNCATE decision_logs`,
		`DELETE FROM decision_log_checkpoints`,
	} {
		if _, err := app.Exec(ctx, q); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("the serving role ran %q: %v", q, err)
		}
	}

	// The owner can do anything; verify sees it.
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := s.db.Pool.Exec(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(`UPDATE decision_logs SET allow = NOT allow WHERE decision_id = $1`, ids[5])
	verify(false, "were altered")
	exec(`UPDATE decision_logs SET allow = NOT allow WHERE decision_id = $1`, ids[5])
	verify(true, "30 decisions verified")

	var row loggedDecision
	s.getJSON(t, "/admin/v1/decisions/"+ids[7], &row)
	exec(`DELETE FROM decision_logs WHERE decision_id = $1`, ids[7])
	verify(false, "decision "+ids[7]+" ("+row.DecidedAt.UTC().Format(time.RFC3339Nano)+") was deleted")

	forged := uuid.New()
	exec(`INSERT INTO `+partition+` SELECT $1, decided_at, path, input, result, allow, reason_codes, source, purpose, region,
		subject, revision, client, node, eval_ns, masked FROM decision_logs WHERE decision_id = $2`, forged, ids[8])
	verify(false, "decision "+forged.String())
}

// TestTamperEvidenceAccountsForRemovals: retention and erasure leave the
// log verifiable.
func TestTamperEvidenceAccountsForRemovals(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	ctx := context.Background()
	for i := range 10 {
		s.decide(t, mixedInput(i))
	}
	owner := ownerStore(t, s)
	old := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -10)
	if _, err := s.db.Pool.Exec(ctx, `SELECT ensure_decision_log_partitions($1, 1)`, old); err != nil {
		t.Fatal(err)
	}
	var rows []decisionlog.Entry
	for i := range 5 {
		allow := true
		rows = append(rows, decisionlog.Entry{DecisionID: uuid.New(), DecidedAt: old.Add(time.Duration(i) * time.Hour), Path: "signalgate/decision",
			Input: []byte(fmt.Sprintf(`{"subject":{"id":"u-%d","region":"US"}}`, i)), Result: []byte(`{"allow":true,"reasons":[]}`),
			Allow: &allow, ReasonCodes: []string{}, Subject: fmt.Sprintf("u-%d", i), Revision: "r1", Client: "test", Node: "test"})
	}
	if err := owner.LogSink().Write(ctx, rows); err != nil {
		t.Fatal(err)
	}
	if resp, out := s.do(t, "PUT", "/admin/v1/settings", s.token, []byte(`{"retention_days": 3}`)); resp.StatusCode != 200 {
		t.Fatalf("settings: %d %s", resp.StatusCode, out)
	}
	if err := applyRetention(ctx, owner, settings.NewService(owner.Settings(), nil), slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SIGNALGATE_DATABASE_URL": s.db.URL, "SIGNALGATE_DATA_DIR": t.TempDir(), "SIGNALGATE_LOG_LEVEL": "error"}
	if out, errOut, err := runCLI(t, env, "audit", "erase-subject", "u-3"); err != nil {
		t.Fatalf("erase: %v %s %s", err, out, errOut)
	}
	out, errOut, err := runCLI(t, env, "audit", "verify")
	if err != nil || !strings.Contains(out, "decision log intact: ") || !strings.Contains(out, "10 decisions verified, 5 removed by retention") {
		t.Errorf("audit verify after retention and erasure: %v\n%s%s", err, out, errOut)
	}
}
