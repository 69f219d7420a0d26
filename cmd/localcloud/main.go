// Command localcloud runs a SAM application's Go functions on this machine
// without Docker: `invoke` runs one function with an event (like `sam local
// invoke`), `start-lambda` serves the Lambda Invoke API (like `sam local
// start-lambda`) and `start-api` serves the template's API events (like
// `sam local start-api`). Every subcommand has --help.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one subcommand. run gets the arguments after the name.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, cli *cli, args []string) error
}

// commands is the dispatch table; each subcommand lives in its own file.
func commands() []command {
	return []command{
		invokeCommand(),
		startLambdaCommand(),
		startAPICommand(),
		upCommand(),
		demoCommand(),
	}
}

// cli carries the process's streams so tests can run commands in-process.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// ready, if set, is told each server's address once it listens.
	ready func(addr string)
}

// exitError carries an exit status without printing more.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := &cli{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
	os.Exit(c.main(ctx, os.Args[1:]))
}

// main runs a subcommand and returns the exit status.
func (c *cli) main(ctx context.Context, args []string) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		c.usage(cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, cmd := range cmds {
		if cmd.name != args[0] {
			continue
		}
		err := cmd.run(ctx, c, args[1:])
		var ee exitError
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &ee):
			return ee.code
		}
		fmt.Fprintf(c.stderr, "localcloud %s: %v\n", cmd.name, err)
		return 1
	}
	fmt.Fprintf(c.stderr, "localcloud: unknown command %q\n\n", args[0])
	c.usage(cmds)
	return 2
}

func (c *cli) usage(cmds []command) {
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })
	var b strings.Builder
	b.WriteString("localcloud runs a SAM application's Go functions locally, without Docker.\n\nUsage: localcloud <command> [flags]\n\nCommands:\n")
	for _, cmd := range cmds {
		fmt.Fprintf(&b, "  %-13s %s\n", cmd.name, cmd.summary)
	}
	b.WriteString("\nRun 'localcloud <command> --help' for a command's flags.\n")
	fmt.Fprint(c.stderr, b.String())
}

// parseInterspersed parses flags that may come before or after positional
// arguments (`invoke MyFunction -e event.json`) and returns the positional
// arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
