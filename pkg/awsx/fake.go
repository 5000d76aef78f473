package awsx

import (
	"fmt"

	"github.com/botfleet/botfleet/pkg/botkit"
)

// FakeAccessKey is the access key of awsfake, the wire-level fake of AWS
// that tests and `make run` use; the fake accepts no other. No real key
// looks like it (those start with AKIA or ASIA).
const FakeAccessKey = "AKIDFAKEBOTFLEETTEST"

// CheckFake reports whether the environment, read with getenv, points the
// SDK at awsfake: its key in AWS_ACCESS_KEY_ID. It returns an error when it
// does and env (BOT_ENV) is not local: a pod must never deploy to a fake and
// report success. A bot that calls AWS calls it from its setup function, so
// it refuses to start, and announces the fake when it is allowed.
func CheckFake(env string, getenv func(string) string) (bool, error) {
	if getenv("AWS_ACCESS_KEY_ID") != FakeAccessKey {
		return false, nil
	}
	if env != botkit.EnvLocal {
		return true, fmt.Errorf("AWS_ACCESS_KEY_ID is the key of the local fake AWS (awsfake, AWS_ENDPOINT_URL=%s) while BOT_ENV is %q: "+
			"the fake is only for BOT_ENV=local; unset AWS_ENDPOINT_URL and AWS_ACCESS_KEY_ID to use the real AWS", getenv("AWS_ENDPOINT_URL"), env)
	}
	return true, nil
}
