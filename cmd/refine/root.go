package main

import (
	"github.com/spf13/cobra"
)

// version is the refine release; set at build time with -ldflags "-X main.version=…".
var version = "dev"

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "refine",
		Short:         "Data Refine Subnet: refine CommonCrawl into a FineWeb-quality dataset",
		Version:       version,
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
