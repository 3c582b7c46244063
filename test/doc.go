// Package test holds sipd's black-box and interop tests: real peers (SIPp,
// later baresip and Kamailio) driving sipd's layers over loopback sockets.
package test
