package devchain

import (
	"log/slog"
	"time"

	"github.com/datarefine/refine/chain"
)

// Options configure a Chain.
type Options struct {
	// DB is the SQLite file, or ":memory:" for a throwaway chain.
	DB string
	// BlockTime between blocks; 0 produces blocks only through AdvanceBlocks.
	BlockTime time.Duration
	// Seed determines the genesis hash and so every block hash.
	Seed string
	// Netuids are the subnets created on first start (default: 1).
	Netuids []uint16
	// Hyperparameters for subnets created by this chain (default:
	// DefaultHyperparameters). Tempo, when non-zero, overrides its tempo.
	Hyperparameters *chain.Hyperparameters
	Tempo           uint16
	// EmissionPerBlock is the rao each subnet emits per block; an epoch
	// distributes EmissionPerBlock × the blocks since the last epoch (tempo).
	// Default 1e9 (1 α per block).
	EmissionPerBlock uint64
	// MaxClockSkew bounds how old or early a signed call's timestamp may be
	// (default 60 s); its nonce must not have been seen within that window.
	MaxClockSkew time.Duration
	// FaucetLimit caps one faucet call (default 1e12 rao = 1000 TAO).
	FaucetLimit uint64
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// DefaultHyperparameters are subtensor's defaults for a new subnet
// (runtime constants and init_new_network), with commit-reveal on.
func DefaultHyperparameters() chain.Hyperparameters {
	return chain.Hyperparameters{
		Tempo:                    360,
		Kappa:                    32767,
		ImmunityPeriod:           5000,
		ActivityCutoff:           5000,
		MaxAllowedUIDs:           256,
		MaxAllowedValidators:     64,
		MinAllowedWeights:        1,
		MaxWeightsLimit:          65535,
		WeightsRateLimit:         100,
		WeightsVersionKey:        0,
		CommitRevealEnabled:      true,
		RevealPeriodEpochs:       1,
		BondsMovingAverage:       900_000,
		BondsPenalty:             65535,
		LiquidAlphaEnabled:       false,
		Burn:                     100_000_000, // 0.1 TAO
		MaxRegistrationsPerBlock: 1,
		StakeThreshold:           0,
		CommitmentMaxSpace:       3100,
	}
}

// DefaultOptions are the devchain's defaults.
func DefaultOptions() Options {
	var o Options
	return o.withDefaults()
}

func (o *Options) withDefaults() Options {
	out := *o
	if out.DB == "" {
		out.DB = ":memory:"
	}
	if out.Seed == "" {
		out.Seed = "refine-devchain"
	}
	if out.Netuids == nil {
		out.Netuids = []uint16{1}
	}
	if out.Hyperparameters == nil {
		hp := DefaultHyperparameters()
		out.Hyperparameters = &hp
	} else {
		hp := *out.Hyperparameters
		out.Hyperparameters = &hp
	}
	if out.Tempo != 0 {
		out.Hyperparameters.Tempo = out.Tempo
	}
	if out.EmissionPerBlock == 0 {
		out.EmissionPerBlock = 1_000_000_000
	}
	if out.MaxClockSkew == 0 {
		out.MaxClockSkew = time.Minute
	}
	if out.FaucetLimit == 0 {
		out.FaucetLimit = 1_000_000_000_000
	}
	if out.Now == nil {
		out.Now = time.Now
	}
	if out.Logger == nil {
		out.Logger = slog.New(slog.DiscardHandler)
	}
	return out
}
