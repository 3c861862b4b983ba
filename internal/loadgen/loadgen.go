// Package loadgen keeps the loopback benchmark that puts signalgate's
// decision API and stock OPA, serving the same policy, under the same
// closed-loop load, and reports throughput, latency, errors, memory and
// whether every decision signalgate answered was logged.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"time"
)

// Values of Config.Only.
const (
	// OnlySignalgate loads signalgate alone.
	OnlySignalgate = "signalgate"
	// OnlyOPA loads stock OPA alone.
	OnlyOPA = "opa"
	// OnlyBoth loads both, one after the other, and compares them.
	OnlyBoth = "both"
)

// mixCheckSize is how many inputs each server decides one by one before the
// load, to show that both decide the mix as the policy says.
const mixCheckSize = 200

// Config is one benchmark run.
type Config struct {
	// Signalgate is the signalgate binary.
	Signalgate string
	// OPA is the stock OPA binary.
	OPA string
	// Policies is the folder stock OPA serves; signalgate serves the copy
	// built into its binary, and the mix check shows whether they agree.
	Policies string
	// Duration is the measured time of each step.
	Duration time.Duration
	// Warmup precedes each step's measurement and is not counted in it.
	Warmup time.Duration
	// Conns are the connection counts of the single-decision steps.
	Conns []int
	// BatchConns are the connection counts of signalgate's batch steps.
	BatchConns []int
	// BatchSize is how many inputs one batch request carries.
	BatchSize int
	// Only is OnlySignalgate, OnlyOPA or OnlyBoth.
	Only string
	// Out, if set, is a file that also receives the results as Markdown.
	Out string
}

func (c Config) validate() error {
	var problems []error
	switch c.Only {
	case OnlySignalgate, OnlyOPA, OnlyBoth:
	default:
		problems = append(problems, fmt.Errorf("-only %q: use signalgate, opa or both", c.Only))
	}
	if c.runs(OnlySignalgate) && c.Signalgate == "" {
		problems = append(problems, errors.New("-signalgate: the signalgate binary is required"))
	}
	if c.runs(OnlyOPA) && (c.OPA == "" || c.Policies == "") {
		problems = append(problems, errors.New("-opa and -policies: the OPA binary and the policy folder are required"))
	}
	if c.Duration <= 0 {
		problems = append(problems, fmt.Errorf("-duration %s: must be positive", c.Duration))
	}
	if c.Warmup < 0 {
		problems = append(problems, fmt.Errorf("-warmup %s: must not be negative", c.Warmup))
	}
	if c.BatchSize < 1 || c.BatchSize > 1000 {
		problems = append(problems, fmt.Errorf("-batch-size %d: signalgate takes 1 to 1000 inputs per batch", c.BatchSize))
	}
	for _, n := range append(append([]int{}, c.Conns...), c.BatchConns...) {
		if n < 1 {
			problems = append(problems, fmt.Errorf("connection count %d: must be positive", n))
		}
	}
	return errors.Join(problems...)
}

func (c Config) runs(name string) bool { return c.Only == OnlyBoth || c.Only == name }

// bench is the state of one run.
type bench struct {
	cfg    Config
	stderr io.Writer
	// client makes the requests outside the load: readiness, mix check.
	client *http.Client
	mix    []sample
	// answered counts the decisions signalgate answered with 2xx, warm-ups
	// and mix check included, to compare with its log.
	answered int64
}

func (b *bench) progress(format string, args ...any) {
	fmt.Fprintf(b.stderr, "loadgen: "+format+"\n", args...)
}

