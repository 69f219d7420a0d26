package glueemu

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"time"

	"github.com/gomlops/mlops/localcloud/awsproto"
)

// TargetPrefix is the X-Amz-Target prefix of Glue's API.
const TargetPrefix = "AWSGlue"

// Handler returns the Glue API (AWS JSON 1.1).
func (s *Service) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

func (s *Service) serveHTTP(w http.ResponseWriter, r *http.Request) {
	prefix, op, ok := awsproto.JSONTarget(r)
	if r.Method != http.MethodPost || !ok || prefix != TargetPrefix {
		awsproto.WriteJSONError(w, r, awsproto.UnknownOperation(op))
		return
	}
	var (
		out any
		err error
	)
	switch op {
	case "GetJob":
		out, err = s.apiGetJob(r)
	case "GetJobs":
		out, err = s.apiGetJobs(r)
	case "ListJobs":
		out, err = s.apiListJobs(r)
	case "StartJobRun":
		out, err = s.apiStartJobRun(r)
	case "GetJobRun":
		out, err = s.apiGetJobRun(r)
	case "GetJobRuns":
		out, err = s.apiGetJobRuns(r)
	case "BatchStopJobRun":
		out, err = s.apiBatchStopJobRun(r)
	default:
		err = awsproto.UnknownOperation(op)
	}
	if err != nil {
		awsproto.WriteJSONError(w, r, err)
		return
	}
	awsproto.WriteJSON(w, r, out)
}

// epoch is a timestamp as AWS JSON writes it: seconds since the epoch.
type epoch time.Time

// MarshalJSON writes fractional epoch seconds.
func (e epoch) MarshalJSON() ([]byte, error) {
	t := time.Time(e)
	return []byte(strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64)), nil
}

func epochPtr(t time.Time) *epoch {
	if t.IsZero() {
		return nil
	}
	e := epoch(t)
	return &e
}

type wireJob struct {
	Name              string            `json:"Name"`
	Description       string            `json:"Description,omitempty"`
	Role              string            `json:"Role,omitempty"`
	Command           Command           `json:"Command"`
	DefaultArguments  map[string]string `json:"DefaultArguments,omitempty"`
	ExecutionProperty map[string]int    `json:"ExecutionProperty"`
	MaxRetries        int               `json:"MaxRetries"`
	Timeout           int               `json:"Timeout"`
	GlueVersion       string            `json:"GlueVersion,omitempty"`
	MaxCapacity       float64           `json:"MaxCapacity,omitempty"`
}

func toWireJob(j Job) wireJob {
	return wireJob{
		Name: j.Name, Description: j.Description, Role: j.Role, Command: j.Command, DefaultArguments: j.DefaultArguments,
		ExecutionProperty: map[string]int{"MaxConcurrentRuns": j.MaxConcurrentRuns}, MaxRetries: j.MaxRetries,
		Timeout: j.Timeout, GlueVersion: j.GlueVersion, MaxCapacity: j.MaxCapacity,
	}
}

type wireRun struct {
	ID             string            `json:"Id"`
	Attempt        int               `json:"Attempt"`
	JobName        string            `json:"JobName"`
	JobMode        string            `json:"JobMode"`
	StartedOn      *epoch            `json:"StartedOn,omitempty"`
	LastModifiedOn *epoch            `json:"LastModifiedOn,omitempty"`
	CompletedOn    *epoch            `json:"CompletedOn,omitempty"`
	JobRunState    string            `json:"JobRunState"`
	Arguments      map[string]string `json:"Arguments"`
	ErrorMessage   string            `json:"ErrorMessage,omitempty"`
	ExecutionTime  int               `json:"ExecutionTime"`
	Timeout        int               `json:"Timeout"`
}

func toWireRun(r Run) wireRun {
	return wireRun{
		ID: r.ID, JobName: r.JobName, JobMode: "SCRIPT", StartedOn: epochPtr(r.StartedOn), LastModifiedOn: epochPtr(r.LastModifiedOn),
		CompletedOn: epochPtr(r.CompletedOn), JobRunState: r.State, Arguments: r.Arguments, ErrorMessage: r.ErrorMessage,
		ExecutionTime: r.ExecutionTime, Timeout: r.Timeout,
	}
}

func (s *Service) apiGetJob(r *http.Request) (any, error) {
	var in struct{ JobName string }
	if err := awsproto.DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	j, err := s.Job(in.JobName)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Job": toWireJob(j)}, nil
}

