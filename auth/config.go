package auth

import (
	"errors"
	"log/slog"
	"runtime"
	"time"

	"github.com/actorchat/chat/actors/store"
)

// Defaults of Config.
const (
	// DefaultTokenTTL is how long a token is valid: 30 days.
	DefaultTokenTTL = 30 * 24 * time.Hour
	// DefaultIPAttempts is how many registrations and logins one client
	// address may make a minute: enough for a household or an office
	// behind one address, far too few to guess passwords with.
	DefaultIPAttempts = 30
	// DefaultNameFailures failed logins per DefaultNameWindow are allowed
	// for one name, whatever the addresses they come from.
	//
	// This lets an attacker lock a name out: ten wrong passwords, and the
	// owner's right one is refused (rate_limited) for a minute, and again
	// as long as the attacker keeps failing once a minute. That is the
	// accepted trade-off: the alternative, no limit per name, lets an
	// attacker with many addresses guess one user's password without end,
	// and a lock-out costs the owner a short wait while a guessed password
	// costs the account. Tokens already issued keep working meanwhile.
	DefaultNameFailures = 10
	// DefaultNameWindow: see DefaultNameFailures.
	DefaultNameWindow = 10 * time.Minute
	// DefaultLimiterKeys bounds each limiter's memory (about 100 bytes a
	// key): client addresses, and names with failed logins.
	DefaultLimiterKeys = 100_000
)

// NoLimit, as Config.IPAttempts, turns the per-address limit off.
const NoLimit = -1

// ipWindow is the window of Config.IPAttempts.
const ipWindow = time.Minute

// Config configures a Service. Store is required; the zero value of every
// other field, or a negative one, means its default (except NoLimit).
type Config struct {
	// Store keeps the accounts and tokens.
	Store store.Accounts
	// Logger receives account events; passwords and tokens are never
	// logged. Default: discard.
	Logger *slog.Logger
	// Clock is the time of tokens' expiry and of the rate limits.
	// Default: time.Now.
	Clock func() time.Time

	// TokenTTL is how long an issued token is valid. Default
	// DefaultTokenTTL.
	TokenTTL time.Duration
	// RegistrationClosed turns self-registration off; the operator's
	// Create still works.
	RegistrationClosed bool

	// IPAttempts is how many registrations and logins one client address
	// (an IPv6 /64) may make a minute. 0 means DefaultIPAttempts; NoLimit
	// turns the limit off.
	IPAttempts int
	// NameFailures is how many failed logins one name may have per
	// NameWindow. 0 means DefaultNameFailures; it cannot be turned off.
	NameFailures int
	// NameWindow: see NameFailures. 0 means DefaultNameWindow.
	NameWindow time.Duration
	// LimiterKeys bounds the keys each limiter remembers. 0 means
	// DefaultLimiterKeys.
	LimiterKeys int

	// Params are the cost of new password hashes. Zero means
	// DefaultParams; tests use cheap ones.
	Params Params
	// HashWorkers is how many password hashes may run at once. 0 means
	// half the usable cores, at least one, so that a login flood leaves the
	// chat a core.
	HashWorkers int
	// HashQueue is how many requests may wait for a hashing slot before
	// the next is refused with ErrBusy. 0 means 4 per worker: at about
	// 35 ms a hash, a wait of at most about 140 ms.
	HashQueue int

	// OnRevoke, when set, is told about every revocation once it is
	// durable, on the goroutine that made it; it must not block.
	OnRevoke func(Revocation)
}

// withDefaults returns c with every zero field set to its default, or an
// error when c cannot work.
func (c Config) withDefaults() (Config, error) {
	if c.Store == nil {
		return c, errors.New("auth: Config.Store is required")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.IPAttempts == 0 {
		c.IPAttempts = DefaultIPAttempts
	}
	orDefault(&c.TokenTTL, DefaultTokenTTL)
	orDefault(&c.NameFailures, DefaultNameFailures)
	orDefault(&c.NameWindow, DefaultNameWindow)
	orDefault(&c.LimiterKeys, DefaultLimiterKeys)
	orDefault(&c.HashWorkers, max(1, runtime.GOMAXPROCS(0)/2))
	orDefault(&c.HashQueue, 4*c.HashWorkers)
	if c.Params == (Params{}) {
		c.Params = DefaultParams
	}
	return c, c.Params.check()
}

// orDefault sets *v to def unless it is positive.
func orDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}
