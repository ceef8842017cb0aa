package inventory

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// RPM header tags read by ParseRPMHeader (see rpmtag.h in the rpm sources).
const (
	rpmTagName      = 1000
	rpmTagVersion   = 1001
	rpmTagRelease   = 1002
	rpmTagEpoch     = 1003
	rpmTagVendor    = 1011
	rpmTagArch      = 1022
	rpmTagSourceRPM = 1044
)

// RPM header data types.
const (
	rpmTypeNull        = 0
	rpmTypeChar        = 1
	rpmTypeInt8        = 2
	rpmTypeInt16       = 3
	rpmTypeInt32       = 4
	rpmTypeInt64       = 5
	rpmTypeString      = 6
	rpmTypeBin         = 7
	rpmTypeStringArray = 8
	rpmTypeI18NString  = 9
)

// Bounds of a header blob, after rpm's own hdrblob checks.
const (
	rpmMaxIndexEntries = 0xffff
	rpmMaxDataLen      = 256 << 20
)

// rpmHeaderMagic starts a header in a package file; headers stored in the
// database omit it.
var rpmHeaderMagic = []byte{0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0}

// RPMHeader is the subset of an RPM header that ParseRPMHeader extracts.
type RPMHeader struct {
	Name      string
	Version   string
	Release   string
	Epoch     int64 // -1 when the header has no EPOCH tag
	Arch      string
	SourceRPM string
	Vendor    string
}

// ParseRPMHeader parses an RPM header blob as stored in the rpm database
// (optionally preceded by the 8-byte header magic of package files).
//
// The layout, all integers big-endian, is: the number of index entries
// (il, uint32), the size of the data store (dl, uint32), il index entries
// of 16 bytes each (tag int32, type uint32, offset int32, count uint32),
// then dl bytes of data. An entry's offset is relative to the start of the
// data store; strings are NUL-terminated. Region tags (such as the
// immutable header region, tag 63) and tags other than NAME, VERSION,
// RELEASE, EPOCH, ARCH, SOURCERPM and VENDOR are ignored.
//
// ParseRPMHeader validates every offset it follows and returns an error for
// a truncated or inconsistent blob, a string longer than [MaxFieldLen], or
// a header without NAME.
func ParseRPMHeader(blob []byte) (RPMHeader, error) {
	h := RPMHeader{Epoch: -1}
	if bytes.HasPrefix(blob, rpmHeaderMagic) {
		blob = blob[len(rpmHeaderMagic):]
	}
	if len(blob) < 8 {
		return h, errors.New("rpm header: too short")
	}
	il := binary.BigEndian.Uint32(blob[0:4])
	dl := binary.BigEndian.Uint32(blob[4:8])
	if il == 0 || il > rpmMaxIndexEntries {
		return h, fmt.Errorf("rpm header: bad index entry count %d", il)
	}
	if dl > rpmMaxDataLen {
		return h, fmt.Errorf("rpm header: bad data length %d", dl)
	}
	need := 8 + uint64(il)*16 + uint64(dl)
	if uint64(len(blob)) < need {
		return h, fmt.Errorf("rpm header: truncated (%d bytes, need %d)", len(blob), need)
	}
	index := blob[8 : 8+int(il)*16]
	data := blob[8+int(il)*16 : need]
	for i := 0; i < int(il); i++ {
		e := index[i*16 : i*16+16]
		tag := int32(binary.BigEndian.Uint32(e[0:4]))
		typ := binary.BigEndian.Uint32(e[4:8])
		off := int32(binary.BigEndian.Uint32(e[8:12]))
		count := binary.BigEndian.Uint32(e[12:16])
		var dst *string
		switch tag {
		case rpmTagName:
			dst = &h.Name
		case rpmTagVersion:
			dst = &h.Version
		case rpmTagRelease:
			dst = &h.Release
		case rpmTagArch:
			dst = &h.Arch
		case rpmTagSourceRPM:
			dst = &h.SourceRPM
		case rpmTagVendor:
			dst = &h.Vendor
		case rpmTagEpoch:
			if typ != rpmTypeInt32 || count < 1 {
				return h, fmt.Errorf("rpm header: EPOCH has type %d count %d", typ, count)
			}
			if off < 0 || int64(off)+4 > int64(len(data)) {
				return h, fmt.Errorf("rpm header: EPOCH offset %d out of range", off)
			}
			h.Epoch = int64(binary.BigEndian.Uint32(data[off : off+4]))
			continue
		default:
			continue
		}
		if typ != rpmTypeString && typ != rpmTypeI18NString && typ != rpmTypeStringArray {
			return h, fmt.Errorf("rpm header: tag %d has type %d, want a string", tag, typ)
		}
		if count < 1 {
			return h, fmt.Errorf("rpm header: tag %d has count 0", tag)
		}
		if off < 0 || int64(off) >= int64(len(data)) {
			return h, fmt.Errorf("rpm header: tag %d offset %d out of range", tag, off)
		}
		rest := data[off:]
		end := bytes.IndexByte(rest, 0)
		if end < 0 {
			return h, fmt.Errorf("rpm header: tag %d string not terminated", tag)
		}
		if end > MaxFieldLen {
			return h, fmt.Errorf("rpm header: tag %d: %w", tag, ErrFieldTooLong)
		}
		*dst = string(rest[:end])
	}
	if h.Name == "" {
		return h, errors.New("rpm header: no NAME")
	}
	return h, nil
}

