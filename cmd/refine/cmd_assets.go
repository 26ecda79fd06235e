package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/datarefine/refine/assets"
)

func newAssetsCommand() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "assets",
		Short: "Manage the external assets (URL word lists, blocklist, evaluation data)",
		Long: `The pipeline needs files that cannot live in this repository: datatrove's URL
word lists and, optionally, the UT1 adult domain/URL blocklist. Evaluation
(refine evaluate, the validator's quality score) needs the held-out reference
text (WikiText-2 raw test) and, reported only, multiple-choice benchmarks. They
live in an asset folder (--assets, default $REFINE_ASSETS or the user cache
folder), pinned by sha256, and every run records the hash of each asset it used.`,
	}
	cmd.PersistentFlags().StringVar(&dir, "assets", assets.DefaultDir(), "asset folder")

	fetch := &cobra.Command{
		Use:   "fetch",
		Short: "Download the pinned assets from their public homes and verify their sha256",
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAssetsFetch(cmd.Context(), dir, cmd.ErrOrStderr())
		},
	}
	var ut1 string
	imp := &cobra.Command{
		Use:   "import DIR",
		Short: "Import the assets a local copy holds (datatrove's assets folder, the evaluation data), verifying their sha256",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAssetsImport(args[0], dir, ut1, cmd.OutOrStdout())
		},
	}
	imp.Flags().StringVar(&ut1, "ut1", "", "also import the UT1 adult blocklist from this folder (files domains and urls)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the known assets, their pinned hashes and whether the asset folder has them",
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAssetsList(dir, cmd.OutOrStdout())
		},
	}
	cmd.AddCommand(fetch, imp, list)
	return cmd
}

func runAssetsFetch(ctx context.Context, dir string, stderr io.Writer) error {
	log := slog.New(slog.NewTextHandler(stderr, nil))
	if err := assets.Fetch(ctx, dir, nil, log.Info); err != nil {
		return err
	}
	log.Info("assets ready", "folder", dir)
	return nil
}

// runAssetsImport imports the pipeline's word lists and the evaluation data
// that src holds. A folder with only one of the two kinds is fine; a folder
// with neither, or with a file whose hash is wrong, is an error.
func runAssetsImport(src, dir, ut1 string, stdout io.Writer) error {
	errPipeline := assets.Import(src, dir, ut1)
	if errPipeline != nil && !errors.Is(errPipeline, assets.ErrMissing) {
		return errPipeline
	}
	n, err := assets.ImportEval(src, dir)
	if err != nil {
		return err
	}
	if errPipeline != nil && n == 0 {
		return fmt.Errorf("%w (and no evaluation data either)", errPipeline)
	}
	if errPipeline == nil {
		fmt.Fprintf(stdout, "pipeline assets imported into %s\n", dir)
	}
	if n > 0 {
		fmt.Fprintf(stdout, "%d of %d evaluation assets imported into %s\n", n, len(assets.Eval), dir)
	}
	return nil
}

func runAssetsList(dir string, w io.Writer) error {
	for _, s := range assets.All() {
		state := "missing"
		if _, _, err := assets.Path(dir, s.Name); err == nil {
			state = "ok"
		}
		fmt.Fprintf(w, "%-44s %-7s sha256:%s  %s\n", s.Name, state, s.SHA256, s.Origin)
	}
	return nil
}
