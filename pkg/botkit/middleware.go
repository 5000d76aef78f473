package botkit

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"
)

// PanicError is the error a handler's panic becomes; Stack holds where it
// happened, for the log.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Recover returns middleware that turns a panic in the handler into a
// *PanicError, so one bad command never takes the bot down. Every command
// runs inside it.
func Recover() Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, req *Request) (err error) {
			defer func() {
				if v := recover(); v != nil {
					err = &PanicError{Value: v, Stack: debug.Stack()}
					req.Log().Error("command panicked", "panic", fmt.Sprint(v), "stack", string(err.(*PanicError).Stack))
				}
			}()
			return next.ServeCommand(ctx, req)
		})
	}
}

// withTimeout bounds a command's run. A handler that returns
// context.DeadlineExceeded after its timeout is reported to the user as
// having timed out.
func withTimeout(d time.Duration) Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, req *Request) error {
			ctx, cancel := context.WithTimeout(ctx, d)
			defer cancel()
			err := next.ServeCommand(ctx, req)
			if err != nil && ctx.Err() == context.DeadlineExceeded {
				if _, ok := AsUserError(err); !ok {
					if !errors.Is(err, context.DeadlineExceeded) {
						err = fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
					}
					return &UserError{Msg: fmt.Sprintf("`%s` timed out after %s.", req.cmd.Name(), d), Err: err}
				}
			}
			return err
		})
	}
}
