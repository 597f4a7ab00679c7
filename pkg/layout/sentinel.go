package layout

import (
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validateSentinel checks the sentinels of spec.redis.sentinel (SIDEKIQ_REDIS_SENTINELS,
// SIDEKIQ_REDIS_SENTINEL_MASTER) and the reference to their own credentials.
func validateSentinel(r *problems, sn *Sentinel, sp *field.Path, noSecrets string) {
	if sn.Master == "" {
		r.add(Error, field.Required(sp.Child("master"), "name the master set (SIDEKIQ_REDIS_SENTINEL_MASTER)"))
	}
	if len(sn.Addresses) == 0 {
		r.add(Error, field.Required(sp.Child("addresses"), "list the sentinels as host:port"))
	}
	for i, a := range sn.Addresses {
		validateAddress(r, a, sp.Child("addresses").Index(i), noSecrets)
	}
	validateSentinelAuth(r, sn.Auth, sp.Child("auth"))
}

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
