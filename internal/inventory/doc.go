// Package inventory collects and parses the software inventory that the
// canhgac endpoint agent reports, so that the server can match installed
// packages against vulnerability data (Debian, RPM and Alpine version rules,
// Windows KB identifiers).
//
// The package has three layers:
//
//   - Parsers that work on readers or file paths and never touch the running
//     system: [ParseOSRelease], [ParseDpkgStatus], [ParseApkInstalled],
//     [ParseRPMDB] (with [ParseRPMSQLite], [ParseRPMBerkeleyDB] and
//     [ParseRPMNDB] for the three rpm database formats) and
//     [ParseRPMHeader]. They are bounded (see [MaxPackages] and
//     [MaxFieldLen]) because the same code may run on the server against
//     input that an agent, or an attacker, supplied.
//   - [Collect], which gathers host facts and packages from a root directory
//     (normally "/", a fake tree in tests) on Linux, and from the registry on
//     Windows.
//   - Helpers for the server: [Diff] and [Delta.Apply] for incremental
//     uploads, and [Validate] for uploaded inventories.
//
// Not supported: encrypted Berkeley DB rpm databases and NDB blobs
// compressed with rpm's optional LZO support (both reported as errors);
// Windows programs installed without an Uninstall registry entry
// (portable applications, most Microsoft Store apps); Windows updates
// other than those recorded in the Component Based Servicing store or the
// legacy Hotfix key.
package inventory
