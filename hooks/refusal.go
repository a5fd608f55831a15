package hooks

import "github.com/payupto/pay-up-to/hooks/refuse"

// Error codes of refusals (see package refuse).
const (
	CodeOverLimit     = refuse.CodeOverLimit
	CodeUnverified    = refuse.CodeUnverified
	CodeOverBudget    = refuse.CodeOverBudget
	CodeRuneAllowance = refuse.CodeRuneAllowance
	CodePaused        = refuse.CodePaused
)
