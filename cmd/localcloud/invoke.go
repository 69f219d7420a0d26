package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gomlops/mlops/localcloud/lambdaemu"
)

func invokeCommand() command {
	return command{
		name:    "invoke",
		summary: "run one function with an event, like `sam local invoke`",
		run:     runInvoke,
	}
}

const invokeUsage = `Usage: localcloud invoke <LogicalId|FunctionName> [-e event.json] [flags]

Builds the function for this machine (cached), runs its real bootstrap behind
a local Lambda Runtime API and prints the response on stdout; the function's
logs go to stderr. -e - reads the event from stdin; without -e the event is {}.
Exits 1 when the function fails (its error document is still printed).`

func runInvoke(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet("invoke", invokeUsage, c.stderr)
	var common commonFlags
	common.register(fs)
	var eventPath string
	fs.StringVar(&eventPath, "e", "", "event file (JSON); - for stdin")
	fs.StringVar(&eventPath, "event", "", "same as -e")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return fmt.Errorf("want exactly one function (a logical id such as IngestFunction), got %d arguments", len(pos))
	}
	event := []byte("{}")
	switch eventPath {
	case "":
	case "-":
		if event, err = io.ReadAll(c.stdin); err != nil {
			return fmt.Errorf("read event from stdin: %w", err)
		}
	default:
		if event, err = os.ReadFile(eventPath); err != nil {
			return fmt.Errorf("read event: %w", err)
		}
	}
	tpl, err := common.load()
	if err != nil {
		return err
	}
	fn, err := tpl.Function(pos[0])
	if err != nil {
		return err
	}
	svc, err := common.service(tpl, c.stderr)
	if err != nil {
		return err
	}
	defer svc.Close()
	out, err := svc.InvokeFunction(ctx, lambdaemu.InvokeInput{Function: fn.Name, Payload: event})
	if err != nil {
		var apiErr *lambdaemu.APIError
		if errors.As(err, &apiErr) && apiErr.Code == "InvalidRequestContentException" {
			return fmt.Errorf("event %s: %s", eventPath, apiErr.Message)
		}
		return err
	}
	fmt.Fprintln(c.stdout, string(out.Payload))
	if out.FunctionError != nil {
		fmt.Fprintf(c.stderr, "localcloud invoke: %s failed: %s: %s\n", fn.LogicalID, out.FunctionError.Type, out.FunctionError.Message)
		return exitError{1}
	}
	return nil
}
