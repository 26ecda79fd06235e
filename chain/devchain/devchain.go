package devchain

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"maps"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/datarefine/refine/chain"
	"golang.org/x/crypto/blake2b"
)

// Chain is a running devchain. It implements chain.Client and chain.Staker;
// all methods are safe for concurrent use.
type Chain struct {
	opts Options
	db   *sql.DB

	mu      sync.Mutex
	genesis string
	head    chain.Block
	st      *state // the state after the head block
	pool    pool

	stop chan struct{}
	done chan struct{}
}

// state is the chain's state after a block. A block is built on a copy,
// installed once the block's database transaction commits, so a failed
// block leaves the state as it was.
type state struct {
	balances map[string]uint64
	subnets  map[uint16]*subnet
}

func newState() *state {
	return &state{balances: map[string]uint64{}, subnets: map[uint16]*subnet{}}
}

func (st *state) clone() *state {
	cp := &state{balances: make(map[string]uint64, len(st.balances)), subnets: make(map[uint16]*subnet, len(st.subnets))}
	for k, v := range st.balances {
		cp.balances[k] = v
	}
	for k, s := range st.subnets {
		cp.subnets[k] = s.clone()
	}
	return cp
}

func (st *state) subnet(netuid uint16) (*subnet, error) {
	s, ok := st.subnets[netuid]
	if !ok {
		return nil, fmt.Errorf("subnet %d: %w", netuid, chain.ErrSubnetNotFound)
	}
	return s, nil
}

var (
	_ chain.Client = (*Chain)(nil)
	_ chain.Staker = (*Chain)(nil)
)

// New opens (or creates) the chain in opts.DB. On first start it writes the
// genesis block and creates opts.Netuids. With a BlockTime it starts producing
// blocks; Close stops it.
func New(ctx context.Context, opts Options) (*Chain, error) {
	o := opts.withDefaults()
	if err := validateHP(*o.Hyperparameters, 0); err != nil {
		return nil, err
	}
	db, err := openDB(ctx, o.DB)
	if err != nil {
		return nil, err
	}
	c := &Chain{opts: o, db: db, st: newState(), pool: newPool()}
	if err := c.load(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("load devchain state from %s: %w", o.DB, err)
	}
	if c.genesis == "" {
		if err := c.initGenesis(ctx); err != nil {
			db.Close()
			return nil, err
		}
	}
	c.stop, c.done = make(chan struct{}), make(chan struct{})
	if o.BlockTime > 0 {
		go c.produce(o.BlockTime)
	} else {
		close(c.done)
	}
	o.Logger.Info("devchain started", "db", o.DB, "head", c.head.Number, "block_time", o.BlockTime)
	return c, nil
}

