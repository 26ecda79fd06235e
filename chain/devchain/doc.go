// Package devchain is a local development chain: the subtensor features the
// subnet uses (subnets, burned registration, stake, validator permits,
// commitments, weights with commit-reveal v2, Yuma consensus every tempo and
// an emission ledger), kept in SQLite so that a restart loses nothing, usable
// in-process (Chain implements chain.Client and chain.Staker) or over HTTP
// (Handler and Serve on the server side, Client on the other).
//
// It is not a blockchain: there is one node, and blocks are produced on a
// timer (Options.BlockTime) or by AdvanceBlocks. Block hashes are a hash
// chain from a seed: H(0) = blake2b-256("refine-devchain genesis:" + seed),
// H(n) = blake2b-256(H(n−1) ‖ n as u64 little-endian), so they are the same
// on every run and every machine.
//
// # Calls run in the next block
//
// As on a Substrate chain, a signed call is validated into a transaction
// pool when it is submitted (Submit; refusals come back then and leave no
// trace) and runs when the next block is built: the block first runs the
// epochs that fall due, then each pool call in submission order, validated
// again (a call an earlier one made invalid is dropped, not included:
// chain.ErrTxDropped), then dispatched. Its effects and events (Events)
// belong to that block; a call that fails there is included with a
// System.ExtrinsicFailed event. A block's events never change once it
// exists. The chain.Client writes wait for inclusion (Wait), as the SDK's
// wait_for_inclusion does, and return the call's dispatch error. Without a
// block time a waiting writer builds the next block itself (Substrate's
// instant seal), so tests never wait on a block nobody makes; HoldBlocks
// and InOneBlock gather several calls into one block. The pool is in
// memory: calls pending when the chain stops are dropped.
//
// # Rules (as subtensor)
//
//   - Registration burns the subnet's Burn from the coldkey; uids are appended
//     up to MaxAllowedUIDs, then the non-immune uid with the lowest emission
//     (then earliest registration, then lowest uid) is replaced; if all are
//     immune, the immune one by the same order. MaxRegistrationsPerBlock per
//     subnet per block. The registration burn is fixed (no difficulty
//     adjustment).
//   - Commitments: only registered hotkeys; ≤ 128 bytes are Raw, ≤ 512 BigRaw,
//     more is ErrCommitmentTooLarge; each commit uses max(len, 100) bytes of a
//     per-epoch budget of CommitmentMaxSpace (3100) bytes (ErrRateLimited).
//   - Validation before dispatch, as subtensor's SubtensorTransactionExtension
//     refuses a transaction for its pool (and when it builds a block):
//     set_weights, commit_weights and
//     reveal_weights below the stake threshold (custom code 1), set_weights
//     (commit-reveal off) and commit_weights inside the weights rate limit
//     (6), a reveal whose hash is in no queued commit (16) or outside its
//     commit's reveal epoch, too early or expired alike (17). These come back
//     as *chain.InvalidTransaction with the code (over HTTP too).
//   - set_weights: subtensor's checks in subtensor's order (see chain.Client);
//     ErrCommitRevealEnabled when commit-reveal is on. commit_weights /
//     reveal_weights as commit-reveal v2: a commit is tagged with the epoch
//     index and revealed in epoch commit_epoch + RevealPeriodEpochs; expired
//     commits stay queued until the hotkey's next commit or reveal.
//   - Epochs as subtensor's stateful scheduler (spec 425): a subnet created
//     at block b starts at LastEpochBlock = b − netuid mod tempo; an epoch
//     runs when block − LastEpochBlock ≥ tempo or at a PendingEpochAt set by
//     TriggerEpoch, then LastEpochBlock = block and the epoch index
//     (SubnetEpochIndex) grows by one; a new tempo restarts the cycle.
//     EpochState reads it. Yuma (chain/yuma) splits EmissionPerBlock × the
//     blocks since the last epoch between incentive (miners) and dividends
//     (validators), credited to the hotkeys' stake and written to the
//     emission ledger.
//   - Events, stored per block with the index of the call that deposited
//     them: Commitments.Commitment (CommitmentHistory reads them),
//     SubtensorModule.NeuronRegistered, System.ExtrinsicSuccess and
//     System.ExtrinsicFailed.
//
// # Signed calls
//
// Every state change is a Call: method, netuid, signer (SS58), nonce (16-64
// characters, random), timestamp (ms) and JSON args, signed by the acting
// account (the coldkey for faucet, register and add_stake, the hotkey
// otherwise) with sr25519 ("substrate" context, no pre-hash) over
//
//	"refine-devchain/v1\n<genesis hash>\n<method>\n<netuid>\n<signer>\n<nonce>\n<timestamp>\n<hex sha256 of args>"
//
// The pool refuses a bad signature (ErrBadSignature), a timestamp more than
// Options.MaxClockSkew away from its clock, and a nonce it has seen from the
// signer in a block or in the pool (ErrReplay). A nonce is spent once its
// call is in a block, even when the call fails there; a call still in the
// pool when its timestamp ages past MaxClockSkew is dropped (its era
// ended).
//
// # HTTP API (v1)
//
// Reads are GETs, writes a POST of a Call to /v1/calls, which answers the
// call's TxStatus once it is in the pool; GET /v1/calls/{hash}?wait=20s
// waits for its block (see Handler for the routes). Errors are {"error":
// {"code", "message", "tx_code"}} with the codes of chain.AllErrors, which
// Client turns back into errors that match the chain sentinels with
// errors.Is (and, with tx_code, chain.TxCode).
package devchain
