// Command execshim starts a comparison baseline (benchmarks/peers) behind
// the local Lambda service, which builds and runs Go main packages only: it
// replaces itself (execve, same process id) with PEER_EXEC and the
// space-separated PEER_ARGS, so the peer runs as the Lambda process with
// the Runtime API environment. Its own cost (a Go runtime start before the
// exec) is measured in the same run and reported (shim-only row).
// COMPARISON BASELINE tooling - never deployed.
package main

import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

func main() {
	exe := os.Getenv("PEER_EXEC")
	if exe == "" {
		fmt.Fprintln(os.Stderr, "execshim: PEER_EXEC (the interpreter's absolute path) is not set")
		os.Exit(1)
	}
	argv := append([]string{exe}, strings.Fields(os.Getenv("PEER_ARGS"))...)
	if err := syscall.Exec(exe, argv, os.Environ()); err != nil {
		fmt.Fprintf(os.Stderr, "execshim: exec %s: %v\n", exe, err)
		os.Exit(1)
	}
}
