// Package credential caches access tokens and JS-API tickets.
package credential

import (
	"context"
	"time"

	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
	"go.uber.org/zap"
)

// Source fetches fresh credentials from WeChat (or a stand-in).
type Source interface {
	AccessToken(ctx context.Context, force bool) (wechat.Credential, error)
	Ticket(ctx context.Context, accessToken string) (wechat.Credential, error)
}

// Config configures a Store.
type Config struct {
	Source       Source
	Now          func() time.Time
	Logger       *zap.Logger
	FetchTimeout time.Duration
}

// Store caches credentials for one app.
type Store struct{}

// New returns a Store.
func New(cfg Config) (*Store, error) { panic("unimplemented") }

// Ticket returns a valid jsapi_ticket.
func (s *Store) Ticket(ctx context.Context) (string, error) { panic("unimplemented") }

// Close stops background work.
func (s *Store) Close() {}
