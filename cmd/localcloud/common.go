package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gomlops/mlops/localcloud/lambdaemu"
	"github.com/gomlops/mlops/localcloud/samtemplate"
)

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, " ") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// defaultEndpoint is where `localcloud up` serves the AWS APIs.
const defaultEndpoint = "http://127.0.0.1:4566"

// commonFlags are the flags every subcommand shares.
type commonFlags struct {
	template  string
	overrides stringList
	stateDir  string
	region    string
	endpoint  string
	stackName string
	envVars   string
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.template, "template", "template.yaml", "the SAM template")
	fs.StringVar(&c.template, "t", "template.yaml", "shorthand for --template")
	fs.Var(&c.overrides, "parameter-overrides", "template parameters, like sam: 'Key=Value Key2=Value2' or 'ParameterKey=K,ParameterValue=V' (repeatable)")
	fs.StringVar(&c.stateDir, "state-dir", ".localcloud", "directory for build cache and state (survives restarts)")
	fs.StringVar(&c.region, "region", "us-east-1", "AWS region of the local cloud")
	fs.StringVar(&c.endpoint, "endpoint-url", defaultEndpoint, "AWS endpoint passed to functions as AWS_ENDPOINT_URL: the local cloud's (`localcloud up`); '' leaves it unset (functions get dummy credentials, so real AWS would refuse them)")
	fs.StringVar(&c.stackName, "stack-name", samtemplate.DefaultStackName, "stack name: AWS::StackName and the prefix of generated resource names")
	fs.StringVar(&c.envVars, "env-vars", "", `JSON file overriding environment variables, like sam: {"MyFunction": {"VAR": "v"}, "Parameters": {"VAR": "v"}} ("Parameters" applies to every function)`)
}

// load reads the template with the flags' parameters.
func (c *commonFlags) load() (*samtemplate.Template, error) {
	params, err := samtemplate.ParseParameterOverrides(c.overrides...)
	if err != nil {
		return nil, fmt.Errorf("%w (use --parameter-overrides 'Key=Value ...')", err)
	}
	if _, err := os.Stat(c.template); err != nil {
		return nil, fmt.Errorf("template %s not found: run in the application's directory or pass --template path/to/template.yaml", c.template)
	}
	return samtemplate.Load(c.template, samtemplate.Options{
		Region: c.region, StackName: c.stackName, Parameters: params, Endpoint: c.endpoint,
	})
}

// service builds the Lambda service for the template's functions.
func (c *commonFlags) service(tpl *samtemplate.Template, logs io.Writer) (*lambdaemu.Service, error) {
	fns, err := tpl.Functions()
	if err != nil {
		return nil, err
	}
	if len(fns) == 0 {
		return nil, fmt.Errorf("template %s has no functions", c.template)
	}
	if c.envVars != "" {
		if err := applyEnvVars(c.envVars, fns, logs); err != nil {
			return nil, err
		}
	}

	return lambdaemu.New(lambdaemu.Options{
		Functions: fns,
		StateDir:  c.stateDir,
		Region:    c.region,
		Endpoint:  c.endpoint,
		Logs:      logs,
	})
}

// open parses args, which must all be flags, loads the template and builds
// the Lambda service of its functions: how the serving subcommands
// (start-api, start-lambda) begin. The caller closes the service.
func (c *commonFlags) open(fs *flag.FlagSet, args []string, logs io.Writer) (*samtemplate.Template, *lambdaemu.Service, error) {
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return nil, nil, err
	}
	if len(pos) > 0 {
		return nil, nil, fmt.Errorf("unexpected arguments %q", pos)
	}
	tpl, err := c.load()
	if err != nil {
		return nil, nil, err
	}
	svc, err := c.service(tpl, logs)
	if err != nil {
		return nil, nil, err
	}
	return tpl, svc, nil
}

func newFlagSet(name, usage string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "%s\n\nFlags:\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// applyEnvVars applies a sam-style --env-vars file. As in sam, only
// variables the template declares for a function are overridden; the
// others are reported, not silently dropped.
func applyEnvVars(path string, fns []samtemplate.Function, logs io.Writer) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--env-vars: %w", err)
	}
	var doc map[string]map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("--env-vars %s: want {\"FunctionLogicalId\": {\"VAR\": \"value\"}, \"Parameters\": {...}}: %w", path, err)
	}
	known := map[string]bool{"Parameters": true}
	for i := range fns {
		f := &fns[i]
		known[f.LogicalID], known[f.Name] = true, true
		env := map[string]string{}
		for k, v := range f.Env {
			env[k] = v
		}
		for _, key := range []string{"Parameters", f.LogicalID, f.Name} {
			for k, v := range doc[key] {
				if _, declared := env[k]; !declared {
					if key != "Parameters" {
						fmt.Fprintf(logs, "localcloud: warning: --env-vars %s: %s is not in %s's Environment in the template; ignored (as sam does)\n", path, k, f.LogicalID)
					}
					continue
				}
				s, ok := v.(string)
				if !ok {
					b, _ := json.Marshal(v)
					s = string(b)
				}
				env[k] = s
			}
		}
		f.Env = env
	}
	for key := range doc {
		if !known[key] {
			return fmt.Errorf("--env-vars %s: %q is neither a function of the template nor \"Parameters\"", path, key)
		}
	}
	return nil
}
