package cloudwatchemu

import (
	"context"
	"encoding/json"
	"strings"
	"time"
)

// notification is one alarm action: a message for an SNS topic.
type notification struct {
	topic   string
	message []byte
}

// regionNames are the names CloudWatch writes in notifications.
var regionNames = map[string]string{
	"us-east-1": "US East (N. Virginia)", "us-east-2": "US East (Ohio)", "us-west-1": "US West (N. California)",
	"us-west-2": "US West (Oregon)", "eu-west-1": "EU (Ireland)", "eu-central-1": "EU (Frankfurt)",
	"eu-west-2": "EU (London)", "eu-west-3": "EU (Paris)", "eu-north-1": "EU (Stockholm)",
	"ap-northeast-1": "Asia Pacific (Tokyo)", "ap-southeast-1": "Asia Pacific (Singapore)",
	"ap-southeast-2": "Asia Pacific (Sydney)", "ap-south-1": "Asia Pacific (Mumbai)",
}

type notifyDimension struct {
	Value string `json:"value"`
	Name  string `json:"name"`
}

func notifyDims(dims []Dimension) []notifyDimension {
	out := []notifyDimension{}
	for _, d := range dims {
		out = append(out, notifyDimension{Value: d.Value, Name: d.Name})
	}
	return out
}

// notificationsLocked returns the SNS messages of a transition to the
// alarm's current state, in CloudWatch's notification shape, for the
// actions of that state (none when ActionsEnabled is false). Actions that
// are not SNS topics are not emulated and are logged.
func (s *Service) notificationsLocked(a *alarmState, oldState string, now time.Time) []notification {
	cfg := a.Config
	if cfg.ActionsEnabled != nil && !*cfg.ActionsEnabled {
		return nil
	}
	var targets []string
	switch a.Value {
	case StateAlarm:
		targets = cfg.AlarmActions
	case StateOK:
		targets = cfg.OKActions
	default:
		targets = cfg.InsufficientDataActions
	}
	if len(targets) == 0 {
		return nil
	}
	region := regionNames[s.opts.Region]
	if region == "" {
		region = s.opts.Region
	}
	trigger := map[string]any{
		"Period": cfg.evalPeriod(), "EvaluationPeriods": cfg.EvaluationPeriods, "DatapointsToAlarm": cfg.DatapointsToAlarm,
		"ComparisonOperator": cfg.ComparisonOperator, "Threshold": cfg.Threshold, "TreatMissingData": cfg.TreatMissingData,
		"EvaluateLowSampleCountPercentile": "",
	}
	if len(cfg.Metrics) == 0 {
		trigger["MetricName"], trigger["Namespace"] = cfg.MetricName, cfg.Namespace
		trigger["Dimensions"] = notifyDims(cfg.Dimensions)
		trigger["Unit"] = nil
		if cfg.Unit != "" {
			trigger["Unit"] = cfg.Unit
		}
		if cfg.ExtendedStatistic != "" {
			trigger["StatisticType"], trigger["ExtendedStatistic"] = "ExtendedStatistic", cfg.ExtendedStatistic
		} else {
			trigger["StatisticType"], trigger["Statistic"] = "Statistic", strings.ToUpper(cfg.Statistic)
		}
	} else {
		var metrics []map[string]any
		for _, q := range cfg.Metrics {
			m := map[string]any{"Id": q.ID, "ReturnData": q.returns()}
			if q.Expression != "" {
				m["Expression"] = q.Expression
			}
			if q.Label != "" {
				m["Label"] = q.Label
			}
			if ms := q.MetricStat; ms != nil {
				m["MetricStat"] = map[string]any{
					"Metric": map[string]any{"Dimensions": notifyDims(ms.Metric.Dimensions), "MetricName": ms.Metric.MetricName, "Namespace": ms.Metric.Namespace},
					"Period": ms.Period, "Stat": ms.Stat,
				}
			}
			metrics = append(metrics, m)
		}
		trigger["Metrics"] = metrics
	}
	msg := map[string]any{
		"AlarmName": cfg.AlarmName, "AlarmDescription": nilIfEmpty(cfg.AlarmDescription), "AWSAccountId": s.opts.AccountID,
		"AlarmConfigurationUpdatedTimestamp": cwTime(a.ConfigUpdated), "NewStateValue": a.Value, "NewStateReason": a.Reason,
		"StateChangeTime": cwTime(now), "Region": region, "AlarmArn": s.AlarmARN(cfg.AlarmName), "OldStateValue": oldState,
		"OKActions": nonNil(cfg.OKActions), "AlarmActions": nonNil(cfg.AlarmActions), "InsufficientDataActions": nonNil(cfg.InsufficientDataActions),
		"Trigger": trigger,
	}
	body, err := json.Marshal(msg)
	if err != nil {
		s.logger.Error("encode alarm notification", "alarm", cfg.AlarmName, "error", err)
		return nil
	}
	var out []notification
	for _, t := range targets {
		if !strings.HasPrefix(t, "arn:aws:sns:") {
			s.logger.Warn("alarm action is not emulated (only SNS topics are)", "alarm", cfg.AlarmName, "action", t)
			continue
		}
		out = append(out, notification{topic: t, message: body})
	}
	return out
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// notify delivers alarm notifications; a failure is logged (CloudWatch
// does not retry an action either).
func (s *Service) notify(ctx context.Context, notes []notification) {
	if s.opts.Actions == nil {
		return
	}
	for _, n := range notes {
		if err := s.opts.Actions.Deliver(ctx, n.topic, n.message); err != nil {
			s.logger.Error("alarm action", "topic", n.topic, "error", err)
		}
	}
}
