package subtensor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/datarefine/refine/chain"
)

// moduleErrors maps pallet error names (from the runtime's metadata) to
// the chain package's sentinel errors.
var moduleErrors = map[string]error{
	"SubtensorModule.HotKeyNotRegisteredInSubNet":      chain.ErrNotRegistered,
	"SubtensorModule.HotKeyNotRegisteredInNetwork":     chain.ErrNotRegistered,
	"SubtensorModule.HotKeyAccountNotExists":           chain.ErrNotRegistered,
	"SubtensorModule.HotKeyAlreadyRegisteredInSubNet":  chain.ErrAlreadyRegistered,
	"SubtensorModule.NeuronNoValidatorPermit":          chain.ErrNoPermit,
	"SubtensorModule.SettingWeightsTooFast":            chain.ErrRateLimited,
	"SubtensorModule.CommittingWeightsTooFast":         chain.ErrRateLimited,
	"SubtensorModule.TxRateLimitExceeded":              chain.ErrRateLimited,
	"SubtensorModule.CommitRevealEnabled":              chain.ErrCommitRevealEnabled,
	"SubtensorModule.CommitRevealDisabled":             chain.ErrCommitRevealDisabled,
	"SubtensorModule.IncorrectWeightVersionKey":        chain.ErrVersionKey,
	"SubtensorModule.DuplicateUids":                    chain.ErrDuplicateUIDs,
	"SubtensorModule.UidVecContainInvalidOne":          chain.ErrInvalidUID,
	"SubtensorModule.UidsLengthExceedUidsInSubNet":     chain.ErrInvalidUID,
	"SubtensorModule.WeightVecLengthIsLow":             chain.ErrTooFewWeights,
	"SubtensorModule.WeightVecNotEqualSize":            chain.ErrLengthMismatch,
	"SubtensorModule.InputLengthsUnequal":              chain.ErrLengthMismatch,
	"SubtensorModule.MaxWeightExceeded":                chain.ErrMaxWeightExceeded,
	"SubtensorModule.NotEnoughStakeToSetWeights":       chain.ErrNotEnoughStake,
	"SubtensorModule.NoWeightsCommitFound":             chain.ErrNoWeightsCommit,
	"SubtensorModule.RevealTooEarly":                   chain.ErrRevealTooEarly,
	"SubtensorModule.ExpiredWeightCommit":              chain.ErrCommitExpired,
	"SubtensorModule.InvalidRevealCommitHashNotMatch":  chain.ErrRevealMismatch,
	"SubtensorModule.TooManyUnrevealedCommits":         chain.ErrTooManyCommits,
	"SubtensorModule.SubnetNotExists":                  chain.ErrSubnetNotFound,
	"SubtensorModule.NotEnoughBalanceToStake":          chain.ErrInsufficientBalance,
	"SubtensorModule.TooManyRegistrationsThisBlock":    chain.ErrTooManyRegistrations,
	"SubtensorModule.TooManyRegistrationsThisInterval": chain.ErrTooManyRegistrations,
	"Commitments.AccountNotAllowedCommit":              chain.ErrNotRegistered,
	"Commitments.SpaceLimitExceeded":                   chain.ErrRateLimited,
	"Commitments.TooManyFieldsInCommitmentInfo":        chain.ErrCommitmentTooLarge,
	"Balances.InsufficientBalance":                     chain.ErrInsufficientBalance,
}

// DispatchError is a failed extrinsic's error as the runtime reported it.
type DispatchError struct {
	Pallet string // "" unless a module error
	Name   string // the error's name, or the DispatchError variant
}

func (e *DispatchError) Error() string {
	if e.Pallet != "" {
		return "extrinsic failed: " + e.Pallet + "." + e.Name
	}
	return "extrinsic failed: " + e.Name
}

// Unwrap maps known module errors to the chain package's sentinels.
func (e *DispatchError) Unwrap() error { return moduleErrors[e.Pallet+"."+e.Name] }

