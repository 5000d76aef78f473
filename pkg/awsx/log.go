package awsx

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/smithy-go/logging"
)

// sdkLogger routes the SDK's log lines (such as "falling back to IMDSv1"),
// which it would print to stderr unstructured, into slog: WARN as Warn,
// DEBUG as Debug, anything else as Info.
type sdkLogger struct {
	l   *slog.Logger
	ctx context.Context
}

// Logf implements logging.Logger.
func (s sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	level := slog.LevelInfo
	switch c {
	case logging.Warn:
		level = slog.LevelWarn
	case logging.Debug:
		level = slog.LevelDebug
	}
	ctx := s.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	if !s.l.Enabled(ctx, level) {
		return
	}
	s.l.Log(ctx, level, fmt.Sprintf(format, v...))
}

// WithContext implements logging.ContextLogger, so a handler that reads the
// context (a request's attributes) sees the call's.
func (s sdkLogger) WithContext(ctx context.Context) logging.Logger {
	return sdkLogger{l: s.l, ctx: ctx}
}
