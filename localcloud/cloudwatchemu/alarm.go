package cloudwatchemu

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gomlops/mlops/localcloud/awsproto"
	"github.com/gomlops/mlops/localcloud/eventbridge"
	"github.com/gomlops/mlops/localcloud/statefile"
)

// Alarm states.
const (
	StateOK               = "OK"
	StateAlarm            = "ALARM"
	StateInsufficientData = "INSUFFICIENT_DATA"
)

// TreatMissingData values.
const (
	MissingMissing      = "missing"
	MissingIgnore       = "ignore"
	MissingBreaching    = "breaching"
	MissingNotBreaching = "notBreaching"
)

// The EventBridge envelope of alarm state changes.
const (
	EventSource     = "aws.cloudwatch"
	EventDetailType = "CloudWatch Alarm State Change"
)

// comparisons maps the supported ComparisonOperators to the words
// CloudWatch uses in state reasons.
var comparisons = map[string]string{
	"GreaterThanOrEqualToThreshold": "greater than or equal to",
	"GreaterThanThreshold":          "greater than",
	"LessThanThreshold":             "less than",
	"LessThanOrEqualToThreshold":    "less than or equal to",
}

// MetricStat is a metric with the statistic and period to compute.
type MetricStat struct {
	Metric Metric `json:"Metric"`
	Period int32  `json:"Period"`
	Stat   string `json:"Stat"`
	Unit   string `json:"Unit,omitempty"`
}

// MetricDataQuery is one entry of an alarm's Metrics (or of
// GetMetricData): a metric or a math expression over other entries.
type MetricDataQuery struct {
	ID         string      `json:"Id" xml:"Id"`
	MetricStat *MetricStat `json:"MetricStat,omitempty"`
	Expression string      `json:"Expression,omitempty"`
	Label      string      `json:"Label,omitempty"`
	ReturnData *bool       `json:"ReturnData,omitempty"`
	Period     int32       `json:"Period,omitempty"`
}

// returns reports whether the query's data is returned (ReturnData
// defaults to true).
func (q MetricDataQuery) returns() bool { return q.ReturnData == nil || *q.ReturnData }

// Alarm is a metric alarm's configuration: the fields of
// AWS::CloudWatch::Alarm and PutMetricAlarm.
type Alarm struct {
	AlarmName               string            `json:"AlarmName"`
	AlarmDescription        string            `json:"AlarmDescription,omitempty"`
	ActionsEnabled          *bool             `json:"ActionsEnabled,omitempty"`
	OKActions               []string          `json:"OKActions,omitempty"`
	AlarmActions            []string          `json:"AlarmActions,omitempty"`
	InsufficientDataActions []string          `json:"InsufficientDataActions,omitempty"`
	MetricName              string            `json:"MetricName,omitempty"`
	Namespace               string            `json:"Namespace,omitempty"`
	Statistic               string            `json:"Statistic,omitempty"`
	ExtendedStatistic       string            `json:"ExtendedStatistic,omitempty"`
	Dimensions              []Dimension       `json:"Dimensions,omitempty"`
	Period                  int32             `json:"Period,omitempty"`
	Unit                    string            `json:"Unit,omitempty"`
	EvaluationPeriods       int32             `json:"EvaluationPeriods"`
	DatapointsToAlarm       int32             `json:"DatapointsToAlarm,omitempty"`
	Threshold               float64           `json:"Threshold"`
	ComparisonOperator      string            `json:"ComparisonOperator"`
	TreatMissingData        string            `json:"TreatMissingData,omitempty"`
	Metrics                 []MetricDataQuery `json:"Metrics,omitempty"`
}

// stat is the alarm's statistic (Statistic or ExtendedStatistic).
func (a Alarm) stat() string {
	if a.ExtendedStatistic != "" {
		return a.ExtendedStatistic
	}
	return a.Statistic
}

