package cloudwatchemu

import (
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/gomlops/mlops/localcloud/awsproto"
)

// Wire constants of CloudWatch's protocols.
const (
	// CBORPathPrefix starts the path of every RPC v2 CBOR request.
	CBORPathPrefix = "/service/GraniteServiceVersion20100801/operation/"
	// JSONTargetPrefix is the X-Amz-Target prefix of AWS JSON requests.
	JSONTargetPrefix = "GraniteServiceVersion20100801"
	// XMLNamespace is the query protocol's response namespace.
	XMLNamespace = "http://monitoring.amazonaws.com/doc/2010-08-01/"
)

var (
	cborEnc, _ = cbor.EncOptions{Time: cbor.TimeUnixDynamic, TimeTag: cbor.EncTagRequired}.EncMode()
	cborDec, _ = cbor.DecOptions{MaxArrayElements: 1 << 20, MaxMapPairs: 1 << 20}.DecMode()
)

// errorShapes maps query error codes to the Smithy shape names the CBOR
// protocol's __type carries (CloudWatch is awsQueryCompatible: the query
// code travels in X-Amzn-Query-Error).
var errorShapes = map[string]string{
	"InvalidParameterValue":       "InvalidParameterValueException",
	"MissingParameter":            "MissingRequiredParameterException",
	"InvalidParameterCombination": "InvalidParameterCombinationException",
	"ResourceNotFound":            "ResourceNotFound",
	"InvalidFormat":               "InvalidFormatFault",
	"InvalidNextToken":            "InvalidNextToken",
	"InternalFailure":             "InternalServiceFault",
}

// Handler returns the CloudWatch API (RPC v2 CBOR and query protocols).
func (s *Service) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

func (s *Service) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") && r.Body != nil {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			s.writeError(w, r, awsproto.Errorf(http.StatusBadRequest, "InvalidParameterValue", "body is not gzip: %v", err))
			return
		}
		r.Body = io.NopCloser(io.LimitReader(zr, awsproto.MaxBodyBytes))
		r.Header.Del("Content-Encoding")
	}
	if op, ok := strings.CutPrefix(r.URL.Path, CBORPathPrefix); ok && r.Method == http.MethodPost {
		s.serveCBOR(w, r, op)
		return
	}
	if awsproto.IsQueryProtocol(r) {
		s.serveQuery(w, r)
		return
	}
	if awsproto.IsJSONProtocol(r) {
		s.serveJSON(w, r)
		return
	}
	awsproto.WriteQueryError(w, awsproto.UnknownOperation(""))
}

func isCBOR(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, CBORPathPrefix) }

// writeError answers in the request's protocol. CBOR and JSON errors
// carry the Smithy shape in __type and, CloudWatch being
// awsQueryCompatible, the query error code in X-Amzn-Query-Error.
func (s *Service) writeError(w http.ResponseWriter, r *http.Request, err error) {
	cborReq := isCBOR(r)
	if !cborReq && !awsproto.IsJSONProtocol(r) {
		awsproto.WriteQueryError(w, err)
		return
	}
	e := awsproto.AsError(err)
	shape := e.Code
	if sh, ok := errorShapes[e.Code]; ok {
		shape = sh
	}
	fault := "Sender"
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	if status >= 500 {
		fault = "Receiver"
	}
	doc := map[string]string{"__type": "com.amazonaws.cloudwatch#" + shape, "message": e.Message}
	var body []byte
	if cborReq {
		body, _ = cborEnc.Marshal(doc)
		w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
		w.Header().Set("Content-Type", "application/cbor")
	} else {
		body, _ = json.Marshal(doc)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	}
	awsproto.RequestID(w)
	w.Header().Set("X-Amzn-Query-Error", e.Code+";"+fault)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// serveJSON serves AWS JSON 1.0 (X-Amz-Target
// GraniteServiceVersion20100801.<Op>), which the AWS CLI v1 speaks.
// Timestamps travel as epoch seconds.
func (s *Service) serveJSON(w http.ResponseWriter, r *http.Request) {
	prefix, op, _ := awsproto.JSONTarget(r)
	fn, ok := s.operations()[op]
	if prefix != JSONTargetPrefix || !ok {
		s.writeError(w, r, awsproto.UnknownOperation(op))
		return
	}
	var raw map[string]any
	if err := awsproto.DecodeJSON(r, &raw); err != nil {
		s.writeError(w, r, err)
		return
	}
	decode := func(v any) error {
		body, err := json.Marshal(epochToISO(raw))
		if err != nil {
			return awsproto.Errorf(http.StatusBadRequest, "SerializationException", "malformed JSON request")
		}
		if err := json.Unmarshal(body, v); err != nil {
			return awsproto.Errorf(http.StatusBadRequest, "SerializationException", "malformed JSON request: %v", err)
		}
		return nil
	}
	out, err := fn(r.Context(), decode)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if out == nil {
		out = struct{}{}
	}
	awsproto.WriteJSON(w, r, out)
}

// timestampMembers are the timestamp members of the inputs served.
var timestampMembers = map[string]bool{"Timestamp": true, "StartTime": true, "EndTime": true}

// epochToISO rewrites epoch-second timestamp members to RFC 3339 so the
// shared input structs decode them.
func epochToISO(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if f, ok := e.(float64); ok && timestampMembers[k] {
				x[k] = time.UnixMilli(int64(f * 1000)).UTC().Format(time.RFC3339Nano)
				continue
			}
			x[k] = epochToISO(e)
		}
	case []any:
		for i := range x {
			x[i] = epochToISO(x[i])
		}
	}
	return v
}

