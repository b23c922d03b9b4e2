package engine

// Change approval (four eyes): with settings.change_approval on, an admin's
// apply (or console save) that changes settings, policies, profiles,
// connectors or webhooks is held as a change request; another admin approves
// it, and it is planned and applied then, against the state of that moment.
// Users, apps, entitlements and grants apply at once.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"reflect"
	"slices"
	"strings"
	texttemplate "text/template"

	"go.yaml.in/yaml/v3"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/declarative"
)

// governedSections are the top-level keys of a declarative file whose
// objects change approval holds.
var governedSections = map[string]bool{"settings": true, "policies": true, "profiles": true, "connectors": true, "webhooks": true}

// splitDocument splits a declarative file into the part that applies at
// once (users, apps, grants) and the part change approval holds. Either is
// nil when the file has none of it.
func splitDocument(doc []byte) (immediate, governed []byte, err error) {
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil {
		return nil, nil, roster.Errorf(roster.EINVALID, "%v", err)
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, nil, roster.Errorf(roster.EINVALID, "the file is not a mapping of sections")
	}
	m := root.Content[0]
	now, held := &yaml.Node{Kind: yaml.MappingNode}, &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(m.Content); i += 2 {
		to := now
		if governedSections[m.Content[i].Value] {
			to = held
		}
		to.Content = append(to.Content, m.Content[i], m.Content[i+1])
	}
	encode := func(n *yaml.Node) ([]byte, error) {
		if len(n.Content) == 0 {
			return nil, nil
		}
		var b bytes.Buffer
		enc := yaml.NewEncoder(&b)
		enc.SetIndent(2)
		if err := enc.Encode(n); err != nil {
			return nil, err
		}
		return b.Bytes(), enc.Close()
	}
	if immediate, err = encode(now); err != nil {
		return nil, nil, err
	}
	governed, err = encode(held)
	return immediate, governed, err
}

// holdChange applies what of req applies at once and keeps the rest as a
// change request. lines are the governed changes the file makes now. When
// the file's other parts do not stand alone (an entitlement names a policy
// the file creates), the whole file waits.
func (e *Engine) holdChange(ctx context.Context, req roster.ApplyRequest, lines []string) (*roster.ApplyResult, error) {
	immediate, governed, err := splitDocument(req.Document)
	if err != nil {
		return nil, err
	}
	name := cmpOr(req.Filename, "file")
	res := &roster.ApplyResult{Changes: []string{}}
	var heldDoc []byte
	err = e.update(ctx, func(o *op) error {
		res.Changes = []string{}
		caller, err := o.requireAdmin("apply declarative files")
		if err != nil {
			return err
		}
		doc, whole := governed, false
		if len(immediate) > 0 {
			k := &known{o: o}
			d, perr := declarative.Parse(name, immediate, k)
			switch {
			case k.err != nil:
				return fmt.Errorf("look up what %s refers to: %w", name, k.err)
			case perr != nil:
				doc, whole = req.Document, true
			default:
				a := &applier{op: o, res: res}
				if err := a.apply(d); err != nil {
					return err
				}
			}
		}
		c := &roster.ChangeRequest{
			State: roster.ChangePending, Author: caller.ID, Filename: name, Document: string(doc),
			Changes: lines, CreatedAt: o.now,
		}
		if o.via.User == caller.ID {
			c.AuthorToken, c.AuthorIssuer = o.via.Token, o.via.Issuer
		}
		if err := o.tx.CreateChange(o.ctx, c); err != nil {
			return err
		}
		heldDoc = doc
		res.ChangeRequest, res.Held, res.HeldWhole = c.ID, lines, whole
		data := map[string]any{"changes": lines, "whole_file": whole}
		if err := o.audit(roster.ActionChangeRequested, "change", fmt.Sprint(c.ID), "change approval is on: another admin must approve", data); err != nil {
			return err
		}
		return o.tellChange(c, "requested")
	})
	if err != nil {
		return nil, err
	}
	// The request's plan, against the state its immediate part left.
	plan, err := e.Plan(ctx, roster.ApplyRequest{Filename: name, Document: []byte(heldDoc)})
	if err != nil {
		return res, fmt.Errorf("change request %d is recorded, but planning it failed: %w", res.ChangeRequest, err)
	}
	err = e.update(ctx, func(o *op) error {
		c, err := o.tx.Change(o.ctx, res.ChangeRequest)
		if err != nil {
			return err
		}
		c.Plan = plan
		return o.tx.UpdateChange(o.ctx, c)
	})
	if err != nil {
		return nil, err
	}
	res.Plan = plan
	return res, nil
}

