package store

// hostStale is true for a host of alias h that has not been seen since the
// cutoff (its one argument): its last update is older, or it never sent
// one and was created before. The API's Host.stale, its stale filter, the
// status count and the notifier's host.stale events all use this one rule.
const hostStale = `coalesce(h.last_seen_at, h.created_at) < $?`
