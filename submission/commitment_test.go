package submission

import (
	"errors"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	rev := strings.Repeat("ab", 20)
	hash := strings.Repeat("0123456789abcdef", 4)
	c, err := New("alice/refined", rev, 42, hash)
	if err != nil {
		t.Fatal(err)
	}
	s := c.String()
	if s != "r1:alice/refined@"+rev+":42:0123456789abcdef" {
		t.Fatalf("String() = %s", s)
	}
	back, err := Parse(s)
	if err != nil || back != c {
		t.Fatalf("Parse = %+v, %v", back, err)
	}
	local := strings.Repeat("cd", 32)
	if _, err := New("5FHneW46xGXgs5mU/refined", local, 1, hash); err != nil {
		t.Fatalf("a 64-digit revision with a long repo should fit: %v", err)
	}
}

func TestParseRejects(t *testing.T) {
	rev := strings.Repeat("ab", 20)
	for _, s := range []string{
		"",
		"r2:alice/refined@" + rev + ":1:0123456789abcdef",
		"r1:alice/refined" + rev + ":1:0123456789abcdef",
		"r1:alice/refined@main:1:0123456789abcdef",
		"r1:alice/refined@" + rev + ":x:0123456789abcdef",
		"r1:alice/refined@" + rev + ":0:0123456789abcdef",
		"r1:alice/refined@" + rev + ":01:0123456789abcdef",
		"r1:alice/refined@" + rev + ":1:0123",
		"r1:../x@" + rev + ":1:0123456789abcdef",
		"r1:a/b@" + rev + ":1:0123456789abcdef:extra",
		"r1:" + strings.Repeat("a", 90) + "/b@" + strings.Repeat("cd", 32) + ":1:0123456789abcdef",
	} {
		if _, err := Parse(s); !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse(%q) = %v, want ErrMalformed", s, err)
		}
	}
}
