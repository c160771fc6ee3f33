package sqlstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed schema
var schemaFS embed.FS

// migration is one numbered schema step.
type migration struct {
	version int
	name    string
	stmts   []string
}

// migrations returns the embedded migrations of a dialect in order. Files
// are named NNNN_description.sql; statements end with ";" at a line end.
func migrations(dialectDir string) ([]migration, error) {
	dir := path.Join("schema", dialectDir)
	entries, err := fs.ReadDir(schemaFS, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number and '_'", name)
		}
		text, err := fs.ReadFile(schemaFS, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		out = append(out, migration{version: v, name: name, stmts: splitStatements(string(text))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s share a number", out[i-1].name, out[i].name)
		}
	}
	return out, nil
}

// splitStatements splits a script at lines ending in ";", dropping "--"
// comment lines.
func splitStatements(script string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(script, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(trimmed, ";") {
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

// migrate applies the migrations not yet recorded in schema_migrations,
// each in its own transaction. lock, when set, runs first in every
// transaction (PostgreSQL takes an advisory lock so concurrent nodes
// migrate one at a time).
func (s *Store) migrate(ctx context.Context, dialectDir, lock string) error {
	ms, err := migrations(dialectDir)
	if err != nil {
		return err
	}
	err = s.tx1(ctx, func(ctx context.Context, tx execer) error {
		if lock != "" {
			if _, err := tx.ExecContext(ctx, lock); err != nil {
				return fmt.Errorf("lock: %w", err)
			}
		}
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER NOT NULL PRIMARY KEY,
			name    TEXT    NOT NULL
		)`)
		return err
	})
	if err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, m := range ms {
		err := s.tx1(ctx, func(ctx context.Context, tx execer) error {
			if lock != "" {
				if _, err := tx.ExecContext(ctx, lock); err != nil {
					return fmt.Errorf("lock: %w", err)
				}
			}
			var n int
			if err := tx.QueryRowContext(ctx, s.d.q("SELECT count(*) FROM schema_migrations WHERE version = ?"), m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			for _, st := range m.stmts {
				if _, err := tx.ExecContext(ctx, st); err != nil {
					return fmt.Errorf("%.60q: %w", st, err)
				}
			}
			_, err := tx.ExecContext(ctx, s.d.q("INSERT INTO schema_migrations (version, name) VALUES (?, ?)"), m.version, m.name)
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	return nil
}