// operation is one API operation: it decodes its input with decode and
// returns its output (nil: an empty result).
type operation func(ctx context.Context, decode func(any) error) (any, error)

func (s *Service) operations() map[string]operation {
	return map[string]operation{
		"PutMetricData":  s.opPutMetricData,
		"GetMetricData":  s.opGetMetricData,
		"ListMetrics":    s.opListMetrics,
		"PutMetricAlarm": s.opPutMetricAlarm,
		"DescribeAlarms": s.opDescribeAlarms,
		"SetAlarmState":  s.opSetAlarmState,
		"DeleteAlarms":   s.opDeleteAlarms,
	}
}

func (s *Service) serveCBOR(w http.ResponseWriter, r *http.Request, op string) {
	fn, ok := s.operations()[op]
	if !ok {
		s.writeError(w, r, awsproto.UnknownOperation(op))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, awsproto.MaxBodyBytes+1))
	if err != nil || len(body) > awsproto.MaxBodyBytes {
		s.writeError(w, r, awsproto.Errorf(http.StatusBadRequest, "SerializationException", "request body unreadable or too large"))
		return
	}
	decode := func(v any) error {
		if len(body) == 0 {
			return nil
		}
		if err := cborDec.Unmarshal(body, v); err != nil {
			return awsproto.Errorf(http.StatusBadRequest, "SerializationException", "malformed CBOR request: %v", err)
		}
		return nil
	}
	out, err := fn(r.Context(), decode)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if out == nil {
		out = struct{}{}
	}
	data, err := cborEnc.Marshal(out)
	if err != nil {
		s.logger.Error("encode CBOR response", "operation", op, "error", err)
		s.writeError(w, r, awsproto.Internal())
		return
	}
	awsproto.RequestID(w)
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
}

func (s *Service) serveQuery(w http.ResponseWriter, r *http.Request) {
	action, form, err := awsproto.QueryAction(r)
	if err != nil {
		awsproto.WriteQueryError(w, err)
		return
	}
	fn, ok := s.operations()[action]
	if !ok {
		awsproto.WriteQueryError(w, awsproto.Errorf(http.StatusBadRequest, "InvalidAction", "action %q is not supported by the local cloud", action))
		return
	}
	out, err := fn(r.Context(), func(v any) error { return decodeQuery(form, v) })
	if err != nil {
		awsproto.WriteQueryError(w, err)
		return
	}
	awsproto.WriteQuery(w, action, XMLNamespace, out)
}

// ---- tokens ----

func encodeToken(i int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(i)))
}

func decodeToken(tok string, n int) (int, error) {
	if tok == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err == nil {
		if i, err := strconv.Atoi(string(raw)); err == nil && i >= 0 && i <= n {
			return i, nil
		}
	}
	return 0, awsproto.Errorf(http.StatusBadRequest, "InvalidNextToken", "The service couldn't process the NextToken.")
}

