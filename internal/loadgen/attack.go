package loadgen

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// requestTimeout bounds one request; a server that stalls longer shows up as
// errors rather than hanging the run.
const requestTimeout = 30 * time.Second

// step is one measurement: one server, one API, a fixed number of
// connections each with one request in flight.
type step struct {
	server *server
	api    string // "single" or "batch"
	conns  int
	// perRequest is how many decisions one request carries.
	perRequest int
	targets    []vegeta.Target
}

func (s step) String() string {
	api := s.api
	if s.perRequest > 1 {
		api += "×" + strconv.Itoa(s.perRequest)
	}
	return s.server.name + " " + api + " @" + strconv.Itoa(s.conns)
}

// tally accumulates the results of one attack.
type tally struct {
	metrics vegeta.Metrics
	ok      int64            // 2xx answers
	failed  map[string]int64 // everything else, by status or transport error
}

func (t *tally) add(r *vegeta.Result) {
	t.metrics.Add(r)
	if r.Code >= 200 && r.Code < 300 {
		t.ok++
		return
	}
	if t.failed == nil {
		t.failed = map[string]int64{}
	}
	t.failed[failure(r)]++
}

func (t *tally) errors() int64 {
	var n int64
	for _, c := range t.failed {
		n += c
	}
	return n
}

// failure names what went wrong with a request. Transport errors drop the
// "Post <url>: " prefix so that they group by cause.
func failure(r *vegeta.Result) string {
	if r.Code != 0 {
		return "HTTP " + strconv.Itoa(int(r.Code))
	}
	if i := strings.LastIndex(r.Error, `": `); i >= 0 {
		return r.Error[i+3:]
	}
	return r.Error
}

// newAttackClient is shared by a step's warm-up and measurement so that the
// measurement starts on connections that are already open.
func newAttackClient() *http.Client {
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{
		Timeout: requestTimeout,
		// No proxy, whatever the environment says: the servers are on loopback.
		Transport: &http.Transport{DialContext: dialer.DialContext},
	}
}

// attack keeps st.conns requests in flight for d (closed loop: a connection
// sends its next request as soon as the previous one is answered) and
// returns what happened. Cancelling ctx stops it early.
func attack(ctx context.Context, client *http.Client, st step, d time.Duration) tally {
	n := st.conns
	atk := vegeta.NewAttacker(
		vegeta.Client(client),
		vegeta.Workers(uint64(n)), vegeta.MaxWorkers(uint64(n)),
		vegeta.Connections(n), vegeta.MaxConnections(n),
		vegeta.KeepAlive(true),
		// Bodies are drained but not kept: the load generator shares the
		// machine's CPUs with the servers and should use as little as it can.
		vegeta.MaxBody(0),
	)
	stop := context.AfterFunc(ctx, func() { atk.Stop() })
	defer stop()
	var t tally
	for r := range atk.Attack(vegeta.NewStaticTargeter(st.targets...), vegeta.Rate{Freq: 0}, d, st.String()) {
		t.add(r)
	}
	t.metrics.Close()
	return t
}

// targets builds one target per body for path on s.
func targets(s *server, path string, bodies [][]byte) []vegeta.Target {
	tgts := make([]vegeta.Target, len(bodies))
	for i, b := range bodies {
		tgts[i] = vegeta.Target{Method: http.MethodPost, URL: s.base + path, Body: b, Header: s.header}
	}
	return tgts
}
