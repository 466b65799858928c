package anchor_test

import (
	"context"
	"testing"
	"time"

	"github.com/comet-attest/comet/chain/starknettest"
)

// BenchmarkAnchor anchors one checkpoint per iteration through the real
// client and the loopback node (blocks sealed on the first poll), and
// reports what one anchor costs: calldata, estimated and actual fee from the
// node's fee model, and RPC calls. ns/op is the loopback anchoring latency,
// spec validation of every request and response included.
func BenchmarkAnchor(b *testing.B) {
	for _, bt := range []time.Duration{0, 10 * time.Millisecond} {
		b.Run("block_time="+bt.String(), func(b *testing.B) {
			ctx := context.Background()
			e := setup(b, starknettest.Config{BlockTime: bt})
			e.cfg.PollInterval = time.Millisecond
			c := e.client(b)
			var calls uint64
			var calldata int
			var estimated, actual float64
			b.ResetTimer()
			for i := range b.N {
				before := c.RPCCalls()
				p, err := c.Send(ctx, origin, uint64(i+1), root("x"))
				if err != nil {
					b.Fatal(err)
				}
				r, err := c.WaitReceipt(ctx, p.TxHash)
				if err != nil {
					b.Fatal(err)
				}
				calls += c.RPCCalls() - before
				calldata = r.CalldataFelts
				est, _ := p.EstimatedFee.Float64()
				act, _ := r.Fee.Float64()
				estimated, actual = estimated+est, actual+act
			}
			b.ReportMetric(float64(calls)/float64(b.N), "rpc/op")
			b.ReportMetric(float64(calldata), "calldata-felts")
			b.ReportMetric(estimated/float64(b.N)/1e18, "est-fee-STRK")
			b.ReportMetric(actual/float64(b.N)/1e18, "fee-STRK")
		})
	}
}