// ---- PutMetricData ----

type metricDatumIn struct {
	MetricName        string        `json:"MetricName"`
	Dimensions        []Dimension   `json:"Dimensions"`
	Timestamp         *time.Time    `json:"Timestamp"`
	Value             *float64      `json:"Value"`
	StatisticValues   *StatisticSet `json:"StatisticValues"`
	Values            []float64     `json:"Values"`
	Counts            []float64     `json:"Counts"`
	Unit              string        `json:"Unit"`
	StorageResolution *int32        `json:"StorageResolution"`
}

func (s *Service) opPutMetricData(_ context.Context, decode func(any) error) (any, error) {
	var in struct {
		Namespace  string          `json:"Namespace"`
		MetricData []metricDatumIn `json:"MetricData"`
	}
	if err := decode(&in); err != nil {
		return nil, err
	}
	if in.Namespace == "" {
		return nil, missingParameter("Namespace")
	}
	if strings.HasPrefix(in.Namespace, "AWS/") {
		return nil, invalidParameter("The value %s for parameter Namespace is invalid: the AWS/ prefix is reserved for AWS services.", in.Namespace)
	}
	if len(in.MetricData) == 0 {
		return nil, missingParameter("MetricData")
	}
	if len(in.MetricData) > 1000 {
		return nil, invalidParameter("MetricData holds %d items, at most 1000 are allowed", len(in.MetricData))
	}
	data := make([]Datum, 0, len(in.MetricData))
	now := s.opts.Clock.Now()
	for i, m := range in.MetricData {
		d, err := m.datum(in.Namespace, now)
		if err != nil {
			return nil, invalidParameter("MetricData[%d]: %v", i+1, err)
		}
		data = append(data, d)
	}
	if err := s.store(data); err != nil {
		s.logger.Error("store metric data", "error", err)
		return nil, awsproto.Internal()
	}
	return nil, nil
}

type datumError string

// Error returns the problem.
func (e datumError) Error() string { return string(e) }

func (m metricDatumIn) datum(ns string, now time.Time) (Datum, error) {
	d := Datum{Namespace: ns, MetricName: m.MetricName, Dimensions: m.Dimensions, Unit: m.Unit, Timestamp: now}
	if m.MetricName == "" {
		return d, datumError("MetricName is required")
	}
	if m.Timestamp != nil {
		d.Timestamp = m.Timestamp.UTC()
	}
	if d.Timestamp.Before(now.Add(-maxEMFAge)) || d.Timestamp.After(now.Add(maxEMFFuture)) {
		return d, datumError("Timestamp must be within the last 14 days and at most 2 hours ahead")
	}
	if d.Unit != "" && !units[d.Unit] {
		return d, datumError("Unit " + strconv.Quote(d.Unit) + " is not a CloudWatch unit")
	}
	if len(m.Dimensions) > 30 {
		return d, datumError("at most 30 dimensions are allowed")
	}
	for _, dim := range m.Dimensions {
		if dim.Name == "" || dim.Value == "" {
			return d, datumError("every dimension needs a Name and a Value")
		}
	}
	set := 0
	if m.Value != nil {
		set++
		d.Values = []float64{*m.Value}
	}
	if m.StatisticValues != nil {
		set++
		st := *m.StatisticValues
		if st.SampleCount <= 0 || st.Minimum > st.Maximum {
			return d, datumError("StatisticValues needs SampleCount > 0 and Minimum <= Maximum")
		}
		d.Stats = &st
	}
	if len(m.Values) > 0 {
		set++
		if len(m.Counts) > 0 && len(m.Counts) != len(m.Values) {
			return d, datumError("Counts must have as many items as Values")
		}
		d.Values, d.Counts = m.Values, m.Counts
	}
	if set != 1 {
		return d, datumError("exactly one of Value, StatisticValues and Values must be set")
	}
	finite := append(append([]float64(nil), d.Values...), d.Counts...)
	if d.Stats != nil {
		finite = append(finite, d.Stats.SampleCount, d.Stats.Sum, d.Stats.Minimum, d.Stats.Maximum)
	}
	for _, v := range finite {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return d, datumError("values must be finite numbers")
		}
	}
	return d, nil
}

