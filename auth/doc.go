// Package auth decides who is speaking. It verifies the credentials a client
// presents when it connects (an opaque token the server issued, or a JWT
// another service signed) and, in accounts mode, keeps accounts: it
// registers users, checks passwords, issues and revokes tokens.
//
// It knows nothing of HTTP or WebSockets (the edge, package server, maps its
// errors to statuses) and nothing of actors: revocation is reported through a
// callback that cmd/chatd wires to the actors, so that the connections opened
// with a revoked token are closed at once.
//
// # Accounts
//
// Service is the accounts mode: accounts.go (registering, logging in,
// changing a password), tokens.go (issuing, verifying, logging out),
// operator.go (the operator's commands), password.go (argon2id hashes as
// PHC strings), hashpool.go (how many hashes run at once), limits.go
// (attempts per client address, failed logins per name) and
// revocation.go (what OnRevoke reports). Accounts and tokens live in an
// actors/store Accounts; a token is stored only as its SHA-256, a
// password only as its hash, and neither is ever logged.
//
// # Concurrency contract
//
// Every exported type is safe for concurrent use by any number of goroutines
// (HTTP handlers, upgrade checks). Password hashing is CPU-heavy and an
// attacker can ask for it, so at most a fixed number of hashes run at once;
// a request that finds them all busy and the short queue full is refused
// (ErrBusy) instead of waiting. Nothing here blocks an actor; the callbacks
// it calls must not block.
package auth
