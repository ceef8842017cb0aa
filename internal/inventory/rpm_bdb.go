package inventory

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// Berkeley DB hash database layout, as documented in Berkeley DB's
// dbinc/db_page.h. Every page starts with a 26-byte header: lsn (8 bytes),
// pgno, prev_pgno, next_pgno (uint32), entries, hf_offset (uint16), level
// and type (uint8). Page 0 is the metadata page; the generic metadata
// header has magic at byte 12, pagesize at 20, encrypt_alg at 24, type at
// 25, metaflags at 26 and last_pgno at 32. Integers are in the byte order of
// the machine that created the file, which the magic number reveals.
const (
	bdbHashMagic      = 0x061561
	bdbPageHeaderSize = 26
	bdbChecksumSize   = 6 // PG_CHKSUM, present when metaflags has DBMETA_CHKSUM
	bdbMetaChecksum   = 0x01

	bdbPageHashUnsorted = 2
	bdbPageOverflow     = 7
	bdbPageHashMeta     = 8
	bdbPageHash         = 13

	// Items on hash pages start with a type byte.
	bdbItemKeyData = 1 // HKEYDATA: the bytes follow the type
	bdbItemOffPage = 3 // HOFFPAGE: 3 unused bytes, pgno, tlen (12 bytes)
)

// ParseRPMBerkeleyDB reads the installed packages from an rpm database in
// the Berkeley DB hash format (/var/lib/rpm/Packages: RHEL and CentOS 7 and
// 8, Amazon Linux 2, SLES 12 and older Fedora). The database is read as a
// plain file, without Berkeley DB and without locking: every hash page is
// scanned and each data item, an rpm header keyed by its record number, is
// parsed with [ParseRPMHeader]; large headers are gathered from their chains
// of overflow pages. The 4-byte record that rpm keeps under key 0 and the
// gpg-pubkey pseudo-packages are skipped.
//
// Encrypted databases are refused. It returns an error wrapping
// [ErrTooManyPackages] for more than [MaxPackages] headers.
func ParseRPMBerkeleyDB(path string) ([]Package, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	pkgs, err := parseBerkeleyDB(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("rpm berkeleydb %s: %w", path, err)
	}
	return pkgs, nil
}

// bdbFile reads pages of a Berkeley DB hash file.
type bdbFile struct {
	r        io.ReaderAt
	order    binary.ByteOrder
	pageSize int
	overhead int    // page header size, including the checksum area
	last     uint32 // last valid page number
	// used marks overflow pages already read: each belongs to one item,
	// so a page reached twice is corruption, and reading stays linear in
	// the file size.
	used []bool
}

func (db *bdbFile) page(pgno uint32, buf []byte) error {
	if pgno > db.last {
		return fmt.Errorf("page %d beyond the last page %d", pgno, db.last)
	}
	_, err := db.r.ReadAt(buf, int64(pgno)*int64(db.pageSize))
	if err != nil {
		return fmt.Errorf("page %d: %w", pgno, err)
	}
	return nil
}

