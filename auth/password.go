package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost parameters. They are written into every hash
// (a PHC string), so that changing them later still verifies the passwords
// hashed before.
type Params struct {
	// Time is the number of passes over the memory.
	Time uint32
	// Memory is the memory used, in KiB.
	Memory uint32
	// Threads is the parallelism; each hash runs on this many goroutines.
	Threads uint8
}

// DefaultParams are OWASP's second argon2id configuration (t=2, 19 MiB,
// p=1). One hash took 29-55 ms and 19 MiB on this project's shared 2-core
// machine ("Oxide Virtual Turin-like Processor", busy with other work):
// medians 41 and 33 ms in two runs of go test -run '^$' -bench
// HashDefault -count 5 -benchmem ./auth/, with -benchtime 50x and 30x.
// That makes each offline guess at a leaked hash costly, and is why at
// most a few hashes run at once (Config.HashWorkers).
var DefaultParams = Params{Time: 2, Memory: 19 * 1024, Threads: 1}

// Password bounds of the protocol, in bytes.
const (
	minPassword = 8
	maxPassword = 1024
)

// Lengths of the salt and of the derived key, in bytes.
const (
	saltLen = 16
	keyLen  = 32
)

// phcPrefix starts every hash this package writes.
const phcPrefix = "$argon2id$v=19$"

// b64 is the PHC string format's base64: standard alphabet, no padding.
var b64 = base64.RawStdEncoding

// errBadHash: a stored hash is not a PHC string this package can check.
var errBadHash = errors.New("auth: stored password hash is malformed")

// validPassword applies the protocol's rule: 8 to 1024 bytes of UTF-8.
func validPassword(p string) bool {
	return len(p) >= minPassword && len(p) <= maxPassword && utf8.ValidString(p)
}

// check reports why p cannot be used, or nil.
func (p Params) check() error {
	if p.Time < 1 || p.Threads < 1 || p.Memory < 8*uint32(p.Threads) {
		return fmt.Errorf("auth: argon2id parameters t=%d m=%d p=%d: need t >= 1, p >= 1, m >= 8p", p.Time, p.Memory, p.Threads)
	}
	return nil
}

// hashPassword returns password's argon2id hash under p, with a fresh
// random salt, as a PHC string:
// $argon2id$v=19$m=19456,t=2,p=1$SALT$HASH.
func hashPassword(p Params, password string) string {
	salt := make([]byte, saltLen)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails (it crashes the program instead)
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, keyLen)
	return phcPrefix + "m=" + strconv.FormatUint(uint64(p.Memory), 10) +
		",t=" + strconv.FormatUint(uint64(p.Time), 10) +
		",p=" + strconv.FormatUint(uint64(p.Threads), 10) +
		"$" + b64.EncodeToString(salt) + "$" + b64.EncodeToString(key)
}

// verifyPassword reports whether password matches the PHC string phc,
// hashing it with the parameters and salt written there and comparing in
// constant time.
func verifyPassword(phc, password string) (bool, error) {
	p, salt, key, err := parsePHC(phc)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// parsePHC splits a PHC string written by hashPassword. The bounds keep a
// damaged record from asking for absurd work.
func parsePHC(phc string) (p Params, salt, key []byte, err error) {
	rest, ok := strings.CutPrefix(phc, phcPrefix)
	parts := strings.Split(rest, "$")
	if !ok || len(parts) != 3 {
		return p, nil, nil, errBadHash
	}
	if p, err = parseParams(parts[0]); err != nil {
		return p, nil, nil, err
	}
	salt, err1 := b64.DecodeString(parts[1])
	key, err2 := b64.DecodeString(parts[2])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 || len(key) > 1024 {
		return p, nil, nil, errBadHash
	}
	return p, salt, key, nil
}

// parseParams reads "m=19456,t=2,p=1".
func parseParams(s string) (Params, error) {
	var vals [3]uint64
	fields := strings.Split(s, ",")
	if len(fields) != 3 {
		return Params{}, errBadHash
	}
	for i, name := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(fields[i], name)
		n, err := strconv.ParseUint(v, 10, 32)
		if !ok || err != nil {
			return Params{}, errBadHash
		}
		vals[i] = n
	}
	p := Params{Memory: uint32(vals[0]), Time: uint32(vals[1]), Threads: uint8(min(vals[2], 255))}
	if p.check() != nil || vals[2] > 255 || p.Memory > 4<<20 || p.Time > 100 {
		return Params{}, errBadHash
	}
	return p, nil
}
