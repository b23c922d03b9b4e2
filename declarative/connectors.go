package declarative

import (
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rosterhq/roster"
)

// ConnectorChecker is implemented by a roster.Known that can check a
// connector's type and settings (the engine does, through the registered
// connector types). Parse reports its error at the connector's settings.
type ConnectorChecker interface {
	CheckConnector(c *roster.Connector) error
}

// connectorTypes are the built-in connector types, for messages; the
// ConnectorChecker has the last word.
var connectorTypes = []string{"csv", "ldap", "postgres", "scim"}

// minConnectorInterval is the shortest sync interval a connector may have.
const minConnectorInterval = time.Minute

// connector reads one entry of connectors.
func (p *parser) connector(n *yaml.Node, path string, apps map[string]int) (roster.Connector, bool) {
	m, ok := p.mapping(n, path, "id", "type", "app", "users", "match_by", "sync_interval",
		"delete_threshold_percent", "entitlement_defaults", "settings")
	if !ok {
		return roster.Connector{}, false
	}
	id, _, ok := p.id(m, "connector", slugID, slugRule, p.connectors)
	c := roster.Connector{ID: id, Settings: map[string]any{}, SyncInterval: roster.Duration(time.Hour),
		DeleteThresholdPercent: roster.DefaultDeleteThreshold}
	if m.get("type") == nil {
		p.addf(m.line(), path, "missing type (one of %s)", strings.Join(connectorTypes, ", "))
		ok = false
	} else {
		c.Type = m.enum("type", "", connectorTypes...)
		ok = ok && c.Type != ""
	}
	if m.get("app") == nil {
		p.addf(m.line(), path, "missing app: the app the connector's entitlements appear under")
		ok = false
	} else {
		app, line := m.str("app")
		switch {
		case app == roster.BuiltinApp:
			p.addf(line, join(path, "app"), "app %q is the built-in app of access profiles", app)
			ok = false
		case !dottedID.MatchString(app):
			p.addf(line, join(path, "app"), "invalid app id %q: %s", app, dottedRule)
			ok = false
		default:
			if first, dup := apps[app]; dup {
				p.addf(line, join(path, "app"), "app %q is already fed by the connector at line %d: an app has one connector", app, first)
			} else {
				apps[app] = line
			}
		}
		c.App = app
	}
	c.Users = m.boolean("users", false)
	c.MatchBy = m.enum("match_by", "id", "id", "email")
	if m.get("sync_interval") != nil {
		v, line := m.str("sync_interval")
		if d, err := time.ParseDuration(v); err != nil {
			p.addf(line, join(path, "sync_interval"), "%q is not a duration such as \"1h\" or \"15m\"", v)
		} else if d < minConnectorInterval {
			p.addf(line, join(path, "sync_interval"), "must be at least 1m, got %s", d)
		} else {
			c.SyncInterval = roster.Duration(d)
		}
	}
	if n, line, present := m.integer("delete_threshold_percent"); present {
		if n < 0 || n > 100 {
			p.addf(line, join(path, "delete_threshold_percent"), "must be between 0 and 100, got %d", n)
		} else {
			c.DeleteThresholdPercent = n
		}
	}
	c.EntitlementDefaults = p.entitlementDefaults(m.get("entitlement_defaults"), join(path, "entitlement_defaults"))
	settingsLine := m.line()
	if v := m.get("settings"); v != nil {
		settingsLine = v.Line
		if v = p.deref(v); !isNull(v) && v.Kind != yaml.MappingNode {
			p.addf(v.Line, join(path, "settings"), "expected a mapping, got %s", describe(v))
		} else if nul := withNUL(v); nul != nil {
			p.addf(nul.Line, join(path, "settings"), "a NUL character (\\0) is not allowed in text")
		} else if !isNull(v) {
			if err := v.Decode(&c.Settings); err != nil {
				p.addf(v.Line, join(path, "settings"), "%v", err)
			}
		}
	}
	if ok {
		if checker, can := p.known.(ConnectorChecker); can {
			if err := checker.CheckConnector(&c); err != nil {
				p.addf(settingsLine, path, "%v", err)
			}
		}
	}
	return c, ok
}

// entitlementDefaults reads a connector's entitlement_defaults.
func (p *parser) entitlementDefaults(n *yaml.Node, path string) roster.EntitlementDefaults {
	d := roster.EntitlementDefaults{Provisioning: roster.ProvisionConnector, Risk: roster.RiskLow}
	if n == nil {
		return d
	}
	m, ok := p.mapping(n, path, "request_policy", "revoke_policy", "provisioning", "provisioners", "risk")
	if !ok {
		return d
	}
	for _, key := range []string{"request_policy", "revoke_policy"} {
		v, line := m.str(key)
		if v != "" {
			p.referKey(refPolicy, v, line, path, key)
		}
		if key == "request_policy" {
			d.RequestPolicy = v
		} else {
			d.RevokePolicy = v
		}
	}
	d.Provisioning = m.enum("provisioning", roster.ProvisionConnector, roster.ProvisionAuto, roster.ProvisionManual, roster.ProvisionConnector)
	provisioners := m.strList("provisioners")
	if len(provisioners) > 0 && d.Provisioning != roster.ProvisionManual {
		p.addf(m.get("provisioners").Line, join(path, "provisioners"), "provisioners are only used with provisioning: manual, not %s", d.Provisioning)
	}
	for _, it := range provisioners {
		p.refer(refUser, it.val, it.line, it.path)
	}
	d.Provisioners = values(provisioners)
	d.Risk = m.enum("risk", roster.RiskLow, roster.RiskLow, roster.RiskMedium, roster.RiskHigh)
	return d
}

// checkConnectorApps reports an entitlement declared with
// provisioning: connector in an app no connector feeds, in the file or
// already (through a roster.Known that answers HasConnectorApp).
func (p *parser) checkConnectorApps(doc *roster.Document, fed map[string]int) {
	type appChecker interface{ HasConnectorApp(app string) bool }
	ac, _ := p.known.(appChecker)
	for _, e := range doc.Entitlements {
		if e.Provisioning != roster.ProvisionConnector {
			continue
		}
		if _, ok := fed[e.App]; ok {
			continue
		}
		if ac != nil && ac.HasConnectorApp(e.App) {
			continue
		}
		p.addf(p.ents[e.ID], "", "entitlement %s has provisioning: connector but no connector feeds app %s: declare one under connectors with app: %s", e.ID, e.App, e.App)
	}
}
