package auth

import (
	"strings"
	"testing"
)

// cheap are argon2id parameters that cost next to nothing, for tests.
var cheap = Params{Time: 1, Memory: 64, Threads: 1}

func TestHashVerifies(t *testing.T) {
	t.Parallel()
	h := hashPassword(cheap, "correct horse")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q is not the PHC string of the parameters", h)
	}
	for pw, want := range map[string]bool{"correct horse": true, "correct hors": false, "Correct horse": false, "": false} {
		ok, err := verifyPassword(h, pw)
		if err != nil || ok != want {
			t.Errorf("verify(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	if again := hashPassword(cheap, "correct horse"); again == h {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
}

func TestHashKeepsItsParameters(t *testing.T) {
	t.Parallel()
	// A hash made with other parameters (an older or newer setting) still
	// verifies: they are read from the hash, not from the configuration.
	h := hashPassword(Params{Time: 3, Memory: 128, Threads: 2}, "password 2")
	if ok, err := verifyPassword(h, "password 2"); !ok || err != nil {
		t.Fatalf("verify with parameters from the hash: %v, %v", ok, err)
	}
}

func TestMalformedHashesAreErrors(t *testing.T) {
	t.Parallel()
	good := hashPassword(cheap, "password")
	parts := strings.Split(good, "$") // "", argon2id, v=19, params, salt, hash
	bad := []string{
		"",
		"plain text",
		strings.Replace(good, "argon2id", "argon2i", 1),
		strings.Replace(good, "v=19", "v=16", 1),
		strings.Join(parts[:5], "$"),
		strings.Replace(good, "m=64,t=1,p=1", "m=64,t=1", 1),
		strings.Replace(good, "m=64,t=1,p=1", "t=1,m=64,p=1", 1),
		strings.Replace(good, "m=64,t=1,p=1", "m=64,t=0,p=1", 1),
		strings.Replace(good, "m=64,t=1,p=1", "m=99999999,t=1,p=1", 1),
		strings.Replace(good, "m=64,t=1,p=1", "m=64,t=1,p=256", 1),
		strings.Replace(good, parts[4], "!!", 1),
		strings.Replace(good, parts[5], parts[5][:8], 1),
	}
	for _, h := range bad {
		if ok, err := verifyPassword(h, "password"); ok || err == nil {
			t.Errorf("verify against %q = %v, %v; want an error", h, ok, err)
		}
	}
}

func TestValidPassword(t *testing.T) {
	t.Parallel()
	cases := map[string]bool{
		"1234567":                      false, // 7 bytes
		"12345678":                     true,
		"ünïcödé":                      true, // 7 runes, 11 bytes: the bound is in bytes
		strings.Repeat("x", 1024):      true,
		strings.Repeat("x", 1025):      false,
		"valid utf8? \xff no":          false,
		"        ":                     true,  // spaces are characters like any other
		strings.Repeat("é", 512):       true,  // 1024 bytes
		strings.Repeat("é", 512) + "x": false, // 1025 bytes
	}
	for pw, want := range cases {
		if got := validPassword(pw); got != want {
			t.Errorf("validPassword(%d bytes %.12q) = %v, want %v", len(pw), pw, got, want)
		}
	}
}

// BenchmarkHashDefault measures one hash with DefaultParams; its figure is
// in DefaultParams' comment.
func BenchmarkHashDefault(b *testing.B) {
	for b.Loop() {
		hashPassword(DefaultParams, "correct horse battery staple")
	}
}
