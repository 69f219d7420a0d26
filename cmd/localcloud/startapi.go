package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/gomlops/mlops/localcloud/apigw"
)

func startAPICommand() command {
	return command{
		name:    "start-api",
		summary: "serve the template's Api/HttpApi events over HTTP, like `sam local start-api`",
		run:     runStartAPI,
	}
}

const startAPIUsage = `Usage: localcloud start-api [--host 127.0.0.1] [--port 3000] [flags]

Serves every Api (REST, proxy event 1.0) and HttpApi (event 2.0) event of the
template's functions, without the stage prefix (as sam local does). Each
request becomes the event API Gateway would build; the function's proxy
response becomes the HTTP response.`

func runStartAPI(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet("start-api", startAPIUsage, c.stderr)
	var common commonFlags
	common.register(fs)
	host := fs.String("host", "127.0.0.1", "address to listen on")
	port := fs.Int("port", 3000, "port to listen on (0 picks a free one)")
	tpl, svc, err := common.open(fs, args, c.stderr)
	if err != nil {
		return err
	}
	defer svc.Close()
	api, err := apigw.New(tpl, svc, apigw.Options{Logger: slog.New(slog.NewTextHandler(c.stderr, nil))})
	if err != nil {
		return err
	}
	for _, w := range api.Warnings() {
		fmt.Fprintf(c.stderr, "localcloud: warning: %s\n", w)
	}
	routes := api.Routes()
	if len(routes) == 0 {
		return fmt.Errorf("template %s has no Api or HttpApi events to serve", common.template)
	}
	if err := svc.Build(); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	return serve(ctx, c, *host, *port, api, func(url string) {
		fmt.Fprintf(c.stderr, "API on %s\n", url)
		for _, r := range routes {
			fmt.Fprintf(c.stderr, "  %s\n", r)
		}
	})
}
