package declarative

import (
	"net/url"

	"go.yaml.in/yaml/v3"

	"github.com/rosterhq/roster"
)

// EnvChecker is implemented by a roster.Known that checks the name of an
// environment variable a setting reads (the engine does: the secret prefix
// rule of roster serve --secret-env-prefix). Parse reports its error at the
// setting's line.
type EnvChecker interface {
	CheckEnv(setting, name string) error
}

// webhook reads one entry of webhooks.
func (p *parser) webhook(n *yaml.Node, path string) (roster.Webhook, bool) {
	m, ok := p.mapping(n, path, "id", "url", "secret_env", "events", "insecure", "enabled")
	if !ok {
		return roster.Webhook{}, false
	}
	id, _, ok := p.id(m, "webhook", slugID, slugRule, p.webhooks)
	w := roster.Webhook{ID: id, Insecure: m.boolean("insecure", false), Enabled: m.boolean("enabled", true)}
	if m.get("url") == nil {
		p.addf(m.line(), path, "missing url: the https:// address events are posted to")
		ok = false
	} else {
		raw, line := m.str("url")
		u, err := url.Parse(raw)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			p.addf(line, join(path, "url"), "%q is not an http:// or https:// URL", raw)
			ok = false
		case u.User != nil:
			p.addf(line, join(path, "url"), "must not contain credentials: messages are signed with the secret in secret_env")
			ok = false
		case u.Scheme == "http" && !w.Insecure:
			p.addf(line, join(path, "url"), "http:// sends events in clear text: use https://, or set insecure: true")
			ok = false
		}
		w.URL = raw
	}
	if m.get("secret_env") == nil {
		p.addf(m.line(), path, "missing secret_env: the environment variable holding the signing secret")
		ok = false
	} else {
		name, line := m.str("secret_env")
		w.SecretEnv = name
		if checker, can := p.known.(EnvChecker); can && name != "" {
			if err := checker.CheckEnv("secret_env", name); err != nil {
				p.addf(line, join(path, "secret_env"), "%v", err)
				ok = false
			}
		}
	}
	if m.get("events") == nil {
		p.addf(m.line(), path, `missing events: the audit actions to post, such as ["task.*"]`)
		ok = false
	}
	events := m.strList("events")
	for _, it := range events {
		if len(roster.ActionsMatching(it.val)) == 0 {
			p.addf(it.line, it.path, "%q matches no audit action: give an action (task.approved) or a prefix (task.*); see docs/reference.md", it.val)
			ok = false
			continue
		}
		w.Events = append(w.Events, it.val)
	}
	if v := m.get("events"); v != nil && len(events) == 0 {
		p.addf(v.Line, join(path, "events"), "give at least one audit action or prefix")
		ok = false
	}
	return w, ok
}
