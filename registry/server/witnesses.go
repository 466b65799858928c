package server

import (
	"context"
	"fmt"
	"time"

	"github.com/comet-attest/comet/attest/tlog"
	"github.com/comet-attest/comet/attest/trustroot"
	"github.com/comet-attest/comet/internal/config"
	"github.com/prometheus/client_golang/prometheus"
)

// witnessPolicy turns log.witnesses, log.witness_quorum into what the log asks (tlog
// witnesses) and what clients require (the trust root's witness entry: the same keys and
// quorum; nil without witnesses). config.Validate has checked the settings; the trust root
// and the log check them again.
func witnessPolicy(cfg config.Log) (*trustroot.WitnessEntry, []tlog.Witness, error) {
	if len(cfg.Witnesses) == 0 {
		if cfg.WitnessQuorum != 0 {
			return nil, nil, fmt.Errorf("log.witness_quorum %d without log.witnesses", cfg.WitnessQuorum)
		}
		return nil, nil, nil
	}
	entry := &trustroot.WitnessEntry{Quorum: cfg.WitnessQuorum}
	var ws []tlog.Witness
	for _, w := range cfg.Witnesses {
		entry.Keys = append(entry.Keys, w.Key)
		ws = append(ws, tlog.Witness{Name: w.Name, URL: w.URL, Key: w.Key})
	}
	return entry, ws, nil
}

// logCollector exports the log's publication state and its witnesses' answers (tlog.Status)
// on /metrics, read at each scrape from the log that log returns: a replica's changes when it
// takes the log-owner lease.
type logCollector struct {
	log func() *tlog.Log

	integrated, published, unpublished, unpublishedSecs *prometheus.Desc
	cosignatures, cosignedSize, failures, failing       *prometheus.Desc
}

func newLogCollector(l func() *tlog.Log) *logCollector {
	w := []string{"witness"}
	return &logCollector{
		log:             l,
		integrated:      prometheus.NewDesc("comet_log_integrated_size", "Entries in the log's tree on disk.", nil, nil),
		published:       prometheus.NewDesc("comet_log_published_size", "Tree size of the published checkpoint.", nil, nil),
		unpublished:     prometheus.NewDesc("comet_log_unpublished_entries", "Entries not yet covered by the published checkpoint.", nil, nil),
		unpublishedSecs: prometheus.NewDesc("comet_log_unpublished_seconds", "How long the oldest unpublished entry has waited for a checkpoint (0: none waits; tracked with witnesses only).", nil, nil),
		cosignatures:    prometheus.NewDesc("comet_witness_cosignatures_total", "Checkpoints the witness cosigned.", w, nil),
		cosignedSize:    prometheus.NewDesc("comet_witness_cosigned_size", "Tree size of the last checkpoint the witness cosigned.", w, nil),
		failures: prometheus.NewDesc("comet_witness_failures_total",
			"Checkpoints the witness refused or did not answer, by reason: the HTTP status, unreachable, timeout or invalid_cosignature.", []string{"witness", "reason"}, nil),
		failing: prometheus.NewDesc("comet_witness_failing", "1 when the witness's last answer was a failure.", w, nil),
	}
}

func (c *logCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.integrated, c.published, c.unpublished, c.unpublishedSecs, c.cosignatures, c.cosignedSize, c.failures, c.failing} {
		ch <- d
	}
}

func (c *logCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := c.log().Status(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.published, err)
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(c.integrated, float64(st.Integrated))
	gauge(c.published, float64(st.Published))
	gauge(c.unpublished, float64(st.Integrated-min(st.Published, st.Integrated)))
	waited := 0.0
	if !st.UnpublishedSince.IsZero() {
		waited = time.Since(st.UnpublishedSince).Seconds()
	}
	gauge(c.unpublishedSecs, waited)
	for _, w := range st.Witnesses {
		ch <- prometheus.MustNewConstMetric(c.cosignatures, prometheus.CounterValue, float64(w.Cosigned), w.Name)
		gauge(c.cosignedSize, float64(w.CosignedSize), w.Name)
		failing := 0.0
		if w.Failing {
			failing = 1
		}
		gauge(c.failing, failing, w.Name)
		for reason, n := range w.Failures {
			ch <- prometheus.MustNewConstMetric(c.failures, prometheus.CounterValue, float64(n), w.Name, reason)
		}
	}
}
