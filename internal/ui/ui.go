// Package ui is canhgac's server-rendered web interface.
package ui

import "canhgac/internal/httpd"

// Register adds the web UI's routes to the server.
func Register(s *httpd.Server) {}
