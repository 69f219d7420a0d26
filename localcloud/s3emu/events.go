package s3emu

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gomlops/mlops/localcloud/awsproto"
	"github.com/gomlops/mlops/localcloud/eventbridge"
	"github.com/johannesboyne/gofakes3"
)

// operation is an S3 request that may produce an EventBridge event.
type operation int

const (
	opOther operation = iota
	opPutObject
	opCopyObject
	opCompleteMultipart
	opDeleteObject
	opDeleteObjects
)

func (o operation) reason() string {
	switch o {
	case opPutObject:
		return "PutObject"
	case opCopyObject:
		return "CopyObject"
	case opCompleteMultipart:
		return "CompleteMultipartUpload"
	}
	return "DeleteObject"
}

// splitPath returns the bucket and key of a path-style request.
func splitPath(p string) (string, string) {
	p = strings.TrimPrefix(p, "/")
	bucket, key, _ := strings.Cut(p, "/")
	return bucket, key
}

func classify(r *http.Request, key string) operation {
	q := r.URL.Query()
	switch r.Method {
	case http.MethodPut:
		if key == "" || q.Has("uploadId") || q.Has("tagging") || q.Has("acl") || q.Has("retention") || q.Has("legal-hold") {
			return opOther
		}
		if r.Header.Get("x-amz-copy-source") != "" {
			return opCopyObject
		}
		return opPutObject
	case http.MethodPost:
		if key != "" && q.Has("uploadId") {
			return opCompleteMultipart
		}
		if key == "" && q.Has("delete") {
			return opDeleteObjects
		}
	case http.MethodDelete:
		if key != "" && !q.Has("uploadId") && !q.Has("tagging") {
			return opDeleteObject
		}
	}
	return opOther
}

// recorder passes the response through while remembering its status and,
// for DeleteObjects, its body.
type recorder struct {
	http.ResponseWriter
	status      int
	keepBody    bool
	body        bytes.Buffer
	beforeWrite func(http.Header)
}

func (rw *recorder) WriteHeader(code int) {
	if rw.status != 0 {
		return
	}
	rw.status = code
	if rw.beforeWrite != nil && code < 300 {
		rw.beforeWrite(rw.Header())
	}
	rw.ResponseWriter.WriteHeader(code)
}

func (rw *recorder) Write(b []byte) (int, error) {
	if rw.status == 0 {
		rw.WriteHeader(http.StatusOK)
	}
	if rw.keepBody {
		rw.body.Write(b)
	}
	return rw.ResponseWriter.Write(b)
}

// ServeHTTP serves the S3 REST API and emits EventBridge events for
// successful writes and deletes in EventBridge-enabled buckets.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	bucket, key := splitPath(r.URL.Path)
	if bucket != "" && key == "" && s.serveBucketSubresource(w, r, bucket) {
		return
	}
	op := classify(r, key)
	if op == opCopyObject {
		// gofakes3 reports the copy source's version as the new object's
		// version; answer with the destination's real version instead.
		rec := &recorder{ResponseWriter: w, beforeWrite: func(h http.Header) {
			h.Del("x-amz-version-id")
			if obj, err := s.backend.HeadObject(bucket, key); err == nil && obj.VersionID != "" {
				h.Set("x-amz-version-id", string(obj.VersionID))
			}
		}}
		s.serve(rec, r, op, bucket, key, nil)
		return
	}
	if op == opOther || s.opts.Events == nil || !s.eventBridgeEnabled(bucket) {
		s.s3.ServeHTTP(w, r)
		return
	}
	var reqBody []byte
	if op == opDeleteObjects {
		b, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
		if err != nil {
			awsproto.WriteRESTXMLError(w, awsproto.Errorf(http.StatusBadRequest, "IncompleteBody", "read request body: %v", err))
			return
		}
		reqBody = b
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	s.serve(&recorder{ResponseWriter: w, keepBody: op == opDeleteObjects}, r, op, bucket, key, reqBody)
}

func (s *Service) serve(rec *recorder, r *http.Request, op operation, bucket, key string, reqBody []byte) {
	if s.opts.Events != nil && s.eventBridgeEnabled(bucket) {
		l := s.writeLock(bucket)
		l.Lock()
		defer l.Unlock()
	}
	s.s3.ServeHTTP(rec, r)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.status >= 300 || s.opts.Events == nil || !s.eventBridgeEnabled(bucket) {
		return
	}
	meta := requestMeta{
		requestID: rec.Header().Get("x-amz-request-id"),
		sourceIP:  remoteIP(r),
	}
	if meta.requestID == "" {
		meta.requestID = newRequestID()
	}
	ctx := context.WithoutCancel(r.Context())
	switch op {
	case opPutObject, opCopyObject, opCompleteMultipart:
		s.emitCreated(ctx, op, bucket, key, rec.Header().Get("x-amz-version-id"), meta)
	case opDeleteObject:
		vid := r.URL.Query().Get("versionId")
		deletion := "Permanently Deleted"
		if vid == "" && rec.Header().Get("x-amz-delete-marker") == "true" {
			deletion = "Delete Marker Created"
			vid = rec.Header().Get("x-amz-version-id")
		}
		s.emitDeleted(ctx, bucket, key, vid, deletion, meta)
	case opDeleteObjects:
		s.emitMultiDeleted(ctx, bucket, reqBody, rec.body.Bytes(), meta)
	}
}

