package devchain

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/chain/yuma"
)

// Call is a signed request to change the chain's state: the devchain's
// extrinsic. Signer is the acting account (the coldkey for faucet, register
// and add_stake; the hotkey otherwise); Signature is its sr25519 signature
// over Message, which binds the call to this chain (genesis hash), the
// method, the subnet, the exact argument bytes and a nonce and timestamp.
// The chain rejects timestamps off by more than Options.MaxClockSkew and
// nonces it has already seen from the signer (replay).
type Call struct {
	Method    string          `json:"method"`
	Netuid    uint16          `json:"netuid"`
	Signer    string          `json:"signer"`
	Nonce     string          `json:"nonce"`
	Timestamp int64           `json:"timestamp_ms"`
	Args      json.RawMessage `json:"args"`
	Signature string          `json:"signature"`
}

// Methods a Call may name.
const (
	MethodFaucet        = "faucet"
	MethodRegister      = "register"
	MethodAddStake      = "add_stake"
	MethodCommit        = "set_commitment"
	MethodSetWeights    = "set_weights"
	MethodCommitWeights = "commit_weights"
	MethodRevealWeights = "reveal_weights"
)

// Argument bodies of the calls.
type (
	FaucetArgs struct {
		Amount uint64 `json:"amount"`
	}
	RegisterArgs struct {
		Hotkey string `json:"hotkey"`
	}
	StakeArgs struct {
		Hotkey string `json:"hotkey"`
		Amount uint64 `json:"amount"`
	}
	CommitArgs struct {
		Data []byte `json:"data"`
	}
	SetWeightsArgs struct {
		UIDs       []uint16 `json:"uids"`
		Weights    []uint16 `json:"weights"`
		Salt       []uint16 `json:"salt,omitempty"`
		VersionKey uint64   `json:"version_key"`
	}
	CommitWeightsArgs struct {
		Hash string `json:"hash"`
	}
)

// CallResult is what an included call returns: where it landed and, for
// register, the uid.
type CallResult struct {
	Hash      string  `json:"hash"`
	Block     uint64  `json:"block"`
	BlockHash string  `json:"block_hash"`
	Index     int     `json:"index"`
	UID       *uint16 `json:"uid,omitempty"`
}

func resultOf(st TxStatus) CallResult {
	return CallResult{Hash: st.Hash, Block: st.Block, BlockHash: st.BlockHash, Index: st.Index, UID: st.UID}
}

// Message is the byte string the signer signs.
func (c *Call) Message(genesis string) []byte {
	h := sha256.Sum256(c.Args)
	return []byte(strings.Join([]string{
		"refine-devchain/v1", genesis, c.Method, strconv.FormatUint(uint64(c.Netuid), 10), c.Signer,
		c.Nonce, strconv.FormatInt(c.Timestamp, 10), hex.EncodeToString(h[:]),
	}, "\n"))
}

// NewCall builds and signs a call.
func NewCall(genesis, method string, netuid uint16, signer chain.Signer, args any, now time.Time) (*Call, error) {
	raw, err := json.Marshal(args)
	if err != nil {
		return nil, fmt.Errorf("encode %s args: %w", method, err)
	}
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, fmt.Errorf("nonce: %w", err)
	}
	c := &Call{Method: method, Netuid: netuid, Signer: signer.SS58(), Nonce: hex.EncodeToString(nonce[:]),
		Timestamp: now.UnixMilli(), Args: raw}
	sig, err := signer.Sign(c.Message(genesis))
	if err != nil {
		return nil, fmt.Errorf("sign %s: %w", method, err)
	}
	c.Signature = "0x" + hex.EncodeToString(sig)
	return c, nil
}

// effect is a dispatched call: its database writes, the in-memory change
// that matches them once they are written, its result and the events it
// deposits.
type effect struct {
	db     func(ctx context.Context, x execer) error
	apply  func()
	result CallResult
	events []eventRow
}

// env is where a call is validated or dispatched: a state and the number
// of the block that includes it (for the pool, the block after the head).
type env struct {
	c     *Chain
	st    *state
	block uint64
}