// page returns the [start, end) window of n items for a NextToken and
// MaxResults (bounded by limit), and the next token.
func page(n int, token string, max, limit int) (int, int, string, error) {
	start := 0
	if token != "" {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil {
			return 0, 0, "", invalidInput("NextToken is not valid")
		}
		start, err = strconv.Atoi(string(raw))
		if err != nil || start < 0 || start > n {
			return 0, 0, "", invalidInput("NextToken is not valid")
		}
	}
	if max < 0 || max > limit {
		return 0, 0, "", invalidInput("MaxResults must be between 1 and %d", limit)
	}
	if max == 0 {
		max = limit
	}
	end := min(start+max, n)
	next := ""
	if end < n {
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
	}
	return start, end, next, nil
}

func (s *Service) apiGetJobs(r *http.Request) (any, error) {
	var in struct {
		NextToken  string
		MaxResults int
	}
	if err := awsproto.DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	jobs := s.Jobs()
	start, end, next, err := page(len(jobs), in.NextToken, in.MaxResults, 1000)
	if err != nil {
		return nil, err
	}
	out := make([]wireJob, 0, end-start)
	for _, j := range jobs[start:end] {
		out = append(out, toWireJob(j))
	}
	resp := map[string]any{"Jobs": out}
	if next != "" {
		resp["NextToken"] = next
	}
	return resp, nil
}

func (s *Service) apiListJobs(r *http.Request) (any, error) {
	var in struct {
		NextToken  string
		MaxResults int
	}
	if err := awsproto.DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	jobs := s.Jobs()
	start, end, next, err := page(len(jobs), in.NextToken, in.MaxResults, 1000)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, end-start)
	for _, j := range jobs[start:end] {
		names = append(names, j.Name)
	}
	resp := map[string]any{"JobNames": names}
	if next != "" {
		resp["NextToken"] = next
	}
	return resp, nil
}

func (s *Service) apiStartJobRun(r *http.Request) (any, error) {
	var in struct {
		JobName   string
		Arguments map[string]string
		Timeout   int
	}
	if err := awsproto.DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	if in.JobName == "" {
		return nil, invalidInput("JobName is required")
	}
	id, err := s.StartJobRun(r.Context(), in.JobName, in.Arguments, in.Timeout)
	if err != nil {
		return nil, err
	}
	return map[string]string{"JobRunId": id}, nil
}

func (s *Service) apiGetJobRun(r *http.Request) (any, error) {
	var in struct {
		JobName string
		RunID   string `json:"RunId"`
	}
	if err := awsproto.DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	run, err := s.JobRun(in.JobName, in.RunID)
	if err != nil {
		return nil, err
	}
	return map[string]any{"JobRun": toWireRun(run)}, nil
}

func (s *Service) apiGetJobRuns(r *http.Request) (any, error) {
	var in struct {
		JobName    string
		NextToken  string
		MaxResults int
	}
	if err := awsproto.DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	runs, err := s.JobRuns(in.JobName)
	if err != nil {
		return nil, err
	}
	start, end, next, err := page(len(runs), in.NextToken, in.MaxResults, 200)
	if err != nil {
		return nil, err
	}
	out := make([]wireRun, 0, end-start)
	for _, run := range runs[start:end] {
		out = append(out, toWireRun(run))
	}
	resp := map[string]any{"JobRuns": out}
	if next != "" {
		resp["NextToken"] = next
	}
	return resp, nil
}

func (s *Service) apiBatchStopJobRun(r *http.Request) (any, error) {
	var in struct {
		JobName   string
		JobRunIDs []string `json:"JobRunIds"`
	}
	if err := awsproto.DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	if len(in.JobRunIDs) == 0 || len(in.JobRunIDs) > 25 {
		return nil, invalidInput("JobRunIds must hold 1 to 25 ids")
	}
	results, err := s.BatchStopJobRun(in.JobName, in.JobRunIDs)
	if err != nil {
		return nil, err
	}
	type success struct {
		JobName  string
		JobRunID string `json:"JobRunId"`
	}
	type detail struct{ ErrorCode, ErrorMessage string }
	type failure struct {
		JobName     string
		JobRunID    string `json:"JobRunId"`
		ErrorDetail detail
	}
	ok := []success{}
	failed := []failure{}
	for _, res := range results {
		if res.ErrorCode == "" {
			ok = append(ok, success{in.JobName, res.RunID})
		} else {
			failed = append(failed, failure{in.JobName, res.RunID, detail{res.ErrorCode, res.Message}})
		}
	}
	return map[string]any{"SuccessfulSubmissions": ok, "Errors": failed}, nil
}
