package admin

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipd/sipd/location"
	"github.com/sipd/sipd/storage/memory"
)

// mapStore is a location.Store over a map, with the clock and failures
// under the test's control.
type mapStore struct {
	mu  sync.Mutex
	now time.Time
	m   map[string][]location.Binding
	err error // returned by every call when set
}

func newMapStore(now time.Time) *mapStore {
	return &mapStore{now: now, m: make(map[string][]location.Binding)}
}

func (s *mapStore) add(bs ...location.Binding) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range bs {
		s.m[b.AOR] = append(s.m[b.AOR], b)
	}
}

func (s *mapStore) live() []location.Binding {
	var out []location.Binding
	for _, bs := range s.m {
		for _, b := range bs {
			if b.Expires.After(s.now) {
				out = append(out, b)
			}
		}
	}
	slices.SortFunc(out, func(a, b location.Binding) int {
		return cmp.Or(strings.Compare(a.AOR, b.AOR), strings.Compare(a.Contact, b.Contact))
	})
	return out
}

func (s *mapStore) Lookup(ctx context.Context, aor string) ([]location.Binding, error) {
	return nil, errors.New("not used")
}

func (s *mapStore) Apply(ctx context.Context, aor string, fn func([]location.Binding) ([]location.Binding, error)) ([]location.Binding, error) {
	return nil, errors.New("not used")
}

func (s *mapStore) Expire(ctx context.Context, now time.Time) (int, error) {
	return 0, errors.New("not used")
}

func (s *mapStore) List(ctx context.Context, offset, limit int) ([]location.Binding, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	if limit <= 0 {
		return nil, nil
	}
	live := s.live()
	offset = min(max(offset, 0), len(live))
	return live[offset:min(offset+limit, len(live))], nil
}

func (s *mapStore) Count(ctx context.Context) (bindings, aors int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return 0, 0, s.err
	}
	seen := make(map[string]bool)
	for _, b := range s.live() {
		bindings++
		seen[b.AOR] = true
	}
	return bindings, len(seen), nil
}

var _ location.Store = (*mapStore)(nil)

// now is the tests' fixed clock; sub-second on purpose.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 250_000_000, time.UTC)

// fill adds n bindings: AOR user<i/2> (two contacts each), expiring
// 60+i seconds after testNow, plus one binding that expired already.
func fill(s *mapStore, n int) {
	for i := range n {
		s.add(location.Binding{
			AOR:       fmt.Sprintf("sip:user%03d@example.com", i/2),
			Contact:   fmt.Sprintf("sip:user%03d@192.0.2.1:%d", i/2, 5060+i),
			Q:         1000,
			Expires:   testNow.Add(time.Duration(60+i) * time.Second),
			Transport: "UDP",
			Source:    netip.MustParseAddrPort("192.0.2.1:5060"),
		})
	}
	s.add(location.Binding{AOR: "sip:gone@example.com", Contact: "sip:gone@192.0.2.9", Expires: testNow.Add(-time.Second)})
}

func newTestServer(s location.Store) *Server {
	srv := New(Config{}, s)
	srv.now = func() time.Time { return testNow }
	return srv
}

// do runs one request through the handler and checks the JSON content type.
func do(t *testing.T, h http.Handler, method, target string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json", method, target, ct)
	}
	return rec
}

