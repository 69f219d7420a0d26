package harness

import "time"

// Results is everything cmd/lambdabench measured; cmd/benchreport
// renders it (benchmarks/results/lambda.json).
type Results struct {
	Machine    Machine          `json:"machine"`
	Settings   Settings         `json:"settings"`
	Started    time.Time        `json:"started"`
	Finished   time.Time        `json:"finished"`
	Sizes      []SizeRow        `json:"sizes"`
	Init       []InitRow        `json:"init"`
	Cold       []ColdRow        `json:"cold"`
	Latency    []LatencyRow     `json:"latency"`
	Throughput []ThroughputRow  `json:"throughput"`
	Trace      TraceCheck       `json:"trace"`
	Shim       ShimCost         `json:"shim"`
	Notes      []string         `json:"notes"`
	Errors     map[string]int64 `json:"errors"`
}

// Machine describes where the figures were taken.
type Machine struct {
	CPU, Kernel, Go, Python, Boto3, Node, NodeSDK string
	Cores                                         int
	CABundleUnset                                 bool
	// LoadStart and LoadEnd are /proc/loadavg when the Lambda measurements
	// began and ended: the machine is shared, and this says how busy it was.
	LoadStart, LoadEnd string
}

// Settings are the run's parameters.
type Settings struct {
	ColdRuns          int     `json:"cold_runs"`
	LatencyRequests   int     `json:"latency_requests"`
	ThroughputSeconds float64 `json:"throughput_seconds"`
	Concurrency       int     `json:"concurrency"`
	// Env is what was added to every function's environment (-env).
	Env map[string]string `json:"env,omitempty"`
}

// SizeRow is one arm64 stripped binary.
type SizeRow struct {
	Name    string `json:"name"`
	Variant string `json:"variant"` // plain, xray, no-norpc
	Raw     int64  `json:"raw"`
	Zipped  int64  `json:"zipped"`
	// Packages linked; V1SDK and GRPC count the v1 SDK's and gRPC's.
	Packages int  `json:"packages"`
	V1SDK    int  `json:"v1_sdk_packages"`
	GRPC     int  `json:"grpc_packages"`
	NetRPC   bool `json:"net_rpc"`
}

// InitRow is one host binary's package init (median of the runs by clock).
type InitRow struct {
	Name    string    `json:"name"`
	Variant string    `json:"variant"`
	Trace   InitTrace `json:"trace"`
	Runs    int       `json:"runs"`
}

// ColdRow is one function's cold starts.
type ColdRow struct {
	Name string `json:"name"`
	Kind string `json:"kind"` // go, go+xray, python, node, floor, go+ca-bundle
	// Init is process start to its first /next (lambdaemu's Init
	// Duration); FirstResponse is spawn to the first response in hand.
	Init          Summary `json:"init"`
	FirstResponse Summary `json:"first_response"`
	// PeakRSSKiB is the process's VmHWM after the first response: p50 and max.
	PeakRSSKiBP50 int64 `json:"peak_rss_kib_p50"`
	PeakRSSKiBMax int64 `json:"peak_rss_kib_max"`
	// FunctionErrors counts first responses that were function errors
	// (expected for control-plane functions: the fake endpoint refuses
	// their AWS calls at once).
	FunctionErrors int `json:"function_errors"`
}

// LatencyRow is one request at a time against a target.
type LatencyRow struct {
	Name    string  `json:"name"`
	Latency Summary `json:"latency"`
}

// ThroughputRow is requests per second with Concurrency callers, and the
// CPU time the function's own processes spent per request (what Lambda
// bills and what bounds throughput on a core of its own; the local
// service and the fake endpoint share the same two cores here).
type ThroughputRow struct {
	Name        string  `json:"name"`
	Requests    int64   `json:"requests"`
	Errors      int64   `json:"errors"`
	Seconds     float64 `json:"seconds"`
	PerSec      float64 `json:"per_second"`
	CPUMsPerReq float64 `json:"function_cpu_ms_per_request"`
	Processes   int     `json:"processes"`
}

// TraceCheck counts the proxy's InvokeEndpoint calls that carried the
// invocation's X-Amzn-Trace-Id (SDK trace-header propagation).
type TraceCheck struct {
	Invocations int64 `json:"invocations"`
	Traced      int64 `json:"traced"`
}

// ShimCost is the exec shim's own cost: /bin/true run directly and through
// the shim.
type ShimCost struct {
	Direct  Summary `json:"direct"`
	Through Summary `json:"through_shim"`
}
