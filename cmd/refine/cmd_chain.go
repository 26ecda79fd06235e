package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/chain/devchain"
	"github.com/datarefine/refine/wallet"
)

// --- refine chain (serve) ---

type chainOptions struct {
	Listen           string
	DB               string
	BlockTime        time.Duration
	Seed             string
	Netuids          []uint
	Tempo            uint16
	CommitReveal     bool
	WeightsRateLimit uint64
	MinWeights       uint16
	MaxRegsPerBlock  uint16
	Immunity         uint16
	EmissionPerBlock uint64
	Log              logOptions
}

func (o *chainOptions) AddFlags(fs *pflag.FlagSet) {
	d := devchain.DefaultOptions()
	hp := *d.Hyperparameters
	fs.StringVar(&o.Listen, "listen", "127.0.0.1:9944", "HTTP address (loopback by default; the API has no TLS)")
	fs.StringVar(&o.DB, "db", dataPath("chain.db"), "SQLite database (\":memory:\" for a throwaway chain)")
	fs.DurationVar(&o.BlockTime, "block-time", 12*time.Second, "time between blocks (e.g. 12s, 250ms)")
	fs.StringVar(&o.Seed, "seed", d.Seed, "seed of the genesis hash (block hashes are deterministic)")
	fs.UintSliceVar(&o.Netuids, "netuid", []uint{1}, "subnets to create on first start")
	// Subnet settings apply when a subnet is created (first start of a database).
	fs.Uint16Var(&o.Tempo, "tempo", hp.Tempo, "blocks between epochs")
	fs.BoolVar(&o.CommitReveal, "commit-reveal", hp.CommitRevealEnabled, "commit-reveal weights (subtensor's default)")
	fs.Uint64Var(&o.WeightsRateLimit, "weights-rate-limit", hp.WeightsRateLimit, "blocks between weight updates of a uid")
	fs.Uint16Var(&o.MinWeights, "min-allowed-weights", hp.MinAllowedWeights, "fewest weights a validator may set")
	fs.Uint16Var(&o.MaxRegsPerBlock, "max-regs-per-block", hp.MaxRegistrationsPerBlock, "registrations per subnet per block")
	fs.Uint16Var(&o.Immunity, "immunity-period", hp.ImmunityPeriod, "blocks a new uid cannot be replaced")
	fs.Uint64Var(&o.EmissionPerBlock, "emission-per-block", d.EmissionPerBlock, "rao each subnet emits per block")
	o.Log.AddFlags(fs)
}

