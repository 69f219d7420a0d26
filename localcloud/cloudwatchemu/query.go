package cloudwatchemu

import (
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/gomlops/mlops/localcloud/awsproto"
)

// decodeQuery fills v (a pointer to a struct) from query-protocol
// parameters: members by their JSON name (AWS's member name), nested
// structures as "Outer.Inner", lists as "List.member.N" from 1.
func decodeQuery(form url.Values, v any) error {
	_, err := decodeValue(form, "", reflect.ValueOf(v).Elem())
	if err != nil {
		return awsproto.Errorf(http.StatusBadRequest, "InvalidParameterValue", "%v", err)
	}
	return nil
}

var timeType = reflect.TypeOf(time.Time{})

// hasPrefix reports whether any parameter is key or under key.
func hasPrefix(form url.Values, key string) bool {
	for k := range form {
		if k == key || strings.HasPrefix(k, key+".") {
			return true
		}
	}
	return false
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// decodeValue sets v from the parameters under key and reports whether
// any was present.
func decodeValue(form url.Values, key string, v reflect.Value) (bool, error) {
	switch {
	case v.Kind() == reflect.Pointer:
		if !hasPrefix(form, key) {
			return false, nil
		}
		elem := reflect.New(v.Type().Elem())
		set, err := decodeValue(form, key, elem.Elem())
		if err != nil || !set {
			return set, err
		}
		v.Set(elem)
		return true, nil
	case v.Type() == timeType:
		raw, ok := form[key]
		if !ok {
			return false, nil
		}
		t, err := parseQueryTime(raw[0])
		if err != nil {
			return false, fmt.Errorf("%s: %w", key, err)
		}
		v.Set(reflect.ValueOf(t))
		return true, nil
	case v.Kind() == reflect.Struct:
		found := false
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			name := f.Name
			if tag := f.Tag.Get("json"); tag != "" {
				if n, _, _ := strings.Cut(tag, ","); n != "" && n != "-" {
					name = n
				}
			}
			var (
				set bool
				err error
			)
			if f.Anonymous {
				set, err = decodeValue(form, key, v.Field(i))
			} else {
				set, err = decodeValue(form, join(key, name), v.Field(i))
			}
			if err != nil {
				return false, err
			}
			found = found || set
		}
		return found, nil
	case v.Kind() == reflect.Slice:
		slice := reflect.MakeSlice(v.Type(), 0, 0)
		for n := 1; ; n++ {
			k := key + ".member." + strconv.Itoa(n)
			if !hasPrefix(form, k) {
				break
			}
			elem := reflect.New(v.Type().Elem()).Elem()
			if _, err := decodeValue(form, k, elem); err != nil {
				return false, err
			}
			slice = reflect.Append(slice, elem)
		}
		if slice.Len() == 0 {
			return false, nil
		}
		v.Set(slice)
		return true, nil
	}
	raw, ok := form[key]
	if !ok {
		return false, nil
	}
	s := raw[0]
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Float64, reflect.Float32:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return false, fmt.Errorf("%s: %q is not a number", key, s)
		}
		v.SetFloat(f)
	case reflect.Int, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return false, fmt.Errorf("%s: %q is not an integer", key, s)
		}
		v.SetInt(i)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return false, fmt.Errorf("%s: %q is not a boolean", key, s)
		}
		v.SetBool(b)
	default:
		return false, fmt.Errorf("%s: unsupported parameter type %s", key, v.Type())
	}
	return true, nil
}

// parseQueryTime reads an ISO 8601 timestamp or epoch seconds.
func parseQueryTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return time.UnixMilli(int64(f * 1000)).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is not an ISO 8601 timestamp", s)
}
