package starknettest

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"

	"github.com/NethermindEth/juno/core/felt"
	"github.com/NethermindEth/starknet.go/curve"
	"github.com/NethermindEth/starknet.go/hash"
	"github.com/NethermindEth/starknet.go/rpc"
)

const (
	starknetVersion = "0.14.0"
	maxChunkSize    = 1024
)

// sequencer is the address the node's blocks name as their producer.
var sequencer = curve.StarknetKeccak([]byte("comet.starknettest.sequencer"))

func (n *Node) methods() map[string]func([]json.RawMessage) (any, *rpcError) {
	return map[string]func([]json.RawMessage) (any, *rpcError){
		"starknet_specVersion":           func([]json.RawMessage) (any, *rpcError) { return SpecVersion, nil },
		"starknet_chainId":               func([]json.RawMessage) (any, *rpcError) { return n.chain, nil },
		"starknet_blockNumber":           func([]json.RawMessage) (any, *rpcError) { return n.head().number, nil },
		"starknet_blockHashAndNumber":    n.blockHashAndNumber,
		"starknet_getBlockWithTxHashes":  func(p []json.RawMessage) (any, *rpcError) { return n.getBlock(p, false) },
		"starknet_getBlockWithTxs":       func(p []json.RawMessage) (any, *rpcError) { return n.getBlock(p, true) },
		"starknet_getNonce":              n.getNonce,
		"starknet_getClassHashAt":        n.getClassHashAt,
		"starknet_getStorageAt":          n.getStorageAt,
		"starknet_call":                  n.call,
		"starknet_estimateFee":           n.estimateFee,
		"starknet_addInvokeTransaction":  n.addInvoke,
		"starknet_getTransactionStatus":  n.getTransactionStatus,
		"starknet_getTransactionReceipt": n.getTransactionReceipt,
		"starknet_getTransactionByHash":  n.getTransactionByHash,
		"starknet_getEvents":             n.getEvents,
	}
}

// param decodes parameter i in the specification's order; the spec check
// has already made sure required ones are there and well-formed.
func param[T any](p []json.RawMessage, i int) (T, *rpcError) {
	var v T
	if i >= len(p) || p[i] == nil {
		return v, errWith(errInvalidParams, fmt.Sprintf("missing param %d", i))
	}
	if err := json.Unmarshal(p[i], &v); err != nil {
		return v, errWith(errInvalidParams, fmt.Sprintf("param %d: %v", i, err))
	}
	return v, nil
}

// resolveBlock finds the block a BLOCK_ID names. For pre_confirmed it
// returns the head, whose state the pre-confirmed block starts from.
func (n *Node) resolveBlock(raw json.RawMessage) (b *block, preConfirmed bool, rerr *rpcError) {
	id, rerr := param[rpc.BlockID]([]json.RawMessage{raw}, 0)
	if rerr != nil {
		return nil, false, rerr
	}
	switch {
	case id.Tag == rpc.BlockTagPreConfirmed:
		return n.head(), true, nil
	case id.Tag == rpc.BlockTagLatest:
		return n.head(), false, nil
	case id.Tag == rpc.BlockTagL1Accepted:
		return nil, false, &errBlockNotFound // nothing here ever reaches L1
	case id.Number != nil:
		if *id.Number >= uint64(len(n.blocks)) {
			return nil, false, &errBlockNotFound
		}
		return n.blocks[*id.Number], false, nil
	case id.Hash != nil:
		for _, b := range n.blocks {
			if b.hash.Equal(id.Hash) {
				return b, false, nil
			}
		}
	}
	return nil, false, &errBlockNotFound
}

func (n *Node) blockHashAndNumber([]json.RawMessage) (any, *rpcError) {
	h := n.head()
	return map[string]any{"block_hash": h.hash, "block_number": h.number}, nil
}

type resourcePrice struct {
	Fri string `json:"price_in_fri"`
	Wei string `json:"price_in_wei"`
}

