package store

import (
	"bytes"
	"encoding/binary"
	"time"

	"github.com/signalgate/signalgate/internal/decisionlog"
)

// The decision log's rows are encoded straight into PostgreSQL's binary COPY
// format: one buffer per batch, one write, no per-value type dispatch. This
// is the hottest write path of the product.

var copyHeader = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

// pgEpochMicros is PostgreSQL's timestamp origin in Unix microseconds.
// Instants are counted from it in microseconds directly: time.Time.Sub
// saturates about 292 years away, which would store a far-off (agent-sent)
// timestamp as another instant.
var pgEpochMicros = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()

const (
	textOID   = 25
	jsonbV1   = 1
	logFields = 16
)

// encodeCopy appends entries as a complete binary COPY stream to buf.
func encodeCopy(buf *bytes.Buffer, entries []decisionlog.Entry) {
	buf.Write(copyHeader)
	var scratch [8]byte
	i16 := func(v int16) { binary.BigEndian.PutUint16(scratch[:2], uint16(v)); buf.Write(scratch[:2]) }
	i32 := func(v int32) { binary.BigEndian.PutUint32(scratch[:4], uint32(v)); buf.Write(scratch[:4]) }
	i64 := func(v int64) { binary.BigEndian.PutUint64(scratch[:8], uint64(v)); buf.Write(scratch[:8]) }
	null := func() { i32(-1) }
	text := func(s string) {
		i32(int32(len(s)))
		buf.WriteString(s)
	}
	optText := func(s string) {
		if s == "" {
			null()
			return
		}
		text(s)
	}
	jsonb := func(b []byte) {
		if b == nil {
			null()
			return
		}
		i32(int32(len(b) + 1))
		buf.WriteByte(jsonbV1)
		buf.Write(b)
	}
	for i := range entries {
		e := &entries[i]
		i16(logFields)
		i32(16)
		buf.Write(e.DecisionID[:])
		i32(8)
		i64(e.DecidedAt.UnixMicro() - pgEpochMicros)
		text(e.Path)
		jsonb(e.Input)
		jsonb(e.Result)
		if e.Allow == nil {
			null()
		} else {
			i32(1)
			if *e.Allow {
				buf.WriteByte(1)
			} else {
				buf.WriteByte(0)
			}
		}
		textArray(buf, e.ReasonCodes, i32)
		optText(e.Source)
		optText(e.Purpose)
		optText(e.Region)
		optText(e.Subject)
		text(e.Revision)
		text(e.Client)
		text(e.Node)
		i32(8)
		i64(e.EvalNS)
		textArray(buf, e.Masked, i32)
	}
	i16(-1)
}

// textArray encodes a one-dimensional text[] (an empty slice is the empty
// array, never NULL: the column is NOT NULL).
func textArray(buf *bytes.Buffer, items []string, i32 func(int32)) {
	size := 12
	if len(items) > 0 {
		size += 8
	}
	for _, s := range items {
		size += 4 + len(s)
	}
	i32(int32(size))
	if len(items) == 0 {
		i32(0) // dimensions
		i32(0) // has nulls
		i32(textOID)
		return
	}
	i32(1)
	i32(0)
	i32(textOID)
	i32(int32(len(items)))
	i32(1) // lower bound
	for _, s := range items {
		i32(int32(len(s)))
		buf.WriteString(s)
	}
}
