// Package chain is the project's view of a Bittensor chain: the few subtensor
// features the subnet uses, behind one interface that a local development
// chain (chain/devchain) and a subtensor RPC client both implement.
//
// Conventions, chosen so that a Substrate implementation is a direct mapping:
// subnets are netuids (uint16), accounts are SS58 strings, uids are uint16,
// weights are u16 values (subtensor max-upscales them so the largest is
// 65535), blocks are uint64, balances are rao (1 TAO = 1e9 rao). Every call
// takes a context. Calls that act for an account take a Signer holding that
// account's key; implementations sign what they submit with it.
//
// Errors are the sentinel values below, wrapped with details, so callers
// test them with errors.Is.
package chain

import (
	"context"
	"errors"
)

// Signer holds an sr25519 key. Sign signs msg as is (schnorrkel with the
// "substrate" signing context, no pre-hash). A wallet keypair satisfies it.
type Signer interface {
	SS58() string
	Sign(msg []byte) ([]byte, error)
}

// Block is a block number with its hash ("0x" + 64 hex digits).
type Block struct {
	Number uint64 `json:"number"`
	Hash   string `json:"hash"`
}

// Hyperparameters are a subnet's settings, with subtensor's names and units.
type Hyperparameters struct {
	Tempo                    uint16 `json:"tempo"`
	Kappa                    uint16 `json:"kappa"`
	ImmunityPeriod           uint16 `json:"immunity_period"`
	ActivityCutoff           uint16 `json:"activity_cutoff"`
	MaxAllowedUIDs           uint16 `json:"max_allowed_uids"`
	MaxAllowedValidators     uint16 `json:"max_allowed_validators"`
	MinAllowedWeights        uint16 `json:"min_allowed_weights"`
	MaxWeightsLimit          uint16 `json:"max_weights_limit"`
	WeightsRateLimit         uint64 `json:"weights_rate_limit"`
	WeightsVersionKey        uint64 `json:"weights_version"`
	CommitRevealEnabled      bool   `json:"commit_reveal_weights_enabled"`
	RevealPeriodEpochs       uint64 `json:"commit_reveal_period"`
	BondsMovingAverage       uint64 `json:"bonds_moving_avg"`
	BondsPenalty             uint16 `json:"bonds_penalty"`
	LiquidAlphaEnabled       bool   `json:"liquid_alpha_enabled"`
	Burn                     uint64 `json:"burn"`
	MaxRegistrationsPerBlock uint16 `json:"max_regs_per_block"`
	StakeThreshold           uint64 `json:"stake_threshold"`
	// CommitmentMaxSpace is the commitments pallet's per-epoch byte budget
	// per hotkey (MaxSpace, 3100 on subtensor).
	CommitmentMaxSpace uint64 `json:"commitment_max_space"`
}

// WeightEntry is one sparse weights or bonds entry.
type WeightEntry struct {
	UID   uint16 `json:"uid"`
	Value uint16 `json:"value"`
}

// Neuron is one uid of a metagraph. Consensus, incentive, dividends, trust
// and stake weight are u16 proportions (65535 = 1); see Fraction.
type Neuron struct {
	UID                 uint16        `json:"uid"`
	Hotkey              string        `json:"hotkey"`
	Coldkey             string        `json:"coldkey"`
	Stake               uint64        `json:"stake"`
	ValidatorPermit     bool          `json:"validator_permit"`
	Active              bool          `json:"active"`
	Consensus           uint16        `json:"consensus"`
	Incentive           uint16        `json:"incentive"`
	Dividends           uint16        `json:"dividends"`
	ValidatorTrust      uint16        `json:"validator_trust"`
	Emission            uint64        `json:"emission"` // rao, last epoch
	LastUpdate          uint64        `json:"last_update"`
	BlockAtRegistration uint64        `json:"block_at_registration"`
	Weights             []WeightEntry `json:"weights,omitempty"`
	Bonds               []WeightEntry `json:"bonds,omitempty"`
}

// Metagraph is a subnet's neurons at a block.
type Metagraph struct {
	Netuid  uint16   `json:"netuid"`
	Block   uint64   `json:"block"`
	Neurons []Neuron `json:"neurons"`
}

// UID returns the uid of hotkey, or ErrNotRegistered.
func (m *Metagraph) UID(hotkey string) (uint16, error) {
	for _, n := range m.Neurons {
		if n.Hotkey == hotkey {
			return n.UID, nil
		}
	}
	return 0, ErrNotRegistered
}

// Fraction turns a u16 proportion into [0, 1].
func Fraction(v uint16) float64 { return float64(v) / 65535 }

// Commitment is a hotkey's commitment and the block it was made in.
type Commitment struct {
	Hotkey string `json:"hotkey"`
	Block  uint64 `json:"block"`
	Data   []byte `json:"data"`
}

