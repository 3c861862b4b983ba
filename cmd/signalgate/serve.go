package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/signalgate/signalgate/admin"
	"github.com/signalgate/signalgate/api"
	"github.com/signalgate/signalgate/internal/auth"
	"github.com/signalgate/signalgate/internal/config"
	"github.com/signalgate/signalgate/internal/decision"
	"github.com/signalgate/signalgate/internal/decisionlog"
	"github.com/signalgate/signalgate/internal/engine"
	"github.com/signalgate/signalgate/internal/fleet"
	"github.com/signalgate/signalgate/internal/httpx"
	"github.com/signalgate/signalgate/internal/impact"
	"github.com/signalgate/signalgate/internal/masking"
	"github.com/signalgate/signalgate/internal/oidc"
	"github.com/signalgate/signalgate/internal/openapi"
	"github.com/signalgate/signalgate/internal/ops"
	"github.com/signalgate/signalgate/internal/policy"
	"github.com/signalgate/signalgate/internal/replay"
	"github.com/signalgate/signalgate/internal/rollout"
	"github.com/signalgate/signalgate/internal/settings"
	"github.com/signalgate/signalgate/internal/shadow"
	"github.com/signalgate/signalgate/internal/store"
	"github.com/signalgate/signalgate/policies"
	webadmin "github.com/signalgate/signalgate/web-admin"
)

// activePollInterval is how often an instance checks the active pointer in
// case it missed a notification.
const activePollInterval = 2 * time.Second

// partitionDaysAhead is how many daily decision-log partitions exist ahead
// of today, so a day never starts without its partition.
const partitionDaysAhead = 7

