package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/rosterhq/roster/cli"
	"github.com/rosterhq/roster/connector"
	"github.com/rosterhq/roster/server"
)

// serve opens the database, starts the engine and serves the HTTP API until
// ctx is done.
func serve(ctx context.Context, cfg cli.ServeConfig) error {
	changeTick := time.Duration(0) // the server's default
	if !cfg.SyncOnChange {
		changeTick = -1
	}
	return server.Run(ctx, server.Config{
		ChangeTick:       changeTick,
		DB:               cfg.DB,
		Addr:             cfg.Addr,
		Demo:             cfg.Demo,
		BootstrapToken:   cfg.BootstrapToken,
		NoMigrate:        cfg.NoMigrate,
		SessionKey:       []byte(os.Getenv("ROSTER_SESSION_KEY")),
		SecureCookies:    os.Getenv("ROSTER_SECURE_COOKIES") == "true",
		BaseURL:          cfg.BaseURL,
		OIDCIssuer:       cfg.OIDCIssuer,
		OIDCClientID:     cfg.OIDCClientID,
		OIDCClientSecret: cfg.OIDCClientSecret,
		Logger:           slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Out:              os.Stderr,
		MetricsAddr:      cfg.MetricsAddr,
		SessionIdle:      cfg.SessionIdle,
		SyncChunk:        cfg.SyncChunk,
		ConnectorAccess: connector.Access{
			EnvPrefix:  cfg.SecretEnvPrefix,
			SecretsDir: cfg.SecretsDir,
			DataDir:    cfg.DataDir,
		},
	})
}
