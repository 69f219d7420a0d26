package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoggerAddsInvocationIdentity(t *testing.T) {
	tests := []struct {
		name      string
		ctx       context.Context
		level     string
		logDebug  bool
		wantID    string
		wantLines int
	}{
		{"inside an invocation", lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1", InvokedFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:f"}), "INFO", false, "req-1", 1},
		{"outside an invocation", context.Background(), "", false, "", 1},
		{"debug filtered at INFO", context.Background(), "INFO", true, "", 0},
		{"debug kept at DEBUG", context.Background(), "DEBUG", true, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := New(&buf, tt.level).With("component", "test")
			if tt.logDebug {
				log.DebugContext(tt.ctx, "hello")
			} else {
				log.InfoContext(tt.ctx, "hello")
			}
			if tt.wantLines == 0 {
				assert.Empty(t, buf.String())
				return
			}
			var rec map[string]any
			require.NoError(t, json.Unmarshal(buf.Bytes(), &rec))
			assert.Equal(t, "hello", rec["msg"])
			assert.Equal(t, "test", rec["component"])
			if tt.wantID == "" {
				assert.NotContains(t, rec, "requestId")
			} else {
				assert.Equal(t, tt.wantID, rec["requestId"])
			}
		})
	}
}