type blockJSON struct {
	Status          string        `json:"status,omitempty"`
	BlockHash       *felt.Felt    `json:"block_hash,omitempty"`
	ParentHash      *felt.Felt    `json:"parent_hash,omitempty"`
	BlockNumber     uint64        `json:"block_number"`
	NewRoot         *felt.Felt    `json:"new_root,omitempty"`
	Timestamp       uint64        `json:"timestamp"`
	Sequencer       *felt.Felt    `json:"sequencer_address"`
	L1GasPrice      resourcePrice `json:"l1_gas_price"`
	L2GasPrice      resourcePrice `json:"l2_gas_price"`
	L1DataGasPrice  resourcePrice `json:"l1_data_gas_price"`
	L1DAMode        string        `json:"l1_da_mode"`
	StarknetVersion string        `json:"starknet_version"`
	Transactions    []any         `json:"transactions"`
}

func price(fri uint64) resourcePrice {
	// One STRK is taken to be worth 1/10000 ETH; only the fri price matters.
	return resourcePrice{Fri: hexU64(fri), Wei: hexU64(fri / 10_000)}
}

func (n *Node) getBlock(p []json.RawMessage, full bool) (any, *rpcError) {
	b, pre, rerr := n.resolveBlock(p[0])
	if rerr != nil {
		return nil, rerr
	}
	fees := n.cfg.Fees
	out := blockJSON{
		BlockNumber: b.number, Timestamp: b.timestamp, Sequencer: sequencer,
		L1GasPrice: price(fees.L1GasPrice), L2GasPrice: price(fees.L2GasPrice), L1DataGasPrice: price(fees.L1DataGasPrice),
		L1DAMode: "BLOB", StarknetVersion: starknetVersion, Transactions: []any{},
	}
	if pre {
		// The block being built: the node includes transactions only when it
		// seals a block, so it is always empty.
		out.BlockNumber = b.number + 1
		out.Timestamp = uint64(n.cfg.Now().Unix())
		return out, nil
	}
	out.Status, out.BlockHash, out.ParentHash = "ACCEPTED_ON_L2", b.hash, b.parent
	out.NewRoot = curve.PoseidonArray(b.hash, feltU64(b.number))
	for _, tx := range b.txs {
		if full {
			out.Transactions = append(out.Transactions, tx.withHash)
		} else {
			out.Transactions = append(out.Transactions, tx.hash)
		}
	}
	return out, nil
}

func (n *Node) getNonce(p []json.RawMessage) (any, *rpcError) {
	b, _, rerr := n.resolveBlock(p[0])
	if rerr != nil {
		return nil, rerr
	}
	addr, rerr := param[*felt.Felt](p, 1)
	if rerr != nil {
		return nil, rerr
	}
	nonce, ok := b.state.nonces[*addr]
	if !ok {
		if !n.anchors[*addr] {
			return nil, &errContractNotFound
		}
	}
	return feltU64(nonce), nil
}

func (n *Node) getClassHashAt(p []json.RawMessage) (any, *rpcError) {
	if _, _, rerr := n.resolveBlock(p[0]); rerr != nil {
		return nil, rerr
	}
	addr, rerr := param[*felt.Felt](p, 1)
	if rerr != nil {
		return nil, rerr
	}
	switch {
	case n.anchors[*addr]:
		return anchorClassHash, nil
	case n.accounts[*addr] != nil:
		return accountClassHash, nil
	}
	return nil, &errContractNotFound
}

func (n *Node) getStorageAt(p []json.RawMessage) (any, *rpcError) {
	addr, rerr := param[*felt.Felt](p, 0)
	if rerr != nil {
		return nil, rerr
	}
	key, rerr := param[*felt.Felt](p, 1)
	if rerr != nil {
		return nil, rerr
	}
	b, _, rerr := n.resolveBlock(p[2])
	if rerr != nil {
		return nil, rerr
	}
	if !n.anchors[*addr] && n.accounts[*addr] == nil {
		return nil, &errContractNotFound
	}
	return b.state.read(addr, key), nil
}