// evalPeriod is the alarm's period: Period, or for a metric-math alarm
// the (common) period of its metrics.
func (a Alarm) evalPeriod() int32 {
	for _, q := range a.Metrics {
		if q.MetricStat != nil {
			return q.MetricStat.Period
		}
	}
	return a.Period
}

// validPeriod is CloudWatch's rule: 10, 20, 30 or a multiple of 60 seconds.
func validPeriod(p int32) bool {
	return p == 10 || p == 20 || p == 30 || (p >= 60 && p%60 == 0)
}

func invalidParameter(format string, args ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "InvalidParameterValue", format, args...)
}

func missingParameter(name string) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "MissingParameter", "The parameter %s is required.", name)
}

func invalidCombination(format string, args ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "InvalidParameterCombination", format, args...)
}

// normalize checks an alarm as PutMetricAlarm does and fills in defaults.
func (a *Alarm) normalize() error {
	if a.AlarmName == "" {
		return missingParameter("AlarmName")
	}
	if len(a.AlarmName) > 255 {
		return invalidParameter("AlarmName must be at most 255 characters")
	}
	if a.EvaluationPeriods < 1 {
		return invalidParameter("EvaluationPeriods must be at least 1")
	}
	if a.DatapointsToAlarm == 0 {
		a.DatapointsToAlarm = a.EvaluationPeriods
	}
	if a.DatapointsToAlarm < 1 || a.DatapointsToAlarm > a.EvaluationPeriods {
		return invalidParameter("DatapointsToAlarm (%d) must be between 1 and EvaluationPeriods (%d)", a.DatapointsToAlarm, a.EvaluationPeriods)
	}
	if a.ComparisonOperator == "" {
		return missingParameter("ComparisonOperator")
	}
	if _, ok := comparisons[a.ComparisonOperator]; !ok {
		return invalidParameter("ComparisonOperator %q is not supported by the local cloud (GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold, LessThanOrEqualToThreshold)", a.ComparisonOperator)
	}
	switch a.TreatMissingData {
	case "":
		a.TreatMissingData = MissingMissing
	case MissingMissing, MissingIgnore, MissingBreaching, MissingNotBreaching:
	default:
		return invalidParameter("TreatMissingData %q must be one of breaching, notBreaching, ignore, missing", a.TreatMissingData)
	}
	if len(a.Metrics) > 0 {
		if a.MetricName != "" || a.Namespace != "" || a.Statistic != "" || a.ExtendedStatistic != "" || len(a.Dimensions) > 0 || a.Period != 0 {
			return invalidCombination("Metrics cannot be combined with MetricName, Namespace, Dimensions, Statistic, ExtendedStatistic or Period")
		}
		return a.checkMetrics()
	}
	if a.MetricName == "" {
		return missingParameter("MetricName")
	}
	if a.Namespace == "" {
		return missingParameter("Namespace")
	}
	if (a.Statistic == "") == (a.ExtendedStatistic == "") {
		return invalidCombination("exactly one of Statistic and ExtendedStatistic must be set")
	}
	if a.Statistic != "" && strings.HasPrefix(a.Statistic, "p") {
		return invalidParameter("Statistic %q: percentiles go in ExtendedStatistic", a.Statistic)
	}
	if err := checkStatistic(a.stat()); err != nil {
		return invalidParameter("%v", err)
	}
	if !validPeriod(a.Period) {
		return invalidParameter("Period %d must be 10, 20, 30 or a multiple of 60 seconds", a.Period)
	}
	a.Dimensions = sortDims(a.Dimensions)
	return nil
}

