package decisionlog

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The wire forms of an entry, written without reflection: exports stream
// millions of them.

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string; invalid UTF-8 and NUL become
// U+FFFD, so the result is always text jsonb accepts.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == 0:
				b = append(b, "\ufffd"...) // jsonb refuses NUL
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, "\ufffd"...)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, s)
	}
	return append(b, ']')
}

// AppendJSON appends e as one JSON object, the shape the search API answers
// with (without its revision link).
func AppendJSON(b []byte, e *Entry) []byte {
	b = append(b, `{"decision_id":"`...)
	b = append(b, e.DecisionID.String()...)
	b = append(b, `","decided_at":"`...)
	b = e.DecidedAt.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","path":`...)
	b = AppendString(b, e.Path)
	if e.Input != nil {
		b = append(b, `,"input":`...)
		b = append(b, e.Input...)
	}
	if e.Result != nil {
		b = append(b, `,"result":`...)
		b = append(b, e.Result...)
	}
	b = append(b, `,"allow":`...)
	switch {
	case e.Allow == nil:
		b = append(b, "null"...)
	default:
		b = strconv.AppendBool(b, *e.Allow)
	}
	b = append(b, `,"reason_codes":`...)
	b = appendStrings(b, e.ReasonCodes)
	for _, f := range [...]struct{ name, v string }{{"source", e.Source}, {"purpose", e.Purpose}, {"region", e.Region}, {"subject", e.Subject}} {
		if f.v != "" {
			b = append(b, `,"`...)
			b = append(b, f.name...)
			b = append(b, `":`...)
			b = AppendString(b, f.v)
		}
	}
	b = append(b, `,"revision":`...)
	b = AppendString(b, e.Revision)
	b = append(b, `,"client":`...)
	b = AppendString(b, e.Client)
	b = append(b, `,"node":`...)
	b = AppendString(b, e.Node)
	b = append(b, `,"eval_ns":`...)
	b = strconv.AppendInt(b, e.EvalNS, 10)
	b = append(b, `,"masked":`...)
	b = appendStrings(b, e.Masked)
	return append(b, '}')
}

// CSVHeader names the columns of CSVRecord.
var CSVHeader = []string{"decision_id", "decided_at", "path", "allow", "reason_codes", "source", "purpose",
	"region", "subject", "revision", "client", "node", "eval_ns", "masked", "input", "result"}

// CSVRecord fills rec (len(CSVHeader) long) with e. Lists are joined with
// spaces (codes and paths hold none); input and result are JSON text.
func CSVRecord(rec []string, e *Entry) {
	allow := ""
	if e.Allow != nil {
		allow = strconv.FormatBool(*e.Allow)
	}
	rec[0], rec[1], rec[2], rec[3] = e.DecisionID.String(), e.DecidedAt.UTC().Format(time.RFC3339Nano), e.Path, allow
	rec[4], rec[5], rec[6], rec[7] = strings.Join(e.ReasonCodes, " "), e.Source, e.Purpose, e.Region
	rec[8], rec[9], rec[10], rec[11] = e.Subject, e.Revision, e.Client, e.Node
	rec[12], rec[13], rec[14], rec[15] = strconv.FormatInt(e.EvalNS, 10), strings.Join(e.Masked, " "), string(e.Input), string(e.Result)
}
