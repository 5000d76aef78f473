// Package awsx loads AWS configuration for bots, lazily: a bot builds a
// Loader in its setup function, and nothing is read (no credentials, no
// files, no network) until a command first asks for a Config.
//
// Credentials come from the SDK's default chain. In a pod on EKS Fargate that
// is IRSA: the ServiceAccount carries the annotation
// eks.amazonaws.com/role-arn, EKS injects AWS_ROLE_ARN and
// AWS_WEB_IDENTITY_TOKEN_FILE, and the SDK exchanges the projected token for
// the role's credentials (EKS Pod Identity does not work on Fargate, and
// Fargate has no instance metadata). Locally it is whatever the developer's
// shell has: AWS_PROFILE, SSO, or AWS_ACCESS_KEY_ID and friends.
//
// On top of the base credentials a Target may name a role to assume (one per
// environment, say) with STS AssumeRole; the role session name is the bot's
// name and the Slack user's ID (see SessionName), so CloudTrail shows who
// asked for each change. Each (role, session name) gets its own cached
// credentials provider, refreshed before expiry.
//
// The region is the Target's, else the SDK's (AWS_REGION, the profile).
// Retries use the SDK's adaptive mode, which also slows the client down when
// AWS throttles it. Endpoints are the SDK's own: AWS_ENDPOINT_URL and
// AWS_ENDPOINT_URL_<SERVICE> (AWS_ENDPOINT_URL_ECS, ..._ECR, ..._STS) point
// clients at a local fake or emulator.
//
// The SDK's own log lines (a retry it gives up on, "falling back to IMDSv1")
// go to Options.Logger, at their level, instead of stderr. Explain turns the
// errors a person can act on (no credentials, a missing AWS_PROFILE, access
// denied, throttling...) into one line for them.
//
// awsfake is a wire-level fake of AWS for tests and `make run`; its key is
// FakeAccessKey, and CheckFake, called by a bot at start, refuses it
// outside BOT_ENV=local, so a pod never talks to a fake.
//
// Only bots that call AWS import this package, so the others link no AWS
// code at all.
package awsx
