package botkit

import (
	"errors"
	"fmt"
)

// UserError is an error whose text is meant for the person who typed the
// command: a handler returns one (see Userf) and the bot replies with its
// text as is, as one line. Any other error is logged and the user gets a
// short line with a correlation id.
type UserError struct {
	Msg string
	Err error // optional cause, logged but not shown
}

func (e *UserError) Error() string { return e.Msg }

// Unwrap returns the cause.
func (e *UserError) Unwrap() error { return e.Err }

// Userf returns a *UserError formatted like fmt.Sprintf. The text is Slack
// mrkdwn: wrap values that came from users in Escape.
func Userf(format string, args ...any) error {
	return &UserError{Msg: fmt.Sprintf(format, args...)}
}

// AsUserError reports whether err is or wraps a *UserError, and returns it.
func AsUserError(err error) (*UserError, bool) {
	var ue *UserError
	ok := errors.As(err, &ue)
	return ue, ok
}
