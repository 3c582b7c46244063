package ua_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/ua"
)

// A call from alice to bob over loopback UDP, with alice's side of the
// call flow printed by the trace hook, as `sipd call` would.
func Example() {
	var mu sync.Mutex
	var flow []string
	trace := func(dir ua.Direction, msg sip.Message, _ netip.AddrPort) {
		line, _, _ := strings.Cut(string(msgBytes(msg)), "\r\n")
		if r, ok := msg.(*sip.Request); ok {
			line = r.Method // the Request-URI has a random port
		}
		mu.Lock()
		flow = append(flow, dir.String()+" "+line)
		mu.Unlock()
	}
	bob, err := ua.New(ua.Config{User: "bob", OnInvite: func(ic *ua.IncomingCall) {
		ic.Ring()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ic.Answer(ctx)
	}})
	if err != nil {
		panic(err)
	}
	defer bob.Close()
	alice, err := ua.New(ua.Config{User: "alice", Trace: trace})
	if err != nil {
		panic(err)
	}
	defer alice.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	call, err := alice.Invite(ctx, bob.Contact(), nil)
	if err != nil {
		panic(err)
	}
	fmt.Println("codec:", call.Negotiated().Codec)
	call.Hangup(ctx)
	mu.Lock()
	fmt.Println(strings.Join(flow, "\n"))
	mu.Unlock()
	// Output:
	// codec: PCMU/8000
	// -> INVITE
	// <- SIP/2.0 180 Ringing
	// <- SIP/2.0 200 OK
	// -> ACK
	// -> BYE
	// <- SIP/2.0 200 OK
}

func msgBytes(m sip.Message) []byte {
	switch m := m.(type) {
	case *sip.Request:
		return m.Bytes()
	case *sip.Response:
		return m.Bytes()
	}
	return nil
}
