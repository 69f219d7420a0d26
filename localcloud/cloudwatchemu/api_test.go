package cloudwatchemu

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/gomlops/mlops/shared/metrics"
)

type apiFixture struct {
	svc    *Service
	events *fakeEvents
	clock  *clock.Manual
	url    string
	client *cloudwatch.Client
}

func newAPIFixture(t *testing.T, alarms ...Alarm) *apiFixture {
	t.Helper()
	// The clock follows the wall clock closely: the CLI and SDK default
	// timestamps to the real now.
	clk := clock.NewManual(time.Now().UTC().Truncate(time.Hour))
	svc, events := newService(t, t.TempDir(), clk, alarms...)
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(srv.Close)
	client := cloudwatch.NewFromConfig(aws.Config{
		Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), BaseEndpoint: aws.String(srv.URL),
	})
	return &apiFixture{svc: svc, events: events, clock: clk, url: srv.URL, client: client}
}

func TestSDKRoundTrip(t *testing.T) {
	f := newAPIFixture(t, driftAlarm(MissingNotBreaching, 3, 2))
	ctx := context.Background()
	base := f.clock.Now()

	t.Run("PutMetricData then GetMetricData and ListMetrics", func(t *testing.T) {
		_, err := f.client.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{
			Namespace: aws.String("MLOps/dev"),
			MetricData: []cwtypes.MetricDatum{
				{MetricName: aws.String("DriftScore"), Dimensions: []cwtypes.Dimension{{Name: aws.String("EndpointName"), Value: aws.String("churn-dev")}}, Timestamp: aws.Time(base.Add(-50 * time.Minute)), Value: aws.Float64(0.5), Unit: cwtypes.StandardUnitNone},
				{MetricName: aws.String("DriftScore"), Dimensions: []cwtypes.Dimension{{Name: aws.String("EndpointName"), Value: aws.String("churn-dev")}}, Timestamp: aws.Time(base.Add(-110 * time.Minute)), Values: []float64{0.1, 0.7}, Counts: []float64{1, 3}},
			},
		})
		require.NoError(t, err)
		out, err := f.client.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
			StartTime: aws.Time(base.Add(-3 * time.Hour)), EndTime: aws.Time(base),
			MetricDataQueries: []cwtypes.MetricDataQuery{
				{Id: aws.String("m"), MetricStat: &cwtypes.MetricStat{Metric: &cwtypes.Metric{Namespace: aws.String("MLOps/dev"), MetricName: aws.String("DriftScore"), Dimensions: []cwtypes.Dimension{{Name: aws.String("EndpointName"), Value: aws.String("churn-dev")}}}, Period: aws.Int32(3600), Stat: aws.String("Maximum")}},
				{Id: aws.String("n"), MetricStat: &cwtypes.MetricStat{Metric: &cwtypes.Metric{Namespace: aws.String("MLOps/dev"), MetricName: aws.String("DriftScore"), Dimensions: []cwtypes.Dimension{{Name: aws.String("EndpointName"), Value: aws.String("churn-dev")}}}, Period: aws.Int32(3600), Stat: aws.String("SampleCount")}, ReturnData: aws.Bool(false)},
				{Id: aws.String("e"), Expression: aws.String("n * 2"), Label: aws.String("double count")},
			},
		})
		require.NoError(t, err)
		require.Len(t, out.MetricDataResults, 2)
		m := out.MetricDataResults[0]
		assert.Equal(t, "m", aws.ToString(m.Id))
		assert.Equal(t, cwtypes.StatusCodeComplete, m.StatusCode)
		assert.Equal(t, []float64{0.5, 0.7}, m.Values, "newest first")
		require.Len(t, m.Timestamps, 2)
		assert.True(t, m.Timestamps[0].Equal(base.Add(-time.Hour)), "%v", m.Timestamps[0])
		assert.Equal(t, []float64{2, 8}, out.MetricDataResults[1].Values)
		assert.Equal(t, "double count", aws.ToString(out.MetricDataResults[1].Label))

		list, err := f.client.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String("MLOps/dev")})
		require.NoError(t, err)
		require.Len(t, list.Metrics, 1)
		assert.Equal(t, "DriftScore", aws.ToString(list.Metrics[0].MetricName))
		assert.Equal(t, "churn-dev", aws.ToString(list.Metrics[0].Dimensions[0].Value))
	})

	t.Run("alarm evaluated and described", func(t *testing.T) {
		require.NoError(t, f.svc.EvaluateNow(ctx))
		out, err := f.client.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"mlops-dev-drift"}})
		require.NoError(t, err)
		require.Len(t, out.MetricAlarms, 1)
		a := out.MetricAlarms[0]
		assert.Equal(t, cwtypes.StateValueAlarm, a.StateValue)
		assert.Equal(t, "arn:aws:cloudwatch:us-east-1:123456789012:alarm:mlops-dev-drift", aws.ToString(a.AlarmArn))
		assert.Equal(t, cwtypes.StatisticMaximum, a.Statistic)
		assert.Equal(t, int32(3600), aws.ToInt32(a.Period))
		assert.Equal(t, int32(2), aws.ToInt32(a.DatapointsToAlarm))
		assert.Equal(t, 0.25, aws.ToFloat64(a.Threshold))
		assert.Equal(t, cwtypes.ComparisonOperatorGreaterThanThreshold, a.ComparisonOperator)
		assert.Equal(t, "notBreaching", aws.ToString(a.TreatMissingData))
		assert.Contains(t, aws.ToString(a.StateReason), "Threshold Crossed: 2 out of the last 3 datapoints")
		assert.True(t, a.StateUpdatedTimestamp.Equal(base), "%v", a.StateUpdatedTimestamp)
	})

	t.Run("SetAlarmState through the SDK emits the event", func(t *testing.T) {
		_, err := f.client.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("mlops-dev-drift"), StateValue: cwtypes.StateValueOk, StateReason: aws.String("remediated")})
		require.NoError(t, err)
		evs := f.events.all()
		require.NotEmpty(t, evs)
		var d alarmDetail
		require.NoError(t, json.Unmarshal(evs[len(evs)-1].Detail, &d))
		assert.Equal(t, "ALARM", d.PreviousState.Value)
		assert.Equal(t, "OK", d.State.Value)
		assert.Equal(t, "remediated", d.State.Reason)
	})

	t.Run("PutMetricAlarm creates an alarm in INSUFFICIENT_DATA", func(t *testing.T) {
		_, err := f.client.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
			AlarmName: aws.String("latency"), Namespace: aws.String("AWS/SageMaker"), MetricName: aws.String("ModelLatency"),
			Dimensions:        []cwtypes.Dimension{{Name: aws.String("EndpointName"), Value: aws.String("e")}, {Name: aws.String("VariantName"), Value: aws.String("AllTraffic")}},
			ExtendedStatistic: aws.String("p99"), Period: aws.Int32(60), EvaluationPeriods: aws.Int32(3), DatapointsToAlarm: aws.Int32(2),
			Threshold: aws.Float64(500000), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold, TreatMissingData: aws.String("notBreaching"),
		})
		require.NoError(t, err)
		out, err := f.client.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String("lat")})
		require.NoError(t, err)
		require.Len(t, out.MetricAlarms, 1)
		assert.Equal(t, cwtypes.StateValueInsufficientData, out.MetricAlarms[0].StateValue)
		assert.Equal(t, "p99", aws.ToString(out.MetricAlarms[0].ExtendedStatistic))
	})

	t.Run("errors are typed SDK errors", func(t *testing.T) {
		_, err := f.client.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("nope"), StateValue: cwtypes.StateValueOk, StateReason: aws.String("x")})
		var nf *cwtypes.ResourceNotFound
		require.ErrorAs(t, err, &nf)
		assert.Equal(t, "ResourceNotFound", nf.ErrorCode())

		_, err = f.client.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("AWS/Lambda"), MetricData: []cwtypes.MetricDatum{{MetricName: aws.String("x"), Value: aws.Float64(1)}}})
		var bad *cwtypes.InvalidParameterValueException
		require.ErrorAs(t, err, &bad)
		assert.Equal(t, "InvalidParameterValue", bad.ErrorCode())
		assert.Contains(t, bad.ErrorMessage(), "AWS/")

		_, err = f.client.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("X"), MetricData: []cwtypes.MetricDatum{{MetricName: aws.String("x"), Value: aws.Float64(math.Inf(1))}}})
		require.ErrorAs(t, err, &bad)
		assert.Contains(t, bad.ErrorMessage(), "finite")

		_, err = f.client.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{})
		var api smithy.APIError
		require.ErrorAs(t, err, &api)
		assert.Equal(t, "UnknownOperationException", api.ErrorCode())
	})

	t.Run("DeleteAlarms deletes, and refuses unknown names", func(t *testing.T) {
		_, err := f.client.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"latency", "nope"}})
		var nf *cwtypes.ResourceNotFound
		require.ErrorAs(t, err, &nf)
		assert.Len(t, f.svc.DescribeAlarms([]string{"latency"}, "", ""), 1, "nothing deleted when a name is unknown")
		_, err = f.client.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"latency"}})
		require.NoError(t, err)
		assert.Empty(t, f.svc.DescribeAlarms([]string{"latency"}, "", ""))
	})

	t.Run("a large PutMetricData is gzip-compressed by the SDK and still accepted", func(t *testing.T) {
		var data []cwtypes.MetricDatum
		for i := 0; i < 600; i++ {
			data = append(data, cwtypes.MetricDatum{MetricName: aws.String("Bulk"), Value: aws.Float64(float64(i)), Timestamp: aws.Time(base.Add(-time.Minute))})
		}
		_, err := f.client.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Load"), MetricData: data})
		require.NoError(t, err)
		pts := f.svc.statSeries(Metric{Namespace: "Load", MetricName: "Bulk"}, StatSampleCount, "", time.Hour, []time.Time{base.Add(-time.Hour)})
		assert.Equal(t, 600.0, pts[0].value)
	})
}

