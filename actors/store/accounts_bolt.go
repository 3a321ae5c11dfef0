package store

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/actorchat/chat/proto/chatpb"
)

// Bolt's part of Accounts. Four top-level buckets, beside those of
// layout.go:
//
//	accounts     name -> Account
//	tokens       id -> TokenRecord
//	tokenUsers   user 0x00 id    -> empty (so a user's tokens are a prefix)
//	tokenExpiry  expiry(ms) id   -> empty (so pruning walks expired tokens only)
//
// A file written before accounts existed lacks them; OpenBolt adds them
// (initWithAccounts), and an older program opening a file that has them
// ignores them, so the format version stays the same.
var (
	bucketAccounts    = []byte("accounts")
	bucketTokens      = []byte("tokens")
	bucketTokenUsers  = []byte("tokenUsers")
	bucketTokenExpiry = []byte("tokenExpiry")
)

// initWithAccounts creates or checks the layout, then adds the account
// buckets that are missing.
func initWithAccounts(tx *bolt.Tx) error {
	if err := initLayout(tx); err != nil {
		return err
	}
	for _, name := range [][]byte{bucketAccounts, bucketTokens, bucketTokenUsers, bucketTokenExpiry} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}

// Account implements Accounts.
func (s *Bolt) Account(name string) (*chatpb.Account, error) {
	var a *chatpb.Account
	err := s.view(func(tx *bolt.Tx) (err error) {
		a, err = s.decodeAccount(tx.Bucket(bucketAccounts).Get([]byte(name)))
		return err
	})
	if err == nil && a == nil {
		err = ErrNotFound
	}
	return a, err
}

// ListAccounts implements Accounts. bbolt keeps keys in byte order, which
// is name order.
func (s *Bolt) ListAccounts() ([]*chatpb.Account, error) {
	var out []*chatpb.Account
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAccounts).ForEach(func(_, v []byte) error {
			a, err := s.decodeAccount(v)
			out = append(out, a)
			return err
		})
	})
	return out, err
}

// CreateAccount implements Accounts.
func (s *Bolt) CreateAccount(a *chatpb.Account, done func(error)) {
	data, err := encodeRecord(a, validAccount(a))
	if err != nil {
		s.submit(op{err: err, done: done})
		return
	}
	name := []byte(a.Name)
	s.submit(op{done: done, apply: func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAccounts)
		if b.Get(name) != nil {
			return ErrExists
		}
		if err := b.Put(name, data); err != nil {
			return err
		}
		return tx.Bucket(bucketUsers).Put(name, []byte{})
	}})
}

// SetPassword implements Accounts.
func (s *Bolt) SetPassword(c PasswordChange, done func(error)) {
	if err := validChange(c); err != nil {
		s.submit(op{err: err, done: done})
		return
	}
	s.submit(op{done: done, apply: func(tx *bolt.Tx) error {
		return s.updateAccount(tx, c.Name, func(a *chatpb.Account) error {
			if err := checkChange(a, c); err != nil {
				return err
			}
			a.PasswordHash = c.Hash
			return deleteUserTokens(tx, c.Name, c.KeepToken)
		})
	}})
}

// SetDisabled implements Accounts.
func (s *Bolt) SetDisabled(name string, disabled bool, done func(error)) {
	s.submit(op{done: done, apply: func(tx *bolt.Tx) error {
		return s.updateAccount(tx, name, func(a *chatpb.Account) error {
			a.Disabled = disabled
			if !disabled {
				return nil
			}
			return deleteUserTokens(tx, name, "")
		})
	}})
}

// Token implements Accounts.
func (s *Bolt) Token(id string, nowMs int64) (*chatpb.TokenRecord, error) {
	var t *chatpb.TokenRecord
	err := s.view(func(tx *bolt.Tx) (err error) {
		t, err = s.decodeToken(tx.Bucket(bucketTokens).Get([]byte(id)))
		return err
	})
	if err == nil && (t == nil || t.ExpiresUnixMs <= nowMs) {
		return nil, ErrNotFound
	}
	return t, err
}

