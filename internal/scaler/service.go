package scaler

import (
	"context"
	"log/slog"
	"math"
	"time"

	pb "github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// DefaultStreamInterval is how often a StreamIsActive stream looks at Redis.
const DefaultStreamInterval = time.Second

// Service is KEDA's ExternalScaler gRPC service (externalscaler.proto of KEDA v2.21.0) over a
// Poller. StreamMetricSpec is not implemented (the targets come from the trigger metadata and
// never change), which KEDA treats as "use GetMetricSpec".
type Service struct {
	pb.UnimplementedExternalScalerServer
	Poller *Poller
	// StreamInterval is how often a stream checks whether its worker became active.
	StreamInterval time.Duration
	// Stopping is closed when the server shuts down: open streams end, so GracefulStop can.
	Stopping <-chan struct{}
	Log      *slog.Logger
}

func (s *Service) logger() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// trigger parses ref's metadata; an error is InvalidArgument, naming the ScaledObject.
func trigger(ref *pb.ScaledObjectRef) (Trigger, error) {
	t, err := ParseTrigger(ref.GetScalerMetadata())
	if err != nil {
		return t, status.Errorf(codes.InvalidArgument, "ScaledObject %s/%s: %v", ref.GetNamespace(), ref.GetName(), err)
	}
	return t, nil
}

// reading gets a reading for t; Redis errors become gRPC errors, so KEDA counts a failure and
// applies the ScaledObject's fallback after failureThreshold of them.
func (s *Service) reading(ctx context.Context, ref *pb.ScaledObjectRef, t Trigger) (*Reading, error) {
	r, err := s.Poller.Get(ctx, t)
	if err != nil {
		return nil, status.FromContextError(err).Err()
	}
	if r.Err != nil {
		return nil, status.Errorf(codes.Unavailable, "ScaledObject %s/%s: %v", ref.GetNamespace(), ref.GetName(), r.Err)
	}
	return r, nil
}

// failed turns the error of one trigger's data (a key of the wrong type, say) into a gRPC error.
func failed(ref *pb.ScaledObjectRef, err error) error {
	return status.Errorf(codes.FailedPrecondition, "ScaledObject %s/%s: %v", ref.GetNamespace(), ref.GetName(), err)
}

// IsActive reports whether the trigger's worker is active (see Reading.Active).
func (s *Service) IsActive(ctx context.Context, ref *pb.ScaledObjectRef) (*pb.IsActiveResponse, error) {
	t, err := trigger(ref)
	if err != nil {
		return nil, err
	}
	r, err := s.reading(ctx, ref, t)
	if err != nil {
		return nil, err
	}
	active, err := r.Active(t)
	if err != nil {
		return nil, failed(ref, err)
	}
	return &pb.IsActiveResponse{Result: active}, nil
}

// GetMetricSpec returns the trigger's one metric and its target.
func (s *Service) GetMetricSpec(_ context.Context, ref *pb.ScaledObjectRef) (*pb.GetMetricSpecResponse, error) {
	t, err := trigger(ref)
	if err != nil {
		return nil, err
	}
	return &pb.GetMetricSpecResponse{MetricSpecs: []*pb.MetricSpec{{
		MetricName:      t.MetricName(),
		TargetSizeFloat: t.Target,
		TargetSize:      int64(math.Ceil(t.Target)), // for KEDA versions before targetSizeFloat
	}}}, nil
}

// GetMetrics returns the trigger's metric now.
func (s *Service) GetMetrics(ctx context.Context, req *pb.GetMetricsRequest) (*pb.GetMetricsResponse, error) {
	ref := req.GetScaledObjectRef()
	t, err := trigger(ref)
	if err != nil {
		return nil, err
	}
	if req.GetMetricName() != t.MetricName() {
		return nil, status.Errorf(codes.NotFound, "ScaledObject %s/%s: this trigger serves %q, not %q", ref.GetNamespace(), ref.GetName(), t.MetricName(), req.GetMetricName())
	}
	r, err := s.reading(ctx, ref, t)
	if err != nil {
		return nil, err
	}
	v, err := r.Value(t)
	if err != nil {
		return nil, failed(ref, err)
	}
	return &pb.GetMetricsResponse{MetricValues: []*pb.MetricValue{{
		MetricName:       t.MetricName(),
		MetricValueFloat: v,
		MetricValue:      int64(math.Round(v)), // what KEDA reads when the float is 0
	}}}, nil
}

// StreamIsActive tells KEDA, within about StreamInterval, when the trigger's worker becomes
// active or inactive: the current state when the stream opens, then each change. KEDA scales a
// worker at zero up on "active" at once, instead of at its next pollingInterval; it ignores
// "inactive" (scale-in stays with the polling). Redis errors do not end the stream (KEDA would
// back off up to a minute before reconnecting): the state is sent again once Redis answers.
func (s *Service) StreamIsActive(ref *pb.ScaledObjectRef, stream pb.ExternalScaler_StreamIsActiveServer) error {
	t, err := trigger(ref)
	if err != nil {
		return err
	}
	ctx := stream.Context()
	s.logger().Debug("StreamIsActive opened", "scaledObject", ref.GetNamespace()+"/"+ref.GetName(), "metric", string(t.Metric))
	tick := time.NewTicker(s.StreamInterval)
	defer tick.Stop()
	var sent, have bool
	var lastErr string
	for {
		r, err := s.Poller.Get(ctx, t)
		if err != nil {
			return status.FromContextError(err).Err()
		}
		active, err := r.Active(t) // a reading that failed fails here too
		switch {
		case err != nil && err.Error() != lastErr:
			s.logger().Warn("StreamIsActive: cannot tell whether the worker is active", "scaledObject", ref.GetNamespace()+"/"+ref.GetName(), "error", err)
			lastErr, have = err.Error(), false
		case err == nil && (!have || active != sent):
			if err := stream.Send(&pb.IsActiveResponse{Result: active}); err != nil {
				return err
			}
			sent, have, lastErr = active, true, ""
		}
		select {
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		case <-s.Stopping:
			return nil
		case <-tick.C:
		}
	}
}
