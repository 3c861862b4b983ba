package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/signalgate/signalgate/internal/audit"
	"github.com/signalgate/signalgate/internal/engine"
	"github.com/signalgate/signalgate/internal/errs"
)

// Actor is who asks for a change, for the audit trail.
type Actor struct {
	Name      string
	RequestID string
}

// ValidationError carries the report of a policy that did not validate.
type ValidationError struct{ Report Report }

func (e *ValidationError) Error() string {
	msgs := make([]string, 0, len(e.Report.Errors))
	for _, p := range e.Report.Errors {
		msgs = append(msgs, fmt.Sprintf("%s:%d:%d: %s", p.File, p.Row, p.Col, p.Message))
	}
	return "the policy does not validate: " + strings.Join(msgs, "; ")
}

// Draft returns the draft: the saved one, else the active revision's content.
func (s *Service) Draft(ctx context.Context) (Draft, error) {
	d, err := s.store.Draft(ctx)
	if errs.CodeOf(err) != errs.NotFound {
		return d, err
	}
	rev, err := s.store.Active(ctx)
	if err != nil {
		return Draft{}, err
	}
	return Draft{Content: rev.Content, ContentHash: rev.ContentHash, UpdatedAt: rev.CreatedAt}, nil
}

// SaveDraft replaces the draft with c if nobody saved since the caller read
// content hash ifMatch. It returns errs.PreconditionFailed when someone did,
// errs.Invalid for content that cannot be a policy folder (paths, sizes).
func (s *Service) SaveDraft(ctx context.Context, who Actor, c Content, ifMatch string) (Draft, error) {
	if ifMatch == "" {
		return Draft{}, errs.E(errs.PreconditionFailed, "send If-Match with the etag of the draft you edited, so that nobody's change is overwritten")
	}
	if probs := checkShape(c); len(probs) > 0 {
		return Draft{}, errs.E(errs.Invalid, "%s: %s", probs[0].File, probs[0].Message)
	}
	hash, err := ContentHash(c)
	if err != nil {
		return Draft{}, errs.Wrap(errs.Invalid, err, "the data cannot be encoded")
	}
	d := Draft{Content: c, ContentHash: hash, UpdatedAt: s.now().UTC(), UpdatedBy: who.Name}
	e := audit.Entry{At: d.UpdatedAt, Actor: who.Name, Action: "draft.save", Target: "draft", RequestID: who.RequestID}
	if err := s.store.SaveDraft(ctx, d, ifMatch, e); err != nil {
		return Draft{}, err
	}
	return d, nil
}

// Validate checks the current draft; see Validate.
func (s *Service) Validate(ctx context.Context) (Report, error) {
	d, err := s.Draft(ctx)
	if err != nil {
		return Report{}, err
	}
	return Validate(ctx, d.Content, s.engine.Timeout())
}

// Publish makes the draft a new immutable revision, active unless activate
// is false. It returns a *ValidationError (errs.Unprocessable) when the
// draft does not validate, publishing nothing.
func (s *Service) Publish(ctx context.Context, who Actor, message string, activate bool) (Revision, error) {
	if strings.TrimSpace(message) == "" {
		return Revision{}, errs.E(errs.Invalid, "a publish needs a message saying what changed and why")
	}
	d, err := s.Draft(ctx)
	if err != nil {
		return Revision{}, err
	}
	report, err := Validate(ctx, d.Content, s.engine.Timeout())
	if err != nil {
		return Revision{}, err
	}
	if !report.OK {
		return Revision{}, errs.Wrap(errs.Unprocessable, &ValidationError{Report: report}, "the draft does not validate")
	}
	set, err := s.settings.Get(ctx)
	if err != nil {
		return Revision{}, err
	}
	now := s.now().UTC()
	rev := Revision{ContentHash: d.ContentHash, Content: d.Content, Author: who.Name, Message: message, CreatedAt: now}
	detail, _ := json.Marshal(map[string]any{"message": message, "activate": activate, "four_eyes": set.FourEyes})
	e := audit.Entry{At: now, Actor: who.Name, Action: "policy.publish", RequestID: who.RequestID, Detail: detail}
	n, err := s.store.Publish(ctx, rev, activate, set.FourEyes, e)
	if err != nil {
		return Revision{}, err
	}
	rev.Number = n
	if activate {
		// This instance need not wait for its own notification.
		if _, err := s.LoadActive(ctx); err != nil {
			s.log.Error("loading the revision just published", "revision", rev.ID(), "err", err)
		}
	}
	return rev, nil
}

