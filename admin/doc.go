// Package admin is sipd's HTTP admin API: read-only JSON views of a
// running server's state for operators, scripts and `sipd ctl`.
//
// Like nats-server's monitoring endpoints (/connz), lists are paged with
// offset and limit query parameters and every answer carries the totals,
// so a client can walk all pages:
//
//	GET /api/registrations?offset=0&limit=100
//	GET /api/health
//
// Only GET and HEAD are allowed; other methods get 405 with an Allow
// header, unknown paths 404, bad parameters 400, all with a JSON body
// {"error": "..."}. Nothing here changes state, so nothing needs a token;
// endpoints that do must require one and listen only on loopback or a unix
// socket (STYLE.md §5).
//
// A Server holds all its state (no package-level variables), so tests run
// several in one process; Handler serves the same API without a listener,
// for httptest.
package admin
