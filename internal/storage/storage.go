// Package storage keeps canhgac's state in SQLite (the embedded default) or
// PostgreSQL. One Store serves both: queries are written once with '?'
// placeholders and rebound for PostgreSQL; the schema lives in embedded,
// numbered migrations per backend. Every read takes the caller's Scope and
// every write takes an Actor and records an audit event in the same
// transaction.
package storage

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver
)

// Backend names which database a Store uses.
type Backend string

// The backends.
const (
	SQLite   Backend = "sqlite"
	Postgres Backend = "postgres"
)

// Store is canhgac's persistent state.
type Store struct {
	db *sql.DB
	// wdb runs transactions. On SQLite it is one connection of its own:
	// SQLite has one writer anyway, and a connection's page cache is
	// thrown away whenever another connection has written, so a single
	// writer keeps its cache warm across transactions. On PostgreSQL it is
	// db.
	wdb     *sql.DB
	backend Backend
	now     func() time.Time
}

//go:embed migrations
var migrationFS embed.FS

// DBFile is the SQLite file name inside the data directory.
const DBFile = "canhgac.db"

// IsPostgresURL reports whether dsn selects the PostgreSQL backend.
func IsPostgresURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open opens the database and brings its schema up to date. With an empty
// dbURL it uses SQLite in dataDir (created if missing); a postgres:// URL
// selects PostgreSQL.
func Open(ctx context.Context, dataDir, dbURL string) (*Store, error) {
	var s *Store
	switch {
	case dbURL == "":
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
		path := filepath.Join(dataDir, DBFile)
		// WAL lets readers run beside the one writer; busy_timeout makes writers
		// wait instead of failing; _txlock=immediate takes the write lock at
		// BEGIN so two read-then-write transactions cannot deadlock; FULL
		// synchronous makes a commit survive power loss, not only kill -9.
		dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
			"&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)&_txlock=immediate&_time_format=sqlite"
		db, err := sql.Open("sqlite", dsn)
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8) // database/sql keeps 2 by default: the rest would be reopened cold
		// The writer's page cache is 64 MB (SQLite's default is 2 MB): it
		// holds the index pages that inventory uploads at fleet scale keep
		// touching, so a big transaction neither spills to the WAL midway
		// nor rereads them.
		// It checkpoints the WAL every 64 MB instead of every 4 MB: an
		// upload rewrites the same hot index pages as the one before it,
		// and a checkpoint copies each page once however often it changed.
		// Statement journals (a multi-row INSERT's undo) stay in memory
		// rather than in a temporary file.
		wdb, err := sql.Open("sqlite", dsn+"&_pragma=cache_size(-65536)&_pragma=wal_autocheckpoint(16384)&_pragma=temp_store(2)")
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
		wdb.SetMaxOpenConns(1)
		wdb.SetMaxIdleConns(1)
		wdb.SetConnMaxLifetime(0)
		wdb.SetConnMaxIdleTime(0)
		s = &Store{db: db, wdb: wdb, backend: SQLite}
	case IsPostgresURL(dbURL):
		db, err := sql.Open("pgx", dbURL)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		db.SetMaxOpenConns(20)
		// Keep them all: database/sql keeps 2 idle by default, and under
		// load every other query then opened a new server process (15 a
		// second seen with 20,000 agents).
		db.SetMaxIdleConns(20)
		db.SetConnMaxIdleTime(5 * time.Minute)
		s = &Store{db: db, wdb: db, backend: Postgres}
	default:
		return nil, fmt.Errorf("--db must be a postgres:// URL (or empty for SQLite in the data directory)")
	}
	s.now = func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
	if err := s.db.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("connect to %s: %w", s.backend, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close releases the database.
func (s *Store) Close() error {
	err := s.db.Close()
	if s.wdb != s.db {
		if werr := s.wdb.Close(); err == nil {
			err = werr
		}
	}
	return err
}

// Backend tells which database is in use.
func (s *Store) Backend() Backend { return s.backend }

// DB exposes the pool for health checks and pool metrics.
func (s *Store) DB() *sql.DB { return s.db }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

type migration struct {
	version int
	name    string
	sql     string
}

func (s *Store) migrations() ([]migration, error) {
	dir := "migrations/" + string(s.backend)
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number", e.Name())
		}
		body, err := fs.ReadFile(migrationFS, dir+"/"+e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{v, e.Name(), string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// SchemaVersion is the newest migration this binary knows.
func (s *Store) SchemaVersion() int {
	ms, _ := s.migrations()
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// ErrSchemaTooNew is returned by Open for a database written by a newer canhgac.
var ErrSchemaTooNew = errors.New("database schema is newer than this canhgac binary")

// migrateLimit, when set (by tests), stops migrations after that version,
// so that a test can write data the way an older canhgac did.
var migrateLimit int

func (s *Store) migrate(ctx context.Context) error {
	ms, err := s.migrations()
	if err != nil {
		return fmt.Errorf("read migrations: %w", err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	if s.backend == Postgres {
		// Several serve replicas may start at once; one migrates, the others wait.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7312026)`); err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMP NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("migrate: read version: %w", err)
	}
	latest := 0
	if len(ms) > 0 {
		latest = ms[len(ms)-1].version
	}
	if current > latest {
		return fmt.Errorf("%w: the database is at schema version %d but this binary knows only up to %d; run a newer canhgac or restore a backup", ErrSchemaTooNew, current, latest)
	}
	for _, m := range ms {
		if m.version <= current {
			continue
		}
		if migrateLimit > 0 && m.version > migrateLimit {
			break
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
			m.version, m.name, s.now()); err != nil {
			return fmt.Errorf("migration %s: record version: %w", m.name, err)
		}
	}
	return tx.Commit()
}

// AppliedVersion reads the schema version recorded in the database.
func (s *Store) AppliedVersion(ctx context.Context) (int, error) {
	var v int
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// rebind turns '?' placeholders into PostgreSQL's $1, $2, ….
// Queries in this package never put '?' inside string literals.
func (s *Store) rebind(q string) string {
	if s.backend != Postgres {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// inTx runs fn in a transaction, committing if it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// isUniqueViolation recognises a uniqueness failure from either backend.
func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "SQLSTATE 23505")
}

// isForeignKeyViolation recognises a reference failure from either backend.
func isForeignKeyViolation(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "FOREIGN KEY constraint failed") || strings.Contains(msg, "SQLSTATE 23503")
}

// likeEscape escapes LIKE wildcards in user text; pair it with ESCAPE '\'.
func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// Page is one page of a list and the total count matching its filter.
type Page[T any] struct {
	Items  []T `json:"items"`
	Total  int `json:"total"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

// MaxLimit caps page sizes.
const MaxLimit = 500

// DefaultLimit is the page size when none is given.
const DefaultLimit = 50

func clampPage(limit, offset int) (int, int) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	if limit > MaxLimit {
		limit = MaxLimit
	}
	if offset < 0 {
		offset = 0
	}
	return limit, offset
}

// where accumulates SQL conditions and their arguments.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}