// serve runs `signalgate serve` until ctx is cancelled.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, _, err := config.Load("signalgate serve", args, getenv, stderr)
	if err != nil {
		return err
	}
	if cfg.PrintConfig {
		cfg.Print(stdout)
		return nil
	}
	log := newLogger(stderr, cfg.LogLevel)
	tuneGC(getenv)

	dbs, err := openDatabases(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer dbs.close(context.WithoutCancel(ctx))
	if applied, err := store.Migrate(ctx, dbs.owner.Pool); err != nil {
		return fmt.Errorf("migrate database: %w", err)
	} else if len(applied) > 0 {
		log.Info("database migrated", "applied", applied)
	}
	if err := store.CheckSchema(ctx, dbs.app.Pool); err != nil {
		return err
	}
	if _, err := dbs.owner.EnsurePartitions(ctx, partitionDaysAhead); err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	eng := engine.New(cfg.EvalTimeout)
	settingsSvc := settings.NewService(dbs.app.Settings(), nil)
	policySvc := policy.NewService(dbs.app.Policies(), settingsSvc, eng, log, nil)
	if err := policySvc.Bootstrap(ctx, policies.FS); err != nil {
		return err
	}
	if _, err := policySvc.LoadActive(ctx); err != nil {
		return fmt.Errorf("load active policy: %w", err)
	}

	hasher := auth.NewHasher(2)
	authn := auth.NewService(dbs.app.Auth(), hasher, nil)
	sessions := auth.NewSessions(dbs.app.Auth(), hasher, nil)
	boot, err := authn.Bootstrap(ctx, cfg.BootstrapToken, cfg.BootstrapPassword)
	if err != nil {
		return err
	}
	token, err := announceBootstrap(stdout, cfg, dbs.cluster != nil, boot)
	if err != nil {
		return err
	}

	sp, spoolDir, err := openSpool(cfg)
	if err != nil {
		return err
	}
	spoolMetrics(reg, sp)
	if segs, bytes := sp.Depth(); segs > 0 {
		log.Info("spooled decisions from an earlier run wait to be drained", "dir", spoolDir, "segments", segs, "bytes", bytes)
	}
	writer := decisionlog.NewWriter(dbs.app.LogSink(), decisionlog.Options{
		Mode: decisionlog.Mode(cfg.LogMode), Logger: log, Registerer: reg, Fallback: sp, FallbackAfter: cfg.SpoolAfter,
	})
	defer writer.Close()
	decisions := decision.NewService(eng, writer, cfg.Node, nil, reg)
	settingsSvc.CheckWith(func(ctx context.Context, s settings.Settings) error {
		if s.ShadowRevision == "" {
			return nil
		}
		_, err := policySvc.Compile(ctx, s.ShadowRevision)
		return err
	})
	shadows := shadow.New(dbs.app, cfg.EvalTimeout, log, reg)
	live := &liveSettings{masks: &masking.Current{}, shadow: shadows, policies: policySvc}
	if err := watchSettings(ctx, dbs.app, settingsSvc, live, log); err != nil {
		return err
	}
	masks := live.masks
	decisions.MaskWith(masks)
	fresh := freshness(policySvc, &live.maxStale)
	decisions.GuardFreshness(fresh)
	decisions.ShadowWith(shadows)
	// Background work that writes to the database is waited for at shutdown,
	// before the pools close (the shadow evaluator saves its last second).
	var background sync.WaitGroup
	background.Go(func() { shadows.Run(ctx, 1) })
	rollouts := rollout.NewService(dbs.app.Policies(), policySvc, nil)
	inForce := &rollout.Current{}
	decisions.RolloutWith(inForce)
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "signalgate_rollout_percent", Help: "Share of subjects a rollout's candidate decides for on this instance (0: none)."},
		func() float64 {
			if l := inForce.Load(); l != nil {
				return float64(l.Percent(time.Now()))
			}
			return 0
		}))
	impacts := impact.NewRunner(ctx, dbs.app.ImpactJobs(), dbs.app.LogReader(), policySvc, eng, cfg.Node, log)
	defer impacts.Wait()

	doc, err := openapi.JSON()
	if err != nil {
		return err
	}
	sso, err := singleSignOn(cfg)
	if err != nil {
		return err
	}
	signer, err := bundleSigner(cfg)
	if err != nil {
		return err
	}
	router := routes(routeDeps{
		sso: sso, replays: replay.NewService(dbs.app.LogReader(), policySvc, cfg.EvalTimeout),
		log: log, reg: reg, authn: authn, decisions: decisions, engine: eng, db: dbs.app, openapi: doc,
		policies: policySvc, settings: settingsSvc, sessions: sessions, masks: masks, impacts: impacts,
		recordable: recordable(dbs.app, sp), fresh: fresh, signer: signer, shadowCandidate: shadows.Candidate,
		rollouts: rollouts,
	})

	tlsConfig, err := loadTLS(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (set %s to another address)", cfg.Addr, err, config.EnvName("addr"))
	}
	srv := &http.Server{
		Handler:           router,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		TLSConfig:         tlsConfig,
	}
	startUpkeep(ctx, dbs.owner, settingsSvc, log)
	background.Go(func() { drainSpool(ctx, sp, dbs.app, log) })
	background.Go(func() { reportInstance(ctx, dbs.app, eng, cfg.Node, log) })
	background.Go(func() { runSchedules(ctx, policySvc, dbs.app, log) })
	background.Go(func() { runRollouts(ctx, dbs.app, rollouts, inForce, settingsSvc, log) })
	go every(ctx, time.Minute, func(ctx context.Context) {
		if err := authn.FlushLastUse(ctx); err != nil {
			log.Warn("token last use", "err", err)
		}
	})
	go policySvc.Watch(ctx, dbs.app, activePollInterval)
	log.Info("signalgate serving", "addr", ln.Addr().String(), "revision", eng.Policy().Revision(), "log_mode", cfg.LogMode)
	if token != "" {
		printTryIt(stdout, ln.Addr(), token)
	}
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	}
	fmt.Fprintf(stdout, "signalgate serving %s on %s (policy %s, log mode %s)\n", scheme, ln.Addr(), eng.Policy().Revision(), cfg.LogMode)

	errc := make(chan error, 1)
	if srv.TLSConfig != nil {
		go func() { errc <- srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { errc <- srv.Serve(ln) }()
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("shutdown incomplete", "err", err)
	}
	background.Wait()
	writer.Close() // commits what was queued before the pool closes
	if err := authn.FlushLastUse(shutdownCtx); err != nil {
		log.Warn("token last use", "err", err)
	}
	return nil
}

type routeDeps struct {
	log       *slog.Logger
	reg       *prometheus.Registry
	authn     *auth.Service
	decisions *decision.Service
	engine    *engine.Engine
	db        *store.DB
	openapi   []byte
	policies  *policy.Service
	settings  *settings.Service
	sessions  *auth.Sessions
	sso       *oidc.Provider // nil when single sign-on is off
	replays   *replay.Service
	masks     *masking.Current
	impacts   *impact.Runner
	signer    *fleet.Signer // nil: agents' bundles are unsigned
	fresh     func() error  // the policy is not older than the maximum staleness
	rollouts  *rollout.Service
	// shadowCandidate names the revision in shadow, "" when none.
	shadowCandidate func() string
	// recordable tells readiness whether decisions can be recorded.
	recordable func(context.Context) error
}

