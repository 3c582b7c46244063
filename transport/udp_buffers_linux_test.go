package transport

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestUDPSocketBuffers: the UDP socket gets the configured receive and send
// buffers (SO_RCVBUF, SO_SNDBUF), not the kernel's default (208 KiB on
// Linux), so that bursts are not dropped. The kernel caps them at
// net.core.rmem_max and wmem_max unless the process may force them, so the
// test wants at least the smaller of the two.
func TestUDPSocketBuffers(t *testing.T) {
	const want = 3 << 20 // above Linux's default, below the 4 MiB default of Config
	for _, tt := range []struct {
		name        string
		cfg         Config
		read, write int
	}{
		{"configured", Config{UDPReadBuffer: want, UDPWriteBuffer: want}, want, want},
		{"default", Config{}, DefaultUDPReadBuffer, DefaultUDPWriteBuffer},
	} {
		b := newLayer(t, tt.cfg, nil)
		listen(t, b, "udp", "127.0.0.1:0")
		r, w, err := udpBuffers(b.state.Load().udp[0].pc)
		if err != nil {
			t.Fatal(err)
		}
		if lim := sysctlInt(t, "/proc/sys/net/core/rmem_max"); r < min(tt.read, lim) {
			t.Errorf("%s: receive buffer %d, want at least %d (rmem_max %d)", tt.name, r, min(tt.read, lim), lim)
		}
		if lim := sysctlInt(t, "/proc/sys/net/core/wmem_max"); w < min(tt.write, lim) {
			t.Errorf("%s: send buffer %d, want at least %d (wmem_max %d)", tt.name, w, min(tt.write, lim), lim)
		}
	}
}

func sysctlInt(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}
