// Package awsproto holds the wire-protocol helpers every emulated AWS service
// of the local cloud shares: AWS JSON 1.0/1.1 request decoding and errors,
// query-protocol (form-encoded Action=) XML responses and errors, REST-XML
// (S3-style) errors, request ids and SigV4 credential-scope parsing.
//
// The helpers are deliberately small: each emulator owns its operations and
// shapes, awsproto only owns what the SDKs, boto3 and the CLI expect on the
// wire so that every service fails the same, AWS-shaped way.
package awsproto

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// MaxBodyBytes bounds every request body an emulator reads through this
// package (AWS's own API limits are far below it, except for S3 objects,
// which S3 reads itself).
const MaxBodyBytes = 16 << 20

// Error is an AWS-shaped API error: a code (the exception name), a message
// and the HTTP status it is answered with. Sender marks client errors in
// query and REST-XML responses (Type "Sender") as AWS does.
type Error struct {
	Code    string
	Message string
	Status  int
}

// Error returns "Code: Message".
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf builds an *Error with a formatted message.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Status: status}
}

// UnknownOperation returns the error AWS answers for an operation a service
// does not know.
func UnknownOperation(op string) *Error {
	if op == "" {
		return Errorf(http.StatusBadRequest, "UnknownOperationException", "missing operation")
	}
	return Errorf(http.StatusBadRequest, "UnknownOperationException", "operation %s is not supported by the local cloud", op)
}

// InvalidAction returns the error query-protocol services (SNS, SQS's
// query API, STS, CloudWatch) answer for an action they do not know.
func InvalidAction(action string) *Error {
	if action == "" {
		return Errorf(http.StatusBadRequest, "MissingAction", "the request must contain the parameter Action")
	}
	return Errorf(http.StatusBadRequest, "InvalidAction", "The action %s is not valid for this web service.", action)
}

// Validation returns a 400 ValidationException.
func Validation(format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, "ValidationException", format, args...)
}

// Internal returns a 500 InternalFailure with a generic message (internal
// error text never reaches a client).
func Internal() *Error {
	return &Error{Code: "InternalFailure", Message: "the local cloud failed to process the request", Status: http.StatusInternalServerError}
}

// AsError converts any error to an *Error: an *Error (or one wrapped) is
// returned as is, anything else becomes Internal().
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal()
}

// NewRequestID returns a random request id in AWS's UUID-like form.
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// RequestID returns the request id of an answer: the one already set on w
// (x-amzn-RequestId) or a new one, set on w.
func RequestID(w http.ResponseWriter) string {
	if id := w.Header().Get("x-amzn-RequestId"); id != "" {
		return id
	}
	id := NewRequestID()
	w.Header().Set("x-amzn-RequestId", id)
	return id
}

// ---- SigV4 credential scope ----

// Scope is the credential scope of a SigV4-signed request.
type Scope struct {
	AccessKey string
	Date      string
	Region    string
	Service   string
}

// ParseScope reads the SigV4 credential scope from the Authorization header
// ("AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/s3/aws4_request, ...")
// or from the X-Amz-Credential query parameter of a presigned URL. It does
// not verify the signature: the local cloud trusts its loopback callers.
func ParseScope(r *http.Request) (Scope, error) {
	cred := ""
	if auth := r.Header.Get("Authorization"); auth != "" {
		i := strings.Index(auth, "Credential=")
		if i < 0 {
			return Scope{}, errors.New("authorization header has no Credential")
		}
		cred = auth[i+len("Credential="):]
		if j := strings.IndexAny(cred, ", "); j >= 0 {
			cred = cred[:j]
		}
	} else if q := r.URL.Query().Get("X-Amz-Credential"); q != "" {
		cred = q
	} else {
		return Scope{}, errors.New("request is not SigV4-signed")
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" {
		return Scope{}, fmt.Errorf("malformed credential scope %q", cred)
	}
	if parts[2] == "" || parts[3] == "" {
		return Scope{}, fmt.Errorf("credential scope %q lacks region or service", cred)
	}
	return Scope{AccessKey: parts[0], Date: parts[1], Region: parts[2], Service: parts[3]}, nil
}

// ---- AWS JSON 1.0 / 1.1 ----

// JSONTarget splits the X-Amz-Target header ("AWSEvents.PutEvents") into
// its service prefix and operation. ok is false when the header is absent
// or has no dot.
func JSONTarget(r *http.Request) (prefix, op string, ok bool) {
	t := r.Header.Get("X-Amz-Target")
	i := strings.LastIndex(t, ".")
	if i <= 0 || i == len(t)-1 {
		return "", "", false
	}
	return t[:i], t[i+1:], true
}

// IsJSONProtocol reports whether r is an AWS JSON (1.0 or 1.1) request.
func IsJSONProtocol(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	return r.Header.Get("X-Amz-Target") != "" && strings.HasPrefix(ct, "application/x-amz-json-")
}

// DecodeJSON reads the JSON body of r into v. An empty body decodes as {}.
// Malformed input is a SerializationException, as AWS answers it.
func DecodeJSON(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return Errorf(http.StatusBadRequest, "SerializationException", "read request body: %v", err)
	}
	if len(body) > MaxBodyBytes {
		return Errorf(http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException", "request body exceeds %d bytes", MaxBodyBytes)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return Errorf(http.StatusBadRequest, "SerializationException", "malformed JSON request: %v", err)
	}
	return nil
}

