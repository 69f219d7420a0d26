package sqsemu

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gomlops/mlops/localcloud/awsproto"
)

const queryNamespace = "http://queue.amazonaws.com/doc/2012-11-05/"

// ServeHTTP answers SQS requests in AWS JSON 1.0 (X-Amz-Target:
// AmazonSQS.Operation) or the query protocol (Action=...).
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if prefix, op, ok := awsproto.JSONTarget(r); ok {
		if prefix != "AmazonSQS" {
			awsproto.WriteJSONError(w, r, awsproto.UnknownOperation(r.Header.Get("X-Amz-Target")))
			return
		}
		s.serveJSON(w, r, op)
		return
	}
	action, form, err := awsproto.QueryAction(r)
	if err != nil {
		awsproto.WriteQueryError(w, err)
		return
	}
	s.serveQuery(w, r, action, form)
}

type jsonAttr struct {
	DataType    string `json:"DataType"`
	StringValue string `json:"StringValue,omitempty"`
	BinaryValue []byte `json:"BinaryValue,omitempty"`
}

type jsonMessage struct {
	MessageID              string              `json:"MessageId"`
	ReceiptHandle          string              `json:"ReceiptHandle"`
	MD5OfBody              string              `json:"MD5OfBody"`
	Body                   string              `json:"Body"`
	Attributes             map[string]string   `json:"Attributes,omitempty"`
	MessageAttributes      map[string]jsonAttr `json:"MessageAttributes,omitempty"`
	MD5OfMessageAttributes string              `json:"MD5OfMessageAttributes,omitempty"`
}

func (s *Service) serveJSON(w http.ResponseWriter, r *http.Request, op string) {
	var in struct {
		QueueName                   string              `json:"QueueName"`
		QueueNamePrefix             string              `json:"QueueNamePrefix"`
		QueueURL                    string              `json:"QueueUrl"`
		Attributes                  map[string]string   `json:"Attributes"`
		AttributeNames              []string            `json:"AttributeNames"`
		MessageSystemAttributeNames []string            `json:"MessageSystemAttributeNames"`
		MessageAttributeNames       []string            `json:"MessageAttributeNames"`
		MessageBody                 string              `json:"MessageBody"`
		MessageAttributes           map[string]jsonAttr `json:"MessageAttributes"`
		DelaySeconds                *int                `json:"DelaySeconds"`
		MaxNumberOfMessages         int                 `json:"MaxNumberOfMessages"`
		VisibilityTimeout           *int                `json:"VisibilityTimeout"`
		WaitTimeSeconds             int                 `json:"WaitTimeSeconds"`
		ReceiptHandle               string              `json:"ReceiptHandle"`
	}
	if err := awsproto.DecodeJSON(r, &in); err != nil {
		awsproto.WriteJSONError(w, r, err)
		return
	}
	switch op {
	case "CreateQueue":
		u, err := s.CreateQueue(in.QueueName, in.Attributes)
		reply(w, r, map[string]string{"QueueUrl": u}, err)
	case "GetQueueUrl":
		u, err := s.GetQueueURL(in.QueueName)
		reply(w, r, map[string]string{"QueueUrl": u}, err)
	case "ListQueues":
		reply(w, r, map[string][]string{"QueueUrls": s.ListQueues(in.QueueNamePrefix)}, nil)
	case "SendMessage":
		attrs := map[string]MessageAttribute{}
		for k, a := range in.MessageAttributes {
			attrs[k] = MessageAttribute(a)
		}
		delay := -1
		if in.DelaySeconds != nil {
			delay = *in.DelaySeconds
		}
		m, err := s.send(r.Context(), in.QueueURL, in.MessageBody, attrs, delay)
		if err != nil {
			reply(w, r, nil, err)
			return
		}
		out := map[string]string{"MessageId": m.MessageID, "MD5OfMessageBody": md5Hex(m.Body)}
		if md := md5OfAttributes(attrs); md != "" {
			out["MD5OfMessageAttributes"] = md
		}
		reply(w, r, out, nil)
	case "ReceiveMessage":
		msgs, err := s.Receive(r.Context(), in.QueueURL, in.MaxNumberOfMessages, visibility(in.VisibilityTimeout), waitTime(in.WaitTimeSeconds))
		if err != nil {
			reply(w, r, nil, err)
			return
		}
		names := append(append([]string{}, in.AttributeNames...), in.MessageSystemAttributeNames...)
		out := make([]jsonMessage, 0, len(msgs))
		for _, m := range msgs {
			jm := jsonMessage{MessageID: m.MessageID, ReceiptHandle: m.ReceiptHandle, MD5OfBody: md5Hex(m.Body), Body: m.Body,
				Attributes: systemAttributes(m, names)}
			if sel := selectAttributes(m.Attributes, in.MessageAttributeNames); len(sel) > 0 {
				jm.MessageAttributes = map[string]jsonAttr{}
				for k, a := range sel {
					jm.MessageAttributes[k] = jsonAttr(a)
				}
				jm.MD5OfMessageAttributes = md5OfAttributes(sel)
			}
			out = append(out, jm)
		}
		reply(w, r, map[string]any{"Messages": out}, nil)
	case "DeleteMessage":
		reply(w, r, map[string]string{}, s.DeleteMessage(in.QueueURL, in.ReceiptHandle))
	case "GetQueueAttributes":
		attrs, err := s.QueueAttributes(in.QueueURL)
		reply(w, r, map[string]any{"Attributes": filterQueueAttributes(attrs, in.AttributeNames)}, err)
	default:
		awsproto.WriteJSONError(w, r, awsproto.UnknownOperation(op))
	}
}