func (n *Node) call(p []json.RawMessage) (any, *rpcError) {
	fc, rerr := param[rpc.FunctionCall](p, 0)
	if rerr != nil {
		return nil, rerr
	}
	b, _, rerr := n.resolveBlock(p[1])
	if rerr != nil {
		return nil, rerr
	}
	if !n.anchors[*fc.ContractAddress] {
		return nil, &errContractNotFound
	}
	if _, ok := n.codec.FunctionBySelector(fc.EntryPointSelector); !ok {
		return nil, &errEntrypoint
	}
	// A call runs with no caller and leaves no trace.
	ret, _, _, revert := n.invoke(b.state.clone(), new(felt.Felt), call{to: fc.ContractAddress, selector: fc.EntryPointSelector, calldata: fc.Calldata})
	if revert != "" {
		return nil, errWith(rpcError{Code: 40, Message: "Contract error"}, map[string]any{"revert_error": revert})
	}
	return ret, nil
}

type feeEstimate struct {
	L1GasConsumed     string `json:"l1_gas_consumed"`
	L1GasPrice        string `json:"l1_gas_price"`
	L2GasConsumed     string `json:"l2_gas_consumed"`
	L2GasPrice        string `json:"l2_gas_price"`
	L1DataGasConsumed string `json:"l1_data_gas_consumed"`
	L1DataGasPrice    string `json:"l1_data_gas_price"`
	OverallFee        string `json:"overall_fee"`
	Unit              string `json:"unit"`
}

func (n *Node) estimateFee(p []json.RawMessage) (any, *rpcError) {
	txs, rerr := param[[]json.RawMessage](p, 0)
	if rerr != nil {
		return nil, rerr
	}
	flags, rerr := param[[]string](p, 1)
	if rerr != nil {
		return nil, rerr
	}
	b, _, rerr := n.resolveBlock(p[2])
	if rerr != nil {
		return nil, rerr
	}
	skipValidate := len(flags) == 1 && flags[0] == "SKIP_VALIDATE"
	st := b.state.clone()
	out := make([]feeEstimate, 0, len(txs))
	for i, raw := range txs {
		var tx rpc.BroadcastInvokeTxnV3
		if err := json.Unmarshal(raw, &tx); err != nil || tx.Type != rpc.TransactionTypeInvoke {
			return nil, execError(i, "the node estimates INVOKE v3 transactions only")
		}
		if _, msg := n.checkSignature(&tx, skipValidate); msg != "" {
			return nil, execError(i, msg)
		}
		if tx.Nonce.Uint64() < st.nonces[*tx.SenderAddress] {
			return nil, execError(i, fmt.Sprintf("Invalid transaction nonce of contract at address %s. Account nonce: %d; got: %s.",
				tx.SenderAddress, st.nonces[*tx.SenderAddress], tx.Nonce))
		}
		o := n.execute(st, tx.SenderAddress, tx.Calldata)
		if o.revert != "" {
			return nil, execError(i, o.revert)
		}
		st.nonces[*tx.SenderAddress]++
		r := n.cfg.Fees.resources(len(tx.Calldata), len(tx.Signature), o.writes, o.eventFelts())
		out = append(out, feeEstimate{
			L1GasConsumed: hexU64(r.l1Gas), L1GasPrice: hexU64(n.cfg.Fees.L1GasPrice),
			L2GasConsumed: hexU64(r.l2Gas), L2GasPrice: hexU64(n.cfg.Fees.L2GasPrice),
			L1DataGasConsumed: hexU64(r.l1DataGas), L1DataGasPrice: hexU64(n.cfg.Fees.L1DataGasPrice),
			OverallFee: hexBig(n.cfg.Fees.fee(r)), Unit: "FRI",
		})
	}
	return out, nil
}

func execError(i int, msg string) *rpcError {
	return errWith(rpcError{Code: 41, Message: "Transaction execution error"},
		map[string]any{"transaction_index": i, "execution_error": msg})
}

