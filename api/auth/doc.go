// Package auth authenticates routers (Hosts, in hosts.go, on top of the store)
// and holds the security primitives that need no database: password hashing and verification (argon2id, plus the Django
// pbkdf2 hashes of imported hosts), secret generation, a short-lived cache of
// successful verifications, and the Guard of every password check (failure
// limits per source group, a fair concurrency gate for the slow hash). The
// FailureLog aggregates failed checks into the history.
//
// Keeping them free of storage and HTTP lets the dyndns2 endpoint and the admin
// API share one audited implementation and lets it be tested in isolation.
package auth