func TestRegistrationsPaging(t *testing.T) {
	store := newMapStore(testNow)
	fill(store, 25)
	h := newTestServer(store).Handler()

	tests := []struct {
		name          string
		query         string
		offset, limit int
		first         int // index (in fill order) of the first binding; -1 for none
		n             int
	}{
		{name: "defaults", query: "", offset: 0, limit: DefaultLimit, first: 0, n: 25},
		{name: "first page", query: "?limit=10", offset: 0, limit: 10, first: 0, n: 10},
		{name: "middle page", query: "?offset=10&limit=10", offset: 10, limit: 10, first: 10, n: 10},
		{name: "last page short", query: "?offset=20&limit=10", offset: 20, limit: 10, first: 20, n: 5},
		{name: "offset at end", query: "?offset=25&limit=10", offset: 25, limit: 10, first: -1, n: 0},
		{name: "offset past end", query: "?offset=1000", offset: 1000, limit: DefaultLimit, first: -1, n: 0},
		{name: "limit one", query: "?offset=3&limit=1", offset: 3, limit: 1, first: 3, n: 1},
		{name: "max limit", query: "?limit=1000", offset: 0, limit: 1000, first: 0, n: 25},
		{name: "limit zero counts only", query: "?limit=0", offset: 0, limit: 0, first: -1, n: 0},
		{name: "empty values are defaults", query: "?offset=&limit=", offset: 0, limit: DefaultLimit, first: 0, n: 25},
		{name: "unknown params ignored", query: "?foo=bar&limit=2", offset: 0, limit: 2, first: 0, n: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, h, http.MethodGet, "/api/registrations"+tt.query)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d, body %s", rec.Code, rec.Body)
			}
			var page RegistrationsPage
			if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
				t.Fatal(err)
			}
			if page.Total != 25 || page.AORs != 13 {
				t.Errorf("total %d aors %d, want 25 and 13", page.Total, page.AORs)
			}
			if page.Offset != tt.offset || page.Limit != tt.limit {
				t.Errorf("offset %d limit %d, want %d and %d", page.Offset, page.Limit, tt.offset, tt.limit)
			}
			if len(page.Registrations) != tt.n {
				t.Fatalf("%d registrations, want %d", len(page.Registrations), tt.n)
			}
			for i, r := range page.Registrations {
				want := fmt.Sprintf("sip:user%03d@192.0.2.1:%d", (tt.first+i)/2, 5060+tt.first+i)
				if r.Contact != want {
					t.Errorf("registration %d: contact %q, want %q", i, r.Contact, want)
				}
			}
			// registrations is [] when empty, never null.
			if !strings.Contains(rec.Body.String(), `"registrations":[`) {
				t.Errorf("body %s has no registrations array", rec.Body)
			}
		})
	}
}

func TestRegistrationsBadParams(t *testing.T) {
	h := newTestServer(newMapStore(testNow)).Handler()
	tests := []struct {
		name, query, want string
	}{
		{"negative offset", "?offset=-1", "offset"},
		{"offset not a number", "?offset=abc", "offset"},
		{"offset float", "?offset=1.5", "offset"},
		{"offset overflow", "?offset=99999999999999999999999", "offset"},
		{"negative limit", "?limit=-1", "limit"},
		{"limit over max", "?limit=1001", "limit"},
		{"limit not a number", "?limit=ten", "limit"},
		{"limit with space", "?limit=%2010", "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, h, http.MethodGet, "/api/registrations"+tt.query)
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", rec.Code)
			}
			var e struct{ Error string }
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(e.Error, tt.want) {
				t.Errorf("error %q does not start with %q", e.Error, tt.want)
			}
		})
	}
}

