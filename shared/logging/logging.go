// Package logging provides JSON slog loggers bound to the Lambda invocation.
//
// Every record logged with a context that carries a Lambda invocation gets the
// request id and the function ARN, so a log line can always be traced to the
// invocation that wrote it. Log once, at the edge; inner layers wrap errors.
package logging

import (
	"context"
	"io"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// New returns a JSON logger writing to w (os.Stdout when nil) at the level
// named by the LOG_LEVEL value ("DEBUG", "INFO", "WARN", "ERROR"; INFO if
// empty or unknown).
func New(w io.Writer, level string) *slog.Logger {
	if w == nil {
		w = os.Stdout
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		lvl = slog.LevelInfo
	}
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl})
	return slog.New(invocationHandler{h})
}

// invocationHandler adds the invocation's identity to every record.
type invocationHandler struct{ slog.Handler }

// Handle adds the request id and function ARN of the invocation in ctx, if
// any, then passes the record on.
func (h invocationHandler) Handle(ctx context.Context, r slog.Record) error {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		r.AddAttrs(
			slog.String("requestId", lc.AwsRequestID),
			slog.String("functionArn", lc.InvokedFunctionArn),
		)
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs keeps the invocation fields on loggers derived with With.
func (h invocationHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return invocationHandler{h.Handler.WithAttrs(as)}
}

// WithGroup keeps the invocation fields on loggers derived with WithGroup.
func (h invocationHandler) WithGroup(name string) slog.Handler {
	return invocationHandler{h.Handler.WithGroup(name)}
}
