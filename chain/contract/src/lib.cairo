// Comet anchor contract: public, append-only record of transparency-log
// checkpoints. One contract serves many logs; a log is identified by
// `log_id = starknet_keccak(origin)` (the checkpoint's origin line), computed
// off-chain because origins are often longer than a 31-byte short string.
//
// The ABI that the Go code derives its encoding from is checked in beside
// this file as anchor_abi.json; keep the two in step (chain/contract tests
// compare the names and parameter lists).

#[starknet::interface]
pub trait IAnchor<TContractState> {
    // Records `root` as the log's root at tree size `size`. Only the owner may
    // call it and `size` must be larger than the log's latest anchored size, so
    // an anchored checkpoint can never be replaced.
    fn anchor(ref self: TContractState, log_id: felt252, size: u64, root: u256);
    // Root anchored at exactly `size`, or 0 when that size was never anchored.
    fn root_at(self: @TContractState, log_id: felt252, size: u64) -> u256;
    // Latest anchored tree size of the log, 0 when none.
    fn latest(self: @TContractState, log_id: felt252) -> u64;
    fn owner(self: @TContractState) -> starknet::ContractAddress;
}

#[starknet::contract]
pub mod Anchor {
    use starknet::storage::{
        Map, StorageMapReadAccess, StorageMapWriteAccess, StoragePointerReadAccess,
        StoragePointerWriteAccess,
    };
    use starknet::{ContractAddress, get_caller_address};

    #[storage]
    struct Storage {
        owner: ContractAddress,
        roots: Map<(felt252, u64), u256>,
        latest: Map<felt252, u64>,
    }

    #[event]
    #[derive(Drop, starknet::Event)]
    pub enum Event {
        Anchored: Anchored,
    }

    // keys: [selector("Anchored"), log_id, size]; data: [root.low, root.high]
    #[derive(Drop, starknet::Event)]
    pub struct Anchored {
        #[key]
        pub log_id: felt252,
        #[key]
        pub size: u64,
        pub root: u256,
    }

    #[constructor]
    fn constructor(ref self: ContractState, owner: ContractAddress) {
        self.owner.write(owner);
    }

    #[abi(embed_v0)]
    impl AnchorImpl of super::IAnchor<ContractState> {
        fn anchor(ref self: ContractState, log_id: felt252, size: u64, root: u256) {
            assert(get_caller_address() == self.owner.read(), 'caller is not owner');
            assert(size > self.latest.read(log_id), 'size not growing');
            self.roots.write((log_id, size), root);
            self.latest.write(log_id, size);
            self.emit(Anchored { log_id, size, root });
        }

        fn root_at(self: @ContractState, log_id: felt252, size: u64) -> u256 {
            self.roots.read((log_id, size))
        }

        fn latest(self: @ContractState, log_id: felt252) -> u64 {
            self.latest.read(log_id)
        }

        fn owner(self: @ContractState) -> ContractAddress {
            self.owner.read()
        }
    }
}
