// Package credential keeps one WeChat app's jsapi_ticket (and the access
// token it is fetched with) ready for the page handlers, which ask for it on
// every injected page through Store.Ticket.
//
// # The life of a credential
//
// A token or ticket is fetched from a Source (in production a *wechat.App)
// and put in a ristretto cache, the L1, together with four instants computed
// on the store's clock (Config.Now) when the fetch started:
//
//	obtainedAt ──── refreshAt ──────────── usableUntil ── expiresAt
//	            3/4 of the usable life      margin before  WeChat's expires_in
//
// Validity is judged on read with that clock, not with ristretto's TTL, which
// runs on the real clock and only backs it up; so tests can move time.
//
// Why a margin: WeChat counts expires_in from when it answered, the page we
// sign is verified by the browser a little later, and WeChat rotates stable
// tokens about five minutes before they expire. A credential is therefore
// used only until min(5 min, expires_in/10) before its end; the tenth covers
// stable tokens that arrive with an expires_in as low as about 300 s.
//
// Why refresh ahead: past refreshAt, Ticket still answers from the cache at
// once and starts a single background refresh. Steady traffic never waits for
// WeChat; only a cold cache (or one left idle past usableUntil) makes callers
// wait, and then all of them share one upstream round trip (singleflight).
// Each waiting caller gives up at its own context's deadline while the shared
// fetch goes on, detached, bounded by Config.FetchTimeout per upstream call,
// and fills the cache for the next caller. What a fetch ends with is judged
// when it ends, on the store's clock, like any cached ticket: a fetch can
// wait for the shared lock and a slow WeChat longer than a short-lived
// ticket lasts, and a ticket that was usable when the fetch started may be
// expired when it ends. A token is sent to the ticket endpoint only if it
// also outlives that call (FetchTimeout), since WeChat checks it on arrival.
//
// Why an invalid-token dance: a ticket call answered with 40001/40014/42001
// means the cached token is no longer good (another service may have fetched
// a classic token, or WeChat rotated it). The store drops it, fetches one
// more token and retries the ticket: one refetch per rejection, never a loop.
// stable_token may hand back the very token just rejected; only then, and at
// most once per 30 s (WeChat allows 20 a day, 30 s apart), the token is
// fetched with force_refresh.
//
// Why backoff per class: hammering WeChat helps nobody and burns quota.
// Transient failures (system busy, network, timeouts, 5xx) back off
// exponentially from 1 s to 60 s with jitter; quota errors wait for their
// window (60 s for the per-minute 45011, 10 min for the daily 45009);
// configuration errors (bad appid/secret, IP not whitelisted…) need an
// operator and are retried every 5 min. During a backoff window Ticket makes
// no upstream call: it serves a credential that WeChat still considers valid
// (past the margin but before expiresAt) and counts it as served stale, or
// fails at once with an error wrapping ErrUnavailable and the cause. The page
// handler then serves the page unmodified rather than block it on WeChat.
//
// Each cause is logged once (a new class or errcode logs again), recovery is
// logged once at Info, and no credential or secret is ever logged.
//
// # Sharing with other instances
//
// Several servers of one app must not each fetch a token: the classic token
// endpoint invalidates the token the others hold, and every fetch eats a
// daily quota. With Config.Shared (in Caddy: its configured storage, the
// file system or Redis), the cache has an L2 the instances share, holding
// the token and the ticket as JSON with their absolute obtained and expiry
// instants, so that every instance computes the same refresh instant. The
// app secret is never stored.
//
// A flight (a cold cache, or a refresh ahead) reads the L2 first, without a
// lock: another instance may have refreshed. Only when the L2 has nothing
// fresh does it take the storage's lock for the app, read the L2 again (the
// holder it waited for has usually refreshed), and only then call WeChat,
// writing the new credential to the L2 before releasing the lock. So the
// whole cluster makes one call per refresh, and a restarted instance
// starts from the L2 without calling WeChat at all.
//
// Why the wait for the lock is bounded (Config.LockWait, 15 s by default)
// but never skipped: a holder that crashed keeps its lock until the
// storage expires it (a file-system lock goes stale after 10 s, a Redis
// lock after 5 s), which the wait outlasts. A wait that runs out anyway
// fails that flight like a transient failure, with backoff and a later
// attempt, rather than fetching without the lock, which would defeat the
// lock whenever a refresh is merely slow.
//
// Why storage failures do not fail pages: when the storage cannot be read,
// written or locked, the store goes on as if it were alone (its own cache,
// its own fetch), logs each cause once per outage and the recovery once,
// and counts every failure (Stats.Shared).
package credential