// checkMetrics validates a metric-math alarm: ids unique, one entry
// returning data, expressions that parse and reference known ids, one
// period for every metric.
func (a *Alarm) checkMetrics() error {
	ids := map[string]bool{}
	returning := 0
	var period int32
	for i := range a.Metrics {
		q := &a.Metrics[i]
		if q.ID == "" || !isLowerStart(q.ID) {
			return invalidParameter("Metrics[%d].Id %q must start with a lowercase letter", i, q.ID)
		}
		if ids[q.ID] {
			return invalidParameter("Metrics Id %q is used twice", q.ID)
		}
		ids[q.ID] = true
		if q.returns() {
			returning++
		}
		if (q.MetricStat == nil) == (q.Expression == "") {
			return invalidParameter("Metrics[%s] must have exactly one of MetricStat and Expression", q.ID)
		}
		if ms := q.MetricStat; ms != nil {
			if ms.Metric.MetricName == "" || ms.Metric.Namespace == "" {
				return missingParameter("Metrics[" + q.ID + "].MetricStat.Metric.MetricName and Namespace")
			}
			if err := checkStatistic(ms.Stat); err != nil {
				return invalidParameter("Metrics[%s]: %v", q.ID, err)
			}
			if !validPeriod(ms.Period) {
				return invalidParameter("Metrics[%s].MetricStat.Period %d must be 10, 20, 30 or a multiple of 60 seconds", q.ID, ms.Period)
			}
			if period == 0 {
				period = ms.Period
			} else if period != ms.Period {
				return invalidParameter("every metric of an alarm must have the same Period (%d and %d)", period, ms.Period)
			}
			ms.Metric.Dimensions = sortDims(ms.Metric.Dimensions)
		}
	}
	if returning != 1 {
		return invalidParameter("exactly one entry of Metrics must have ReturnData true, %d do", returning)
	}
	for _, q := range a.Metrics {
		if q.Expression == "" {
			continue
		}
		_, refs, err := parseExpression(q.Expression)
		if err != nil {
			return invalidParameter("Metrics[%s]: %v", q.ID, err)
		}
		for _, r := range refs {
			if !ids[r] {
				return invalidParameter("Metrics[%s]: expression references unknown id %q", q.ID, r)
			}
		}
	}
	if period == 0 {
		return invalidParameter("a metric-math alarm needs at least one MetricStat")
	}
	// The cycle check needs evaluation order: do a dry run on no data.
	if _, err := (&Service{series: map[string]*series{}}).evalQueries(a.Metrics, nil, time.Minute); err != nil {
		return invalidParameter("%v", err)
	}
	return nil
}

func isLowerStart(s string) bool { return s != "" && s[0] >= 'a' && s[0] <= 'z' }

// alarmState is an alarm with its state.
type alarmState struct {
	Config        Alarm     `json:"config"`
	ConfigUpdated time.Time `json:"configUpdated"`
	Value         string    `json:"state"`
	Reason        string    `json:"reason"`
	ReasonData    string    `json:"reasonData,omitempty"`
	Updated       time.Time `json:"updated"`
	Transitioned  time.Time `json:"transitioned"`
}

// AlarmView is an alarm as DescribeAlarms reports it.
type AlarmView struct {
	Alarm
	AlarmARN                   string
	ConfigurationUpdated       time.Time
	StateValue                 string
	StateReason                string
	StateReasonData            string
	StateUpdatedTimestamp      time.Time
	StateTransitionedTimestamp time.Time
}

// AlarmARN returns the ARN of an alarm.
func (s *Service) AlarmARN(name string) string {
	return fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", s.opts.Region, s.opts.AccountID, name)
}

func (s *Service) alarmsPath() string { return filepath.Join(s.dir, "alarms.json") }

func (s *Service) loadAlarms() error {
	var stored []*alarmState
	if _, err := statefile.Read(s.alarmsPath(), &stored); err != nil {
		return fmt.Errorf("cloudwatchemu: stored alarms: %w", err)
	}
	for _, a := range stored {
		s.alarms[a.Config.AlarmName] = a
	}
	return nil
}

// saveAlarmsLocked persists every alarm; s.mu must be held.
func (s *Service) saveAlarmsLocked() error {
	list := make([]*alarmState, 0, len(s.alarms))
	for _, a := range s.alarms {
		list = append(list, a)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Config.AlarmName < list[j].Config.AlarmName })
	if err := statefile.Write(s.alarmsPath(), list); err != nil {
		return fmt.Errorf("save alarms: %w", err)
	}
	return nil
}