// dispatchErrorVariants are sp_runtime::DispatchError's variant names.
var dispatchErrorVariants = []string{"Other", "CannotLookup", "BadOrigin", "Module", "ConsumerRemaining",
	"NoProviders", "TooManyConsumers", "Token", "Arithmetic", "Transactional", "Exhausted", "Corruption",
	"Unavailable", "RootNotAllowed", "Trie"}

var customRE = regexp.MustCompile(`Custom error: (\d+)`)

// poolError maps an author_submit* rejection to a sentinel where one fits.
func poolError(err error) error {
	var re *rpcError
	if !errors.As(err, &re) {
		return err
	}
	data := strings.Trim(string(re.Data), `"`)
	if m := customRE.FindStringSubmatch(data); m != nil {
		// InvalidTransaction::Custom(code) from subtensor's transaction
		// extension (chain.CustomErrors).
		if code, cerr := strconv.ParseUint(m[1], 10, 8); cerr == nil {
			return chain.NewInvalidTransaction(uint8(code), re.Error())
		}
		return err
	}
	switch {
	case strings.Contains(data, "Inability to pay some fees"):
		return fmt.Errorf("%w: %w", chain.ErrInsufficientBalance, err)
	case strings.Contains(data, "outdated"), strings.Contains(data, "stale"), re.Code == 1012, re.Code == 1013:
		// stale nonce, banned (recently seen) or already imported
		return fmt.Errorf("%w: %w", chain.ErrReplay, err)
	case strings.Contains(data, "bad signature"):
		return fmt.Errorf("%w: %w", chain.ErrBadSignature, err)
	}
	return err
}

// extrinsicStatus is one author_extrinsicUpdate notification: a string
// ("ready", "future", "dropped", "invalid", "usurped") or an object with one
// key ("inBlock", "finalized", "retracted", "finalityTimeout", "broadcast").
func extrinsicStatus(raw json.RawMessage) (state, hash string) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, ""
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return "unknown", ""
	}
	for k, v := range obj {
		_ = json.Unmarshal(v, &hash)
		return k, hash
	}
	return "unknown", ""
}

// submit signs and submits call for signer, waits until it is in a block
// (or finalized, per Options) and returns that block's hash, or the
// runtime's dispatch error.
func (c *Client) submit(ctx context.Context, signer chain.Signer, build func(*runtimeMeta) ([]byte, error)) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.SubmitTimeout)
	defer cancel()
	c.submitMu.Lock()
	xt, err := c.prepare(ctx, signer, build)
	if err != nil {
		c.submitMu.Unlock()
		return "", err
	}
	ws, err := c.conn(ctx)
	if err != nil {
		c.submitMu.Unlock()
		return "", err
	}
	id, updates, err := ws.Subscribe(ctx, "author_submitAndWatchExtrinsic", hexOf(xt))
	c.submitMu.Unlock()
	if err != nil {
		return "", fmt.Errorf("submit: %w", poolError(err))
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = ws.Unsubscribe(uctx, "author_unwatchExtrinsic", id)
	}()
	for {
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("waiting for extrinsic: %w", ctx.Err())
		case raw, ok := <-updates:
			if !ok {
				return "", fmt.Errorf("waiting for extrinsic: connection closed")
			}
			state, block := extrinsicStatus(raw)
			switch state {
			case "inBlock":
				if c.opts.WaitFinalized {
					continue
				}
				return block, c.outcome(ctx, block, xt)
			case "finalized":
				return block, c.outcome(ctx, block, xt)
			case "dropped", "invalid", "usurped":
				// Accepted by the pool, never included: no longer valid
				// when a block was built, or pushed out.
				return "", fmt.Errorf("extrinsic %s: %w", state, chain.ErrTxDropped)
			case "finalityTimeout":
				return "", fmt.Errorf("extrinsic %s", state)
			}
		}
	}
}

