package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/signalgate/signalgate/internal/httpx"
)

// TestSlowBodyGets408: a client that sends headers and then trickles its
// body is answered 408 with a JSON message once the body deadline passes,
// and no decision is made.
func TestSlowBodyGets408(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/decisions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"input\":", s.token)
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(httpx.BodyTimeout + 10*time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a slow body: %v", err)
	}
	defer resp.Body.Close()
	var body strings.Builder
	_, _ = bufio.NewReader(resp.Body).WriteTo(&body)
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(body.String(), "did not arrive") {
		t.Errorf("slow body: %d %s", resp.StatusCode, body.String())
	}
	if took := time.Since(start); took < httpx.BodyTimeout-time.Second {
		t.Errorf("answered after %s, before the deadline", took)
	}
	var n int
	if err := s.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM decision_logs`).Scan(&n); err != nil || n != 0 {
		t.Errorf("decisions logged: %d %v", n, err)
	}
}
