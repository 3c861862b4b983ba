package main

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// BenchmarkDecideHTTP drives a real in-process server over loopback with
// durable logging, so a CPU profile shows the whole request path.
func BenchmarkDecideHTTP(b *testing.B) {
	s := startServer(b, nil)
	body := []byte(`{"input":` + benignInput + `}`)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("POST", s.url+"/v1/decisions", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+s.token)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}
