package subtensor

import (
	"encoding/binary"
	"fmt"

	"github.com/centrifuge/go-substrate-rpc-client/v4/xxhash"
	"golang.org/x/crypto/blake2b"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/scale"
)

// Storage keys: twox128(pallet) ++ twox128(item) ++ hashed keys.

func storagePrefix(pallet, item string) []byte {
	return append(xxhash.New128([]byte(pallet)).Sum(nil), xxhash.New128([]byte(item)).Sum(nil)...)
}

func twox64Concat(b []byte) []byte { return append(xxhash.New64(b).Sum(nil), b...) }

func blake2_128Concat(b []byte) []byte {
	h, _ := blake2b.New(16, nil) // cannot fail for size 16 without a key
	h.Write(b)
	return append(h.Sum(nil), b...)
}

func u16LE(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }

// commitmentKey is Commitments.CommitmentOf(netuid Identity, account Twox64Concat).
func commitmentKey(netuid uint16, account [32]byte) []byte {
	k := append(storagePrefix("Commitments", "CommitmentOf"), u16LE(netuid)...)
	return append(k, twox64Concat(account[:])...)
}

// Data tags of the commitments pallet's Data enum.
const (
	dataNone     = 0
	dataRawMax   = 129 // Raw(n) is tag n+1, n ≤ 128
	dataTimelock = 134
	dataReset    = 135
	dataBigRaw   = 136
)

// decodeRegistration decodes a CommitmentOf value, Registration { deposit
// u64, block u32, info: CommitmentInfo { fields: Vec<Data> } }, into the
// block and the bytes of the first Raw/BigRaw field (the Python SDK's
// convention: commitments are fields[0]).
func decodeRegistration(b []byte) (block uint64, data []byte, err error) {
	d := newDecoder(b)
	d.u64() // deposit
	block = uint64(d.u32())
	n := d.length()
	for i := 0; i < n && d.err == nil; i++ {
		field := decodeData(d)
		if i == 0 {
			data = field
		}
	}
	if err := d.end(); err != nil {
		return 0, nil, fmt.Errorf("decode commitment: %w", err)
	}
	if data == nil {
		data = []byte{}
	}
	return block, data, nil
}

// decodeData reads one Data value and returns its bytes when it is Raw or
// BigRaw (nil for hashes, timelocked data and flags, whose bytes are not a
// plain commitment).
func decodeData(d *decoder) []byte {
	tag := d.u8()
	switch {
	case tag == dataNone:
		return nil
	case tag <= dataRawMax:
		return append([]byte{}, d.take(int(tag)-1)...)
	case tag >= 130 && tag <= 133:
		d.take(32)
		return nil
	case tag == dataTimelock:
		d.bytes()
		d.u64()
		return nil
	case tag == dataReset:
		return nil
	case tag == dataBigRaw:
		return d.bytes()
	}
	d.fail(fmt.Errorf("unknown Data tag %d", tag))
	return nil
}

// encodeData encodes a commitment as Raw (≤128 bytes) or BigRaw (≤512).
func encodeData(data []byte) ([]byte, error) {
	switch {
	case len(data) <= 128:
		return append([]byte{byte(len(data) + 1)}, data...), nil
	case len(data) <= 512:
		return append(scale.AppendCompact([]byte{dataBigRaw}, uint64(len(data))), data...), nil
	}
	return nil, fmt.Errorf("%w: %d bytes, at most 512", chain.ErrCommitmentTooLarge, len(data))
}

// runtimeResult unwraps a runtime API result. Older runtimes (before
// spec ~220) returned Vec<u8> holding the SCALE value; current ones return
// it directly, Option<T> for the "get one" APIs. When optional it returns
// nil for None.
func runtimeResult(b []byte, optional bool) ([]byte, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("empty runtime api result")
	}
	d := newDecoder(b)
	if n := d.compact(); d.err == nil && n == uint64(d.remaining()) && n > 0 {
		// Legacy wrapping: its content was never an Option.
		return b[d.off:], nil
	}
	if !optional {
		return b, nil
	}
	switch b[0] {
	case 0:
		return nil, nil
	case 1:
		return b[1:], nil
	}
	return nil, fmt.Errorf("runtime api result starts with %#x: neither Option nor Vec<u8>", b[0])
}

