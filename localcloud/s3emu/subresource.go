package s3emu

import (
	"encoding/xml"
	"io"
	"net/http"

	"github.com/gomlops/mlops/localcloud/awsproto"
)

// unsupportedBucketSubresources are bucket configuration APIs the local
// cloud does not emulate. gofakes3 would treat a PUT to them as
// CreateBucket and a GET as ListObjects, so they are answered with S3's
// NotImplemented instead.
var unsupportedBucketSubresources = []string{
	"policy", "tagging", "encryption", "lifecycle", "cors", "acl", "publicAccessBlock",
	"ownershipControls", "website", "logging", "replication", "accelerate", "requestPayment",
	"object-lock", "intelligent-tiering", "inventory", "metrics", "analytics", "policyStatus",
}

// serveBucketSubresource answers bucket subresource requests gofakes3 does
// not know; it reports whether it answered.
func (s *Service) serveBucketSubresource(w http.ResponseWriter, r *http.Request, bucket string) bool {
	q := r.URL.Query()
	if q.Has("notification") {
		s.serveNotification(w, r, bucket)
		return true
	}
	for _, sub := range unsupportedBucketSubresources {
		if q.Has(sub) {
			awsproto.WriteRESTXMLError(w, awsproto.Errorf(http.StatusNotImplemented, "NotImplemented",
				"the local cloud does not emulate the bucket %s configuration", sub))
			return true
		}
	}
	return false
}

// notificationConfiguration is S3's NotificationConfiguration; only
// EventBridgeConfiguration is emulated.
type notificationConfiguration struct {
	XMLName     xml.Name  `xml:"NotificationConfiguration"`
	Xmlns       string    `xml:"xmlns,attr,omitempty"`
	EventBridge *struct{} `xml:"EventBridgeConfiguration"`
	Topics      []any     `xml:"TopicConfiguration,omitempty"`
	Queues      []any     `xml:"QueueConfiguration,omitempty"`
	Functions   []any     `xml:"CloudFunctionConfiguration,omitempty"`
}

func (s *Service) serveNotification(w http.ResponseWriter, r *http.Request, bucket string) {
	exists, err := s.backend.BucketExists(bucket)
	if err != nil || !exists {
		awsproto.WriteRESTXMLError(w, awsproto.Errorf(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist"))
		return
	}
	switch r.Method {
	case http.MethodGet:
		out := notificationConfiguration{Xmlns: "http://s3.amazonaws.com/doc/2006-03-01/"}
		if s.eventBridgeEnabled(bucket) {
			out.EventBridge = &struct{}{}
		}
		body, err := xml.Marshal(out)
		if err != nil {
			awsproto.WriteRESTXMLError(w, awsproto.Internal())
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		_, _ = io.WriteString(w, xml.Header+string(body))
	case http.MethodPut:
		var in struct {
			EventBridge *struct{}  `xml:"EventBridgeConfiguration"`
			Topics      []struct{} `xml:"TopicConfiguration"`
			Queues      []struct{} `xml:"QueueConfiguration"`
			Functions   []struct{} `xml:"CloudFunctionConfiguration"`
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil || xml.Unmarshal(body, &in) != nil {
			awsproto.WriteRESTXMLError(w, awsproto.Errorf(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema"))
			return
		}
		if len(in.Topics)+len(in.Queues)+len(in.Functions) > 0 {
			awsproto.WriteRESTXMLError(w, awsproto.Errorf(http.StatusNotImplemented, "NotImplemented", "the local cloud only emulates EventBridgeConfiguration notifications"))
			return
		}
		if err := s.SetEventBridge(bucket, in.EventBridge != nil); err != nil {
			awsproto.WriteRESTXMLError(w, awsproto.Internal())
			return
		}
		w.WriteHeader(http.StatusOK)
	default:
		awsproto.WriteRESTXMLError(w, awsproto.Errorf(http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource."))
	}
}
