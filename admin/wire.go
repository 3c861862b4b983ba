package admin

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/signalgate/signalgate/internal/audit"
	"github.com/signalgate/signalgate/internal/errs"
	"github.com/signalgate/signalgate/internal/httpx"
	"github.com/signalgate/signalgate/internal/policy"
)

type draftRequest struct {
	Modules     map[string]string `json:"modules"`
	Data        json.RawMessage   `json:"data"`
	ETag        string            `json:"etag,omitempty"`         // ignored: If-Match decides
	ContentHash string            `json:"content_hash,omitempty"` // ignored: computed
}

func (r draftRequest) toContent() (policy.Content, error) {
	if r.Modules == nil {
		return policy.Content{}, errs.E(errs.Invalid, `missing "modules": an object of module path to Rego source`)
	}
	if len(r.Data) == 0 {
		return policy.Content{}, errs.E(errs.Invalid, `missing "data": the whole data document, an object`)
	}
	data, err := policy.DecodeData(r.Data)
	if err != nil {
		return policy.Content{}, errs.E(errs.Invalid, `"data" must be a JSON object (the whole data document)`)
	}
	return policy.Content{Modules: r.Modules, Data: data}, nil
}

type draftResponse struct {
	Modules     map[string]string `json:"modules"`
	Data        map[string]any    `json:"data"`
	ETag        string            `json:"etag"`
	ContentHash string            `json:"content_hash"`
	UpdatedAt   time.Time         `json:"updated_at"`
	UpdatedBy   string            `json:"updated_by,omitempty"`
}

func toDraftResponse(d policy.Draft) draftResponse {
	return draftResponse{Modules: d.Content.Modules, Data: d.Content.Data, ETag: etag(d.ContentHash),
		ContentHash: d.ContentHash, UpdatedAt: d.UpdatedAt, UpdatedBy: d.UpdatedBy}
}

type problemResponse struct {
	File    string `json:"file"`
	Row     int    `json:"row"`
	Col     int    `json:"col"`
	Message string `json:"message"`
}

type testResponse struct {
	Name    string `json:"name"`
	Pass    bool   `json:"pass"`
	Message string `json:"message"`
}

type reportResponse struct {
	OK     bool              `json:"ok"`
	Errors []problemResponse `json:"errors"`
	Tests  []testResponse    `json:"tests"`
}

func toReportResponse(r policy.Report) reportResponse {
	out := reportResponse{OK: r.OK, Errors: []problemResponse{}, Tests: []testResponse{}}
	for _, p := range r.Errors {
		out.Errors = append(out.Errors, problemResponse{File: p.File, Row: p.Row, Col: p.Col, Message: p.Message})
	}
	for _, t := range r.Tests {
		out.Tests = append(out.Tests, testResponse{Name: t.Name, Pass: t.Pass, Message: t.Message})
	}
	return out
}

// writePolicyError answers content that does not validate with 422 and the
// validation report, any other error as every handler does.
func writePolicyError(c *gin.Context, err error) {
	var invalid *policy.ValidationError
	if errors.As(err, &invalid) {
		c.JSON(http.StatusUnprocessableEntity, toReportResponse(invalid.Report))
		return
	}
	httpx.WriteError(c, err)
}

type publishRequest struct {
	Message  string `json:"message"`
	Activate *bool  `json:"activate,omitempty"`
}

type publishResponse struct {
	Revision    string `json:"revision"`
	ContentHash string `json:"content_hash"`
	Active      bool   `json:"active"`
	// Impact is the latest impact analysis of the published content, if any
	// ran: what the publisher was shown, or should have looked at.
	Impact *impactResponse `json:"impact"`
}

type revisionResponse struct {
	Revision    string    `json:"revision"`
	ContentHash string    `json:"content_hash"`
	Parent      string    `json:"parent,omitempty"`
	Author      string    `json:"author"`
	Message     string    `json:"message"`
	CreatedAt   time.Time `json:"created_at"`
	Active      bool      `json:"active"`
}

