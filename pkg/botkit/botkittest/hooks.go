package botkittest

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// ServeHooks starts the bot and serves its webhooks on a loopback HTTP
// server until the test ends, as the runner serves them on BOT_HTTP_ADDR;
// it returns the server's base URL.
func (tr *Transport) ServeHooks(t testing.TB) string {
	t.Helper()
	tr.Start()
	tr.rtMu.Lock()
	rt := tr.rt
	tr.rtMu.Unlock()
	mux := http.NewServeMux()
	rt.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}
