package glueemu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// templateJob is the part of AWS::Glue::Job the local cloud runs. The
// other properties (capacity, security configuration, connections...)
// change nothing on one machine and are accepted as is.
type templateJob struct {
	Name              string            `json:"Name"`
	Description       string            `json:"Description"`
	Role              string            `json:"Role"`
	Command           Command           `json:"Command"`
	DefaultArguments  map[string]string `json:"DefaultArguments"`
	Timeout           json.Number       `json:"Timeout"`
	MaxRetries        json.Number       `json:"MaxRetries"`
	GlueVersion       string            `json:"GlueVersion"`
	MaxCapacity       json.Number       `json:"MaxCapacity"`
	ExecutionProperty struct {
		MaxConcurrentRuns json.Number `json:"MaxConcurrentRuns"`
	} `json:"ExecutionProperty"`
}

// JobFromTemplate builds a job from the resolved Properties of an
// AWS::Glue::Job resource; name is its physical name (Name, or the
// generated one when the template sets none).
func JobFromTemplate(name string, props map[string]any) (Job, error) {
	raw, err := json.Marshal(props)
	if err != nil {
		return Job{}, fmt.Errorf("glue job %s: %w", name, err)
	}
	var tj templateJob
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&tj); err != nil {
		return Job{}, fmt.Errorf("glue job %s: a property has the wrong type: %w", name, err)
	}
	j := Job{
		Name: name, Description: tj.Description, Role: tj.Role, Command: tj.Command,
		DefaultArguments: tj.DefaultArguments, GlueVersion: tj.GlueVersion,
	}
	ints := []struct {
		prop string
		n    json.Number
		dst  *int
	}{
		{"Timeout", tj.Timeout, &j.Timeout},
		{"MaxRetries", tj.MaxRetries, &j.MaxRetries},
		{"ExecutionProperty.MaxConcurrentRuns", tj.ExecutionProperty.MaxConcurrentRuns, &j.MaxConcurrentRuns},
	}
	for _, f := range ints {
		if f.n == "" {
			continue
		}
		v, err := strconv.Atoi(string(f.n))
		if err != nil {
			return Job{}, fmt.Errorf("glue job %s: %s %q is not an integer", name, f.prop, f.n)
		}
		*f.dst = v
	}
	if tj.MaxCapacity != "" {
		v, err := strconv.ParseFloat(string(tj.MaxCapacity), 64)
		if err != nil {
			return Job{}, fmt.Errorf("glue job %s: MaxCapacity %q is not a number", name, tj.MaxCapacity)
		}
		j.MaxCapacity = v
	}
	return j, nil
}
