package devnet

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/datarefine/refine/assets"
	"github.com/datarefine/refine/internal/testdata"
)

func TestDebugL13(t *testing.T) {
	root := testdata.Dir(t)
	assetDir := t.TempDir()
	if err := assets.Import(filepath.Join(root, "filters_dedup", "datatrove_assets"), assetDir, ""); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Create("/tmp/l13/devnet.log")
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	sum, err := Run(ctx, Options{
		Dir: t.TempDir(), Miners: 3, Validators: 2, BlockTime: 250 * time.Millisecond, Tempo: 20,
		WARCs:         []string{filepath.Join(root, "warc", "real_crawls")},
		RangesPerWARC: 6, RecordsPerRange: 7,
		AssetsDir: assetDir, UntilDone: true, Log: slog.New(slog.NewJSONHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	t.Logf("%+v %v", sum, err)
}