// Client is a chain as the subnet's roles use it. Implementations are safe
// for concurrent use.
type Client interface {
	// Block returns the current (best) block.
	Block(ctx context.Context) (Block, error)
	// BlockHash returns the hash of block number; ErrUnknownBlock if it is not known.
	BlockHash(ctx context.Context, number uint64) (string, error)
	// Hyperparameters returns a subnet's settings; ErrSubnetNotFound.
	Hyperparameters(ctx context.Context, netuid uint16) (Hyperparameters, error)
	// Metagraph returns all neurons of a subnet with their weights and bonds.
	Metagraph(ctx context.Context, netuid uint16) (*Metagraph, error)

	// Register burns the subnet's registration cost from coldkey and
	// registers hotkey (burned_register), returning its uid. When the subnet
	// is full the non-immune uid with the lowest emission is replaced.
	Register(ctx context.Context, coldkey Signer, netuid uint16, hotkey string) (uint16, error)

	// Commit stores data as hotkey's commitment (commitments pallet
	// set_commitment): ≤128 bytes as Raw, ≤512 as BigRaw. ErrNotRegistered,
	// ErrCommitmentTooLarge, ErrRateLimited (per-epoch space).
	Commit(ctx context.Context, hotkey Signer, netuid uint16, data []byte) error
	// Commitment returns hotkey's commitment; ErrNoCommitment if none.
	Commitment(ctx context.Context, netuid uint16, hotkey string) (Commitment, error)
	// Commitments returns every commitment on the subnet.
	Commitments(ctx context.Context, netuid uint16) ([]Commitment, error)
	// CommitmentHistory returns every commitment set on netuid in blocks
	// [from, to], ordered by block and then by event index, read from each
	// block's System.Events (the Commitments pallet's `Commitment` events,
	// decoded with the runtime metadata; the devchain emits and stores the
	// same events), so a commitment that was later overwritten is still
	// seen. Subtensor's event names only the subnet and the account, so the
	// data is the account's commitment at the end of that block: a hotkey
	// that commits twice in one block is seen once, with its last
	// commitment, at the position of its last event. ErrUnknownBlock for
	// blocks past the head; ErrStatePruned for blocks whose state the node
	// no longer keeps (a non-archive subtensor node keeps ~256 blocks).
	CommitmentHistory(ctx context.Context, netuid uint16, from, to uint64) ([]Commitment, error)

	// EpochState reads the subnet's epoch schedule from chain storage at the
	// head; ErrSubnetNotFound.
	EpochState(ctx context.Context, netuid uint16) (EpochState, error)

	// SetWeights sets hotkey's weights (set_weights); ErrCommitRevealEnabled
	// when the subnet uses commit-reveal.
	SetWeights(ctx context.Context, hotkey Signer, netuid uint16, uids, weights []uint16, versionKey uint64) error
	// CommitWeights commits a hash made with CommitHash (commit_weights).
	CommitWeights(ctx context.Context, hotkey Signer, netuid uint16, hash [32]byte) error
	// RevealWeights reveals committed weights (reveal_weights) in the epoch
	// RevealPeriodEpochs after the commit (EpochState.RevealDue). A reveal
	// outside it is refused when the transaction is validated: an
	// *InvalidTransaction with code 17 (ErrRevealTooEarly) both before that
	// epoch and after it while the commit is still queued, code 16
	// (ErrNoWeightsCommit) once a later commit dropped it.
	RevealWeights(ctx context.Context, hotkey Signer, netuid uint16, uids, weights, salt []uint16, versionKey uint64) error
}

// Ledger is a chain that keeps every epoch's rewards of every uid: the
// devchain does (its emission ledger); subtensor keeps only the last
// epoch's (Neuron.Emission), so readers of a subtensor record metagraph
// snapshots instead. Callers that have one pass it explicitly.
type Ledger interface {
	// Emissions returns the ledger of a subnet from block fromBlock on
	// (of one hotkey, or all when ""), oldest first.
	Emissions(ctx context.Context, netuid uint16, fromBlock uint64, hotkey string) ([]LedgerEntry, error)
}

// LedgerEntry is one uid's reward in one epoch.
type LedgerEntry struct {
	Netuid            uint16 `json:"netuid"`
	Block             uint64 `json:"block"`
	Epoch             uint64 `json:"epoch"`
	UID               uint16 `json:"uid"`
	Hotkey            string `json:"hotkey"`
	Incentive         uint16 `json:"incentive"`
	Dividends         uint16 `json:"dividends"`
	ServerEmission    uint64 `json:"server_emission"`
	ValidatorEmission uint64 `json:"validator_emission"`
}

// Staker adds stake from a coldkey to a hotkey (add_stake).
type Staker interface {
	AddStake(ctx context.Context, coldkey Signer, netuid uint16, hotkey string, amount uint64) error
}