// Run starts the servers, loads them step by step, writes the results to
// stdout (and to cfg.Out) and stops the servers, also when ctx is cancelled
// or a step fails. It returns an error when a server could not be run, and
// also after printing results that contain failed requests or decisions
// missing from signalgate's log, so that such a run never passes for clean.
func Run(ctx context.Context, cfg Config, stdout, stderr io.Writer) (err error) {
	if err := cfg.validate(); err != nil {
		return err
	}
	b := &bench{
		cfg: cfg, stderr: stderr,
		// A transport of its own, without the environment's proxy: the servers are on loopback.
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}},
		mix:    newMix(poolSize, time.Now()),
	}
	defer b.client.CloseIdleConnections()

	var sg, opa *server
	defer func() {
		for _, s := range []*server{sg, opa} {
			if s != nil {
				b.progress("stopping %s", s.name)
				err = errors.Join(err, s.close())
			}
		}
	}()
	if cfg.runs(OnlySignalgate) {
		b.progress("starting signalgate (fresh data directory, managed PostgreSQL, durable decision log)")
		if sg, err = startSignalgate(ctx, b.client, cfg.Signalgate); err != nil {
			return err
		}
		b.progress("signalgate ready at %s", sg.base)
	}
	if cfg.runs(OnlyOPA) {
		b.progress("starting stock OPA on %s", cfg.Policies)
		if opa, err = startOPA(ctx, b.client, cfg.OPA, cfg.Policies); err != nil {
			return err
		}
		b.progress("opa ready at %s", opa.base)
	}

	rep := &report{
		header: fmt.Sprintf("%s per step after a %s warm-up; closed loop over loopback; %d CPUs shared by load generator and servers",
			cfg.Duration, cfg.Warmup, runtime.NumCPU()),
		mix: describeMix(b.mix),
	}
	for _, s := range []*server{sg, opa} {
		if s == nil {
			continue
		}
		check, err := b.checkMix(ctx, s)
		if err != nil {
			return err
		}
		rep.checks = append(rep.checks, check)
	}

	steps, err := b.steps(sg, opa)
	if err != nil {
		return err
	}
	for i, st := range steps {
		b.progress("[%d/%d] %s", i+1, len(steps), st)
		res, err := b.runStep(ctx, st)
		if err != nil {
			return err
		}
		rep.results = append(rep.results, res)
	}

	// Peak memory and the log count are read while the servers still run.
	for _, s := range []*server{sg, opa} {
		if s == nil {
			continue
		}
		rss, err := s.proc.peakRSS()
		if err != nil {
			return err
		}
		rep.rss = append(rep.rss, serverRSS{name: s.name, bytes: rss})
	}
	if sg != nil {
		rows, err := decisionLogRows(ctx, sg.dataDir)
		if err != nil {
			return err
		}
		rep.log = &logCount{rows: rows, answered: b.answered}
	}

	if err := rep.write(stdout, cfg.Out); err != nil {
		return err
	}
	return rep.problems()
}

// steps lists the measurements in the order they run.
func (b *bench) steps(sg, opa *server) ([]step, error) {
	single, err := singleBodies(b.mix)
	if err != nil {
		return nil, err
	}
	var steps []step
	if sg != nil {
		tgts := targets(sg, sg.single, single)
		for _, n := range b.cfg.Conns {
			steps = append(steps, step{server: sg, api: "single", conns: n, perRequest: 1, targets: tgts})
		}
		batch, err := batchBodies(b.mix, b.cfg.BatchSize)
		if err != nil {
			return nil, err
		}
		tgts = targets(sg, sg.batch, batch)
		for _, n := range b.cfg.BatchConns {
			steps = append(steps, step{server: sg, api: "batch", conns: n, perRequest: b.cfg.BatchSize, targets: tgts})
		}
	}
	if opa != nil {
		tgts := targets(opa, opa.single, single)
		for _, n := range b.cfg.Conns {
			steps = append(steps, step{server: opa, api: "single", conns: n, perRequest: 1, targets: tgts})
		}
	}
	return steps, nil
}

// runStep warms up, then measures, on the same connections.
func (b *bench) runStep(ctx context.Context, st step) (result, error) {
	client := newAttackClient()
	defer client.CloseIdleConnections()
	if b.cfg.Warmup > 0 {
		w := attack(ctx, client, st, b.cfg.Warmup)
		b.count(st, w)
		if err := ctx.Err(); err != nil {
			return result{}, err
		}
	}
	t := attack(ctx, client, st, b.cfg.Duration)
	b.count(st, t)
	if err := ctx.Err(); err != nil {
		return result{}, err
	}
	res := newResult(st, t)
	b.progress("      %.0f decisions/s, p50 %s, p99 %s, %d errors", res.decisionsPerSec, ms(res.p50), ms(res.p99), res.errors)
	return res, nil
}

func (b *bench) count(st step, t tally) {
	if st.server.name == nameSignalgate {
		b.answered += t.ok * int64(st.perRequest)
	}
}

// checkMix has s decide the first inputs of the mix and compares its answers
// with those the policy is expected to give. A difference means the servers
// do not do the work the mix was built for (or not the same work), which
// the report then says.
func (b *bench) checkMix(ctx context.Context, s *server) (mixCheck, error) {
	bodies, err := singleBodies(b.mix[:mixCheckSize])
	if err != nil {
		return mixCheck{}, err
	}
	c := mixCheck{server: s.name, inputs: mixCheckSize}
	for i, body := range bodies {
		allow, err := s.decide(ctx, b.client, body)
		if err != nil {
			return mixCheck{}, fmt.Errorf("mix check on %s: %w", s.name, err)
		}
		if s.name == nameSignalgate {
			b.answered++
		}
		if allow {
			c.allowed++
		}
		if allow != b.mix[i].allow {
			c.unexpected++
		}
	}
	b.progress("mix check on %s: %d of %d allowed, %d not as expected", s.name, c.allowed, c.inputs, c.unexpected)
	return c, nil
}