// PutMetricData stores datapoints from Go (other emulators publish their
// AWS/ namespace metrics this way; the API refuses AWS/ as CloudWatch
// does).
func (s *Service) PutMetricData(data []Datum) error { return s.store(append([]Datum(nil), data...)) }

// ---- GetMetricData ----

type metricDataResult struct {
	ID         string      `json:"Id" xml:"Id"`
	Label      string      `json:"Label"`
	Timestamps []time.Time `json:"Timestamps" xml:"Timestamps>member"`
	Values     []float64   `json:"Values" xml:"Values>member"`
	StatusCode string      `json:"StatusCode"`
}

type getMetricDataOut struct {
	MetricDataResults []metricDataResult `json:"MetricDataResults" xml:"MetricDataResults>member"`
}

// maxDatapoints bounds one GetMetricData answer (CloudWatch's 100,800).
const maxDatapoints = 100800

func (s *Service) opGetMetricData(_ context.Context, decode func(any) error) (any, error) {
	var in struct {
		MetricDataQueries []MetricDataQuery `json:"MetricDataQueries"`
		StartTime         *time.Time        `json:"StartTime"`
		EndTime           *time.Time        `json:"EndTime"`
		ScanBy            string            `json:"ScanBy"`
	}
	if err := decode(&in); err != nil {
		return nil, err
	}
	if in.StartTime == nil || in.EndTime == nil {
		return nil, missingParameter("StartTime and EndTime")
	}
	if !in.StartTime.Before(*in.EndTime) {
		return nil, invalidParameter("The parameter StartTime must be less than the parameter EndTime.")
	}
	if len(in.MetricDataQueries) == 0 || len(in.MetricDataQueries) > 500 {
		return nil, invalidParameter("MetricDataQueries must hold 1 to 500 queries")
	}
	var period int32
	for i := range in.MetricDataQueries {
		q := &in.MetricDataQueries[i]
		if !isLowerStart(q.ID) {
			return nil, invalidParameter("MetricDataQueries Id %q must start with a lowercase letter", q.ID)
		}
		if (q.MetricStat == nil) == (q.Expression == "") {
			return nil, invalidParameter("query %s must have exactly one of MetricStat and Expression", q.ID)
		}
		if ms := q.MetricStat; ms != nil {
			if err := checkStatistic(ms.Stat); err != nil {
				return nil, invalidParameter("query %s: %v", q.ID, err)
			}
			if ms.Period <= 0 || !validPeriod(ms.Period) {
				return nil, invalidParameter("query %s: Period must be 10, 20, 30 or a multiple of 60 seconds", q.ID)
			}
			if period != 0 && ms.Period != period {
				return nil, invalidParameter("the local cloud needs one Period for every query of a request (%d and %d)", period, ms.Period)
			}
			period = ms.Period
		}
	}
	if period == 0 {
		for _, q := range in.MetricDataQueries {
			if q.Period > 0 {
				period = q.Period
			}
		}
	}
	if period == 0 {
		period = 60
	}
	p := time.Duration(period) * time.Second
	var starts []time.Time
	for t := alignDown(in.StartTime.UTC(), p); t.Before(*in.EndTime); t = t.Add(p) {
		starts = append(starts, t)
		if len(starts) > maxDatapoints {
			return nil, invalidParameter("the request spans more than %d periods", maxDatapoints)
		}
	}
	env, err := s.evalQueries(in.MetricDataQueries, starts, p)
	if err != nil {
		return nil, invalidParameter("%v", err)
	}
	out := getMetricDataOut{MetricDataResults: []metricDataResult{}}
	for _, q := range in.MetricDataQueries {
		if !q.returns() {
			continue
		}
		res := metricDataResult{ID: q.ID, Label: q.Label, StatusCode: "Complete", Timestamps: []time.Time{}, Values: []float64{}}
		if res.Label == "" {
			res.Label = q.ID
			if q.MetricStat != nil {
				res.Label = q.MetricStat.Metric.MetricName
			}
		}
		pts := env[q.ID]
		for i := range pts {
			j := len(pts) - 1 - i // TimestampDescending (the default)
			if in.ScanBy == "TimestampAscending" {
				j = i
			}
			if pts[j].ok {
				res.Timestamps = append(res.Timestamps, pts[j].start)
				res.Values = append(res.Values, pts[j].value)
			}
		}
		out.MetricDataResults = append(out.MetricDataResults, res)
	}
	return out, nil
}

