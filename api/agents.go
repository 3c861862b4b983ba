package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/signalgate/signalgate/internal/auth"
	"github.com/signalgate/signalgate/internal/decisionlog"
	"github.com/signalgate/signalgate/internal/engine"
	"github.com/signalgate/signalgate/internal/errs"
	"github.com/signalgate/signalgate/internal/fleet"
	"github.com/signalgate/signalgate/internal/httpx"
	"github.com/signalgate/signalgate/internal/policy"
)

// BundleName is the one bundle signalgate serves: its policy.
const BundleName = "signalgate"

// Limits of the OPA management endpoints.
const (
	MaxUploadBody = 16 << 20 // a gzipped decision-log chunk
	MaxStatusBody = 1 << 20
	MaxLongPoll   = 50 * time.Second // under the server's write timeout
)

// Revisions reads published revisions.
type Revisions interface {
	Revision(ctx context.Context, id string) (policy.Revision, error)
}

// AgentStore keeps what agents upload and report.
type AgentStore interface {
	WriteIdempotent(ctx context.Context, entries []decisionlog.Entry) error
	Quarantine(ctx context.Context, events []fleet.Rejected, at time.Time) error
	SaveAgent(ctx context.Context, a fleet.Agent) error
}

// Agents serves OPA's management APIs to stock OPA agents: bundles,
// decision-log uploads and status reports, for tokens of the agent role.
type Agents struct {
	Engine      *engine.Engine
	Revisions   Revisions
	Store       AgentStore
	Quarantined prometheus.Counter // nil: not counted
	Signer      *fleet.Signer      // nil: bundles are not signed

	mu     sync.Mutex
	cached struct {
		rev  string
		body []byte
	}
}

// RegisterAgents mounts GET /bundles/{name}, POST /logs (and OPA's
// /logs/{partition} variant) and POST /status.
func RegisterAgents(r gin.IRouter, authn gin.HandlerFunc, a *Agents) {
	g := r.Group("", authn, httpx.Require(auth.Agent))
	g.GET("/bundles/:name", a.bundle)
	g.POST("/logs", a.logs)
	g.POST("/logs/:partition", a.logs)
	g.POST("/status", a.status)
}

// bundle answers the active revision as an OPA bundle, ETag its revision; with
// If-None-Match on the current revision it answers 304, after waiting up to
// the Prefer: wait=N seconds for a publish (long polling).
func (a *Agents) bundle(c *gin.Context) {
	if c.Param("name") != BundleName {
		httpx.WriteError(c, errs.E(errs.NotFound, "no bundle %q: signalgate serves %q", c.Param("name"), BundleName))
		return
	}
	p := a.Engine.Policy()
	if p == nil {
		httpx.WriteError(c, errs.E(errs.Unavailable, "no policy is active yet"))
		return
	}
	if fleet.MatchesETag(c.GetHeader("If-None-Match"), p.Revision()) {
		wait := preferWait(c.GetHeader("Prefer"))
		if wait > 0 {
			_ = http.NewResponseController(c.Writer).SetWriteDeadline(time.Now().Add(wait + 10*time.Second))
			changed := a.Engine.Changed()
			if cur := a.Engine.Policy(); cur == p { // no swap between the check and the wait
				t := time.NewTimer(wait)
				select {
				case <-changed:
				case <-t.C:
				case <-c.Request.Context().Done():
				}
				t.Stop()
			}
			p = a.Engine.Policy()
		}
		if fleet.MatchesETag(c.GetHeader("If-None-Match"), p.Revision()) {
			c.Header("ETag", `"`+p.Revision()+`"`)
			c.Status(http.StatusNotModified)
			return
		}
	}
	body, err := a.bundleOf(c.Request.Context(), p.Revision())
	if err != nil {
		httpx.WriteError(c, err)
		return
	}
	c.Header("ETag", `"`+p.Revision()+`"`)
	// This content type tells OPA the server long-polls.
	c.Data(http.StatusOK, "application/vnd.openpolicyagent.bundles", body)
}

func (a *Agents) bundleOf(ctx context.Context, rev string) ([]byte, error) {
	a.mu.Lock()
	if a.cached.rev == rev {
		defer a.mu.Unlock()
		return a.cached.body, nil
	}
	a.mu.Unlock()
	r, err := a.Revisions.Revision(ctx, rev)
	if err != nil {
		return nil, err
	}
	body, err := fleet.Bundle(rev, r.Content, a.Signer)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.cached.rev, a.cached.body = rev, body
	a.mu.Unlock()
	return body, nil
}

// preferWait reads wait=N from a Prefer header, bounded by MaxLongPoll.
func preferWait(prefer string) time.Duration {
	for _, part := range strings.FieldsFunc(prefer, func(r rune) bool { return r == ';' || r == ',' }) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "wait="); ok {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				return min(time.Duration(n)*time.Second, MaxLongPoll)
			}
		}
	}
	return 0
}

// logs stores an OPA decision-log upload: events go into the decision log
// as native decisions do (idempotent on decision_id), events that cannot be
// stored go to quarantine, and 2xx comes only after both are committed.
func (a *Agents) logs(c *gin.Context) {
	agent := client(c)
	body := http.MaxBytesReader(c.Writer, c.Request.Body, MaxUploadBody)
	entries, rejected, err := fleet.ReadUpload(body, strings.TrimPrefix(agent, "token:"))
	if err != nil {
		if strings.Contains(err.Error(), "http: request body too large") {
			err = errs.E(errs.TooLarge, "the upload is larger than %d bytes", MaxUploadBody)
		}
		httpx.WriteError(c, err)
		return
	}
	ctx := c.Request.Context()
	if len(entries) > 0 {
		if err := a.Store.WriteIdempotent(ctx, entries); err != nil {
			httpx.WriteError(c, errs.Wrap(errs.Unavailable, err, "the decisions could not be recorded; retry"))
			return
		}
	}
	if err := a.Store.Quarantine(ctx, rejected, time.Now().UTC()); err != nil {
		httpx.WriteError(c, errs.Wrap(errs.Unavailable, err, "the rejected events could not be kept; retry"))
		return
	}
	if a.Quarantined != nil {
		a.Quarantined.Add(float64(len(rejected)))
	}
	c.JSON(http.StatusOK, gin.H{"stored": len(entries), "quarantined": len(rejected)})
}

// status records an agent's status report.
func (a *Agents) status(c *gin.Context) {
	body, release, err := httpx.ReadBody(c, MaxStatusBody)
	defer release()
	if err != nil {
		httpx.WriteError(c, err)
		return
	}
	ag, err := fleet.ParseStatus(append([]byte(nil), body...), time.Now().UTC())
	if err != nil {
		httpx.WriteError(c, err)
		return
	}
	if err := a.Store.SaveAgent(c.Request.Context(), ag); err != nil {
		httpx.WriteError(c, fmt.Errorf("save the status of agent %s: %w", ag.ID, err))
		return
	}
	c.Status(http.StatusOK)
}
