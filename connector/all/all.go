// Package all registers every built-in connector type: csv, ldap, postgres
// and scim.
package all

import (
	_ "github.com/rosterhq/roster/connector/csv"     // type "csv"
	_ "github.com/rosterhq/roster/connector/ldap"    // type "ldap"
	_ "github.com/rosterhq/roster/connector/pgroles" // type "postgres"
	_ "github.com/rosterhq/roster/connector/scim"    // type "scim"
)
