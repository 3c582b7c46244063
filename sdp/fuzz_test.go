package sdp

import (
	"errors"
	"testing"
)

func seedOffers() [][]byte {
	return [][]byte{
		offerSIPp, offerRFC3264Basic, answerRFC3264Basic, offerRFC3264Reoffer, offerRFC3264OneOfN,
		offerBaresip, offerDeskPhone, offerIPv6MediaConn, offerSessionSendonly, offerOldHold,
		offerNoMedia, offerRemovedThenNew, offerSRTP, offerMulticast, offerG729Only, offerVideoOnly,
	}
}

// FuzzAnswer answers arbitrary bytes: no panic, and every answer given is
// one that the offerer's side accepts and reads the same way.
func FuzzAnswer(f *testing.F) {
	for _, o := range seedOffers() {
		f.Add(o)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, offer []byte) {
		ans, n, err := Answer(offer, AnswerConfig{Addr: ourAddr, Port: 30000, SessionID: 1, SessionVersion: 1})
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNoCommonMedia) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if n.Stream < 0 {
			// Only an offer without live streams gets an answer without one.
			if _, err := ParseAnswer(offer, ans); err != nil {
				t.Fatalf("ParseAnswer of our answer: %v\noffer:\n%q\nanswer:\n%q", err, offer, ans)
			}
			return
		}
		on, err := ParseAnswer(offer, ans)
		if err != nil {
			t.Fatalf("ParseAnswer of our answer: %v\noffer:\n%q\nanswer:\n%q", err, offer, ans)
		}
		if on.Stream != n.Stream || pts(on.Codecs) != pts(n.Codecs) {
			t.Fatalf("offerer sees %+v, answerer %+v", on, n)
		}
		if _, err := Hold(ans); err != nil {
			t.Fatalf("Hold of our answer: %v", err)
		}
	})
}

// FuzzParseAnswer checks arbitrary answers against arbitrary offers: no panic.
func FuzzParseAnswer(f *testing.F) {
	f.Add(offerRFC3264Basic, answerRFC3264Basic)
	f.Add(offerSIPp, offerSIPp)
	f.Add(offerRFC3264Reoffer, offerRFC3264Basic)
	f.Fuzz(func(t *testing.T, offer, answer []byte) {
		n, err := ParseAnswer(offer, answer)
		if err == nil && n.Stream >= 0 && n.Codec.Name == "" {
			t.Fatalf("accepted stream without a codec: %+v", n)
		}
	})
}
