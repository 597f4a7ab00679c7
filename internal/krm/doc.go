// Package krm is mastoscale as a KRM function for kustomize and kpt: a ResourceList whose
// functionConfig is a SidekiqLayout goes in, the same ResourceList with split, autoscaled
// Sidekiq comes out.
//
// It is a thin adapter over postrender.Transform, the transformer the Helm post-renderer uses
// too. kyaml's function framework reads and writes the ResourceList; this package parses the
// functionConfig strictly with pkg/layout, turns the transformer's findings into kpt-style
// results (severity, resource reference, field path), and gives the objects it adds a path
// annotation so orchestrators that track files know where they belong.
package krm
