package sagemakeremu

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/gomlops/mlops/localcloud/awsproto"
)

// Patterns of the SageMaker API model.
var (
	namePattern    = `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`
	nameRE         = regexp.MustCompile(namePattern + `$`)
	rolePattern    = `^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$`
	roleRE         = regexp.MustCompile(rolePattern)
	s3URIPattern   = `^(https|s3)://([^/]+)/?(.*)$`
	s3URIRE        = regexp.MustCompile(s3URIPattern)
	channelPattern = `[A-Za-z0-9\.\-_]+`
	channelRE      = regexp.MustCompile(`^` + channelPattern + `$`)
	imagePattern   = `[\S]+`
	imageRE        = regexp.MustCompile(`^` + imagePattern + `$`)
	kmsPattern     = `[a-zA-Z0-9:/_-]*`
	kmsRE          = regexp.MustCompile(`^` + kmsPattern + `$`)
)

// checks collects constraint violations the way SageMaker reports them:
// "2 validation errors detected: Value 'x' at 'trainingJobName' failed to
// satisfy constraint: Member must ...; Value null at 'roleArn' ...".
type checks struct{ msgs []string }

func quote(v string) string { return "'" + v + "'" }

func (c *checks) add(value, path, constraint string) {
	c.msgs = append(c.msgs, fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: Member must %s", value, path, constraint))
}

// required reports a missing member; it returns ok.
func (c *checks) required(path string, ok bool) bool {
	if !ok {
		c.add("null", path, "not be null")
	}
	return ok
}

// str checks a string's length bounds and, if re is set, its pattern.
func (c *checks) str(path, v string, min, max int, re *regexp.Regexp, pattern string) {
	if len(v) < min {
		c.add(quote(v), path, fmt.Sprintf("have length greater than or equal to %d", min))
		return
	}
	if max > 0 && len(v) > max {
		c.add(quote(v), path, fmt.Sprintf("have length less than or equal to %d", max))
		return
	}
	if re != nil && !re.MatchString(v) {
		c.add(quote(v), path, "satisfy regular expression pattern: "+pattern)
	}
}

// num checks an integer's bounds.
func (c *checks) num(path string, v int64, min, max int64) {
	switch {
	case v < min:
		c.add(quote(strconv.FormatInt(v, 10)), path, fmt.Sprintf("have value greater than or equal to %d", min))
	case max > 0 && v > max:
		c.add(quote(strconv.FormatInt(v, 10)), path, fmt.Sprintf("have value less than or equal to %d", max))
	}
}

// enum checks v is one of values.
func (c *checks) enum(path, v string, values []string) {
	for _, x := range values {
		if v == x {
			return
		}
	}
	c.add(quote(v), path, "satisfy enum value set: ["+strings.Join(values, ", ")+"]")
}

// count checks a list's length.
func (c *checks) count(path string, n, min, max int) {
	switch {
	case n < min:
		c.add("'[]'", path, fmt.Sprintf("have length greater than or equal to %d", min))
	case max > 0 && n > max:
		c.add(fmt.Sprintf("'[%d items]'", n), path, fmt.Sprintf("have length less than or equal to %d", max))
	}
}

func (c *checks) tags(tags []Tag) {
	c.count("tags", len(tags), 0, 50)
	for i, t := range tags {
		c.str(fmt.Sprintf("tags.%d.member.key", i+1), t.Key, 1, 128, nil, "")
		c.str(fmt.Sprintf("tags.%d.member.value", i+1), t.Value, 0, 256, nil, "")
	}
}

// err returns the ValidationException, or nil.
func (c *checks) err() error {
	switch len(c.msgs) {
	case 0:
		return nil
	case 1:
		return awsproto.Validation("1 validation error detected: %s", c.msgs[0])
	}
	return awsproto.Validation("%d validation errors detected: %s", len(c.msgs), strings.Join(c.msgs, "; "))
}

// enumValues converts an SDK enum's Values() to strings.
func enumValues[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}
