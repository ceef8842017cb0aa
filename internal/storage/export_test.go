package storage

// MigrateOnlyTo makes Open stop migrating after version v until the
// returned function is called.
func MigrateOnlyTo(v int) (restore func()) {
	migrateLimit = v
	return func() { migrateLimit = 0 }
}
