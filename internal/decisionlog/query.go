package decisionlog

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/signalgate/signalgate/internal/errs"
)

// Filter selects logged decisions; zero fields select everything.
type Filter struct {
	From, To                                          time.Time // decided_at in [From, To)
	Allow                                             *bool
	Reason, Region, Source, Purpose, Revision, Client string
	Path                                              string
	Subjects                                          []string // any of: an id as given and as masked
	DecisionID                                        *uuid.UUID
	After                                             *Cursor // keyset paging: rows strictly older
	Limit                                             int
}

// Cursor is a position in the newest-first order.
type Cursor struct {
	DecidedAt  time.Time
	DecisionID uuid.UUID
}

// String encodes the cursor for a next_cursor field.
func (c Cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(c.DecidedAt.UTC().Format(time.RFC3339Nano) + "|" + c.DecisionID.String()))
}

// ParseCursor decodes a next_cursor. It returns an errs.Invalid error for
// anything else.
func ParseCursor(s string) (Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	at, id, ok := strings.Cut(string(b), "|")
	if err != nil || !ok {
		return Cursor{}, errs.E(errs.Invalid, "cursor %q: pass the next_cursor of the previous page", s)
	}
	t, err1 := time.Parse(time.RFC3339Nano, at)
	u, err2 := uuid.Parse(id)
	if err1 != nil || err2 != nil {
		return Cursor{}, errs.E(errs.Invalid, "cursor %q: pass the next_cursor of the previous page", s)
	}
	return Cursor{DecidedAt: t, DecisionID: u}, nil
}

// Reader searches the log.
type Reader interface {
	// Search returns up to f.Limit entries matching f, newest first.
	Search(ctx context.Context, f Filter) ([]Entry, error)
	// Get returns the entry with id, or an errs.NotFound error.
	Get(ctx context.Context, id uuid.UUID) (Entry, error)
	// Each calls fn with every entry matching f (at most f.Limit when it is
	// positive), newest first, reading as it goes: memory stays flat however
	// many match. The entry passed to fn is reused; fn copies what it keeps.
	// An error from fn stops the scan and is returned.
	Each(ctx context.Context, f Filter, fn func(*Entry) error) error
	// Count returns how many entries match f (at most f.Limit when positive).
	Count(ctx context.Context, f Filter) (int64, error)
}

// MaxPage bounds one page of results.
const MaxPage = 1000

// Normalize applies defaults and bounds to f; it returns errs.Invalid for
// an inverted time range.
func (f *Filter) Normalize() error {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	if f.Limit > MaxPage {
		return errs.E(errs.Invalid, "limit %d: at most %d", f.Limit, MaxPage)
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return errs.E(errs.Invalid, "from must be before to")
	}
	return nil
}

// Page is one page of a search.
type Page struct {
	Entries []Entry
	Next    string // empty on the last page
}

// Search runs f against r and returns one page with its next cursor.
func Search(ctx context.Context, r Reader, f Filter) (Page, error) {
	if err := f.Normalize(); err != nil {
		return Page{}, err
	}
	entries, err := r.Search(ctx, f)
	if err != nil {
		return Page{}, fmt.Errorf("search decisions: %w", err)
	}
	p := Page{Entries: entries}
	if len(entries) == f.Limit {
		last := entries[len(entries)-1]
		p.Next = Cursor{DecidedAt: last.DecidedAt, DecisionID: last.DecisionID}.String()
	}
	return p, nil
}
