package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/gomlops/mlops/localcloud/faultinject"
	"github.com/gomlops/mlops/localcloud/samtemplate"
)

// runDuplicateDelivery uploads one dataset whose S3 notification is
// delivered 10 times in a row, then replays that very event 10 times at
// once, and counts the pipeline executions.
func runDuplicateDelivery(t *testing.T, g Guards) Outcome {
	inj := newInjector(t, faultinject.Rule{ID: "dup-notification", Service: "s3", Operation: faultinject.OpNotify, Target: "raw/", Action: faultinject.ActionDuplicate, Times: 10, Count: 1})
	c := startCloud(t, Options{Functions: []string{"IngestFunction"}, Faults: inj, Guards: g})
	ingest, err := c.Function("IngestFunction")
	require.NoError(t, err)
	machine := ingest.Env["STATE_MACHINE_ARN"]
	require.NotEmpty(t, machine)

	putObject(t, c, bucketName(t, c, "RawBucket"), "raw/churn-chaos.csv", sampleCSV)
	require.True(t, waitFor(90*time.Second, func() bool { return reports(c, ingest.Name) >= 10 }),
		"ingest ran %d of 10 times", reports(c, ingest.Name))

	emitted := c.Emitted.Events()
	require.Len(t, emitted, 1, "S3 emitted one notification; the fault multiplied it")
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.Events.Emit(context.Background(), emitted[0])
		}()
	}
	wg.Wait()
	require.True(t, waitFor(90*time.Second, func() bool { return reports(c, ingest.Name) >= 20 }),
		"ingest ran %d of 20 times", reports(c, ingest.Name))

	execs := executions(t, c, machine)
	failures := logLines(c, "["+ingest.Name+"]", "ERROR")
	return Outcome{
		Held:   len(execs) == 1 && len(failures) == 0,
		Detail: fmt.Sprintf("20 deliveries (10 sequential + 10 concurrent) -> %d ingest invocations, %d pipeline executions, %d ingest errors", reports(c, ingest.Name), len(execs), len(failures)),
		Evidence: fmt.Sprintf("executions: %s; injected: %d duplicate notification(s) (rule dup-notification); ingest log lines with ERROR: %d; state under %s",
			firstN(execs, 3), len(inj.Injected()), len(failures), c.StateDir),
	}
}

// runDeadLetter makes every attempt of ingest fail (crash or hang) and
// looks for the event in ingest's OnFailure destination.
func runDeadLetter(t *testing.T, g Guards, action string) Outcome {
	c0 := startCloudForDLQ(t, g, action)
	c, ingest, inj := c0.cloud, c0.fn, c0.inj
	queue := ingest.EventInvokeConfig.OnFailure
	require.NotEmpty(t, queue, "ingest has an OnFailure destination in the template")

	putObject(t, c, bucketName(t, c, "RawBucket"), "raw/churn-dlq.csv", sampleCSV)
	maxRetries := 2
	if ingest.EventInvokeConfig.MaximumRetryAttempts != nil {
		maxRetries = *ingest.EventInvokeConfig.MaximumRetryAttempts
	}
	// Retries wait 1 and 2 minutes on the 60x clock: 3 s, plus the hangs.
	ended := waitFor(60*time.Second, func() bool {
		msgs, _ := c.SQS.Messages(queue)
		return len(msgs) > 0 || len(logLines(c, "["+ingest.Name+"]", "dropped")) > 0
	})
	require.True(t, ended, "the event neither reached the queue nor was reported dropped")
	time.Sleep(200 * time.Millisecond) // let a late duplicate show up, if any

	attempts := 0
	for _, r := range inj.Injected() {
		if r.Service == "lambda" {
			attempts++
		}
	}
	msgs, err := c.SQS.Messages(queue)
	require.NoError(t, err)
	emitted := c.Emitted.Events()
	require.Len(t, emitted, 1)

	intact, detail := false, "no message in the OnFailure queue"
	if len(msgs) == 1 {
		var rec struct {
			RequestContext struct {
				Condition              string `json:"condition"`
				ApproximateInvokeCount int    `json:"approximateInvokeCount"`
			} `json:"requestContext"`
			RequestPayload struct {
				DetailType string          `json:"detail-type"`
				Source     string          `json:"source"`
				ID         string          `json:"id"`
				Detail     json.RawMessage `json:"detail"`
			} `json:"requestPayload"`
		}
		require.NoError(t, json.Unmarshal([]byte(msgs[0].Body), &rec))
		p := rec.RequestPayload
		intact = (emitted[0].ID == "" || p.ID == emitted[0].ID) && p.DetailType == emitted[0].DetailType && p.Source == emitted[0].Source && jsonEqual(p.Detail, emitted[0].Detail)
		detail = fmt.Sprintf("condition %s after %d attempts; original event intact: %v", rec.RequestContext.Condition, rec.RequestContext.ApproximateInvokeCount, intact)
	} else if len(msgs) > 1 {
		detail = fmt.Sprintf("%d messages in the OnFailure queue for one event", len(msgs))
	}
	return Outcome{
		Held:   attempts == maxRetries+1 && len(msgs) == 1 && intact,
		Detail: fmt.Sprintf("%d attempts (want %d); %s", attempts, maxRetries+1, detail),
		Evidence: fmt.Sprintf("queue %s (%d message(s), stored under %s/sqs); ingest log: %s", queue, len(msgs), c.StateDir,
			strings.Join(append(logLines(c, "["+ingest.Name+"]", "async event"), logLines(c, "injected fault")...), " | ")),
	}
}

