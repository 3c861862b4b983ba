package httpx

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/signalgate/signalgate/internal/errs"
)

var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// BodyTimeout bounds the arrival of a request body once its headers are in:
// a client trickling bytes holds a connection and a buffer, so it is cut off
// with a 408 well before the server's overall read timeout.
const BodyTimeout = 10 * time.Second

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
	_ = http.NewResponseController(c.Writer).SetReadDeadline(time.Now().Add(BodyTimeout))
	r := http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	if _, err := buf.ReadFrom(r); err != nil {
		release()
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, func() {}, errs.E(errs.TooLarge, "request body is larger than the limit of %d bytes", limit)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			c.Header("Connection", "close")
			return nil, func() {}, errs.E(errs.Timeout, "the request body did not arrive within %s", BodyTimeout)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, func() {}, errs.E(errs.Invalid, "request body ended early")
		}
		return nil, func() {}, errs.Wrap(errs.Invalid, err, "cannot read the request body")
	}
	return buf.Bytes(), release, nil
}
