package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// webhookCommand is `roster webhook …`.
func (a *app) webhookCommand() *cobra.Command {
	return group("webhook COMMAND", "List and test outbound webhooks",
		a.webhookListCommand(),
		a.webhookTestCommand(),
	)
}

func (a *app) webhookListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List webhooks with the outcome of the message each tried last",
		Args:  args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			hs, err := c.Webhooks(cmd.Context())
			if err != nil {
				return err
			}
			return a.render(hs, func(w io.Writer) {
				fmt.Fprintln(w, "ID\tURL\tEVENTS\tENABLED\tSTATE\tLAST MESSAGE\tATTEMPTS\tDELIVERED\tERROR")
				for _, h := range hs {
					last, delivered := "none", ""
					if h.LastMessage != "" {
						last, delivered = h.LastMessage, "no"
					}
					if h.LastDeliveredAt != nil {
						delivered = h.LastDeliveredAt.Local().Format(time.DateTime)
					}
					state := strings.ReplaceAll(h.State, "_", " ")
					if h.NextAttemptAt != nil {
						state += " at " + h.NextAttemptAt.Local().Format(time.DateTime)
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", h.ID, h.URL, strings.Join(h.Events, ","), yesNo(h.Enabled), state, last, h.Attempts, delivered, h.LastError)
				}
			})
		},
	}
}

func (a *app) webhookTestCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "test ID",
		Short: "Send a webhook.test message to a webhook now and show the endpoint's answer",
		Args:  args("ID"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			res, err := c.TestWebhook(cmd.Context(), argv[0])
			if err != nil {
				return err
			}
			if res.Error != "" {
				return fmt.Errorf("sent %s: %s", res.MessageID, res.Error)
			}
			return a.render(res, func(w io.Writer) {
				fmt.Fprintf(w, "%s: sent %s, endpoint answered %d\n", res.Webhook, res.MessageID, res.Status)
			})
		},
	}
}
