package main

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"strconv"
	"time"

	"github.com/spf13/pflag"
)

// logOptions are the logging flags every long-running command shares.
type logOptions struct {
	Level  string
	Format string
}

func (o *logOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Level, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&o.Format, "log-format", "text", "log format: text or json")
}

// Logger builds the structured logger the flags describe.
func (o *logOptions) Logger(w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(o.Level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", o.Level, err)
	}
	if o.Format != "text" && o.Format != "json" {
		return nil, fmt.Errorf("--log-format %q: want text or json", o.Format)
	}
	return newLogger(w, lvl, o.Format), nil
}

// newLogger is every command's logger: text or JSON, with numbers rounded
// for people (readableAttr).
func newLogger(w io.Writer, lvl slog.Level, format string) *slog.Logger {
	hopts := &slog.HandlerOptions{Level: lvl, ReplaceAttr: readableAttr}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, hopts))
	}
	return slog.New(slog.NewTextHandler(w, hopts))
}

// readableAttr rounds what logs show: floats to 4 significant digits (at
// least one decimal; docs_per_s=213.9, not 213.88041090704544) and
// durations to the millisecond. Logs are for people; exact values live in
// the outputs (manifests, databases, the devnet summary).
func readableAttr(_ []string, a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindFloat64:
		a.Value = slog.Float64Value(roundFloat(a.Value.Float64()))
	case slog.KindDuration:
		if d := a.Value.Duration(); d > time.Millisecond || d < -time.Millisecond {
			a.Value = slog.DurationValue(d.Round(time.Millisecond))
		}
	}
	return a
}

// roundFloat keeps 4 significant digits, or one decimal for numbers of 1000
// and more (12345.7 rather than 1.235e+04).
func roundFloat(v float64) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	if math.Abs(v) >= 1000 {
		return math.Round(v*10) / 10
	}
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 4, 64), 64)
	if err != nil {
		return v
	}
	return r
}
