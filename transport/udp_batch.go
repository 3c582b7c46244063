package transport

// udpBatchSize is how many datagrams a UDP read loop takes from the socket
// with one system call where the platform has recvmmsg(2) (udp_mmsg_linux.go);
// elsewhere it reads one at a time. A busy socket has several queued: one
// call then does the work of many.
const udpBatchSize = 8

// batchStats counts a read loop's reads and the datagrams they returned;
// tests and benchmarks read them.
type batchStats struct {
	reads, datagrams uint64
}
