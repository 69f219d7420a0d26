package main

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"unsafe"

	"github.com/aws/aws-lambda-go/events"
)

// SageMakerMaxBodyBytes is the largest request body InvokeEndpoint accepts
// for a real-time endpoint: the BodyBlob shape's maximum, 6 MiB (6,291,456
// bytes), in the SageMaker Runtime API model.
const SageMakerMaxBodyBytes = 6 << 20

// DefaultMaxBodyBytes is the default cap on a prediction body: just under
// SageMaker's limit, so the proxy answers 413 itself instead of letting
// SageMaker reject the call.
const DefaultMaxBodyBytes = 6_000_000

// Header and query names of the API.
const (
	// TargetVariantHeader asks for one production variant (A/B tests).
	TargetVariantHeader = "X-Target-Variant"
	// TargetVariantQuery is the query-string form of TargetVariantHeader.
	TargetVariantQuery = "variant"
	// ModelVariantHeader names the variant that served a prediction.
	ModelVariantHeader = "X-Model-Variant"
	// RequestIDHeader echoes the API request id, which is also the
	// InferenceId SageMaker records with captured data.
	RequestIDHeader = "X-Request-Id"
)

// allowedContentTypes are the media types the API accepts, compared
// case-insensitively without parameters.
var allowedContentTypes = [...]string{"text/csv", "application/json"}

// maxHeaderValueBytes is the SageMaker Runtime limit on header values such
// as Content-Type and Accept (the API model's Header shape).
const maxHeaderValueBytes = 1024

// maxVariantBytes is the limit on a production variant name.
const maxVariantBytes = 63

// predictRequest is a validated prediction request, ready for SageMaker.
type predictRequest struct {
	contentType string
	accept      string
	variant     string
	isJSON      bool
	body        []byte
}

// requestError is a problem with the client's request: its HTTP status and
// a fixed message written by us, never an AWS error text.
type requestError struct {
	status  int
	message string
}

func (e *requestError) Error() string { return e.message }

// The client errors parseRequest returns. Fixed values: parsing a bad
// request allocates nothing for the error.
var (
	errNoContentType      = &requestError{http.StatusUnsupportedMediaType, "Content-Type must be text/csv or application/json"}
	errUnsupportedType    = errNoContentType
	errBadHeaderValue     = &requestError{http.StatusBadRequest, "a header value is not printable ASCII or is too long"}
	errEmptyBody          = &requestError{http.StatusBadRequest, "the request body is empty"}
	errTooLarge           = &requestError{http.StatusRequestEntityTooLarge, "the request body is too large"}
	errBadBase64          = &requestError{http.StatusBadRequest, "the request body is not valid base64"}
	errMalformedJSON      = &requestError{http.StatusBadRequest, "the request body is not valid JSON"}
	errBadVariant         = &requestError{http.StatusBadRequest, "the target variant must be 1-63 letters, digits or hyphens, starting and ending with a letter or digit"}
	errConflictingVariant = &requestError{http.StatusBadRequest, "the X-Target-Variant header and the variant query parameter differ"}
)

// parseRequest validates a prediction request from API Gateway. It checks
// the cheap things first (content type, sizes) so that a bad request costs
// no decoding, and it never calls AWS.
func parseRequest(ev *events.APIGatewayProxyRequest, maxBody int) (predictRequest, *requestError) {
	var req predictRequest

	ct, ok := header(ev, "Content-Type")
	if !ok || ct == "" {
		return req, errNoContentType
	}
	if !printableASCII(ct, maxHeaderValueBytes) {
		return req, errBadHeaderValue
	}
	media := mediaType(ct)
	allowed := false
	for _, a := range allowedContentTypes {
		if strings.EqualFold(media, a) {
			allowed = true
			break
		}
	}
	if !allowed {
		return req, errUnsupportedType
	}
	req.contentType = ct
	req.isJSON = strings.EqualFold(media, "application/json")

	if acc, ok := header(ev, "Accept"); ok && acc != "" {
		if !printableASCII(acc, maxHeaderValueBytes) {
			return req, errBadHeaderValue
		}
		req.accept = acc
	}

	variant, rerr := targetVariant(ev)
	if rerr != nil {
		return req, rerr
	}
	req.variant = variant

	body, rerr := decodeBody(ev, maxBody)
	if rerr != nil {
		return req, rerr
	}
	if req.isJSON {
		if !json.Valid(body) {
			return req, errMalformedJSON
		}
		csv, rerr := jsonToCSV(body)
		if rerr != nil {
			return req, rerr
		}
		body, req.contentType = csv, "text/csv"
	}
	req.body = body
	return req, nil
}

