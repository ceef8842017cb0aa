package spool

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var (
	// errFrame is wrapped by all errors about invalid frames.
	errFrame = errors.New("spool: invalid frame")
	// errShort reports a frame that extends past the end of the data,
	// as left by a torn write.
	errShort = fmt.Errorf("%w: truncated", errFrame)
	// errBad reports a complete frame with a bad checksum or sequence
	// number.
	errBad = fmt.Errorf("%w: corrupt", errFrame)
)

// appendFrame appends the encoding of one record to buf.
func appendFrame(buf []byte, seq uint64, data []byte) []byte {
	var h [HeaderSize]byte
	binary.LittleEndian.PutUint32(h[0:4], uint32(len(data)))
	binary.LittleEndian.PutUint64(h[8:16], seq)
	c := crc32.Update(0, castagnoli, h[0:4])
	c = crc32.Update(c, castagnoli, h[8:16])
	c = crc32.Update(c, castagnoli, data)
	binary.LittleEndian.PutUint32(h[4:8], c)
	buf = append(buf, h[:]...)
	return append(buf, data...)
}

type frameHeader struct {
	length uint32
	crc    uint32
	seq    uint64
	raw    [HeaderSize]byte
}

// frameReader reads frames from a region of a segment file, validating
// lengths, sequence numbers and checksums.
type frameReader struct {
	r     *bufio.Reader
	off   int64  // offset of the next frame
	end   int64  // end of the region
	prev  uint64 // sequence numbers must be greater
	limit uint64 // sequence numbers must be smaller
}

func newFrameReader(r io.ReaderAt, off, end int64, prev uint64) *frameReader {
	return &frameReader{
		r:     bufio.NewReaderSize(io.NewSectionReader(r, off, end-off), 64<<10),
		off:   off,
		end:   end,
		prev:  prev,
		limit: math.MaxUint64,
	}
}

// header reads the next frame header. It does not advance past the frame;
// payload or skip must follow.
func (fr *frameReader) header() (frameHeader, error) {
	var h frameHeader
	if fr.end-fr.off < HeaderSize {
		return h, errShort
	}
	if _, err := io.ReadFull(fr.r, h.raw[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return h, errShort
		}
		return h, err
	}
	h.length = binary.LittleEndian.Uint32(h.raw[0:4])
	h.crc = binary.LittleEndian.Uint32(h.raw[4:8])
	h.seq = binary.LittleEndian.Uint64(h.raw[8:16])
	if int64(h.length) > fr.end-fr.off-HeaderSize {
		return h, errShort
	}
	if h.length > MaxRecordBytes || h.seq <= fr.prev || h.seq >= fr.limit {
		return h, errBad
	}
	return h, nil
}

// payload reads and verifies the payload of the frame whose header was
// just read. If keep is false the payload is checked and discarded.
func (fr *frameReader) payload(h frameHeader, keep bool) ([]byte, error) {
	crc := crc32.New(castagnoli)
	crc.Write(h.raw[0:4])
	crc.Write(h.raw[8:16])
	var data []byte
	if keep {
		data = make([]byte, h.length)
		if _, err := io.ReadFull(fr.r, data); err != nil {
			return nil, fr.ioErr(err)
		}
		crc.Write(data)
	} else if _, err := io.CopyN(crc, fr.r, int64(h.length)); err != nil {
		return nil, fr.ioErr(err)
	}
	if crc.Sum32() != h.crc {
		return nil, errBad
	}
	fr.advance(h)
	return data, nil
}

// skip passes over the payload of the frame whose header was just read
// without verifying it.
func (fr *frameReader) skip(h frameHeader) error {
	if _, err := fr.r.Discard(int(h.length)); err != nil {
		return fr.ioErr(err)
	}
	fr.advance(h)
	return nil
}

func (fr *frameReader) advance(h frameHeader) {
	fr.off += HeaderSize + int64(h.length)
	fr.prev = h.seq
}

func (fr *frameReader) ioErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errShort
	}
	return err
}

// scanResult describes the valid prefix of a segment.
type scanResult struct {
	end       int64  // end of the last valid frame
	last      uint64 // sequence number of the last valid frame, first-1 if none
	count     int    // valid frames
	readOff   int64  // offset of the first frame with a sequence number above floor
	pendCount int    // valid frames with a sequence number above floor
	pendBytes int64  // their payload bytes
	bad       bool   // scanning stopped at a complete but invalid frame
}

// scanSegment validates the size bytes of a segment whose name says it
// starts at sequence number first. Sequence numbers must be at least
// first, increasing and below limit. Frames with sequence numbers up to
// floor count as acknowledged. Only I/O errors are returned; invalid data
// end the valid prefix.
func scanSegment(r io.ReaderAt, size int64, first, limit, floor uint64) (scanResult, error) {
	res := scanResult{last: first - 1, readOff: -1}
	fr := newFrameReader(r, 0, size, first-1)
	fr.limit = limit
	for fr.off < size {
		h, err := fr.header()
		if err == nil {
			_, err = fr.payload(h, false)
		}
		if err != nil {
			if errors.Is(err, errFrame) {
				res.bad = errors.Is(err, errBad)
				break
			}
			return res, err
		}
		res.end = fr.off
		res.last = h.seq
		res.count++
		if h.seq > floor {
			if res.readOff < 0 {
				res.readOff = fr.off - HeaderSize - int64(h.length)
			}
			res.pendCount++
			res.pendBytes += int64(h.length)
		}
	}
	if res.readOff < 0 {
		res.readOff = res.end
	}
	return res, nil
}
