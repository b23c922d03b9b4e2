package engine

// Email notifications: who is told of what about a task, and the message
// they get. Messages are composed and enqueued in the outbox inside the
// transaction of the change they tell of, so a change and its messages
// commit together; the Notifier sends them afterwards.

import (
	"bytes"
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"slices"
	"strings"
	texttemplate "text/template"

	"github.com/rosterhq/roster"
)

// mailKind is what a message tells its recipient about a task.
type mailKind string

const (
	// mailApprove: the task waits on the recipient's approval.
	mailApprove mailKind = "approve"
	// mailProvision: the task waits on the recipient to carry it out.
	mailProvision mailKind = "provision"
	// mailRemind: the task still waits on the recipient's approval.
	mailRemind mailKind = "remind"
	// mailEscalate: the task waited too long and now waits on the
	// recipient too.
	mailEscalate mailKind = "escalate"
	// mailApproved and mailDenied tell the requester the decision.
	mailApproved mailKind = "approved"
	mailDenied   mailKind = "denied"
)

// checkEmailSettings refuses email settings whose *_env names break the rule
// connectors' settings follow (roster serve --secret-env-prefix).
func (e *Engine) checkEmailSettings(s *roster.EmailSettings) error {
	if s == nil {
		return nil
	}
	prefix := e.access.EnvPrefix
	if prefix == "" {
		prefix = "ROSTER_SECRET_"
	}
	for _, v := range []struct{ key, name string }{{"username_env", s.UsernameEnv}, {"password_env", s.PasswordEnv}} {
		if v.name != "" && !strings.HasPrefix(v.name, prefix) {
			return roster.Errorf(roster.EINVALID, "settings.notifications.email.%s: %s does not start with %s: settings may read only the environment variables whose names do (roster serve --secret-env-prefix)", v.key, v.name, prefix)
		}
	}
	return nil
}

// tell enqueues the messages telling kind about t to each recipient, in the
// op's transaction: an email when the tenant sends email and the recipient
// chose it (notify: email, the default), and a Slack direct message when the
// tenant has a Slack bot and they chose email or slack (see channels).
// Recipients who are inactive, have no email address or chose notify: none
// are skipped. Each message has a key naming the task, the event, the
// recipient (and the channel for Slack), so telling the same thing twice
// enqueues it once.
func (o *op) tell(kind mailKind, t *roster.Task, recipients []string, note string) error {
	s, err := o.tenant()
	if err != nil {
		return err
	}
	if (s.Notifications.Email == nil && s.Notifications.Slack == nil) || len(recipients) == 0 {
		return nil
	}
	var m *mailContent
	for _, id := range sortedUnique(recipients) {
		u, err := o.user(id)
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			continue
		} else if err != nil {
			return err
		}
		chans := channels(s.Notifications, u.Notified())
		if !u.Active() || u.Email == "" || len(chans) == 0 {
			continue
		}
		if m == nil {
			if m, err = o.mailContent(t, s); err != nil {
				return err
			}
		}
		q := queuedMail{Mail: m, Kind: kind, To: personOf(u), Note: note}
		render := func() (*roster.Email, error) {
			msg, err := q.render()
			if err != nil {
				return nil, fmt.Errorf("compose %s message of task %d: %w", kind, t.ID, err)
			}
			return msg, nil
		}
		if err := o.enqueueFor(u, chans, mailKey(kind, t, u.ID), q, render, m.Link, askOf(kind)); err != nil {
			return err
		}
	}
	return nil
}

// enqueueFor enqueues one message to u on each of chans: on email, payload
// as the outbox keeps it; on Slack, a direct message made from the email
// render gives, with a button to link saying ask. key names the event told
// to u: an email's key is the event's, a Slack message's adds its channel,
// so there is one of each per recipient and event.
func (o *op) enqueueFor(u *roster.User, chans []string, key string, payload any, render func() (*roster.Email, error), link, ask string) error {
	for _, ch := range chans {
		body, k := payload, key
		if ch == roster.ChannelSlackDM {
			msg, err := render()
			if err != nil {
				return err
			}
			body, k = newSlackMessage(msg, link, ask), key+" slack"
		}
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		n := &roster.Notification{At: o.now, Channel: ch, Target: u.Email, Payload: string(b), Key: k, NextAt: o.now}
		if err := o.enqueue(n); err != nil {
			return err
		}
	}
	return nil
}

