package bench

import (
	"strings"
	"testing"
)

func TestCompare(t *testing.T) {
	old := &Report{Format: Format, Metrics: []Metric{
		{Name: "prove", Value: 1000, Unit: "rf/s", Higher: true},
		{Name: "verify", Value: 20, Unit: "ms"},
		{Name: "lookup", Value: 0, Unit: "req/s", Higher: true},
	}}
	now := &Report{Format: Format, Metrics: []Metric{
		{Name: "prove", Value: 2500, Unit: "rf/s", Higher: true},
		{Name: "verify", Value: 40, Unit: "ms"},
		{Name: "lookup", Value: 900, Unit: "req/s", Higher: true},
		{Name: "new step", Value: 1, Unit: "s"},
	}}
	want := map[string]struct {
		speedup    float64
		comparable bool
	}{"prove": {2.5, true}, "verify": {0.5, true}, "lookup": {0, false}, "new step": {0, false}}
	for _, q := range now.Compare(old) {
		w := want[q.Name]
		if q.Comparable != w.comparable || q.Speedup != w.speedup {
			t.Errorf("%s: %+v, want speed-up %v comparable %v", q.Name, q, w.speedup, w.comparable)
		}
	}
	// Runs of other sizes do not compare.
	old.Quick = true
	for _, q := range now.Compare(old) {
		if q.Comparable {
			t.Errorf("%s compared across sizes", q.Name)
		}
	}
}

func TestParse(t *testing.T) {
	r := &Report{Format: Format, Machine: ReadMachine(), Metrics: []Metric{{Name: "prove", Value: 3, Unit: "rf/s", Higher: true}}}
	b, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(b)
	if err != nil || back.Metrics[0] != r.Metrics[0] || back.Machine != r.Machine {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	for _, bad := range []string{`{"format":"comet.bench/v0"}`, `{`, `[]`} {
		if _, err := Parse([]byte(bad)); err == nil || !strings.Contains(err.Error(), "bench report") {
			t.Errorf("%s: %v", bad, err)
		}
	}
	if m := ReadMachine(); m.Cores < 1 || m.Go == "" || m.Gnark == "" {
		t.Errorf("machine %+v", m)
	}
}
