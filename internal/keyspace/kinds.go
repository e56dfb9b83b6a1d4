package keyspace

// Kinds of derived state: the word after "redislua:" in a derived name.
const (
	KindFence      = "fence"     // a lock's fence counter
	KindReleased   = "released"  // a lock's release channel
	KindFenced     = "fenced"    // cas.FencedSet's highest accepted fence
	KindTransferID = "transfer"  // transfer.Once's ID record
	KindRateLog    = "ratelog"   // a rate limiter's sliding log
	KindRateCount  = "ratecount" // a rate limiter's sliding counter
	KindRateGCRA   = "rategcra"  // a rate limiter's GCRA arrival time
)