// ---- ListMetrics ----

type listMetricsOut struct {
	Metrics   []Metric `json:"Metrics" xml:"Metrics>member"`
	NextToken string   `json:"NextToken,omitempty" xml:",omitempty"`
}

func (s *Service) opListMetrics(_ context.Context, decode func(any) error) (any, error) {
	var in struct {
		Namespace  string            `json:"Namespace"`
		MetricName string            `json:"MetricName"`
		Dimensions []DimensionFilter `json:"Dimensions"`
		NextToken  string            `json:"NextToken"`
	}
	if err := decode(&in); err != nil {
		return nil, err
	}
	all := s.ListMetrics(in.Namespace, in.MetricName, in.Dimensions)
	start, err := decodeToken(in.NextToken, len(all))
	if err != nil {
		return nil, err
	}
	end := min(start+500, len(all))
	out := listMetricsOut{Metrics: append([]Metric{}, all[start:end]...)}
	if end < len(all) {
		out.NextToken = encodeToken(end)
	}
	return out, nil
}

// ---- alarms ----

func (s *Service) opPutMetricAlarm(_ context.Context, decode func(any) error) (any, error) {
	var in Alarm
	if err := decode(&in); err != nil {
		return nil, err
	}
	return nil, s.PutMetricAlarm(in)
}

type metricAlarmOut struct {
	AlarmName                          string            `json:"AlarmName"`
	AlarmArn                           string            `json:"AlarmArn"`
	AlarmDescription                   string            `json:"AlarmDescription,omitempty" xml:",omitempty"`
	AlarmConfigurationUpdatedTimestamp time.Time         `json:"AlarmConfigurationUpdatedTimestamp"`
	ActionsEnabled                     bool              `json:"ActionsEnabled"`
	OKActions                          []string          `json:"OKActions" xml:"OKActions>member"`
	AlarmActions                       []string          `json:"AlarmActions" xml:"AlarmActions>member"`
	InsufficientDataActions            []string          `json:"InsufficientDataActions" xml:"InsufficientDataActions>member"`
	StateValue                         string            `json:"StateValue"`
	StateReason                        string            `json:"StateReason"`
	StateReasonData                    string            `json:"StateReasonData,omitempty" xml:",omitempty"`
	StateUpdatedTimestamp              time.Time         `json:"StateUpdatedTimestamp"`
	StateTransitionedTimestamp         time.Time         `json:"StateTransitionedTimestamp"`
	MetricName                         string            `json:"MetricName,omitempty" xml:",omitempty"`
	Namespace                          string            `json:"Namespace,omitempty" xml:",omitempty"`
	Statistic                          string            `json:"Statistic,omitempty" xml:",omitempty"`
	ExtendedStatistic                  string            `json:"ExtendedStatistic,omitempty" xml:",omitempty"`
	Dimensions                         []Dimension       `json:"Dimensions" xml:"Dimensions>member"`
	Period                             *int32            `json:"Period,omitempty" xml:",omitempty"`
	Unit                               string            `json:"Unit,omitempty" xml:",omitempty"`
	EvaluationPeriods                  int32             `json:"EvaluationPeriods"`
	DatapointsToAlarm                  int32             `json:"DatapointsToAlarm"`
	Threshold                          float64           `json:"Threshold"`
	ComparisonOperator                 string            `json:"ComparisonOperator"`
	TreatMissingData                   string            `json:"TreatMissingData"`
	Metrics                            []MetricDataQuery `json:"Metrics,omitempty" xml:"Metrics>member"`
}

type describeAlarmsOut struct {
	MetricAlarms    []metricAlarmOut `json:"MetricAlarms" xml:"MetricAlarms>member"`
	CompositeAlarms []struct{}       `json:"CompositeAlarms" xml:"CompositeAlarms>member"`
	NextToken       string           `json:"NextToken,omitempty" xml:",omitempty"`
}

