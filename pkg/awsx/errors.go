package awsx

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go"
)

// Explain returns one line for a person about an error from an AWS call,
// and false when err is not one it knows (a bug, say, which belongs in the
// log). It names the operation and AWS's own error code and message, which
// is what the person needs to ask for the right permission; it never
// includes credentials. Known: a profile that does not exist or a shared
// config file that cannot be read, no credentials or a refused AssumeRole,
// access denied, throttling that outlasted the retries, no answer in time,
// an endpoint that cannot be reached, and any other API error.
func Explain(err error) (string, bool) {
	if err == nil {
		return "", false
	}
	var noProfile config.SharedConfigProfileNotExistError
	if errors.As(err, &noProfile) {
		// The SDK leaves Filename empty here; these are the files it read.
		files := cmp.Or(os.Getenv("AWS_CONFIG_FILE"), "~/.aws/config") + " or " + cmp.Or(os.Getenv("AWS_SHARED_CREDENTIALS_FILE"), "~/.aws/credentials")
		return "There is no AWS profile `" + noProfile.Profile + "` (AWS_PROFILE) in " + files +
			": `aws configure list-profiles` lists yours, or unset AWS_PROFILE.", true
	}
	var badFile config.SharedConfigLoadError
	if errors.As(err, &badFile) {
		return "I cannot read the AWS shared config file " + badFile.Filename + ": " + oneLine(fmt.Sprint(badFile.Err)) + ".", true
	}
	op := "AWS"
	var oe *smithy.OperationError
	if errors.As(err, &oe) {
		op = oe.ServiceID + " " + oe.OperationName
	}
	var api smithy.APIError
	isAPI := errors.As(err, &api)
	switch {
	case strings.Contains(err.Error(), "get identity: "):
		// The request never left: no credentials, or STS refused them.
		if isAPI {
			return "I could not get AWS credentials for " + op + ": " + api.ErrorCode() + ": " + oneLine(api.ErrorMessage()), true
		}
		return "I have no AWS credentials for " + op + " (locally: AWS_PROFILE or AWS_ACCESS_KEY_ID; in a pod: IRSA on the ServiceAccount).", true
	case errors.Is(err, ErrNoRegion):
		return ErrNoRegion.Error() + ".", true
	case errors.Is(err, context.DeadlineExceeded):
		return "AWS did not answer " + op + " in time; try again in a moment.", true
	case isAPI && isThrottle(api):
		return "AWS is throttling " + op + " (still after retries); try again in a minute.", true
	case isAPI && isDenied(api.ErrorCode()):
		return "AWS denied " + op + ": " + oneLine(api.ErrorMessage()), true
	case isAPI:
		return op + " failed: " + api.ErrorCode() + ": " + oneLine(api.ErrorMessage()), true
	}
	var dns *net.DNSError
	var opErr *net.OpError
	if errors.As(err, &dns) || errors.As(err, &opErr) {
		return "I cannot reach the AWS endpoint for " + op + "; check AWS_ENDPOINT_URL or the network.", true
	}
	return "", false
}

func isThrottle(api smithy.APIError) bool {
	_, ok := retry.DefaultThrottleErrorCodes[api.ErrorCode()]
	return ok
}

func isDenied(code string) bool {
	switch code {
	case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnrecognizedClientException",
		"InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException", "SignatureDoesNotMatch":
		return true
	}
	return false
}

// oneLine keeps the first line of an AWS message, which is the one that
// matters, so a reply stays one line.
func oneLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if s == "" {
		return "(no message)"
	}
	return s
}
