package chartvalues

import (
	"fmt"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"sigs.k8s.io/yaml"
)

// GitOps tools whose replica-field handling GitOpsYAML writes.
const (
	ArgoCD = "argocd"
	Flux   = "flux"
)

// ReplicasPatch is the JSON patch that drops a Deployment's spec.replicas, so that applying the
// official chart leaves the count KEDA's HPA set.
const ReplicasPatch = "- op: remove\n  path: /spec/replicas\n"

// ScaledDeployments are the Deployments of the layout's autoscaled workers, as the official
// chart names them.
func ScaledDeployments(l *layout.SidekiqLayout) ([]string, error) {
	r, _, err := layout.Resolve(l)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, w := range r.Workers {
		if w.Autoscaled {
			names = append(names, r.DeploymentName(w))
		}
	}
	return names, nil
}

// GitOpsYAML is what the GitOps tool needs so that the official chart's spec.replicas does not
// fight KEDA's HPA over the scaled Deployments: for Argo CD, an Application carrying
// ignoreDifferences on /spec/replicas with RespectIgnoreDifferences=true (so neither the diff
// nor a sync resets the count); for Flux, a HelmRelease whose postRenderers patch removes
// /spec/replicas. Each holds only those fields: merge them into the Application or HelmRelease
// of the official chart's release.
func GitOpsYAML(l *layout.SidekiqLayout, tool string, o Options) ([]byte, error) {
	names, err := ScaledDeployments(l)
	if err != nil {
		return nil, err
	}
	release := layout.Default(layout.Clone(l)).Spec.Release.Name
	meta := map[string]any{"name": release}
	if l.Metadata.Namespace != "" {
		meta["namespace"] = l.Metadata.Namespace
	}
	var doc map[string]any
	switch tool {
	case ArgoCD:
		doc = argoCDApplication(release, l.Metadata.Namespace, names)
	case Flux:
		doc = fluxHelmRelease(meta, names)
	default:
		return nil, fmt.Errorf("--gitops %q: give %s or %s", tool, ArgoCD, Flux)
	}
	body, err := yaml.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", tool, err)
	}
	head := fmt.Sprintf("# Written by\n#   %s\n# Merge these fields into the %s of the official chart's release, so that\n# it leaves the replica count of the scaled workers to KEDA.\n",
		command(o), map[string]string{ArgoCD: "Argo CD Application", Flux: "Flux HelmRelease"}[tool])
	return append([]byte(head), body...), nil
}

func argoCDApplication(release, namespace string, names []string) map[string]any {
	var ignore []any
	for _, n := range names {
		d := map[string]any{"group": "apps", "kind": "Deployment", "name": n, "jsonPointers": []any{"/spec/replicas"}}
		if namespace != "" {
			d["namespace"] = namespace
		}
		ignore = append(ignore, d)
	}
	return map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
		"metadata": map[string]any{"name": release},
		"spec": map[string]any{
			"ignoreDifferences": ignore,
			"syncPolicy":        map[string]any{"syncOptions": []any{"RespectIgnoreDifferences=true"}},
		},
	}
}

func fluxHelmRelease(meta map[string]any, names []string) map[string]any {
	var patches []any
	for _, n := range names {
		patches = append(patches, map[string]any{
			"target": map[string]any{"group": "apps", "version": "v1", "kind": "Deployment", "name": n},
			"patch":  ReplicasPatch,
		})
	}
	return map[string]any{
		"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
		"metadata": meta,
		"spec":     map[string]any{"postRenderers": []any{map[string]any{"kustomize": map[string]any{"patches": patches}}}},
	}
}
