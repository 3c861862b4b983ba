package admin

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/signalgate/signalgate/internal/audit"
	"github.com/signalgate/signalgate/internal/decisionlog"
	"github.com/signalgate/signalgate/internal/errs"
	"github.com/signalgate/signalgate/internal/httpx"
)

// exportIdle is how long an export may wait on a slow reader: the server's
// write timeout would cut a long export, so each chunk gets its own deadline.
const exportIdle = time.Minute

// Trailers of an export: whether every matching row was sent, and how many.
const (
	trailerRows     = "X-Signalgate-Export-Rows"
	trailerComplete = "X-Signalgate-Export-Complete"
)

// export streams every decision matching the filter, newest first, as
// NDJSON or CSV, in constant memory; the filter and the row count go to the
// admin audit trail.
func (a Audits) export(c *gin.Context) {
	format := c.DefaultQuery("format", "ndjson")
	if format != "ndjson" && format != "csv" {
		httpx.WriteError(c, errs.E(errs.Invalid, "format=%q: use ndjson or csv", format))
		return
	}
	f, err := decisionFilter(c, a.Masks.Load())
	if err != nil {
		httpx.WriteError(c, err)
		return
	}
	if f.After != nil {
		httpx.WriteError(c, errs.E(errs.Invalid, "cursor: an export is one stream; narrow it with from and to instead"))
		return
	}
	ctype := "application/x-ndjson"
	if format == "csv" {
		ctype = "text/csv; charset=utf-8"
	}
	h := c.Writer.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="decisions-%s.%s"`, a.Now().UTC().Format("20060102T150405Z"), format))
	h.Set("Trailer", trailerRows+", "+trailerComplete)

	rc := http.NewResponseController(c.Writer)
	_ = rc.SetWriteDeadline(time.Now().Add(exportIdle))
	out := bufio.NewWriterSize(c.Writer, 256<<10)
	write := writeNDJSON(out)
	if format == "csv" {
		write = writeCSV(out)
	}
	var rows int64
	err = a.Log.Each(c.Request.Context(), f, func(e *decisionlog.Entry) error {
		if err := write(e); err != nil {
			return err
		}
		rows++
		if rows%8192 == 0 {
			_ = rc.SetWriteDeadline(time.Now().Add(exportIdle))
		}
		return nil
	})
	if err != nil && rows == 0 && !c.Writer.Written() {
		// Nothing was sent yet: the client gets a proper error instead.
		h.Del("Trailer")
		h.Del("Content-Disposition")
		httpx.WriteError(c, err)
		a.recordExport(c, format, rows, false)
		return
	}
	if err == nil {
		err = write(nil)
	}
	if flushErr := out.Flush(); err == nil {
		err = flushErr
	}
	if err != nil {
		httpx.Logger(c).Warn("export ended early", "rows", rows, "err", err)
	}
	h.Set(trailerRows, fmt.Sprint(rows))
	h.Set(trailerComplete, fmt.Sprint(err == nil))
	a.recordExport(c, format, rows, err == nil)
}

// writeNDJSON returns a writer of one JSON object per line; nil ends it.
func writeNDJSON(w *bufio.Writer) func(*decisionlog.Entry) error {
	line := make([]byte, 0, 4096)
	return func(e *decisionlog.Entry) error {
		if e == nil {
			return nil
		}
		line = append(decisionlog.AppendJSON(line[:0], e), '\n')
		_, err := w.Write(line)
		return err
	}
}

// writeCSV returns a writer of a header and one record per entry; nil ends it.
func writeCSV(w *bufio.Writer) func(*decisionlog.Entry) error {
	cw := csv.NewWriter(w)
	rec := make([]string, len(decisionlog.CSVHeader))
	header := false
	return func(e *decisionlog.Entry) error {
		if !header {
			header = true
			if err := cw.Write(decisionlog.CSVHeader); err != nil {
				return err
			}
		}
		if e == nil {
			cw.Flush()
			return cw.Error()
		}
		decisionlog.CSVRecord(rec, e)
		return cw.Write(rec)
	}
}

func (a Audits) recordExport(c *gin.Context, format string, rows int64, complete bool) {
	query := map[string]string{}
	for k, v := range c.Request.URL.Query() {
		if len(v) > 0 {
			query[k] = v[0]
		}
	}
	detail, _ := json.Marshal(map[string]any{"filter": query, "rows": rows, "complete": complete})
	who := actor(c)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), 5*time.Second)
	defer cancel()
	e := audit.Entry{At: a.Now().UTC(), Actor: who.Name, Action: "decisions.export", Target: format,
		RequestID: who.RequestID, Detail: detail}
	if err := a.Trail.Append(ctx, e); err != nil {
		httpx.Logger(c).Warn("recording an export in the audit trail failed", "err", err)
	}
}
