package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/rosterhq/roster"
	"github.com/wneessen/go-mail"
)

// SMTPTimeout bounds one email's delivery: connecting, STARTTLS, AUTH and
// sending.
const SMTPTimeout = 15 * time.Second

// mail sends the email msg holds through the tenant's SMTP server, as its
// settings say now.
func (n *Notifier) mail(ctx context.Context, msg roster.Notification) error {
	var s *roster.Settings
	err := n.engine.store.View(ctx, func(tx roster.Tx) (err error) {
		s, err = tx.Settings(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("read settings: %w", err)
	}
	cfg := s.Notifications.Email
	if cfg == nil {
		return fmt.Errorf("settings.notifications.email is not set: no SMTP server to send through")
	}
	var email roster.Email
	if err := json.Unmarshal([]byte(msg.Payload), &email); err != nil {
		return fmt.Errorf("read email %d: %w", msg.ID, err)
	}
	m := mail.NewMsg()
	if err := m.From(cfg.From); err != nil {
		return fmt.Errorf("settings.notifications.email.from: %w", err)
	}
	if err := m.To(msg.Target); err != nil {
		return fmt.Errorf("recipient %q: %w", msg.Target, err)
	}
	m.Subject(email.Subject)
	m.SetDate()
	m.SetMessageID()
	m.SetBodyString(mail.TypeTextPlain, email.Text)
	m.AddAlternativeString(mail.TypeTextHTML, email.HTML)

	opts := []mail.Option{mail.WithPort(cfg.SMTPPort), mail.WithTimeout(SMTPTimeout), mail.WithTLSPolicy(mail.NoTLS)}
	if cfg.StartTLS {
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if cfg.UsernameEnv != "" {
		if err := n.engine.checkEmailSettings(cfg); err != nil {
			return err
		}
		user, pass := os.Getenv(cfg.UsernameEnv), os.Getenv(cfg.PasswordEnv)
		if user == "" || pass == "" {
			return fmt.Errorf("settings.notifications.email: environment variables %s and %s must both be set", cfg.UsernameEnv, cfg.PasswordEnv)
		}
		// With STARTTLS the strongest mechanism the server offers; without,
		// PLAIN, which go-mail sends in clear only to a local server.
		auth := mail.SMTPAuthPlain
		if cfg.StartTLS {
			auth = mail.SMTPAuthAutoDiscover
		}
		opts = append(opts, mail.WithSMTPAuth(auth), mail.WithUsername(user), mail.WithPassword(pass))
	}
	c, err := mail.NewClient(cfg.SMTPHost, opts...)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, SMTPTimeout)
	defer cancel()
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		return fmt.Errorf("send through %s:%d: %w", cfg.SMTPHost, cfg.SMTPPort, err)
	}
	return nil
}
