package main

import (
	"bytes"
	"regexp"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a buffer the reporter's goroutine and the test may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Off a terminal, each step is a line and a long step repeats one while it runs.
func TestStepsOffTerminal(t *testing.T) {
	var out syncBuffer
	r := startSteps(&out, false, 50*time.Millisecond)
	r.Step("compile the chunk circuit")
	r.Step("Groth16 setup of the chunk circuit")
	time.Sleep(300 * time.Millisecond)
	r.Stop()
	got := out.String()
	for _, re := range []string{
		`(?m)^\[ +0\.\ds\] compile the chunk circuit$`,
		`(?m)^\[ +0\.\ds\] Groth16 setup of the chunk circuit$`,
		`(?m)^\[ +0\.\ds\] Groth16 setup of the chunk circuit: still running, 0s so far$`,
	} {
		if !regexp.MustCompile(re).MatchString(got) {
			t.Errorf("no line matching %s in:\n%s", re, got)
		}
	}
	if n := len(regexp.MustCompile("still running").FindAllString(got, -1)); n < 2 {
		t.Errorf("%d periodic lines in 300 ms at one per 50 ms:\n%s", n, got)
	}
}
