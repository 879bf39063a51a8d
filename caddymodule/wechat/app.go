package wechat

import (
	"context"
	"fmt"
)

// App binds a Client to one app's id and secret, so that the credential
// store can use it as its Source without ever seeing the secret.
type App struct {
	// Client makes the calls; nil means a zero Client.
	Client *Client
	// AppID is the account's appid.
	AppID string
	// Secret is the account's AppSecret. App's String, GoString and Format
	// never print it.
	Secret string
	// Classic uses /cgi-bin/token instead of the default stable_token.
	// Every classic call invalidates the token other services of the app
	// hold, so it is opt-in.
	Classic bool
	// Service, when set, is where access tokens come from: WeChat's token
	// endpoints are then never called (Secret and Classic are unused), and
	// tickets are still fetched from WeChat through Client.
	Service *TokenService
}

// AccessToken fetches an access token. force asks stable_token for a new
// token (force_refresh); the classic endpoint always issues a new one and
// ignores it, and so does a token service.
func (a *App) AccessToken(ctx context.Context, force bool) (Credential, error) {
	if a.Service != nil {
		return a.Service.Token(ctx)
	}
	if a.Classic {
		return a.client().Token(ctx, a.AppID, a.Secret)
	}
	return a.client().StableToken(ctx, a.AppID, a.Secret, force)
}

// Ticket fetches a jsapi_ticket with accessToken.
func (a *App) Ticket(ctx context.Context, accessToken string) (Credential, error) {
	return a.client().Ticket(ctx, accessToken)
}

// CanForce says whether a forced token means anything: not with a token
// service, which the credential store then never asks to force.
func (a *App) CanForce() bool { return a.Service == nil }

func (a *App) client() *Client {
	if a.Client == nil {
		return &Client{}
	}
	return a.Client
}

// String describes the app without its secret. It has a value receiver so
// that an App printed by value is covered too.
func (a App) String() string {
	source := "stable_token"
	switch {
	case a.Service != nil:
		source = "token service " + a.Service.Endpoint()
	case a.Classic:
		source = "token"
	}
	return fmt.Sprintf("wechat.App{AppID:%q, Secret:%s, Source:%s}", a.AppID, redactedValue(a.Secret), source)
}

// GoString is String: %#v must not print the secret either.
func (a App) GoString() string { return a.String() }

// Format prints String for every verb, so that no verb prints the fields raw.
func (a App) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(a.String())) }