// Tokens implements Accounts.
func (s *Bolt) Tokens(user string, nowMs int64) ([]*chatpb.TokenRecord, error) {
	var out []*chatpb.TokenRecord
	err := s.view(func(tx *bolt.Tx) error {
		records := tx.Bucket(bucketTokens)
		return forUserTokens(tx, user, func(id []byte) error {
			t, err := s.decodeToken(records.Get(id))
			if t != nil && t.ExpiresUnixMs > nowMs {
				out = append(out, t)
			}
			return err
		})
	})
	return out, err
}

// PutToken implements Accounts.
func (s *Bolt) PutToken(t *chatpb.TokenRecord, passwordHash string, done func(error)) {
	data, err := encodeRecord(t, validToken(t))
	if err != nil {
		s.submit(op{err: err, done: done})
		return
	}
	id, user, exp, nowMs := t.Id, t.User, t.ExpiresUnixMs, s.cfg.Now().UnixMilli()
	s.submit(op{done: done, apply: func(tx *bolt.Tx) error {
		a, err := s.decodeAccount(tx.Bucket(bucketAccounts).Get([]byte(user)))
		if err != nil {
			return err
		}
		if err := checkIssue(a, passwordHash); err != nil {
			return err
		}
		if err := deleteToken(tx, []byte(id)); err != nil { // an id written again replaces its record
			return err
		}
		if err := putToken(tx, id, user, exp, data); err != nil {
			return err
		}
		return pruneTokens(tx, nowMs)
	}})
}

// DeleteToken implements Accounts.
func (s *Bolt) DeleteToken(id string, done func(error)) {
	s.submit(op{done: done, apply: func(tx *bolt.Tx) error {
		return deleteToken(tx, []byte(id))
	}})
}

// DeleteTokens implements Accounts.
func (s *Bolt) DeleteTokens(user, except string, done func(error)) {
	s.submit(op{done: done, apply: func(tx *bolt.Tx) error {
		return deleteUserTokens(tx, user, except)
	}})
}

// updateAccount reads the account called name, lets change modify it and
// writes it back; ErrNotFound when there is none.
func (s *Bolt) updateAccount(tx *bolt.Tx, name string, change func(a *chatpb.Account) error) error {
	b := tx.Bucket(bucketAccounts)
	a, err := s.decodeAccount(b.Get([]byte(name)))
	switch {
	case err != nil:
		return err
	case a == nil:
		return ErrNotFound
	}
	if err := change(a); err != nil {
		return err
	}
	data, err := proto.Marshal(a)
	if err != nil {
		return fmt.Errorf("store: encoding account %q: %w", name, err)
	}
	return b.Put([]byte(name), data)
}

// decodeAccount decodes a stored account; no value is a nil account.
func (s *Bolt) decodeAccount(v []byte) (*chatpb.Account, error) {
	if v == nil {
		return nil, nil
	}
	a := new(chatpb.Account)
	if err := proto.Unmarshal(v, a); err != nil {
		return nil, fmt.Errorf("store: %s: decoding an account: %w", s.path, err)
	}
	return a, nil
}

// decodeToken decodes a stored token; no value is a nil token.
func (s *Bolt) decodeToken(v []byte) (*chatpb.TokenRecord, error) {
	if v == nil {
		return nil, nil
	}
	t := new(chatpb.TokenRecord)
	if err := proto.Unmarshal(v, t); err != nil {
		return nil, fmt.Errorf("store: %s: decoding a token: %w", s.path, err)
	}
	return t, nil
}

// encodeRecord encodes m unless invalid (its validation's verdict) is set.
// Encoding on the caller's goroutine copies m.
func encodeRecord(m proto.Message, invalid error) ([]byte, error) {
	if invalid != nil {
		return nil, invalid
	}
	data, err := proto.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("store: encoding a record: %w", err)
	}
	return data, nil
}

