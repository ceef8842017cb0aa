// Package api is canhgac's JSON API under /api/v1.
package api

import "canhgac/internal/httpd"

// Register adds the API's routes to the server.
func Register(s *httpd.Server) {}
