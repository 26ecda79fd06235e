package main

import (
	"github.com/spf13/cobra"

	"github.com/datarefine/refine/internal/buildinfo"
)

// versionLine is what `refine --version` prints after "refine version ":
// the module version and the VCS revision the toolchain stamped into the
// binary (internal/buildinfo).
func versionLine() string { return buildinfo.Get().String() }

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "refine",
		Short:         "Data Refine Subnet: refine CommonCrawl into a FineWeb-quality dataset",
		Version:       versionLine(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// One line per command; each lives in its own cmd_<name>.go file.
	root.AddCommand(
		newProcessCommand(),
		newMinerCommand(),
		newValidatorCommand(),
		newDevnetCommand(),
		newAssetsCommand(),
		newWalletCommand(),
		newChainCommand(),
		newDedupCommand(),
		newDatasetCommand(),
		newEvaluateCommand(),
		newTaskserverCommand(),
		newWebCommand(),
	)
	return root
}
