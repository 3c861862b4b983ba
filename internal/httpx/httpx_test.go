package httpx_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/signalgate/signalgate/internal/errs"
	"github.com/signalgate/signalgate/internal/httpx"
)

func TestErrorsAndPanics(t *testing.T) {
	t.Parallel()
	r := httpx.New(httpx.Options{Registerer: prometheus.NewRegistry()})
	r.GET("/panic", func(*gin.Context) { panic("boom: secret internals") })
	r.GET("/internal", func(c *gin.Context) { httpx.WriteError(c, errs.Wrap(errs.Internal, errFake, "db said x")) })
	r.GET("/busy", func(c *gin.Context) { httpx.WriteError(c, errs.E(errs.Unavailable, "retry shortly")) })
	r.GET("/stale", func(c *gin.Context) { httpx.WriteError(c, errs.E(errs.PreconditionFailed, "someone saved in between")) })
	r.POST("/limited", func(c *gin.Context) {
		_, release, err := httpx.ReadBody(c, 10)
		defer release()
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		c.Status(204)
	})
	cases := []struct {
		method, path, body string
		status             int
		code, message      string
	}{
		{"GET", "/panic", "", 500, "internal", "internal error"},
		{"GET", "/internal", "", 500, "internal", "internal error"},
		{"GET", "/busy", "", 503, "unavailable", "retry shortly"},
		{"GET", "/stale", "", 412, "precondition_failed", "someone saved in between"},
		{"POST", "/limited", strings.Repeat("x", 11), 413, "too_large", "larger than the limit of 10 bytes"},
		{"GET", "/nowhere", "", 404, "not_found", "no route GET /nowhere"},
		{"DELETE", "/busy", "", 405, "method_not_allowed", "not allowed"},
	}
	for _, tc := range cases {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body)))
		var body httpx.ErrorBody
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Errorf("%s %s: body is not JSON: %s", tc.method, tc.path, w.Body)
			continue
		}
		if w.Code != tc.status || body.Code != tc.code || !strings.Contains(body.Message, tc.message) {
			t.Errorf("%s %s = %d %+v, want %d %s %q", tc.method, tc.path, w.Code, body, tc.status, tc.code, tc.message)
		}
		if strings.Contains(w.Body.String(), "boom") || strings.Contains(w.Body.String(), "db said") || strings.Contains(w.Body.String(), "goroutine") {
			t.Errorf("%s %s leaks internals: %s", tc.method, tc.path, w.Body)
		}
		if tc.status == 503 && w.Header().Get("Retry-After") == "" {
			t.Errorf("503 without Retry-After")
		}
		if w.Header().Get("X-Content-Type-Options") != "nosniff" || w.Header().Get("X-Request-Id") == "" {
			t.Errorf("%s %s lacks security headers or a request id: %v", tc.method, tc.path, w.Header())
		}
	}
}

var errFake = &fakeErr{}

type fakeErr struct{}

func (*fakeErr) Error() string { return "db said x" }

func TestStatusMapping(t *testing.T) {
	t.Parallel()
	for code, status := range map[errs.Code]int{
		errs.Invalid: 400, errs.Unauthenticated: 401, errs.Forbidden: 403, errs.NotFound: 404,
		errs.Conflict: 409, errs.PreconditionFailed: 412, errs.TooLarge: 413, errs.Unprocessable: 422,
		errs.Unavailable: 503, errs.Internal: 500,
	} {
		if got := httpx.Status(errs.E(code, "x")); got != status {
			t.Errorf("%s → %d, want %d", code, got, status)
		}
	}
	if got := httpx.Status(http.ErrAbortHandler); got != 500 {
		t.Errorf("an uncoded error → %d, want 500", got)
	}
}