func routes(d routeDeps) *gin.Engine {
	quiet := map[string]bool{}
	for _, r := range api.Routes {
		quiet[r] = true
	}
	quiet["/healthz"], quiet["/readyz"], quiet["/metrics"] = true, true, true
	r := httpx.New(httpx.Options{Logger: d.log, Registerer: d.reg, Quiet: quiet})
	r.Use(httpx.OnRefused(admin.RefusalRecorder(d.db.Audit(), d.reg, d.log)))
	authn := httpx.Authenticate(d.authn, d.sessions)

	r.GET("/healthz", ops.Healthz)
	r.GET("/readyz", ops.Readyz(
		ops.Check{Name: "policy", Fn: func(context.Context) error {
			if d.engine.Policy() == nil {
				return engine.ErrNoPolicy
			}
			return nil
		}},
		ops.Check{Name: "decision_log", Fn: d.recordable},
		ops.Check{Name: "policy_fresh", Fn: func(context.Context) error {
			if d.fresh == nil {
				return nil
			}
			return d.fresh()
		}},
	))
	r.GET("/openapi.json", func(c *gin.Context) { c.Data(http.StatusOK, "application/json", d.openapi) })
	r.GET("/metrics", authn, ops.Metrics(d.reg))
	api.Register(r, authn, d.decisions)
	admin.Register(r, authn, d.policies, d.db.Audit(), d.db.ImpactJobs())
	admin.RegisterIdentity(r, authn, d.authn)
	admin.RegisterSettings(r, authn, d.settings)
	admin.RegisterSessions(r, authn, d.sessions)
	admin.RegisterDecisions(r, authn, admin.Audits{Log: d.db.LogReader(), Stats: d.db.Stats(), Replays: d.replays,
		Masks: d.masks, Trail: d.db.Audit()})
	admin.RegisterCoverage(r, authn, d.db.Stats(), d.policies, time.Now)
	admin.RegisterImpact(r, authn, d.impacts, d.db.ImpactJobs(), time.Now)
	if d.sso != nil {
		admin.RegisterOIDC(r, d.sso, d.sessions)
	}
	quarantined := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "signalgate_agent_events_quarantined_total", Help: "Uploaded decision events the log could not store, kept in quarantine.",
	})
	d.reg.MustRegister(quarantined)
	api.RegisterAgents(r, authn, &api.Agents{Engine: d.engine, Revisions: d.policies, Store: agentStore{d.db.LogSink(), d.db},
		Quarantined: quarantined, Signer: d.signer})
	admin.RegisterFleet(r, authn, d.db, d.policies.ActiveID)
	admin.RegisterSchedules(r, authn, policy.Scheduling{Service: d.policies, Store: d.db.Policies()})
	admin.RegisterShadow(r, authn, d.db, d.shadowCandidate)
	admin.RegisterRollouts(r, authn, d.rollouts, func(ctx context.Context) (settings.GuardRails, error) {
		s, err := d.settings.Get(ctx)
		return s.RolloutGuardRails, err
	})
	r.NoRoute(httpx.Static(webadmin.FS))
	return r
}

// agentStore keeps what OPA agents upload (the log's idempotent writes) and
// report.
type agentStore struct {
	*store.LogSink
	*store.DB
}

// bundleSigner reads the configured bundle signing key, or returns nil when
// none is configured.
func bundleSigner(cfg config.Config) (*fleet.Signer, error) {
	if cfg.BundleSigningKey == "" {
		return nil, nil
	}
	key, err := os.ReadFile(cfg.BundleSigningKey)
	if err != nil {
		return nil, fmt.Errorf("read the bundle signing key (%s): %w", config.EnvName("bundle-signing-key"), err)
	}
	return &fleet.Signer{Key: string(key), Algorithm: cfg.BundleSigningAlg, KeyID: cfg.BundleKeyID}, nil
}

// singleSignOn returns the OpenID Connect provider, or nil when no issuer
// is configured.
func singleSignOn(cfg config.Config) (*oidc.Provider, error) {
	if cfg.OIDCIssuer == "" {
		return nil, nil
	}
	roles, err := oidc.ParseRoleMap(cfg.OIDCRoles)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", config.EnvName("oidc-roles"), err)
	}
	return oidc.New(oidc.Config{Issuer: cfg.OIDCIssuer, ClientID: cfg.OIDCClientID, ClientSecret: cfg.OIDCClientSecret,
		RedirectURL: cfg.OIDCRedirectURL, GroupsClaim: cfg.OIDCGroupsClaim, RoleMap: roles}), nil
}

// loadTLS reads the configured certificate and key, or returns nil when
// none is configured (plain HTTP, e.g. behind a TLS-terminating proxy).
func loadTLS(cfg config.Config) (*tls.Config, error) {
	if cfg.TLSCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("load the TLS certificate (%s, %s): %w", config.EnvName("tls-cert"), config.EnvName("tls-key"), err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// tuneGC trades memory for CPU unless the operator set GOGC or GOMEMLIMIT:
// every decision allocates a few KiB, and the default GC target collects a
// small heap many times a second. The memory limit keeps the heap bounded.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" && getenv("GOMEMLIMIT") == "" {
		debug.SetGCPercent(400)
		debug.SetMemoryLimit(200 << 20)
	}
}

// every runs fn each period until ctx is done.
func every(ctx context.Context, period time.Duration, fn func(context.Context)) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn(ctx)
		}
	}
}
