package config

import (
	"slices"
	"testing"
	"time"
)

// TestProxyRoutesAndDNS: [[proxy.routes]] tables decode in order, and
// [dns] servers and timeout; bad values are reported where they are.
func TestProxyRoutesAndDNS(t *testing.T) {
	file := writeFile(t, `mode = "proxy"

[proxy]
recurse = true

[[proxy.routes]]
prefix = "+49"
next = "sip:gw.example.net:5080;transport=tcp"

[[proxy.routes]]
domain = "*.partner.example"
next = "sip:192.0.2.7"

[dns]
servers = ["127.0.0.1:5353", "192.0.2.53"]
timeout = "500ms"
`)
	c, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	want := []Route{
		{Prefix: "+49", Next: "sip:gw.example.net:5080;transport=tcp"},
		{Domain: "*.partner.example", Next: "sip:192.0.2.7"},
	}
	if !slices.Equal(c.Proxy.Routes, want) {
		t.Errorf("routes %+v, want %+v", c.Proxy.Routes, want)
	}
	if !c.Proxy.Recurse {
		t.Error("[proxy] recurse = true did not set Recurse")
	}
	if !slices.Equal(c.DNS.Servers, []string{"127.0.0.1:5353", "192.0.2.53"}) || c.DNS.Timeout.Duration != 500*time.Millisecond {
		t.Errorf("dns %+v", c.DNS)
	}

	tests := []struct {
		name string
		text string
		want []string
	}{
		{
			name: "a route without domain or prefix, and with a bad next hop",
			text: "[[proxy.routes]]\nnext = \"tel:+4930\"\n",
			want: []string{"1:9: proxy.routes ~ route 1: want a domain, a prefix or both",
				`1:9: proxy.routes ~ route 1: next "tel:+4930" is not a SIP URI`},
		},
		{
			name: "unknown key in a route",
			text: "[[proxy.routes]]\nprefix = \"1\"\nnext = \"sip:gw.test\"\nnxt = 1\n",
			want: []string{"4:1: proxy.routes.nxt ~ unknown key"},
		},
		{
			name: "routes not tables",
			text: "[proxy]\nroutes = [\"sip:gw.test\"]\n",
			want: []string{"2:11: proxy.routes ~ element 1: want a table, not a string"},
		},
		{
			name: "dns server not an address",
			text: "[dns]\nservers = [\"ns.example.com\"]\ntimeout = \"0s\"\n",
			want: []string{`2:12: dns.servers ~ "ns.example.com": want an IP address`, "3:11: dns.timeout ~ 0s: want more than 0s"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeFile(t, tt.text)
			_, err := Load(file)
			if err := checkErrors(err, file, tt.want); err != nil {
				t.Fatal(err)
			}
		})
	}
}