func newChainCommand() *cobra.Command {
	var o chainOptions
	cmd := &cobra.Command{
		Use:   "chain",
		Short: "Run a local development chain (the subtensor features the subnet uses) over HTTP",
		Long: `Runs the devchain: blocks on a timer, subnets with subtensor's default hyperparameters,
burned registration, stake, commitments, weights with commit-reveal, Yuma consensus every
tempo and an emission ledger, kept in a SQLite database (stop and restart it and nothing
is lost). Every state change is a call signed by the acting key.

The client subcommands talk to a running devchain (--url). Keys come from a btcli
wallet (--wallet.path, --wallet.name, --wallet.hotkey: the files "refine wallet create"
or btcli write; an encrypted coldkey's password from --password-file, $REFINE_WALLET_PASSWORD
or a prompt), or from --key-uri (the hotkey) and --coldkey-uri, Substrate secret URIs
such as //Alice or a mnemonic, for throwaway dev keys. "refine chain wait" sequences
scripts by chain time. A walk-through: docs/chain.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runChain(cmd.Context(), o, cmd.ErrOrStderr())
		},
	}
	o.AddFlags(cmd.Flags())
	cmd.AddCommand(newChainBlockCommand(), newChainWaitCommand(), newChainFaucetCommand(), newChainRegisterCommand(),
		newChainStakeCommand(), newChainCommitCommand(), newChainCommitmentsCommand(),
		newChainSetWeightsCommand(), newChainMetagraphCommand())
	return cmd
}

func runChain(ctx context.Context, o chainOptions, stderr io.Writer) error {
	log, err := o.Log.Logger(stderr)
	if err != nil {
		return err
	}
	if host, _, err := net.SplitHostPort(o.Listen); err == nil {
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			log.Warn("devchain listening beyond loopback: anyone who can reach it can read it and fund keys", "listen", o.Listen)
		}
	}
	hp := devchain.DefaultHyperparameters()
	hp.Tempo = o.Tempo
	hp.CommitRevealEnabled = o.CommitReveal
	hp.WeightsRateLimit = o.WeightsRateLimit
	hp.MinAllowedWeights = o.MinWeights
	hp.MaxRegistrationsPerBlock = o.MaxRegsPerBlock
	hp.ImmunityPeriod = o.Immunity
	netuids := make([]uint16, len(o.Netuids))
	for i, n := range o.Netuids {
		if n > 65535 {
			return fmt.Errorf("--netuid %d: out of range", n)
		}
		netuids[i] = uint16(n)
	}
	if err := prepareDB(o.DB); err != nil {
		return err
	}
	c, err := devchain.New(ctx, devchain.Options{
		DB: o.DB, BlockTime: o.BlockTime, Seed: o.Seed, Netuids: netuids, Hyperparameters: &hp,
		EmissionPerBlock: o.EmissionPerBlock, Logger: log,
	})
	if err != nil {
		return err
	}
	defer c.Close()
	log.Info("devchain serving", "url", "http://"+o.Listen, "genesis", c.Genesis())
	return devchain.Serve(ctx, o.Listen, c)
}

// --- client subcommands ---

// chainClientOptions are the flags every client subcommand shares.
type chainClientOptions struct {
	URL    string
	Netuid uint16
	JSON   bool
}

func (o *chainClientOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.URL, "url", "http://127.0.0.1:9944", "devchain URL")
	fs.Uint16Var(&o.Netuid, "netuid", 1, "subnet")
	fs.BoolVar(&o.JSON, "json", false, "print JSON")
}

func (o chainClientOptions) client() *devchain.Client {
	return devchain.NewClient(devchain.ClientOptions{URL: o.URL})
}

// chainKeyOptions select the keys of the subcommands that sign: a btcli
// wallet (the files `refine wallet create` or btcli write), or Substrate
// secret URIs (//Alice, a mnemonic) for throwaway dev keys.
type chainKeyOptions struct {
	Wallet       walletOptions
	KeyURI       string // the acting hotkey, instead of the wallet's
	ColdkeyURI   string // the coldkey, instead of the wallet's
	PasswordFile string
}

// AddFlags adds the wallet flags and the URI flags of the keys the
// subcommand uses (hot: the hotkey; cold: the coldkey).
func (o *chainKeyOptions) AddFlags(fs *pflag.FlagSet, hot, cold bool) {
	o.Wallet.AddFlags(fs)
	if hot {
		fs.StringVar(&o.KeyURI, "key-uri", "", "hotkey secret URI (e.g. //Alice) instead of --wallet.hotkey")
	}
	if cold {
		fs.StringVar(&o.ColdkeyURI, "coldkey-uri", "", "coldkey secret URI (e.g. //Alice//cold) instead of the wallet's coldkey")
	}
	fs.StringVar(&o.PasswordFile, "password-file", "",
		"read the keyfile password from this file's first line (else $"+wallet.EnvPassword+", else a prompt)")
}

// password asks for a keyfile's password only when it is needed.
func (o chainKeyOptions) password(what string) wallet.PasswordFunc {
	return wallet.Password(wallet.PasswordOptions{File: o.PasswordFile, Prompt: "Password for " + what + ": "})
}

// hotkey is --key-uri, else <wallet.path>/<wallet.name>/hotkeys/<wallet.hotkey>.
func (o chainKeyOptions) hotkey() (chain.Signer, error) {
	if o.KeyURI != "" {
		kp, err := wallet.FromURI(o.KeyURI)
		if err != nil {
			return nil, fmt.Errorf("--key-uri: %w", err)
		}
		return kp, nil
	}
	kp, err := wallet.LoadHotkeyWithPassword(o.Wallet.root(), o.Wallet.Name, o.Wallet.Hotkey,
		o.password("hotkey "+o.Wallet.Hotkey))
	if err != nil {
		return nil, fmt.Errorf("hotkey (give --wallet.name and --wallet.hotkey, or --key-uri): %w", err)
	}
	return kp, nil
}

// coldkey is --coldkey-uri, else the wallet's coldkey, decrypted with the
// password from --password-file, $REFINE_WALLET_PASSWORD or a prompt (asked
// only when the keyfile is encrypted).
func (o chainKeyOptions) coldkey() (chain.Signer, error) {
	if o.ColdkeyURI != "" {
		kp, err := wallet.FromURI(o.ColdkeyURI)
		if err != nil {
			return nil, fmt.Errorf("--coldkey-uri: %w", err)
		}
		return kp, nil
	}
	root, name := o.Wallet.root(), o.Wallet.Name
	data, err := os.ReadFile(wallet.ColdkeyPath(root, name))
	if err != nil {
		return nil, fmt.Errorf("coldkey (give --wallet.name, or --coldkey-uri): %w", err)
	}
	var pw string
	if wallet.Encryption(data) != "" {
		if pw, err = o.password("coldkey of wallet " + name)(); err != nil {
			return nil, fmt.Errorf("coldkey of wallet %s: %w", name, err)
		}
	}
	kp, err := wallet.LoadColdkey(root, name, pw)
	if err != nil {
		return nil, fmt.Errorf("coldkey of wallet %s: %w", name, err)
	}
	return kp, nil
}

func printResult(w io.Writer, asJSON bool, v any, text func(io.Writer)) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	text(w)
	return nil
}

func chainSubcommand(use, short string, o *chainClientOptions, run func(ctx context.Context, out io.Writer) error) *cobra.Command {
	cmd := &cobra.Command{
		Use: use, Short: short, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return run(cmd.Context(), cmd.OutOrStdout()) },
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func newChainBlockCommand() *cobra.Command {
	var o chainClientOptions
	return chainSubcommand("block", "Print the current block", &o, func(ctx context.Context, out io.Writer) error {
		return runChainBlock(ctx, o, out)
	})
}

func runChainBlock(ctx context.Context, o chainClientOptions, out io.Writer) error {
	b, err := o.client().Block(ctx)
	if err != nil {
		return err
	}
	return printResult(out, o.JSON, b, func(w io.Writer) { fmt.Fprintf(w, "%d %s\n", b.Number, b.Hash) })
}

type chainWaitOptions struct {
	chainClientOptions
	Blocks  uint64
	Epochs  uint64
	Timeout time.Duration
	Poll    time.Duration
}

func newChainWaitCommand() *cobra.Command {
	var o chainWaitOptions
	cmd := chainSubcommand("wait", "Wait until the chain answers, then for --blocks blocks and/or --epochs epochs of --netuid",
		&o.chainClientOptions, func(ctx context.Context, out io.Writer) error { return runChainWait(ctx, o, out) })
	fs := cmd.Flags()
	fs.Uint64Var(&o.Blocks, "blocks", 0, "blocks to wait for")
	fs.Uint64Var(&o.Epochs, "epochs", 0, "epochs of the subnet to wait for (returns just after the last one ran)")
	fs.DurationVar(&o.Timeout, "timeout", time.Minute, "give up after this long")
	fs.DurationVar(&o.Poll, "poll", 50*time.Millisecond, "how often to ask the chain")
	return cmd
}

// runChainWait waits by chain time (chain.WaitForBlock, chain.WaitForEpochs),
// tolerating a chain that is not up yet.
func runChainWait(ctx context.Context, o chainWaitOptions, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	cl := o.client()
	head, err := chain.WaitForBlock(ctx, cl, 0, o.Poll)
	if err != nil {
		return err
	}
	b, err := chain.WaitForBlock(ctx, cl, head.Number+o.Blocks, o.Poll)
	if err != nil {
		return err
	}
	if o.Epochs > 0 {
		if b, err = chain.WaitForEpochs(ctx, cl, o.Netuid, o.Epochs, o.Poll); err != nil {
			return err
		}
	}
	return printResult(out, o.JSON, b, func(w io.Writer) { fmt.Fprintf(w, "%d %s\n", b.Number, b.Hash) })
}

type chainFaucetOptions struct {
	chainClientOptions
	Keys   chainKeyOptions
	Amount uint64
}

func newChainFaucetCommand() *cobra.Command {
	var o chainFaucetOptions
	cmd := chainSubcommand("faucet", "Credit the coldkey with test TAO (devchain only)", &o.chainClientOptions,
		func(ctx context.Context, out io.Writer) error { return runChainFaucet(ctx, o, out) })
	o.Keys.AddFlags(cmd.Flags(), false, true)
	cmd.Flags().Uint64Var(&o.Amount, "amount", 100_000_000_000, "rao to credit (1 TAO = 1e9 rao)")
	return cmd
}

func runChainFaucet(ctx context.Context, o chainFaucetOptions, out io.Writer) error {
	cold, err := o.Keys.coldkey()
	if err != nil {
		return err
	}
	cl := o.client()
	if err := cl.Faucet(ctx, cold, o.Amount); err != nil {
		return err
	}
	bal, err := cl.Balance(ctx, cold.SS58())
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s balance %d rao\n", cold.SS58(), bal)
	return nil
}

type chainRegisterOptions struct {
	chainClientOptions
	Keys chainKeyOptions
}

func newChainRegisterCommand() *cobra.Command {
	var o chainRegisterOptions
	cmd := chainSubcommand("register", "Register the hotkey on the subnet, burning from the coldkey", &o.chainClientOptions,
		func(ctx context.Context, out io.Writer) error { return runChainRegister(ctx, o, out) })
	o.Keys.AddFlags(cmd.Flags(), true, true)
	return cmd
}

func runChainRegister(ctx context.Context, o chainRegisterOptions, out io.Writer) error {
	cold, err := o.Keys.coldkey()
	if err != nil {
		return err
	}
	hot, err := o.Keys.hotkey()
	if err != nil {
		return err
	}
	uid, err := o.client().Register(ctx, cold, o.Netuid, hot.SS58())
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "registered %s on subnet %d as uid %d\n", hot.SS58(), o.Netuid, uid)
	return nil
}

type chainStakeOptions struct {
	chainClientOptions
	Keys   chainKeyOptions
	Amount uint64
}

func newChainStakeCommand() *cobra.Command {
	var o chainStakeOptions
	cmd := chainSubcommand("stake", "Stake from the coldkey to the hotkey", &o.chainClientOptions,
		func(ctx context.Context, out io.Writer) error { return runChainStake(ctx, o, out) })
	o.Keys.AddFlags(cmd.Flags(), true, true)
	cmd.Flags().Uint64Var(&o.Amount, "amount", 10_000_000_000, "rao to stake")
	return cmd
}

func runChainStake(ctx context.Context, o chainStakeOptions, out io.Writer) error {
	cold, err := o.Keys.coldkey()
	if err != nil {
		return err
	}
	hot, err := o.Keys.hotkey()
	if err != nil {
		return err
	}
	if err := o.client().AddStake(ctx, cold, o.Netuid, hot.SS58(), o.Amount); err != nil {
		return err
	}
	fmt.Fprintf(out, "staked %d rao to %s on subnet %d\n", o.Amount, hot.SS58(), o.Netuid)
	return nil
}

type chainCommitOptions struct {
	chainClientOptions
	Keys chainKeyOptions
	Data string
}

func newChainCommitCommand() *cobra.Command {
	var o chainCommitOptions
	cmd := chainSubcommand("commit", "Commit a string for the hotkey (≤ 128 bytes Raw, ≤ 512 BigRaw)", &o.chainClientOptions,
		func(ctx context.Context, out io.Writer) error { return runChainCommit(ctx, o, out) })
	o.Keys.AddFlags(cmd.Flags(), true, false)
	cmd.Flags().StringVar(&o.Data, "data", "", "the commitment")
	return cmd
}

func runChainCommit(ctx context.Context, o chainCommitOptions, out io.Writer) error {
	hot, err := o.Keys.hotkey()
	if err != nil {
		return err
	}
	cl := o.client()
	if err := cl.Commit(ctx, hot, o.Netuid, []byte(o.Data)); err != nil {
		return err
	}
	cm, err := cl.Commitment(ctx, o.Netuid, hot.SS58())
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "committed at block %d\n", cm.Block)
	return nil
}

func newChainCommitmentsCommand() *cobra.Command {
	var o chainClientOptions
	return chainSubcommand("commitments", "List the subnet's commitments", &o,
		func(ctx context.Context, out io.Writer) error { return runChainCommitments(ctx, o, out) })
}

func runChainCommitments(ctx context.Context, o chainClientOptions, out io.Writer) error {
	cms, err := o.client().Commitments(ctx, o.Netuid)
	if err != nil {
		return err
	}
	return printResult(out, o.JSON, cms, func(w io.Writer) {
		for _, cm := range cms {
			fmt.Fprintf(w, "%s\t%d\t%q\n", cm.Hotkey, cm.Block, cm.Data)
		}
	})
}

type chainSetWeightsOptions struct {
	chainClientOptions
	Keys          chainKeyOptions
	UIDs, Weights []uint
	Salt          []uint
	VersionKey    uint64
	Reveal        bool
	Wait          bool // with Reveal: retry while the reveal epoch has not begun
	Poll          time.Duration
}

func newChainSetWeightsCommand() *cobra.Command {
	var o chainSetWeightsOptions
	cmd := chainSubcommand("set-weights", "Set the hotkey's weights, or commit them (with --salt) where commit-reveal is on",
		&o.chainClientOptions, func(ctx context.Context, out io.Writer) error { return runChainSetWeights(ctx, o, out) })
	o.Keys.AddFlags(cmd.Flags(), true, false)
	fs := cmd.Flags()
	fs.UintSliceVar(&o.UIDs, "uids", nil, "destination uids, e.g. 1,2,3")
	fs.UintSliceVar(&o.Weights, "weights", nil, "u16 weights, same order as --uids")
	fs.UintSliceVar(&o.Salt, "salt", nil, "commit-reveal salt (u16 values); with it, commit now and reveal with --reveal")
	fs.Uint64Var(&o.VersionKey, "version-key", 0, "weights version key")
	fs.BoolVar(&o.Reveal, "reveal", false, "reveal previously committed weights (same --uids/--weights/--salt)")
	fs.BoolVar(&o.Wait, "wait", false, "with --reveal: if the reveal epoch has not begun yet, retry until it has")
	fs.DurationVar(&o.Poll, "poll", 100*time.Millisecond, "with --wait: how often to retry")
	return cmd
}

func toU16s(name string, v []uint) ([]uint16, error) {
	out := make([]uint16, len(v))
	for i, x := range v {
		if x > 65535 {
			return nil, fmt.Errorf("--%s: %d is not a u16", name, x)
		}
		out[i] = uint16(x)
	}
	return out, nil
}

func runChainSetWeights(ctx context.Context, o chainSetWeightsOptions, out io.Writer) error {
	if o.Reveal && o.Salt == nil {
		return fmt.Errorf("--reveal needs the --salt of the commit")
	}
	if o.Wait && !o.Reveal {
		return fmt.Errorf("--wait applies to --reveal only")
	}
	hot, err := o.Keys.hotkey()
	if err != nil {
		return err
	}
	uids, err := toU16s("uids", o.UIDs)
	if err != nil {
		return err
	}
	weights, err := toU16s("weights", o.Weights)
	if err != nil {
		return err
	}
	salt, err := toU16s("salt", o.Salt)
	if err != nil {
		return err
	}
	cl := o.client()
	switch {
	case o.Salt == nil:
		if err := cl.SetWeights(ctx, hot, o.Netuid, uids, weights, o.VersionKey); err != nil {
			return err
		}
		fmt.Fprintln(out, "weights set")
	case o.Reveal:
		reveal := func() error { return cl.RevealWeights(ctx, hot, o.Netuid, uids, weights, salt, o.VersionKey) }
		epoch := func() (chain.EpochState, error) { return cl.EpochState(ctx, o.Netuid) }
		if err := chain.RevealWhenOpen(ctx, o.Wait, o.Poll, reveal, epoch); err != nil {
			return err
		}
		fmt.Fprintln(out, "weights revealed")
	default:
		h, err := chain.CommitHash(hot.SS58(), o.Netuid, uids, weights, salt, o.VersionKey)
		if err != nil {
			return err
		}
		if err := cl.CommitWeights(ctx, hot, o.Netuid, h); err != nil {
			return err
		}
		fmt.Fprintf(out, "weights committed (hash 0x%x): reveal them in the next epoch with --reveal (--wait to wait for it)\n", h)
	}
	return nil
}

func newChainMetagraphCommand() *cobra.Command {
	var o chainClientOptions
	return chainSubcommand("metagraph", "Print the subnet's metagraph", &o,
		func(ctx context.Context, out io.Writer) error { return runChainMetagraph(ctx, o, out) })
}

func runChainMetagraph(ctx context.Context, o chainClientOptions, out io.Writer) error {
	m, err := o.client().Metagraph(ctx, o.Netuid)
	if err != nil {
		return err
	}
	return printResult(out, o.JSON, m, func(w io.Writer) {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "subnet %d at block %d\n", m.Netuid, m.Block)
		fmt.Fprintln(tw, "UID\tHOTKEY\tSTAKE(τ)\tVPERMIT\tINCENTIVE\tDIVIDENDS\tVTRUST\tCONSENSUS\tEMISSION(ρ)\tUPDATED\tACTIVE")
		for _, n := range m.Neurons {
			fmt.Fprintf(tw, "%d\t%s\t%.3f\t%v\t%.4f\t%.4f\t%.4f\t%.4f\t%d\t%d\t%v\n", n.UID, n.Hotkey,
				float64(n.Stake)/1e9, n.ValidatorPermit, chain.Fraction(n.Incentive), chain.Fraction(n.Dividends),
				chain.Fraction(n.ValidatorTrust), chain.Fraction(n.Consensus), n.Emission, n.LastUpdate, n.Active)
		}
		tw.Flush()
	})
}
