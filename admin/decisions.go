package admin

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/signalgate/signalgate/internal/audit"
	"github.com/signalgate/signalgate/internal/auth"
	"github.com/signalgate/signalgate/internal/decisionlog"
	"github.com/signalgate/signalgate/internal/errs"
	"github.com/signalgate/signalgate/internal/httpx"
	"github.com/signalgate/signalgate/internal/masking"
	"github.com/signalgate/signalgate/internal/policy"
	"github.com/signalgate/signalgate/internal/replay"
)

// Replayer re-evaluates logged decisions.
type Replayer interface {
	Replay(ctx context.Context, id uuid.UUID, also string, asOf *time.Time) (replay.Result, error)
}

// Audits is what the decision-log routes read and record.
type Audits struct {
	Log     decisionlog.Reader
	Stats   decisionlog.StatsReader
	Replays Replayer
	Masks   *masking.Current // subject filters look ids up as stored
	Trail   audit.Appender   // exports are recorded
	Now     func() time.Time
}

// RegisterDecisions mounts the decision-log search, lookup, replay, export
// and statistics.
func RegisterDecisions(r gin.IRouter, authn gin.HandlerFunc, a Audits) {
	if a.Now == nil {
		a.Now = time.Now
	}
	g := r.Group("/admin/v1", authn, httpx.Require(auth.Viewer))
	g.GET("/decisions", a.search)
	g.GET("/decisions/export", a.export)
	g.GET("/decisions/stats", a.stats)
	g.GET("/decisions/:id", a.get)
	g.POST("/decisions/:id/replay", a.replay)
}

func (a Audits) search(c *gin.Context) {
	f, err := decisionFilter(c, a.Masks.Load())
	if err != nil {
		httpx.WriteError(c, err)
		return
	}
	page, err := decisionlog.Search(c.Request.Context(), a.Log, f)
	if err != nil {
		httpx.WriteError(c, err)
		return
	}
	out := decisionsResponse{Decisions: make([]decisionResponse, len(page.Entries)), NextCursor: page.Next}
	for i, e := range page.Entries {
		out.Decisions[i] = toDecisionResponse(e)
	}
	c.JSON(http.StatusOK, out)
}

func (a Audits) get(c *gin.Context) {
	id, err := decisionID(c.Param("id"))
	if err != nil {
		httpx.WriteError(c, err)
		return
	}
	e, err := a.Log.Get(c.Request.Context(), id)
	if err != nil {
		httpx.WriteError(c, err)
		return
	}
	c.JSON(http.StatusOK, toDecisionResponse(e))
}

func (a Audits) replay(c *gin.Context) {
	id, err := decisionID(c.Param("id"))
	if err != nil {
		httpx.WriteError(c, err)
		return
	}
	also := c.Query("also")
	if also != "" && also != "active" && also != policy.DraftName {
		if _, err := policy.ParseID(also); err != nil {
			httpx.WriteError(c, errs.E(errs.Invalid, "also=%q: use active, draft or a revision such as r3", also))
			return
		}
	}
	var asOf *time.Time
	if t, err := instant(c, "as_of"); err != nil {
		httpx.WriteError(c, err)
		return
	} else if !t.IsZero() {
		asOf = &t
	}
	res, err := a.Replays.Replay(c.Request.Context(), id, also, asOf)
	if err != nil {
		httpx.WriteError(c, err)
		return
	}
	out := replayResponse{DecisionID: id.String(), Revision: res.Entry.Revision, DecidedAt: res.Entry.DecidedAt,
		Logged: res.Entry.Result, Replayed: res.Replayed, Match: res.Match,
		MaskedPaths: nonNil(res.Entry.Masked), MaskedRead: res.MaskedRead}
	if res.Also != nil {
		out.Also = &alsoResponse{Target: res.Also.Target, Revision: res.Also.Revision, AsOf: res.Also.AsOf, Result: res.Also.Result, Same: res.Also.Same}
	}
	c.JSON(http.StatusOK, out)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func decisionID(s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.UUID{}, errs.E(errs.Invalid, "decision id %q is not a UUID", s)
	}
	return id, nil
}