type requestMeta struct {
	requestID, sourceIP string
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// newRequestID returns a 16-character id in S3's style.
func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// EncodeKey URL-encodes an object key the way S3 does in event
// notifications: form encoding (spaces as '+'), with '/' kept.
func EncodeKey(key string) string {
	return strings.ReplaceAll(url.QueryEscape(key), "%2F", "/")
}

// objectDetail is the detail of an S3 EventBridge event, fields in AWS's
// order.
type objectDetail struct {
	Version         string     `json:"version"`
	Bucket          bucketRef  `json:"bucket"`
	Object          objectInfo `json:"object"`
	RequestID       string     `json:"request-id"`
	Requester       string     `json:"requester"`
	SourceIPAddress string     `json:"source-ip-address"`
	Reason          string     `json:"reason"`
	DeletionType    string     `json:"deletion-type,omitempty"`
}

type bucketRef struct {
	Name string `json:"name"`
}

type objectInfo struct {
	Key       string `json:"key"`
	Size      *int64 `json:"size,omitempty"`
	ETag      string `json:"etag,omitempty"`
	VersionID string `json:"version-id,omitempty"`
	Sequencer string `json:"sequencer"`
}

func (s *Service) emitCreated(ctx context.Context, op operation, bucket, key, versionID string, meta requestMeta) {
	var obj *gofakes3.Object
	var err error
	if versionID != "" && op != opCopyObject {
		obj, err = s.backend.HeadObjectVersion(bucket, key, gofakes3.VersionID(versionID))
	} else {
		obj, err = s.backend.HeadObject(bucket, key)
	}
	if err != nil {
		s.logger.ErrorContext(ctx, "S3 event: read the new object", "bucket", bucket, "key", key, "error", err.Error())
		return
	}
	size := obj.Size
	info := objectInfo{Key: EncodeKey(key), Size: &size, ETag: hex.EncodeToString(obj.Hash), VersionID: string(obj.VersionID)}
	s.emit(ctx, "Object Created", bucket, info, op.reason(), "", meta)
}

func (s *Service) emitDeleted(ctx context.Context, bucket, key, versionID, deletion string, meta requestMeta) {
	s.emit(ctx, "Object Deleted", bucket, objectInfo{Key: EncodeKey(key), VersionID: versionID}, "DeleteObject", deletion, meta)
}

// emitMultiDeleted emits one Object Deleted event per key DeleteObjects
// removed.
func (s *Service) emitMultiDeleted(ctx context.Context, bucket string, reqBody, respBody []byte, meta requestMeta) {
	var req struct {
		Objects []struct {
			Key       string `xml:"Key"`
			VersionID string `xml:"VersionId"`
		} `xml:"Object"`
	}
	var resp struct {
		Deleted []struct {
			Key       string `xml:"Key"`
			VersionID string `xml:"VersionId"`
		} `xml:"Deleted"`
	}
	if err := xml.Unmarshal(reqBody, &req); err != nil {
		s.logger.ErrorContext(ctx, "S3 event: parse DeleteObjects request", "bucket", bucket, "error", err.Error())
		return
	}
	if err := xml.Unmarshal(respBody, &resp); err != nil {
		s.logger.ErrorContext(ctx, "S3 event: parse DeleteObjects response", "bucket", bucket, "error", err.Error())
		return
	}
	asked := map[string]string{}
	for _, o := range req.Objects {
		asked[o.Key] = o.VersionID
	}
	versioning, _ := s.backend.VersioningConfiguration(bucket)
	for _, d := range resp.Deleted {
		deletion := "Permanently Deleted"
		if asked[d.Key] == "" && versioning.Status != "" {
			deletion = "Delete Marker Created"
		}
		s.emitDeleted(ctx, bucket, d.Key, d.VersionID, deletion, meta)
	}
}

func (s *Service) emit(ctx context.Context, detailType, bucket string, info objectInfo, reason, deletion string, meta requestMeta) {
	seq, ok := s.nextSequencer(bucket)
	if !ok {
		return
	}
	info.Sequencer = seq
	detail, err := json.Marshal(objectDetail{
		Version: "0", Bucket: bucketRef{Name: bucket}, Object: info, RequestID: meta.requestID,
		Requester: s.opts.AccountID, SourceIPAddress: meta.sourceIP, Reason: reason, DeletionType: deletion,
	})
	if err != nil {
		s.logger.ErrorContext(ctx, "S3 event: encode detail", "error", err.Error())
		return
	}
	ev := eventbridge.Event{
		Version: "0", DetailType: detailType, Source: "aws.s3", Account: s.opts.AccountID,
		Time: s.opts.Clock.Now().UTC().Format("2006-01-02T15:04:05Z"), Region: s.opts.Region,
		Resources: []string{"arn:aws:s3:::" + bucket}, Detail: detail,
	}
	if err := s.opts.Events.Emit(ctx, ev); err != nil {
		s.logger.ErrorContext(ctx, "S3 event: emit", "bucket", bucket, "key", info.Key, "error", fmt.Sprint(err), "sequencer", strconv.Quote(seq))
	}
}
