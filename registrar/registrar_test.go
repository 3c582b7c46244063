package registrar

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sipd/sipd/location"
	"github.com/sipd/sipd/server"
	"github.com/sipd/sipd/sip"
)

const aliceAOR = "sip:alice@example.com"

// step is one REGISTER of a case and what must come of it.
type step struct {
	advance time.Duration // the clock moves on this much first
	req     regReq
	code    int
	check   func(h *harness, resp *sip.Response) error
}

type registerCase struct {
	name  string
	cfg   func(*Config)
	steps []step
	after func(h *harness) error // checks the store at the end
}

func runCases(t *testing.T, cases []registerCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Domains: []string{testDomain}}
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			h := newHarness(t, cfg, false)
			for i, s := range tc.steps {
				h.clock.Advance(s.advance)
				resp := h.do(s.req)
				if err := checkStatus(resp, s.code); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if err := checkCommon(resp); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if s.check != nil {
					if err := s.check(h, resp); err != nil {
						t.Fatalf("step %d: %v\n%s", i, err, resp)
					}
				}
			}
			if tc.after != nil {
				if err := tc.after(h); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// checkCommon checks what every answer carries: a To tag (RFC 3261
// §8.2.6.2), and, for a 200, a Date, an expires parameter on each Contact
// and no Record-Route (§10.3).
func checkCommon(resp *sip.Response) error {
	if resp.ToTag() == "" {
		return fmt.Errorf("response without To tag\n%s", resp)
	}
	if resp.StatusCode != sip.StatusOK {
		if resp.Has("Contact") {
			return fmt.Errorf("%d with Contact\n%s", resp.StatusCode, resp)
		}
		return nil
	}
	if _, err := time.Parse(dateFormat, resp.Get("Date")); err != nil {
		return fmt.Errorf("200 without a good Date: %v", err)
	}
	if resp.Has("Record-Route") {
		return fmt.Errorf("200 with Record-Route\n%s", resp)
	}
	cs, err := resp.Contacts()
	if err != nil {
		return err
	}
	for _, c := range cs {
		if n, ok := c.Expires(); !ok || n <= 0 {
			return fmt.Errorf("Contact %s without a positive expires", c)
		}
	}
	return nil
}

// wantContacts checks that the 200 lists exactly these contact URIs with
// these expires values.
func wantContacts(want map[string]int) func(*harness, *sip.Response) error {
	return func(h *harness, resp *sip.Response) error {
		got := expiresOf(h.t, resp)
		if len(got) != len(want) {
			return fmt.Errorf("contacts %v, want %v", got, want)
		}
		for k, v := range want {
			if got[k] != v {
				return fmt.Errorf("contacts %v, want %v", got, want)
			}
		}
		return nil
	}
}

// wantStored checks the contacts stored for aor.
func wantStored(aor string, contacts ...string) func(*harness) error {
	return func(h *harness) error {
		var got []string
		for _, b := range h.store.bindings(aor) {
			got = append(got, b.Contact)
		}
		slices.Sort(contacts)
		if !slices.Equal(got, contacts) {
			return fmt.Errorf("stored for %s: %q, want %q", aor, got, contacts)
		}
		return nil
	}
}

func wantReason(reason string) func(*harness, *sip.Response) error {
	return func(_ *harness, resp *sip.Response) error {
		if resp.Reason != reason {
			return fmt.Errorf("reason %q, want %q", resp.Reason, reason)
		}
		return nil
	}
}

func both(fs ...func(*harness, *sip.Response) error) func(*harness, *sip.Response) error {
	return func(h *harness, resp *sip.Response) error {
		for _, f := range fs {
			if err := f(h, resp); err != nil {
				return err
			}
		}
		return nil
	}
}

var (
	c1 = "<sip:alice@192.0.2.10:5062>"
	c2 = "<sip:alice@198.51.100.7:5060;transport=tcp>"
	c3 = "<sip:alice@203.0.113.9>"
)

const (
	u1 = "sip:alice@192.0.2.10:5062"
	u2 = "sip:alice@198.51.100.7:5060;transport=tcp"
	u3 = "sip:alice@203.0.113.9"
)

// Rule 1, RFC 3261 §10.3 steps 1 and 5: the domains.
func TestDomain(t *testing.T) {
	runCases(t, []registerCase{
		{
			name:  "served domain",
			steps: []step{{req: regReq{contacts: []string{c1}}, code: 200, check: wantContacts(map[string]int{u1: 3600})}},
			after: wantStored(aliceAOR, u1),
		},
		{
			name:  "served domain in other case",
			steps: []step{{req: regReq{ruri: "sip:EXAMPLE.Com", to: "<sip:alice@Example.COM>", contacts: []string{c1}}, code: 200}},
			after: wantStored(aliceAOR, u1),
		},
		{
			name:  "request-uri of another domain is 403",
			steps: []step{{req: regReq{ruri: "sip:other.net", to: "<sip:alice@other.net>", contacts: []string{c1}}, code: 403, check: wantReason("Forbidden - domain not served")}},
			after: wantStored("sip:alice@other.net"),
		},
		{
			name:  "AOR of another domain is 404",
			steps: []step{{req: regReq{to: "<sip:alice@other.net>", contacts: []string{c1}}, code: 404}},
			after: wantStored("sip:alice@other.net"),
		},
		{
			name: "AOR of another served domain",
			cfg:  func(c *Config) { c.Domains = []string{"example.com", "Example.ORG"} },
			steps: []step{
				{req: regReq{to: "<sip:alice@example.org>", contacts: []string{c1}}, code: 200},
			},
			after: wantStored("sip:alice@example.org", u1),
		},
		{
			name:  "no Domains: any domain",
			cfg:   func(c *Config) { c.Domains = nil },
			steps: []step{{req: regReq{ruri: "sip:anything.test", to: "<sip:alice@Anything.test>", contacts: []string{c1}}, code: 200}},
			after: wantStored("sip:alice@anything.test", u1),
		},
		{
			name:  "no Domains: AOR must be of the request-uri's domain",
			cfg:   func(c *Config) { c.Domains = nil },
			steps: []step{{req: regReq{ruri: "sip:anything.test", to: "<sip:alice@other.test>", contacts: []string{c1}}, code: 404}},
		},
		{
			name:  "non-SIP request-uri is 416",
			steps: []step{{req: regReq{ruri: "tel:+15551234", contacts: []string{c1}}, code: 416}},
		},
	})
}

// Rule 2, step 2: Require.
func TestRequire(t *testing.T) {
	runCases(t, []registerCase{
		{
			name: "unknown option tag is 420",
			steps: []step{{req: regReq{contacts: []string{c1}, headers: []string{"Require: foo"}}, code: 420,
				check: func(_ *harness, resp *sip.Response) error {
					if got := resp.OptionTags("Unsupported"); !slices.Equal(got, []string{"foo"}) {
						return fmt.Errorf("Unsupported %q, want [foo]", got)
					}
					return nil
				}}},
			after: wantStored(aliceAOR),
		},
		{
			name: "only the unknown tags are listed",
			steps: []step{{req: regReq{contacts: []string{c1}, headers: []string{"Require: path, gruu", "Require: outbound"}}, code: 420,
				check: func(_ *harness, resp *sip.Response) error {
					if got := resp.OptionTags("Unsupported"); !slices.Equal(got, []string{"gruu", "outbound"}) {
						return fmt.Errorf("Unsupported %q, want [gruu outbound]", got)
					}
					return nil
				}}},
		},
		{
			name:  "path is supported",
			steps: []step{{req: regReq{contacts: []string{c1}, headers: []string{"Require: Path"}}, code: 200}},
			after: wantStored(aliceAOR, u1),
		},
		{
			name:  "Proxy-Require is not the registrar's",
			steps: []step{{req: regReq{contacts: []string{c1}, headers: []string{"Proxy-Require: foo"}}, code: 200}},
		},
	})
}

// Rule 4, step 5: the AOR from To.
func TestAOR(t *testing.T) {
	runCases(t, []registerCase{
		{
			name:  "non-SIP To is 400",
			steps: []step{{req: regReq{to: "<tel:+15551234>", contacts: []string{c1}}, code: 400, check: wantReason("Bad To: not a SIP or SIPS URI")}},
		},
		{
			name:  "To without user is 400",
			steps: []step{{req: regReq{to: "<sip:example.com>", contacts: []string{c1}}, code: 400}},
		},
		{
			name: "canonical AOR: escapes, case of host, parameters and port ignored",
			steps: []step{
				{req: regReq{to: "<sip:%61lice@EXAMPLE.com:5060;user=phone>", contacts: []string{c1}}, code: 200},
				{req: regReq{to: "sip:alice@example.com", callID: "other"}, code: 200, check: wantContacts(map[string]int{u1: 3600})},
			},
			after: wantStored(aliceAOR, u1),
		},
		{
			name: "user part is case-sensitive",
			steps: []step{
				{req: regReq{to: "<sip:Alice@example.com>", contacts: []string{c1}}, code: 200},
				{req: regReq{to: "<sip:alice@example.com>", callID: "other"}, code: 200, check: wantContacts(nil)},
			},
			after: wantStored("sip:Alice@example.com", u1),
		},
		{
			name: "sips AOR shares the sip one's bindings",
			steps: []step{
				{req: regReq{to: "<sips:alice@example.com>", contacts: []string{"<sips:alice@192.0.2.10:5061>"}}, code: 200},
				{req: regReq{callID: "c2", contacts: []string{c1}}, code: 200,
					check: wantContacts(map[string]int{"sips:alice@192.0.2.10:5061": 3600, u1: 3600})},
			},
		},
		{
			name:  "missing Call-ID is 400",
			steps: []step{{req: regReq{callID: " ", contacts: []string{c1}}, code: 400, check: wantReason("Bad Call-ID: missing")}},
		},
	})
}

// Rule 5, steps 6 and 7: Contact processing.
func TestContacts(t *testing.T) {
	first := step{req: regReq{contacts: []string{c1, c2}, cseq: 10}, code: 200}
	runCases(t, []registerCase{
		{
			name: "star with Expires 0 removes every binding",
			steps: []step{first,
				{req: regReq{callID: "another", cseq: 1, contacts: []string{"*"}, expires: "0"}, code: 200, check: wantContacts(nil)}},
			after: wantStored(aliceAOR),
		},
		{
			name:  "star without Expires is 400",
			steps: []step{first, {req: regReq{cseq: 11, contacts: []string{"*"}}, code: 400, check: wantReason("Bad Contact: * without Expires: 0")}},
			after: wantStored(aliceAOR, u1, u2),
		},
		{
			name:  "star with Expires other than 0 is 400",
			steps: []step{first, {req: regReq{cseq: 11, contacts: []string{"*"}, expires: "3600"}, code: 400}},
			after: wantStored(aliceAOR, u1, u2),
		},
		{
			name:  "star with another contact is 400",
			steps: []step{first, {req: regReq{cseq: 11, contacts: []string{"*", c3}, expires: "0"}, code: 400, check: wantReason("Bad Contact: * with other contacts")}},
			after: wantStored(aliceAOR, u1, u2),
		},
		{
			name:  "star after another contact is 400, before any 423",
			steps: []step{first, {req: regReq{cseq: 11, contacts: []string{c3 + ";expires=1", "*"}, expires: "0"}, code: 400, check: wantReason("Bad Contact: * with other contacts")}},
			after: wantStored(aliceAOR, u1, u2),
		},
		{
			name:  "star in the same Call-ID with a CSeq not above the bindings' fails",
			steps: []step{first, {req: regReq{cseq: 10, contacts: []string{"*"}, expires: "0"}, code: 400}},
			after: wantStored(aliceAOR, u1, u2),
		},
		{
			name:  "star in the same Call-ID with a higher CSeq",
			steps: []step{first, {req: regReq{cseq: 11, contacts: []string{"*"}, expires: "0"}, code: 200}},
			after: wantStored(aliceAOR),
		},
		{
			name: "expires parameter beats the Expires header",
			steps: []step{{req: regReq{contacts: []string{c1 + ";expires=120", c2}, expires: "600"}, code: 200,
				check: wantContacts(map[string]int{u1: 120, u2: 600})}},
		},
		{
			name:  "default expiration",
			cfg:   func(c *Config) { c.DefaultExpires = 1800 * time.Second },
			steps: []step{{req: regReq{contacts: []string{c1}}, code: 200, check: wantContacts(map[string]int{u1: 1800})}},
		},
		{
			name:  "capped at MaxExpires",
			steps: []step{{req: regReq{contacts: []string{c1 + ";expires=100000", c2}, expires: "99999999999"}, code: 200, check: wantContacts(map[string]int{u1: 86400, u2: 86400})}},
		},
		{
			name:  "malformed expires parameter takes the default",
			steps: []step{{req: regReq{contacts: []string{c1 + ";expires=soon"}, expires: "60"}, code: 200, check: wantContacts(map[string]int{u1: 3600})}},
		},
		{
			name:  "expires above 2**32-1 is capped",
			steps: []step{{req: regReq{contacts: []string{c1 + ";expires=99999999999"}}, code: 200, check: wantContacts(map[string]int{u1: 86400})}},
		},
		{
			name: "below MinExpires is 423 with Min-Expires and changes nothing",
			steps: []step{first,
				{req: regReq{cseq: 11, contacts: []string{c1 + ";expires=0", c3 + ";expires=59"}}, code: 423,
					check: func(_ *harness, resp *sip.Response) error {
						if v, ok, err := resp.MinExpires(); !ok || err != nil || v != 60 {
							return fmt.Errorf("Min-Expires %d %v %v, want 60", v, ok, err)
						}
						return nil
					}}},
			after: wantStored(aliceAOR, u1, u2),
		},
		{
			name:  "below MinExpires from the Expires header",
			cfg:   func(c *Config) { c.MinExpires = 300 * time.Second },
			steps: []step{{req: regReq{contacts: []string{c1}, expires: "299"}, code: 423}},
			after: wantStored(aliceAOR),
		},
		{
			name:  "exactly MinExpires is accepted",
			steps: []step{{req: regReq{contacts: []string{c1}, expires: "60"}, code: 200, check: wantContacts(map[string]int{u1: 60})}},
		},
		{
			name:  "expires 0 removes one binding",
			steps: []step{first, {req: regReq{cseq: 11, contacts: []string{c1 + ";expires=0"}}, code: 200, check: wantContacts(map[string]int{u2: 3600})}},
			after: wantStored(aliceAOR, u2),
		},
		{
			name:  "removing a binding that does not exist does nothing",
			steps: []step{{req: regReq{contacts: []string{c1}, expires: "0"}, code: 200, check: wantContacts(nil)}},
			after: wantStored(aliceAOR),
		},
		{
			name: "same Call-ID with a lower CSeq fails and changes nothing",
			steps: []step{first,
				{req: regReq{cseq: 9, contacts: []string{c1 + ";expires=0", c3}}, code: 400, check: wantReason("Bad CSeq: not above the binding's")}},
			after: wantStored(aliceAOR, u1, u2),
		},
		{
			name:  "same Call-ID with the same CSeq fails",
			steps: []step{first, {req: regReq{cseq: 10, contacts: []string{c1 + ";expires=600"}}, code: 400}},
			after: wantStored(aliceAOR, u1, u2),
		},
		{
			name: "same Call-ID with a higher CSeq updates",
			steps: []step{first,
				{advance: 100 * time.Second, req: regReq{cseq: 11, contacts: []string{c1 + ";expires=600"}}, code: 200,
					check: wantContacts(map[string]int{u1: 600, u2: 3500})}},
		},
		{
			name: "another Call-ID with a lower CSeq updates",
			steps: []step{first,
				{req: regReq{callID: "rebooted", cseq: 1, contacts: []string{c1 + ";expires=600"}}, code: 200,
					check: wantContacts(map[string]int{u1: 600, u2: 3600})}},
			after: func(h *harness) error {
				bs := h.store.bindings(aliceAOR)
				if bs[0].CallID != "rebooted" || bs[0].CSeq != 1 {
					return fmt.Errorf("updated binding has Call-ID %q CSeq %d, want rebooted 1", bs[0].CallID, bs[0].CSeq)
				}
				return nil
			},
		},
		{
			name: "contacts compare as URIs",
			steps: []step{
				{req: regReq{contacts: []string{"<sip:alice@Host.example:5062;transport=udp>"}}, code: 200},
				{req: regReq{cseq: 2, contacts: []string{"<sip:alice@host.EXAMPLE:5062;TRANSPORT=UDP;ob>;expires=600"}}, code: 200,
					check: wantContacts(map[string]int{"sip:alice@host.EXAMPLE:5062;TRANSPORT=UDP;ob": 600})},
				// A port makes another URI (RFC 3261 §19.1.4).
				{req: regReq{cseq: 3, contacts: []string{"<sip:alice@host.example;transport=udp>"}}, code: 200,
					check: wantContacts(map[string]int{"sip:alice@host.EXAMPLE:5062;TRANSPORT=UDP;ob": 600, "sip:alice@host.example;transport=udp": 3600})},
			},
		},
		{
			name: "a URI twice in one request is one binding, the last one winning",
			steps: []step{{req: regReq{contacts: []string{c1 + ";expires=100", "<sip:alice@192.0.2.10:5062>;expires=200"}}, code: 200,
				check: wantContacts(map[string]int{u1: 200})}},
		},
		{
			name: "q values",
			steps: []step{{req: regReq{contacts: []string{c1 + ";q=0.5", c2 + ";q=1.0", c3 + ";q=0.125"}}, code: 200,
				check: func(h *harness, resp *sip.Response) error {
					var got []string
					for _, c := range contactsOf(h.t, resp) {
						q, _ := c.Params.Get("q")
						got = append(got, c.URI.String()+" "+q)
					}
					// Highest q first; q=1 is not written.
					want := []string{u2 + " ", u1 + " 0.5", u3 + " 0.125"}
					if !slices.Equal(got, want) {
						return fmt.Errorf("contacts %q, want %q", got, want)
					}
					return nil
				}}},
			after: func(h *harness) error {
				var qs []int
				for _, b := range h.store.bindings(aliceAOR) {
					qs = append(qs, b.Q)
				}
				if want := []int{500, 1000, 125}; !slices.Equal(qs, want) {
					return fmt.Errorf("stored q %v, want %v", qs, want)
				}
				return nil
			},
		},
		{
			name:  "malformed q is 400",
			steps: []step{{req: regReq{contacts: []string{c1 + ";q=2"}}, code: 400}},
			after: wantStored(aliceAOR),
		},
		{
			name: "contact parameters are kept, expires and q are not",
			steps: []step{{req: regReq{contacts: []string{`"Alice" <sip:alice@192.0.2.10:5062;ob>;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>";reg-id=1;q=0.7;expires=600`}}, code: 200,
				check: func(h *harness, resp *sip.Response) error {
					c := contactsOf(h.t, resp)[0]
					if v, _ := c.Params.Get("reg-id"); v != "1" {
						return fmt.Errorf("200 Contact %s lost reg-id", c)
					}
					return nil
				}}},
			after: func(h *harness) error {
				b := h.store.bindings(aliceAOR)[0]
				want := `;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>";reg-id=1`
				if b.Contact != "sip:alice@192.0.2.10:5062;ob" || b.Params != want || b.Q != 700 {
					return fmt.Errorf("stored %q params %q q %d", b.Contact, b.Params, b.Q)
				}
				return nil
			},
		},
		{
			name: "Path is stored and returned to a UA that supports it",
			steps: []step{{req: regReq{contacts: []string{c1}, headers: []string{
				"Path: <sip:edge1.example.com;lr>", "Path: <sip:edge2.example.com;lr>,<sip:edge3.example.com;lr>", "Supported: path"}}, code: 200,
				check: func(_ *harness, resp *sip.Response) error {
					ps, err := resp.Paths()
					if err != nil || len(ps) != 3 || ps[0].URI.Host != "edge1.example.com" || ps[2].URI.Host != "edge3.example.com" {
						return fmt.Errorf("Path in 200: %v %v", ps, err)
					}
					return nil
				}}},
			after: func(h *harness) error {
				b := h.store.bindings(aliceAOR)[0]
				want := []string{"<sip:edge1.example.com;lr>", "<sip:edge2.example.com;lr>", "<sip:edge3.example.com;lr>"}
				if !slices.Equal(b.Path, want) {
					return fmt.Errorf("stored Path %q, want %q", b.Path, want)
				}
				return nil
			},
		},
		{
			name: "Path is stored but not returned to a UA that does not support it",
			steps: []step{{req: regReq{contacts: []string{c1}, headers: []string{"Path: <sip:edge1.example.com;lr>"}}, code: 200,
				check: func(_ *harness, resp *sip.Response) error {
					if resp.Has("Path") {
						return errors.New("Path in the 200 to a UA without Supported: path")
					}
					return nil
				}}},
			after: func(h *harness) error {
				if b := h.store.bindings(aliceAOR)[0]; len(b.Path) != 1 {
					return fmt.Errorf("stored Path %q", b.Path)
				}
				return nil
			},
		},
		{
			name: "a refresh without Path drops the old one",
			steps: []step{
				{req: regReq{contacts: []string{c1}, headers: []string{"Path: <sip:edge1.example.com;lr>"}}, code: 200},
				{req: regReq{cseq: 2, contacts: []string{c1}}, code: 200},
			},
			after: func(h *harness) error {
				if b := h.store.bindings(aliceAOR)[0]; len(b.Path) != 0 {
					return fmt.Errorf("stored Path %q after a refresh without one", b.Path)
				}
				return nil
			},
		},
		{
			name:  "source, transport and User-Agent are stored",
			steps: []step{{req: regReq{contacts: []string{c1}, headers: []string{"User-Agent: sipd-test/1.0"}}, code: 200}},
			after: func(h *harness) error {
				b := h.store.bindings(aliceAOR)[0]
				want := location.Binding{
					AOR: aliceAOR, Contact: u1, Q: 1000, CallID: "reg-1@192.0.2.10", CSeq: 1,
					Expires: h.clock.Now().Add(time.Hour), Transport: "UDP",
					Source: netip.MustParseAddrPort("192.0.2.10:5062"), Local: netip.MustParseAddrPort("192.0.2.1:5060"),
					UserAgent: "sipd-test/1.0", Updated: h.clock.Now(),
				}
				if fmt.Sprint(b) != fmt.Sprint(want) {
					return fmt.Errorf("stored\n%+v\nwant\n%+v", b, want)
				}
				return nil
			},
		},
		{
			name: "MaxContacts",
			cfg:  func(c *Config) { c.MaxContacts = 2 },
			steps: []step{
				first,
				{req: regReq{cseq: 11, contacts: []string{c3}}, code: 403, check: wantReason("Too Many Registered Contacts")},
				// A refresh, and a swap, keep the count.
				{req: regReq{cseq: 12, contacts: []string{c1, c2}}, code: 200},
				{req: regReq{cseq: 13, contacts: []string{c1 + ";expires=0", c3}}, code: 200},
			},
			after: wantStored(aliceAOR, u2, u3),
		},
		{
			name: "MaxContacts over one request",
			cfg:  func(c *Config) { c.MaxContacts = 2 },
			steps: []step{
				{req: regReq{contacts: []string{c1, c2, c3}}, code: 403},
			},
			after: wantStored(aliceAOR),
		},
		{
			name: "an AOR above a lowered MaxContacts may still refresh",
			steps: []step{
				first,
			},
			after: func(h *harness) error {
				reg, err := New(Config{Domains: []string{testDomain}, MaxContacts: 1, Clock: h.clock.Now}, h.store)
				if err != nil {
					return err
				}
				h.layer.SetCore(adapter{reg})
				if err := checkStatus(h.do(regReq{cseq: 11, contacts: []string{c1}}), 200); err != nil {
					return err
				}
				return checkStatus(h.do(regReq{cseq: 12, contacts: []string{c3}}), 403)
			},
		},
		{
			name:  "malformed Expires header is 400",
			steps: []step{{req: regReq{contacts: []string{c1}, expires: "soon"}, code: 400}},
			after: wantStored(aliceAOR),
		},
		{
			name:  "Path that does not parse is 400",
			steps: []step{{req: regReq{contacts: []string{c1}, headers: []string{"Path: <sip:edge1.example.com;lr"}}, code: 400}},
			after: wantStored(aliceAOR),
		},
		{
			name:  "Contact that does not parse is 400",
			steps: []step{{req: regReq{contacts: []string{"<sip:alice@192.0.2.10"}}, code: 400}},
		},
	})
}

// Rule 6, step 8: the 200 (OK).
func TestOK(t *testing.T) {
	runCases(t, []registerCase{
		{
			name: "lists every binding with the time left",
			steps: []step{
				{req: regReq{contacts: []string{c1}}, code: 200},
				{advance: 1000 * time.Second, req: regReq{callID: "other", contacts: []string{c2 + ";expires=600"}}, code: 200,
					check: wantContacts(map[string]int{u1: 2600, u2: 600})},
				{advance: 1500*time.Millisecond + 100*time.Second, req: regReq{callID: "third"}, code: 200,
					check: wantContacts(map[string]int{u1: 2499, u2: 499})},
			},
		},
		{
			name: "a fetch lists bindings and changes nothing",
			steps: []step{
				{req: regReq{contacts: []string{c1, c2}}, code: 200},
				{req: regReq{cseq: 2, expires: "0"}, code: 200, check: wantContacts(map[string]int{u1: 3600, u2: 3600})},
			},
			after: wantStored(aliceAOR, u1, u2),
		},
		{
			name:  "a fetch with no bindings has no Contact",
			steps: []step{{req: regReq{}, code: 200, check: wantContacts(nil)}},
		},
		{
			name: "expired bindings are not listed",
			steps: []step{
				{req: regReq{contacts: []string{c1 + ";expires=60", c2}}, code: 200},
				{advance: 61 * time.Second, req: regReq{cseq: 2}, code: 200, check: wantContacts(map[string]int{u2: 3539})},
			},
		},
		{
			name: "an expired binding of the same Call-ID does not block a lower CSeq",
			steps: []step{
				{req: regReq{cseq: 5, contacts: []string{c1 + ";expires=60"}}, code: 200},
				{advance: 61 * time.Second, req: regReq{cseq: 2, contacts: []string{c1}}, code: 200, check: wantContacts(map[string]int{u1: 3600})},
			},
		},
		{
			name: "Record-Route is not copied",
			steps: []step{{req: regReq{contacts: []string{c1}, headers: []string{"Record-Route: <sip:p1.example.net;lr>"}}, code: 200,
				check: func(_ *harness, resp *sip.Response) error {
					if resp.Has("Record-Route") {
						return errors.New("Record-Route in 200")
					}
					return nil
				}}},
		},
		{
			name: "reason phrase and To tag",
			steps: []step{{req: regReq{contacts: []string{c1}}, code: 200, check: both(wantReason("OK"),
				func(_ *harness, resp *sip.Response) error {
					if resp.ToTag() == "" {
						return errors.New("no To tag")
					}
					return nil
				})}},
		},
	})
}

func TestNotRegister(t *testing.T) {
	h := newHarness(t, Config{}, false)
	req := regReq{contacts: []string{c1}}.build(t)
	req.Method = sip.MethodOptions
	if err := h.reg.ServeSIP(t.Context(), nil, req); err != server.ErrNotHandled {
		t.Fatalf("ServeSIP(OPTIONS) = %v, want server.ErrNotHandled", err)
	}
}

func TestStoreFailure(t *testing.T) {
	h := newHarness(t, Config{}, false)
	h.store.setErr(errors.New("disk on fire"))
	for _, r := range []regReq{{contacts: []string{c1}}, {}} {
		if err := checkStatus(h.do(r), 500); err != nil {
			t.Error(err)
		}
	}
	// The error goes to the server as it is, for its log.
	err := h.reg.ServeSIP(t.Context(), nil, regReq{}.build(t))
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("ServeSIP = %v, want the store's error", err)
	}
}

