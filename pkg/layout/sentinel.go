package layout

import (
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validateSentinelAuth checks the reference to the sentinels' own credentials
// (SIDEKIQ_REDIS_SENTINEL_PASSWORD, _USERNAME), which KEDA reads as sentinelPassword and
// sentinelUsername.
func validateSentinelAuth(r *problems, a *SentinelAuth, path *field.Path) {
	if a == nil {
		return
	}
	if a.SecretName == "" {
		r.add(Error, field.Required(path.Child("secretName"), "name the Secret holding the sentinels' password (SIDEKIQ_REDIS_SENTINEL_PASSWORD), or remove sentinel.auth for sentinels without one"))
	} else {
		for _, msg := range validation.IsDNS1123Subdomain(a.SecretName) {
			r.errorf(path.Child("secretName"), a.SecretName, "%s", msg)
		}
	}
	if a.PasswordKey == "" {
		r.add(Error, field.Required(path.Child("passwordKey"), "name the key of the sentinels' password in the Secret"))
	}
}
