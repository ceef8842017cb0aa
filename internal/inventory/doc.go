// Package inventory collects and parses the software inventory that the
// canhgac endpoint agent reports, so that the server can match installed
// packages against vulnerability data (Debian, RPM and Alpine version rules,
// Windows KB identifiers).
//
// The package has three layers:
//
//   - Parsers that work on readers or file paths and never touch the running
//     system: [ParseOSRelease], [ParseDpkgStatus], [ParseApkInstalled],
//     [ParseRPMSQLite] and [ParseRPMHeader]. They are bounded (see
//     [MaxPackages] and [MaxFieldLen]) because the same code runs on the
//     server against input that an agent, or an attacker, supplied.
//   - [Collect], which gathers host facts and packages from a root directory
//     (normally "/", a fake tree in tests) on Linux, and from the registry on
//     Windows.
//   - Helpers for the server: [Diff] and [Delta.Apply] for incremental
//     uploads, and [Validate] for uploaded inventories.
//
// Unsupported: the BerkeleyDB ("Packages") and NDB ("Packages.db") rpm
// database formats used by older RPM distributions; [Collect] records
// [ErrUnsupportedRPMDB] in [Inventory.Errors] when it finds only one of them.
package inventory
