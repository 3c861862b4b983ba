package httpx

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/signalgate/signalgate/internal/errs"
)

var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// ReadBody reads the whole request body, refusing more than limit bytes with
// an errs.TooLarge error. release returns the buffer to a pool; the bytes
// must not be used after it.
func ReadBody(c *gin.Context, limit int64) (body []byte, release func(), err error) {
	buf := buffers.Get().(*bytes.Buffer)
	buf.Reset()
	release = func() {
		if buf.Cap() <= 1<<20 {
			buffers.Put(buf)
		}
	}
	if c.Request.ContentLength > limit {
		release()
		return nil, func() {}, errs.E(errs.TooLarge, "request body is larger than the limit of %d bytes", limit)
	}
	r := http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	if _, err := buf.ReadFrom(r); err != nil {
		release()
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, func() {}, errs.E(errs.TooLarge, "request body is larger than the limit of %d bytes", limit)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, func() {}, errs.E(errs.Invalid, "request body ended early")
		}
		return nil, func() {}, errs.Wrap(errs.Invalid, err, "cannot read the request body")
	}
	return buf.Bytes(), release, nil
}
