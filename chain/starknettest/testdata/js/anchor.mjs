// Drives chain/starknettest's loopback node with starknet.js, as a real
// client would: TestStarknetJS (../../starknetjs_test.go) starts the node,
// runs `node anchor.mjs <config.json> <out.json>` and checks what this writes.
//
// config: {url, abi, logId, root, sizes: [u64...], accounts: [{address, privateKey, anchor}]}
// Each account anchors root at every size, one INVOKE v3 after another; the
// accounts run side by side.
import { readFile, writeFile } from 'node:fs/promises';
import { Account, CallData, RpcProvider, config, hash, stark } from 'starknet';

const [cfgPath, outPath] = process.argv.slice(2);
const cfg = JSON.parse(await readFile(cfgPath, 'utf8'));
const abi = JSON.parse(await readFile(cfg.abi, 'utf8'));
config.set('logLevel', 'ERROR');

// create asks the node for its spec version and picks the channel that speaks it.
const provider = await RpcProvider.create({ nodeUrl: cfg.url });
// batch: 0 sends the requests issued in the same tick as one JSON-RPC batch.
const batched = new RpcProvider({ nodeUrl: cfg.url, specVersion: provider.channel.specVersion, batch: 0 });
const calls = new CallData(abi);

const rootAt = (anchor, size) =>
  provider.callContract({ contractAddress: anchor, entrypoint: 'root_at', calldata: calls.compile('root_at', { log_id: cfg.logId, size }) });

async function anchorAll(acct, chainId) {
  const account = new Account({ provider, address: acct.address, signer: acct.privateKey, cairoVersion: '1' });
  const txs = [];
  for (const size of cfg.sizes) {
    const nonce = await account.getNonce();
    const rootBefore = await rootAt(acct.anchor, size);
    const { transaction_hash: txHash } = await account.execute({
      contractAddress: acct.anchor,
      entrypoint: 'anchor',
      calldata: calls.compile('anchor', { log_id: cfg.logId, size, root: BigInt(cfg.root) }),
    });
    const receipt = await provider.waitForTransaction(txHash, { retryInterval: 10 });
    const tx = await provider.getTransactionByHash(txHash);
    const big = (b) => ({ max_amount: BigInt(b.max_amount), max_price_per_unit: BigInt(b.max_price_per_unit) });
    const jsHash = hash.calculateInvokeTransactionHash({
      senderAddress: tx.sender_address,
      version: tx.version,
      compiledCalldata: tx.calldata,
      chainId,
      nonce: tx.nonce,
      accountDeploymentData: tx.account_deployment_data,
      nonceDataAvailabilityMode: stark.intDAM(tx.nonce_data_availability_mode),
      feeDataAvailabilityMode: stark.intDAM(tx.fee_data_availability_mode),
      resourceBounds: { l1_gas: big(tx.resource_bounds.l1_gas), l2_gas: big(tx.resource_bounds.l2_gas), l1_data_gas: big(tx.resource_bounds.l1_data_gas) },
      tip: tx.tip,
      paymasterData: tx.paymaster_data,
    });
    txs.push({
      size, nonce, rootBefore, txHash, jsHash, tx,
      receipt: { execution_status: receipt.execution_status, finality_status: receipt.finality_status, block_number: receipt.block_number, events: receipt.events.length },
      rootAfter: await rootAt(acct.anchor, size),
    });
  }
  return { address: acct.address, txs };
}

const chainId = await provider.getChainId();
const blockNumber = await provider.getBlockNumber();
const [batchChainId, batchBlockNumber, batchNonce] = await Promise.all([
  batched.getChainId(), batched.getBlockNumber(), batched.getNonceForAddress(cfg.accounts[0].address),
]);
const accounts = await Promise.all(cfg.accounts.map((a) => anchorAll(a, chainId)));
await writeFile(outPath, JSON.stringify({
  specVersion: provider.channel.specVersion, chainId, blockNumber,
  batch: { chainId: batchChainId, blockNumber: batchBlockNumber, nonce: batchNonce },
  accounts, finalBlockNumber: await provider.getBlockNumber(),
}, null, 1));
