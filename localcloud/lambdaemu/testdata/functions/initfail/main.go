// Command initfail is a test function that fails during init: by exiting
// (as a main that finds its configuration missing does), or, with
// INIT_MODE=report, by reporting to /runtime/init/error first.
package main

import (
	"net/http"
	"os"
	"strings"
)

func main() {
	if os.Getenv("INIT_MODE") == "report" {
		url := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/init/error"
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"errorMessage":"config: REQUIRED_SETTING is missing","errorType":"Runtime.ConfigError"}`))
		req.Header.Set("Lambda-Runtime-Function-Error-Type", "Runtime.ConfigError")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}
	os.Stderr.WriteString("config: REQUIRED_SETTING is missing\n")
	os.Exit(1)
}