func (c *Chain) initGenesis(ctx context.Context) error {
	g := blake2b.Sum256([]byte("refine-devchain genesis:" + c.opts.Seed))
	c.genesis = "0x" + hex.EncodeToString(g[:])
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin genesis: %w", err)
	}
	defer tx.Rollback()
	if err := setMeta(ctx, tx, "genesis", c.genesis); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO blocks (number, hash, time_ms) VALUES (0, ?, ?)`,
		c.genesis, c.opts.Now().UnixMilli()); err != nil {
		return fmt.Errorf("write genesis block: %w", err)
	}
	subnets := map[uint16]*subnet{}
	for _, netuid := range c.opts.Netuids {
		s := newSubnet(netuid, *c.opts.Hyperparameters, 0)
		if err := saveSubnet(ctx, tx, s); err != nil {
			return err
		}
		subnets[netuid] = s
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit genesis: %w", err)
	}
	c.head = chain.Block{Number: 0, Hash: c.genesis}
	c.st.subnets = subnets
	return nil
}

// Close stops block production, drops the calls still in the pool (their
// submitters get chain.ErrTxDropped, as from a node that shuts down) and
// closes the database.
func (c *Chain) Close() error {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	<-c.done
	c.mu.Lock()
	c.pool.closeAll(c.opts.Now())
	c.mu.Unlock()
	return c.db.Close()
}

// Genesis returns the genesis hash; signed calls are bound to it.
func (c *Chain) Genesis() string { return c.genesis }

func (c *Chain) produce(every time.Duration) {
	defer close(c.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			if err := c.AdvanceBlocks(context.Background(), 1); err != nil {
				c.opts.Logger.Error("produce block", "err", err)
			}
		}
	}
}

// blockHash chains hashes: H(n) = blake2b-256(H(n−1) ‖ n as u64 LE).
func blockHash(prev string, n uint64) string {
	p, _ := hex.DecodeString(strings.TrimPrefix(prev, "0x"))
	h := blake2b.Sum256(binary.LittleEndian.AppendUint64(p, n))
	return "0x" + hex.EncodeToString(h[:])
}

// AdvanceBlocks produces n blocks now. Each block runs the epochs that fall
// due (subtensor's on_initialize), then executes the calls waiting in the
// pool, in the order they were submitted.
func (c *Chain) AdvanceBlocks(ctx context.Context, n int) error {
	for i := 0; i < n; i++ {
		c.mu.Lock()
		err := c.nextBlock(ctx)
		c.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

// nextBlock builds block head+1 under c.mu, as a Substrate block author
// does: initialise the block (epochs), then apply the pool's transactions.
// Each transaction is validated again against the block's state (a
// transaction a call earlier in the block made invalid is dropped from the
// pool, not included); an included one either dispatches (its effects and
// events in this block) or fails with its dispatch error, recorded as a
// System.ExtrinsicFailed event. The block, its events and the new state
// are committed at once: nothing is added to a block after it exists.
func (c *Chain) nextBlock(ctx context.Context) error {
	num := c.head.Number + 1
	hash := blockHash(c.head.Hash, num)
	now := c.opts.Now()
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin block %d: %w", num, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO blocks (number, hash, time_ms) VALUES (?, ?, ?)`, num, hash, now.UnixMilli()); err != nil {
		return fmt.Errorf("write block %d: %w", num, err)
	}
	// Forget nonces that are outside the timestamp window anyway.
	if num%64 == 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM nonces WHERE time_ms < ?`,
			now.Add(-2*c.opts.MaxClockSkew).UnixMilli()); err != nil {
			return fmt.Errorf("prune nonces: %w", err)
		}
	}
	var due []uint16
	for _, netuid := range c.st.netuids() {
		s := c.st.subnets[netuid]
		if chain.EpochDue(s.HP.Tempo, s.LastEpochBlock, s.PendingEpochAt, num) {
			due = append(due, netuid)
		}
	}
	work := c.st
	if len(due) > 0 || len(c.pool.ready) > 0 {
		work = c.st.clone() // an empty block changes no state
	}
	for _, netuid := range due {
		if err := c.runEpoch(ctx, tx, work.subnets[netuid], num); err != nil {
			return fmt.Errorf("epoch of subnet %d at block %d: %w", netuid, num, err)
		}
	}
	outcomes, err := c.applyPool(ctx, tx, work, num, hash)
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit block %d: %w", num, err)
	}
	c.st = work
	c.head = chain.Block{Number: num, Hash: hash}
	c.pool.settle(outcomes, now)
	return nil
}

func (st *state) netuids() []uint16 {
	out := make([]uint16, 0, len(st.subnets))
	for k := range st.subnets {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// clone deep-copies what an epoch or a call mutates (a neuron's weight
// and bond slices are replaced, never written in place).
func (s *subnet) clone() *subnet {
	cp := *s
	cp.Neurons = make([]*neuron, len(s.Neurons))
	for i, n := range s.Neurons {
		nn := *n
		cp.Neurons[i] = &nn
	}
	cp.UIDs = maps.Clone(s.UIDs)
	cp.Stake = maps.Clone(s.Stake)
	cp.Commitments = maps.Clone(s.Commitments)
	cp.Usage = maps.Clone(s.Usage)
	cp.WeightCommits = maps.Clone(s.WeightCommits)
	return &cp
}

// validateHP rejects settings the devchain cannot honour.
func validateHP(hp chain.Hyperparameters, neurons int) error {
	switch {
	case hp.LiquidAlphaEnabled:
		return fmt.Errorf("%w: liquid alpha is not implemented by the devchain", chain.ErrInvalidArgument)
	case hp.MaxAllowedUIDs == 0:
		return fmt.Errorf("%w: max_allowed_uids must be positive", chain.ErrInvalidArgument)
	case int(hp.MaxAllowedUIDs) < neurons:
		return fmt.Errorf("%w: max_allowed_uids %d is below the %d registered uids", chain.ErrInvalidArgument, hp.MaxAllowedUIDs, neurons)
	case hp.BondsMovingAverage > 1_000_000:
		return fmt.Errorf("%w: bonds_moving_avg is per million", chain.ErrInvalidArgument)
	}
	return nil
}

// CreateSubnet adds a subnet (a devchain administration call, unsigned).
func (c *Chain) CreateSubnet(ctx context.Context, netuid uint16, hp chain.Hyperparameters) error {
	if err := validateHP(hp, 0); err != nil {
		return fmt.Errorf("create subnet %d: %w", netuid, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.st.subnets[netuid]; ok {
		return fmt.Errorf("create subnet %d: %w: exists", netuid, chain.ErrInvalidArgument)
	}
	s := newSubnet(netuid, hp, c.head.Number)
	if err := saveSubnet(ctx, c.db, s); err != nil {
		return err
	}
	c.st.subnets[netuid] = s
	return nil
}

// SetHyperparameters replaces a subnet's settings (the sudo calls of a real
// chain; a devchain administration call, unsigned).
func (c *Chain) SetHyperparameters(ctx context.Context, netuid uint16, hp chain.Hyperparameters) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, err := c.st.subnet(netuid)
	if err != nil {
		return err
	}
	if err := validateHP(hp, len(s.Neurons)); err != nil {
		return fmt.Errorf("set hyperparameters of subnet %d: %w", netuid, err)
	}
	cp := *s
	cp.HP = hp
	if hp.Tempo != s.HP.Tempo {
		// A new tempo restarts the cycle, as subtensor's set_tempo does
		// (apply_tempo_with_cycle_reset: LastEpochBlock = now).
		cp.LastEpochBlock = c.head.Number
	}
	if err := saveSubnet(ctx, c.db, &cp); err != nil {
		return err
	}
	*s = cp
	return nil
}

// AdminFreezeWindow is subtensor's default AdminFreezeWindow: a triggered
// epoch runs this many blocks after the trigger.
const AdminFreezeWindow = 10

// TriggerEpoch schedules an epoch AdminFreezeWindow blocks from now, as a
// subnet owner's trigger_epoch does on subtensor (coinbase/tempo_control.rs),
// with its refusals: not with commit-reveal on, not while one is pending,
// not when the automatic epoch comes sooner. A devchain administration
// call, unsigned (the devchain has no subnet owners).
func (c *Chain) TriggerEpoch(ctx context.Context, netuid uint16) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, err := c.st.subnet(netuid)
	if err != nil {
		return err
	}
	now := c.head.Number
	next := chain.NextAutoEpochBlock(s.HP.Tempo, s.LastEpochBlock)
	switch {
	case s.HP.CommitRevealEnabled:
		return fmt.Errorf("trigger epoch on subnet %d: %w: blocked by commit-reveal", netuid, chain.ErrInvalidArgument)
	case s.PendingEpochAt != 0:
		return fmt.Errorf("trigger epoch on subnet %d: %w: one is pending at block %d", netuid, chain.ErrInvalidArgument, s.PendingEpochAt)
	case s.HP.Tempo == 0 || next < now || next-now < AdminFreezeWindow:
		return fmt.Errorf("trigger epoch on subnet %d: %w: the automatic epoch at block %d is imminent", netuid, chain.ErrInvalidArgument, next)
	}
	cp := *s
	cp.PendingEpochAt = now + AdminFreezeWindow
	if err := saveSubnet(ctx, c.db, &cp); err != nil {
		return err
	}
	*s = cp
	return nil
}

// EpochState implements chain.Client. A call sent now is validated for,
// and normally included in, the next block, whose epoch (if one is due)
// runs before its calls: TxEpoch is the index then, subtensor's
// current_epoch_with_lookahead.
func (c *Chain) EpochState(ctx context.Context, netuid uint16) (chain.EpochState, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, err := c.st.subnet(netuid)
	if err != nil {
		return chain.EpochState{}, err
	}
	return chain.EpochState{
		Netuid: netuid, Block: c.head.Number, Tempo: s.HP.Tempo, Index: s.EpochIndex,
		LastEpochBlock: s.LastEpochBlock, PendingEpochAt: s.PendingEpochAt,
		RevealPeriod: s.HP.RevealPeriodEpochs, TxEpoch: s.epochAt(c.head.Number + 1),
	}, nil
}

// Faucet credits the signing coldkey with amount rao (devchain only; a
// signed call, like Client.Faucet, included in the next block).
func (c *Chain) Faucet(ctx context.Context, coldkey chain.Signer, amount uint64) error {
	_, err := c.call(ctx, MethodFaucet, 0, coldkey, FaucetArgs{Amount: amount})
	return err
}

// Credit adds amount rao to any coldkey (a devchain administration call,
// unsigned, in-process only).
func (c *Chain) Credit(ctx context.Context, coldkey string, amount uint64) error {
	if _, err := chain.PublicKey(coldkey); err != nil {
		return fmt.Errorf("credit: %w", err)
	}
	if amount > c.opts.FaucetLimit {
		return fmt.Errorf("faucet: %w: %d rao is above the limit of %d", chain.ErrInvalidArgument, amount, c.opts.FaucetLimit)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	nb := c.st.balances[coldkey] + amount
	if err := saveBalance(ctx, c.db, coldkey, nb); err != nil {
		return err
	}
	c.st.balances[coldkey] = nb
	return nil
}

// Balance returns a coldkey's free balance in rao.
func (c *Chain) Balance(ctx context.Context, coldkey string) (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.balances[coldkey], nil
}

// Block returns the head block.
func (c *Chain) Block(ctx context.Context) (chain.Block, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.head, nil
}

// BlockHash returns the hash of a produced block.
func (c *Chain) BlockHash(ctx context.Context, number uint64) (string, error) {
	var h string
	err := c.db.QueryRowContext(ctx, `SELECT hash FROM blocks WHERE number = ?`, number).Scan(&h)
	if err == sql.ErrNoRows {
		return "", fmt.Errorf("block %d: %w", number, chain.ErrUnknownBlock)
	}
	if err != nil {
		return "", fmt.Errorf("read block %d: %w", number, err)
	}
	return h, nil
}

// Hyperparameters returns a subnet's settings.
func (c *Chain) Hyperparameters(ctx context.Context, netuid uint16) (chain.Hyperparameters, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, err := c.st.subnet(netuid)
	if err != nil {
		return chain.Hyperparameters{}, err
	}
	return s.HP, nil
}

// Metagraph returns the subnet's neurons.
func (c *Chain) Metagraph(ctx context.Context, netuid uint16) (*chain.Metagraph, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, err := c.st.subnet(netuid)
	if err != nil {
		return nil, err
	}
	m := &chain.Metagraph{Netuid: netuid, Block: c.head.Number, Neurons: make([]chain.Neuron, len(s.Neurons))}
	for uid, n := range s.Neurons {
		m.Neurons[uid] = chain.Neuron{
			UID: uint16(uid), Hotkey: n.Hotkey, Coldkey: n.Coldkey, Stake: s.Stake[n.Hotkey],
			ValidatorPermit: n.Permit, Active: n.Active, Consensus: n.Consensus, Incentive: n.Incentive,
			Dividends: n.Dividends, ValidatorTrust: n.Trust, Emission: n.Emission, LastUpdate: n.LastUpdate,
			BlockAtRegistration: n.BlockAtRegistration, Weights: entries(n.Weights), Bonds: entries(n.Bonds),
		}
	}
	return m, nil
}

// Commitment returns hotkey's commitment.
func (c *Chain) Commitment(ctx context.Context, netuid uint16, hotkey string) (chain.Commitment, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, err := c.st.subnet(netuid)
	if err != nil {
		return chain.Commitment{}, err
	}
	cm, ok := s.Commitments[hotkey]
	if !ok {
		return chain.Commitment{}, fmt.Errorf("subnet %d hotkey %s: %w", netuid, hotkey, chain.ErrNoCommitment)
	}
	return cm, nil
}

// Commitments returns all commitments of a subnet, ordered by hotkey.
func (c *Chain) Commitments(ctx context.Context, netuid uint16) ([]chain.Commitment, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, err := c.st.subnet(netuid)
	if err != nil {
		return nil, err
	}
	out := make([]chain.Commitment, 0, len(s.Commitments))
	for _, cm := range s.Commitments {
		out = append(out, cm)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Hotkey < out[j].Hotkey })
	return out, nil
}

// LedgerEntry is one uid's reward in one epoch (chain.LedgerEntry).
type LedgerEntry = chain.LedgerEntry

// The devchain and its HTTP client keep the emission ledger.
var (
	_ chain.Ledger = (*Chain)(nil)
	_ chain.Ledger = (*Client)(nil)
)

// Emissions returns the emission ledger of a subnet from block fromBlock on
// (optionally for one hotkey), oldest first.
func (c *Chain) Emissions(ctx context.Context, netuid uint16, fromBlock uint64, hotkey string) ([]LedgerEntry, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT netuid, block, epoch, uid, hotkey, incentive, dividends,
		server_emission, validator_emission FROM ledger WHERE netuid = ? AND block >= ? AND (? = '' OR hotkey = ?)
		ORDER BY block, uid`, netuid, fromBlock, hotkey, hotkey)
	if err != nil {
		return nil, fmt.Errorf("read ledger: %w", err)
	}
	defer rows.Close()
	var out []LedgerEntry
	for rows.Next() {
		var e LedgerEntry
		if err := rows.Scan(&e.Netuid, &e.Block, &e.Epoch, &e.UID, &e.Hotkey, &e.Incentive, &e.Dividends,
			&e.ServerEmission, &e.ValidatorEmission); err != nil {
			return nil, fmt.Errorf("read ledger: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
