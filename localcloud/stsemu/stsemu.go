// Package stsemu emulates AWS STS GetCallerIdentity (query protocol) for
// the local cloud: the account is the local cloud's deterministic account
// and the caller is named after the request's access key.
package stsemu

import (
	"net/http"

	"github.com/gomlops/mlops/localcloud/awsproto"
)

const namespace = "https://sts.amazonaws.com/doc/2011-06-15/"

// Options configure a Service.
type Options struct {
	// AccountID is the account every caller belongs to (default
	// 123456789012).
	AccountID string
}

// Service answers STS requests.
type Service struct {
	account string
}

// New returns an STS emulator.
func New(opts Options) *Service {
	if opts.AccountID == "" {
		opts.AccountID = "123456789012"
	}
	return &Service{account: opts.AccountID}
}

// Identity is a GetCallerIdentity result.
type Identity struct {
	Arn     string `xml:"Arn"`
	UserID  string `xml:"UserId"`
	Account string `xml:"Account"`
}

// CallerIdentity returns the identity of the holder of accessKey.
func (s *Service) CallerIdentity(accessKey string) Identity {
	if accessKey == "" {
		accessKey = "anonymous"
	}
	return Identity{
		Arn:     "arn:aws:iam::" + s.account + ":user/" + accessKey,
		UserID:  accessKey,
		Account: s.account,
	}
}

// ServeHTTP answers query-protocol STS actions.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	action, _, err := awsproto.QueryAction(r)
	if err != nil {
		awsproto.WriteQueryError(w, err)
		return
	}
	switch action {
	case "GetCallerIdentity":
		scope, _ := awsproto.ParseScope(r)
		awsproto.WriteQuery(w, action, namespace, s.CallerIdentity(scope.AccessKey))
	default:
		awsproto.WriteQueryError(w, awsproto.InvalidAction(action))
	}
}