// PutMetricAlarm creates an alarm (state INSUFFICIENT_DATA) or replaces
// the configuration of an existing one, keeping its state, as CloudWatch
// does.
func (s *Service) PutMetricAlarm(a Alarm) error {
	if err := a.normalize(); err != nil {
		return err
	}
	now := s.opts.Clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.alarms[a.AlarmName]
	if st == nil {
		st = &alarmState{Value: StateInsufficientData, Reason: "Unchecked: Initial alarm creation", Updated: now, Transitioned: now}
		s.alarms[a.AlarmName] = st
	}
	st.Config = a
	st.ConfigUpdated = now
	if err := s.saveAlarmsLocked(); err != nil {
		s.logger.Error("save alarms", "error", err)
		return awsproto.Internal()
	}
	return nil
}

// DeleteAlarms deletes alarms; unknown names are an error, as in CloudWatch.
func (s *Service) DeleteAlarms(names []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range names {
		if s.alarms[n] == nil {
			return awsproto.Errorf(http.StatusNotFound, "ResourceNotFound", "%s not found", n)
		}
	}
	for _, n := range names {
		delete(s.alarms, n)
	}
	if err := s.saveAlarmsLocked(); err != nil {
		s.logger.Error("save alarms", "error", err)
		return awsproto.Internal()
	}
	return nil
}

// DescribeAlarms returns alarms sorted by name: those named (all when
// names is empty), whose name starts with prefix and, when state is set,
// in that state.
func (s *Service) DescribeAlarms(names []string, prefix, state string) []AlarmView {
	s.mu.Lock()
	defer s.mu.Unlock()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var out []AlarmView
	for name, a := range s.alarms {
		if len(want) > 0 && !want[name] || !strings.HasPrefix(name, prefix) || state != "" && a.Value != state {
			continue
		}
		out = append(out, AlarmView{
			Alarm: a.Config, AlarmARN: s.AlarmARN(name), ConfigurationUpdated: a.ConfigUpdated,
			StateValue: a.Value, StateReason: a.Reason, StateReasonData: a.ReasonData,
			StateUpdatedTimestamp: a.Updated, StateTransitionedTimestamp: a.Transitioned,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].AlarmName < out[j].AlarmName })
	return out
}

// SetAlarmState sets an alarm's state until its next evaluation, emitting
// the state change event when the value changes. reasonData, when given,
// must be JSON.
func (s *Service) SetAlarmState(ctx context.Context, name, value, reason, reasonData string) error {
	switch value {
	case StateOK, StateAlarm, StateInsufficientData:
	default:
		return invalidParameter("StateValue %q must be OK, ALARM or INSUFFICIENT_DATA", value)
	}
	if reason == "" {
		return missingParameter("StateReason")
	}
	if len(reason) > 1023 {
		return invalidParameter("StateReason must be at most 1023 characters")
	}
	if reasonData != "" && !json.Valid([]byte(reasonData)) {
		return awsproto.Errorf(http.StatusBadRequest, "InvalidFormat", "StateReasonData is not valid JSON")
	}
	s.mu.Lock()
	a := s.alarms[name]
	if a == nil {
		s.mu.Unlock()
		return awsproto.Errorf(http.StatusNotFound, "ResourceNotFound", "Alarm %s not found", name)
	}
	ev := s.transitionLocked(a, value, reason, reasonData, s.opts.Clock.Now())
	err := s.saveAlarmsLocked()
	s.mu.Unlock()
	if err != nil {
		s.logger.Error("save alarms", "error", err)
		return awsproto.Internal()
	}
	s.emit(ctx, ev)
	return nil
}

