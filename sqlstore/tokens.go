package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/tokens"
)

// Tokens is a [tokens.Store] and [tokens.Lister] in the {prefix}_tokens
// table, from [Store.Tokens]. It stores whatever bytes it is given: wrap
// it in [tokens.NewEncrypted].
type Tokens struct {
	s *Store

	qGet, qInsert, qUpdate, qDelete, qKeys, qKeysTenant string
}

var (
	_ tokens.Store  = (*Tokens)(nil)
	_ tokens.Lister = (*Tokens)(nil)
)

func newTokens(s *Store) *Tokens {
	table, p := s.t.tokens, s.d.param
	key := fmt.Sprintf("tenant_id = %s AND user_id = %s AND purpose = %s", p(1), p(2), p(3))
	return &Tokens{
		s:    s,
		qGet: "SELECT data, version FROM " + table + " WHERE " + key,
		qInsert: fmt.Sprintf("INSERT INTO %s (tenant_id, user_id, purpose, data, version, updated_at) VALUES (%s, %s, %s, %s, 1, %s) ON CONFLICT (tenant_id, user_id, purpose) DO NOTHING",
			table, p(1), p(2), p(3), p(4), p(5)),
		qUpdate: fmt.Sprintf("UPDATE %s SET data = %s, version = version + 1, updated_at = %s WHERE tenant_id = %s AND user_id = %s AND purpose = %s AND version = %s",
			table, p(1), p(2), p(3), p(4), p(5), p(6)),
		qDelete:     "DELETE FROM " + table + " WHERE " + key,
		qKeys:       "SELECT tenant_id, user_id, purpose FROM " + table + " ORDER BY tenant_id, user_id, purpose",
		qKeysTenant: "SELECT tenant_id, user_id, purpose FROM " + table + " WHERE tenant_id = " + p(1) + " ORDER BY tenant_id, user_id, purpose",
	}
}

// keyArgs are a key's columns: tenant and user in lower case, as
// [tokens.Store] compares them case-insensitively.
func keyArgs(k tokens.Key) (string, string, string) {
	return strings.ToLower(k.Account.TenantID), strings.ToLower(k.Account.UserID), k.Purpose
}

// Get implements [tokens.Store].
func (t *Tokens) Get(ctx context.Context, key tokens.Key) (tokens.Entry, error) {
	if err := t.s.Migrate(ctx); err != nil {
		return tokens.Entry{}, err
	}
	tn, u, p := keyArgs(key)
	var e tokens.Entry
	err := t.s.db.QueryRowContext(ctx, t.qGet, tn, u, p).Scan(&e.Data, &e.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return tokens.Entry{}, fmt.Errorf("%w: %s", tokens.ErrNotFound, key)
	}
	if err != nil {
		return tokens.Entry{}, fmt.Errorf("sqlstore: get %s: %w", key, err)
	}
	return e, nil
}

// Put implements [tokens.Store] with one conditional statement, so
// concurrent writers of the same version cannot both succeed.
func (t *Tokens) Put(ctx context.Context, key tokens.Key, data []byte, prev int64) (int64, error) {
	if err := t.s.Migrate(ctx); err != nil {
		return 0, err
	}
	if data == nil {
		data = []byte{}
	}
	tn, u, p := keyArgs(key)
	now := time.Now().UnixMilli()
	var res sql.Result
	var err error
	if prev == 0 {
		res, err = t.s.db.ExecContext(ctx, t.qInsert, tn, u, p, data, now)
	} else {
		res, err = t.s.db.ExecContext(ctx, t.qUpdate, data, now, tn, u, p, prev)
	}
	if err != nil {
		return 0, fmt.Errorf("sqlstore: put %s: %w", key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlstore: put %s: %w", key, err)
	}
	if n != 1 {
		return 0, fmt.Errorf("%w: %s is not at version %d", tokens.ErrConflict, key, prev)
	}
	return prev + 1, nil
}

// Delete implements [tokens.Store].
func (t *Tokens) Delete(ctx context.Context, key tokens.Key) error {
	if err := t.s.Migrate(ctx); err != nil {
		return err
	}
	tn, u, p := keyArgs(key)
	if _, err := t.s.db.ExecContext(ctx, t.qDelete, tn, u, p); err != nil {
		return fmt.Errorf("sqlstore: delete %s: %w", key, err)
	}
	return nil
}

// Keys implements [tokens.Lister], in the order of tenant, user and purpose.
func (t *Tokens) Keys(ctx context.Context, tenant string) iter.Seq2[tokens.Key, error] {
	return func(yield func(tokens.Key, error) bool) {
		if err := t.s.Migrate(ctx); err != nil {
			yield(tokens.Key{}, err)
			return
		}
		var rows *sql.Rows
		var err error
		if tenant == "" {
			rows, err = t.s.db.QueryContext(ctx, t.qKeys)
		} else {
			rows, err = t.s.db.QueryContext(ctx, t.qKeysTenant, strings.ToLower(tenant))
		}
		if err != nil {
			yield(tokens.Key{}, fmt.Errorf("sqlstore: list keys: %w", err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var a m365link.Account
			var purpose string
			if err := rows.Scan(&a.TenantID, &a.UserID, &purpose); err != nil {
				yield(tokens.Key{}, fmt.Errorf("sqlstore: list keys: %w", err))
				return
			}
			if !yield(tokens.Key{Account: a, Purpose: purpose}, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(tokens.Key{}, fmt.Errorf("sqlstore: list keys: %w", err))
		}
	}
}