// Package converts h to a Package. Version is [epoch:]version-release;
// SourceName and SourceVersion come from SOURCERPM
// ("bash-5.1.8-6.el9.src.rpm"), with the binary's epoch, and Origin is the
// vendor.
func (h RPMHeader) Package() Package {
	evr := h.Version
	if h.Release != "" {
		evr += "-" + h.Release
	}
	epoch := ""
	if h.Epoch >= 0 {
		epoch = strconv.FormatInt(h.Epoch, 10) + ":"
	}
	p := Package{
		Ecosystem:     EcosystemRPM,
		Name:          h.Name,
		Version:       epoch + evr,
		Arch:          h.Arch,
		SourceName:    h.Name,
		SourceVersion: epoch + evr,
		Origin:        h.Vendor,
	}
	if n, v, r, ok := splitSourceRPM(h.SourceRPM); ok {
		p.SourceName = n
		p.SourceVersion = epoch + v + "-" + r
	}
	return p
}

// splitSourceRPM splits "name-version-release.src.rpm" into its parts.
func splitSourceRPM(s string) (name, version, release string, ok bool) {
	for _, suf := range []string{".src.rpm", ".nosrc.rpm"} {
		if t, found := strings.CutSuffix(s, suf); found {
			s = t
			break
		}
	}
	i := strings.LastIndexByte(s, '-')
	if i <= 0 {
		return "", "", "", false
	}
	release = s[i+1:]
	s = s[:i]
	j := strings.LastIndexByte(s, '-')
	if j <= 0 || release == "" || j == len(s)-1 {
		return "", "", "", false
	}
	return s[:j], s[j+1:], release, true
}

// ParseRPMDB reads the installed packages from an rpm package database in
// any of the formats rpm has used, recognised by the file's magic number:
// SQLite (rpmdb.sqlite, see [ParseRPMSQLite]), Berkeley DB hash (Packages,
// see [ParseRPMBerkeleyDB]) or NDB (Packages.db, see [ParseRPMNDB]). Other
// files yield an error wrapping [ErrUnsupportedRPMDB].
func ParseRPMDB(path string) ([]Package, error) {
	return parseRPMDB(context.Background(), path)
}

func parseRPMDB(ctx context.Context, path string) ([]Package, error) {
	format, err := detectRPMDB(path)
	if err != nil {
		return nil, err
	}
	switch format {
	case "sqlite":
		return parseRPMSQLite(ctx, path)
	case "bdb":
		return ParseRPMBerkeleyDB(path)
	default:
		return ParseRPMNDB(path)
	}
}

