package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/datarefine/refine/assets"
)

func newAssetsCommand() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "assets",
		Short: "Manage the external assets (URL word lists, blocklist, evaluation data)",
		Long: `The pipeline needs datatrove's URL word lists (built into the binary, about
4 KB, Apache-2.0) and, optionally, the UT1 adult domain/URL blocklist. Evaluation
(refine evaluate, the validator's quality score) needs the held-out reference
text (WikiText-2 raw test) and, reported only, multiple-choice benchmarks. They
live in an asset folder (--assets, default $REFINE_ASSETS or the user cache
folder), pinned by sha256, and every run records the hash of each asset it used.
A word list in the asset folder is used instead of the built-in copy; both must
have the pinned hash.`,
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
		Short: "Import the assets a local copy holds (datatrove's assets folder, the evaluation data, or both as in ../shared/data), verifying their sha256",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAssetsImport(args[0], dir, ut1, cmd.OutOrStdout())
		},
	}
	imp.Flags().StringVar(&ut1, "ut1", "", "also import the UT1 adult blocklist from this folder (files domains and urls)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the known assets, their pinned hashes and where a run finds them (asset folder, built in, missing)",
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAssetsList(dir, cmd.OutOrStdout())
		},
	}
	cmd.AddCommand(fetch, imp, list)
	return cmd
}

func runAssetsFetch(ctx context.Context, dir string, stderr io.Writer) error {
	log := newLogger(stderr, slog.LevelInfo, "text")
	if err := assets.Fetch(ctx, dir, nil, log); err != nil {
		return err
	}
	log.Info("assets ready", "folder", dir)
	return nil
}

// runAssetsImport imports the pipeline's word lists and the evaluation data
// that src holds. A folder with only one of the two kinds is fine; a folder
// with neither, or with a file whose hash is wrong, is an error.
func runAssetsImport(src, dir, ut1 string, stdout io.Writer) error {
	if st, err := os.Stat(src); err != nil || !st.IsDir() {
		return fmt.Errorf("import: %s is not a folder", src)
	}
	errPipeline := assets.Import(src, dir, ut1)
	if errPipeline != nil && !errors.Is(errPipeline, assets.ErrMissing) {
		return errPipeline
	}
	n, err := assets.ImportEval(src, dir)
	if err != nil {
		return err
	}
	if errPipeline != nil && n == 0 && ut1 == "" {
		return fmt.Errorf("%w (and no evaluation data either)", errPipeline)
	}
	if ut1 != "" {
		fmt.Fprintf(stdout, "UT1 adult blocklist imported into %s\n", dir)
	}
	if errPipeline == nil {
		fmt.Fprintf(stdout, "pipeline word lists imported into %s\n", dir)
	}
	if n > 0 {
		fmt.Fprintf(stdout, "%d of %d evaluation assets imported into %s\n", n, len(assets.Eval), dir)
	}
	return nil
}

// runAssetsList prints each asset and where a run finds it: "ok" (the
// asset folder), "built-in" (the binary's copy), "altered" (the folder's
// copy has the wrong hash: an error for the runs that need it) or "missing".
func runAssetsList(dir string, w io.Writer) error {
	fmt.Fprintf(w, "asset folder %s\n", dir)
	for _, s := range assets.All() {
		state := "missing"
		_, _, err := assets.Read(dir, s.Name)
		switch {
		case assets.InFolder(dir, s.Name):
			state = "ok"
		case err == nil:
			state = "built-in"
		case !errors.Is(err, assets.ErrMissing):
			state = "altered"
		}
		fmt.Fprintf(w, "%-44s %-8s sha256:%s  %s\n", s.Name, state, s.SHA256, s.Origin)
	}
	for _, name := range []string{"domains", "urls"} {
		state := "absent (optional; import with --ut1)"
		if sha, err := assets.Hash(filepath.Join(dir, assets.Blocklist, name)); err == nil {
			state = "ok sha256:" + sha
		}
		fmt.Fprintf(w, "%-44s %s\n", assets.Blocklist+"/"+name, state)
	}
	return nil
}
