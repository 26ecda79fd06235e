package extract

import (
	"strings"
	"testing"
	"time"
)

// Expected values from Python: re.compile(r"(<html.*?)\s*/>", re.I).sub(r"\1>", s, count=1).
func TestFixSelfClosingHTML(t *testing.T) {
	for _, c := range [][2]string{
		{`<html lang="x"/>`, `<html lang="x">`},
		{"<html  />", "<html>"},
		{"<html\n/>", "<html>"},
		{"a<html x\n<HTML y />", "a<html x\n<HTML y>"},
		{"<html x\n\n  />", "<html x>"},
		{"<htmlx/>b<html/>", "<htmlx>b<html/>"},
		{"<html", "<html"},
		{`x<html a="/">/>`, `x<html a="/">>`},
		{"<html \u2028/>", "<html>"},
		{"<html\r/>", "<html>"},
		{"no", "no"},
		{"<html a/><html b/>", "<html a><html b/>"},
	} {
		if got := fixSelfClosingHTML(c[0]); got != c[1] {
			t.Errorf("fixSelfClosingHTML(%q) = %q, want %q", c[0], got, c[1])
		}
	}
}

// Expected values from Python: DOCTYPE_TAG = re.compile("^< ?! ?DOCTYPE.+?/ ?>", re.I).sub("", s, count=1).
func TestRemoveDoctypeTag(t *testing.T) {
	for _, c := range [][2]string{
		{`<!DOCTYPE html PUBLIC "x"/><html>`, "<html>"},
		{"<!doctype html><html><head><meta charset=x/><title>", "<title>"},
		{"< ! DOCTYPE html / ><p>", "<p>"},
		{"<!DOCTYPE/>", "<!DOCTYPE/>"},
		{"<!DOCTYPE x/>", ""},
		{"<!DOCTYPE html>", "<!DOCTYPE html>"},
		{" <!DOCTYPE x/>", " <!DOCTYPE x/>"},
	} {
		if got := removeDoctypeTag(c[0]); got != c[1] {
			t.Errorf("removeDoctypeTag(%q) = %q, want %q", c[0], got, c[1])
		}
	}
}

// TestRepairIsLinear: the repairs' regular expressions backtrack
// quadratically on long lines; ours must not.
func TestRepairIsLinear(t *testing.T) {
	for _, page := range []string{
		"<html" + strings.Repeat(" ", 1<<20) + "x\n<html/>",
		strings.Repeat("<html ", 1<<18) + "\n/>",
		"<!doctype html>" + strings.Repeat("<html ", 1<<18) + "/>",
	} {
		start := time.Now()
		repairFaultyHTML(page, strings.ToLower(prefixRunes(page, 50)))
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%d bytes took %v", len(page), d)
		}
	}
}
