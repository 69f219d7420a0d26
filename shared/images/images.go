// Package images resolves the container images of SageMaker's built-in
// algorithms, which live in a different AWS-owned ECR account per region.
//
// The table is the registry list of the sagemaker-xgboost 1.7-1 image as
// published by AWS (SageMaker Python SDK, image_uri_config/xgboost.json, the
// same account ids as the developer guide's "Docker Registry Paths" pages).
// Regions missing from it fail clearly: set TRAINING_IMAGE / INFERENCE_IMAGE
// there instead of guessing an account.
package images

import (
	"fmt"
	"sort"
	"strings"
)

// XGBoostVersion is the built-in XGBoost container version used by default;
// its XGBoost 1.7 matches the python3-xgboost the local cloud trains with.
const XGBoostVersion = "1.7-1"

// xgboostAccounts maps a region to the ECR account serving sagemaker-xgboost.
var xgboostAccounts = map[string]string{
	"af-south-1":     "510948584623",
	"ap-east-1":      "651117190479",
	"ap-northeast-1": "354813040037",
	"ap-northeast-2": "366743142698",
	"ap-northeast-3": "867004704886",
	"ap-south-1":     "720646828776",
	"ap-south-2":     "628508329040",
	"ap-southeast-1": "121021644041",
	"ap-southeast-2": "783357654285",
	"ap-southeast-3": "951798379941",
	"ap-southeast-4": "106583098589",
	"ca-central-1":   "341280168497",
	"ca-west-1":      "190319476487",
	"cn-north-1":     "450853457545",
	"cn-northwest-1": "451049120500",
	"eu-central-1":   "492215442770",
	"eu-central-2":   "680994064768",
	"eu-north-1":     "662702820516",
	"eu-south-1":     "978288397137",
	"eu-south-2":     "104374241257",
	"eu-west-1":      "141502667606",
	"eu-west-2":      "764974769150",
	"eu-west-3":      "659782779980",
	"il-central-1":   "898809789911",
	"me-central-1":   "272398656194",
	"me-south-1":     "801668240914",
	"sa-east-1":      "737474898029",
	"us-east-1":      "683313688378",
	"us-east-2":      "257758044811",
	"us-gov-east-1":  "237065988967",
	"us-gov-west-1":  "414596584902",
	"us-west-1":      "746614075791",
	"us-west-2":      "246618743249",
}

// XGBoost returns the URI of SageMaker's built-in XGBoost 1.7-1 image in
// region, for training and for hosting alike.
func XGBoost(region string) (string, error) {
	account, ok := xgboostAccounts[region]
	if !ok {
		return "", fmt.Errorf("no known sagemaker-xgboost:%s image for region %q (known: %s); set the image URI explicitly",
			XGBoostVersion, region, strings.Join(XGBoostRegions(), ", "))
	}
	domain := "amazonaws.com"
	if strings.HasPrefix(region, "cn-") {
		domain = "amazonaws.com.cn"
	}
	return fmt.Sprintf("%s.dkr.ecr.%s.%s/sagemaker-xgboost:%s", account, region, domain, XGBoostVersion), nil
}

// XGBoostRegions lists the regions XGBoost knows, sorted.
func XGBoostRegions() []string {
	out := make([]string, 0, len(xgboostAccounts))
	for r := range xgboostAccounts {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}
