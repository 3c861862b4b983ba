// Package adminclient is a small client of signalgate's admin API, for the
// policy commands of the CLI (policies kept in git).
package adminclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Client talks to one signalgate server with one API token.
type Client struct {
	Server string
	Token  string
	HTTP   *http.Client
}

// New returns a client of server (e.g. http://localhost:8080).
func New(server, token string) *Client {
	return &Client{Server: strings.TrimRight(server, "/"), Token: token, HTTP: &http.Client{Timeout: 2 * time.Minute}}
}

// Problem is one validation error, with its place.
type Problem struct {
	File    string `json:"file"`
	Row     int    `json:"row"`
	Col     int    `json:"col"`
	Message string `json:"message"`
}

// Report is a validation report.
type Report struct {
	OK     bool      `json:"ok"`
	Errors []Problem `json:"errors"`
	Tests  []struct {
		Name    string `json:"name"`
		Pass    bool   `json:"pass"`
		Message string `json:"message"`
	} `json:"tests"`
}

// Draft is the draft as the API returns it.
type Draft struct {
	Modules     map[string]string `json:"modules"`
	Data        json.RawMessage   `json:"data"`
	ETag        string            `json:"etag"`
	ContentHash string            `json:"content_hash"`
}

// Revision is a revision as the API lists it.
type Revision struct {
	Revision    string            `json:"revision"`
	ContentHash string            `json:"content_hash"`
	Author      string            `json:"author"`
	Message     string            `json:"message"`
	CreatedAt   time.Time         `json:"created_at"`
	Active      bool              `json:"active"`
	Modules     map[string]string `json:"modules,omitempty"`
	Data        json.RawMessage   `json:"data,omitempty"`
}

// StatusError is a response the server refused, with its message.
type StatusError struct {
	Status  int
	Message string
	Body    []byte
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("server answered %d: %s", e.Status, e.Message)
}

func (c *Client) do(ctx context.Context, method, path string, body any, header map[string]string, out any) (http.Header, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Server+path, r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var e struct{ Message string }
		_ = json.Unmarshal(data, &e)
		if e.Message == "" {
			e.Message = http.StatusText(resp.StatusCode)
		}
		return resp.Header, &StatusError{Status: resp.StatusCode, Message: e.Message, Body: data}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return nil, fmt.Errorf("%s %s: unexpected answer: %w", method, path, err)
		}
	}
	return resp.Header, nil
}

// Draft reads the draft.
func (c *Client) Draft(ctx context.Context) (Draft, error) {
	var d Draft
	_, err := c.do(ctx, "GET", "/admin/v1/draft", nil, nil, &d)
	return d, err
}

// SaveDraft replaces the draft, if it is still at etag.
func (c *Client) SaveDraft(ctx context.Context, modules map[string]string, data json.RawMessage, etag string) (Draft, error) {
	var d Draft
	_, err := c.do(ctx, "PUT", "/admin/v1/draft", map[string]any{"modules": modules, "data": data},
		map[string]string{"If-Match": etag}, &d)
	return d, err
}

// Publish publishes the draft. A draft that does not validate gives a
// *StatusError with status 422 and the report, returned as well.
func (c *Client) Publish(ctx context.Context, message string) (string, *Report, error) {
	var out struct{ Revision string }
	_, err := c.do(ctx, "POST", "/admin/v1/draft/publish", map[string]any{"message": message}, nil, &out)
	var se *StatusError
	if err != nil && asStatus(err, &se) && se.Status == http.StatusUnprocessableEntity {
		var r Report
		if json.Unmarshal(se.Body, &r) == nil {
			return "", &r, err
		}
	}
	return out.Revision, nil, err
}

// Revisions lists revisions, newest first.
func (c *Client) Revisions(ctx context.Context) ([]Revision, error) {
	var out struct{ Revisions []Revision }
	_, err := c.do(ctx, "GET", "/admin/v1/revisions", nil, nil, &out)
	return out.Revisions, err
}

// Revision reads one revision with its content.
func (c *Client) Revision(ctx context.Context, id string) (Revision, error) {
	var r Revision
	_, err := c.do(ctx, "GET", "/admin/v1/revisions/"+id, nil, nil, &r)
	return r, err
}

// Activate makes revision id active.
func (c *Client) Activate(ctx context.Context, id string) error {
	_, err := c.do(ctx, "POST", "/admin/v1/revisions/"+id+"/activate", nil, nil, nil)
	return err
}

func asStatus(err error, target **StatusError) bool {
	se, ok := err.(*StatusError)
	if ok {
		*target = se
	}
	return ok
}