// Errors. Implementations wrap them with details.
var (
	ErrNotRegistered        = errors.New("hotkey not registered on subnet")
	ErrAlreadyRegistered    = errors.New("hotkey already registered on subnet")
	ErrNoPermit             = errors.New("neuron has no validator permit")
	ErrRateLimited          = errors.New("rate limited")
	ErrCommitmentTooLarge   = errors.New("commitment too large")
	ErrNoCommitment         = errors.New("no commitment")
	ErrBadSignature         = errors.New("bad signature")
	ErrReplay               = errors.New("replayed or stale request")
	ErrCommitRevealEnabled  = errors.New("commit-reveal is enabled: commit and reveal weights instead")
	ErrCommitRevealDisabled = errors.New("commit-reveal is disabled: set weights directly")
	ErrVersionKey           = errors.New("weights version key too low")
	ErrDuplicateUIDs        = errors.New("duplicate uids")
	ErrInvalidUID           = errors.New("uid not on subnet")
	ErrTooFewWeights        = errors.New("fewer weights than min_allowed_weights")
	ErrMaxWeightExceeded    = errors.New("weight above max_weights_limit")
	ErrLengthMismatch       = errors.New("uids and values differ in length")
	ErrNotEnoughStake       = errors.New("stake below the threshold to set weights")
	ErrNoWeightsCommit      = errors.New("no weights commit found")
	// ErrRevealTooEarly is a reveal outside its commit's reveal epoch.
	// Subtensor refuses it with custom code 17 both before the epoch and
	// after it (an expired commit still in the queue); tell them apart with
	// the chain's epoch state (Client.EpochState).
	ErrRevealTooEarly       = errors.New("reveal outside its epoch")
	ErrCommitExpired        = errors.New("weights commit expired")
	ErrRevealMismatch       = errors.New("revealed weights do not match any commit")
	ErrTooManyCommits       = errors.New("too many unrevealed weight commits")
	ErrSubnetNotFound       = errors.New("subnet not found")
	ErrInsufficientBalance  = errors.New("insufficient balance")
	ErrTooManyRegistrations = errors.New("too many registrations this block")
	ErrUnknownBlock         = errors.New("unknown block")
	ErrStatePruned          = errors.New("block state pruned by the node")
	// ErrTxDropped is a transaction the chain accepted into its pool but
	// never included: it was no longer valid when a block was built
	// (Substrate's "invalid" status), or the node dropped it.
	ErrTxDropped       = errors.New("transaction dropped from the pool")
	ErrInvalidArgument = errors.New("invalid argument")
	// Refusals of calls the subnet does not make, named so that a custom
	// code never maps to a wrong sentinel.
	ErrColdkeySwap              = errors.New("coldkey swap scheduled or disputed")
	ErrNotEnoughStakeToWithdraw = errors.New("not enough stake to withdraw")
	ErrInsufficientLiquidity    = errors.New("insufficient liquidity")
	ErrSlippageTooHigh          = errors.New("slippage too high")
	ErrTransferDisallowed       = errors.New("transfer disallowed")
	ErrInvalidRevealRound       = errors.New("timelocked commit's reveal round is in the past")
	ErrNotOwner                 = errors.New("coldkey does not own the hotkey")
)

// AllErrors lists the sentinel errors with a stable code each, so that
// transports (the devchain HTTP API) can carry them.
var AllErrors = map[string]error{
	"not_registered":               ErrNotRegistered,
	"already_registered":           ErrAlreadyRegistered,
	"no_permit":                    ErrNoPermit,
	"rate_limited":                 ErrRateLimited,
	"commitment_too_large":         ErrCommitmentTooLarge,
	"no_commitment":                ErrNoCommitment,
	"bad_signature":                ErrBadSignature,
	"replay":                       ErrReplay,
	"commit_reveal_enabled":        ErrCommitRevealEnabled,
	"commit_reveal_disabled":       ErrCommitRevealDisabled,
	"version_key":                  ErrVersionKey,
	"duplicate_uids":               ErrDuplicateUIDs,
	"invalid_uid":                  ErrInvalidUID,
	"too_few_weights":              ErrTooFewWeights,
	"max_weight_exceeded":          ErrMaxWeightExceeded,
	"length_mismatch":              ErrLengthMismatch,
	"not_enough_stake":             ErrNotEnoughStake,
	"no_weights_commit":            ErrNoWeightsCommit,
	"reveal_too_early":             ErrRevealTooEarly,
	"commit_expired":               ErrCommitExpired,
	"reveal_mismatch":              ErrRevealMismatch,
	"too_many_commits":             ErrTooManyCommits,
	"subnet_not_found":             ErrSubnetNotFound,
	"insufficient_balance":         ErrInsufficientBalance,
	"too_many_registrations":       ErrTooManyRegistrations,
	"unknown_block":                ErrUnknownBlock,
	"state_pruned":                 ErrStatePruned,
	"tx_dropped":                   ErrTxDropped,
	"invalid_argument":             ErrInvalidArgument,
	"coldkey_swap":                 ErrColdkeySwap,
	"not_enough_stake_to_withdraw": ErrNotEnoughStakeToWithdraw,
	"insufficient_liquidity":       ErrInsufficientLiquidity,
	"slippage_too_high":            ErrSlippageTooHigh,
	"transfer_disallowed":          ErrTransferDisallowed,
	"invalid_reveal_round":         ErrInvalidRevealRound,
	"not_owner":                    ErrNotOwner,
}

// ErrorCode returns the code of the first sentinel err wraps, or "internal".
func ErrorCode(err error) string {
	for code, e := range AllErrors {
		if errors.Is(err, e) {
			return code
		}
	}
	return "internal"
}