// ParseRPMSQLite reads the installed packages from an rpm database in the
// SQLite format (rpmdb.sqlite, used since RPM 4.16: /var/lib/rpm on RHEL 9
// and derivatives, /usr/lib/sysimage/rpm on Fedora and openSUSE). Each row
// of its Packages table (hnum INTEGER, blob BLOB) holds one header, parsed
// with [ParseRPMHeader]. The gpg-pubkey pseudo-packages that hold imported
// signing keys are skipped.
//
// The database is opened read-only and never modified. It returns an
// error wrapping [ErrTooManyPackages] for more than [MaxPackages] rows and
// [ErrUnsupportedRPMDB] if the file is not an SQLite database.
func ParseRPMSQLite(path string) ([]Package, error) {
	return parseRPMSQLite(context.Background(), path)
}

func parseRPMSQLite(ctx context.Context, path string) ([]Package, error) {
	format, err := detectRPMDB(path)
	if err != nil {
		return nil, err
	}
	if format != "sqlite" {
		return nil, fmt.Errorf("%s: %s database, not SQLite: %w", path, format, ErrUnsupportedRPMDB)
	}
	pkgs, err := queryRPMSQLite(ctx, path, "mode=ro")
	if err != nil && !errors.Is(err, ErrTooManyPackages) && ctx.Err() == nil {
		// A read-only open fails when the database is in WAL mode and the
		// -shm file cannot be created (a read-only mount, an unprivileged
		// agent). immutable=1 reads the main file without locking.
		if p2, err2 := queryRPMSQLite(ctx, path, "immutable=1"); err2 == nil {
			return p2, nil
		}
	}
	return pkgs, err
}

// detectRPMDB returns "sqlite", "bdb" or "ndb" after the file's magic
// number.
func detectRPMDB(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var hdr [16]byte
	n, _ := io.ReadFull(f, hdr[:])
	switch {
	case n == 16 && string(hdr[:]) == "SQLite format 3\x00":
		return "sqlite", nil
	case n >= 4 && string(hdr[:4]) == "RpmP":
		return "ndb", nil
	case n == 16 && (binary.LittleEndian.Uint32(hdr[12:]) == bdbHashMagic || binary.BigEndian.Uint32(hdr[12:]) == bdbHashMagic):
		// The magic is at byte 12 of the metadata page, in the byte order
		// of the machine that wrote the file.
		return "bdb", nil
	}
	return "", fmt.Errorf("%s: unknown file format: %w", path, ErrUnsupportedRPMDB)
}

func queryRPMSQLite(ctx context.Context, path, params string) ([]Package, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	abs = filepath.ToSlash(abs)
	if !strings.HasPrefix(abs, "/") {
		abs = "/" + abs // "C:/x" becomes file:///C:/x
	}
	u := url.URL{Scheme: "file", Path: abs, RawQuery: params}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	rows, err := db.QueryContext(ctx, "SELECT hnum, blob FROM Packages")
	if err != nil {
		return nil, fmt.Errorf("rpmdb %s: %w", path, err)
	}
	defer rows.Close()
	var pkgs []Package
	n := 0
	for rows.Next() {
		n++
		if n > MaxPackages {
			return nil, fmt.Errorf("rpmdb %s: %w (more than %d rows)", path, ErrTooManyPackages, MaxPackages)
		}
		var hnum int64
		var blob []byte
		if err := rows.Scan(&hnum, &blob); err != nil {
			return nil, fmt.Errorf("rpmdb %s: %w", path, err)
		}
		h, err := ParseRPMHeader(blob)
		if err != nil {
			return nil, fmt.Errorf("rpmdb %s: package %d: %w", path, hnum, err)
		}
		if h.Name == "gpg-pubkey" {
			continue
		}
		pkgs = append(pkgs, h.Package())
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("rpmdb %s: %w", path, err)
	}
	return pkgs, nil
}
