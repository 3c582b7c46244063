package proxy

import (
	"slices"
	"strings"
	"testing"

	"github.com/sipd/sipd/sip"
)

func testRequest(t *testing.T) *sip.Request {
	t.Helper()
	req, err := sip.ParseRequest([]byte("INVITE sip:bob@example.com SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc\r\n" +
		"From: <sip:alice@example.com>;tag=a\r\nTo: <sip:bob@example.com>\r\n" +
		"Call-ID: c1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestChooseBest checks RFC 3261 §16.7 step 6 and 7.
func TestChooseBest(t *testing.T) {
	req := testRequest(t)
	mk := func(code int, hdrs ...string) *sip.Response {
		r := sip.NewResponse(req, code, "")
		for i := 0; i+1 < len(hdrs); i += 2 {
			r.Add(hdrs[i], hdrs[i+1])
		}
		return r
	}
	tests := []struct {
		name       string
		finals     []*sip.Response
		want       int
		challenges []string // Proxy-Authenticate and WWW-Authenticate values of the answer
	}{
		{name: "none", finals: nil, want: 0},
		{name: "6xx wins over 3xx", finals: []*sip.Response{mk(302), mk(486), mk(603)}, want: 603},
		{name: "lowest class", finals: []*sip.Response{mk(486), mk(302), mk(500)}, want: 302},
		{name: "4xx over 5xx", finals: []*sip.Response{mk(500), mk(404)}, want: 404},
		{name: "503 becomes 500", finals: []*sip.Response{mk(503)}, want: 500},
		{name: "408 alone", finals: []*sip.Response{mk(408)}, want: 408},
		{name: "486 over 404", finals: []*sip.Response{mk(404), mk(486)}, want: 486},
		{name: "486 over 408", finals: []*sip.Response{mk(408), mk(486)}, want: 486},
		{name: "404 over 5xx", finals: []*sip.Response{mk(500), mk(404)}, want: 404},
		{name: "auth preferred among 4xx", finals: []*sip.Response{mk(404), mk(407, "Proxy-Authenticate", "Digest realm=\"a\"")}, want: 407,
			challenges: []string{"Digest realm=\"a\""}},
		{name: "challenges merged", finals: []*sip.Response{
			mk(401, "WWW-Authenticate", "Digest realm=\"w\""), mk(486), mk(407, "Proxy-Authenticate", "Digest realm=\"p\"")}, want: 401,
			challenges: []string{"Digest realm=\"p\"", "Digest realm=\"w\""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := chooseBest(tc.finals)
			if got == nil {
				if tc.want != 0 {
					t.Fatalf("nil, want %d", tc.want)
				}
				return
			}
			if got.StatusCode != tc.want {
				t.Fatalf("%d, want %d", got.StatusCode, tc.want)
			}
			if tc.want == 500 && got.Reason != sip.StatusText(500) {
				t.Errorf("reason %q", got.Reason)
			}
			if tc.challenges != nil {
				var ch []string
				for _, n := range []string{"Proxy-Authenticate", "WWW-Authenticate"} {
					for v := range got.Lines(n) {
						ch = append(ch, v)
					}
				}
				slices.Sort(ch)
				if !slices.Equal(ch, tc.challenges) {
					t.Errorf("challenges %q, want %q", ch, tc.challenges)
				}
			}
			// The input is never changed.
			for _, r := range tc.finals {
				if strings.Count(r.String(), "Authenticate") > 1 {
					t.Errorf("input response changed: %s", r)
				}
			}
		})
	}
}