// checkSignature computes the transaction hash as starknet.go's hash package
// does and checks the sender's Stark signature over it as the account
// contract would (see validStarkSignature); msg says why not.
func (n *Node) checkSignature(tx *rpc.BroadcastInvokeTxnV3, skip bool) (h *felt.Felt, msg string) {
	pub := n.accounts[*tx.SenderAddress]
	if pub == nil {
		return nil, fmt.Sprintf("Requested contract address %s is not deployed.", tx.SenderAddress)
	}
	h, err := hash.TransactionHashInvokeV3(tx, n.chain)
	if err != nil {
		return nil, "cannot hash transaction: " + err.Error()
	}
	if skip {
		return h, ""
	}
	if len(tx.Signature) != 2 {
		return h, fmt.Sprintf("Account validation failed: signature has %d felts, want 2", len(tx.Signature))
	}
	if !validStarkSignature(h, pub, tx.Signature[0], tx.Signature[1]) {
		return h, "Account validation failed: invalid signature"
	}
	return h, ""
}

// txRecord is a transaction the node received.
type txRecord struct {
	hash     *felt.Felt
	tx       rpc.BroadcastInvokeTxnV3
	withHash map[string]json.RawMessage // as submitted, plus transaction_hash
	stalled  bool
	dropped  bool
	readyAt  int64 // unix nanoseconds
	block    *block
	outcome  outcome
	res      resources
	fee      *big.Int
}

func (n *Node) pendingFrom(sender *felt.Felt) uint64 {
	var c uint64
	for _, r := range n.mempool {
		if r.tx.SenderAddress.Equal(sender) {
			c++
		}
	}
	return c
}

func (n *Node) addInvoke(p []json.RawMessage) (any, *rpcError) {
	tx, rerr := param[rpc.BroadcastInvokeTxnV3](p, 0)
	if rerr != nil {
		return nil, rerr
	}
	if tx.Version != rpc.TransactionV3 {
		return nil, &rpcError{Code: 61, Message: "The transaction version is not supported"}
	}
	if n.accounts[*tx.SenderAddress] == nil {
		return nil, &rpcError{Code: 58, Message: "Sender address is not an account contract"}
	}
	h, msg := n.checkSignature(&tx, false)
	if msg != "" {
		return nil, errWith(rpcError{Code: 55, Message: "Account validation failed"}, msg)
	}
	if _, dup := n.txs[*h]; dup {
		return nil, &rpcError{Code: 59, Message: "A transaction with the same hash already exists in the mempool"}
	}
	head := n.head().state
	if want := head.nonces[*tx.SenderAddress] + n.pendingFrom(tx.SenderAddress); !tx.Nonce.Equal(feltU64(want)) {
		return nil, errWith(rpcError{Code: 52, Message: "Invalid transaction nonce"},
			fmt.Sprintf("Account nonce: %d; got: %s.", want, tx.Nonce))
	}
	// The bounds must cover what the transaction would consume now.
	o := n.execute(head.clone(), tx.SenderAddress, tx.Calldata)
	r := n.cfg.Fees.resources(len(tx.Calldata), len(tx.Signature), o.writes, o.eventFelts())
	if !covers(tx.ResourceBounds.L2Gas, r.l2Gas, n.cfg.Fees.L2GasPrice) ||
		!covers(tx.ResourceBounds.L1DataGas, r.l1DataGas, n.cfg.Fees.L1DataGasPrice) ||
		!covers(tx.ResourceBounds.L1Gas, r.l1Gas, n.cfg.Fees.L1GasPrice) {
		return nil, &rpcError{Code: 53, Message: "The transaction's resources don't cover validation or the minimal transaction fee"}
	}
	var withHash map[string]json.RawMessage
	if err := json.Unmarshal(p[0], &withHash); err != nil {
		return nil, errWith(errInvalidParams, err.Error())
	}
	withHash["transaction_hash"], _ = json.Marshal(h)
	rec := &txRecord{
		hash: h, tx: tx, withHash: withHash,
		stalled: n.takeTxFault(faultStall), dropped: n.takeTxFault(faultDrop),
		readyAt: n.cfg.Now().Add(n.cfg.BlockTime).UnixNano(),
	}
	n.txs[*h] = rec
	n.mempool = append(n.mempool, rec)
	return map[string]any{"transaction_hash": h}, nil
}

func covers(b rpc.ResourceBounds, amount, price uint64) bool {
	if amount == 0 {
		return true
	}
	maxAmount, err1 := b.MaxAmount.ToUint64()
	maxPrice, err2 := b.MaxPricePerUnit.ToBigInt()
	return err1 == nil && err2 == nil && maxAmount >= amount && maxPrice.Cmp(new(big.Int).SetUint64(price)) >= 0
}

