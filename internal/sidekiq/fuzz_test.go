package sidekiq

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzEnqueuedAt checks the payload scanner against encoding/json: for every valid JSON object,
// EnqueuedAt finds what decoding the whole object finds (the last member named enqueued_at, a
// number in either format, or nothing). The corpus is in testdata/fuzz/FuzzEnqueuedAt.
func FuzzEnqueuedAt(f *testing.F) {
	for _, seed := range []string{
		`{"retry":true,"queue":"default","class":"A","args":[1],"jid":"a","created_at":1795464000.25,"enqueued_at":1795464000.25}`,
		`{"retry":true,"queue":"default","class":"A","args":[1],"jid":"a","created_at":1795464000250,"enqueued_at":1795464000250}`,
		`{"class":"ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper","wrapped":"ActionMailer::MailDeliveryJob","queue":"mailers",` +
			`"args":[{"job_class":"ActionMailer::MailDeliveryJob","enqueued_at":"2026-11-23T20:00:00Z","arguments":["{\"enqueued_at\":5}"]}],"enqueued_at":1795464000.5}`,
		`{"enqueued\u005fat": 1795464000.5 , "x": {"enqueued_at": 1}}`,
		`{"enqueued_at":1,"enqueued_at":1795464000.5}`,
		`{"enqueued_at":"1795464000.5"}`,
		`{"enqueued_at":null}`,
		`{}`, `[]`, `{"a":[{"b":"]}"}],"enqueued_at":-1}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var m map[string]json.RawMessage
		if !json.Valid(data) || json.Unmarshal(data, &m) != nil {
			return // Sidekiq writes valid JSON objects; the scanner may be lenient with the rest
		}
		raw, present := m["enqueued_at"]
		want, wantOK := time.Time{}, false
		var n json.Number
		if present && json.Unmarshal(raw, &n) == nil && len(raw) > 0 && raw[0] != '"' {
			want, wantOK = epoch(n.String())
		}
		got, ok := EnqueuedAt(data)
		if ok != wantOK || !got.Equal(want) {
			t.Fatalf("EnqueuedAt(%s) = %v, %v; decoding the whole object gives %v, %v", data, got, ok, want, wantOK)
		}
	})
}

// FuzzStatusParsers: what status and the scaler read from Redis (a process's heartbeat hash and
// identity, a job's payload, a work entry) is parsed without a panic; a timestamp read is a
// plausible one (2000 to 2200), a process read has the identity it was read under.
func FuzzStatusParsers(f *testing.F) {
	f.Add("web-1:7:abc", `{"hostname":"web-1","pid":7,"concurrency":25,"queues":["push","pull"],"identity":"web-1:7:abc","version":"8.0.8"}`,
		"3", "1795464000.5", "false", "", `{"queue":"push","payload":"{\"enqueued_at\":1795464000.25}","run_at":1795464000}`)
	f.Add("mastodon-sidekiq-default-7d9f8b6c5-x2x9z:1:0123456789ab", `{"hostname":"h","concurrency":-1}`, "-1", "1e300", "true", "99999999999", `{}`)
	f.Fuzz(func(t *testing.T, identity, info, busy, beat, quiet, concurrency, work string) {
		p, err := ParseProcess(identity, Heartbeat{Info: info, Busy: busy, Beat: beat, Quiet: quiet, Concurrency: concurrency})
		if err == nil && p.Identity != identity {
			t.Fatalf("process read as %q, not %q", p.Identity, identity)
		}
		if err == nil && !p.Beat.IsZero() && (p.Beat.Year() < 2000 || p.Beat.Year() > 2200) {
			t.Fatalf("beat %q read as %v", beat, p.Beat)
		}
		if at, ok := EnqueuedAt(work); ok && (at.Year() < 2000 || at.Year() > 2200) {
			t.Fatalf("enqueued_at of %q read as %v", work, at)
		}
		_, _ = WorkQueue(work)
		_ = HostnameOf(identity)
		_ = IsPodOf(HostnameOf(identity), "mastodon-sidekiq-default")
	})
}
