package botkit

import "log/slog"

// Secret holds a credential such as a token. It prints and logs as
// [redacted], so passing one to a logger or fmt by mistake leaks nothing;
// call Reveal where the value is really needed.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer.
func (s Secret) String() string { return redacted }

// GoString implements fmt.GoStringer, for %#v.
func (s Secret) GoString() string { return redacted }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText implements encoding.TextMarshaler, for JSON and YAML output.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