// mineReady seals the mempool transactions whose time has come into one new
// block. Callers hold n.mu.
func (n *Node) mineReady() {
	now := n.cfg.Now().UnixNano()
	var ready, keep []*txRecord
	for _, r := range n.mempool {
		switch {
		case r.stalled || r.readyAt > now:
			keep = append(keep, r)
		case r.dropped:
			delete(n.txs, *r.hash)
		default:
			ready = append(ready, r)
		}
	}
	n.mempool = keep
	if len(ready) == 0 {
		return
	}
	parent := n.head()
	b := &block{number: parent.number + 1, parent: parent.hash, timestamp: uint64(n.cfg.Now().Unix()), state: parent.state.clone()}
	hashes := []*felt.Felt{feltU64(b.number), parent.hash}
	for _, r := range ready {
		if !r.tx.Nonce.Equal(feltU64(b.state.nonces[*r.tx.SenderAddress])) {
			n.mempool = append(n.mempool, r) // waits for the gap to close
			continue
		}
		if n.takeTxFault(faultRevert) {
			r.outcome = outcome{revert: contractFailure(r.tx.SenderAddress, new(felt.Felt), "injected revert")}
		} else {
			r.outcome = n.execute(b.state, r.tx.SenderAddress, r.tx.Calldata)
		}
		b.state.nonces[*r.tx.SenderAddress]++
		r.res = n.cfg.Fees.resources(len(r.tx.Calldata), len(r.tx.Signature), r.outcome.writes, r.outcome.eventFelts())
		r.fee = n.cfg.Fees.fee(r.res)
		r.block = b
		b.txs = append(b.txs, r)
		hashes = append(hashes, r.hash)
	}
	if len(b.txs) == 0 {
		return
	}
	b.hash = curve.PoseidonArray(hashes...)
	n.blocks = append(n.blocks, b)
}

func (n *Node) txParam(p []json.RawMessage) (*txRecord, *rpcError) {
	h, rerr := param[*felt.Felt](p, 0)
	if rerr != nil {
		return nil, rerr
	}
	r, ok := n.txs[*h]
	if !ok {
		return nil, &errHashNotFound
	}
	return r, nil
}

func (n *Node) getTransactionStatus(p []json.RawMessage) (any, *rpcError) {
	r, rerr := n.txParam(p)
	if rerr != nil {
		return nil, rerr
	}
	if r.block == nil {
		return map[string]any{"finality_status": "RECEIVED"}, nil
	}
	out := map[string]any{"finality_status": "ACCEPTED_ON_L2", "execution_status": "SUCCEEDED"}
	if r.outcome.revert != "" {
		out["execution_status"], out["failure_reason"] = "REVERTED", r.outcome.revert
	}
	return out, nil
}

type eventJSON struct {
	From *felt.Felt   `json:"from_address"`
	Keys []*felt.Felt `json:"keys"`
	Data []*felt.Felt `json:"data"`
}

type receiptJSON struct {
	Type      string     `json:"type"`
	Hash      *felt.Felt `json:"transaction_hash"`
	ActualFee struct {
		Amount string `json:"amount"`
		Unit   string `json:"unit"`
	} `json:"actual_fee"`
	FinalityStatus     string      `json:"finality_status"`
	MessagesSent       []any       `json:"messages_sent"`
	Events             []eventJSON `json:"events"`
	ExecutionResources struct {
		L1Gas     uint64 `json:"l1_gas"`
		L1DataGas uint64 `json:"l1_data_gas"`
		L2Gas     uint64 `json:"l2_gas"`
	} `json:"execution_resources"`
	ExecutionStatus string     `json:"execution_status"`
	RevertReason    string     `json:"revert_reason,omitempty"`
	BlockHash       *felt.Felt `json:"block_hash"`
	BlockNumber     uint64     `json:"block_number"`
}