type dlqCloud struct {
	cloud *Cloud
	fn    samtemplate.Function
	inj   *faultinject.Injector
}

func startCloudForDLQ(t *testing.T, g Guards, action string) dlqCloud {
	t.Helper()
	// The function's real name is known once the template is loaded; a
	// target pattern on the logical name's lower case matches it.
	rule := faultinject.Rule{ID: "ingest-" + action, Service: "lambda", Operation: faultinject.OpInvoke, Target: "*ngest*", Action: action}
	if action == faultinject.ActionHang {
		rule.Latency = faultinject.Duration(300 * time.Millisecond)
	}
	inj := newInjector(t, rule)
	c := startCloud(t, Options{Functions: []string{"IngestFunction"}, Faults: inj, Guards: g})
	fn, err := c.Function("IngestFunction")
	require.NoError(t, err)
	require.NotNil(t, fn.EventInvokeConfig)
	return dlqCloud{cloud: c, fn: fn, inj: inj}
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

// firstN lists up to n items and how many more there are.
func firstN(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}

// runLateAndReordered uploads two datasets whose notifications arrive out
// of order (the first held until the second was delivered) and one more
// that arrives late; each object must start exactly one execution, named
// after the object whatever the order.
func runLateAndReordered(t *testing.T, g Guards) Outcome {
	// The injector paces the late delivery on the cloud's clock.
	clk := clock.NewScaled(60)
	inj, err := faultinject.New(faultinject.Options{Clock: clk, Rules: []faultinject.Rule{
		{ID: "first-overtaken", Service: "s3", Operation: faultinject.OpNotify, Target: "raw/first.csv", Action: faultinject.ActionReorder, Latency: faultinject.Duration(10 * time.Minute)},
		{ID: "third-late", Service: "s3", Operation: faultinject.OpNotify, Target: "raw/third.csv", Action: faultinject.ActionDelay, Latency: faultinject.Duration(2 * time.Minute)},
	}})
	require.NoError(t, err)
	c := startCloud(t, Options{Functions: []string{"IngestFunction"}, Faults: inj, Guards: g, Clock: clk})
	ingest, err := c.Function("IngestFunction")
	require.NoError(t, err)
	raw := bucketName(t, c, "RawBucket")
	for _, key := range []string{"raw/first.csv", "raw/second.csv", "raw/third.csv"} {
		putObject(t, c, raw, key, sampleCSV)
	}
	require.True(t, waitFor(60*time.Second, func() bool { return reports(c, ingest.Name) >= 3 }), "ingest ran %d of 3 times", reports(c, ingest.Name))
	inj.Wait()

	// The order ingest saw the objects in.
	var seen []string
	for _, line := range logLines(c, "["+ingest.Name+"]", "pipeline started") {
		for _, k := range []string{"first", "second", "third"} {
			if strings.Contains(line, "raw/"+k+".csv") {
				seen = append(seen, k)
			}
		}
	}
	execs := executions(t, c, ingest.Env["STATE_MACHINE_ARN"])
	perObject := map[string]int{}
	for _, e := range execs {
		for _, k := range []string{"first", "second", "third"} {
			if strings.Contains(e, "ingest-"+k+"-") {
				perObject[k]++
			}
		}
	}
	// The order ingest ran in also depends on Lambda's concurrency: it is
	// reported, not asserted; the faults' order is unit-tested.
	return Outcome{
		Held:     len(execs) == 3 && perObject["first"] == 1 && perObject["second"] == 1 && perObject["third"] == 1,
		Detail:   fmt.Sprintf("ingest started executions for %v (uploaded first, second, third; faults applied: %d); executions per object: %v (%d in all)", seen, len(inj.Injected()), perObject, len(execs)),
		Evidence: fmt.Sprintf("executions: %s; injected: %d; state under %s", firstN(execs, 3), len(inj.Injected()), c.StateDir),
	}
}
