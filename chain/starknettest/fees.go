package starknettest

import "math/big"

// FeeModel is the node's deterministic fee model. A real sequencer measures
// Cairo steps and state diffs; here resources are a linear function of what
// the transaction does, so fees in tests and benchmarks are reproducible:
//
//	l2_gas      = L2Base + L2PerCalldataFelt·len(calldata)
//	              + L2PerSignatureFelt·len(signature)
//	              + L2PerStorageWrite·writes + L2PerEventFelt·event felts
//	l1_data_gas = L1DataPerStateDiffFelt·(2·writes + 2)  (key and value per
//	              written slot, plus the sender's nonce)
//	l1_gas      = 0                                      (blob DA mode)
//	fee         = l2_gas·L2GasPrice + l1_data_gas·L1DataGasPrice (in fri)
//
// The prices are of the order of Starknet mainnet's in 2025.
type FeeModel struct {
	L2Base, L2PerCalldataFelt, L2PerSignatureFelt, L2PerStorageWrite, L2PerEventFelt uint64
	L1DataPerStateDiffFelt                                                           uint64
	L1GasPrice, L1DataGasPrice, L2GasPrice                                           uint64 // fri per unit
}

// DefaultFeeModel is the fee model New uses unless Config sets another.
func DefaultFeeModel() FeeModel {
	return FeeModel{
		L2Base:                 400_000,
		L2PerCalldataFelt:      5_000,
		L2PerSignatureFelt:     20_000,
		L2PerStorageWrite:      200_000,
		L2PerEventFelt:         10_000,
		L1DataPerStateDiffFelt: 32,
		L1GasPrice:             30_000_000_000_000,
		L1DataGasPrice:         2_000,
		L2GasPrice:             8_000_000_000,
	}
}

// resources is what one execution consumed.
type resources struct {
	l1Gas, l1DataGas, l2Gas uint64
}

func (m FeeModel) resources(calldata, signature, writes, eventFelts int) resources {
	return resources{
		l2Gas: m.L2Base + m.L2PerCalldataFelt*uint64(calldata) + m.L2PerSignatureFelt*uint64(signature) +
			m.L2PerStorageWrite*uint64(writes) + m.L2PerEventFelt*uint64(eventFelts),
		l1DataGas: m.L1DataPerStateDiffFelt * uint64(2*writes+2),
	}
}

func (m FeeModel) fee(r resources) *big.Int {
	f := new(big.Int).Mul(new(big.Int).SetUint64(r.l2Gas), new(big.Int).SetUint64(m.L2GasPrice))
	f.Add(f, new(big.Int).Mul(new(big.Int).SetUint64(r.l1DataGas), new(big.Int).SetUint64(m.L1DataGasPrice)))
	return f.Add(f, new(big.Int).Mul(new(big.Int).SetUint64(r.l1Gas), new(big.Int).SetUint64(m.L1GasPrice)))
}