// One store.Apply per REGISTER that changes bindings, none for a fetch or
// a refused request.
func TestOneApply(t *testing.T) {
	h := newHarness(t, Config{Domains: []string{testDomain}}, false)
	h.do(regReq{contacts: []string{c1, c2, c3}})
	h.do(regReq{cseq: 2, contacts: []string{c1 + ";expires=0", c2}})
	h.do(regReq{cseq: 3})
	h.do(regReq{cseq: 4, contacts: []string{c1 + ";expires=10"}})
	if h.store.applies != 2 {
		t.Errorf("%d Apply calls, want 2", h.store.applies)
	}
}

// merge must not change the bindings it is given: a store may call it
// again (an optimistic transaction that retries).
func TestMergePure(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	cur := []location.Binding{
		{AOR: aliceAOR, Contact: u1, Q: 1000, CallID: "a", CSeq: 1, Expires: now.Add(time.Hour)},
		{AOR: aliceAOR, Contact: u2, Q: 1000, CallID: "b", CSeq: 1, Expires: now.Add(time.Hour)},
	}
	keep := slices.Clone(cur)
	u, _ := sip.ParseURI(u1)
	t1 := location.Binding{AOR: aliceAOR, CallID: "a", CSeq: 2}
	ups := []update{{uri: u, contact: u1, q: 1000, expires: 0}, {uri: u, contact: u1, q: 500, expires: 60}}
	for range 2 {
		out, err := merge(cur, ups, false, &t1, now, 0)
		if err != nil || len(out) != 2 || out[0].Q != 500 {
			t.Fatalf("merge = %+v, %v", out, err)
		}
	}
	if fmt.Sprint(cur) != fmt.Sprint(keep) {
		t.Fatalf("merge changed its input:\n%+v\nwas\n%+v", cur, keep)
	}
}