// prepare fetches what the extrinsic commits to (runtime versions,
// genesis, a finalized birth block, the account's next nonce) and builds it.
func (c *Client) prepare(ctx context.Context, signer chain.Signer, build func(*runtimeMeta) ([]byte, error)) ([]byte, error) {
	meta, rv, err := c.metadata(ctx, "")
	if err != nil {
		return nil, err
	}
	call, err := build(meta)
	if err != nil {
		return nil, err
	}
	genesis, err := c.genesisHash(ctx)
	if err != nil {
		return nil, err
	}
	var birthHash string
	if err := c.call(ctx, &birthHash, "chain_getFinalizedHead"); err != nil {
		return nil, fmt.Errorf("finalized head: %w", err)
	}
	var hdr struct {
		Number string `json:"number"`
	}
	if err := c.call(ctx, &hdr, "chain_getHeader", birthHash); err != nil {
		return nil, fmt.Errorf("finalized header: %w", err)
	}
	birth, err := strconv.ParseUint(strings.TrimPrefix(hdr.Number, "0x"), 16, 64)
	if err != nil {
		return nil, fmt.Errorf("finalized header number %q: %w", hdr.Number, err)
	}
	var nonce uint64
	if err := c.call(ctx, &nonce, "system_accountNextIndex", signer.SS58()); err != nil {
		return nil, fmt.Errorf("nonce of %s: %w", signer.SS58(), err)
	}
	tx := txContext{SpecVersion: rv.SpecVersion, TxVersion: rv.TransactionVersion, Era: mortalEra(c.opts.Period, birth), Nonce: nonce, Tip: c.opts.Tip}
	if err := hash32(genesis, &tx.Genesis); err != nil {
		return nil, err
	}
	if err := hash32(birthHash, &tx.BirthHash); err != nil {
		return nil, err
	}
	return signedExtrinsic(meta, signer, call, tx)
}

func hash32(s string, out *[32]byte) error {
	b, err := decodeHex(s)
	if err != nil || len(b) != 32 {
		return fmt.Errorf("bad block hash %q", s)
	}
	copy(out[:], b)
	return nil
}

// outcome finds xt in block and reads its ExtrinsicSuccess or
// ExtrinsicFailed event.
func (c *Client) outcome(ctx context.Context, block string, xt []byte) error {
	var blk struct {
		Block struct {
			Extrinsics []string `json:"extrinsics"`
		} `json:"block"`
	}
	if err := c.call(ctx, &blk, "chain_getBlock", block); err != nil {
		return fmt.Errorf("read block %s: %w", block, err)
	}
	want := hexOf(xt)
	idx := -1
	for i, x := range blk.Block.Extrinsics {
		if strings.EqualFold(x, want) {
			idx = i
			break
		}
	}
	if idx < 0 {
		return fmt.Errorf("extrinsic not found in block %s", block)
	}
	meta, _, err := c.metadata(ctx, block)
	if err != nil {
		return err
	}
	var raw *string
	if err := c.call(ctx, &raw, "state_getStorage", hexOf(storagePrefix("System", "Events")), block); err != nil {
		return fmt.Errorf("events of %s: %w", block, err)
	}
	if raw == nil {
		return fmt.Errorf("events of %s: none stored", block)
	}
	events, err := decodeHex(*raw)
	if err != nil {
		return fmt.Errorf("events of %s: %w", block, err)
	}
	return extrinsicResult(meta, events, uint32(idx))
}

// extrinsicResult reads extrinsic idx's outcome from a block's
// System.Events: nil for ExtrinsicSuccess, its error for ExtrinsicFailed.
func extrinsicResult(m *runtimeMeta, events []byte, idx uint32) error {
	outcomes, _, err := eventOutcomes(m, events)
	if err != nil {
		return err
	}
	out, ok := outcomes[idx]
	if !ok {
		return fmt.Errorf("events: no outcome for extrinsic %d", idx)
	}
	return out
}

