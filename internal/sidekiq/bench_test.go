package sidekiq

import "testing"

func BenchmarkEnqueuedAt(b *testing.B) {
	for name, job := range map[string]string{
		"sidekiq7": `{"retry":true,"queue":"ingress","class":"ActivityPub::ProcessingWorker","args":[1,"x"],"jid":"000000000000000000000001","created_at":1795464000.123456,"enqueued_at":1795464000.123456}`,
		"sidekiq8": `{"retry":true,"queue":"ingress","class":"ActivityPub::ProcessingWorker","args":[1,"x"],"jid":"000000000000000000000001","created_at":1795464000123,"enqueued_at":1795464000123}`,
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(job)))
			for b.Loop() {
				if _, ok := EnqueuedAt([]byte(job)); !ok {
					b.Fatal("unreadable")
				}
			}
		})
	}
}
