package inventory

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/adler32"
	"io"
	"os"
)

// NDB layout, as written by rpm's lib/backend/ndb/rpmpkg.c. All integers
// are little-endian. The file starts with a 32-byte header (magic "RpmP",
// version 0, generation, number of slot pages, next package index),
// followed, in the rest of the slot pages of 4096 bytes, by 16-byte slots
// (magic "Slot", package index, block offset, block count; a zero block
// offset is a free slot). Blocks are 16 bytes. A blob at a slot's block
// offset has a 16-byte head (magic "BlbS", package index, timestamp, blob
// length), the header blob, zero padding and a 12-byte tail (Adler-32 of
// everything before the tail, blob length, magic "BlbE").
const (
	ndbHeaderSize   = 32
	ndbPageSize     = 4096
	ndbSlotSize     = 16
	ndbBlockSize    = 16
	ndbBlobHeadSize = 16
	ndbBlobTailSize = 12
	ndbMaxSlotPages = 4096 // 1M slots, ten times MaxPackages

	ndbMagic         = 'R' | 'p'<<8 | 'm'<<16 | 'P'<<24
	ndbSlotMagic     = 'S' | 'l'<<8 | 'o'<<16 | 't'<<24
	ndbBlobHeadMagic = 'B' | 'l'<<8 | 'b'<<16 | 'S'<<24
	ndbBlobTailMagic = 'B' | 'l'<<8 | 'b'<<16 | 'E'<<24
)

// ParseRPMNDB reads the installed packages from an rpm database in the NDB
// format (Packages.db: SUSE Linux Enterprise 15 and openSUSE Leap before
// they moved to SQLite). Each used slot points to a blob holding one rpm
// header; the blob's magic numbers, package index, length and Adler-32
// checksum are verified before the header is parsed with
// [ParseRPMHeader]. gpg-pubkey pseudo-packages are skipped. Blobs
// compressed with rpm's optional LZO support are not readable and fail
// the checksum or header checks.
func ParseRPMNDB(path string) ([]Package, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	pkgs, err := parseNDB(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("rpm ndb %s: %w", path, err)
	}
	return pkgs, nil
}

func parseNDB(r io.ReaderAt, size int64) ([]Package, error) {
	le := binary.LittleEndian
	var hdr [ndbHeaderSize]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if le.Uint32(hdr[0:]) != ndbMagic {
		return nil, errors.New("not an NDB database")
	}
	if v := le.Uint32(hdr[4:]); v != 0 {
		return nil, fmt.Errorf("unknown NDB version %d", v)
	}
	npages := le.Uint32(hdr[12:])
	if npages == 0 || npages > ndbMaxSlotPages || int64(npages)*ndbPageSize > size {
		return nil, fmt.Errorf("bad slot page count %d", npages)
	}
	fileBlocks := uint64(size) / ndbBlockSize
	minBlock := uint64(npages) * (ndbPageSize / ndbBlockSize)

	var pkgs []Package
	var usedBlocks uint64 // blobs do not overlap, so at most the file's blocks
	page := make([]byte, ndbPageSize)
	for p := uint32(0); p < npages; p++ {
		if _, err := r.ReadAt(page, int64(p)*ndbPageSize); err != nil {
			return nil, fmt.Errorf("slot page %d: %w", p, err)
		}
		start := 0
		if p == 0 {
			start = ndbHeaderSize
		}
		for o := start; o < ndbPageSize; o += ndbSlotSize {
			s := page[o : o+ndbSlotSize]
			if le.Uint32(s) != ndbSlotMagic {
				return nil, fmt.Errorf("slot page %d offset %d: bad slot magic", p, o)
			}
			pkgidx, blkoff, blkcnt := le.Uint32(s[4:]), uint64(le.Uint32(s[8:])), uint64(le.Uint32(s[12:]))
			if blkoff == 0 {
				continue // free slot
			}
			if pkgidx == 0 || blkcnt == 0 || blkoff < minBlock || blkoff+blkcnt > fileBlocks {
				return nil, fmt.Errorf("package %d: bad slot (blocks %d+%d)", pkgidx, blkoff, blkcnt)
			}
			usedBlocks += blkcnt
			if usedBlocks > fileBlocks {
				return nil, errors.New("slots overlap")
			}
			blob, err := readNDBBlob(r, pkgidx, blkoff, blkcnt)
			if err != nil {
				return nil, fmt.Errorf("package %d: %w", pkgidx, err)
			}
			h, err := ParseRPMHeader(blob)
			if err != nil {
				return nil, fmt.Errorf("package %d: %w", pkgidx, err)
			}
			if h.Name == "gpg-pubkey" {
				continue
			}
			if len(pkgs) >= MaxPackages {
				return nil, fmt.Errorf("%w (more than %d slots)", ErrTooManyPackages, MaxPackages)
			}
			pkgs = append(pkgs, h.Package())
		}
	}
	return pkgs, nil
}

// readNDBBlob reads and verifies the blob of package pkgidx stored in
// blkcnt blocks at blkoff, returning the header it holds.
func readNDBBlob(r io.ReaderAt, pkgidx uint32, blkoff, blkcnt uint64) ([]byte, error) {
	le := binary.LittleEndian
	n := blkcnt * ndbBlockSize
	if n < ndbBlobHeadSize+ndbBlobTailSize || n > rpmMaxDataLen+ndbBlobHeadSize+ndbBlobTailSize+ndbBlockSize {
		return nil, fmt.Errorf("blob of %d blocks", blkcnt)
	}
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, int64(blkoff*ndbBlockSize)); err != nil {
		return nil, err
	}
	if le.Uint32(buf) != ndbBlobHeadMagic || le.Uint32(buf[4:]) != pkgidx {
		return nil, errors.New("bad blob head")
	}
	bloblen := uint64(le.Uint32(buf[12:]))
	if (ndbBlobHeadSize+bloblen+ndbBlobTailSize+ndbBlockSize-1)/ndbBlockSize != blkcnt {
		return nil, fmt.Errorf("blob length %d does not match %d blocks", bloblen, blkcnt)
	}
	tail := buf[n-ndbBlobTailSize:]
	if le.Uint32(tail[8:]) != ndbBlobTailMagic || uint64(le.Uint32(tail[4:])) != bloblen {
		return nil, errors.New("bad blob tail")
	}
	if adler32.Checksum(buf[:n-ndbBlobTailSize]) != le.Uint32(tail) {
		return nil, errors.New("blob checksum mismatch")
	}
	return buf[ndbBlobHeadSize : ndbBlobHeadSize+bloblen], nil
}
