package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

func startLambdaCommand() command {
	return command{
		name:    "start-lambda",
		summary: "serve the Lambda Invoke API for the template's functions, like `sam local start-lambda`",
		run:     runStartLambda,
	}
}

const startLambdaUsage = `Usage: localcloud start-lambda [--host 127.0.0.1] [--port 3001] [flags]

Serves POST /2015-03-31/functions/{name}/invocations (RequestResponse, Event,
DryRun) so the AWS SDKs and CLI can invoke the template's functions:
  aws --endpoint-url http://127.0.0.1:3001 lambda invoke --function-name NAME \
      --payload '{}' --cli-binary-format raw-in-base64-out out.json
Every function is built at startup; each invocation runs the real bootstrap.`

func runStartLambda(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet("start-lambda", startLambdaUsage, c.stderr)
	var common commonFlags
	common.register(fs)
	host := fs.String("host", "127.0.0.1", "address to listen on")
	port := fs.Int("port", 3001, "port to listen on (0 picks a free one)")
	_, svc, err := common.open(fs, args, c.stderr)
	if err != nil {
		return err
	}
	defer svc.Close()
	if err := svc.Build(); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	return serve(ctx, c, *host, *port, svc, func(url string) {
		fmt.Fprintf(c.stderr, "Lambda Invoke API on %s (functions: %s)\n", url, strings.Join(svc.FunctionNames(), ", "))
	})
}

// serve runs h on host:port until ctx ends.
func serve(ctx context.Context, c *cli, host string, port int, h http.Handler, announce func(url string)) error {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, fmt.Sprint(port)))
	if err != nil {
		return fmt.Errorf("listen on %s:%d: %w (choose another --port)", host, port, err)
	}
	url := "http://" + ln.Addr().String()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	announce(url)
	if c.ready != nil {
		c.ready(ln.Addr().String())
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
