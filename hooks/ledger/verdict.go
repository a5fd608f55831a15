package ledger

import "github.com/payupto/pay-up-to/amount"

// Reason says why a verdict refuses.
type Reason uint8

const (
	// OverBudget: Window would hold more than its Amount; Used is what it
	// holds now, spent and reserved, Requested what was asked.
	OverBudget Reason = iota + 1
	// OverLimit: a raw send would bring its payment hash's parts in flight
	// (Out, before this Part) above Max, the limit.
	OverLimit
	// OverApproval: a part would take its payment beyond Max, what was
	// approved for Method; Out is what the payment's parts already hold.
	OverApproval
	// NotRead: the node's records are not read yet (Why says why, if
	// known), so a budget cannot be checked.
	NotRead
	// Unpriced: a send whose amount cannot be known is not part of an
	// approved payment.
	Unpriced
)

// Verdict is a refusal and the figures that explain it, in msat.
type Verdict struct {
	Reason Reason
	// Account is the rune whose allowance refuses, or "" for the node's
	// limit and budget.
	Account string
	// Window is the budget window exceeded (OverBudget).
	Window    Window
	Used      amount.MSat
	Requested amount.MSat
	// AvailableAt is the unix time when Requested will fit, or 0 when it
	// never can (OverBudget).
	AvailableAt int64
	Part, Out   amount.MSat // OverLimit, OverApproval
	Max         amount.MSat // the limit (OverLimit) or the allowance (OverApproval)
	Method      string      // the approved command (OverApproval)
	Why         string      // NotRead
}