// eventPos is where one record of a System.Events value sits.
type eventPos struct {
	index     int    // position in the block's events
	phase     uint8  // 0 ApplyExtrinsic, 1 Finalization, 2 Initialization
	extrinsic uint32 // the extrinsic's index when phase is 0
	pallet    string
	name      string
}

// walkEvents walks every event record of a System.Events value
// (Vec<EventRecord { phase, event, topics }>) with the metadata's type
// registry. For each record fn gets the decoder at the event's fields and
// their types; it reads as many leading fields as it wants and returns how
// many, and walkEvents skips the rest and the topics. It returns the number
// of records; every byte must be consumed.
func walkEvents(m *runtimeMeta, events []byte, fn func(r eventPos, d *decoder, fields []int64) int) (int, error) {
	d := newDecoder(events)
	n := d.length()
	for i := 0; i < n && d.err == nil; i++ {
		r := eventPos{index: i, phase: d.u8()}
		switch r.phase {
		case 0: // ApplyExtrinsic(u32)
			r.extrinsic = d.u32()
		case 1, 2: // Finalization, Initialization
		default:
			return 0, fmt.Errorf("events: record %d: bad phase %d", i, r.phase)
		}
		palletIdx, eventIdx := d.u8(), d.u8()
		if d.err != nil {
			break
		}
		pallet, name, fields, err := m.eventFields(palletIdx, eventIdx)
		if err != nil {
			return 0, fmt.Errorf("events: record %d: %w", i, err)
		}
		r.pallet, r.name = pallet, name
		read := fn(r, d, fields)
		for _, f := range fields[read:] {
			m.skip(d, f, 0)
		}
		topics := d.length() // Vec<H256>
		d.take(32 * topics)
	}
	if err := d.end(); err != nil {
		return 0, fmt.Errorf("events: %w", err)
	}
	return n, nil
}

// eventOutcomes returns each extrinsic's outcome (nil or its dispatch
// error) from a block's System.Events, and the number of events.
func eventOutcomes(m *runtimeMeta, events []byte) (map[uint32]error, int, error) {
	outcomes := map[uint32]error{}
	n, err := walkEvents(m, events, func(r eventPos, d *decoder, fields []int64) int {
		switch {
		case r.phase == 0 && r.pallet == "System" && r.name == "ExtrinsicSuccess":
			outcomes[r.extrinsic] = nil
		case r.phase == 0 && r.pallet == "System" && r.name == "ExtrinsicFailed":
			// The first field is the DispatchError; the rest (DispatchInfo)
			// is skipped like any field.
			outcomes[r.extrinsic] = m.dispatchError(d)
			return 1
		}
		return 0
	})
	if err != nil {
		return nil, 0, err
	}
	return outcomes, n, nil
}

// dispatchError reads a DispatchError; module errors are named from the
// metadata (ModuleError { index: u8, error: [u8; 4] }, the first byte being
// the pallet's error variant).
func (m *runtimeMeta) dispatchError(d *decoder) error {
	start := d.off
	tag := d.u8()
	if d.err != nil {
		return fmt.Errorf("events: %w", d.err)
	}
	if tag == 3 {
		p := d.take(5)
		if p == nil {
			return fmt.Errorf("events: %w", d.err)
		}
		pallet, name := m.errorName(p[0], p[1])
		return &DispatchError{Pallet: pallet, Name: name}
	}
	// Other variants may carry data (Token, Arithmetic, ...): skip the
	// whole value with the registry's DispatchError type when known.
	if id, ok := m.typeByPath("sp_runtime::DispatchError"); ok {
		d.off = start
		m.skip(d, id, 0)
	}
	if int(tag) < len(dispatchErrorVariants) {
		return &DispatchError{Name: dispatchErrorVariants[tag]}
	}
	return &DispatchError{Name: fmt.Sprintf("DispatchError(%d)", tag)}
}