func TestDescribeAlarmsPages(t *testing.T) {
	var alarms []Alarm
	for _, n := range []string{"a1", "a2", "a3"} {
		a := driftAlarm(MissingMissing, 1, 1)
		a.AlarmName = n
		alarms = append(alarms, a)
	}
	f := newAPIFixture(t, alarms...)
	p := cloudwatch.NewDescribeAlarmsPaginator(f.client, &cloudwatch.DescribeAlarmsInput{MaxRecords: aws.Int32(2)})
	var names []string
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		require.NoError(t, err)
		for _, a := range page.MetricAlarms {
			names = append(names, aws.ToString(a.AlarmName))
		}
	}
	assert.Equal(t, []string{"a1", "a2", "a3"}, names)
}

// awsCLI runs the AWS CLI against the fixture, with dummy credentials.
func (f *apiFixture) awsCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("aws", append(args, "--endpoint-url", f.url, "--region", "us-east-1", "--output", "json")...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err := cmd.Run()
	if err != nil {
		return stderr.String(), err
	}
	return out.String(), nil
}

func TestAWSCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI is not installed")
	}
	f := newAPIFixture(t, driftAlarm(MissingNotBreaching, 1, 1))

	msg, err := f.awsCLI(t, "cloudwatch", "put-metric-data", "--namespace", "MLOps/dev", "--metric-name", "DriftScore",
		"--dimensions", "EndpointName=churn-dev", "--value", "0.9", "--timestamp", f.clock.Now().Add(-30*time.Minute).Format(time.RFC3339))
	require.NoError(t, err, msg)
	require.NoError(t, f.svc.EvaluateNow(context.Background()))

	out, err := f.awsCLI(t, "cloudwatch", "describe-alarms", "--alarm-names", "mlops-dev-drift")
	require.NoError(t, err, out)
	var described struct {
		MetricAlarms []struct {
			AlarmName, StateValue, StateReason, TreatMissingData string
			Threshold                                            float64
			Dimensions                                           []struct{ Name, Value string }
		}
	}
	require.NoError(t, json.Unmarshal([]byte(out), &described), out)
	require.Len(t, described.MetricAlarms, 1)
	a := described.MetricAlarms[0]
	assert.Equal(t, "ALARM", a.StateValue)
	assert.Equal(t, 0.25, a.Threshold)
	assert.Equal(t, "churn-dev", a.Dimensions[0].Value)
	assert.Contains(t, a.StateReason, "0.9 (")

	msg, err = f.awsCLI(t, "cloudwatch", "set-alarm-state", "--alarm-name", "mlops-dev-drift", "--state-value", "OK", "--state-reason", "reset by the CLI")
	require.NoError(t, err, msg)
	assert.Equal(t, StateOK, state(t, f.svc, "mlops-dev-drift").StateValue)
	assert.Equal(t, "reset by the CLI", state(t, f.svc, "mlops-dev-drift").StateReason)

	msg, err = f.awsCLI(t, "cloudwatch", "set-alarm-state", "--alarm-name", "missing", "--state-value", "OK", "--state-reason", "x")
	require.Error(t, err)
	assert.Contains(t, msg, "ResourceNotFound")
}

