package layout

import (
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// HasUserInfo reports whether s (a host, host:port, URL or image reference) carries user
// information, `user:password@host`: a layout never holds it, and mastoscale never copies it
// into an object it writes. An image digest (`name@sha256:...`) is no user information.
func HasUserInfo(s string) bool {
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if slash := strings.IndexByte(s, '/'); slash >= 0 {
		s = s[:slash]
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return false
	}
	rest := s[at+1:]
	return !strings.HasPrefix(rest, "sha256:") && !strings.HasPrefix(rest, "sha512:")
}

// validateCredentials refuses user information in the layout's Redis host and username and in
// its image, without echoing it: the message names the field only.
func validateCredentials(r *problems, s *Spec, path *field.Path) {
	const userInfo = "holds user information (user:password@): a layout never holds secrets; write the bare host and put the password in a Secret (spec.redis.auth)"
	if HasUserInfo(s.Redis.Host) {
		r.add(Error, field.Forbidden(path.Child("redis", "host"), userInfo))
	}
	if strings.ContainsAny(s.Redis.Username, ":@/") {
		r.add(Error, field.Forbidden(path.Child("redis", "username"),
			"is a bare Redis ACL user name; a password or host in it would be written into every ScaledObject: put the password in a Secret (spec.redis.auth)"))
	}
	if sn := s.Redis.Sentinel; sn != nil && strings.ContainsAny(sn.Username, ":@/") {
		r.add(Error, field.Forbidden(path.Child("redis", "sentinel", "username"),
			"is a bare ACL user name of the sentinels; a password or host in it would be written into every ScaledObject: put the password in a Secret (spec.redis.sentinel.auth)"))
	}
	if HasUserInfo(s.Image) {
		r.add(Error, field.Forbidden(path.Child("image"),
			"holds registry credentials (user:password@): give the image as registry/name:tag and the credentials as an imagePullSecret"))
	}
}