// transitionLocked records a new state and returns the state change event
// when the value changed (nil otherwise).
func (s *Service) transitionLocked(a *alarmState, value, reason, reasonData string, now time.Time) *change {
	prev := stateDoc{Value: a.Value, Reason: a.Reason, ReasonData: a.ReasonData, Timestamp: cwTime(a.Updated)}
	changed := a.Value != value
	a.Value, a.Reason, a.ReasonData, a.Updated = value, reason, reasonData, now
	if !changed {
		return nil
	}
	a.Transitioned = now
	detail := alarmDetail{
		AlarmName:     a.Config.AlarmName,
		State:         stateDoc{Value: value, Reason: reason, ReasonData: reasonData, Timestamp: cwTime(now)},
		PreviousState: prev,
		Configuration: s.configuration(a.Config),
	}
	raw, err := json.Marshal(detail)
	if err != nil {
		s.logger.Error("encode alarm event", "alarm", a.Config.AlarmName, "error", err)
		return nil
	}
	return &change{
		event: eventbridge.Event{
			DetailType: EventDetailType, Source: EventSource, Account: s.opts.AccountID, Region: s.opts.Region,
			Time: now.UTC().Format(time.RFC3339), Resources: []string{s.AlarmARN(a.Config.AlarmName)}, Detail: raw,
		},
		notes: s.notificationsLocked(a, prev.Value, now),
	}
}

// change is a state transition's side effects: the EventBridge event and
// the alarm's SNS actions.
type change struct {
	event eventbridge.Event
	notes []notification
}

func (s *Service) emit(ctx context.Context, c *change) {
	if c == nil {
		return
	}
	if s.opts.Events != nil {
		if err := s.opts.Events.Emit(ctx, c.event); err != nil {
			s.logger.Error("emit alarm state change", "resources", c.event.Resources, "error", err)
		}
	}
	s.notify(ctx, c.notes)
}

// cwTime formats a time as CloudWatch writes state timestamps
// ("2026-11-25T10:05:40.985+0000").
func cwTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000-0700") }

type stateDoc struct {
	Value      string `json:"value"`
	Reason     string `json:"reason"`
	ReasonData string `json:"reasonData,omitempty"`
	Timestamp  string `json:"timestamp"`
}

type alarmDetail struct {
	AlarmName     string        `json:"alarmName"`
	State         stateDoc      `json:"state"`
	PreviousState stateDoc      `json:"previousState"`
	Configuration configuration `json:"configuration"`
}

type configuration struct {
	Description string        `json:"description,omitempty"`
	Metrics     []eventMetric `json:"metrics"`
}

type eventMetric struct {
	ID         string           `json:"id"`
	MetricStat *eventMetricStat `json:"metricStat,omitempty"`
	Expression string           `json:"expression,omitempty"`
	Label      string           `json:"label,omitempty"`
	ReturnData bool             `json:"returnData"`
}

type eventMetricStat struct {
	Metric struct {
		Namespace  string            `json:"namespace"`
		Name       string            `json:"name"`
		Dimensions map[string]string `json:"dimensions"`
	} `json:"metric"`
	Period int32  `json:"period"`
	Stat   string `json:"stat"`
	Unit   string `json:"unit,omitempty"`
}

func toEventStat(m Metric, period int32, stat, unit string) *eventMetricStat {
	es := &eventMetricStat{Period: period, Stat: stat, Unit: unit}
	es.Metric.Namespace, es.Metric.Name = m.Namespace, m.MetricName
	es.Metric.Dimensions = map[string]string{}
	for _, d := range m.Dimensions {
		es.Metric.Dimensions[d.Name] = d.Value
	}
	return es
}

// configuration is the event's view of the alarm's metrics. A
// single-metric alarm gets one entry with a stable UUID-shaped id, as
// CloudWatch generates one.
func (s *Service) configuration(a Alarm) configuration {
	c := configuration{Description: a.AlarmDescription}
	if len(a.Metrics) == 0 {
		sum := sha256.Sum256([]byte(s.AlarmARN(a.AlarmName)))
		h := hex.EncodeToString(sum[:16])
		id := h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
		c.Metrics = []eventMetric{{ID: id, MetricStat: toEventStat(Metric{Namespace: a.Namespace, MetricName: a.MetricName, Dimensions: a.Dimensions}, a.Period, a.stat(), a.Unit), ReturnData: true}}
		return c
	}
	for _, q := range a.Metrics {
		em := eventMetric{ID: q.ID, Expression: q.Expression, Label: q.Label, ReturnData: q.returns()}
		if q.MetricStat != nil {
			em.MetricStat = toEventStat(q.MetricStat.Metric, q.MetricStat.Period, q.MetricStat.Stat, q.MetricStat.Unit)
		}
		c.Metrics = append(c.Metrics, em)
	}
	return c
}

