package main

import (
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
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.template, "template", "template.yaml", "the SAM template")
	fs.StringVar(&c.template, "t", "template.yaml", "shorthand for --template")
	fs.Var(&c.overrides, "parameter-overrides", "template parameters, like sam: 'Key=Value Key2=Value2' or 'ParameterKey=K,ParameterValue=V' (repeatable)")
	fs.StringVar(&c.stateDir, "state-dir", ".localcloud", "directory for build cache and state (survives restarts)")
	fs.StringVar(&c.region, "region", "us-east-1", "AWS region of the local cloud")
	fs.StringVar(&c.endpoint, "endpoint-url", defaultEndpoint, "AWS endpoint passed to functions as AWS_ENDPOINT_URL: the local cloud's (`localcloud up`); '' leaves it unset (functions get dummy credentials, so real AWS would refuse them)")
	fs.StringVar(&c.stackName, "stack-name", samtemplate.DefaultStackName, "stack name: AWS::StackName and the prefix of generated resource names")
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

	return lambdaemu.New(lambdaemu.Options{
		Functions: fns,
		StateDir:  c.stateDir,
		Region:    c.region,
		Endpoint:  c.endpoint,
		Logs:      logs,
	})
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
