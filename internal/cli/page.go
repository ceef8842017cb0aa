package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"canhgac/internal/webmon/domainlist"
	"canhgac/internal/webmon/page"
)

// maxPageInput bounds one input file: pages larger than this are not web
// pages an agency serves, and reading them would only cost memory.
const maxPageInput = 20 << 20

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

const pageUsage = `Usage: canhgac page check [--baseline FILE]... --current FILE [--url URL] [--domains FILE]... [--json]

Judges a saved web page for defacement: hidden gambling links, cloaking
scripts, defacer banners, links to listed gambling domains and, with one or
more --baseline fetches of the same page, changes of text, title, external
domains and structure.

--current "-" reads the page from standard input. With --json one JSON object
is printed: {"verdict":"clean|changed|defaced","score":0..1,"reasons":[…]};
without it a short summary (Vietnamese / English). The exit status is 0 for
every verdict and non-zero only when an input cannot be read. --domains adds
a domain list file (hosts format or one domain a line) to the shipped
gambling list.
`

func runPage(env *Env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(env.Stdout, pageUsage)
		return nil
	}
	if args[0] != "check" {
		return usageError(fmt.Sprintf("unknown page subcommand %q (want: check)", args[0]))
	}
	fs := newFlags(env, "page check")
	fs.Usage = func() { fmt.Fprint(env.Stderr, pageUsage) }
	var baselines stringList
	fs.Var(&baselines, "baseline", "a previous fetch of the page (repeatable)")
	current := fs.String("current", "", `the page to judge ("-" for standard input)`)
	pageURL := fs.String("url", "", "the page's URL, to tell its own links from external ones")
	var domainFiles stringList
	fs.Var(&domainFiles, "domains", "a gambling/malicious domain list (hosts file or one domain a line) added to the shipped one (repeatable)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return flag.ErrHelp
		}
		return usageError(err.Error())
	}
	if *current == "" {
		return usageError("--current is required")
	}
	var learned []*page.Features
	for _, b := range baselines {
		raw, err := readPage(env, b, false)
		if err != nil {
			return err
		}
		f, err := page.Extract(raw, *pageURL)
		if err != nil {
			return fmt.Errorf("baseline %s: %w", b, err)
		}
		learned = append(learned, f)
	}
	raw, err := readPage(env, *current, true)
	if err != nil {
		return err
	}
	cur, err := page.Extract(raw, *pageURL)
	if err != nil {
		return fmt.Errorf("current %s: %w", *current, err)
	}
	opt := page.Options{}
	if len(domainFiles) > 0 {
		if opt.Domains, err = domainlist.LoadFiles(domainFiles...); err != nil {
			return err
		}
	}
	res := page.Analyze(cur, page.Learn(learned...), opt)
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(res)
	}
	label := map[page.Verdict]string{page.Clean: "sạch / clean", page.Changed: "thay đổi / changed", page.Defaced: "BỊ THAY ĐỔI GIAO DIỆN / DEFACED"}[res.Verdict]
	fmt.Fprintf(env.Stdout, "Kết luận / verdict: %s (score %.2f)\n", label, res.Score)
	for _, r := range res.Reasons {
		fmt.Fprintf(env.Stdout, "  - %s: %s\n", r.Signal, r.Detail)
	}
	return nil
}

// readPage reads a file (or stdin for "-" when allowed), at most maxPageInput.
func readPage(env *Env, name string, stdinOK bool) ([]byte, error) {
	var r io.Reader
	if name == "-" {
		if !stdinOK || env.Stdin == nil {
			return nil, fmt.Errorf("read %s: standard input is only accepted for --current", name)
		}
		r = env.Stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("read page: %w", err)
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil && st.IsDir() {
			return nil, fmt.Errorf("read page %s: is a directory", name)
		}
		r = f
	}
	raw, err := io.ReadAll(io.LimitReader(r, maxPageInput+1))
	if err != nil {
		return nil, fmt.Errorf("read page %s: %w", name, err)
	}
	if len(raw) > maxPageInput {
		return nil, fmt.Errorf("read page %s: larger than %d MiB", name, maxPageInput>>20)
	}
	return raw, nil
}
