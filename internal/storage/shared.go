package storage

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"canhgac/internal/model"
)

// The helpers below let capability packages (internal/alert, …) keep their
// own queries beside their logic while sharing this package's connection,
// placeholder rebinding, transactions, clock and audit log.

// Querier is what both *sql.DB and *sql.Tx offer.
type Querier = querier

// Rebind turns '?' placeholders into the backend's form.
func (s *Store) Rebind(q string) string { return s.rebind(q) }

// InTx runs fn in a transaction, committing if it returns nil.
func (s *Store) InTx(ctx context.Context, fn func(tx *sql.Tx) error) error { return s.inTx(ctx, fn) }

// Audit records a state change inside the transaction that makes it.
func (s *Store) Audit(ctx context.Context, tx *sql.Tx, actor model.Actor, action, resource string, id int64, agencyID *int64, before, after any) error {
	return s.audit(ctx, tx, actor, action, resource, id, agencyID, before, after)
}

// Now is the store's clock: UTC, truncated to what both backends keep.
func (s *Store) Now() time.Time { return s.now() }

// SetClock replaces the store's clock (tests use a fake one so that hours of
// escalation run in milliseconds).
func (s *Store) SetClock(now func() time.Time) {
	s.now = func() time.Time { return now().UTC().Truncate(time.Microsecond) }
}

// IsUniqueViolation recognises a uniqueness failure from either backend.
func IsUniqueViolation(err error) bool { return isUniqueViolation(err) }

// IsForeignKeyViolation recognises a reference failure from either backend.
func IsForeignKeyViolation(err error) bool { return isForeignKeyViolation(err) }

// LikeEscape escapes LIKE wildcards in user text; pair it with ESCAPE '\'.
func LikeEscape(s string) string { return likeEscape(s) }

// ClampPage bounds a page size and offset.
func ClampPage(limit, offset int) (int, int) { return clampPage(limit, offset) }

// AgencyPath returns the materialized path of an agency within scope.
func (s *Store) AgencyPath(ctx context.Context, q Querier, sc model.Scope, id int64) (string, error) {
	return s.agencyPath(ctx, q, sc, id)
}

// Where accumulates SQL conditions and their arguments for capability
// packages' queries, as this package's own queries do.
type Where = where

// Add appends a condition with its arguments.
func (w *where) Add(cond string, args ...any) { w.add(cond, args...) }

// In appends "col IN (…)" for vals.
func (w *where) In(col string, vals ...any) {
	ph := make([]string, len(vals))
	for i := range vals {
		ph[i] = "?"
	}
	w.add(col+` IN (`+strings.Join(ph, ", ")+`)`, vals...)
}

// Args are the arguments of the conditions, in order.
func (w *where) Args() []any { return w.args }

// InsertAsset creates an asset inside a capability's transaction (an
// enrolled agent becomes its host's asset in the same commit), validated,
// scoped and audited like CreateAsset.
func (s *Store) InsertAsset(ctx context.Context, tx *sql.Tx, actor model.Actor, a *model.Asset) error {
	if err := a.Validate(); err != nil {
		return err
	}
	return s.insertAsset(ctx, tx, actor, a, "create")
}