func TestRegistrationJSONShape(t *testing.T) {
	store := newMapStore(testNow)
	store.add(
		location.Binding{
			AOR:       "sip:alice@example.com",
			Contact:   "sip:alice@198.51.100.7:5062;transport=tcp",
			Params:    ";+sip.instance=\"<urn:uuid:00000000-0000-0000-0000-000000000001>\";reg-id=1",
			Q:         500,
			Expires:   testNow.Add(3599*time.Second + 100*time.Millisecond),
			CallID:    "abc@host",
			CSeq:      42,
			Path:      []string{"<sip:edge1.example.com;lr>", "<sip:edge2.example.com;lr>"},
			Transport: "TCP",
			Source:    netip.MustParseAddrPort("198.51.100.7:40000"),
			Local:     netip.MustParseAddrPort("[2001:db8::1]:5060"),
			UserAgent: "baresip 3.0",
			Updated:   testNow.Add(-time.Second),
		},
		// No path, no addresses.
		location.Binding{AOR: "sip:bob@example.com", Contact: "sip:bob@192.0.2.2", Q: 1000, Expires: testNow.Add(time.Millisecond)},
	)
	rec := do(t, newTestServer(store).Handler(), http.MethodGet, "/api/registrations")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, body %s", rec.Code, rec.Body)
	}

	// Decode into a struct of our own, not the package's, so that a
	// renamed JSON key fails the test.
	var page struct {
		Total         *int `json:"total"`
		AORs          *int `json:"aors"`
		Offset        *int `json:"offset"`
		Limit         *int `json:"limit"`
		Registrations []struct {
			AOR       string    `json:"aor"`
			Contact   string    `json:"contact"`
			Expires   string    `json:"expires"`
			ExpiresIn int64     `json:"expires_in"`
			Q         float64   `json:"q"`
			Source    string    `json:"source"`
			Transport string    `json:"transport"`
			Local     string    `json:"local"`
			UserAgent string    `json:"user_agent"`
			CallID    string    `json:"call_id"`
			CSeq      uint32    `json:"cseq"`
			Path      *[]string `json:"path"`
			Params    string    `json:"params"`
		} `json:"registrations"`
	}
	dec := json.NewDecoder(rec.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&page); err != nil {
		t.Fatal(err)
	}
	if page.Total == nil || *page.Total != 2 || page.AORs == nil || *page.AORs != 2 ||
		page.Offset == nil || *page.Offset != 0 || page.Limit == nil || *page.Limit != DefaultLimit {
		t.Errorf("page header total=%v aors=%v offset=%v limit=%v", page.Total, page.AORs, page.Offset, page.Limit)
	}
	if len(page.Registrations) != 2 {
		t.Fatalf("%d registrations, want 2", len(page.Registrations))
	}
	a, b := page.Registrations[0], page.Registrations[1]
	checks := []struct {
		name      string
		got, want any
	}{
		{"aor", a.AOR, "sip:alice@example.com"},
		{"contact", a.Contact, "sip:alice@198.51.100.7:5062;transport=tcp"},
		{"expires", a.Expires, "2026-03-01T12:59:59Z"},
		{"expires_in rounds up", a.ExpiresIn, int64(3600)},
		{"q", a.Q, 0.5},
		{"source", a.Source, "198.51.100.7:40000"},
		{"transport", a.Transport, "TCP"},
		{"local", a.Local, "[2001:db8::1]:5060"},
		{"user_agent", a.UserAgent, "baresip 3.0"},
		{"call_id", a.CallID, "abc@host"},
		{"cseq", a.CSeq, uint32(42)},
		{"params", a.Params, ";+sip.instance=\"<urn:uuid:00000000-0000-0000-0000-000000000001>\";reg-id=1"},
		{"bob q", b.Q, 1.0},
		{"bob expires_in", b.ExpiresIn, int64(1)},
		{"bob source", b.Source, ""},
		{"bob local", b.Local, ""},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
	if a.Path == nil || !slices.Equal(*a.Path, []string{"<sip:edge1.example.com;lr>", "<sip:edge2.example.com;lr>"}) {
		t.Errorf("path = %v", a.Path)
	}
	if b.Path == nil || len(*b.Path) != 0 {
		t.Errorf("bob path = %v, want []", b.Path)
	}
	if _, err := time.Parse(time.RFC3339, b.Expires); err != nil {
		t.Errorf("bob expires: %v", err)
	}
}

func TestRegistrationsEmptyStore(t *testing.T) {
	for _, tt := range []struct {
		name  string
		store location.Store
	}{
		{"map store", newMapStore(testNow)},
		{"memory store", memory.New()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, New(Config{}, tt.store).Handler(), http.MethodGet, "/api/registrations")
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
			want := `{"total":0,"aors":0,"offset":0,"limit":100,"registrations":[]}` + "\n"
			if rec.Body.String() != want {
				t.Errorf("body %s, want %s", rec.Body, want)
			}
		})
	}
}

