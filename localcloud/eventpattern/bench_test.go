package eventpattern

import (
	"encoding/json"
	"testing"
)

// s3Event is an S3 "Object Created" event as the local cloud emits it.
const s3Event = `{"version":"0","id":"17793124-05d4-b198-2fde-7ededc63b103","detail-type":"Object Created","source":"aws.s3","account":"123456789012","time":"2026-11-12T00:00:00Z","region":"us-east-1","resources":["arn:aws:s3:::raw-bucket"],"detail":{"version":"0","bucket":{"name":"raw-bucket"},"object":{"key":"raw/churn.csv","size":5,"etag":"b1946ac92492d2347c6235b4d2611184","version-id":"IYV3p45BT0ac8hjHg1houSdS1a.Mro8e","sequencer":"617f08299329d189"},"request-id":"N4N7GDK58NMKJ12R","requester":"123456789012","source-ip-address":"1.2.3.4","reason":"PutObject"}}`

const ingestPattern = `{"source":["aws.s3"],"detail-type":["Object Created"],"detail":{"bucket":{"name":["raw-bucket"]},"object":{"key":[{"prefix":"raw/"}],"size":[{"numeric":[">",0]}]}}}`

func BenchmarkCompile(b *testing.B) {
	for b.Loop() {
		if _, err := Compile([]byte(ingestPattern)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMatchValue(b *testing.B) {
	p := MustCompile(ingestPattern)
	var ev map[string]any
	if err := json.Unmarshal([]byte(s3Event), &ev); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if !p.MatchValue(ev) {
			b.Fatal("no match")
		}
	}
}

func BenchmarkMatchBytes(b *testing.B) {
	p := MustCompile(ingestPattern)
	for b.Loop() {
		if ok, err := p.Match([]byte(s3Event)); err != nil || !ok {
			b.Fatal("no match", err)
		}
	}
}
