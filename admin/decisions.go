package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/signalgate/signalgate/internal/auth"
	"github.com/signalgate/signalgate/internal/decisionlog"
	"github.com/signalgate/signalgate/internal/errs"
	"github.com/signalgate/signalgate/internal/httpx"
	"github.com/signalgate/signalgate/internal/replay"
)

// Replayer re-evaluates logged decisions.
type Replayer interface {
	Replay(ctx context.Context, id uuid.UUID) (replay.Result, error)
}

// RegisterDecisions mounts the decision-log search, lookup and replay.
func RegisterDecisions(r gin.IRouter, authn gin.HandlerFunc, log decisionlog.Reader, rp Replayer) {
	g := r.Group("/admin/v1", authn, httpx.Require(auth.Viewer))
	g.GET("/decisions", func(c *gin.Context) {
		f, err := decisionFilter(c)
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		page, err := decisionlog.Search(c.Request.Context(), log, f)
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		out := decisionsResponse{Decisions: make([]decisionResponse, len(page.Entries)), NextCursor: page.Next}
		for i, e := range page.Entries {
			out.Decisions[i] = toDecisionResponse(e)
		}
		c.JSON(http.StatusOK, out)
	})
	g.GET("/decisions/:id", func(c *gin.Context) {
		id, err := decisionID(c.Param("id"))
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		e, err := log.Get(c.Request.Context(), id)
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		c.JSON(http.StatusOK, toDecisionResponse(e))
	})
	g.POST("/decisions/:id/replay", func(c *gin.Context) {
		id, err := decisionID(c.Param("id"))
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		res, err := rp.Replay(c.Request.Context(), id)
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		c.JSON(http.StatusOK, replayResponse{DecisionID: id.String(), Revision: res.Entry.Revision,
			DecidedAt: res.Entry.DecidedAt, Logged: res.Entry.Result, Replayed: res.Replayed, Match: res.Match})
	})
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
}

func toDecisionResponse(e decisionlog.Entry) decisionResponse {
	out := decisionResponse{DecisionID: e.DecisionID.String(), DecidedAt: e.DecidedAt, Path: e.Path,
		Input: e.Input, Result: e.Result, Allow: e.Allow, ReasonCodes: e.ReasonCodes, Source: e.Source,
		Purpose: e.Purpose, Region: e.Region, Subject: e.Subject, Revision: e.Revision,
		Client: e.Client, Node: e.Node, EvalNS: e.EvalNS}
	if out.ReasonCodes == nil {
		out.ReasonCodes = []string{}
	}
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
	DecisionID string          `json:"decision_id"`
	Revision   string          `json:"revision"`
	DecidedAt  time.Time       `json:"decided_at"`
	Logged     json.RawMessage `json:"logged"`
	Replayed   json.RawMessage `json:"replayed"`
	Match      bool            `json:"match"`
}

// decisionFilter reads ?from&to&allow&reason&region&source&purpose&revision&subject&client&id&cursor&limit.
func decisionFilter(c *gin.Context) (decisionlog.Filter, error) {
	f := decisionlog.Filter{Reason: c.Query("reason"), Region: strings.ToUpper(c.Query("region")), Source: c.Query("source"),
		Purpose: c.Query("purpose"), Revision: c.Query("revision"), Subject: c.Query("subject"), Client: c.Query("client")}
	for name, dst := range map[string]*time.Time{"from": &f.From, "to": &f.To} {
		if v := c.Query(name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return f, errs.E(errs.Invalid, "%s=%q: use an RFC 3339 instant such as 2026-01-02T15:04:05Z", name, v)
			}
			*dst = t
		}
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
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return f, errs.E(errs.Invalid, "limit=%q: use 1 to %d", v, decisionlog.MaxPage)
		}
		f.Limit = n
	}
	return f, nil
}
