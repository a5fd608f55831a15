package ledger

import (
	"strings"
	"time"

	"github.com/payupto/pay-up-to/amount"
)

// Approval is a payment command to let through: its parts may spend up
// to Allowance, and until its payer's deadline what they have not spent
// is reserved in every window.
type Approval struct {
	// ID is the command's JSON-RPC id: the calls it makes have ids that
	// start with ID + "/" (CLN v24.11+; earlier payer plugins use ids
	// such as "pay:sendonion#3"). Ids are not authentication, nor unique.
	ID     string
	Hash   Hash   // zero until known (an offer's invoice, a keysend)
	Method string // the command, for messages
	// Dest and Amount are a keysend's destination and amount, to find it
	// again from its preapprovekeysend call.
	Dest   string
	Amount amount.MSat
	// Allowance is the amount plus the fee allowance, in msat.
	Allowance amount.MSat
	// Retry is how long the payer may keep sending (its retry_for).
	Retry time.Duration
	// Rune is the unique id of the rune that authorised the command, if
	// any: the payment must also fit its allowance.
	Rune string
	// Trusted: the payee is one of the operator's trusted nodes. The
	// node's windows hold only the fees (Allowance - Amount); a rune's
	// still hold it all.
	Trusted bool
	// Claim, if not nil, is filled with what the approval reserves in
	// the node's windows, for a fleet to agree to.
	Claim *Claim
}

// approval is an Approval let through.
type approval struct {
	id        string
	hash      Hash
	method    string
	dest      string
	amount    amount.MSat
	allowance amount.MSat
	live      amount.MSat // counted by its pending and complete parts
	created   time.Time
	deadline  time.Time // the payer sends nothing after this
	active    bool
	name      string      // its record's name
	rune      string      // the rune it was paid through, if any
	trusted   bool        // to a trusted payee (Approval.Trusted)
	exempted  amount.MSat // what its live parts delivered to it, at most amount
	// held: a fleet has not agreed to it yet, so no preapprove call may
	// take it for its own (its twin with the same id, payee and amount
	// may be the one agreed to).
	held bool
}

// Approve reserves a payment's allowance in every window, or refuses it.
func (l *Ledger) Approve(ap Approval) *Verdict {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.advance()
	c := l.accounts[ap.Rune]
	if v := c.overLimit(ap.Amount, 0); v != nil {
		return v
	}
	nodeReq := ap.Allowance
	if ap.Trusted {
		nodeReq -= min(ap.Amount, ap.Allowance)
	}
	if v := l.fits(nodeReq, ap.Allowance, c); v != nil {
		return v
	}
	now := l.now()
	a := &approval{id: ap.ID, hash: ap.Hash, method: ap.Method, dest: ap.Dest, amount: ap.Amount, allowance: ap.Allowance,
		created: now, deadline: now.Add(ap.Retry + Grace), active: true, rune: ap.Rune, trusted: ap.Trusted}
	l.approvals.add(a)
	l.reserve(a, 1)
	l.persistApproval(a)
	if ap.Claim != nil {
		a.held = true
	}
	l.claim(ap.Claim, nodeReq, a, nil)
	return nil
}

// Attach finds the approved command that made a preapprove call, and
// gives it the payment hash the call reveals (an offer's invoice, a
// keysend's hash). The command's id must prefix the call's id, and the
// call must be for the same payment: the same hash, or, for one whose
// hash was not known, a keysend's destination and amount, or an
// invoice's amount within the allowance (an equal amount first). It reports
// whether such a command was found; if not, the call is a payment of its
// own.
func (l *Ledger) Attach(id string, hash Hash, dest string, amt amount.MSat) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	var found, open *approval
	exact := false
	l.approvals.callers(id, func(a *approval) bool {
		if a.held {
			return true
		}
		if a.hash == hash && !hash.IsZero() {
			found = a
			return false
		}
		if !a.hash.IsZero() || !a.active || a.dest != dest {
			return true
		}
		// A keysend's amount is the call's; an offer's invoice may ask
		// less than was approved (sendamount), never more.
		switch {
		case a.amount == amt && !exact:
			open, exact = a, true
		case dest == "" && open == nil && a.allowance >= amt:
			open = a
		}
		return true
	})
	if found == nil && open == nil && payerID(id) && !hash.IsZero() {
		// Unchained (CLN before v24.11): the approval with this hash, or
		// a keysend of the same destination and amount waiting for it.
		if found = l.link(hash, id, 0); found == nil {
			caller, _, _ := strings.Cut(id, ":")
			for i := len(l.approvals.order) - 1; i >= l.approvals.head && i >= len(l.approvals.order)-64; i-- {
				if b := l.approvals.order[i]; b.active && !b.held && b.hash.IsZero() && b.method == caller && b.dest == dest && (amt == 0 || b.amount == amt) {
					open = b
					break
				}
			}
		}
	}
	if found != nil {
		return true
	}
	if open == nil {
		return false
	}
	if !hash.IsZero() {
		l.approvals.setHash(open, hash)
		l.persistApproval(open)
	}
	return true
}

// link finds the approval a send of amt belongs to: same payment hash,
// and an id chained from the approved command's, or the unchained id of a
// payer plugin (CLN before v24.11 does not chain them); among several,
// an active one with room for amt. Ids are not authentication, so the
// approval's allowance still bounds what it gets; l.mu is held.
func (l *Ledger) link(hash Hash, id string, amt amount.MSat) *approval {
	var best *approval
	consider := func(a *approval) bool {
		if best == nil || !best.active && a.active {
			best = a
		}
		if a.active && a.live+amt <= a.allowance {
			best = a
			return false
		}
		return true
	}
	// By payment hash first: an id may have hundreds of approvals.
	hs := l.approvals.byHash[hash]
	for i := len(hs) - 1; i >= 0; i-- {
		if callerOf(hs[i].id, id) && !consider(hs[i]) {
			break
		}
	}
	if best != nil || !payerID(id) && id != "" {
		return best
	}
	for i := len(hs) - 1; i >= 0 && consider(hs[i]); i-- {
	}
	return best
}

// callerOf reports whether a command with id caller may have made call
// id: caller is id up to one of its "/".
func callerOf(caller, id string) bool {
	return len(id) > len(caller) && id[len(caller)] == '/' && id[:len(caller)] == caller
}

// payerID reports whether id is an unchained call of one of CLN's payer
// plugins, e.g. "pay:sendonion#12".
func payerID(id string) bool {
	if strings.Contains(id, "/") {
		return false
	}
	for _, p := range []string{"pay:", "keysend:", "renepay:", "cln-renepay:", "xpay:", "cln-xpay:"} {
		if strings.HasPrefix(id, p) {
			return true
		}
	}
	return false
}