// mailKey names one event told to one recipient: an approval step is told
// once to each of its approvers, however often the step is resolved again.
func mailKey(kind mailKind, t *roster.Task, user string) string {
	switch kind {
	case mailApproved, mailDenied, mailProvision:
		return fmt.Sprintf("task %d %s %s", t.ID, kind, user)
	}
	return fmt.Sprintf("task %d step %d %s %s", t.ID, t.Step, kind, user)
}

// queuedMail is an email as the outbox keeps it (its payload): what it
// says, read in the transaction of the change it tells of, to be rendered
// when it is sent (render). A sync that tells thousands of approvers writes
// these few hundred bytes each, not the message.
type queuedMail struct {
	Mail *mailContent `json:"mail"`
	Kind mailKind     `json:"kind"`
	To   mailPerson   `json:"to"`
	Note string       `json:"note,omitempty"`
}

// render composes the message q holds.
func (q *queuedMail) render() (*roster.Email, error) { return q.Mail.render(q.Kind, q.To, q.Note) }

// decodeMail returns the message an email's payload holds: a queuedMail,
// rendered now, or a message rendered when it was enqueued (an outbox an
// earlier Roster wrote).
func decodeMail(payload string) (*roster.Email, error) {
	var q queuedMail
	if err := json.Unmarshal([]byte(payload), &q); err != nil {
		return nil, err
	}
	if q.Mail == nil {
		var email roster.Email
		if err := json.Unmarshal([]byte(payload), &email); err != nil {
			return nil, err
		}
		return &email, nil
	}
	return q.render()
}

// mailTask is what a message says of its task.
type mailTask struct {
	ID   int64           `json:"id"`
	Kind roster.TaskKind `json:"kind"`
}

// mailPerson is what a message says of a person: its subject or recipient.
type mailPerson struct {
	ID         string `json:"id"`
	Name       string `json:"name,omitempty"`
	Title      string `json:"title,omitempty"`
	Department string `json:"department,omitempty"`
}

func personOf(u *roster.User) mailPerson {
	return mailPerson{ID: u.ID, Name: u.Name, Title: u.Title, Department: u.Department}
}

// mailContent is what every message about one task says, whoever gets it.
type mailContent struct {
	Task    mailTask
	Subject mailPerson
	// What is the entitlement's display name ("GitHub: Admin") or the
	// profile's ("Engineering onboarding"); ID its id.
	What, ID, Risk string
	// Enrollment is set for a profile's enrollment or unenrollment: the
	// display names of the entitlements the profile gives.
	Enrollment bool
	Contents   []string
	Reason     string
	Link       string
	Step       string
}

// user reads a user once per op: a decision reads its subject, its
// approvers, its decider and the caller, and a sync that starts thousands
// of enrollments tells each manager of many of them. The user returned is
// shared by every reader in the op and must not be changed; every write of
// a user in an op calls forgetUser first.
func (o *op) user(id string) (*roster.User, error) {
	if u, ok := o.users[id]; ok {
		return u, nil
	}
	u, err := o.tx.User(o.ctx, id)
	if err != nil {
		return nil, err
	}
	if o.users == nil || len(o.users) >= usersMax {
		o.users = map[string]*roster.User{}
	}
	o.users[id] = u
	return u, nil
}

// forgetUser drops what the op keeps of user, before the user is put.
func (o *op) forgetUser(id string) {
	delete(o.users, id)
	if o.subject != nil && o.subject.ID == id {
		o.subject = nil
	}
}

// usersMax bounds the users an op keeps.
const usersMax = 4096

// mailContent reads what the messages about t say.
func (o *op) mailContent(t *roster.Task, s *roster.Settings) (*mailContent, error) {
	// The subject as the step's resolution read it just before, or read
	// now.
	subject := o.subject
	if subject == nil || subject.ID != t.User {
		var err error
		if subject, err = o.user(t.User); err != nil {
			return nil, err
		}
	}
	ent, err := o.entitlement(t.Entitlement)
	if err != nil {
		return nil, err
	}
	m := &mailContent{Task: mailTask{ID: t.ID, Kind: t.Kind}, Subject: personOf(subject), ID: t.Entitlement, Risk: ent.Risk, Reason: t.Reason}
	if m.What, err = o.displayName(ent); err != nil {
		return nil, err
	}
	app, local, _ := roster.SplitEntitlementID(t.Entitlement)
	if app == roster.BuiltinApp && !strings.HasSuffix(local, ".excluded") {
		p, err := o.profile(local)
		if err != nil {
			return nil, err
		}
		m.Enrollment = true
		for _, id := range p.Entitlements {
			e, err := o.entitlement(id)
			if err != nil {
				return nil, err
			}
			name, err := o.displayName(e)
			if err != nil {
				return nil, err
			}
			// What an enrollment risks is what its riskiest entitlement does.
			m.Risk = roster.HigherRisk(m.Risk, e.Risk)
			if e.Risk == roster.RiskHigh || e.Risk == roster.RiskMedium {
				name += " (" + e.Risk + " risk)"
			}
			m.Contents = append(m.Contents, name)
		}
	}
	if m.Reason == "" && t.Bypass != "" {
		m.Reason = t.Bypass
	}
	if base := strings.TrimSuffix(cmpOr(s.BaseURL, o.e.baseURL), "/"); base != "" {
		m.Link = fmt.Sprintf("%s/tasks/%d", base, t.ID)
	}
	if t.State == roster.StatePendingApproval && len(t.Steps) > 1 {
		m.Step = fmt.Sprintf("step %d of %d", t.Step+1, len(t.Steps))
	}
	return m, nil
}

