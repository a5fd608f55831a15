package hooks

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
// paid over and over): the newest are kept.
const perHash = 16

// approvalIndex finds approvals by command id, payment hash and deadline.
type approvalIndex struct {
	order  []*approval // order[head:] are kept, oldest first
	head   int
	byID   map[string]*approval
	byHash map[string][]*approval
	due    deadlines // active approvals by deadline
}

func (x *approvalIndex) len() int { return len(x.order) - x.head }

func (x *approvalIndex) add(a *approval) {
	if x.byID == nil {
		x.byID, x.byHash = map[string]*approval{}, map[string][]*approval{}
	}
	x.order = append(x.order, a)
	x.byID[a.id] = a
	if a.hash != "" {
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

func (x *approvalIndex) setHash(a *approval, hash string) {
	a.hash = hash
	hs := append(x.byHash[hash], a)
	if len(hs) > perHash {
		hs = append(hs[:0:0], hs[len(hs)-perHash:]...)
	}
	x.byHash[hash] = hs
}

// prefixOf returns the approval of the command that made call id: the
// longest approved id that id starts with, followed by "/".
func (x *approvalIndex) prefixOf(id string) *approval {
	for i := strings.LastIndexByte(id, '/'); i > 0; i = strings.LastIndexByte(id[:i], '/') {
		if a := x.byID[id[:i]]; a != nil {
			return a
		}
	}
	return nil
}

// expired pops the active approvals whose deadline has passed.
func (x *approvalIndex) expired(now time.Time, fn func(*approval)) {
	for len(x.due) > 0 && now.After(x.due[0].deadline) {
		if a := heap.Pop(&x.due).(*approval); a.active {
			fn(a)
		}
	}
}

// prune forgets approvals an hour past their deadline, and the oldest
// beyond maxApprovals (ending them first with end).
func (x *approvalIndex) prune(now time.Time, end func(*approval)) {
	for x.head < len(x.order) {
		a := x.order[x.head]
		if x.len() <= maxApprovals && (a.active || now.Sub(a.deadline) < time.Hour) {
			break
		}
		if a.active {
			end(a)
		}
		if x.byID[a.id] == a {
			delete(x.byID, a.id)
		}
		if a.hash != "" {
			hs := x.byHash[a.hash]
			for j, b := range hs {
				if b == a {
					hs = append(hs[:j:j], hs[j+1:]...)
					break
				}
			}
			if len(hs) == 0 {
				delete(x.byHash, a.hash)
			} else {
				x.byHash[a.hash] = hs
			}
		}
		x.order[x.head] = nil
		x.head++
	}
	if x.head > 1024 && x.head > len(x.order)/2 {
		x.order = append(x.order[:0:0], x.order[x.head:]...)
		x.head = 0
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
