// Package ldap is Roster's connector for LDAP directories (OpenLDAP, 389 DS
// and others that speak LDAPv3), registered as connector type "ldap".
//
// People are the entries under user_base_dn that match user_filter; groups
// under group_base_dn that match group_filter are entitlements, and their
// members are grants. Granting adds the person's DN to the group's member
// attribute, revoking removes it.
//
//	connectors:
//	  - id: corp-ldap
//	    type: ldap
//	    app: ldap
//	    users: true
//	    match_by: id
//	    settings:
//	      url: ldap://ldap.example.org:389
//	      start_tls: true
//	      tls_ca_file: corp-ca.pem  # under roster serve --secrets-dir
//	      bind_dn: cn=roster,dc=example,dc=org
//	      bind_password_env: ROSTER_SECRET_LDAP_BIND_PASSWORD
//	      user_base_dn: ou=people,dc=example,dc=org
//	      user_filter: (objectClass=inetOrgPerson)
//	      disabled_filter: (employeeType=terminated)
//	      user_attributes: {id: uid, email: mail, name: cn, department: departmentNumber, manager: manager}
//	      group_base_dn: ou=groups,dc=example,dc=org
//	      group_filter: (objectClass=groupOfNames)
//	      group_id_attribute: cn
//	      member_attribute: member
//
// # Settings
//
// Connection:
//
//   - url (required): ldap://HOST[:PORT] (port 389 by default) or
//     ldaps://HOST[:PORT] (TLS from the start, port 636 by default).
//   - bind_dn (required): the DN Roster binds as. It needs read access to
//     people and groups and, for grants and revocations, write access to the
//     groups' member attribute.
//   - bind_password_env or bind_password_file (one is required): the name of
//     the environment variable, or the path of the file, that holds bind_dn's
//     password. The variable's name must start with ROSTER_SECRET_ (roster
//     serve --secret-env-prefix) and the file must lie under roster serve
//     --secrets-dir (see connector.Access). It is read on each connection,
//     never at start-up, and never appears in an error or a log line. An
//     inline bind_password is refused.
//   - start_tls (default false): upgrade an ldap:// connection with StartTLS
//     before binding. Not allowed with ldaps://.
//   - insecure (default false): allow ldap:// without start_tls, which sends
//     the bind password in clear text. Without it such a url is refused.
//   - tls_ca_file (default none: the system's CAs): a PEM file of the CAs
//     that may sign the server's certificate (ldaps:// and start_tls only),
//     under roster serve --secrets-dir like the *_file secrets, read on each
//     connection.
//   - insecure_skip_verify (default false): accept any server certificate
//     (ldaps:// and start_tls). For tests only.
//   - timeout (default 10s): the limit for connecting and for each request,
//     as a Go duration (30s, 1m). The whole of a Sync, Grant or Revoke is
//     bounded by sync_timeout and provision_timeout, which every connector
//     has (see connector.CommonSettings).
//   - page_size (default 500): entries per page of a search, with the paged
//     results control (RFC 2696), so directories larger than the server's
//     size limit are read whole. 0 turns paging off, for servers that lack
//     the control.
//
// People:
//
//   - user_base_dn (required): where people are searched (the whole subtree).
//   - user_filter (default (objectClass=inetOrgPerson)): which entries there
//     are people.
//   - disabled_filter (default none): people who also match this filter, for
//     example (employeeType=terminated) or
//     (pwdAccountLockedTime=000001010000Z), are reported as disabled.
//   - user_attributes (default {id: uid, email: mail, name: cn, department:
//     departmentNumber, manager: manager, title: title, location: l,
//     employment_type: employeeType}): which attribute
//     holds each field of an account; keys given replace the defaults one by
//     one, and other keys are an error. id is the account's key (what
//     match_by id compares, through Roster's user id rules: "John.Smith"
//     matches user john-smith); an entry without it is skipped. manager holds
//     the manager's DN, which is reported as that person's id (a value that
//     is not a DN is reported as it is; a DN that is not one of the people is
//     dropped). Set a key to "" to not read that field.
//
// Groups:
//
//   - group_base_dn (default none): where groups are searched (the whole
//     subtree). Without it the connector reports no entitlements and refuses
//     grants and revocations.
//   - group_filter (default
//     (|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))): which
//     entries there are groups.
//   - group_id_attribute (default cn): the attribute that names a group. The
//     entitlement's id is this name with characters Roster does not allow in
//     an id replaced by '-'; its display name is the group's description when
//     it has one, otherwise the name.
//   - member_attribute (default: chosen per group): the attribute that lists a
//     group's members by DN. When it is not set, a groupOfUniqueNames uses
//     uniqueMember and every other group member.
//
// # Behaviour
//
// Members are compared by DN without regard to case or spacing; a member
// that is not one of the people (outside user_base_dn, not matching
// user_filter, or a nested group) is ignored. Disabled people are reported
// with their grants, marked disabled.
//
// Grant and Revoke find the person by match_by (id, or email compared without
// regard to case) and the group by entitlement id. Granting a membership that
// exists, or revoking one that does not, succeeds; so does revoking for a
// person without an account. Granting to a person without an account, a group
// that does not exist, missing rights, and removing the last member of a
// group whose schema requires one (groupOfNames, groupOfUniqueNames) fail at
// once, without retries; network errors and a busy server are retried by the
// engine.
//
// The connector opens a connection for each Sync, Grant and Revoke and closes
// it afterwards; cancelling the context closes it at once.
package ldap
