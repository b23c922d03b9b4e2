package declarative_test

import (
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/declarative"
)

// specConnectors is the connectors example of SPEC §3.
const specConnectors = `
connectors:
  - id: corp-ldap
    type: ldap                       # ldap | postgres | scim | csv
    app: ldap
    users: true
    match_by: id
    sync_interval: 15m
    delete_threshold_percent: 20     # a sync removing more of its users or grants is held
    entitlement_defaults: {request_policy: auto, revoke_policy: auto, provisioning: connector}
    settings:
      url: ldap://127.0.0.1:389
      bind_dn: cn=admin,dc=example,dc=org
      bind_password_env: LDAP_BIND_PASSWORD
      user_base_dn: ou=people,dc=example,dc=org
      user_filter: (objectClass=inetOrgPerson)
      disabled_filter: (employeeType=terminated)
      user_attributes: {id: uid, email: mail, name: cn, department: departmentNumber, manager: manager}
      group_base_dn: ou=groups,dc=example,dc=org
      group_filter: (objectClass=groupOfNames)
      group_id_attribute: cn
      member_attribute: member
  - id: warehouse
    type: postgres                   # roles that cannot log in are entitlements; login roles are accounts
    app: warehouse
    entitlement_defaults: {request_policy: auto, revoke_policy: auto, provisioning: connector}
    settings: {dsn_env: WAREHOUSE_DSN}
apps:
  - id: warehouse
    entitlements:
      - {id: analyst, provisioning: connector}
`

func TestParseConnectors(t *testing.T) {
	k := newKnown()
	k.policies = set("auto")
	doc, err := declarative.Parse("roster.yaml", []byte(specConnectors), k)
	if err != nil {
		t.Fatalf("Parse: %v %v", err, roster.ErrorDetails(err))
	}
	if len(doc.Connectors) != 2 {
		t.Fatalf("connectors: %+v", doc.Connectors)
	}
	ldap, pg := doc.Connectors[0], doc.Connectors[1]
	defaults := roster.EntitlementDefaults{RequestPolicy: "auto", RevokePolicy: "auto", Provisioning: roster.ProvisionConnector, Provisioners: []string{}, Risk: roster.RiskLow}
	want := roster.Connector{ID: "corp-ldap", Type: "ldap", App: "ldap", Users: true, MatchBy: "id",
		SyncInterval: roster.Duration(15 * time.Minute), DeleteThresholdPercent: 20, EntitlementDefaults: defaults}
	got := ldap
	got.Settings = nil
	if !same(got, want) {
		t.Errorf("corp-ldap = %+v\nwant %+v", got, want)
	}
	if ldap.Settings["bind_password_env"] != "LDAP_BIND_PASSWORD" || ldap.Settings["user_attributes"].(map[string]any)["manager"] != "manager" {
		t.Errorf("corp-ldap settings = %v", ldap.Settings)
	}
	if pg.SyncInterval != roster.Duration(time.Hour) || pg.MatchBy != "id" || pg.Users || pg.DeleteThresholdPercent != roster.DefaultDeleteThreshold {
		t.Errorf("warehouse defaults = %+v", pg)
	}
}

func same(a, b roster.Connector) bool {
	return a.ID == b.ID && a.Type == b.Type && a.App == b.App && a.Users == b.Users && a.MatchBy == b.MatchBy &&
		a.SyncInterval == b.SyncInterval && a.DeleteThresholdPercent == b.DeleteThresholdPercent &&
		a.EntitlementDefaults.RequestPolicy == b.EntitlementDefaults.RequestPolicy &&
		a.EntitlementDefaults.RevokePolicy == b.EntitlementDefaults.RevokePolicy &&
		a.EntitlementDefaults.Provisioning == b.EntitlementDefaults.Provisioning &&
		a.EntitlementDefaults.Risk == b.EntitlementDefaults.Risk
}