// applyPool applies the pool's calls to work, the state of block num being
// built, and writes them with their events into the block's transaction.
// It returns an outcome for every call of the pool.
func (c *Chain) applyPool(ctx context.Context, tx *sql.Tx, work *state, num uint64, hash string) ([]outcome, error) {
	e := &env{c: c, st: work, block: num}
	now := c.opts.Now()
	outs := make([]outcome, 0, len(c.pool.ready))
	idx := 0
	for _, p := range c.pool.ready {
		call := p.call
		what := fmt.Sprintf("%s by %s on subnet %d", call.Method, call.Signer, call.Netuid)
		// Validated again as the block builder does (mortality, then the
		// transaction extension): an invalid call is dropped, not included.
		reason := c.fresh(call, now)
		if reason == nil {
			reason = e.validate(call)
		}
		if reason != nil {
			err := fmt.Errorf("%s: %w: no longer valid in block %d: %v", what, chain.ErrTxDropped, num, reason)
			st := p.status
			st.Status, st.Error = TxInvalid, errorInfo(err)
			outs = append(outs, outcome{p: p, status: st, err: err})
			continue
		}
		// Included: the nonce is spent whatever the dispatch does.
		if _, err := tx.ExecContext(ctx, `INSERT INTO nonces (signer, nonce, time_ms) VALUES (?, ?, ?)`,
			call.Signer, call.Nonce, call.Timestamp); err != nil {
			return nil, fmt.Errorf("block %d: record nonce: %w", num, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO extrinsics (block, idx, hash, method, netuid, signer) VALUES (?, ?, ?, ?, ?, ?)`,
			num, idx, p.status.Hash, call.Method, call.Netuid, call.Signer); err != nil {
			return nil, fmt.Errorf("block %d: record extrinsic: %w", num, err)
		}
		res, derr := c.dispatch(ctx, tx, e, call, idx)
		if derr != nil {
			derr = fmt.Errorf("%s: in block %d: %w", what, num, derr)
			if err := emitEvent(ctx, tx, num, &idx, eventRow{pallet: "System", name: "ExtrinsicFailed", netuid: call.Netuid,
				account: call.Signer, data: failureData(derr)}); err != nil {
				return nil, err
			}
		} else if err := emitEvent(ctx, tx, num, &idx, eventRow{pallet: "System", name: "ExtrinsicSuccess",
			netuid: call.Netuid, account: call.Signer}); err != nil {
			return nil, err
		}
		st := TxStatus{Hash: p.status.Hash, Status: TxInBlock, Block: num, BlockHash: hash, Index: idx, UID: res.UID, Error: errorInfo(derr)}
		outs = append(outs, outcome{p: p, status: st, err: derr})
		idx++
	}
	return outs, nil
}

// dispatch runs one included call. Its writes are a savepoint of the
// block's transaction: a call that fails leaves nothing but its failure.
func (c *Chain) dispatch(ctx context.Context, tx *sql.Tx, e *env, call *Call, idx int) (CallResult, error) {
	eff, err := e.plan(call)
	if err != nil {
		return CallResult{}, err
	}
	if _, err := tx.ExecContext(ctx, `SAVEPOINT dispatch`); err != nil {
		return CallResult{}, fmt.Errorf("savepoint: %w", err)
	}
	werr := func() error {
		if eff.db != nil {
			if err := eff.db(ctx, tx); err != nil {
				return err
			}
		}
		for _, ev := range eff.events {
			if err := emitEvent(ctx, tx, e.block, &idx, ev); err != nil {
				return err
			}
		}
		return nil
	}()
	if werr != nil {
		if _, err := tx.ExecContext(ctx, `ROLLBACK TO dispatch`); err != nil {
			return CallResult{}, fmt.Errorf("roll back %s: %w (after %v)", call.Method, err, werr)
		}
		c.opts.Logger.Error("dispatch failed to write", "method", call.Method, "signer", call.Signer, "err", werr)
		return CallResult{}, fmt.Errorf("write %s: %w", call.Method, werr)
	}
	if _, err := tx.ExecContext(ctx, `RELEASE dispatch`); err != nil {
		return CallResult{}, fmt.Errorf("release savepoint: %w", err)
	}
	if eff.apply != nil {
		eff.apply()
	}
	return eff.result, nil
}

// fresh is the block builder's mortality check: a call whose timestamp
// has aged out of the window while it waited is stale.
func (c *Chain) fresh(call *Call, now time.Time) error {
	if age := now.Sub(time.UnixMilli(call.Timestamp)); age > c.opts.MaxClockSkew {
		return fmt.Errorf("%w: stale: signed %s ago", chain.ErrReplay, age.Round(time.Millisecond))
	}
	return nil
}

func (c *Chain) authenticate(call *Call) error {
	sig, err := hex.DecodeString(strings.TrimPrefix(call.Signature, "0x"))
	if err != nil {
		return fmt.Errorf("%w: signature is not hex", chain.ErrBadSignature)
	}
	if err := chain.Verify(call.Signer, call.Message(c.genesis), sig); err != nil {
		return err
	}
	skew := c.opts.Now().Sub(time.UnixMilli(call.Timestamp))
	if skew > c.opts.MaxClockSkew || skew < -c.opts.MaxClockSkew {
		return fmt.Errorf("%w: timestamp off by %s", chain.ErrReplay, skew.Round(time.Millisecond))
	}
	if len(call.Nonce) < 16 || len(call.Nonce) > 64 {
		return fmt.Errorf("%w: nonce must be 16 to 64 characters", chain.ErrInvalidArgument)
	}
	return nil
}

func decodeArgs(raw json.RawMessage, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: args: %v", chain.ErrInvalidArgument, err)
	}
	return nil
}

// decoded is a call's arguments, decoded and checked as a runtime decodes
// an extrinsic: what does not decode (a hash that is not 32 bytes, a
// commitment larger than the pallet's Data type holds) is refused at
// submission.
type decoded struct {
	faucet   FaucetArgs
	register RegisterArgs
	stake    StakeArgs
	commit   CommitArgs
	weights  SetWeightsArgs
	hash     [32]byte
}

func decodeCall(call *Call) (*decoded, error) {
	var d decoded
	var err error
	switch call.Method {
	case MethodFaucet:
		err = decodeArgs(call.Args, &d.faucet)
	case MethodRegister:
		err = decodeArgs(call.Args, &d.register)
	case MethodAddStake:
		err = decodeArgs(call.Args, &d.stake)
	case MethodCommit:
		if err = decodeArgs(call.Args, &d.commit); err == nil {
			switch n := len(d.commit.Data); {
			case n == 0:
				err = fmt.Errorf("%w: empty commitment", chain.ErrInvalidArgument)
			case n > MaxBigRawCommitment:
				err = fmt.Errorf("%w: %d bytes, at most %d", chain.ErrCommitmentTooLarge, n, MaxBigRawCommitment)
			}
		}
	case MethodSetWeights, MethodRevealWeights:
		err = decodeArgs(call.Args, &d.weights)
	case MethodCommitWeights:
		var a CommitWeightsArgs
		if err = decodeArgs(call.Args, &a); err == nil {
			h, herr := hex.DecodeString(strings.TrimPrefix(a.Hash, "0x"))
			if herr != nil || len(h) != 32 {
				err = fmt.Errorf("%w: hash must be 32 bytes of hex", chain.ErrInvalidArgument)
			}
			copy(d.hash[:], h)
		}
	default:
		err = fmt.Errorf("%w: unknown method %q", chain.ErrInvalidArgument, call.Method)
	}
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// validate is what a subtensor node checks when it validates a
// transaction, for its pool and again when it builds a block: the call
// decodes, and subtensor's SubtensorTransactionExtension accepts it. It
// must not change state.
func (e *env) validate(call *Call) error {
	d, err := decodeCall(call)
	if err != nil {
		return err
	}
	s, ok := e.st.subnets[call.Netuid]
	if !ok {
		return nil // the call itself fails: SubnetNotExists
	}
	switch call.Method {
	case MethodSetWeights, MethodCommitWeights:
		return e.checkTransaction(s, call.Method, call.Signer, nil)
	case MethodRevealWeights:
		return e.checkTransaction(s, call.Method, call.Signer, &d.weights)
	}
	return nil
}

// checkTransaction is subtensor's SubtensorTransactionExtension for the
// weights calls, in its order (pallets/subtensor/src/guards/check_weights.rs,
// then check_rate_limits.rs): what a subtensor node refuses when it
// validates a transaction, before the call runs. Refusals are
// *chain.InvalidTransaction with subtensor's custom codes; the call's own
// checks (planSetWeights and the others, subtensor's dispatch) come after.
// reveal holds reveal_weights' arguments.
func (e *env) checkTransaction(s *subnet, method, hotkey string, reveal *SetWeightsArgs) error {
	// CheckWeights::check_min_stake (the devchain has no subnet owner, who
	// is exempt on subtensor).
	if st := s.Stake[hotkey]; st < s.HP.StakeThreshold {
		return chain.NewInvalidTransaction(chain.TxStakeAmountTooLow,
			fmt.Sprintf("%s has %d rao staked on subnet %d, the threshold is %d", hotkey, st, s.Netuid, s.HP.StakeThreshold))
	}
	// CheckWeights::check_reveal: the hash must be in the stored queue,
	// which keeps expired commits until the next commit or reveal pops
	// them, and the epoch must be exactly the commit's reveal epoch; too
	// early and too late are one refusal.
	if reveal != nil {
		hash, err := chain.CommitHash(hotkey, s.Netuid, reveal.UIDs, reveal.Weights, reveal.Salt, reveal.VersionKey)
		var found *weightCommit
		for i, wc := range s.WeightCommits[hotkey] {
			if err == nil && wc.Hash == hash {
				found = &s.WeightCommits[hotkey][i]
				break
			}
		}
		if found == nil {
			return chain.NewInvalidTransaction(chain.TxCommitNotFound,
				fmt.Sprintf("no commit of %s on subnet %d matches the revealed weights", hotkey, s.Netuid))
		}
		if want, now := chain.RevealEpoch(found.Epoch, s.HP.RevealPeriodEpochs), s.epochAt(e.block); now != want {
			return chain.NewInvalidTransaction(chain.TxCommitBlockNotInRevealRange,
				fmt.Sprintf("committed in epoch %d, reveal epoch %d, epoch now %d", found.Epoch, want, now))
		}
	}
	// CheckRateLimits: commit_weights always, set_weights when commit-reveal
	// is off; only for a registered hotkey.
	if method == MethodCommitWeights || (method == MethodSetWeights && !s.HP.CommitRevealEnabled) {
		if uid, ok := s.UIDs[hotkey]; ok {
			last := s.Neurons[uid].LastUpdate
			if last != 0 && e.block-last < s.HP.WeightsRateLimit {
				return chain.NewInvalidTransaction(chain.TxRateLimitExceeded,
					fmt.Sprintf("weights last set at block %d, next allowed at %d", last, last+s.HP.WeightsRateLimit))
			}
		}
	}
	return nil
}

// epochAt is the epoch a call in block is judged by and a commit in it is
// tagged with: subtensor's current_epoch_with_lookahead, the index plus one
// when an epoch is due in that block (it runs before the block's calls; in
// a block being built it has run already, and none is due any more).
func (s *subnet) epochAt(block uint64) uint64 {
	if chain.EpochDue(s.HP.Tempo, s.LastEpochBlock, s.PendingEpochAt, block) {
		return s.EpochIndex + 1
	}
	return s.EpochIndex
}

// plan checks a call against the state of its block and plans its effect
// (subtensor's dispatch). It must not change state.
func (e *env) plan(call *Call) (*effect, error) {
	d, err := decodeCall(call)
	if err != nil {
		return nil, err
	}
	if call.Method == MethodFaucet {
		return e.planFaucet(call.Signer, d.faucet.Amount)
	}
	s, err := e.st.subnet(call.Netuid)
	if err != nil {
		return nil, err
	}
	switch call.Method {
	case MethodRegister:
		return e.planRegister(s, call.Signer, d.register.Hotkey)
	case MethodAddStake:
		return e.planAddStake(s, call.Signer, d.stake.Hotkey, d.stake.Amount)
	case MethodCommit:
		return e.planCommit(s, call.Signer, d.commit.Data)
	case MethodSetWeights:
		if s.HP.CommitRevealEnabled {
			return nil, fmt.Errorf("%w: subnet %d", chain.ErrCommitRevealEnabled, s.Netuid)
		}
		return e.planSetWeights(s, call.Signer, d.weights.UIDs, d.weights.Weights, d.weights.VersionKey, nil)
	case MethodCommitWeights:
		return e.planCommitWeights(s, call.Signer, d.hash)
	case MethodRevealWeights:
		return e.planRevealWeights(s, call.Signer, d.weights)
	}
	return nil, fmt.Errorf("%w: unknown method %q", chain.ErrInvalidArgument, call.Method)
}

func (e *env) planFaucet(coldkey string, amount uint64) (*effect, error) {
	if amount > e.c.opts.FaucetLimit {
		return nil, fmt.Errorf("%w: %d rao is above the faucet limit of %d", chain.ErrInvalidArgument, amount, e.c.opts.FaucetLimit)
	}
	nb := e.st.balances[coldkey] + amount
	return &effect{
		db:    func(ctx context.Context, x execer) error { return saveBalance(ctx, x, coldkey, nb) },
		apply: func() { e.st.balances[coldkey] = nb },
	}, nil
}

func (e *env) planRegister(s *subnet, coldkey, hotkey string) (*effect, error) {
	if _, err := chain.PublicKey(hotkey); err != nil {
		return nil, err
	}
	if _, ok := s.UIDs[hotkey]; ok {
		return nil, fmt.Errorf("%w: %s", chain.ErrAlreadyRegistered, hotkey)
	}
	// A hotkey belongs to the coldkey that first registered it, on any subnet.
	for _, other := range e.st.subnets {
		if uid, ok := other.UIDs[hotkey]; ok && other.Neurons[uid].Coldkey != coldkey {
			return nil, fmt.Errorf("%w: hotkey %s belongs to another coldkey", chain.ErrInvalidArgument, hotkey)
		}
	}
	head := e.block
	regs := s.RegsCount
	if s.RegsBlock != head {
		regs = 0
	}
	if regs >= uint64(s.HP.MaxRegistrationsPerBlock) {
		return nil, fmt.Errorf("%w: %d per block", chain.ErrTooManyRegistrations, s.HP.MaxRegistrationsPerBlock)
	}
	bal := e.st.balances[coldkey]
	if bal < s.HP.Burn {
		return nil, fmt.Errorf("%w: coldkey %s has %d rao, registration burns %d", chain.ErrInsufficientBalance, coldkey, bal, s.HP.Burn)
	}
	uid := uint16(len(s.Neurons))
	replace := false
	if len(s.Neurons) >= int(s.HP.MaxAllowedUIDs) {
		u, ok := s.uidToPrune(head)
		if !ok {
			return nil, fmt.Errorf("%w: subnet full and nothing to prune", chain.ErrInvalidArgument)
		}
		uid, replace = u, true
	}
	nr := &neuron{Hotkey: hotkey, Coldkey: coldkey, BlockAtRegistration: head, LastUpdate: head, Active: true}
	var oldHotkey string
	// clear_neuron: other neurons' weights on a replaced uid drop to zero.
	zeroed := map[uint16]*neuron{}
	if replace {
		oldHotkey = s.Neurons[uid].Hotkey
		for i, other := range s.Neurons {
			for k, w := range other.Weights {
				if w.UID == uid && w.Value != 0 && uint16(i) != uid {
					cp, ok := zeroed[uint16(i)]
					if !ok {
						n := *other
						n.Weights = append([]yuma.Weight(nil), other.Weights...)
						cp = &n
						zeroed[uint16(i)] = cp
					}
					cp.Weights[k].Value = 0
				}
			}
		}
	}
	newBal := bal - s.HP.Burn
	return &effect{
		db: func(ctx context.Context, x execer) error {
			if err := saveBalance(ctx, x, coldkey, newBal); err != nil {
				return err
			}
			cp := *s
			cp.RegsBlock, cp.RegsCount = head, regs+1
			if err := saveSubnet(ctx, x, &cp); err != nil {
				return err
			}
			for i, z := range zeroed {
				if err := saveNeuron(ctx, x, s.Netuid, i, z); err != nil {
					return err
				}
			}
			return saveNeuron(ctx, x, s.Netuid, uid, nr)
		},
		apply: func() {
			for i, z := range zeroed {
				s.Neurons[i] = z
			}
			e.st.balances[coldkey] = newBal
			s.RegsBlock, s.RegsCount = head, regs+1
			if replace {
				delete(s.UIDs, oldHotkey)
				s.Neurons[uid] = nr
			} else {
				s.Neurons = append(s.Neurons, nr)
			}
			s.UIDs[hotkey] = uid
		},
		result: CallResult{UID: &uid},
		events: []eventRow{{pallet: "SubtensorModule", name: "NeuronRegistered", netuid: s.Netuid, account: hotkey, data: uidData(uid)}},
	}, nil
}

// uidToPrune is get_neuron_to_prune: the non-immune uid with the lowest
// emission (then the earliest registration, then the lowest uid); if every
// uid is immune, the immune one by the same order.
func (s *subnet) uidToPrune(head uint64) (uint16, bool) {
	best := [2]int{-1, -1} // [non-immune, immune]
	better := func(a, b int) bool {
		na, nb := s.Neurons[a], s.Neurons[b]
		if na.Emission != nb.Emission {
			return na.Emission < nb.Emission
		}
		if na.BlockAtRegistration != nb.BlockAtRegistration {
			return na.BlockAtRegistration < nb.BlockAtRegistration
		}
		return a < b
	}
	for uid, n := range s.Neurons {
		k := 0
		if head-n.BlockAtRegistration < uint64(s.HP.ImmunityPeriod) {
			k = 1
		}
		if best[k] < 0 || better(uid, best[k]) {
			best[k] = uid
		}
	}
	if best[0] >= 0 {
		return uint16(best[0]), true
	}
	if best[1] >= 0 {
		return uint16(best[1]), true
	}
	return 0, false
}

func (e *env) planAddStake(s *subnet, coldkey, hotkey string, amount uint64) (*effect, error) {
	if _, ok := s.UIDs[hotkey]; !ok {
		return nil, fmt.Errorf("%w: %s", chain.ErrNotRegistered, hotkey)
	}
	if amount == 0 {
		return nil, fmt.Errorf("%w: zero stake", chain.ErrInvalidArgument)
	}
	bal := e.st.balances[coldkey]
	if bal < amount {
		return nil, fmt.Errorf("%w: coldkey %s has %d rao, staking %d", chain.ErrInsufficientBalance, coldkey, bal, amount)
	}
	newBal, newStake := bal-amount, s.Stake[hotkey]+amount
	return &effect{
		db: func(ctx context.Context, x execer) error {
			if err := saveBalance(ctx, x, coldkey, newBal); err != nil {
				return err
			}
			return saveStake(ctx, x, s.Netuid, hotkey, newStake)
		},
		apply: func() {
			e.st.balances[coldkey] = newBal
			s.Stake[hotkey] = newStake
		},
	}, nil
}

// Commitment size limits of the commitments pallet's Data type.
const (
	MaxRawCommitment    = 128 // Data::Raw
	MaxBigRawCommitment = 512 // Data::BigRaw
	minCommitmentSpace  = 100 // each commit counts as at least this many bytes
)

func (e *env) planCommit(s *subnet, hotkey string, data []byte) (*effect, error) {
	if _, ok := s.UIDs[hotkey]; !ok {
		return nil, fmt.Errorf("%w: %s", chain.ErrNotRegistered, hotkey)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty commitment", chain.ErrInvalidArgument)
	}
	if len(data) > MaxBigRawCommitment {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", chain.ErrCommitmentTooLarge, len(data), MaxBigRawCommitment)
	}
	need := max(uint64(len(data)), minCommitmentSpace)
	u := s.Usage[hotkey]
	if ep := s.epochAt(e.block); u.Epoch != ep {
		u = usage{Epoch: ep}
	}
	if u.Used+need > s.HP.CommitmentMaxSpace {
		return nil, fmt.Errorf("%w: commitment space: %d of %d bytes used this epoch, %d more needed",
			chain.ErrRateLimited, u.Used, s.HP.CommitmentMaxSpace, need)
	}
	u.Used += need
	cm := chain.Commitment{Hotkey: hotkey, Block: e.block, Data: append([]byte(nil), data...)}
	return &effect{
		db: func(ctx context.Context, x execer) error {
			if _, err := x.ExecContext(ctx, `INSERT OR REPLACE INTO commitment_usage (netuid, hotkey, epoch, used) VALUES (?, ?, ?, ?)`,
				s.Netuid, hotkey, u.Epoch, u.Used); err != nil {
				return fmt.Errorf("save commitment usage: %w", err)
			}
			if _, err := x.ExecContext(ctx, `INSERT OR REPLACE INTO commitments (netuid, hotkey, block, data) VALUES (?, ?, ?, ?)`,
				s.Netuid, hotkey, cm.Block, cm.Data); err != nil {
				return fmt.Errorf("save commitment: %w", err)
			}
			return nil
		},
		events: []eventRow{{pallet: "Commitments", name: "Commitment", netuid: s.Netuid, account: hotkey, data: cm.Data}},
		apply: func() {
			s.Usage[hotkey] = u
			s.Commitments[hotkey] = cm
		},
	}, nil
}

// checkWeights runs set_weights' checks in subtensor's order and returns the
// uid and the max-upscaled row to store.
func (e *env) checkWeights(s *subnet, hotkey string, uids, values []uint16, versionKey uint64, rateLimit bool) (uint16, []yuma.Weight, error) {
	if len(uids) != len(values) {
		return 0, nil, fmt.Errorf("%w: %d uids, %d values", chain.ErrLengthMismatch, len(uids), len(values))
	}
	n := len(s.Neurons)
	if len(uids) > n {
		return 0, nil, fmt.Errorf("%w: %d uids on a subnet of %d", chain.ErrInvalidArgument, len(uids), n)
	}
	uid, ok := s.UIDs[hotkey]
	if !ok {
		return 0, nil, fmt.Errorf("%w: %s", chain.ErrNotRegistered, hotkey)
	}
	if st := s.Stake[hotkey]; st < s.HP.StakeThreshold {
		return 0, nil, fmt.Errorf("%w: %d rao, threshold %d", chain.ErrNotEnoughStake, st, s.HP.StakeThreshold)
	}
	if vk := s.HP.WeightsVersionKey; vk != 0 && versionKey < vk {
		return 0, nil, fmt.Errorf("%w: %d < %d", chain.ErrVersionKey, versionKey, vk)
	}
	nr := s.Neurons[uid]
	if rateLimit && nr.LastUpdate != 0 && e.block-nr.LastUpdate < s.HP.WeightsRateLimit {
		return 0, nil, fmt.Errorf("%w: weights set at block %d, next allowed at %d",
			chain.ErrRateLimited, nr.LastUpdate, nr.LastUpdate+s.HP.WeightsRateLimit)
	}
	self := len(values) == 1 && len(uids) == 1 && uids[0] == uid
	if !self && !nr.Permit {
		return 0, nil, fmt.Errorf("%w: uid %d", chain.ErrNoPermit, uid)
	}
	seen := make(map[uint16]bool, len(uids))
	for _, u := range uids {
		if seen[u] {
			return 0, nil, fmt.Errorf("%w: uid %d", chain.ErrDuplicateUIDs, u)
		}
		seen[u] = true
	}
	for _, u := range uids {
		if int(u) >= n {
			return 0, nil, fmt.Errorf("%w: uid %d, subnet has %d", chain.ErrInvalidUID, u, n)
		}
	}
	if minW := min(int(s.HP.MinAllowedWeights), n); !self && len(values) < minW {
		return 0, nil, fmt.Errorf("%w: %d < %d", chain.ErrTooFewWeights, len(values), minW)
	}
	up := yuma.MaxUpscaleU16(values)
	if !self && s.HP.MaxWeightsLimit != 65535 {
		for _, v := range up {
			if v > s.HP.MaxWeightsLimit {
				return 0, nil, fmt.Errorf("%w: %d > %d", chain.ErrMaxWeightExceeded, v, s.HP.MaxWeightsLimit)
			}
		}
	}
	row := make([]yuma.Weight, len(uids))
	for k := range uids {
		row[k] = yuma.Weight{UID: uids[k], Value: up[k]}
	}
	return uid, row, nil
}

// planSetWeights stores weights; extra, when set, also runs with the write
// (a reveal's commit queue update).
func (e *env) planSetWeights(s *subnet, hotkey string, uids, values []uint16, versionKey uint64, extra *effect) (*effect, error) {
	cr := s.HP.CommitRevealEnabled
	uid, row, err := e.checkWeights(s, hotkey, uids, values, versionKey, !cr)
	if err != nil {
		return nil, err
	}
	nr := *s.Neurons[uid]
	nr.Weights = row
	if !cr {
		nr.LastUpdate = e.block // with commit-reveal, the commit is the update
	}
	return &effect{
		db: func(ctx context.Context, x execer) error {
			if extra != nil {
				if err := extra.db(ctx, x); err != nil {
					return err
				}
			}
			return saveNeuron(ctx, x, s.Netuid, uid, &nr)
		},
		apply: func() {
			if extra != nil {
				extra.apply()
			}
			s.Neurons[uid] = &nr
		},
	}, nil
}

const maxUnrevealedCommits = 10

// liveCommits drops expired commits from the front of the queue.
func (s *subnet) liveCommits(hotkey string, epoch uint64) (live, expired []weightCommit) {
	q := s.WeightCommits[hotkey]
	for len(q) > 0 && epoch > chain.RevealEpoch(q[0].Epoch, s.HP.RevealPeriodEpochs) {
		expired = append(expired, q[0])
		q = q[1:]
	}
	return q, expired
}

func saveCommitQueue(ctx context.Context, x execer, netuid uint16, hotkey string, q []weightCommit) error {
	if _, err := x.ExecContext(ctx, `DELETE FROM weight_commits WHERE netuid = ? AND hotkey = ?`, netuid, hotkey); err != nil {
		return fmt.Errorf("save weight commits: %w", err)
	}
	for _, wc := range q {
		if _, err := x.ExecContext(ctx, `INSERT INTO weight_commits (netuid, hotkey, seq, hash, commit_epoch, commit_block)
			VALUES (?, ?, ?, ?, ?, ?)`, netuid, hotkey, wc.Seq, wc.Hash[:], wc.Epoch, wc.CommitBlock); err != nil {
			return fmt.Errorf("save weight commits: %w", err)
		}
	}
	return nil
}

func (e *env) planCommitWeights(s *subnet, hotkey string, hash [32]byte) (*effect, error) {
	if !s.HP.CommitRevealEnabled {
		return nil, chain.ErrCommitRevealDisabled
	}
	uid, ok := s.UIDs[hotkey]
	if !ok {
		return nil, fmt.Errorf("%w: %s", chain.ErrNotRegistered, hotkey)
	}
	nr := *s.Neurons[uid]
	if nr.LastUpdate != 0 && e.block-nr.LastUpdate < s.HP.WeightsRateLimit {
		return nil, fmt.Errorf("%w: last commit at block %d, next allowed at %d",
			chain.ErrRateLimited, nr.LastUpdate, nr.LastUpdate+s.HP.WeightsRateLimit)
	}
	epoch := s.epochAt(e.block)
	live, _ := s.liveCommits(hotkey, epoch)
	if len(live) >= maxUnrevealedCommits {
		return nil, fmt.Errorf("%w: %d", chain.ErrTooManyCommits, len(live))
	}
	var seq int64
	if len(live) > 0 {
		seq = live[len(live)-1].Seq + 1
	}
	q := append(append([]weightCommit(nil), live...), weightCommit{Seq: seq, Hash: hash, Epoch: epoch, CommitBlock: e.block})
	nr.LastUpdate = e.block
	return &effect{
		db: func(ctx context.Context, x execer) error {
			if err := saveCommitQueue(ctx, x, s.Netuid, hotkey, q); err != nil {
				return err
			}
			return saveNeuron(ctx, x, s.Netuid, uid, &nr)
		},
		apply: func() {
			s.WeightCommits[hotkey] = q
			s.Neurons[uid] = &nr
		},
	}, nil
}

func (e *env) planRevealWeights(s *subnet, hotkey string, a SetWeightsArgs) (*effect, error) {
	if !s.HP.CommitRevealEnabled {
		return nil, chain.ErrCommitRevealDisabled
	}
	epoch := s.epochAt(e.block)
	live, expired := s.liveCommits(hotkey, epoch)
	hash, err := chain.CommitHash(hotkey, s.Netuid, a.UIDs, a.Weights, a.Salt, a.VersionKey)
	if err != nil {
		return nil, err
	}
	isExpired := false
	for _, wc := range expired {
		if wc.Hash == hash {
			isExpired = true
		}
	}
	pos := -1
	for i, wc := range live {
		if wc.Hash == hash {
			pos = i
			break
		}
	}
	switch {
	case pos < 0 && isExpired:
		return nil, chain.ErrCommitExpired
	case len(live) == 0:
		return nil, chain.ErrNoWeightsCommit
	case pos < 0:
		return nil, chain.ErrRevealMismatch
	}
	if want := chain.RevealEpoch(live[pos].Epoch, s.HP.RevealPeriodEpochs); epoch != want {
		return nil, fmt.Errorf("%w: committed in epoch %d, reveal in epoch %d, now %d",
			chain.ErrRevealTooEarly, live[pos].Epoch, want, epoch)
	}
	rest := append([]weightCommit(nil), live[pos+1:]...)
	queue := &effect{
		db:    func(ctx context.Context, x execer) error { return saveCommitQueue(ctx, x, s.Netuid, hotkey, rest) },
		apply: func() { s.WeightCommits[hotkey] = rest },
	}
	return e.planSetWeights(s, hotkey, a.UIDs, a.Weights, a.VersionKey, queue)
}
