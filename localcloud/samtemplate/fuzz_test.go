package samtemplate

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzParse feeds arbitrary templates to the loader: it must answer with a
// template or an error, never panic or loop (templates come from anywhere).
func FuzzParse(f *testing.F) {
	seed, err := os.ReadFile(filepath.Join("testdata", "app.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte("Resources:\n  A:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: !GetAtt A.QueueName\n"))
	f.Add([]byte("Conditions:\n  C: !Condition C\nResources:\n  A: {Type: AWS::SNS::Topic, Condition: C}\n"))
	f.Add([]byte("Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Handler: !Sub ['${x}', {x: !Select [5, [a]]}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		tpl, err := Parse(data, Options{Parameters: map[string]string{}})
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("Parse took %s", d)
		}
		if err != nil {
			return
		}
		// The typed views must not panic on whatever resolved.
		_, _ = tpl.Functions()
		_, _ = tpl.StateMachines()
		_ = tpl.Buckets()
		_, _ = tpl.Rules()
		_, _ = tpl.Topics()
		_, _ = tpl.Queues()
		_, _ = tpl.APIs()
		for id := range tpl.Resources {
			_ = tpl.ARN(id)
			_ = tpl.PhysicalName(id)
		}
	})
}