func TestMemoryStore(t *testing.T) {
	store := memory.New()
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	for _, aor := range []string{"sip:b@example.com", "sip:a@example.com"} {
		_, err := store.Apply(ctx, aor, func([]location.Binding) ([]location.Binding, error) {
			return []location.Binding{
				{Contact: "sip:2@192.0.2.1", Q: 1000, Expires: exp},
				{Contact: "sip:1@192.0.2.1", Q: 700, Expires: exp},
			}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	rec := do(t, New(Config{}, store).Handler(), http.MethodGet, "/api/registrations?offset=1&limit=2")
	var page RegistrationsPage
	if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range page.Registrations {
		got = append(got, r.AOR+" "+r.Contact)
		if r.ExpiresIn < 3598 || r.ExpiresIn > 3600 {
			t.Errorf("%s expires_in %d, want about 3600", r.Contact, r.ExpiresIn)
		}
	}
	want := []string{"sip:a@example.com sip:2@192.0.2.1", "sip:b@example.com sip:1@192.0.2.1"}
	if page.Total != 4 || page.AORs != 2 || !slices.Equal(got, want) {
		t.Errorf("total %d aors %d registrations %q, want 4, 2, %q", page.Total, page.AORs, got, want)
	}
}

func TestStoreError(t *testing.T) {
	store := newMapStore(testNow)
	store.err = errors.New("disk on fire")
	rec := do(t, newTestServer(store).Handler(), http.MethodGet, "/api/registrations")
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", rec.Code)
	}
	if strings.Contains(rec.Body.String(), "fire") {
		t.Errorf("body %s leaks the store's error", rec.Body)
	}
}

func TestRouting(t *testing.T) {
	h := newTestServer(newMapStore(testNow)).Handler()
	tests := []struct {
		name, method, target string
		code                 int
		allow                string
		body                 string // substring
	}{
		{"health", http.MethodGet, "/api/health", 200, "", `{"status":"ok"}`},
		{"health HEAD", http.MethodHead, "/api/health", 200, "", ""},
		{"registrations HEAD", http.MethodHead, "/api/registrations", 200, "", ""},
		{"POST registrations", http.MethodPost, "/api/registrations", 405, "GET, HEAD", `"error"`},
		{"DELETE registrations", http.MethodDelete, "/api/registrations", 405, "GET, HEAD", `"error"`},
		{"PUT health", http.MethodPut, "/api/health", 405, "GET, HEAD", `"error"`},
		{"unknown path", http.MethodGet, "/api/nope", 404, "", `"error":"no such endpoint: /api/nope"`},
		{"root", http.MethodGet, "/", 404, "", `"error"`},
		{"trailing slash", http.MethodGet, "/api/registrations/", 404, "", `"error"`},
		{"unknown path POST", http.MethodPost, "/api/nope", 404, "", `"error"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, h, tt.method, tt.target)
			if rec.Code != tt.code {
				t.Errorf("status %d, want %d", rec.Code, tt.code)
			}
			if got := rec.Header().Get("Allow"); got != tt.allow {
				t.Errorf("Allow %q, want %q", got, tt.allow)
			}
			if !strings.Contains(rec.Body.String(), tt.body) {
				t.Errorf("body %q does not contain %q", rec.Body, tt.body)
			}
		})
	}
}

func TestStartClose(t *testing.T) {
	store := newMapStore(time.Now())
	store.add(location.Binding{AOR: "sip:a@example.com", Contact: "sip:a@192.0.2.1", Expires: time.Now().Add(time.Hour)})
	s := New(Config{Addr: "127.0.0.1:0"}, store)
	if err := s.Close(); err != nil {
		t.Fatalf("Close before Start: %v", err)
	}
	addr, err := s.Start()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Start(); err == nil {
		t.Error("second Start succeeded")
	}
	resp, err := http.Get("http://" + addr.String() + "/api/registrations")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"total":1`) {
		t.Errorf("status %d body %s", resp.StatusCode, body)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + addr.String() + "/api/health"); err == nil {
		t.Error("server still answers after Close")
	}
}

func TestStartErrors(t *testing.T) {
	if _, err := New(Config{}, newMapStore(testNow)).Start(); err == nil {
		t.Error("Start without Addr succeeded")
	}
	if _, err := New(Config{Addr: "127.0.0.1:notaport"}, newMapStore(testNow)).Start(); err == nil {
		t.Error("Start with a bad Addr succeeded")
	}
}
