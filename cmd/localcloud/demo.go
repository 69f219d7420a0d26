package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/gomlops/mlops/localcloud/e2e"
)

func demoCommand() command {
	return command{
		name:    "demo",
		summary: "run the whole MLOps scenario on the local cloud and print its timeline (make local)",
		run:     runDemo,
	}
}

const demoUsage = `Usage: localcloud demo [--dir .] [--state-dir .localcloud/demo] [--speed 20] [--failure-path] [--verbose]

Starts the local cloud in-process with a fast clock and runs the scenario:
a generated churn dataset lands in the raw bucket (EventBridge → ingest →
pipeline: Glue prepare → XGBoost training → quality gate → blue/green
deployment), predictions through the local API (SigV4-signed), a newer
dataset held until drift, drifted traffic → data capture → monitor → drift
alarm → remediate → retraining on the newer dataset → a new endpoint
configuration. Exits 0 only if every stage happened; otherwise it names the
stage, why, and the log files to read.`

func runDemo(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet("demo", demoUsage, c.stderr)
	dir := fs.String("dir", ".", "the application's directory (template.yaml, scripts/)")
	stateDir := fs.String("state-dir", filepath.Join(".localcloud", "demo"), "state directory; emptied first, except the functions' build cache")
	speed := fs.Float64("speed", 20, "how many times faster than real time every emulated wait passes")
	failure := fs.Bool("failure-path", false, "first upload a dataset that fails schema validation and check it fails cleanly")
	verbose := fs.Bool("verbose", false, "stream every function's, script's and server's output")
	python := fs.String("python", "python3", "interpreter for scripts/gen_dataset.py")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected arguments %q", pos)
	}
	if *speed <= 0 {
		return fmt.Errorf("--speed must be positive, got %g", *speed)
	}
	if _, err := os.Stat(filepath.Join(*dir, "template.yaml")); err != nil {
		return fmt.Errorf("no template.yaml in %s: run from the application's directory or pass --dir", *dir)
	}
	var logs io.Writer = io.Discard
	if *verbose {
		logs = c.stderr
	}
	fmt.Fprintf(c.stdout, "localcloud demo: building the functions and starting the local cloud (state in %s)...\n", *stateDir)
	began := time.Now()
	// Upload the datasets as a user would, with the AWS CLI, when it is
	// installed; the SDK otherwise.
	awsCLI, _ := exec.LookPath("aws")
	fig, err := e2e.Run(ctx, e2e.Options{
		Dir: *dir, StateDir: *stateDir, Speed: *speed, Timeline: c.stdout, Logs: logs,
		Python: *python, FailurePath: *failure, AWSCLI: awsCLI,
	})
	if err != nil {
		var se *e2e.StageError
		if errors.As(err, &se) {
			fmt.Fprintf(c.stdout, "\nFAILED at stage %q: %v\nLook at:\n", se.Stage, se.Err)
			for _, l := range se.Logs {
				fmt.Fprintf(c.stdout, "  %s\n", l)
			}
			return exitError{code: 1}
		}
		return err
	}
	fmt.Fprintf(c.stdout, "\nEvery stage happened in %.1fs: accuracy %.3f on %d held-out rows (true relationship %.3f); endpoint configuration %s → %s.\n",
		time.Since(began).Seconds(), fig.Accuracy, fig.Predictions, fig.Optimal, fig.FirstConfig, fig.RetrainConfig)
	fmt.Fprintf(c.stdout, "Logs: %s (every function, Glue, SageMaker); SNS messages: %s.\n",
		filepath.Join(*stateDir, "logs"), filepath.Join(*stateDir, "sns", "outbox.jsonl"))
	return nil
}
