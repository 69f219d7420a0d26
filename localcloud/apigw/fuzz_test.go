package apigw

import (
	"net/http/httptest"
	"testing"
)

// FuzzProxyResponse feeds arbitrary function output to the response
// mapper: it must write a response or return an error, never panic.
func FuzzProxyResponse(f *testing.F) {
	f.Add([]byte(`{"statusCode":200,"headers":{"a":"b"},"multiValueHeaders":{"c":["d",1]},"body":"x"}`))
	f.Add([]byte(`{"statusCode":200,"body":"eA==","isBase64Encoded":true}`))
	f.Add([]byte(`{"statusCode":99}`))
	f.Add([]byte(`[1,2]`))
	f.Add([]byte(`{"statusCode":204,"cookies":["a=b"]}`))
	f.Fuzz(func(t *testing.T, out []byte) {
		_, _ = writeResponseV1(httptest.NewRecorder(), out)
		_, _ = writeResponseV2(httptest.NewRecorder(), out)
	})
}