func (n *Node) getTransactionReceipt(p []json.RawMessage) (any, *rpcError) {
	r, rerr := n.txParam(p)
	if rerr != nil {
		return nil, rerr
	}
	if r.block == nil {
		return nil, &errHashNotFound // received, not executed: no receipt yet
	}
	out := receiptJSON{Type: "INVOKE", Hash: r.hash, FinalityStatus: "ACCEPTED_ON_L2", MessagesSent: []any{},
		Events: []eventJSON{}, ExecutionStatus: "SUCCEEDED", BlockHash: r.block.hash, BlockNumber: r.block.number}
	out.ActualFee.Amount, out.ActualFee.Unit = hexBig(r.fee), "FRI"
	out.ExecutionResources.L1Gas, out.ExecutionResources.L1DataGas, out.ExecutionResources.L2Gas = r.res.l1Gas, r.res.l1DataGas, r.res.l2Gas
	for _, e := range r.outcome.events {
		out.Events = append(out.Events, eventJSON{From: e.from, Keys: e.keys, Data: e.data})
	}
	if r.outcome.revert != "" {
		out.ExecutionStatus, out.RevertReason = "REVERTED", r.outcome.revert
	}
	return out, nil
}

func (n *Node) getTransactionByHash(p []json.RawMessage) (any, *rpcError) {
	r, rerr := n.txParam(p)
	if rerr != nil {
		return nil, rerr
	}
	return r.withHash, nil
}

type emittedEvent struct {
	eventJSON
	BlockHash   *felt.Felt `json:"block_hash"`
	BlockNumber uint64     `json:"block_number"`
	TxHash      *felt.Felt `json:"transaction_hash"`
}

func (n *Node) getEvents(p []json.RawMessage) (any, *rpcError) {
	var f struct {
		FromBlock         json.RawMessage `json:"from_block"`
		ToBlock           json.RawMessage `json:"to_block"`
		Address           *felt.Felt      `json:"address"`
		Keys              [][]*felt.Felt  `json:"keys"`
		ContinuationToken string          `json:"continuation_token"`
		ChunkSize         int             `json:"chunk_size"`
	}
	if err := json.Unmarshal(p[0], &f); err != nil {
		return nil, errWith(errInvalidParams, err.Error())
	}
	if f.ChunkSize > maxChunkSize {
		return nil, &errPageSize
	}
	from, to := uint64(0), n.head().number
	if f.FromBlock != nil {
		b, pre, rerr := n.resolveBlock(f.FromBlock)
		if rerr != nil {
			return nil, rerr
		}
		if from = b.number; pre {
			from++
		}
	}
	if f.ToBlock != nil {
		b, _, rerr := n.resolveBlock(f.ToBlock)
		if rerr != nil {
			return nil, rerr
		}
		to = b.number
	}
	var matched []emittedEvent
	for num := from; num <= to && num < uint64(len(n.blocks)); num++ {
		b := n.blocks[num]
		for _, r := range b.txs {
			for _, e := range r.outcome.events {
				if (f.Address == nil || e.from.Equal(f.Address)) && keysMatch(f.Keys, e.keys) {
					matched = append(matched, emittedEvent{eventJSON{e.from, e.keys, e.data}, b.hash, b.number, r.hash})
				}
			}
		}
	}
	start := 0
	if f.ContinuationToken != "" {
		var err error
		if start, err = strconv.Atoi(f.ContinuationToken); err != nil || start < 0 || start > len(matched) {
			return nil, &errContinuation
		}
	}
	end := min(start+f.ChunkSize, len(matched))
	out := map[string]any{"events": append([]emittedEvent{}, matched[start:end]...)}
	if end < len(matched) {
		out["continuation_token"] = strconv.Itoa(end)
	}
	return out, nil
}

// keysMatch applies a getEvents key filter: per position, any of the listed
// values, an empty list matching anything.
func keysMatch(filter [][]*felt.Felt, keys []*felt.Felt) bool {
	if len(filter) > len(keys) {
		return false
	}
	for i, alts := range filter {
		if len(alts) == 0 {
			continue
		}
		ok := false
		for _, a := range alts {
			ok = ok || a.Equal(keys[i])
		}
		if !ok {
			return false
		}
	}
	return true
}
