package ledger

import (
	"container/heap"
	"strings"
	"time"
)

// maxApprovals bounds the approvals kept, far above the payments a node
// has in flight: past it the oldest is forgotten (its parts are then held
// to the limit and budget like any raw send).
const maxApprovals = 4096

// perHash bounds the approvals found by one payment hash (the same invoice
// paid over and over): the newest are kept. The bound is per payment,
// never per id: a client that sends id 1 on every connection may have
// hundreds of payments in flight under it.
const perHash = 16

// approvals finds approvals by command id, payment hash and deadline.
// Ids repeat (they are unique per connection only), so an id finds every
// approval made under it (maxApprovals bounds them all).
type approvals struct {
	order  []*approval // order[head:] are kept, oldest first
	head   int
	byID   map[string][]*approval
	byHash map[Hash][]*approval
	due    deadlines // active approvals by deadline
}

func (x *approvals) len() int { return len(x.order) - x.head }

func (x *approvals) add(a *approval) {
	if x.byID == nil {
		x.byID, x.byHash = map[string][]*approval{}, map[Hash][]*approval{}
	}
	x.order = append(x.order, a)
	x.byID[a.id] = append(x.byID[a.id], a)
	if !a.hash.IsZero() {
		x.setHash(a, a.hash)
	}
	if a.active {
		if len(x.due) > 2*maxApprovals { // drop ended ones
			live := x.due[:0]
			for _, b := range x.due {
				if b.active {
					live = append(live, b)
				}
			}
			clear(x.due[len(live):])
			x.due = live
			heap.Init(&x.due)
		}
		heap.Push(&x.due, a)
	}
}

func (x *approvals) setHash(a *approval, hash Hash) {
	a.hash = hash
	x.byHash[hash] = appendNewest(x.byHash[hash], a)
}

// appendNewest appends a, keeping the newest perHash.
func appendNewest(as []*approval, a *approval) []*approval {
	as = append(as, a)
	if len(as) > perHash {
		as = append(as[:0:0], as[len(as)-perHash:]...)
	}
	return as
}

// callers returns the approvals of the commands that may have made call
// id, whose id is id's up to a "/": longest first, newest first.
func (x *approvals) callers(id string, fn func(*approval) bool) {
	for i := strings.LastIndexByte(id, '/'); i > 0; i = strings.LastIndexByte(id[:i], '/') {
		as := x.byID[id[:i]]
		for j := len(as) - 1; j >= 0; j-- {
			if !fn(as[j]) {
				return
			}
		}
	}
}

// expired pops the active approvals whose deadline has passed.
func (x *approvals) expired(now time.Time, fn func(*approval)) {
	for len(x.due) > 0 && now.After(x.due[0].deadline) {
		if a := heap.Pop(&x.due).(*approval); a.active {
			fn(a)
		}
	}
}

// prune forgets approvals an hour past their deadline, and the oldest
// beyond maxApprovals (ending them first with end).
func (x *approvals) prune(now time.Time, end func(*approval)) {
	for x.head < len(x.order) {
		a := x.order[x.head]
		if x.len() <= maxApprovals && (a.active || now.Sub(a.deadline) < time.Hour) {
			break
		}
		if a.active {
			end(a)
		}
		drop(x.byID, a.id, a)
		if !a.hash.IsZero() {
			drop(x.byHash, a.hash, a)
		}
		x.order[x.head] = nil
		x.head++
	}
	if x.head > 1024 && x.head > len(x.order)/2 {
		x.order = append(x.order[:0:0], x.order[x.head:]...)
		x.head = 0
	}
}

// drop removes a from m[k]. Approvals go oldest first, so dropping the
// first is a reslice: a client that sends id 1 on every connection has
// thousands of approvals under it, and copying them each time costs a
// payment tens of µs.
func drop[K comparable](m map[K][]*approval, k K, a *approval) {
	as := m[k]
	for j, b := range as {
		if b != a {
			continue
		}
		if j == 0 {
			as[0] = nil
			as = as[1:]
		} else {
			copy(as[j:], as[j+1:])
			as[len(as)-1] = nil
			as = as[:len(as)-1]
		}
		break
	}
	if len(as) == 0 {
		delete(m, k)
	} else {
		m[k] = as
	}
}

// deadlines is a min-heap of approvals by deadline.
type deadlines []*approval

func (d deadlines) Len() int           { return len(d) }
func (d deadlines) Less(i, j int) bool { return d[i].deadline.Before(d[j].deadline) }
func (d deadlines) Swap(i, j int)      { d[i], d[j] = d[j], d[i] }
func (d *deadlines) Push(x any)        { *d = append(*d, x.(*approval)) }
func (d *deadlines) Pop() any {
	old := *d
	a := old[len(old)-1]
	old[len(old)-1] = nil
	*d = old[:len(old)-1]
	return a
}
