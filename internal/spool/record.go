package spool

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"time"

	"github.com/signalgate/signalgate/internal/decisionlog"
)

// A segment is a sequence of records, each one batch of entries:
//
//	uint32 payload length | uint32 CRC-32C of the payload | payload
//
// and a payload is a uvarint entry count, then per entry its fields in a
// fixed order, byte strings as uvarint length + bytes. Every entry keeps its
// decision id and time, so a replay inserts exactly the row that was
// acknowledged.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

const headerSize = 8

// maxRecord bounds one record: larger lengths are corruption, not data.
const maxRecord = 256 << 20

// errTorn marks a record cut short, as a crash during its write leaves it.
var errTorn = errors.New("torn record")

// errCorrupt marks a record whose checksum or encoding is wrong.
var errCorrupt = errors.New("corrupt record")

// appendRecord appends entries as one record to b.
func appendRecord(b []byte, entries []decisionlog.Entry) []byte {
	start := len(b)
	b = append(b, make([]byte, headerSize)...)
	b = binary.AppendUvarint(b, uint64(len(entries)))
	for i := range entries {
		b = appendEntry(b, &entries[i])
	}
	payload := b[start+headerSize:]
	binary.BigEndian.PutUint32(b[start:], uint32(len(payload)))
	binary.BigEndian.PutUint32(b[start+4:], crc32.Checksum(payload, castagnoli))
	return b
}

func appendBytes(b, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendStrings(b []byte, ss []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(ss)))
	for _, s := range ss {
		b = appendString(b, s)
	}
	return b
}

// Nil byte strings (no input, no result) are told from empty ones by a flag.
func appendOptBytes(b, s []byte) []byte {
	if s == nil {
		return append(b, 0)
	}
	return appendBytes(append(b, 1), s)
}

func appendEntry(b []byte, e *decisionlog.Entry) []byte {
	b = append(b, e.DecisionID[:]...)
	b = binary.AppendVarint(b, e.DecidedAt.UnixMicro())
	b = appendString(b, e.Path)
	b = appendOptBytes(b, e.Input)
	b = appendOptBytes(b, e.Result)
	switch {
	case e.Allow == nil:
		b = append(b, 0)
	case *e.Allow:
		b = append(b, 2)
	default:
		b = append(b, 1)
	}
	b = appendStrings(b, e.ReasonCodes)
	for _, s := range []string{e.Source, e.Purpose, e.Region, e.Subject, e.Revision, e.Client, e.Node} {
		b = appendString(b, s)
	}
	b = binary.AppendVarint(b, e.EvalNS)
	return appendStrings(b, e.Masked)
}

// readRecord decodes the record at the start of b and returns its entries
// and its length. A record cut short is errTorn; a bad checksum or encoding
// is errCorrupt.
func readRecord(b []byte) ([]decisionlog.Entry, int, error) {
	if len(b) < headerSize {
		return nil, 0, errTorn
	}
	n := int(binary.BigEndian.Uint32(b))
	if n > maxRecord {
		return nil, 0, errCorrupt
	}
	if len(b) < headerSize+n {
		return nil, 0, errTorn
	}
	payload := b[headerSize : headerSize+n]
	if crc32.Checksum(payload, castagnoli) != binary.BigEndian.Uint32(b[4:]) {
		return nil, 0, errCorrupt
	}
	d := decoder{b: payload}
	count := d.uvarint()
	if count > uint64(len(payload)) { // every entry takes more than a byte
		return nil, 0, errCorrupt
	}
	entries := make([]decisionlog.Entry, 0, count)
	for range count {
		entries = append(entries, d.entry())
	}
	if d.err || len(d.b) != 0 {
		return nil, 0, errCorrupt
	}
	return entries, headerSize + n, nil
}

// lastRecord reports whether the record at the start of b runs to the end
// of b (or beyond): a bad checksum there is a write a crash interrupted.
func lastRecord(b []byte) bool {
	return len(b) < headerSize || headerSize+int(binary.BigEndian.Uint32(b)) >= len(b)
}

// decoder reads a payload; any overrun sets err and yields zero values.
type decoder struct {
	b   []byte
	err bool
}

func (d *decoder) take(n uint64) []byte {
	if d.err || n > uint64(len(d.b)) {
		d.err = true
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string { return string(d.take(d.uvarint())) }

func (d *decoder) optBytes() []byte {
	flag := d.take(1)
	if d.err || flag[0] == 0 {
		return nil
	}
	return append([]byte{}, d.take(d.uvarint())...)
}

func (d *decoder) strs() []string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err = true
		return nil
	}
	out := make([]string, 0, n)
	for range n {
		out = append(out, d.str())
	}
	return out
}

func (d *decoder) entry() decisionlog.Entry {
	var e decisionlog.Entry
	copy(e.DecisionID[:], d.take(16))
	e.DecidedAt = time.UnixMicro(d.varint()).UTC()
	e.Path = d.str()
	e.Input = d.optBytes()
	e.Result = d.optBytes()
	if a := d.take(1); !d.err && a[0] != 0 {
		allow := a[0] == 2
		e.Allow = &allow
	}
	e.ReasonCodes = d.strs()
	for _, dst := range []*string{&e.Source, &e.Purpose, &e.Region, &e.Subject, &e.Revision, &e.Client, &e.Node} {
		*dst = d.str()
	}
	e.EvalNS = d.varint()
	e.Masked = d.strs()
	return e
}
