package web

import (
	"encoding/base64"
	"net/http"
	"strings"

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