// decodeHyperparams decodes SubnetHyperparams (the v1 layout of
// SubnetInfoRuntimeApi_get_subnet_hyperparams; v2 appends fields after
// liquid_alpha_enabled, which are ignored).
func decodeHyperparams(b []byte) (chain.Hyperparameters, error) {
	var hp chain.Hyperparameters
	d := newDecoder(b)
	d.compact() // rho
	hp.Kappa = d.compactU16()
	hp.ImmunityPeriod = d.compactU16()
	hp.MinAllowedWeights = d.compactU16()
	hp.MaxWeightsLimit = d.compactU16()
	hp.Tempo = d.compactU16()
	d.compact() // min_difficulty
	d.compact() // max_difficulty
	hp.WeightsVersionKey = d.compact()
	hp.WeightsRateLimit = d.compact()
	d.compact() // adjustment_interval
	hp.ActivityCutoff = d.compactU16()
	d.bool()    // registration_allowed
	d.compact() // target_regs_per_interval
	d.compact() // min_burn
	d.compact() // max_burn
	hp.BondsMovingAverage = d.compact()
	hp.MaxRegistrationsPerBlock = d.compactU16()
	d.compact() // serving_rate_limit
	hp.MaxAllowedValidators = d.compactU16()
	d.compact() // adjustment_alpha
	d.compact() // difficulty
	hp.RevealPeriodEpochs = d.compact()
	hp.CommitRevealEnabled = d.bool()
	d.compact() // alpha_high
	d.compact() // alpha_low
	hp.LiquidAlphaEnabled = d.bool()
	if d.err != nil {
		return hp, fmt.Errorf("decode hyperparameters: %w", d.err)
	}
	return hp, nil
}

// neuronLite is NeuronInfoRuntimeApi_get_neurons_lite's NeuronInfoLite.
type neuronLite struct {
	hotkey, coldkey [32]byte
	uid             uint16
	active          bool
	stake           uint64
	emission        uint64
	incentive       uint16
	consensus       uint16
	validatorTrust  uint16
	dividends       uint16
	lastUpdate      uint64
	validatorPermit bool
}

func decodeNeuronsLite(b []byte) ([]neuronLite, error) {
	d := newDecoder(b)
	n := d.length()
	out := make([]neuronLite, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		var nl neuronLite
		nl.hotkey = d.account()
		nl.coldkey = d.account()
		nl.uid = d.compactU16()
		d.compact() // netuid
		nl.active = d.bool()
		d.take(8 + 4 + 16 + 2 + 4) // AxonInfo: block, version, ip, port, ip_type, protocol, 2 placeholders
		d.take(8 + 4 + 16 + 2 + 1) // PrometheusInfo: block, version, ip, port, ip_type
		stakes := d.length()
		for j := 0; j < stakes && d.err == nil; j++ {
			d.account()
			nl.stake += d.compact()
		}
		d.compact() // rank
		nl.emission = d.compact()
		nl.incentive = d.compactU16()
		nl.consensus = d.compactU16()
		d.compact() // trust
		nl.validatorTrust = d.compactU16()
		nl.dividends = d.compactU16()
		nl.lastUpdate = d.compact()
		nl.validatorPermit = d.bool()
		d.compact() // pruning_score
		out = append(out, nl)
	}
	if err := d.end(); err != nil {
		return nil, fmt.Errorf("decode neurons: %w", err)
	}
	return out, nil
}

// subnetState is the part of SubnetInfoRuntimeApi_get_subnet_state's
// SubnetState the metagraph takes: per-uid registration block and total
// stake (alpha plus weighted TAO, the stake Yuma consensus uses).
type subnetState struct {
	hotkeys             [][32]byte
	blockAtRegistration []uint64
	totalStake          []uint64
}

func decodeSubnetState(b []byte) (subnetState, error) {
	var s subnetState
	d := newDecoder(b)
	d.compact() // netuid
	n := d.length()
	for i := 0; i < n && d.err == nil; i++ {
		s.hotkeys = append(s.hotkeys, d.account())
	}
	n = d.length() // coldkeys
	d.take(32 * n)
	for range 2 { // active, validator_permit
		n = d.length()
		d.take(n)
	}
	compacts := func() []uint64 {
		n := d.length()
		v := make([]uint64, 0, n)
		for i := 0; i < n && d.err == nil; i++ {
			v = append(v, d.compact())
		}
		return v
	}
	// pruning_score, last_update, emission, dividends, incentives,
	// consensus, trust, rank
	for range 8 {
		compacts()
	}
	s.blockAtRegistration = compacts()
	compacts() // alpha_stake
	compacts() // tao_stake
	s.totalStake = compacts()
	n = d.length() // emission_history: Vec<Vec<Compact<u64>>>
	for i := 0; i < n && d.err == nil; i++ {
		compacts()
	}
	if err := d.end(); err != nil {
		return s, fmt.Errorf("decode subnet state: %w", err)
	}
	return s, nil
}

// decodeSparse decodes a Weights or Bonds row, Vec<(u16, u16)>.
func decodeSparse(b []byte) ([]chain.WeightEntry, error) {
	d := newDecoder(b)
	n := d.length()
	out := make([]chain.WeightEntry, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		out = append(out, chain.WeightEntry{UID: d.u16(), Value: d.u16()})
	}
	if err := d.end(); err != nil {
		return nil, fmt.Errorf("decode weights row: %w", err)
	}
	return out, nil
}
