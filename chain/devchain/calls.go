package devchain

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
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

// CallResult is what a call returns.
type CallResult struct {
	UID   *uint16 `json:"uid,omitempty"`
	Block uint64  `json:"block"`
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

// effect is a validated call: its database writes and, once they commit,
// the matching in-memory change.
type effect struct {
	db     func(ctx context.Context, x execer) error
	apply  func()
	result CallResult
}

// Submit verifies and applies a signed call in the current head block.
func (c *Chain) Submit(ctx context.Context, call *Call) (CallResult, error) {
	if err := c.authenticate(call); err != nil {
		return CallResult{}, fmt.Errorf("%s by %s: %w", call.Method, call.Signer, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return CallResult{}, fmt.Errorf("begin %s: %w", call.Method, err)
	}
	defer tx.Rollback()
	// The nonce is spent even when the call then fails, so that a signed call
	// can never be replayed into success later.
	res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO nonces (signer, nonce, time_ms) VALUES (?, ?, ?)`,
		call.Signer, call.Nonce, call.Timestamp)
	if err != nil {
		return CallResult{}, fmt.Errorf("record nonce: %w", err)
	}
	if k, _ := res.RowsAffected(); k == 0 {
		return CallResult{}, fmt.Errorf("%s by %s: %w: nonce %s already used", call.Method, call.Signer, chain.ErrReplay, call.Nonce)
	}
	eff, err := c.validate(call)
	if err != nil {
		if cerr := tx.Commit(); cerr != nil {
			return CallResult{}, fmt.Errorf("record nonce: %w", cerr)
		}
		return CallResult{}, fmt.Errorf("%s by %s on subnet %d: %w", call.Method, call.Signer, call.Netuid, err)
	}
	if eff.db != nil {
		if err := eff.db(ctx, tx); err != nil {
			return CallResult{}, fmt.Errorf("%s: %w", call.Method, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return CallResult{}, fmt.Errorf("commit %s: %w", call.Method, err)
	}
	if eff.apply != nil {
		eff.apply()
	}
	eff.result.Block = c.head.Number
	return eff.result, nil
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

// checkTransaction is subtensor's SubtensorTransactionExtension for the
// weights calls, in its order (pallets/subtensor/src/guards/check_weights.rs,
// then check_rate_limits.rs): what a subtensor node refuses when it
// validates a transaction for its pool, before the call runs. Refusals are
// *chain.InvalidTransaction with subtensor's custom codes; the call's own
// checks (planSetWeights and the others, subtensor's dispatch) come after.
// reveal holds reveal_weights' arguments.
func (c *Chain) checkTransaction(s *subnet, method, hotkey string, reveal *SetWeightsArgs) error {
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
		if want := found.Epoch + s.HP.RevealPeriodEpochs; s.EpochIndex != want {
			return chain.NewInvalidTransaction(chain.TxCommitBlockNotInRevealRange,
				fmt.Sprintf("committed in epoch %d, reveal epoch %d, epoch now %d", found.Epoch, want, s.EpochIndex))
		}
	}
	// CheckRateLimits: commit_weights always, set_weights when commit-reveal
	// is off; only for a registered hotkey.
	if method == MethodCommitWeights || (method == MethodSetWeights && !s.HP.CommitRevealEnabled) {
		if uid, ok := s.UIDs[hotkey]; ok {
			last := s.Neurons[uid].LastUpdate
			if last != 0 && c.head.Number-last < s.HP.WeightsRateLimit {
				return chain.NewInvalidTransaction(chain.TxRateLimitExceeded,
					fmt.Sprintf("weights last set at block %d, next allowed at %d", last, last+s.HP.WeightsRateLimit))
			}
		}
	}
	return nil
}

// validate checks a call against the current state and plans its effect.
// It runs under c.mu and must not mutate state.
func (c *Chain) validate(call *Call) (*effect, error) {
	if call.Method == MethodFaucet {
		var a FaucetArgs
		if err := decodeArgs(call.Args, &a); err != nil {
			return nil, err
		}
		return c.planFaucet(call.Signer, a.Amount)
	}
	s, err := c.subnet(call.Netuid)
	if err != nil {
		return nil, err
	}
	switch call.Method {
	case MethodRegister:
		var a RegisterArgs
		if err := decodeArgs(call.Args, &a); err != nil {
			return nil, err
		}
		return c.planRegister(s, call.Signer, a.Hotkey)
	case MethodAddStake:
		var a StakeArgs
		if err := decodeArgs(call.Args, &a); err != nil {
			return nil, err
		}
		return c.planAddStake(s, call.Signer, a.Hotkey, a.Amount)
	case MethodCommit:
		var a CommitArgs
		if err := decodeArgs(call.Args, &a); err != nil {
			return nil, err
		}
		return c.planCommit(s, call.Signer, a.Data)
	case MethodSetWeights:
		var a SetWeightsArgs
		if err := decodeArgs(call.Args, &a); err != nil {
			return nil, err
		}
		if err := c.checkTransaction(s, call.Method, call.Signer, nil); err != nil {
			return nil, err
		}
		if s.HP.CommitRevealEnabled {
			return nil, chain.ErrCommitRevealEnabled
		}
		return c.planSetWeights(s, call.Signer, a.UIDs, a.Weights, a.VersionKey, nil)
	case MethodCommitWeights:
		var a CommitWeightsArgs
		if err := decodeArgs(call.Args, &a); err != nil {
			return nil, err
		}
		h, err := hex.DecodeString(strings.TrimPrefix(a.Hash, "0x"))
		if err != nil || len(h) != 32 {
			return nil, fmt.Errorf("%w: hash must be 32 bytes of hex", chain.ErrInvalidArgument)
		}
		var hash [32]byte
		copy(hash[:], h)
		if err := c.checkTransaction(s, call.Method, call.Signer, nil); err != nil {
			return nil, err
		}
		return c.planCommitWeights(s, call.Signer, hash)
	case MethodRevealWeights:
		var a SetWeightsArgs
		if err := decodeArgs(call.Args, &a); err != nil {
			return nil, err
		}
		if err := c.checkTransaction(s, call.Method, call.Signer, &a); err != nil {
			return nil, err
		}
		return c.planRevealWeights(s, call.Signer, a)
	}
	return nil, fmt.Errorf("%w: unknown method %q", chain.ErrInvalidArgument, call.Method)
}

func (c *Chain) planFaucet(coldkey string, amount uint64) (*effect, error) {
	if amount > c.opts.FaucetLimit {
		return nil, fmt.Errorf("%w: %d rao is above the faucet limit of %d", chain.ErrInvalidArgument, amount, c.opts.FaucetLimit)
	}
	nb := c.balances[coldkey] + amount
	return &effect{
		db:    func(ctx context.Context, x execer) error { return saveBalance(ctx, x, coldkey, nb) },
		apply: func() { c.balances[coldkey] = nb },
	}, nil
}

func (c *Chain) planRegister(s *subnet, coldkey, hotkey string) (*effect, error) {
	if _, err := chain.PublicKey(hotkey); err != nil {
		return nil, err
	}
	if _, ok := s.UIDs[hotkey]; ok {
		return nil, fmt.Errorf("%w: %s", chain.ErrAlreadyRegistered, hotkey)
	}
	// A hotkey belongs to the coldkey that first registered it, on any subnet.
	for _, other := range c.subnets {
		if uid, ok := other.UIDs[hotkey]; ok && other.Neurons[uid].Coldkey != coldkey {
			return nil, fmt.Errorf("%w: hotkey %s belongs to another coldkey", chain.ErrInvalidArgument, hotkey)
		}
	}
	head := c.head.Number
	regs := s.RegsCount
	if s.RegsBlock != head {
		regs = 0
	}
	if regs >= uint64(s.HP.MaxRegistrationsPerBlock) {
		return nil, fmt.Errorf("%w: %d per block", chain.ErrTooManyRegistrations, s.HP.MaxRegistrationsPerBlock)
	}
	bal := c.balances[coldkey]
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
						c := *other
						c.Weights = append([]yuma.Weight(nil), other.Weights...)
						cp = &c
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
			c.balances[coldkey] = newBal
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

func (c *Chain) planAddStake(s *subnet, coldkey, hotkey string, amount uint64) (*effect, error) {
	if _, ok := s.UIDs[hotkey]; !ok {
		return nil, fmt.Errorf("%w: %s", chain.ErrNotRegistered, hotkey)
	}
	if amount == 0 {
		return nil, fmt.Errorf("%w: zero stake", chain.ErrInvalidArgument)
	}
	bal := c.balances[coldkey]
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
			c.balances[coldkey] = newBal
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

func (c *Chain) planCommit(s *subnet, hotkey string, data []byte) (*effect, error) {
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
	if u.Epoch != s.EpochIndex {
		u = usage{Epoch: s.EpochIndex}
	}
	if u.Used+need > s.HP.CommitmentMaxSpace {
		return nil, fmt.Errorf("%w: commitment space: %d of %d bytes used this epoch, %d more needed",
			chain.ErrRateLimited, u.Used, s.HP.CommitmentMaxSpace, need)
	}
	u.Used += need
	cm := chain.Commitment{Hotkey: hotkey, Block: c.head.Number, Data: append([]byte(nil), data...)}
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
			return emitEvent(ctx, x, cm.Block, "Commitments", "Commitment", s.Netuid, hotkey, cm.Data)
		},
		apply: func() {
			s.Usage[hotkey] = u
			s.Commitments[hotkey] = cm
		},
	}, nil
}

// checkWeights runs set_weights' checks in subtensor's order and returns the
// uid and the max-upscaled row to store.
func (c *Chain) checkWeights(s *subnet, hotkey string, uids, values []uint16, versionKey uint64, rateLimit bool) (uint16, []yuma.Weight, error) {
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
	if rateLimit && nr.LastUpdate != 0 && c.head.Number-nr.LastUpdate < s.HP.WeightsRateLimit {
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
func (c *Chain) planSetWeights(s *subnet, hotkey string, uids, values []uint16, versionKey uint64, extra *effect) (*effect, error) {
	cr := s.HP.CommitRevealEnabled
	uid, row, err := c.checkWeights(s, hotkey, uids, values, versionKey, !cr)
	if err != nil {
		return nil, err
	}
	nr := *s.Neurons[uid]
	nr.Weights = row
	if !cr {
		nr.LastUpdate = c.head.Number // with commit-reveal, the commit is the update
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
func (s *subnet) liveCommits(hotkey string) (live, expired []weightCommit) {
	q := s.WeightCommits[hotkey]
	for len(q) > 0 && s.EpochIndex > q[0].Epoch+s.HP.RevealPeriodEpochs {
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

func (c *Chain) planCommitWeights(s *subnet, hotkey string, hash [32]byte) (*effect, error) {
	if !s.HP.CommitRevealEnabled {
		return nil, chain.ErrCommitRevealDisabled
	}
	uid, ok := s.UIDs[hotkey]
	if !ok {
		return nil, fmt.Errorf("%w: %s", chain.ErrNotRegistered, hotkey)
	}
	nr := *s.Neurons[uid]
	if nr.LastUpdate != 0 && c.head.Number-nr.LastUpdate < s.HP.WeightsRateLimit {
		return nil, fmt.Errorf("%w: last commit at block %d, next allowed at %d",
			chain.ErrRateLimited, nr.LastUpdate, nr.LastUpdate+s.HP.WeightsRateLimit)
	}
	live, _ := s.liveCommits(hotkey)
	if len(live) >= maxUnrevealedCommits {
		return nil, fmt.Errorf("%w: %d", chain.ErrTooManyCommits, len(live))
	}
	var seq int64
	if len(live) > 0 {
		seq = live[len(live)-1].Seq + 1
	}
	q := append(append([]weightCommit(nil), live...), weightCommit{Seq: seq, Hash: hash, Epoch: s.EpochIndex, CommitBlock: c.head.Number})
	nr.LastUpdate = c.head.Number
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

func (c *Chain) planRevealWeights(s *subnet, hotkey string, a SetWeightsArgs) (*effect, error) {
	if !s.HP.CommitRevealEnabled {
		return nil, chain.ErrCommitRevealDisabled
	}
	live, expired := s.liveCommits(hotkey)
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
	if want := live[pos].Epoch + s.HP.RevealPeriodEpochs; s.EpochIndex != want {
		return nil, fmt.Errorf("%w: committed in epoch %d, reveal in epoch %d, now %d",
			chain.ErrRevealTooEarly, live[pos].Epoch, want, s.EpochIndex)
	}
	rest := append([]weightCommit(nil), live[pos+1:]...)
	queue := &effect{
		db:    func(ctx context.Context, x execer) error { return saveCommitQueue(ctx, x, s.Netuid, hotkey, rest) },
		apply: func() { s.WeightCommits[hotkey] = rest },
	}
	return c.planSetWeights(s, hotkey, a.UIDs, a.Weights, a.VersionKey, queue)
}