// EvaluateNow evaluates every alarm at the clock's current time and emits
// an event for each state change.
func (s *Service) EvaluateNow(ctx context.Context) error {
	s.evalMu.Lock()
	defer s.evalMu.Unlock()
	now := s.opts.Clock.Now()
	s.mu.Lock()
	s.pruneLocked(now)
	names := make([]string, 0, len(s.alarms))
	configs := map[string]Alarm{}
	for n, a := range s.alarms {
		names = append(names, n)
		configs[n] = a.Config
	}
	s.mu.Unlock()
	sort.Strings(names)

	var events []*change
	var errs []error
	for _, n := range names {
		res, err := s.evaluate(configs[n], now)
		if err != nil {
			errs = append(errs, fmt.Errorf("alarm %s: %w", n, err))
			continue
		}
		s.mu.Lock()
		a := s.alarms[n]
		if a != nil && res.value != "" {
			if ev := s.transitionLocked(a, res.value, res.reason, res.reasonData, now); ev != nil {
				events = append(events, ev)
			}
		}
		s.mu.Unlock()
	}
	s.mu.Lock()
	if err := s.saveAlarmsLocked(); err != nil {
		errs = append(errs, err)
	}
	s.mu.Unlock()
	for _, ev := range events {
		s.emit(ctx, ev)
	}
	return errors.Join(errs...)
}

// evaluation is an alarm's new state ("" keeps the current one).
type evaluation struct {
	value, reason, reasonData string
}

// evaluate computes the alarm's state at now over its last
// EvaluationPeriods complete periods.
func (s *Service) evaluate(a Alarm, now time.Time) (evaluation, error) {
	period := time.Duration(a.evalPeriod()) * time.Second
	end := alignDown(now, period)
	n := int(a.EvaluationPeriods)
	starts := make([]time.Time, n)
	for i := range starts {
		starts[i] = end.Add(-time.Duration(n-i) * period) // oldest first
	}
	var pts []point
	if len(a.Metrics) == 0 {
		pts = s.statSeries(Metric{Namespace: a.Namespace, MetricName: a.MetricName, Dimensions: a.Dimensions}, a.stat(), a.Unit, period, starts)
	} else {
		env, err := s.evalQueries(a.Metrics, starts, period)
		if err != nil {
			return evaluation{}, err
		}
		for _, q := range a.Metrics {
			if q.returns() {
				pts = env[q.ID]
			}
		}
	}

	breaching, present := 0, 0
	var good, bad []point
	for _, p := range pts {
		switch {
		case p.ok:
			present++
			if crosses(a.ComparisonOperator, p.value, a.Threshold) {
				breaching++
				bad = append(bad, p)
			} else {
				good = append(good, p)
			}
		case a.TreatMissingData == MissingBreaching:
			breaching++
		}
	}
	if a.TreatMissingData == MissingNotBreaching || a.TreatMissingData == MissingBreaching {
		present = n
	}
	data := reasonData(a, now, starts[0], pts)
	switch {
	case present == 0 && a.TreatMissingData == MissingIgnore:
		return evaluation{}, nil
	case present == 0:
		return evaluation{value: StateInsufficientData, reason: fmt.Sprintf("Insufficient Data: %d %s %s unknown.", n, plural(n, "datapoint"), wasWere(n)), reasonData: data}, nil
	case breaching >= int(a.DatapointsToAlarm):
		return evaluation{value: StateAlarm, reason: thresholdReason(a, breaching, bad, false), reasonData: data}, nil
	default:
		return evaluation{value: StateOK, reason: thresholdReason(a, n-breaching, good, true), reasonData: data}, nil
	}
}

