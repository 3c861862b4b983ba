// Package audit keeps the admin audit trail: who did what to which target,
// when, with the content hashes before and after, chained by hash so that
// tampering is detectable.
package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Entry is one admin action.
type Entry struct {
	Seq        int64
	At         time.Time
	Actor      string
	Action     string // e.g. draft.save, policy.publish, revision.activate
	Target     string // e.g. draft, r17
	BeforeHash string
	AfterHash  string
	RequestID  string
	Detail     []byte // JSON object
	PrevHash   string
	Hash       string
}

// Genesis is the previous hash of the first entry.
const Genesis = "sha256:0000000000000000000000000000000000000000000000000000000000000000"

// Seal sets e's sequence, previous hash and hash as the entry that follows
// prev (nil for the first entry).
func Seal(e *Entry, prev *Entry) {
	e.Seq, e.PrevHash = 1, Genesis
	if prev != nil {
		e.Seq, e.PrevHash = prev.Seq+1, prev.Hash
	}
	e.At = e.At.UTC().Truncate(time.Microsecond) // as stored
	e.Hash = HashOf(*e)
}

// HashOf is "sha256:<hex>" over every field but Hash itself, each written
// with its length so that no two entries encode alike. Detail is hashed in
// canonical form (sorted keys, no spaces), since the database stores it as
// jsonb and gives it back reformatted.
func HashOf(e Entry) string {
	h := sha256.New()
	for _, f := range []string{
		strconv.FormatInt(e.Seq, 10), e.At.UTC().Format(time.RFC3339Nano), e.Actor, e.Action, e.Target,
		e.BeforeHash, e.AfterHash, e.RequestID, canonical(e.Detail), e.PrevHash,
	} {
		fmt.Fprintf(h, "%d:%s;", len(f), f)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Break is where a chain stops verifying.
type Break struct {
	Seq    int64
	Reason string
}

// Verifier checks a trail one entry at a time, in sequence order, so a
// trail of any length is checked in constant memory: consecutive sequence
// numbers from the genesis, each linked to the previous hash, each hash
// matching its fields.
type Verifier struct {
	prevHash string
	want     int64
}

// NewVerifier returns a Verifier expecting the first entry.
func NewVerifier() *Verifier { return &Verifier{prevHash: Genesis, want: 1} }

// Next checks e, the entry after those checked so far. It returns the
// break, or nil.
func (v *Verifier) Next(e Entry) *Break {
	switch {
	case e.Seq != v.want:
		return &Break{Seq: e.Seq, Reason: fmt.Sprintf("entry %d is missing or out of order", v.want)}
	case e.PrevHash != v.prevHash:
		return &Break{Seq: e.Seq, Reason: "does not link to the previous entry"}
	case HashOf(e) != e.Hash:
		return &Break{Seq: e.Seq, Reason: "its content does not match its hash (edited)"}
	}
	v.prevHash, v.want = e.Hash, v.want+1
	return nil
}

// Verify checks entries, in sequence order, with a Verifier. It returns the
// first break, or nil.
func Verify(entries []Entry) *Break {
	v := NewVerifier()
	for _, e := range entries {
		if b := v.Next(e); b != nil {
			return b
		}
	}
	return nil
}

// Filter selects entries; zero fields select everything.
type Filter struct {
	Actor, Action, Target string
	From, To              time.Time
	BeforeSeq             int64 // keyset paging: entries older than this one
	Limit                 int
}

// Store reads the trail. Appending happens in the transaction of the change
// an entry records, inside the store that makes the change.
type Store interface {
	// List returns entries matching f, newest first.
	List(ctx context.Context, f Filter) ([]Entry, error)
	// Each calls fn with every entry in sequence order, a page at a time,
	// stopping at fn's first error.
	Each(ctx context.Context, fn func(Entry) error) error
}

// canonical re-encodes a JSON document with sorted keys and no spaces; a
// document that does not parse is hashed as it is.
func canonical(doc []byte) string {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return string(doc)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return string(doc)
	}
	return string(b)
}

// Appender records a standalone entry.
type Appender interface {
	Append(ctx context.Context, e Entry) error
}
