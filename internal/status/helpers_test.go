package status_test

import (
	"strconv"

	"github.com/redis/go-redis/v9"
)

func fmtInt(n int) string { return strconv.Itoa(n) }

func newClient(o *redis.Options) *redis.Client { return redis.NewClient(o) }
