package registrar

import (
	"fmt"
	"sync"
	"testing"

	"github.com/sipd/sipd/sip"
)

// Many REGISTERs for one AOR at once, through ServeSIP over the
// transaction layer: every one is applied atomically, so none is lost and
// MaxContacts holds exactly.
func TestConcurrentRegisters(t *testing.T) {
	for _, tc := range []struct {
		name        string
		maxContacts int
		n           int
	}{
		{"unlimited", 0, 64},
		{"MaxContacts", 10, 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{Domains: []string{testDomain}, MaxContacts: tc.maxContacts}, false)
			reqs := make([]*sip.Request, tc.n)
			for i := range reqs {
				reqs[i] = regReq{
					callID:   fmt.Sprintf("ua-%d", i),
					contacts: []string{fmt.Sprintf("<sip:alice@192.0.2.%d:5060>", i+1)},
				}.build(t)
			}
			codes := make([]int, tc.n)
			var wg sync.WaitGroup
			for i := range reqs {
				wg.Go(func() {
					codes[i] = h.send(reqs[i]).StatusCode
				})
			}
			wg.Wait()
			ok, refused := 0, 0
			for i, c := range codes {
				switch c {
				case 200:
					ok++
				case 403:
					refused++
				default:
					t.Errorf("request %d: status %d", i, c)
				}
			}
			want := tc.n
			if tc.maxContacts > 0 {
				want = tc.maxContacts
			}
			if ok != want || refused != tc.n-want {
				t.Errorf("%d accepted, %d refused; want %d and %d", ok, refused, want, tc.n-want)
			}
			if got := len(h.store.bindings(aliceAOR)); got != want {
				t.Errorf("%d bindings stored, want %d", got, want)
			}
			// Each accepted UA finds its own binding in the store.
			stored := make(map[string]bool)
			for _, b := range h.store.bindings(aliceAOR) {
				stored[b.CallID] = true
			}
			for i, c := range codes {
				if (c == 200) != stored[fmt.Sprintf("ua-%d", i)] {
					t.Errorf("request %d: status %d, stored %v", i, c, stored[fmt.Sprintf("ua-%d", i)])
				}
			}
		})
	}
}
