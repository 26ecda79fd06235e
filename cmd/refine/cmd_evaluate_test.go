package main

import (
	"context"
	"io"
	"strings"
	"testing"
)

func TestEvaluateRejectsBadFlags(t *testing.T) {
	for _, c := range []struct {
		name string
		o    evaluateOptions
		want string
	}{
		{"no reference", evaluateOptions{dataset: "x"}, "--reference is required"},
		{"bad benchmark", evaluateOptions{dataset: "x", reference: "r.txt", benchmarks: []string{"nopath"}}, "want NAME=PATH"},
	} {
		err := runEvaluate(context.Background(), c.o, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
}
