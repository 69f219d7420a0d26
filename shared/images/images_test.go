package images

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestXGBoost(t *testing.T) {
	tests := []struct {
		name, region, want, wantErr string
	}{
		{"us-east-1", "us-east-1", "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1", ""},
		{"eu-west-1", "eu-west-1", "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1", ""},
		{"china uses the .cn domain", "cn-north-1", "450853457545.dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-xgboost:1.7-1", ""},
		{"unknown region", "xx-nowhere-1", "", `no known sagemaker-xgboost:1.7-1 image for region "xx-nowhere-1"`},
		{"empty region", "", "", `region ""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := XGBoost(tt.region)
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestXGBoostTableIsWellFormed(t *testing.T) {
	account := regexp.MustCompile(`^[0-9]{12}$`)
	region := regexp.MustCompile(`^[a-z]{2}(-gov)?-[a-z]+-[0-9]$`)
	for _, r := range XGBoostRegions() {
		assert.Regexp(t, region, r)
		assert.Regexp(t, account, xgboostAccounts[r], r)
	}
	assert.GreaterOrEqual(t, len(XGBoostRegions()), 30)
}
