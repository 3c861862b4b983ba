// Package decisionlog keeps the record of every decision: the log entry, and
// the group-commit writer that makes entries durable in batches through a Sink.
package decisionlog

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Entry is one logged decision, the shape of a decision_logs row.
type Entry struct {
	DecisionID  uuid.UUID
	DecidedAt   time.Time // microsecond precision, the time the policy saw
	Path        string    // data path evaluated, e.g. signalgate/decision
	Input       []byte    // JSON, nil when the evaluation had no input
	Result      []byte    // JSON, nil when the result was undefined
	Allow       *bool     // the result's allow, or the result itself when boolean
	ReasonCodes []string
	Source      string // "" when absent from the input
	Purpose     string
	Region      string
	Subject     string
	Revision    string
	Client      string
	Node        string
	EvalNS      int64
	Masked      []string // JSON pointers of the input values masked before storage
}

// Sink stores batches of entries durably. Write returns only once every
// entry is committed, or an error when none is; it never commits part of a
// batch.
type Sink interface {
	Write(ctx context.Context, entries []Entry) error
}
