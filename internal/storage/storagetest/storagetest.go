// Package storagetest opens fresh stores on every backend for tests: SQLite
// in a temp directory always, and PostgreSQL in a fresh schema when
// CANHGAC_TEST_POSTGRES names a server (CI always sets it).
package storagetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"canhgac/internal/storage"
)

// EnvPostgres names the environment variable holding the test server's URL.
const EnvPostgres = "CANHGAC_TEST_POSTGRES"

// Backend is a way to open a fresh, empty store.
type Backend struct {
	Name string
	Open func(t testing.TB) *storage.Store
	// URL opens the same database again (empty for SQLite, which uses Dir).
	URL func(t testing.TB) (dataDir, dbURL string)
}

// Backends lists SQLite and, when configured, PostgreSQL.
func Backends(t testing.TB) []Backend {
	bs := []Backend{{Name: "sqlite", URL: func(t testing.TB) (string, string) { return t.TempDir(), "" }}}
	if os.Getenv(EnvPostgres) != "" {
		bs = append(bs, Backend{Name: "postgres", URL: func(t testing.TB) (string, string) { return t.TempDir(), FreshSchemaURL(t) }})
	} else if os.Getenv("CI") != "" {
		t.Fatalf("CI is set but %s is not: the PostgreSQL suite must run in CI", EnvPostgres)
	}
	for i := range bs {
		b := &bs[i]
		b.Open = func(t testing.TB) *storage.Store {
			dir, u := b.URL(t)
			s, err := storage.Open(context.Background(), dir, u)
			if err != nil {
				t.Fatalf("open %s store: %v", b.Name, err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
	}
	return bs
}

// Each runs fn as a subtest on every backend with a fresh store.
func Each(t *testing.T, fn func(t *testing.T, s *storage.Store)) {
	for _, b := range Backends(t) {
		t.Run(b.Name, func(t *testing.T) { fn(t, b.Open(t)) })
	}
}

// FreshSchemaURL creates an empty schema on the test PostgreSQL server, drops
// it when the test ends, and returns a URL whose search_path selects it.
func FreshSchemaURL(t testing.TB) string {
	base := os.Getenv(EnvPostgres)
	if base == "" {
		t.Skipf("%s is not set; skipping PostgreSQL", EnvPostgres)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create schema on %s: %v", EnvPostgres, err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err == nil {
			db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
			db.Close()
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvPostgres, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
