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