func toAlarmOut(v AlarmView) metricAlarmOut {
	a := v.Alarm
	out := metricAlarmOut{
		AlarmName: a.AlarmName, AlarmArn: v.AlarmARN, AlarmDescription: a.AlarmDescription,
		AlarmConfigurationUpdatedTimestamp: v.ConfigurationUpdated, ActionsEnabled: a.ActionsEnabled == nil || *a.ActionsEnabled,
		OKActions: nonNil(a.OKActions), AlarmActions: nonNil(a.AlarmActions), InsufficientDataActions: nonNil(a.InsufficientDataActions),
		StateValue: v.StateValue, StateReason: v.StateReason, StateReasonData: v.StateReasonData,
		StateUpdatedTimestamp: v.StateUpdatedTimestamp, StateTransitionedTimestamp: v.StateTransitionedTimestamp,
		MetricName: a.MetricName, Namespace: a.Namespace, Statistic: a.Statistic, ExtendedStatistic: a.ExtendedStatistic,
		Dimensions: append([]Dimension{}, a.Dimensions...), Unit: a.Unit, EvaluationPeriods: a.EvaluationPeriods,
		DatapointsToAlarm: a.DatapointsToAlarm, Threshold: a.Threshold, ComparisonOperator: a.ComparisonOperator,
		TreatMissingData: a.TreatMissingData, Metrics: a.Metrics,
	}
	if len(a.Metrics) == 0 {
		p := a.Period
		out.Period = &p
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (s *Service) opDescribeAlarms(_ context.Context, decode func(any) error) (any, error) {
	var in struct {
		AlarmNames      []string `json:"AlarmNames"`
		AlarmNamePrefix string   `json:"AlarmNamePrefix"`
		StateValue      string   `json:"StateValue"`
		MaxRecords      int32    `json:"MaxRecords"`
		NextToken       string   `json:"NextToken"`
	}
	if err := decode(&in); err != nil {
		return nil, err
	}
	if len(in.AlarmNames) > 0 && in.AlarmNamePrefix != "" {
		return nil, invalidCombination("AlarmNames and AlarmNamePrefix cannot be used together")
	}
	if in.MaxRecords < 0 || in.MaxRecords > 100 {
		return nil, invalidParameter("MaxRecords must be between 1 and 100")
	}
	if in.MaxRecords == 0 {
		in.MaxRecords = 50
	}
	all := s.DescribeAlarms(in.AlarmNames, in.AlarmNamePrefix, in.StateValue)
	start, err := decodeToken(in.NextToken, len(all))
	if err != nil {
		return nil, err
	}
	end := min(start+int(in.MaxRecords), len(all))
	out := describeAlarmsOut{MetricAlarms: []metricAlarmOut{}, CompositeAlarms: []struct{}{}}
	for _, v := range all[start:end] {
		out.MetricAlarms = append(out.MetricAlarms, toAlarmOut(v))
	}
	if end < len(all) {
		out.NextToken = encodeToken(end)
	}
	return out, nil
}

func (s *Service) opSetAlarmState(ctx context.Context, decode func(any) error) (any, error) {
	var in struct {
		AlarmName       string `json:"AlarmName"`
		StateValue      string `json:"StateValue"`
		StateReason     string `json:"StateReason"`
		StateReasonData string `json:"StateReasonData"`
	}
	if err := decode(&in); err != nil {
		return nil, err
	}
	if in.AlarmName == "" {
		return nil, missingParameter("AlarmName")
	}
	return nil, s.SetAlarmState(ctx, in.AlarmName, in.StateValue, in.StateReason, in.StateReasonData)
}

func (s *Service) opDeleteAlarms(_ context.Context, decode func(any) error) (any, error) {
	var in struct {
		AlarmNames []string `json:"AlarmNames"`
	}
	if err := decode(&in); err != nil {
		return nil, err
	}
	if len(in.AlarmNames) == 0 {
		return nil, missingParameter("AlarmNames")
	}
	return nil, s.DeleteAlarms(in.AlarmNames)
}
