package price

import (
	"testing"

	"gotest.tools/v3/assert"
)

// TestKeysendOrderByVersion: keysend's tenth parameter is maxfee from
// v24.11, a developer-only flag before.
func TestKeysendOrderByVersion(t *testing.T) {
	assert.Equal(t, Order("keysend", 0)[9], "maxfee")
	assert.Equal(t, Order("keysend", 2311)[9], "dev_use_shadow")
	assert.Equal(t, len(Order("keysend", 2302)), 9)
	assert.Equal(t, Order("keysend", 2606)[9], "maxfee")
	for v, want := range map[string]Version{"v24.11.2": 2411, "v26.06rc1": 2606, "v25.12.1-modded": 2512, "junk": 0, "v1.x": 0} {
		assert.Equal(t, ParseVersion(v), want, v)
	}
}