// Activate makes revision id active again (a rollback needs no new
// approval), after compiling it under today's capabilities. It returns
// errs.NotFound for an unknown revision, errs.Unprocessable when it no
// longer compiles.
func (s *Service) Activate(ctx context.Context, who Actor, id string) (Revision, error) {
	n, err := ParseID(id)
	if err != nil {
		return Revision{}, err
	}
	rev, err := s.store.Revision(ctx, n)
	if err != nil {
		return Revision{}, err
	}
	if _, err := engine.Compile(ctx, rev.ID(), rev.Content.EngineContent()); err != nil {
		var ce engine.CompileErrors
		if errors.As(err, &ce) {
			return Revision{}, errs.Wrap(errs.Unprocessable, &ValidationError{Report: Report{Errors: problems(err)}},
				rev.ID()+" no longer compiles under today's capabilities")
		}
		return Revision{}, err
	}
	e := audit.Entry{At: s.now().UTC(), Actor: who.Name, Action: "revision.activate", Target: rev.ID(),
		AfterHash: rev.ContentHash, RequestID: who.RequestID}
	if err := s.store.Activate(ctx, n, who.Name, e); err != nil {
		return Revision{}, err
	}
	if _, err := s.LoadActive(ctx); err != nil {
		s.log.Error("loading the revision just activated", "revision", rev.ID(), "err", err)
	}
	return rev, nil
}

// Revisions lists up to limit revisions, newest first.
func (s *Service) Revisions(ctx context.Context, limit int) ([]Revision, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	return s.store.Revisions(ctx, limit)
}

// Revision returns the revision with identifier id.
func (s *Service) Revision(ctx context.Context, id string) (Revision, error) {
	n, err := ParseID(id)
	if err != nil {
		return Revision{}, err
	}
	return s.store.Revision(ctx, n)
}

// ActiveID is the identifier of the revision this instance decides with.
func (s *Service) ActiveID() string {
	if p := s.engine.Policy(); p != nil {
		return p.Revision()
	}
	return ""
}

// DraftName names the draft where a revision identifier is expected.
const DraftName = "draft"

// contentOf returns the content named by id: a revision identifier or "draft".
func (s *Service) contentOf(ctx context.Context, id string) (Content, error) {
	if id == DraftName {
		d, err := s.Draft(ctx)
		return d.Content, err
	}
	rev, err := s.Revision(ctx, id)
	return rev.Content, err
}

// Diff compares two revisions (or a revision and the draft): modules file
// by file as unified diffs, data path by path.
func (s *Service) Diff(ctx context.Context, from, to string) ([]ModuleDiff, []DataChange, error) {
	a, err := s.contentOf(ctx, from)
	if err != nil {
		return nil, nil, err
	}
	b, err := s.contentOf(ctx, to)
	if err != nil {
		return nil, nil, err
	}
	mods, changes := Diff(a, b, from, to)
	return mods, changes, nil
}

// Evaluation is a playground run: a decision with its explanation.
type Evaluation struct {
	Target      string // the revision identifier, or "draft"
	At          time.Time
	Explanation engine.Explanation
}

// Evaluate decides input under target (a revision identifier, or "draft"
// when empty) with time pinned to at, and explains the result. It returns a
// *ValidationError (errs.Unprocessable) when the target does not compile.
func (s *Service) Evaluate(ctx context.Context, input ast.Value, target string, at time.Time) (Evaluation, error) {
	if target == "" {
		target = DraftName
	}
	compiled, err := s.Compile(ctx, target)
	if err != nil {
		return Evaluation{}, err
	}
	at = at.UTC().Truncate(time.Microsecond)
	return Evaluation{Target: target, At: at, Explanation: compiled.Explain(ctx, input, at, s.engine.Timeout())}, nil
}

// Compile compiles target, a revision identifier or "draft". It returns a
// *ValidationError (errs.Unprocessable) when the target does not compile.
func (s *Service) Compile(ctx context.Context, target string) (*engine.Policy, error) {
	c, err := s.contentOf(ctx, target)
	if err != nil {
		return nil, err
	}
	compiled, err := engine.Compile(ctx, target, c.EngineContent())
	if err != nil {
		var ce engine.CompileErrors
		if errors.As(err, &ce) {
			return nil, errs.Wrap(errs.Unprocessable, &ValidationError{Report: Report{Errors: problems(err)}}, target+" does not compile")
		}
		return nil, err
	}
	return compiled, nil
}

// Approve approves the draft whose content hash is hash, for four-eyes
// publishing. It returns errs.Conflict for a hash that is not the current
// draft's and errs.Forbidden for an approver who edited the draft since the
// last publish.
func (s *Service) Approve(ctx context.Context, who Actor, hash string) error {
	if !strings.HasPrefix(hash, "sha256:") {
		return errs.E(errs.Invalid, `"content_hash" must be the draft's content hash, "sha256:<hex>"`)
	}
	now := s.now().UTC()
	e := audit.Entry{At: now, Actor: who.Name, Action: "draft.approve", Target: "draft", RequestID: who.RequestID}
	return s.store.Approve(ctx, hash, who.Name, now, e)
}
