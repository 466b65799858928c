package server

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/comet-attest/comet/attest/keys"
	"github.com/comet-attest/comet/attest/tlog"
	"github.com/comet-attest/comet/attest/trustroot"
	"github.com/comet-attest/comet/internal/config"
)

func TestWitnessPolicy(t *testing.T) {
	if e, ws, err := witnessPolicy(config.Default().Log); e != nil || ws != nil || err != nil {
		t.Errorf("no witnesses: %v %v %v", e, ws, err)
	}
	l := config.Default().Log
	l.Witnesses = []config.Witness{{Name: "a", URL: "http://a.example", Key: "ka"}, {URL: "https://b.example/w/", Key: "kb"}}
	l.WitnessQuorum = 1
	e, ws, err := witnessPolicy(l)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(e, &trustroot.WitnessEntry{Quorum: 1, Keys: []string{"ka", "kb"}}) {
		t.Errorf("trust root entry %+v", e)
	}
	if !reflect.DeepEqual(ws, []tlog.Witness{{Name: "a", URL: "http://a.example", Key: "ka"}, {URL: "https://b.example/w/", Key: "kb"}}) {
		t.Errorf("log witnesses %+v", ws)
	}
}

// Without witnesses /metrics has the log's sizes and no witness series. A new log whose
// witness is down cannot publish its first checkpoint: Open fails, and the log says which
// witness did not answer (the process tests with real witnesses are in cmd/comet).
func TestWitnessMetricsAndDownWitness(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, testConfig(t), quiet)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	s.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	m := rec.Body.String()
	for _, want := range []string{"comet_log_published_size 0", "comet_log_integrated_size 0", "comet_log_unpublished_entries 0"} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(m, "comet_witness_") {
		t.Errorf("witness series without witnesses:\n%s", m)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	ln.Close()
	wk, err := keys.Generate("witness.test/down")
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.Log.Witnesses = []config.Witness{{Name: "down", URL: down, Key: wk.Verifier().String()}}
	cfg.Log.WitnessQuorum = 1
	var logs bytes.Buffer
	if _, err := Open(ctx, cfg, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))}); err == nil || !strings.Contains(err.Error(), "witness policy was not satisfied") {
		t.Errorf("Open of a new log whose only witness is down: %v", err)
	}
	if !regexp.MustCompile(`level=WARN msg="witness did not answer" witness=down url=` + regexp.QuoteMeta(down) + `/add-checkpoint status=0 reason=unreachable`).Match(logs.Bytes()) {
		t.Errorf("no warning naming the witness:\n%s", logs.String())
	}
}