func reply(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		// SQS's JSON protocol also names the legacy query error code, which
		// query-compatible clients (boto3, the CLI) report.
		if legacy := queryError(err); awsproto.AsError(legacy).Code != awsproto.AsError(err).Code {
			w.Header().Set("x-amzn-query-error", awsproto.AsError(legacy).Code+";Sender")
		}
		awsproto.WriteJSONError(w, r, err)
		return
	}
	awsproto.WriteJSON(w, r, v)
}

func visibility(v *int) time.Duration {
	if v == nil {
		return -1
	}
	return time.Duration(*v) * time.Second
}

func waitTime(sec int) time.Duration {
	return time.Duration(min(max(sec, 0), 20)) * time.Second
}

// systemAttributes returns the message system attributes asked for ("All"
// or names).
func systemAttributes(m Message, names []string) map[string]string {
	all := map[string]string{
		"SenderId":                         "AIDAEXAMPLELOCALCLOUD",
		"SentTimestamp":                    strconv.FormatInt(m.SentAt.UnixMilli(), 10),
		"ApproximateReceiveCount":          strconv.Itoa(m.ReceiveCount),
		"ApproximateFirstReceiveTimestamp": strconv.FormatInt(m.FirstReceivedAt.UnixMilli(), 10),
	}
	out := map[string]string{}
	for _, n := range names {
		if n == "All" {
			return all
		}
		if v, ok := all[n]; ok {
			out[n] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// selectAttributes returns the message attributes named ("All", ".*",
// "prefix.*" or exact names).
func selectAttributes(attrs map[string]MessageAttribute, names []string) map[string]MessageAttribute {
	out := map[string]MessageAttribute{}
	for k, a := range attrs {
		for _, n := range names {
			if n == "All" || n == ".*" || n == k || (strings.HasSuffix(n, ".*") && strings.HasPrefix(k, strings.TrimSuffix(n, "*"))) {
				out[k] = a
				break
			}
		}
	}
	return out
}

func filterQueueAttributes(attrs map[string]string, names []string) map[string]string {
	out := map[string]string{}
	for _, n := range names {
		if n == "All" {
			return attrs
		}
		if v, ok := attrs[n]; ok {
			out[n] = v
		}
	}
	return out
}

// ---- query protocol (AWS CLI v1) ----

func (s *Service) serveQuery(w http.ResponseWriter, r *http.Request, action string, form url.Values) {
	queueURL := form.Get("QueueUrl")
	switch action {
	case "CreateQueue":
		u, err := s.CreateQueue(form.Get("QueueName"), indexedMap(form, "Attribute", "Name", "Value"))
		queryReply(w, action, struct {
			QueueURL string `xml:"QueueUrl"`
		}{u}, err)
	case "GetQueueUrl":
		u, err := s.GetQueueURL(form.Get("QueueName"))
		queryReply(w, action, struct {
			QueueURL string `xml:"QueueUrl"`
		}{u}, err)
	case "ListQueues":
		queryReply(w, action, struct {
			QueueURLs []string `xml:"QueueUrl"`
		}{s.ListQueues(form.Get("QueueNamePrefix"))}, nil)
	case "SendMessage":
		attrs := map[string]MessageAttribute{}
		for i := 1; ; i++ {
			p := "MessageAttribute." + strconv.Itoa(i) + "."
			name := form.Get(p + "Name")
			if name == "" {
				break
			}
			attrs[name] = MessageAttribute{DataType: form.Get(p + "Value.DataType"), StringValue: form.Get(p + "Value.StringValue"), BinaryValue: []byte(form.Get(p + "Value.BinaryValue"))}
		}
		delay := -1
		if d := form.Get("DelaySeconds"); d != "" {
			n, err := strconv.Atoi(d)
			if err != nil {
				awsproto.WriteQueryError(w, awsproto.Errorf(400, "InvalidParameterValue", "DelaySeconds must be an integer"))
				return
			}
			delay = n
		}
		m, err := s.send(r.Context(), queueURL, form.Get("MessageBody"), attrs, delay)
		if err != nil {
			awsproto.WriteQueryError(w, queryError(err))
			return
		}
		queryReply(w, action, struct {
			MessageID        string `xml:"MessageId"`
			MD5OfMessageBody string `xml:"MD5OfMessageBody"`
			MD5OfAttributes  string `xml:"MD5OfMessageAttributes,omitempty"`
		}{m.MessageID, md5Hex(m.Body), md5OfAttributes(attrs)}, nil)
	case "ReceiveMessage":
		maxN, _ := strconv.Atoi(form.Get("MaxNumberOfMessages"))
		var vis *int
		if v := form.Get("VisibilityTimeout"); v != "" {
			n, _ := strconv.Atoi(v)
			vis = &n
		}
		wait, _ := strconv.Atoi(form.Get("WaitTimeSeconds"))
		msgs, err := s.Receive(r.Context(), queueURL, maxN, visibility(vis), waitTime(wait))
		if err != nil {
			awsproto.WriteQueryError(w, queryError(err))
			return
		}
		names := append(indexedList(form, "AttributeName"), indexedList(form, "MessageSystemAttributeName")...)
		type kv struct {
			Name  string `xml:"Name"`
			Value string `xml:"Value"`
		}
		type xmlAttr struct {
			Name  string `xml:"Name"`
			Value struct {
				DataType    string `xml:"DataType"`
				StringValue string `xml:"StringValue,omitempty"`
			} `xml:"Value"`
		}
		type xmlMsg struct {
			MessageID     string    `xml:"MessageId"`
			ReceiptHandle string    `xml:"ReceiptHandle"`
			MD5OfBody     string    `xml:"MD5OfBody"`
			Body          string    `xml:"Body"`
			Attributes    []kv      `xml:"Attribute"`
			MsgAttrs      []xmlAttr `xml:"MessageAttribute"`
			MD5OfAttrs    string    `xml:"MD5OfMessageAttributes,omitempty"`
		}
		var out struct {
			Messages []xmlMsg `xml:"Message"`
		}
		for _, m := range msgs {
			xm := xmlMsg{MessageID: m.MessageID, ReceiptHandle: m.ReceiptHandle, MD5OfBody: md5Hex(m.Body), Body: m.Body}
			for _, k := range sortedKeys(systemAttributes(m, names)) {
				xm.Attributes = append(xm.Attributes, kv{k, systemAttributes(m, names)[k]})
			}
			sel := selectAttributes(m.Attributes, indexedList(form, "MessageAttributeName"))
			for _, k := range sortedAttrKeys(sel) {
				var a xmlAttr
				a.Name = k
				a.Value.DataType, a.Value.StringValue = sel[k].DataType, sel[k].StringValue
				xm.MsgAttrs = append(xm.MsgAttrs, a)
			}
			xm.MD5OfAttrs = md5OfAttributes(sel)
			out.Messages = append(out.Messages, xm)
		}
		queryReply(w, action, out, nil)
	case "DeleteMessage":
		queryReply(w, action, nil, s.DeleteMessage(queueURL, form.Get("ReceiptHandle")))
	case "GetQueueAttributes":
		attrs, err := s.QueueAttributes(queueURL)
		if err != nil {
			awsproto.WriteQueryError(w, queryError(err))
			return
		}
		sel := filterQueueAttributes(attrs, indexedList(form, "AttributeName"))
		var out struct {
			Attributes []struct {
				Name  string `xml:"Name"`
				Value string `xml:"Value"`
			} `xml:"Attribute"`
		}
		for _, k := range sortedKeys(sel) {
			out.Attributes = append(out.Attributes, struct {
				Name  string `xml:"Name"`
				Value string `xml:"Value"`
			}{k, sel[k]})
		}
		queryReply(w, action, out, nil)
	default:
		awsproto.WriteQueryError(w, awsproto.InvalidAction(action))
	}
}

// queryReply writes the query-protocol answer. The result struct's fields
// are written inside <ActionResult>.
func queryReply(w http.ResponseWriter, action string, result any, err error) {
	if err != nil {
		awsproto.WriteQueryError(w, queryError(err))
		return
	}
	if result == nil {
		awsproto.WriteQuery(w, action, queryNamespace, nil)
		return
	}
	awsproto.WriteQuery(w, action, queryNamespace, result)
}

// queryError maps JSON-style codes to the query protocol's legacy codes.
func queryError(err error) error {
	e := awsproto.AsError(err)
	if e.Code == "QueueDoesNotExist" {
		return &awsproto.Error{Code: "AWS.SimpleQueueService.NonExistentQueue", Message: e.Message, Status: e.Status}
	}
	return e
}

func indexedList(form url.Values, prefix string) []string {
	var out []string
	for i := 1; ; i++ {
		v := form.Get(prefix + "." + strconv.Itoa(i))
		if v == "" {
			return out
		}
		out = append(out, v)
	}
}

func indexedMap(form url.Values, prefix, key, value string) map[string]string {
	out := map[string]string{}
	for i := 1; ; i++ {
		p := prefix + "." + strconv.Itoa(i) + "."
		k := form.Get(p + key)
		if k == "" {
			return out
		}
		out[k] = form.Get(p + value)
	}
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedAttrKeys(m map[string]MessageAttribute) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
