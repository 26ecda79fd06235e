package web

import (
	"encoding/base64"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
)

func jwtDecode(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
func jwtEncode(b []byte) string          { return base64.RawURLEncoding.EncodeToString(b) }

// walkRoutes calls fn for every routed method and pattern.
func walkRoutes(s *Site, fn func(method, route string)) error {
	return chi.Walk(s.Router(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		route = strings.TrimSuffix(route, "/")
		if route == "" {
			route = "/"
		}
		fn(method, strings.ReplaceAll(route, "/*/", "/"))
		return nil
	})
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	must(t, err)
	return u
}

func newJar() http.CookieJar {
	j, _ := cookiejar.New(nil)
	return j
}

func readFile(name string) (string, error) {
	b, err := os.ReadFile(name)
	return string(b), err
}
