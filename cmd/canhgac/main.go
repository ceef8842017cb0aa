// Command canhgac is the province's security operations platform: the
// control plane (canhgac serve) and the offline tools in one binary.
package main

import (
	"os"

	"canhgac/internal/cli"
)

func main() {
	os.Exit(cli.Main(&cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}, os.Args[1:]))
}
