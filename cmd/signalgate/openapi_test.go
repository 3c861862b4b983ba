package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/signalgate/signalgate/internal/oidc"

	"github.com/signalgate/signalgate/internal/openapi"
)

func loadDoc(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(openapi.YAML())
	if err != nil {
		t.Fatalf("load openapi.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is not valid OpenAPI: %v", err)
	}
	return doc
}

var ginParam = regexp.MustCompile(`[:*](\w+)`)

// TestOpenAPIPathsMatchRoutes: the document lists exactly the routes served.
func TestOpenAPIPathsMatchRoutes(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	var documented, served []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	for _, r := range routes(routeDeps{reg: prometheus.NewRegistry(), sso: oidc.New(oidc.Config{})}).Routes() {
		served = append(served, r.Method+" "+ginParam.ReplaceAllString(r.Path, "{$1}"))
	}
	sort.Strings(documented)
	sort.Strings(served)
	if strings.Join(documented, "\n") != strings.Join(served, "\n") {
		t.Errorf("documented:\n%s\n\nserved:\n%s", strings.Join(documented, "\n"), strings.Join(served, "\n"))
	}
}

// TestOpenAPIExchanges sends real requests to a real server and validates
// each request and response against the document.
func TestOpenAPIExchanges(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	s := startServer(t, nil)
	cases := []struct {
		method, path, docPath, token, body string
		status                             int
	}{
		{"POST", "/v1/decisions", "/v1/decisions", s.token, `{"input":` + benignInput + `}`, 200},
		{"POST", "/v1/decisions", "/v1/decisions", s.token, `{"input":{"purpose":"ads"}}`, 200},
		{"POST", "/v1/decisions", "/v1/decisions", s.token, `{"input":`, 400},
		{"POST", "/v1/decisions", "/v1/decisions", "", `{"input":{}}`, 401},
		{"POST", "/v1/decisions", "/v1/decisions", s.token, `{"input":"` + strings.Repeat("x", 70000) + `"}`, 413},
		{"POST", "/v1/decisions/batch", "/v1/decisions/batch", s.token, `{"inputs":[` + benignInput + `,{}]}`, 200},
		{"POST", "/v1/decisions/batch", "/v1/decisions/batch", s.token, `{"inputs":[]}`, 400},
		{"POST", "/v1/data/signalgate/decision", "/v1/data/{path}", s.token, `{"input":` + benignInput + `}`, 200},
		{"POST", "/v1/data/signalgate/nothing", "/v1/data/{path}", s.token, `{"input":{}}`, 200},
		{"GET", "/admin/v1/rollouts", "/admin/v1/rollouts", s.token, ``, 200},
		{"POST", "/admin/v1/rollouts", "/admin/v1/rollouts", s.token, `{"candidate":"r9","steps":[{"percent":1}]}`, 404},
		{"POST", "/admin/v1/rollouts", "/admin/v1/rollouts", s.token, `{"candidate":"r1","steps":[{"percent":3}]}`, 400},
		{"GET", "/healthz", "/healthz", "", ``, 200},
		{"GET", "/readyz", "/readyz", "", ``, 200},
		{"GET", "/openapi.json", "/openapi.json", "", ``, 200},
		{"GET", "/metrics", "/metrics", s.token, ``, 200},
		{"GET", "/metrics", "/metrics", "", ``, 401},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path+" "+http.StatusText(tc.status), func(t *testing.T) {
			item := doc.Paths.Value(tc.docPath)
			if item == nil {
				t.Fatalf("%s is not documented", tc.docPath)
			}
			op := item.GetOperation(tc.method)
			req, err := http.NewRequest(tc.method, s.url+tc.path, bytes.NewReader([]byte(tc.body)))
			if err != nil {
				t.Fatal(err)
			}
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			route := &routers.Route{Spec: doc, Path: tc.docPath, PathItem: item, Method: tc.method, Operation: op}
			params := map[string]string{}
			if tc.docPath == "/v1/data/{path}" {
				params["path"] = strings.TrimPrefix(tc.path, "/v1/data/")
			}
			in := &openapi3filter.RequestValidationInput{
				Request: req, PathParams: params, Route: route,
				Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
			}
			if tc.status < 400 {
				if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
					t.Errorf("request does not match the document: %v", err)
				}
				req.Body = io.NopCloser(bytes.NewReader([]byte(tc.body)))
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %.300s", resp.StatusCode, tc.status, body)
			}
			out := &openapi3filter.ResponseValidationInput{
				RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
				Body:    io.NopCloser(bytes.NewReader(body)),
				Options: &openapi3filter.Options{IncludeResponseStatus: true},
			}
			if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
				t.Errorf("response does not match the document: %v\n%.300s", err, body)
			}
		})
	}
}
