package main

import (
	"errors"
	"time"

	"github.com/actorchat/chat/auth"
)

// jwtVerifier builds JWT mode's verifier from the -jwt-* options, for
// -auth jwt. validate has refused both key sources at once; this refuses
// neither, so jwt mode runs with exactly one. A key file that cannot be
// read or holds an unsupported key fails here, before the server starts.
func jwtVerifier(o options, clock func() time.Time) (auth.Verifier, error) {
	if o.jwtSecretFile == "" && o.jwtPublicKey == "" {
		return nil, errors.New("jwt mode needs -jwt-secret-file or -jwt-public-key")
	}
	v, err := auth.NewJWTVerifier(auth.JWTConfig{
		SecretFile: o.jwtSecretFile, PublicKeyFile: o.jwtPublicKey,
		Audience: o.jwtAudience, Clock: clock,
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}
