// Package sqlite is the embedded default storage engine: location bindings
// and users in one SQLite database file (modernc.org/sqlite, pure Go, no
// cgo), with the bindings also held in memory so that reads never touch the
// disk.
//
// # Reads
//
// Open loads every binding into an in-memory index. Lookup, List and Count
// are served from that index alone. Expired bindings stay in the file and
// in the index, invisible, until Expire deletes them from both, so closing
// and reopening a Store changes nothing that its methods can observe.
//
// Users found are kept in memory too; one not in memory is read from the
// database, so a user added by `sipd user add` in another process is seen
// at once, and a user changed or deleted by another process within 100 ms
// (a trigger counts the changes to the users table; see Users).
//
// # Writes: group commit
//
// Every Apply and Expire goes through a queue to one writer: the writer
// goroutine, or the caller itself when it finds the queue empty and no
// batch being committed (a lone REGISTER then costs no goroutine
// hand-off). The writer takes what is queued, up to Options.MaxBatch
// requests, and runs them in one transaction: each Apply's fn runs in queue order on the
// current bindings of its AOR (including changes made earlier in the same
// batch), and its new set is written with prepared statements. After the
// single COMMIT the writer updates the in-memory index and only then
// releases all the waiting callers. A batch closes when the queue is empty
// or full, so a flood of REGISTERs shares commits. A lone one waits
// Options.CommitDelay (sipd: 1 ms) for others before it commits, so that
// at moderate rates, when the queue empties between REGISTERs, they share
// commits too. When a batch's transaction fails, every Apply in it fails and
// nothing of it is kept.
//
// Because the writer owns the location tables, only one Store may have a
// database file open for bindings at a time; a second process that opens it
// (for instance `sipd user add`) must not call Apply or Expire while a
// server runs. Users may be written from any number of processes.
//
// # Durability
//
// The database runs in WAL mode. With Options.Synchronous at its default,
// SyncNormal (PRAGMA synchronous=NORMAL), a COMMIT writes the transaction
// to the write-ahead log with write(2) and returns without fsync: a binding
// whose Apply returned (whose 200 OK was sent) survives a crash or kill -9
// of the server, because the data is in the operating system's page cache,
// but the last transactions may be lost if the machine loses power or the
// kernel crashes; the database itself stays consistent. SyncFull
// (synchronous=FULL) fsyncs the log at every commit and so also survives
// power loss. NORMAL is the default because it already keeps the promise a
// 200 OK makes about the server (crash, kill -9, restart), and a binding is
// soft state that UAs re-register after the rare power loss; FULL adds an
// fsync, 0.1 to 10 ms depending on the disk, to the latency of every batch
// and so of every REGISTER. Group commit keeps FULL's throughput close to
// NORMAL's, one fsync per batch (BenchmarkApplyParallelFull).
//
// # Schema
//
// The bindings table has one row per AOR: its whole binding set in one
// BLOB (the format is described in codec.go), next to the latest expiry and
// the number of bindings in plain columns for inspection with the sqlite3
// shell. An Apply is thus a single INSERT OR REPLACE or DELETE however many
// contacts the AOR has, which matches the unit that Apply makes atomic. The
// users table has a row per user. Open creates the schema or migrates it:
// a schema_version table counts the migrations, an ordered list of SQL
// scripts, that have run.
//
// # Precision
//
// Times are stored as int64 Unix nanoseconds (the zero time as absent), so
// they round-trip to the nanosecond between the years 1678 and 2262; times
// outside that range are clamped to it. Time zones are not kept: times come
// back in the local zone. Strings, netip.AddrPort values (zones included)
// and Path are kept exactly.
package sqlite
