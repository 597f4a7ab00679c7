package layout

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// BudgetRow is one worker's share of Postgres connections at its maximum scale.
type BudgetRow struct {
	Worker      string
	Replicas    int32 // max replicas, or the fixed count
	Concurrency int32
	Connections int64 // Replicas x Concurrency: each thread holds one connection (DB_POOL = -c)
}

// Budget is the Postgres connection budget of a layout at max replicas.
type Budget struct {
	Rows     []BudgetRow
	Sidekiq  int64 // sum of Rows' Connections
	Reserved int32 // web, streaming and others
	Total    int64 // Sidekiq + Reserved
	Max      int32 // max_connections; 0 when not given
}

// Fits reports whether Total stays within Max (always true when Max is not given).
func (b Budget) Fits() bool { return b.Max == 0 || b.Total <= int64(b.Max) }

// ConnectionBudget computes the budget of a defaulted layout.
func ConnectionBudget(s *Spec) Budget {
	b := Budget{Reserved: s.Database.Reserved, Max: s.Database.MaxConnections}
	for i := range s.Workers {
		w := &s.Workers[i]
		var c int32
		if w.Concurrency != nil {
			c = *w.Concurrency
		}
		row := BudgetRow{Worker: w.Name, Replicas: w.MaxReplicas(), Concurrency: c}
		row.Connections = int64(row.Replicas) * int64(c)
		b.Rows = append(b.Rows, row)
		b.Sidekiq += row.Connections
	}
	b.Total = b.Sidekiq + int64(b.Reserved)
	return b
}

func validateBudget(r *Report, s *Spec, path *field.Path) {
	d := s.Database
	if d.MaxConnections < 0 {
		r.errorf(path.Child("maxConnections"), d.MaxConnections, "must be 0 (no check) or more")
	}
	if d.Reserved < 0 {
		r.errorf(path.Child("reserved"), d.Reserved, "must be 0 or more")
	}
	if d.MaxConnections <= 0 {
		return
	}
	if d.Reserved >= d.MaxConnections {
		r.errorf(path.Child("reserved"), d.Reserved, "leaves no connections for Sidekiq under maxConnections (%d)", d.MaxConnections)
		return
	}
	b := ConnectionBudget(s)
	if !b.Fits() {
		r.errorf(path.Child("maxConnections"), d.MaxConnections,
			"at max replicas Sidekiq uses %d connections + %d reserved = %d, %d over the limit: lower maxReplicas or concurrency, raise max_connections, or put PgBouncer in front",
			b.Sidekiq, b.Reserved, b.Total, b.Total-int64(d.MaxConnections))
	}
}

// String renders the budget as a table, one worker a row.
func (b Budget) String() string {
	out := fmt.Sprintf("%-24s %8s %12s %12s\n", "WORKER", "REPLICAS", "CONCURRENCY", "CONNECTIONS")
	for _, row := range b.Rows {
		out += fmt.Sprintf("%-24s %8d %12d %12d\n", row.Worker, row.Replicas, row.Concurrency, row.Connections)
	}
	out += fmt.Sprintf("%-24s %8s %12s %12d\n", "reserved (web, streaming)", "", "", b.Reserved)
	limit := "no limit set (spec.database.maxConnections)"
	if b.Max > 0 {
		verdict := "fits"
		if !b.Fits() {
			verdict = fmt.Sprintf("OVER by %d", b.Total-int64(b.Max))
		}
		limit = fmt.Sprintf("of %d: %s", b.Max, verdict)
	}
	out += fmt.Sprintf("%-24s %8s %12s %12d  %s\n", "total at max replicas", "", "", b.Total, limit)
	return out
}
