package store

import (
	"container/heap"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/actorchat/chat/proto/chatpb"
)

// memAccounts is Memory's part of Accounts, guarded by Memory.mu. Its maps
// are made on the first write, so that the zero value is an empty store.
type memAccounts struct {
	accounts map[string]*chatpb.Account
	tokens   map[string]*chatpb.TokenRecord // by id
	byUser   map[string]map[string]struct{} // user -> ids of tokens
	exp      expiryHeap                     // token ids by expiry, for pruning
}

// Account implements Accounts.
func (s *Memory) Account(name string) (*chatpb.Account, error) {
	var a *chatpb.Account
	err := s.read(func() { a = s.acct.accounts[name] })
	switch {
	case err != nil:
		return nil, err
	case a == nil:
		return nil, ErrNotFound
	}
	return proto.Clone(a).(*chatpb.Account), nil
}

// ListAccounts implements Accounts.
func (s *Memory) ListAccounts() ([]*chatpb.Account, error) {
	var out []*chatpb.Account
	err := s.read(func() {
		for _, a := range s.acct.accounts {
			out = append(out, proto.Clone(a).(*chatpb.Account))
		}
	})
	slices.SortFunc(out, func(a, b *chatpb.Account) int { return strings.Compare(a.Name, b.Name) })
	return out, err
}

// CreateAccount implements Accounts.
func (s *Memory) CreateAccount(a *chatpb.Account, done func(error)) {
	if err := validAccount(a); err != nil {
		call(done, err)
		return
	}
	a = proto.Clone(a).(*chatpb.Account)
	call(done, s.apply(func() error {
		if s.acct.accounts[a.Name] != nil {
			return ErrExists
		}
		s.acct.init()
		s.acct.accounts[a.Name] = a
		s.users[a.Name] = struct{}{}
		return nil
	}))
}

// SetPassword implements Accounts.
func (s *Memory) SetPassword(c PasswordChange, done func(error)) {
	if err := validChange(c); err != nil {
		call(done, err)
		return
	}
	call(done, s.apply(func() error {
		a := s.acct.accounts[c.Name]
		if err := checkChange(a, c); err != nil {
			return err
		}
		a.PasswordHash = c.Hash // a is the store's own copy
		s.acct.deleteUserTokens(c.Name, c.KeepToken)
		return nil
	}))
}

// SetDisabled implements Accounts.
func (s *Memory) SetDisabled(name string, disabled bool, done func(error)) {
	call(done, s.apply(func() error {
		a := s.acct.accounts[name]
		if a == nil {
			return ErrNotFound
		}
		a.Disabled = disabled
		if disabled {
			s.acct.deleteUserTokens(name, "")
		}
		return nil
	}))
}

// Token implements Accounts.
func (s *Memory) Token(id string, nowMs int64) (*chatpb.TokenRecord, error) {
	var t *chatpb.TokenRecord
	err := s.read(func() { t = s.acct.tokens[id] })
	switch {
	case err != nil:
		return nil, err
	case t == nil || t.ExpiresUnixMs <= nowMs:
		return nil, ErrNotFound
	}
	return proto.Clone(t).(*chatpb.TokenRecord), nil
}

// Tokens implements Accounts.
func (s *Memory) Tokens(user string, nowMs int64) ([]*chatpb.TokenRecord, error) {
	var out []*chatpb.TokenRecord
	err := s.read(func() {
		for id := range s.acct.byUser[user] {
			if t := s.acct.tokens[id]; t.ExpiresUnixMs > nowMs {
				out = append(out, proto.Clone(t).(*chatpb.TokenRecord))
			}
		}
	})
	return out, err
}

// PutToken implements Accounts.
func (s *Memory) PutToken(t *chatpb.TokenRecord, passwordHash string, done func(error)) {
	if err := validToken(t); err != nil {
		call(done, err)
		return
	}
	t = proto.Clone(t).(*chatpb.TokenRecord)
	nowMs := s.cfg.Now().UnixMilli()
	call(done, s.apply(func() error {
		if err := checkIssue(s.acct.accounts[t.User], passwordHash); err != nil {
			return err
		}
		s.acct.deleteToken(t.Id) // an id written again replaces its record
		s.acct.add(t)
		s.acct.prune(nowMs)
		return nil
	}))
}

// DeleteToken implements Accounts.
func (s *Memory) DeleteToken(id string, done func(error)) {
	call(done, s.write(func() { s.acct.deleteToken(id) }))
}

// DeleteTokens implements Accounts.
func (s *Memory) DeleteTokens(user, except string, done func(error)) {
	call(done, s.write(func() { s.acct.deleteUserTokens(user, except) }))
}

// read runs f under the lock, or returns ErrClosed: the reads of accounts
// share write's locking.
func (s *Memory) read(f func()) error { return s.write(f) }

// apply runs f under the lock and returns its error, or ErrClosed.
func (s *Memory) apply(f func() error) error {
	var err error
	if closed := s.write(func() { err = f() }); closed != nil {
		return closed
	}
	return err
}

// init makes the maps on the first write.
func (m *memAccounts) init() {
	if m.accounts == nil {
		m.accounts = make(map[string]*chatpb.Account)
		m.tokens = make(map[string]*chatpb.TokenRecord)
		m.byUser = make(map[string]map[string]struct{})
	}
}

// add stores t, which the caller has checked and copied.
func (m *memAccounts) add(t *chatpb.TokenRecord) {
	m.tokens[t.Id] = t
	ids := m.byUser[t.User]
	if ids == nil {
		ids = make(map[string]struct{})
		m.byUser[t.User] = ids
	}
	ids[t.Id] = struct{}{}
	heap.Push(&m.exp, expiry{key: t.Id, at: t.ExpiresUnixMs})
}

// deleteToken removes one token; its heap entry goes when it comes due.
func (m *memAccounts) deleteToken(id string) {
	t := m.tokens[id]
	if t == nil {
		return
	}
	delete(m.tokens, id)
	delete(m.byUser[t.User], id)
	if len(m.byUser[t.User]) == 0 {
		delete(m.byUser, t.User)
	}
}

// deleteUserTokens removes every token of user but except.
func (m *memAccounts) deleteUserTokens(user, except string) {
	for id := range m.byUser[user] {
		if id != except {
			m.deleteToken(id)
		}
	}
}

// prune removes up to pruneLimit tokens that expired by nowMs.
func (m *memAccounts) prune(nowMs int64) {
	for n := 0; n < pruneLimit && len(m.exp) > 0 && m.exp[0].at <= nowMs; n++ {
		e := heap.Pop(&m.exp).(expiry)
		// Only the entry that matches the current record removes it: a
		// deleted id may have been issued again since.
		if t := m.tokens[e.key]; t != nil && t.ExpiresUnixMs == e.at {
			m.deleteToken(e.key)
		}
	}
}
