package auth

import "context"

// Gate limits how many slow hash verifications run at once. Each argon2id
// verification with DefaultParams holds about 20 MiB and tens of milliseconds
// of CPU, so a burst of requests (or an attack) must queue instead of
// exhausting memory. Safe for concurrent use.
type Gate struct {
	slots chan struct{}
}

// NewGate returns a gate admitting n concurrent calls; n below 1 means 1.
func NewGate(n int) *Gate {
	return &Gate{slots: make(chan struct{}, max(n, 1))}
}

// Do runs fn once a slot is free and returns nil, or returns ctx.Err() without
// running fn when ctx is done first (client gone, request deadline).
func (g *Gate) Do(ctx context.Context, fn func()) error {
	// Checked first because select picks at random when both cases are ready.
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case g.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-g.slots }()
	fn()
	return nil
}
