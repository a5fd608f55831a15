package hooks

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/payupto/pay-up-to/amount"
)

// Window is one rolling budget: at most Amount may leave the node in any
// Period.
type Window struct {
	Spec   string // as configured, e.g. "0.002btc/1d"
	Amount amount.MSat
	Period time.Duration
}

// periodUnits are the suffixes a budget period takes.
var periodUnits = map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}

// maxPeriod keeps periods far from time.Duration's overflow.
const maxPeriod = 100 * 365 * 24 * time.Hour

// ParseBudget reads a comma-separated list of AMOUNT/PERIOD windows, e.g.
// "0.002btc/1h,0.01btc/1d". An empty string is no budget.
func ParseBudget(s string) ([]Window, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var ws []Window
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		a, p, ok := strings.Cut(item, "/")
		if !ok {
			return nil, fmt.Errorf("budget: %q is not AMOUNT/PERIOD (e.g. 0.01btc/1d)", item)
		}
		m, err := amount.ParseMSat(a)
		if err != nil {
			return nil, fmt.Errorf("budget: %q: %v", item, err)
		}
		d, err := parsePeriod(p)
		if err != nil {
			return nil, fmt.Errorf("budget: %q: %v", item, err)
		}
		for _, w := range ws {
			if w.Period == d {
				return nil, fmt.Errorf("budget: two windows of %s", p)
			}
		}
		ws = append(ws, Window{Spec: item, Amount: m, Period: d})
	}
	return ws, nil
}

// parsePeriod reads a positive whole number followed by s, m, h, d or w.
func parsePeriod(p string) (time.Duration, error) {
	if len(p) < 2 {
		return 0, fmt.Errorf("period %q is not a number followed by s, m, h, d or w", p)
	}
	unit, ok := periodUnits[p[len(p)-1]]
	if !ok {
		return 0, fmt.Errorf("period %q does not end in s, m, h, d or w", p)
	}
	n, err := strconv.ParseUint(p[:len(p)-1], 10, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, fmt.Errorf("period %q is not a whole number of %c", p, p[len(p)-1])
	}
	if err != nil || n == 0 || n > uint64(maxPeriod/unit) {
		return 0, fmt.Errorf("period %q must be between 1%c and 100 years", p, p[len(p)-1])
	}
	return time.Duration(n) * unit, nil
}