type decisionResponse struct {
	DecisionID  string          `json:"decision_id"`
	DecidedAt   time.Time       `json:"decided_at"`
	Path        string          `json:"path"`
	Input       json.RawMessage `json:"input,omitempty"`
	Result      json.RawMessage `json:"result,omitempty"`
	Allow       *bool           `json:"allow"`
	ReasonCodes []string        `json:"reason_codes"`
	Source      string          `json:"source,omitempty"`
	Purpose     string          `json:"purpose,omitempty"`
	Region      string          `json:"region,omitempty"`
	Subject     string          `json:"subject,omitempty"`
	Revision    string          `json:"revision"`
	RevisionURL string          `json:"revision_url,omitempty"`
	Client      string          `json:"client"`
	Node        string          `json:"node"`
	EvalNS      int64           `json:"eval_ns"`
	Masked      []string        `json:"masked"`
}

func toDecisionResponse(e decisionlog.Entry) decisionResponse {
	out := decisionResponse{DecisionID: e.DecisionID.String(), DecidedAt: e.DecidedAt, Path: e.Path,
		Input: e.Input, Result: e.Result, Allow: e.Allow, ReasonCodes: nonNil(e.ReasonCodes), Source: e.Source,
		Purpose: e.Purpose, Region: e.Region, Subject: e.Subject, Revision: e.Revision,
		Client: e.Client, Node: e.Node, EvalNS: e.EvalNS, Masked: nonNil(e.Masked)}
	if strings.HasPrefix(e.Revision, "r") {
		out.RevisionURL = "/admin/v1/revisions/" + e.Revision
	}
	return out
}

type decisionsResponse struct {
	Decisions  []decisionResponse `json:"decisions"`
	NextCursor string             `json:"next_cursor,omitempty"`
}

type replayResponse struct {
	DecisionID  string          `json:"decision_id"`
	Revision    string          `json:"revision"`
	DecidedAt   time.Time       `json:"decided_at"`
	Logged      json.RawMessage `json:"logged"`
	Replayed    json.RawMessage `json:"replayed"`
	Match       bool            `json:"match"`
	MaskedPaths []string        `json:"masked_paths"`
	MaskedRead  bool            `json:"masked_read"`
	Also        *alsoResponse   `json:"also,omitempty"`
}

type alsoResponse struct {
	Target   string          `json:"target"`
	Revision string          `json:"revision"`
	AsOf     *time.Time      `json:"as_of,omitempty"`
	Result   json.RawMessage `json:"result"`
	Same     bool            `json:"same"`
}

// decisionFilter reads ?from&to&allow&reason&region&source&purpose&revision&subject&client&path&id&cursor&limit.
// A subject id is looked for as given and as the masking rules store it.
func decisionFilter(c *gin.Context, m *masking.Masker) (decisionlog.Filter, error) {
	f := decisionlog.Filter{Reason: c.Query("reason"), Region: strings.ToUpper(c.Query("region")), Source: c.Query("source"),
		Purpose: c.Query("purpose"), Revision: c.Query("revision"), Client: c.Query("client"), Path: c.Query("path")}
	if v := c.Query("subject"); v != "" {
		f.Subjects = m.SubjectIDs(v)
	}
	var err error
	if f.From, err = instant(c, "from"); err != nil {
		return f, err
	}
	if f.To, err = instant(c, "to"); err != nil {
		return f, err
	}
	if v := c.Query("allow"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return f, errs.E(errs.Invalid, "allow=%q: use true or false", v)
		}
		f.Allow = &b
	}
	if v := c.Query("id"); v != "" {
		id, err := decisionID(v)
		if err != nil {
			return f, err
		}
		f.DecisionID = &id
	}
	if v := c.Query("cursor"); v != "" {
		cur, err := decisionlog.ParseCursor(v)
		if err != nil {
			return f, err
		}
		f.After = &cur
	}
	// Larger limits are accepted and served as pages of decisionlog.MaxPage.
	f.Limit, err = intQuery(c, "limit", 0, 1, math.MaxInt32)
	return f, err
}

// intQuery reads an optional integer query parameter in lo..hi; def when
// it is absent.
func intQuery(c *gin.Context, name string, def, lo, hi int) (int, error) {
	v := c.Query(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return def, errs.E(errs.Invalid, "%s=%q: use a whole number from %d to %d", name, v, lo, hi)
	}
	return n, nil
}

// instant reads an optional RFC 3339 query parameter.
func instant(c *gin.Context, name string) (time.Time, error) {
	v := c.Query(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return t, errs.E(errs.Invalid, "%s=%q: use an RFC 3339 instant such as 2026-01-02T15:04:05Z", name, v)
	}
	return t, nil
}
