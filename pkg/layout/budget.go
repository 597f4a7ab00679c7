package layout

import (
	"fmt"
	"strings"
)

// BudgetRow is one worker's share of Postgres connections at its maximum scale.
type BudgetRow struct {
	Worker      string
	Replicas    int32 // max replicas, or the fixed count
	Concurrency int32
	Connections int64 // Replicas x Concurrency: each thread holds one connection (DB_POOL = -c)
}

// Budget is the Postgres connection budget of a set of workers at max replicas.
type Budget struct {
	Rows     []BudgetRow
	Sidekiq  int64 // sum of Rows' Connections
	Reserved int32 // web, streaming and others
	Total    int64 // Sidekiq + Reserved
	Max      int32 // max_connections; 0 when not given
}

// Fits reports whether Total stays within Max (always true when Max is not given).
func (b Budget) Fits() bool { return b.Max == 0 || b.Total <= int64(b.Max) }

// ConnectionBudget computes the connections of workers at max replicas against db.
func ConnectionBudget(workers []Workload, db Database) Budget {
	b := Budget{Reserved: db.Reserved, Max: db.MaxConnections}
	for _, w := range workers {
		row := BudgetRow{Worker: w.Name, Replicas: w.MaxReplicas(), Concurrency: w.Concurrency}
		row.Connections = int64(row.Replicas) * int64(row.Concurrency)
		b.Rows = append(b.Rows, row)
		b.Sidekiq += row.Connections
	}
	b.Total = b.Sidekiq + int64(b.Reserved)
	return b
}

// terms spells the sum out: `default 4x25 + scheduler 1x5`.
func (b Budget) terms() string {
	t := make([]string, len(b.Rows))
	for i, r := range b.Rows {
		t[i] = fmt.Sprintf("%s %dx%d", r.Worker, r.Replicas, r.Concurrency)
	}
	return strings.Join(t, " + ")
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
