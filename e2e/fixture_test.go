package e2e

// org is the organisation most tests start from; each test appends its own
// profiles. carol manages alice, bob and dave; sam is in the security team;
// ivan provisions GitHub admin by hand.
const org = `
settings:
  default_request_policy: manager
  default_revoke_policy: auto
  sync_interval: 1h
policies:
  - id: auto
    steps: []
  - id: manager
    steps:
      - approvers: manager
        fallback: [sam]
  - id: security
    steps:
      - approvers: users
        users: [sam]
      - approvers: entitlement_members
        entitlement: okta/security-team
users:
  - {id: carol, email: carol@example.com, name: Carol, department: Engineering}
  - {id: alice, email: alice@example.com, name: Alice, manager: carol, department: Engineering}
  - {id: bob, email: bob@example.com, name: Bob, manager: carol, department: Engineering}
  - {id: dave, email: dave@example.com, name: Dave, manager: carol, department: Engineering}
  - {id: sam, email: sam@example.com, name: Sam, department: Security}
  - {id: tess, email: tess@example.com, name: Tess, department: Security}
  - {id: ivan, email: ivan@example.com, name: Ivan, department: IT}
  - {id: erin, email: erin@example.com, name: Erin, department: Sales}
  - {id: audrey, email: audrey@example.com, name: Audrey, role: auditor}
apps:
  - id: okta
    name: Okta
    owners: [ivan]
    entitlements:
      - {id: engineering, request_policy: auto, revoke_policy: auto}
      - {id: sales, request_policy: auto, revoke_policy: auto}
      - {id: security-team, request_policy: auto, revoke_policy: auto}
  - id: github
    name: GitHub
    owners: [carol]
    entitlements:
      - {id: org-member, name: Org member, request_policy: auto, revoke_policy: auto, provisioning: auto}
      - {id: admin, request_policy: security, provisioning: manual, provisioners: [ivan]}
  - id: slack
    name: Slack
    owners: [ivan]
    entitlements:
      - {id: eng, request_policy: manager, revoke_policy: auto}
      - {id: general, request_policy: auto, revoke_policy: auto}
grants:
  - {user: alice, entitlement: okta/engineering}
  - {user: bob, entitlement: okta/engineering}
  - {user: sam, entitlement: okta/security-team}
  - {user: tess, entitlement: okta/security-team}
`