// putToken writes a token record and its two index entries.
func putToken(tx *bolt.Tx, id, user string, exp int64, data []byte) error {
	if err := tx.Bucket(bucketTokens).Put([]byte(id), data); err != nil {
		return err
	}
	if err := tx.Bucket(bucketTokenUsers).Put(userTokenKey(user, id), []byte{}); err != nil {
		return err
	}
	return tx.Bucket(bucketTokenExpiry).Put(tokenExpiryKey(exp, id), []byte{})
}

// deleteToken deletes a token record and its index entries; an unknown id
// is not an error. An unreadable record is deleted alone (its index
// entries, if any, are dropped when pruning reaches them).
func deleteToken(tx *bolt.Tx, id []byte) error {
	records := tx.Bucket(bucketTokens)
	v := records.Get(id)
	if v == nil {
		return nil
	}
	var t chatpb.TokenRecord
	if proto.Unmarshal(v, &t) == nil {
		if err := tx.Bucket(bucketTokenUsers).Delete(userTokenKey(t.User, string(id))); err != nil {
			return err
		}
		if err := tx.Bucket(bucketTokenExpiry).Delete(tokenExpiryKey(t.ExpiresUnixMs, string(id))); err != nil {
			return err
		}
	}
	return records.Delete(id)
}

// deleteUserTokens deletes every token of user but except.
func deleteUserTokens(tx *bolt.Tx, user, except string) error {
	var ids [][]byte
	err := forUserTokens(tx, user, func(id []byte) error {
		if string(id) != except {
			ids = append(ids, bytes.Clone(id))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, id := range ids { // after the walk: deleting during it skips keys
		if err := deleteToken(tx, id); err != nil {
			return err
		}
		// The index entry goes even when the record was unreadable.
		if err := tx.Bucket(bucketTokenUsers).Delete(userTokenKey(user, string(id))); err != nil {
			return err
		}
	}
	return nil
}

// pruneTokens deletes up to pruneLimit tokens that expired by nowMs.
func pruneTokens(tx *bolt.Tx, nowMs int64) error {
	var due [][]byte
	c := tx.Bucket(bucketTokenExpiry).Cursor()
	for k, _ := c.First(); k != nil && len(due) < pruneLimit; k, _ = c.Next() {
		if len(k) < 8 || int64(decodeU64(k[:8])) > nowMs {
			break
		}
		due = append(due, bytes.Clone(k))
	}
	records := tx.Bucket(bucketTokens)
	for _, k := range due {
		// The record goes only if it is the one this entry indexes (or is
		// unreadable); the entry goes either way.
		var t chatpb.TokenRecord
		if v := records.Get(k[8:]); v != nil && (proto.Unmarshal(v, &t) != nil || t.ExpiresUnixMs <= nowMs) {
			if err := deleteToken(tx, k[8:]); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketTokenExpiry).Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// forUserTokens calls fn with the id of each token of user, in id order.
func forUserTokens(tx *bolt.Tx, user string, fn func(id []byte) error) error {
	if user == "" {
		return nil
	}
	prefix := userTokenKey(user, "")
	c := tx.Bucket(bucketTokenUsers).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if err := fn(k[len(prefix):]); err != nil {
			return err
		}
	}
	return nil
}

// userTokenKey is the tokenUsers key of user's token id. Names never hold a
// 0x00 byte, so a user's keys are exactly those with the prefix user 0x00.
func userTokenKey(user, id string) []byte {
	k := make([]byte, 0, len(user)+1+len(id))
	return append(append(append(k, user...), 0), id...)
}

// tokenExpiryKey is the tokenExpiry key of a token; negative expiries sort
// first.
func tokenExpiryKey(expMs int64, id string) []byte {
	return append(encodeU64(uint64(max(expMs, 0))), id...)
}