// decodeBody returns the request body, decoding base64 when API Gateway
// marked it so, and refuses a body over maxBody bytes before decoding it.
func decodeBody(ev *events.APIGatewayProxyRequest, maxBody int) ([]byte, *requestError) {
	if !ev.IsBase64Encoded {
		if len(ev.Body) == 0 {
			return nil, errEmptyBody
		}
		if len(ev.Body) > maxBody {
			return nil, errTooLarge
		}
		// Aliased, not copied: the SDK only reads Body (it hashes and
		// streams it), and a copy would double a body of up to 6 MB and
		// cost an allocation per request.
		return unsafe.Slice(unsafe.StringData(ev.Body), len(ev.Body)), nil
	}
	enc := strings.TrimRight(ev.Body, "=")
	if len(enc) == 0 {
		return nil, errEmptyBody
	}
	// The exact decoded size of unpadded base64, known before decoding.
	if base64.RawStdEncoding.DecodedLen(len(enc)) > maxBody {
		return nil, errTooLarge
	}
	if len(ev.Body)-len(enc) > 2 {
		return nil, errBadBase64
	}
	buf := make([]byte, base64.RawStdEncoding.DecodedLen(len(enc)))
	n, err := base64.RawStdEncoding.Decode(buf, []byte(enc))
	if err != nil {
		return nil, errBadBase64
	}
	if n == 0 {
		return nil, errEmptyBody
	}
	return buf[:n], nil
}

// targetVariant returns the variant the client asked for, from the header
// or the query string, or "" to let the endpoint's weights decide.
func targetVariant(ev *events.APIGatewayProxyRequest) (string, *requestError) {
	h, _ := header(ev, TargetVariantHeader)
	h = strings.TrimSpace(h)
	q := strings.TrimSpace(ev.QueryStringParameters[TargetVariantQuery])
	v := h
	switch {
	case h == "":
		v = q
	case q != "" && q != h:
		return "", errConflictingVariant
	}
	if v == "" {
		return "", nil
	}
	if !validVariant(v) {
		return "", errBadVariant
	}
	return v, nil
}

// validVariant reports whether v matches SageMaker's variant name pattern
// ^[a-zA-Z0-9](-*[a-zA-Z0-9])*$ with at most 63 characters.
func validVariant(v string) bool {
	if len(v) == 0 || len(v) > maxVariantBytes {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (c != '-' || i == 0 || i == len(v)-1) {
			return false
		}
	}
	return true
}

// header returns a request header by case-insensitive name. API Gateway
// keeps the client's spelling of header names.
func header(ev *events.APIGatewayProxyRequest, name string) (string, bool) {
	if v, ok := ev.Headers[name]; ok {
		return v, true
	}
	for k, v := range ev.Headers {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	for k, vs := range ev.MultiValueHeaders {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return vs[len(vs)-1], true
		}
	}
	return "", false
}

// mediaType returns the media type of a Content-Type value, without
// parameters and surrounding space.
func mediaType(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.TrimSpace(ct)
}

// printableASCII reports whether s is at most max bytes of printable ASCII
// (tabs allowed), as SageMaker requires of header values.
func printableASCII(s string, max int) bool {
	if len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c > '~' {
			return false
		}
	}
	return true
}