// displayName is what people call an entitlement: its app's name and its
// own ("GitHub: Admin"), or a profile's name for its enrollment.
func (o *op) displayName(e *roster.Entitlement) (string, error) {
	if e.App == roster.BuiltinApp {
		if p, err := o.profile(strings.TrimSuffix(strings.TrimPrefix(e.ID, roster.BuiltinApp+"/"), ".excluded")); err == nil {
			if strings.HasSuffix(e.ID, ".excluded") {
				return "exclusion from " + p.Name, nil
			}
			return p.Name, nil
		}
		return e.Name, nil
	}
	a, err := o.app(e.App)
	if err != nil {
		return "", err
	}
	return a.Name + ": " + e.Name, nil
}

// app returns an app, read once per op.
func (o *op) app(id string) (*roster.App, error) {
	if a, ok := o.apps[id]; ok {
		return a, nil
	}
	a, err := o.tx.App(o.ctx, id)
	if err != nil {
		return nil, err
	}
	if o.apps == nil {
		o.apps = map[string]*roster.App{}
	}
	o.apps[id] = a
	return a, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// mailView is what the templates read: the task's content and the
// recipient's view of it.
type mailView struct {
	*mailContent
	Kind      mailKind
	Recipient mailPerson
	// Headline says in one sentence what is asked of the recipient.
	Headline string
	// Asked says what the task does ("Grant GitHub: Admin").
	Asked string
	Note  string
	// Ask says what to do next ("Approve or deny it").
	Ask string
}

// render composes the message of kind for the recipient u.
func (m *mailContent) render(kind mailKind, u mailPerson, note string) (*roster.Email, error) {
	name := cmpOr(m.Subject.Name, m.Subject.ID)
	v := mailView{mailContent: m, Kind: kind, Recipient: u, Note: note}
	verb := "Grant"
	if m.Task.Kind == roster.TaskRevoke {
		verb = "Revoke"
	}
	if m.Enrollment {
		verb = "Enroll in"
		if m.Task.Kind == roster.TaskRevoke {
			verb = "Unenroll from"
		}
	}
	v.Asked = fmt.Sprintf("%s %s", verb, m.What)
	var subject string
	switch kind {
	case mailApprove:
		subject = fmt.Sprintf("Approve? %s: %s", name, v.Asked)
		v.Headline = fmt.Sprintf("%s's access waits on your approval.", name)
	case mailRemind:
		subject = fmt.Sprintf("Reminder: approve? %s: %s", name, v.Asked)
		v.Headline = fmt.Sprintf("%s's access still waits on your approval.", name)
	case mailEscalate:
		subject = fmt.Sprintf("Escalated: approve? %s: %s", name, v.Asked)
		v.Headline = fmt.Sprintf("%s's access has waited too long for approval; you may now decide.", name)
	case mailProvision:
		subject = fmt.Sprintf("To do: %s: %s", name, v.Asked)
		v.Headline = fmt.Sprintf("%s's access is approved and waits for you to carry it out.", name)
	case mailApproved:
		subject = fmt.Sprintf("Approved: %s: %s", name, v.Asked)
		v.Headline = "Your request was approved."
	case mailDenied:
		subject = fmt.Sprintf("Denied: %s: %s", name, v.Asked)
		v.Headline = "Your request was denied."
	default:
		return nil, fmt.Errorf("unknown message kind %q", kind)
	}
	v.Ask = askOf(kind)
	var text, html bytes.Buffer
	if err := mailText.Execute(&text, v); err != nil {
		return nil, err
	}
	if err := mailHTML.Execute(&html, v); err != nil {
		return nil, err
	}
	return &roster.Email{Subject: subject, Text: text.String(), HTML: html.String()}, nil
}

// askOf says what a message of kind asks its recipient to do next, on
// its link's button.
func askOf(kind mailKind) string {
	switch kind {
	case mailApprove, mailRemind, mailEscalate:
		return "Approve or deny it"
	case mailProvision:
		return "Mark it done once carried out"
	}
	return "See it"
}

// who describes the subject: their name, title and department.
func (v mailView) Who() string {
	parts := []string{cmpOr(v.Subject.Name, v.Subject.ID)}
	if v.Subject.Title != "" {
		parts = append(parts, v.Subject.Title)
	}
	if v.Subject.Department != "" {
		parts = append(parts, v.Subject.Department)
	}
	return strings.Join(parts, ", ")
}

// Greeting names the recipient.
func (v mailView) Greeting() string { return cmpOr(v.Recipient.Name, v.Recipient.ID) }

var mailFuncs = map[string]any{"join": strings.Join}

var mailText = texttemplate.Must(texttemplate.New("text").Funcs(mailFuncs).Parse(`Hello {{.Greeting}},

{{.Headline}}

Who:    {{.Who}}
Asked:  {{.Asked}} ({{.ID}}){{if .Risk}}, {{.Risk}} risk{{end}}
{{- if .Reason}}
Why:    {{.Reason}}{{end}}
{{- if .Enrollment}}
Gives:  {{if .Contents}}{{join .Contents ", "}}{{else}}nothing yet{{end}}{{end}}
{{- if .Note}}
Note:   {{.Note}}{{end}}
{{- if .Step}}
Step:   {{.Step}}{{end}}

{{if .Link}}{{.Ask}}: {{.Link}}{{else}}{{.Ask}} in Roster: task {{.Task.ID}}{{end}}

-- Roster
`))

var mailHTML = htmltemplate.Must(htmltemplate.New("html").Funcs(mailFuncs).Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif; font-size: 16px; line-height: 1.5; color: #1f2328; margin: 0; padding: 16px;">
<div style="max-width: 560px;">
<p>Hello {{.Greeting}},</p>
<p><strong>{{.Headline}}</strong></p>
<p style="margin: 0;"><span style="color: #59636e;">Who</span><br>{{.Who}}</p>
<p style="margin: 12px 0 0;"><span style="color: #59636e;">Asked</span><br>{{.Asked}} <span style="color: #59636e;">({{.ID}})</span>{{if .Risk}}<br><span style="color: #59636e;">Risk:</span> {{.Risk}}{{end}}</p>
{{- if .Reason}}
<p style="margin: 12px 0 0;"><span style="color: #59636e;">Why</span><br>{{.Reason}}</p>{{end}}
{{- if .Enrollment}}
<p style="margin: 12px 0 0;"><span style="color: #59636e;">Gives</span></p>
{{if .Contents}}<ul style="margin: 0; padding-left: 20px;">{{range .Contents}}<li>{{.}}</li>{{end}}</ul>{{else}}<p style="margin: 0;">nothing yet</p>{{end}}{{end}}
{{- if .Note}}
<p style="margin: 12px 0 0;"><span style="color: #59636e;">Note</span><br>{{.Note}}</p>{{end}}
{{- if .Step}}
<p style="margin: 12px 0 0; color: #59636e;">{{.Step}}</p>{{end}}
<p style="margin: 24px 0;">{{if .Link}}<a href="{{.Link}}" style="display: inline-block; padding: 10px 16px; background: #1f6feb; color: #ffffff; text-decoration: none; border-radius: 6px;">{{.Ask}}</a>{{else}}{{.Ask}} in Roster: task {{.Task.ID}}{{end}}</p>
<p style="color: #59636e; font-size: 14px;">Roster</p>
</div>
</body></html>
`))

// requester returns who should hear of t's decision: the person who asked
// for a manual task, unless they decided it themselves.
func requester(t *roster.Task, decider string) []string {
	if t.Origin != roster.OriginManual || t.RequestedBy == "" || t.RequestedBy == ActorSystem || t.RequestedBy == decider {
		return nil
	}
	return []string{t.RequestedBy}
}

// newApprovers returns those of now who are not in before.
func newApprovers(before, now []string) []string {
	var out []string
	for _, id := range now {
		if !slices.Contains(before, id) {
			out = append(out, id)
		}
	}
	return out
}