// Changes lists change requests, newest first (admins and auditors).
func (e *Engine) Changes(ctx context.Context, f roster.ChangeFilter) ([]roster.ChangeRequest, error) {
	var out []roster.ChangeRequest
	err := e.view(ctx, func(o *op) (err error) {
		if _, err := o.requireReader("read change requests"); err != nil {
			return err
		}
		out, err = o.tx.Changes(o.ctx, f)
		return err
	})
	return out, err
}

// Change returns one change request (admins and auditors).
func (e *Engine) Change(ctx context.Context, id int64) (*roster.ChangeRequest, error) {
	var out *roster.ChangeRequest
	err := e.view(ctx, func(o *op) (err error) {
		if _, err := o.requireReader("read change requests"); err != nil {
			return err
		}
		out, err = o.tx.Change(o.ctx, id)
		return err
	})
	return out, err
}

// pendingChange reads a change request that still waits, for a decision.
func (o *op) pendingChange(id int64, what string) (*roster.User, *roster.ChangeRequest, error) {
	caller, err := o.requireAdmin(what)
	if err != nil {
		return nil, nil, err
	}
	c, err := o.tx.Change(o.ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if c.State != roster.ChangePending {
		return nil, nil, roster.Errorf(roster.ECONFLICT, "change request %d is already %s", id, c.State)
	}
	return caller, c, nil
}

// ApproveChange applies a change request, planned against the state of
// now, by an admin who is not its author (nor acts with a token its author
// issued, nor authored it with a token this admin issued).
func (e *Engine) ApproveChange(ctx context.Context, id int64, comment string) (*roster.ChangeRequest, error) {
	var (
		out             *roster.ChangeRequest
		toSync, claimed []string
	)
	defer func() { e.unclaim(claimed) }()
	// Planned again against the state of now, before it is applied.
	c, err := e.Change(ctx, id)
	if err != nil {
		return nil, err
	}
	plan, err := e.Plan(ctx, roster.ApplyRequest{Filename: c.Filename, Document: []byte(c.Document)})
	if err != nil {
		return nil, fmt.Errorf("change request %d no longer applies to the state of now; deny it and apply again: %w", id, err)
	}
	err = e.update(ctx, func(o *op) error {
		caller, c, err := o.pendingChange(id, "approve change requests")
		if err != nil {
			return err
		}
		switch {
		case caller.ID == c.Author:
			return roster.Errorf(roster.EFORBIDDEN, "you cannot approve your own change request %d: another admin must", id)
		case o.via.Issuer != "" && o.via.Issuer == c.Author:
			return roster.Errorf(roster.EFORBIDDEN, "you cannot approve change request %d: you act with token %s, which its author %s issued", id, o.via.Token, c.Author)
		case c.AuthorIssuer != "" && c.AuthorIssuer == caller.ID:
			return roster.Errorf(roster.EFORBIDDEN, "you cannot approve change request %d: its author acted with a token you issued", id)
		}
		k := &known{o: o}
		doc, err := declarative.Parse(c.Filename, []byte(c.Document), k)
		if k.err != nil {
			return fmt.Errorf("look up what change request %d refers to: %w", id, k.err)
		} else if err != nil {
			return roster.Errorf(roster.EINVALID, "change request %d no longer applies to the state of now; deny it and apply again: %v", id, err)
		}
		res := &roster.ApplyResult{Changes: []string{}}
		a := &applier{op: o, res: res, reason: fmt.Sprintf("change request %d by %s, approved by %s", id, c.Author, caller.ID)}
		if err := a.apply(doc); err != nil {
			return err
		}
		a.orderSyncs(doc)
		toSync = a.toSync
		if err := o.claim(&claimed, toSync); err != nil { // before the commit: see claims
			return err
		}
		c.Moved = !slices.Equal(a.governed, c.Changes) || !samePlan(c.Plan, plan)
		c.ApprovedPlan = plan
		c.Applied = res.Changes
		c.State, c.DecidedBy, c.DecisionNote = roster.ChangeApplied, caller.ID, comment
		at := o.now
		c.DecidedAt = &at
		if err := o.tx.UpdateChange(o.ctx, c); err != nil {
			return err
		}
		data := map[string]any{"author": c.Author, "applied": c.Applied, "moved": c.Moved}
		if err := o.audit(roster.ActionChangeApproved, "change", fmt.Sprint(id), comment, data); err != nil {
			return err
		}
		out = c
		return o.tellChange(c, "approved")
	})
	if err != nil {
		e.claims.release(claimed) // rolled back, with their leases
		claimed = nil
		return nil, err
	}
	if _, err := e.syncSaved(ctx, toSync); err != nil {
		return out, fmt.Errorf("applied change request %d, but %w", id, err)
	}
	return out, nil
}

// samePlan reports whether two plans say the same, compared as they are
// stored: through their JSON.
func samePlan(a, b *roster.ChangePlan) bool {
	ja, erra := json.Marshal(a)
	jb, errb := json.Marshal(b)
	if erra != nil || errb != nil {
		return false
	}
	var va, vb any
	if json.Unmarshal(ja, &va) != nil || json.Unmarshal(jb, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// DenyChange closes a change request without applying it: another admin
// denies it, with a reason, or its author withdraws it.
func (e *Engine) DenyChange(ctx context.Context, id int64, comment string) (*roster.ChangeRequest, error) {
	var out *roster.ChangeRequest
	err := e.update(ctx, func(o *op) error {
		caller, c, err := o.pendingChange(id, "deny change requests")
		if err != nil {
			return err
		}
		if caller.ID != c.Author && strings.TrimSpace(comment) == "" {
			return roster.Errorf(roster.EINVALID, "say why you deny change request %d (--comment)", id)
		}
		c.State, c.DecidedBy, c.DecisionNote = roster.ChangeDenied, caller.ID, comment
		at := o.now
		c.DecidedAt = &at
		if err := o.tx.UpdateChange(o.ctx, c); err != nil {
			return err
		}
		if err := o.audit(roster.ActionChangeDenied, "change", fmt.Sprint(id), comment, map[string]any{"author": c.Author, "withdrawn": caller.ID == c.Author}); err != nil {
			return err
		}
		out = c
		if caller.ID == c.Author {
			return nil
		}
		return o.tellChange(c, "denied")
	})
	return out, err
}

// tellChange tells of a change request: the other admins that it waits on
// them (what "requested"), or its author of the decision.
func (o *op) tellChange(c *roster.ChangeRequest, what string) error {
	s, err := o.tenant()
	if err != nil {
		return err
	}
	if s.Notifications.Email == nil && s.Notifications.Slack == nil {
		return nil
	}
	recipients := []string{c.Author}
	if what == "requested" {
		admins, err := o.tx.Admins(o.ctx)
		if err != nil {
			return err
		}
		recipients = slices.DeleteFunc(admins, func(id string) bool { return id == c.Author })
	}
	link := ""
	if base := strings.TrimSuffix(cmpOr(s.BaseURL, o.e.baseURL), "/"); base != "" {
		link = fmt.Sprintf("%s/changes/%d", base, c.ID)
	}
	v := changeMailView{C: c, Link: link, What: what}
	switch what {
	case "requested":
		v.Subject = fmt.Sprintf("Approve? Change request %d by %s", c.ID, c.Author)
		v.Headline = fmt.Sprintf("%s changed Roster's configuration; it waits for another admin's approval.", c.Author)
	case "approved":
		v.Subject = fmt.Sprintf("Applied: change request %d", c.ID)
		v.Headline = fmt.Sprintf("%s approved your change request; it is applied.", c.DecidedBy)
	default:
		v.Subject = fmt.Sprintf("Denied: change request %d", c.ID)
		v.Headline = fmt.Sprintf("%s denied your change request.", c.DecidedBy)
	}
	var text, html bytes.Buffer
	if err := changeMailText.Execute(&text, v); err != nil {
		return err
	}
	if err := changeMailHTML.Execute(&html, v); err != nil {
		return err
	}
	msg := &roster.Email{Subject: v.Subject, Text: text.String(), HTML: html.String()}
	for _, id := range recipients {
		u, err := o.tx.User(o.ctx, id)
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			continue
		} else if err != nil {
			return err
		}
		if !u.Active() || u.Email == "" {
			continue
		}
		key := fmt.Sprintf("change %d %s %s", c.ID, what, u.ID)
		render := func() (*roster.Email, error) { return msg, nil }
		if err := o.enqueueFor(u, channels(s.Notifications, u.Notified()), key, msg, render, link, "See it"); err != nil {
			return err
		}
	}
	return nil
}

type changeMailView struct {
	C                             *roster.ChangeRequest
	Subject, Headline, Link, What string
}

var changeMailText = texttemplate.Must(texttemplate.New("change").Parse(`{{.Headline}}

Change request {{.C.ID}} ({{.C.Filename}}):
{{range .C.Changes}}- {{.}}
{{end}}{{if .C.DecisionNote}}
Comment: {{.C.DecisionNote}}
{{end}}{{if .Link}}
{{.Link}}
{{end}}
-- Roster
`))

var changeMailHTML = htmltemplate.Must(htmltemplate.New("change").Parse(`<!doctype html>
<html><body style="font-family:system-ui,sans-serif;font-size:16px;line-height:1.4;max-width:36em">
<p>{{.Headline}}</p>
<p><strong>Change request {{.C.ID}}</strong> ({{.C.Filename}}):</p>
<ul>{{range .C.Changes}}<li>{{.}}</li>{{end}}</ul>
{{if .C.DecisionNote}}<p>Comment: {{.C.DecisionNote}}</p>{{end}}
{{if .Link}}<p><a href="{{.Link}}">See the change request</a></p>{{end}}
<p style="color:#555">— Roster</p>
</body></html>`))
