package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// RunShadow measures what shadow evaluation costs the single-decision API:
// the saturated throughput (64 connections) without and with a revision in
// shadow, and the p99 latency at a fixed rate of half the no-shadow maximum,
// without and with shadow. The target: p99 within 10% of no shadow.
func RunShadow(ctx context.Context, bin string, d time.Duration, stdout, stderr io.Writer) (err error) {
	client := newAttackClient()
	fmt.Fprintln(stderr, "loadgen shadow: starting signalgate")
	sg, err := startSignalgate(ctx, client, bin)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, sg.close()) }()
	bodies, err := singleBodies(newMix(10000, time.Now()))
	if err != nil {
		return err
	}
	tgts := targets(sg, sg.single, bodies)
	if err := publishCandidate(ctx, client, sg); err != nil {
		return fmt.Errorf("publish the candidate: %w", err)
	}
	run := func(name string, rate float64) result {
		fmt.Fprintf(stderr, "loadgen shadow: %s\n", name)
		st := step{server: sg, api: "single", conns: 64, perRequest: 1, targets: tgts}
		_ = attackRate(ctx, client, st, rate, 2*time.Second) // warm-up
		r := newResult(st, attackRate(ctx, client, st, rate, d))
		fmt.Fprintf(stderr, "loadgen shadow:       %.0f decisions/s, p99 %s, %d errors\n", r.decisionsPerSec, r.p99, r.errors)
		return r
	}
	satOff := run("saturated, no shadow", 0)
	half := satOff.decisionsPerSec / 2
	fixedOff := run(fmt.Sprintf("%.0f/s, no shadow", half), half)
	if err := setShadow(ctx, client, sg, "r2"); err != nil {
		return err
	}
	time.Sleep(time.Second) // the setting reaches the instance through NOTIFY
	fixedOn := run(fmt.Sprintf("%.0f/s, r2 in shadow", half), half)
	satOn := run("saturated, r2 in shadow", 0)
	fmt.Fprintf(stdout, "\n| load | no shadow | r2 in shadow | ratio | target |\n|---|---:|---:|---:|---|\n")
	fmt.Fprintf(stdout, "| p99 at %.0f decisions/s (half the no-shadow maximum) | %s | %s | %.2f | ≤ 1.10 |\n",
		half, fixedOff.p99.Round(10*time.Microsecond), fixedOn.p99.Round(10*time.Microsecond), float64(fixedOn.p99)/float64(fixedOff.p99))
	fmt.Fprintf(stdout, "| saturated decisions/s (64 connections) | %.0f | %.0f | %.2f | reported |\n",
		satOff.decisionsPerSec, satOn.decisionsPerSec, satOn.decisionsPerSec/satOff.decisionsPerSec)
	fmt.Fprintf(stdout, "\n%s per step after a 2s warm-up, open loop at the fixed rate; loopback; 2 CPUs shared by load generator, server and PostgreSQL.\n", d)
	return nil
}

// attackRate is attack at a fixed arrival rate (0: as fast as answered).
func attackRate(ctx context.Context, client *http.Client, st step, rate float64, d time.Duration) tally {
	if rate == 0 {
		return attack(ctx, client, st, d)
	}
	atk := vegeta.NewAttacker(vegeta.Client(client), vegeta.Workers(uint64(st.conns)), vegeta.MaxWorkers(uint64(4*st.conns)),
		vegeta.Connections(st.conns), vegeta.KeepAlive(true), vegeta.MaxBody(0))
	stop := context.AfterFunc(ctx, func() { atk.Stop() })
	defer stop()
	var t tally
	for r := range atk.Attack(vegeta.NewStaticTargeter(st.targets...), vegeta.Rate{Freq: int(rate), Per: time.Second}, d, st.String()) {
		t.add(r)
	}
	t.metrics.Close()
	return t
}

// publishCandidate publishes r2, not active: the default policy with one
// more sensitive topic, so the candidate disagrees now and then.
func publishCandidate(ctx context.Context, client *http.Client, sg *server) error {
	var draft struct {
		Modules map[string]string `json:"modules"`
		Data    map[string]any    `json:"data"`
		ETag    string            `json:"etag"`
	}
	if err := call(ctx, client, sg, "GET", "/admin/v1/draft", nil, nil, &draft); err != nil {
		return err
	}
	targeting, _ := draft.Data["targeting"].(map[string]any)
	topics, _ := targeting["topic_categories"].(map[string]any)
	if topics == nil {
		return errors.New("the draft has no targeting.topic_categories")
	}
	topics["knitting"] = "health"
	body, _ := json.Marshal(map[string]any{"modules": draft.Modules, "data": draft.Data})
	if err := call(ctx, client, sg, "PUT", "/admin/v1/draft", body, http.Header{"If-Match": {draft.ETag}}, nil); err != nil {
		return err
	}
	return call(ctx, client, sg, "POST", "/admin/v1/draft/publish", []byte(`{"message":"candidate","activate":false}`), nil, nil)
}

func setShadow(ctx context.Context, client *http.Client, sg *server, rev string) error {
	return call(ctx, client, sg, "PUT", "/admin/v1/settings", []byte(`{"shadow_revision":"`+rev+`"}`), nil, nil)
}

// call sends one admin request as the bootstrap admin and decodes a 2xx answer into out.
func call(ctx context.Context, client *http.Client, sg *server, method, path string, body []byte, extra http.Header, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, sg.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = sg.header.Clone()
	for k, v := range extra {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}
