package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// HostsChannel is where PostgreSQL notifies the id of a host whose
// authentication data changed (migration 21's triggers).
const HostsChannel = "hosts_changed"

// Listener is a connection of its own, outside the pool, that receives the
// notifications of one channel. Not safe for concurrent use.
type Listener struct {
	conn *pgx.Conn
}

// Listen opens a connection with the pool's settings and listens on channel.
func (s *Store) Listen(ctx context.Context, channel string) (*Listener, error) {
	conn, err := pgx.ConnectConfig(ctx, s.Pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("store: listen: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		_ = conn.Close(ctx)
		return nil, fmt.Errorf("store: listen: %w", err)
	}
	return &Listener{conn: conn}, nil
}

// Next waits for a notification and returns its payload. When ctx ends
// first it returns ctx's error and the connection stays usable; any other
// error means the connection is lost.
func (l *Listener) Next(ctx context.Context) (string, error) {
	n, err := l.conn.WaitForNotification(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fmt.Errorf("store: listen: %w", err)
	}
	return n.Payload, nil
}

// Ping makes a round trip, so a connection that died silently is noticed.
func (l *Listener) Ping(ctx context.Context) error {
	if err := l.conn.Ping(ctx); err != nil {
		return fmt.Errorf("store: listen: %w", err)
	}
	return nil
}

// Close ends the connection.
func (l *Listener) Close(ctx context.Context) { _ = l.conn.Close(ctx) }