// jsonContentType returns the content type to answer a JSON request with,
// echoing the version the client used (1.0 or 1.1).
func jsonContentType(r *http.Request) string {
	if r != nil {
		if ct := r.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/x-amz-json-") {
			return ct
		}
	}
	return "application/x-amz-json-1.1"
}

// WriteJSON answers a JSON-protocol request with status 200 and v.
func WriteJSON(w http.ResponseWriter, r *http.Request, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		WriteJSONError(w, r, Internal())
		return
	}
	RequestID(w)
	w.Header().Set("Content-Type", jsonContentType(r))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// WriteJSONError answers a JSON-protocol request with an AWS JSON error:
// {"__type":"Code","message":"..."}, the x-amzn-ErrorType header and the
// error's status. Any error that is not an *Error becomes InternalFailure.
func WriteJSONError(w http.ResponseWriter, r *http.Request, err error) {
	e := AsError(err)
	RequestID(w)
	w.Header().Set("Content-Type", jsonContentType(r))
	w.Header().Set("x-amzn-ErrorType", e.Code)
	w.WriteHeader(statusOf(e))
	body, _ := json.Marshal(map[string]string{"__type": e.Code, "message": e.Message})
	_, _ = w.Write(body)
}

func statusOf(e *Error) int {
	if e.Status == 0 {
		return http.StatusBadRequest
	}
	return e.Status
}

// ---- query protocol ----

// QueryAction parses a query-protocol request (form-encoded body or URL
// query) and returns its Action and all parameters.
func QueryAction(r *http.Request) (string, url.Values, error) {
	if r.Body != nil {
		r.Body = http.MaxBytesReader(nil, r.Body, MaxBodyBytes)
	}
	if err := r.ParseForm(); err != nil {
		return "", nil, Errorf(http.StatusBadRequest, "MalformedQueryString", "parse form: %v", err)
	}
	return r.Form.Get("Action"), r.Form, nil
}

// IsQueryProtocol reports whether r looks like a query-protocol request: a
// form-encoded POST or an Action= query string.
func IsQueryProtocol(r *http.Request) bool {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		return true
	}
	return r.URL.Query().Get("Action") != ""
}

// WriteQuery answers a query-protocol action with AWS's XML envelope:
// <ActionResponse xmlns=ns><ActionResult>...</ActionResult>
// <ResponseMetadata><RequestId/></ResponseMetadata></ActionResponse>.
// The fields of result (a struct, marshalled with encoding/xml) become the
// children of <ActionResult>; nil gives an empty result.
func WriteQuery(w http.ResponseWriter, action, xmlns string, result any) {
	var inner strings.Builder
	if result != nil {
		enc := xml.NewEncoder(&inner)
		if err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
			WriteQueryError(w, Internal())
			return
		}
	} else {
		fmt.Fprintf(&inner, "<%sResult></%sResult>", action, action)
	}
	id := RequestID(w)
	var sb strings.Builder
	sb.WriteString(xml.Header)
	fmt.Fprintf(&sb, `<%sResponse xmlns="%s">`, action, xmlns)
	sb.WriteString(inner.String())
	fmt.Fprintf(&sb, "<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata>", id)
	fmt.Fprintf(&sb, "</%sResponse>", action)
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, sb.String())
}

// WriteQueryError answers a query-protocol request with AWS's XML error:
// <ErrorResponse><Error><Type>Sender|Receiver</Type><Code/><Message/>
// </Error><RequestId/></ErrorResponse>.
func WriteQueryError(w http.ResponseWriter, err error) {
	e := AsError(err)
	id := RequestID(w)
	typ := "Sender"
	if statusOf(e) >= 500 {
		typ = "Receiver"
	}
	var sb strings.Builder
	sb.WriteString(xml.Header)
	sb.WriteString("<ErrorResponse><Error><Type>")
	sb.WriteString(typ)
	sb.WriteString("</Type><Code>")
	_ = xml.EscapeText(&sb, []byte(e.Code))
	sb.WriteString("</Code><Message>")
	_ = xml.EscapeText(&sb, []byte(e.Message))
	sb.WriteString("</Message></Error><RequestId>")
	sb.WriteString(id)
	sb.WriteString("</RequestId></ErrorResponse>")
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(statusOf(e))
	_, _ = io.WriteString(w, sb.String())
}

// ---- REST-XML (S3 style) ----

// WriteRESTXMLError answers a REST-XML request with S3's error shape:
// <Error><Code/><Message/><RequestId/></Error>.
func WriteRESTXMLError(w http.ResponseWriter, err error) {
	e := AsError(err)
	id := RequestID(w)
	var sb strings.Builder
	sb.WriteString(xml.Header)
	sb.WriteString("<Error><Code>")
	_ = xml.EscapeText(&sb, []byte(e.Code))
	sb.WriteString("</Code><Message>")
	_ = xml.EscapeText(&sb, []byte(e.Message))
	sb.WriteString("</Message><RequestId>")
	sb.WriteString(id)
	sb.WriteString("</RequestId></Error>")
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("x-amz-request-id", id)
	w.WriteHeader(statusOf(e))
	_, _ = io.WriteString(w, sb.String())
}