func parseBerkeleyDB(r io.ReaderAt, size int64) ([]Package, error) {
	meta := make([]byte, 512)
	if _, err := r.ReadAt(meta, 0); err != nil {
		return nil, fmt.Errorf("metadata page: %w", err)
	}
	db := &bdbFile{r: r}
	switch {
	case binary.LittleEndian.Uint32(meta[12:]) == bdbHashMagic:
		db.order = binary.LittleEndian
	case binary.BigEndian.Uint32(meta[12:]) == bdbHashMagic:
		db.order = binary.BigEndian
	default:
		return nil, errors.New("not a Berkeley DB hash database")
	}
	if meta[25] != bdbPageHashMeta {
		return nil, fmt.Errorf("metadata page has type %d", meta[25])
	}
	if meta[24] != 0 {
		return nil, fmt.Errorf("encrypted database: %w", ErrUnsupportedRPMDB)
	}
	ps := db.order.Uint32(meta[20:])
	if ps < 512 || ps > 65536 || ps&(ps-1) != 0 {
		return nil, fmt.Errorf("bad page size %d", ps)
	}
	db.pageSize = int(ps)
	db.overhead = bdbPageHeaderSize
	if meta[26]&bdbMetaChecksum != 0 {
		db.overhead += bdbChecksumSize
	}
	npages := size / int64(ps)
	if npages < 1 {
		return nil, errors.New("truncated")
	}
	db.last = db.order.Uint32(meta[32:])
	if int64(db.last) > npages-1 {
		db.last = uint32(npages - 1)
	}

	db.used = make([]bool, int(db.last)+1)
	var pkgs []Package
	page := make([]byte, ps)
	ovf := make([]byte, ps)
	for pgno := uint32(1); pgno <= db.last && pgno != 0; pgno++ {
		if err := db.page(pgno, page); err != nil {
			return nil, err
		}
		if t := page[25]; t != bdbPageHash && t != bdbPageHashUnsorted {
			continue
		}
		entries := int(db.order.Uint16(page[20:]))
		if db.overhead+2*entries > db.pageSize {
			return nil, fmt.Errorf("page %d: %d entries do not fit", pgno, entries)
		}
		inp := func(i int) int { return int(db.order.Uint16(page[db.overhead+2*i:])) }
		// Entries alternate key, data; items are stored from the end of the
		// page downwards, so item i ends where item i-1 starts.
		for i := 1; i < entries; i += 2 {
			off, end := inp(i), inp(i-1)
			if off < db.overhead+2*entries || off >= end || end > db.pageSize {
				return nil, fmt.Errorf("page %d: item %d at bad offset %d", pgno, i, off)
			}
			item := page[off:end]
			var blob []byte
			switch item[0] {
			case bdbItemKeyData:
				if len(item)-1 <= 8 {
					continue // rpm's record 0 holds a 4-byte counter, not a header
				}
				blob = item[1:]
			case bdbItemOffPage:
				if len(item) < 12 {
					return nil, fmt.Errorf("page %d: short off-page item", pgno)
				}
				var err error
				blob, err = db.overflow(db.order.Uint32(item[4:]), db.order.Uint32(item[8:]), ovf)
				if err != nil {
					return nil, fmt.Errorf("page %d: item %d: %w", pgno, i, err)
				}
			default:
				continue // duplicates are not used by rpm
			}
			h, err := ParseRPMHeader(blob)
			if err != nil {
				return nil, fmt.Errorf("page %d: item %d: %w", pgno, i, err)
			}
			if h.Name == "gpg-pubkey" {
				continue
			}
			if len(pkgs) >= MaxPackages {
				return nil, fmt.Errorf("%w (more than %d headers)", ErrTooManyPackages, MaxPackages)
			}
			pkgs = append(pkgs, h.Package())
		}
	}
	return pkgs, nil
}

// overflow reads an item of tlen bytes stored on the chain of overflow
// pages starting at pgno. Each overflow page holds hf_offset bytes after
// its header and links to the next through next_pgno; 0 ends the chain.
func (db *bdbFile) overflow(pgno, tlen uint32, page []byte) ([]byte, error) {
	if tlen > rpmMaxDataLen {
		return nil, fmt.Errorf("overflow item of %d bytes", tlen)
	}
	out := make([]byte, 0, min(int(tlen), 1<<20))
	for pgno != 0 {
		if pgno > db.last {
			return nil, fmt.Errorf("overflow page %d beyond the last page %d", pgno, db.last)
		}
		if db.used[pgno] {
			return nil, fmt.Errorf("overflow page %d used twice", pgno)
		}
		db.used[pgno] = true
		if err := db.page(pgno, page); err != nil {
			return nil, err
		}
		if page[25] != bdbPageOverflow {
			return nil, fmt.Errorf("page %d: type %d, want overflow", pgno, page[25])
		}
		hf := int(db.order.Uint16(page[22:]))
		if hf > db.pageSize-db.overhead || len(out)+hf > int(tlen) {
			return nil, fmt.Errorf("page %d: bad overflow length %d", pgno, hf)
		}
		out = append(out, page[db.overhead:db.overhead+hf]...)
		pgno = db.order.Uint32(page[16:])
	}
	if len(out) != int(tlen) {
		return nil, fmt.Errorf("overflow item has %d bytes, want %d", len(out), tlen)
	}
	return out, nil
}
