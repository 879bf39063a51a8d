package paynotify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/caddy-wechat/jssdk/caddymodule/sign"
)

// The replay rule: a (Wechatpay-Timestamp, Wechatpay-Nonce,
// Wechatpay-Signature) seen in the last replayWindow is refused. The
// timestamp check refuses anything 5 minutes or more off, so a captured
// notification can be replayed only while its timestamp is within 5
// minutes of the clock: from at most 5 minutes before it arrived to 5
// minutes after its timestamp, 10 minutes at most. A marker kept 10
// minutes from arrival covers that.
const replayWindow = 10 * time.Minute

// markerRoot is the storage folder of the markers:
// wechat_pay_notify/replay/<10-minute bucket of the timestamp>/<hash>.
const markerRoot = "wechat_pay_notify/replay"

// bucketSeconds groups markers by their timestamp, so that whole old
// buckets can be swept.
const bucketSeconds = 600

// lockTimeout bounds the wait for a marker's lock: another instance holds
// it only while it reads and writes the marker.
const lockTimeout = 10 * time.Second

// sweepEvery: how often one process looks for old buckets to delete.
const sweepEvery = 10 * time.Minute

// errReplay: the notification's signature has been seen.
var errReplay = errors.New("this notification (timestamp, nonce, signature) was received already")

// marker is what a reservation stores: when it stops counting.
type marker struct {
	Expires time.Time `json:"expires"`
}

// replayGuard keeps the markers in Caddy's storage, which every instance
// of a cluster shares (the `storage` global option).
//
// Guarantee. A marker is created under the storage's lock for its name
// (certmagic's distributed lock: a lock file created with O_EXCL on the
// file system, SET NX in Redis): read, and written only if absent or
// expired, before the lock is released. Of two instances that receive the
// same notification at once, exactly one reserves it and forwards it; the
// other sees the reservation and refuses with 401 — whether or not the
// first one's backend has answered yet. A reservation is released (the
// marker deleted) when the backend fails (an error or a status outside
// 2xx), so that WeChat Pay's retry reaches the backend; it stays, and
// refuses replays, when the backend accepted the notification. An
// instance that dies between the two leaves the marker to expire. When
// the storage cannot be reached the notification is refused with 503
// (WeChat Pay retries): without the marker the guarantee cannot be kept.
// Instances on different storages share nothing.
type replayGuard struct {
	storage   certmagic.Storage
	logger    *zap.Logger
	lastSweep atomic.Int64 // Unix seconds
}

// markerKey is the storage key of a notification's marker: a SHA-256 of
// the three signed values (the signature alone would do; the others cost
// nothing), in the bucket of its timestamp.
func markerKey(h sign.SignedHeaders) string {
	sum := sha256.Sum256([]byte(h.Timestamp + "\n" + h.Nonce + "\n" + h.Signature))
	ts, _ := strconv.ParseInt(h.Timestamp, 10, 64) // verified: decimal
	return markerRoot + "/" + strconv.FormatInt(ts/bucketSeconds, 10) + "/" + hex.EncodeToString(sum[:16])
}

// reserve records the notification as being handled, or returns errReplay
// when it is already. Other errors are the storage's.
func (g *replayGuard) reserve(ctx context.Context, h sign.SignedHeaders, now time.Time) (string, error) {
	key := markerKey(h)
	ctx, cancel := context.WithTimeout(ctx, lockTimeout)
	defer cancel()
	if err := g.storage.Lock(ctx, key); err != nil {
		return "", err
	}
	defer func() {
		if err := g.storage.Unlock(context.WithoutCancel(ctx), key); err != nil {
			g.logger.Warn("cannot unlock a notification's replay marker", zap.Error(err))
		}
	}()
	data, err := g.storage.Load(ctx, key)
	switch {
	case err == nil:
		var m marker
		if json.Unmarshal(data, &m) != nil || now.Before(m.Expires) {
			// an unreadable marker counts: refusing is the safe side
			return "", errReplay
		}
	case !errors.Is(err, fs.ErrNotExist):
		return "", err
	}
	data, _ = json.Marshal(marker{Expires: now.Add(replayWindow).UTC()})
	if err := g.storage.Store(ctx, key, data); err != nil {
		return "", err
	}
	g.maybeSweep(now)
	return key, nil
}

// release deletes a reservation whose notification the backend did not
// accept.
func (g *replayGuard) release(key string) {
	ctx, cancel := context.WithTimeout(context.Background(), lockTimeout)
	defer cancel()
	if err := g.storage.Delete(ctx, key); err != nil && !errors.Is(err, fs.ErrNotExist) {
		// WeChat Pay's retry comes with a fresh signature, so a stale
		// marker only blocks a replay of this very delivery
		g.logger.Warn("cannot release a notification's replay marker", zap.Error(err))
	}
}

// maybeSweep starts deleting the buckets no timestamp can fall in any
// more, at most once per sweepEvery per handler.
func (g *replayGuard) maybeSweep(now time.Time) {
	last := g.lastSweep.Load()
	if now.Unix()-last < int64(sweepEvery/time.Second) || !g.lastSweep.CompareAndSwap(last, now.Unix()) {
		return
	}
	go g.sweep(now)
}

// sweep deletes the buckets more than two buckets older than now: every
// timestamp in them is 5 minutes or more in the past, so their markers
// refuse nothing the timestamp check does not.
func (g *replayGuard) sweep(now time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	buckets, err := g.storage.List(ctx, markerRoot, false)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			g.logger.Debug("cannot list the replay markers to sweep them", zap.Error(err))
		}
		return
	}
	current := now.Unix() / bucketSeconds
	for _, b := range buckets {
		n, err := strconv.ParseInt(b[strings.LastIndexByte(b, '/')+1:], 10, 64)
		if err != nil || n >= current-2 {
			continue
		}
		keys, err := g.storage.List(ctx, b, true)
		if err == nil {
			for _, k := range keys {
				_ = g.storage.Delete(ctx, k)
			}
		}
		_ = g.storage.Delete(ctx, b)
	}
}