func crosses(op string, v, threshold float64) bool {
	switch op {
	case "GreaterThanOrEqualToThreshold":
		return v >= threshold
	case "GreaterThanThreshold":
		return v > threshold
	case "LessThanThreshold":
		return v < threshold
	default:
		return v <= threshold
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func wasWere(n int) string {
	if n == 1 {
		return "was"
	}
	return "were"
}

// javaNumber formats a number as CloudWatch (Java) prints doubles: 1.0,
// 0.25, 1.0E7.
func javaNumber(v float64) string {
	if v == float64(int64(v)) && v < 1e7 && v > -1e7 {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'G', -1, 64)
}

// thresholdReason is CloudWatch's "Threshold Crossed" reason: count of
// the last N datapoints (listed newest first) crossed, or did not cross,
// the threshold.
func thresholdReason(a Alarm, count int, pts []point, not bool) string {
	var list []string
	for i := len(pts) - 1; i >= 0; i-- {
		list = append(list, fmt.Sprintf("%s (%s)", javaNumber(pts[i].value), pts[i].start.UTC().Format("02/01/06 15:04:05")))
	}
	cmp := comparisons[a.ComparisonOperator]
	if not {
		cmp = "not " + cmp
	}
	n := int(a.EvaluationPeriods)
	if n == 1 {
		return fmt.Sprintf("Threshold Crossed: 1 datapoint [%s] was %s the threshold (%s).", strings.Join(list, ", "), cmp, javaNumber(a.Threshold))
	}
	need := int(a.DatapointsToAlarm)
	from, to := StateOK, StateAlarm
	if not {
		need = n - need + 1
		from, to = StateAlarm, StateOK
	}
	return fmt.Sprintf("Threshold Crossed: %d out of the last %d datapoints [%s] %s %s the threshold (%s) (minimum %d %s for %s -> %s transition).",
		count, n, strings.Join(list, ", "), wasWere(count), cmp, javaNumber(a.Threshold), need, plural(need, "datapoint"), from, to)
}

// reasonData is the JSON CloudWatch attaches to an evaluated state.
func reasonData(a Alarm, now, start time.Time, pts []point) string {
	type evaluated struct {
		Timestamp   string   `json:"timestamp"`
		SampleCount *float64 `json:"sampleCount,omitempty"`
		Value       *float64 `json:"value,omitempty"`
	}
	doc := struct {
		Version             string      `json:"version"`
		QueryDate           string      `json:"queryDate"`
		StartDate           string      `json:"startDate"`
		Statistic           string      `json:"statistic,omitempty"`
		Period              int32       `json:"period"`
		RecentDatapoints    []float64   `json:"recentDatapoints"`
		Threshold           float64     `json:"threshold"`
		EvaluatedDatapoints []evaluated `json:"evaluatedDatapoints"`
	}{Version: "1.0", QueryDate: cwTime(now), StartDate: cwTime(start), Period: a.evalPeriod(), Threshold: a.Threshold, RecentDatapoints: []float64{}}
	if len(a.Metrics) == 0 {
		doc.Statistic = a.stat()
	}
	for _, p := range pts {
		if p.ok {
			doc.RecentDatapoints = append(doc.RecentDatapoints, p.value)
		}
	}
	for i := len(pts) - 1; i >= 0; i-- {
		e := evaluated{Timestamp: cwTime(pts[i].start)}
		if pts[i].ok {
			v := pts[i].value
			e.Value = &v
			if len(a.Metrics) == 0 {
				c := pts[i].sampleCount
				e.SampleCount = &c
			}
		}
		doc.EvaluatedDatapoints = append(doc.EvaluatedDatapoints, e)
	}
	raw, _ := json.Marshal(doc)
	return string(raw)
}
