// Package bench runs Comet's standard benchmarks in one process, on synthetic data in a
// scratch directory, and reports them with the machine they ran on (comet bench). The
// figures are for comparing two runs on one machine (Compare), not across machines: an
// absolute time from a shared machine does not reproduce on the next.
package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/comet-attest/comet/prover/circuit"
)

// Format is the report's format.
const Format = "comet.bench/v1"

// Options choose the sizes.
type Options struct {
	// Quick runs smaller cases: seconds instead of minutes, for a smoke test.
	Quick bool
	// Dir is the scratch directory; it must exist.
	Dir string
	// Progress, when set, is told each step as it starts.
	Progress func(step string)
}

// Metric is one measured figure.
type Metric struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	// Higher says whether a larger value is better (a rate) or worse (a time).
	Higher bool   `json:"higher_is_better"`
	Note   string `json:"note,omitempty"`
}

// Machine is what the figures depend on.
type Machine struct {
	CPU       string  `json:"cpu"`
	Cores     int     `json:"cores"`
	MemoryGiB float64 `json:"memory_gib"`
	OS        string  `json:"os"`
	Go        string  `json:"go"`
	Gnark     string  `json:"gnark"`
}

// Report is one run.
type Report struct {
	Format  string    `json:"format"`
	Quick   bool      `json:"quick"`
	Started time.Time `json:"started"`
	Machine Machine   `json:"machine"`
	Metrics []Metric  `json:"metrics"`
}

// Run runs every benchmark in order: commit, train, setup, prove, verify, log append, and
// the API's submit and lookup against a registry served on loopback.
func Run(ctx context.Context, o Options) (*Report, error) {
	r := &Report{Format: Format, Quick: o.Quick, Started: time.Now().UTC().Truncate(time.Second), Machine: ReadMachine()}
	say := func(s string) {
		if o.Progress != nil {
			o.Progress(s)
		}
	}
	p, err := runProver(ctx, o, say, r)
	if err != nil {
		return r, err
	}
	say("log: concurrent durable appends")
	if err := runLog(ctx, o, r); err != nil {
		return r, fmt.Errorf("log benchmark: %w", err)
	}
	if err := runAPI(ctx, o, say, p, r); err != nil {
		return r, fmt.Errorf("API benchmark: %w", err)
	}
	return r, nil
}

func (r *Report) add(name string, value float64, unit string, higher bool, note string) {
	r.Metrics = append(r.Metrics, Metric{Name: name, Value: value, Unit: unit, Higher: higher, Note: note})
}

// Metric returns the named metric.
func (r *Report) Metric(name string) (Metric, bool) {
	i := slices.IndexFunc(r.Metrics, func(m Metric) bool { return m.Name == name })
	if i < 0 {
		return Metric{}, false
	}
	return r.Metrics[i], true
}

// Parse reads a report that Marshal wrote.
func Parse(b []byte) (*Report, error) {
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("bench report: %w", err)
	}
	if r.Format != Format {
		return nil, fmt.Errorf("bench report: format %q, want %q", r.Format, Format)
	}
	return &r, nil
}

// Marshal is the report as indented JSON.
func (r *Report) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	return append(b, '\n'), err
}

// Ratio is how a metric compares with the same metric of an earlier run: Speedup > 1 is
// better whichever way the metric goes.
type Ratio struct {
	Name       string
	Old, New   float64
	Speedup    float64
	Comparable bool // false when the earlier run lacks the metric or ran other sizes
}

// Compare sets each metric of r beside old's.
func (r *Report) Compare(old *Report) []Ratio {
	out := make([]Ratio, 0, len(r.Metrics))
	for _, m := range r.Metrics {
		q := Ratio{Name: m.Name, New: m.Value}
		if om, ok := old.Metric(m.Name); ok && old.Quick == r.Quick && om.Value > 0 && m.Value > 0 {
			q.Old, q.Comparable = om.Value, true
			q.Speedup = m.Value / om.Value
			if !m.Higher {
				q.Speedup = om.Value / m.Value
			}
		}
		out = append(out, q)
	}
	return out
}

// ReadMachine describes this machine from /proc where it can (Linux) and the runtime.
func ReadMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version(), Gnark: circuit.GnarkVersion(), CPU: "unknown"}
	if v := procField("/proc/cpuinfo", "model name"); v != "" {
		m.CPU = v
	}
	if v := procField("/proc/meminfo", "MemTotal"); v != "" {
		if kb, err := strconv.ParseFloat(strings.TrimSuffix(v, " kB"), 64); err == nil {
			m.MemoryGiB = float64(int(kb/(1<<20)*10+0.5)) / 10
		}
	}
	return m
}

// procField is the value of the first "key: value" line of a /proc file, or "".
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
