// Package siptest provides utilities for SIP testing, as net/http/httptest
// does for HTTP: an in-memory Transport that records what a transaction
// layer or a proxy sends, and helpers that hand messages to a transaction
// layer as the transport layer would.
//
// It is for tests only: product code never imports it.
package siptest
