package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
)

const (
	stateName    = "state"
	stateTmpName = "state.tmp"
	stateMagic   = "CGSPOOL1"
	stateSize    = len(stateMagic) + 8 + 8 + 8 + 4
)

// state is the persistent part of a Spool besides the segments.
type state struct {
	floor        uint64 // records up to here are acknowledged or dropped
	dropped      uint64
	droppedBytes int64
}

func (st state) encode() []byte {
	b := make([]byte, 0, stateSize)
	b = append(b, stateMagic...)
	b = binary.LittleEndian.AppendUint64(b, st.floor)
	b = binary.LittleEndian.AppendUint64(b, st.dropped)
	b = binary.LittleEndian.AppendUint64(b, uint64(st.droppedBytes))
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func decodeState(b []byte) (state, bool) {
	if len(b) != stateSize || string(b[:len(stateMagic)]) != stateMagic {
		return state{}, false
	}
	n := stateSize - 4
	if crc32.Checksum(b[:n], castagnoli) != binary.LittleEndian.Uint32(b[n:]) {
		return state{}, false
	}
	p := b[len(stateMagic):]
	return state{
		floor:        binary.LittleEndian.Uint64(p[0:8]),
		dropped:      binary.LittleEndian.Uint64(p[8:16]),
		droppedBytes: int64(binary.LittleEndian.Uint64(p[16:24])),
	}, true
}

// readState reads the state file of dir; a missing file is the zero state.
func readState(dir string) (state, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateName))
	if errors.Is(err, os.ErrNotExist) {
		return state{}, nil
	}
	if err != nil {
		return state{}, fmt.Errorf("spool: %w", err)
	}
	st, ok := decodeState(b)
	if !ok {
		return state{}, ErrCorruptState
	}
	return st, nil
}

// writeState replaces the state file of dir atomically, and durably if
// sync is set.
func writeState(dir string, st state, sync bool) error {
	tmp := filepath.Join(dir, stateTmpName)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	_, err = f.Write(st.encode())
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, stateName))
	}
	if err == nil && sync {
		err = syncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("spool: writing state: %w", err)
	}
	return nil
}
