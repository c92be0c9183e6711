//go:build faults

package main

import (
	"testing"
	"time"
)

// TestFaultSecurityUnderAttack: the acceptance of issue 14 against the
// binary. 5,000 wrong passwords for admin from one address, paced at
// 100/s, while the admin logs in every 2 s; 5,000 wrong secrets for five
// routers from 100 addresses on a fresh process while the routers update
// every 2 s; 70 unknown-host requests per second for 60 s while routers
// that were never verified update (each answered within 1 s); then 200
// unknown-host and 200 wrong-secret tries compared.
func TestFaultSecurityUnderAttack(t *testing.T) {
	securityUnderAttack(t, attackPlan{guesses: 5000, rate: 100, sources: 100, every: 2 * time.Second, flood: 60 * time.Second, floodRate: 70,
		timing: 200, strict: true})
}
