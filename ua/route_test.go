package ua

import (
	"context"
	"net/netip"
	"testing"
	"testing/synctest"

	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transaction"
	"github.com/sipd/sipd/transport"
)

// miniProxy is a stateless record-routing proxy for the memNet: a loose
// router (lr) or an RFC 2543 strict router (RFC 3261 §16.4, §16.6,
// §16.12), just enough to put a route set in a dialog.
func miniProxy(strict bool) func(*memNode, *transport.Inbound) {
	return func(p *memNode, in *transport.Inbound) {
		self := sip.URI{Scheme: "sip", Host: p.addr.Addr().String(), Port: int(p.addr.Port())}
		switch m := in.Msg.(type) {
		case *sip.Request:
			r := m.Clone()
			if r.URI.Host == self.Host && r.URI.Port == self.Port && strict {
				// §16.4: we were a strict router: the last Route is the
				// real Request-URI.
				rs, _ := r.Routes()
				if len(rs) == 0 {
					return
				}
				r.URI = rs[len(rs)-1].URI
				r.Del("Route")
				for _, a := range rs[:len(rs)-1] {
					r.Add("Route", a.String())
				}
			} else if rs, _ := r.Routes(); len(rs) > 0 && rs[0].URI.Host == self.Host && rs[0].URI.Port == self.Port {
				r.PopFirst("Route")
			}
			if r.Method == sip.MethodInvite && r.ToTag() == "" {
				rr := self
				if !strict {
					rr.Params = ";lr"
				}
				r.Prepend("Record-Route", (&sip.Address{URI: rr}).String())
			}
			r.PushVia(sip.Via{Transport: "UDP", Host: self.Host, Port: self.Port, Params: sip.Params(";branch=" + transaction.NewBranch())})
			next := r.URI
			if rs, _ := r.Routes(); len(rs) > 0 {
				next = rs[0].URI
			}
			ip, _ := netip.ParseAddr(next.Host)
			p.n.deliver(p.addr, netip.AddrPortFrom(ip, uint16(next.Port)), r, r.Bytes())
		case *sip.Response:
			r := m.Clone()
			r.PopVia()
			v, err := r.TopVia()
			if err != nil {
				return
			}
			ip, _ := netip.ParseAddr(v.Host)
			p.n.deliver(p.addr, netip.AddrPortFrom(ip, uint16(v.Port)), r, r.Bytes())
		}
	}
}

// TestRouteSet: through a record-routing proxy, loose or strict, both
// sides keep the route set (RFC 3261 §12.1) and send their in-dialog
// requests through the proxy, with the Request-URI and Route of
// §12.2.1.1; the ACK and BYE get there.
func TestRouteSet(t *testing.T) {
	for _, strict := range []bool{false, true} {
		name := "loose"
		if strict {
			name = "strict"
		}
		t.Run(name, func(t *testing.T) {
			sim(t, func(t *testing.T, n *memNet) {
				proxy := n.addNode(9, miniProxy(strict))
				calls := make(chan *Call, 1)
				bob, bobRec := n.add(t, 2, Config{User: "bob", OnInvite: answerer(calls)})
				alice, aliceRec := n.add(t, 1, Config{User: "alice", Proxy: "sip:" + proxy.addr.String()})
				ac, err := alice.Invite(context.Background(), bob.Contact(), nil)
				if err != nil {
					t.Fatal(err)
				}
				bc := <-calls
				if rs := ac.Dialog().RouteSet(); len(rs) != 1 || rs[0].URI.Host != "10.0.0.9" {
					t.Fatalf("alice's route set %v", rs)
				}
				if rs := bc.Dialog().RouteSet(); len(rs) != 1 || rs[0].URI.Host != "10.0.0.9" {
					t.Fatalf("bob's route set %v", rs)
				}
				synctest.Wait()
				acks := bobRec.find(In, sip.MethodAck, 0)
				if len(acks) != 1 || acks[0].msg.(*sip.Request).Count("Via") != 2 {
					t.Fatalf("bob got no ACK through the proxy")
				}
				ack := aliceRec.find(Out, sip.MethodAck, 0)[0].msg.(*sip.Request)
				if strict {
					// §12.2.1.1: the strict router is the Request-URI; the
					// remote target is the last Route.
					rs, _ := ack.Routes()
					if ack.URI.Host != "10.0.0.9" || len(rs) != 1 || rs[0].URI.User != "bob" {
						t.Errorf("strict ACK: %s with Route %v", ack.URI.String(), rs)
					}
				} else if ack.URI.User != "bob" || ack.Get("Route") == "" {
					t.Errorf("loose ACK: %s with Route %q", ack.URI.String(), ack.Get("Route"))
				}
				if err := bc.Hangup(context.Background()); err != nil {
					t.Fatal(err)
				}
				<-ac.Done()
				byes := aliceRec.find(In, sip.MethodBye, 0)
				if len(byes) != 1 || byes[0].msg.(*sip.Request).Count("Via") != 2 {
					t.Errorf("BYE did not come through the proxy")
				}
			})
		})
	}
}
