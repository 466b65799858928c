package starknettest

import "time"

type faultKind int

const (
	faultRPCError faultKind = iota // JSON-RPC -32603 Internal error
	faultHTTP                      // HTTP 503 with no JSON-RPC body
	faultSlow                      // answer only after a delay
	faultRevert                    // the next included transaction reverts
	faultStall                     // the next received transaction is never included
	faultDrop                      // the next received transaction is dropped
)

type fault struct {
	kind   faultKind
	method string // "" matches every method (request faults only)
	times  int
	delay  time.Duration
}

func (n *Node) inject(f *fault) {
	if f.times <= 0 {
		f.times = 1
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.faults = append(n.faults, f)
}

// FailNext answers the next times requests for method ("" for any) with a
// JSON-RPC internal error.
func (n *Node) FailNext(method string, times int) {
	n.inject(&fault{kind: faultRPCError, method: method, times: times})
}

// UnavailableNext answers the next times requests for method ("" for any)
// with HTTP 503, as an overloaded gateway does.
func (n *Node) UnavailableNext(method string, times int) {
	n.inject(&fault{kind: faultHTTP, method: method, times: times})
}

// SlowNext delays the answer to the next times requests for method ("" for
// any) by d, or until the client gives up.
func (n *Node) SlowNext(method string, times int, d time.Duration) {
	n.inject(&fault{kind: faultSlow, method: method, times: times, delay: d})
}

// RevertNext makes the next transaction included in a block revert, as if
// the state changed between fee estimation and inclusion.
func (n *Node) RevertNext() { n.inject(&fault{kind: faultRevert}) }

// StallNext keeps the next received transaction RECEIVED forever.
func (n *Node) StallNext() { n.inject(&fault{kind: faultStall}) }

// DropNext drops the next received transaction from the mempool when it would
// have been included: from then on the node no longer knows its hash.
func (n *Node) DropNext() { n.inject(&fault{kind: faultDrop}) }

// takeFault consumes one request fault matching method. Callers hold n.mu.
func (n *Node) takeFault(method string) *fault {
	for i, f := range n.faults {
		if f.kind > faultSlow || (f.method != "" && f.method != method) {
			continue
		}
		return n.consume(i)
	}
	return nil
}

// takeTxFault consumes one transaction fault of kind. Callers hold n.mu.
func (n *Node) takeTxFault(kind faultKind) bool {
	for i, f := range n.faults {
		if f.kind == kind {
			n.consume(i)
			return true
		}
	}
	return false
}

func (n *Node) consume(i int) *fault {
	f := n.faults[i]
	f.times--
	if f.times == 0 {
		n.faults = append(n.faults[:i], n.faults[i+1:]...)
	}
	return f
}
