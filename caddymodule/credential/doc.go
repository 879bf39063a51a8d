// Package credential keeps one WeChat app's jsapi_ticket (and the access
// token it is fetched with) ready for the page handlers, which ask for it on
// every injected page through Store.Ticket. A WeCom app's two tickets are
// two Stores sharing one token (NewWeCom, see below).
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
//
// # WeCom: one token, two tickets
//
// A WeCom (企业微信) H5 app signs wx.config with the corp's jsapi_ticket and
// wx.agentConfig with the app's (agent_config) ticket, both fetched with the
// app's one access token. NewWeCom builds that as two ordinary Stores,
// WeCom.Corp and WeCom.Agent, over one token holder they share: each ticket
// keeps everything a Store does for it — its cache entry, L2 record and
// lock, refresh ahead, backoff, suspect refetch, budget and Stats — and
// neither store fetches a token: both ask the holder, which fetches one
// for both (singleflight), reads and writes its own L2 record under its own
// lock, and replaces a token a ticket endpoint rejected (40001, 40014,
// 42001) once, however many stores and callers report it. So a cold start
// costs one token call and one call per ticket, in one instance or across
// instances sharing an L2, and a rejected token costs one token call. This
// was chosen over a store holding N tickets because the Official Account
// store is left as it was: a Store without a holder behaves exactly as
// before.
//
// The L2 names are SharedPrefix+"/wecom_token" and
// SharedPrefix+"/wecom_agent_ticket" for the app, and
// CorpSharedPrefix+"/wecom_corp_ticket" for the corp ticket, which belongs
// to the corp: a prefix naming the corp alone lets the corp's apps share it.
// Each has a lock named after it with "_refresh". A ticket store's flight
// takes its ticket's lock and then, if it needs a token, the holder takes
// the token's lock: always in that order, so no two flights wait for each
// other. WeCom's gettoken hands back the same token while it is valid, so
// there is no forced token: a token WeCom hands back and rejects again
// makes the store back off, as with a token service.
//
// A failed token fetch is answered from the holder's memory for the first
// backoff step of its class (1 s transient, 5 min configuration: gettoken's
// 40001 is a wrong secret), so that the two stores, whose backoff windows
// do not start at the same instant, cost one call, not two. Each store logs
// the failure once, with a "ticket" field saying which.
//
// # Ticket budgets
//
// A store with Config.TicketBudget (WeCom stores always have one) counts
// its ticket calls over the last hour on its clock and refuses one that
// would exceed the budget: no request is made, the refusal is counted
// (Stats.BudgetRefusals) and logged once per run of refusals, and the store
// backs off until the oldest call leaves the hour, serving its cached
// ticket meanwhile, stale too while WeChat still accepts it. Every ticket
// call counts: refreshes, the second call of an invalid-token cure,
// RefreshTicket, Refresh. A suspect-ticket refetch (RefreshTicket) may use
// only half the budget and is refused before the suspect ticket is dropped,
// so reports of invalid signatures, which a page with a wrong URL can make
// endlessly, can neither empty the budget nor leave pages without a ticket.
//
// WeCom allows about 400 corp-ticket calls an hour per corp (at most 100 per
// app) and 100 agent-ticket calls an hour per app. A healthy store makes one
// call per ticket about every 80 minutes, so the defaults are low:
// DefaultCorpTicketBudget 20 (five instances of one app that each use up
// their budget stay at the per-app limit; the corp's other apps and other
// software keep the rest of its 400) and DefaultAgentTicketBudget 30 (three
// instances stay under the app's 100). The budget is per store, that is per
// instance: instances sharing an L2 make one call per refresh between them,
// and the budget bounds what each can do when something goes wrong. An
// Official Account store has no budget unless configured.
package credential