func toRevisionResponse(r policy.Revision, active string) revisionResponse {
	out := revisionResponse{Revision: r.ID(), ContentHash: r.ContentHash, Author: r.Author,
		Message: r.Message, CreatedAt: r.CreatedAt, Active: r.ID() == active}
	if r.Parent > 0 {
		out.Parent = policy.FormatID(r.Parent)
	}
	return out
}

type revisionsResponse struct {
	Revisions []revisionResponse `json:"revisions"`
	Active    string             `json:"active"`
}

type revisionDetail struct {
	revisionResponse
	Modules map[string]string `json:"modules"`
	Data    map[string]any    `json:"data"`
}

func toRevisionDetail(r policy.Revision, active string) revisionDetail {
	return revisionDetail{revisionResponse: toRevisionResponse(r, active), Modules: r.Content.Modules, Data: r.Content.Data}
}

type auditEntryResponse struct {
	Seq        int64           `json:"seq"`
	At         time.Time       `json:"at"`
	Actor      string          `json:"actor"`
	Action     string          `json:"action"`
	Target     string          `json:"target"`
	BeforeHash string          `json:"before_hash,omitempty"`
	AfterHash  string          `json:"after_hash,omitempty"`
	RequestID  string          `json:"request_id,omitempty"`
	Detail     json.RawMessage `json:"detail"`
	PrevHash   string          `json:"prev_hash"`
	Hash       string          `json:"hash"`
}

type auditResponse struct {
	Entries    []auditEntryResponse `json:"entries"`
	NextCursor string               `json:"next_cursor,omitempty"`
}

func toAuditResponse(entries []audit.Entry, limit int) auditResponse {
	out := auditResponse{Entries: make([]auditEntryResponse, len(entries))}
	for i, e := range entries {
		out.Entries[i] = auditEntryResponse{Seq: e.Seq, At: e.At, Actor: e.Actor, Action: e.Action, Target: e.Target,
			BeforeHash: e.BeforeHash, AfterHash: e.AfterHash, RequestID: e.RequestID, Detail: e.Detail,
			PrevHash: e.PrevHash, Hash: e.Hash}
	}
	if len(entries) > 0 && len(entries) == limit {
		out.NextCursor = strconv.FormatInt(entries[len(entries)-1].Seq, 10)
	}
	return out
}

// auditFilter reads ?actor&action&target&from&to&cursor&limit.
func auditFilter(c *gin.Context) (audit.Filter, error) {
	f := audit.Filter{Actor: c.Query("actor"), Action: c.Query("action"), Target: c.Query("target")}
	var err error
	if f.From, err = instant(c, "from"); err != nil {
		return f, err
	}
	if f.To, err = instant(c, "to"); err != nil {
		return f, err
	}
	if v := c.Query("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return f, errs.E(errs.Invalid, "cursor=%q: pass the next_cursor of the previous page", v)
		}
		f.BeforeSeq = n
	}
	f.Limit, err = intQuery(c, "limit", 100, 1, 1000)
	return f, err
}

type moduleDiffResponse struct {
	Path    string `json:"path"`
	Status  string `json:"status"`
	Unified string `json:"diff"`
}

type dataChangeResponse struct {
	Path   string `json:"path"`
	Op     string `json:"op"`
	Before any    `json:"before,omitempty"`
	After  any    `json:"after,omitempty"`
}

type diffResponse struct {
	From    string               `json:"from"`
	To      string               `json:"to"`
	Modules []moduleDiffResponse `json:"modules"`
	Data    []dataChangeResponse `json:"data"`
}

func toDiffResponse(from, to string, mods []policy.ModuleDiff, changes []policy.DataChange) diffResponse {
	out := diffResponse{From: from, To: to, Modules: []moduleDiffResponse{}, Data: []dataChangeResponse{}}
	for _, m := range mods {
		out.Modules = append(out.Modules, moduleDiffResponse{Path: m.Path, Status: m.Status, Unified: m.Unified})
	}
	for _, d := range changes {
		out.Data = append(out.Data, dataChangeResponse{Path: d.Path, Op: d.Op, Before: d.Before, After: d.After})
	}
	return out
}
