package sdp_test

import (
	"fmt"
	"net/netip"

	"github.com/sipd/sipd/sdp"
)

func Example() {
	alice, _ := sdp.NewSession(netip.MustParseAddr("192.0.2.1"), nil)
	offer, _ := alice.Offer(sdp.OfferConfig{Addr: netip.MustParseAddr("192.0.2.1"), Port: 40000})

	// Bob supports PCMA and DTMF only.
	answer, bob, _ := sdp.Answer(offer, sdp.AnswerConfig{
		Addr:   netip.MustParseAddr("198.51.100.2"),
		Port:   50000,
		Codecs: []sdp.Codec{sdp.PCMA, sdp.TelephoneEvent},
	})
	fmt.Println("bob sends", bob.Codec, "to", bob.Remote, bob.Direction)

	n, _ := sdp.ParseAnswer(offer, answer)
	fmt.Println("alice sends", n.Codec, "to", n.Remote, n.Direction, "dtmf", n.TelephoneEvent.PayloadType)

	held, _ := alice.Hold()
	_, bob, _ = sdp.Answer(held, sdp.AnswerConfig{Addr: netip.MustParseAddr("198.51.100.2"), Port: 50000})
	fmt.Println("on hold bob is", bob.Direction)
	// Output:
	// bob sends PCMA/8000 to 192.0.2.1:40000 sendrecv
	// alice sends PCMA/8000 to 198.51.100.2:50000 sendrecv dtmf 101
	// on hold bob is recvonly
}