func TestQueryProtocol(t *testing.T) {
	f := newAPIFixture(t, driftAlarm(MissingNotBreaching, 1, 1))
	post := func(form url.Values) (int, string) {
		t.Helper()
		resp, err := http.Post(f.url+"/", "application/x-www-form-urlencoded; charset=utf-8", strings.NewReader(form.Encode()))
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(body)
	}
	ts := f.clock.Now().Add(-30 * time.Minute).Format(time.RFC3339)
	status, body := post(url.Values{
		"Action": {"PutMetricData"}, "Version": {"2010-08-01"}, "Namespace": {"MLOps/dev"},
		"MetricData.member.1.MetricName":                {"DriftScore"},
		"MetricData.member.1.Dimensions.member.1.Name":  {"EndpointName"},
		"MetricData.member.1.Dimensions.member.1.Value": {"churn-dev"},
		"MetricData.member.1.Value":                     {"0.8"},
		"MetricData.member.1.Timestamp":                 {ts},
	})
	require.Equal(t, http.StatusOK, status, body)
	assert.Contains(t, body, "<PutMetricDataResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\">")
	require.NoError(t, f.svc.EvaluateNow(context.Background()))

	status, body = post(url.Values{"Action": {"DescribeAlarms"}, "Version": {"2010-08-01"}, "AlarmNames.member.1": {"mlops-dev-drift"}})
	require.Equal(t, http.StatusOK, status, body)
	var described struct {
		Result struct {
			Alarms []struct {
				AlarmName  string
				StateValue string
				Dimensions []Dimension `xml:"Dimensions>member"`
			} `xml:"MetricAlarms>member"`
		} `xml:"DescribeAlarmsResult"`
	}
	require.NoError(t, xml.Unmarshal([]byte(body), &described), body)
	require.Len(t, described.Result.Alarms, 1)
	assert.Equal(t, "ALARM", described.Result.Alarms[0].StateValue)
	assert.Equal(t, []Dimension{{Name: "EndpointName", Value: "churn-dev"}}, described.Result.Alarms[0].Dimensions)

	status, body = post(url.Values{"Action": {"SetAlarmState"}, "AlarmName": {"nope"}, "StateValue": {"OK"}, "StateReason": {"x"}})
	assert.Equal(t, http.StatusNotFound, status)
	assert.Contains(t, body, "<Code>ResourceNotFound</Code>")
	assert.Contains(t, body, "<Type>Sender</Type>")

	status, body = post(url.Values{"Action": {"PutMetricData"}, "Namespace": {"x"}, "MetricData.member.1.MetricName": {"m"}, "MetricData.member.1.Value": {"abc"}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, "InvalidParameterValue")
}

func TestIngestEMFFromTheSharedEmitter(t *testing.T) {
	clk := clock.NewManual(t0)
	svc, _ := newService(t, t.TempDir(), clk)
	var buf bytes.Buffer
	em := metrics.New(&buf, "MLOps/dev", clk.Now)
	require.NoError(t, em.Emit(
		[]metrics.Dimension{{Name: "EndpointName", Value: "churn-dev"}},
		map[string]string{"requestId": "r-1"},
		metrics.Metric{Name: "DriftScore", Unit: metrics.None, Value: 0.42},
		metrics.Metric{Name: "CapturedRows", Unit: metrics.Count, Value: 120},
	))
	svc.IngestLog(buf.Bytes())
	svc.IngestLog([]byte(`{"level":"INFO","msg":"not a metric"}`))
	svc.IngestLog([]byte("plain text line"))

	got := svc.ListMetrics("MLOps/dev", "", []DimensionFilter{{Name: "EndpointName"}})
	require.Len(t, got, 2)
	pts := svc.statSeries(Metric{Namespace: "MLOps/dev", MetricName: "DriftScore", Dimensions: []Dimension{{Name: "EndpointName", Value: "churn-dev"}}}, StatMaximum, "None", time.Minute, []time.Time{t0})
	require.True(t, pts[0].ok)
	assert.Equal(t, 0.42, pts[0].value)
	rows := svc.statSeries(Metric{Namespace: "MLOps/dev", MetricName: "CapturedRows", Dimensions: []Dimension{{Name: "EndpointName", Value: "churn-dev"}}}, StatSum, "Count", time.Minute, []time.Time{t0})
	assert.Equal(t, 120.0, rows[0].value)
}

func TestBoto3SpeaksCBOR(t *testing.T) {
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		t.Skip("boto3 is not installed")
	}
	f := newAPIFixture(t, driftAlarm(MissingNotBreaching, 1, 1))
	script := `
import boto3, datetime, json, sys
cw = boto3.client("cloudwatch", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
assert cw.meta.service_model.protocol == "smithy-rpc-v2-cbor", cw.meta.service_model.protocol
ts = datetime.datetime.fromtimestamp(float(sys.argv[2]), datetime.timezone.utc)
cw.put_metric_data(Namespace="MLOps/dev", MetricData=[{"MetricName": "DriftScore", "Dimensions": [{"Name": "EndpointName", "Value": "churn-dev"}], "Value": 0.7, "Timestamp": ts}])
out = cw.describe_alarms(AlarmNames=["mlops-dev-drift"])
try:
    cw.set_alarm_state(AlarmName="nope", StateValue="OK", StateReason="x")
    code = None
except cw.exceptions.ResourceNotFound as e:
    code = e.response["Error"]["Code"]
print(json.dumps({"state": out["MetricAlarms"][0]["StateValue"], "updated": out["MetricAlarms"][0]["StateUpdatedTimestamp"].isoformat(), "code": code}))
`
	ts := f.clock.Now().Add(-10 * time.Minute)
	cmd := exec.Command("python3", "-c", script, f.url, strconv.FormatInt(ts.Unix(), 10))
	cmd.Env = append(os.Environ(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	var got struct{ State, Updated, Code string }
	require.NoError(t, json.Unmarshal(out, &got), string(out))
	assert.Equal(t, "INSUFFICIENT_DATA", got.State)
	assert.Equal(t, "ResourceNotFound", got.Code)
	pts := f.svc.statSeries(Metric{Namespace: "MLOps/dev", MetricName: "DriftScore", Dimensions: []Dimension{{Name: "EndpointName", Value: "churn-dev"}}}, StatMaximum, "", time.Hour, []time.Time{f.clock.Now().Add(-time.Hour)})
	assert.Equal(t, 0.7, pts[0].value)
}
