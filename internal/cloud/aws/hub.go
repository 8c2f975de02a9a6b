// Package aws gives mamori's AWS check types and actions their SDK
// configuration: one aws.Config per account and region, built once and
// shared (credentials cached and refreshed by the SDK, assume-role included),
// the SDK's standard retryer (throttling retried with backoff, and counted),
// and Prometheus counters of the API calls and metrics requested per
// account, service and operation, so that a provider sees the bill coming.
package aws

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"sort"
	"sync"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/mamori/mamori/internal/cloud"
)

// DefaultMaxAttempts is how many times an API call is tried (throttling and
// transient errors retried with the SDK's exponential backoff).
const DefaultMaxAttempts = 5

// EnvAccount names the credentials of the process environment (the SDK's
// default chain), used when a check names no account.
const EnvAccount = ""

// Ref says which account, region and endpoint one API client talks to.
type Ref struct {
	Account     string // an aws_accounts name; "" for the environment's credentials
	Region      string // "" for the account's first region (or the environment's)
	EndpointURL string // "" for the account's endpoint_url, else AWS's public endpoints
}

func (r Ref) String() string {
	name := r.Account
	if name == "" {
		name = "(environment)"
	}
	if r.Region != "" {
		name += "/" + r.Region
	}
	return name
}

// ErrUnknownAccount is returned for a Ref naming no configured account.
var ErrUnknownAccount = errors.New("unknown AWS account")

// Hub builds and caches the SDK configuration of each account and region.
// It is safe for concurrent use; one Hub serves the whole process.
type Hub struct {
	mu       sync.Mutex
	accounts map[string]cloud.AWSAccount
	bases    map[string]*base // per account: credentials, loaded once
	configs  map[Ref]sdkaws.Config
	clients  map[clientKey]any
	shared   map[any]any // per-Hub facilities of check packages (batchers, caches)
	opts     options
	metrics  *Metrics
}

type base struct {
	once sync.Once
	cfg  sdkaws.Config
	err  error
}

// clientKey names one shared client: the service's clients of different
// Go types (each package declares the small interface of the calls it
// makes) are different clients, never converted one into the other.
type clientKey struct {
	ref     Ref
	service string
	typ     reflect.Type
}

type options struct {
	http    *http.Client
	log     *slog.Logger
	backoff retry.BackoffDelayer
	load    []func(*awsconfig.LoadOptions) error
}

// Option configures a Hub.
type Option func(*options)

// WithHTTPClient sends API calls through c (tests, proxies).
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.http = c } }

// WithLogger logs credential problems and throttling there.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithBackoff replaces the retryer's backoff (tests use a short one).
func WithBackoff(b retry.BackoffDelayer) Option { return func(o *options) { o.backoff = b } }

// WithLoadOptions adds options to every config.LoadDefaultConfig call.
func WithLoadOptions(fns ...func(*awsconfig.LoadOptions) error) Option {
	return func(o *options) { o.load = append(o.load, fns...) }
}

// NewHub makes a Hub for the configured accounts.
func NewHub(accounts []cloud.AWSAccount, opts ...Option) *Hub {
	h := &Hub{shared: map[any]any{}, metrics: newMetrics()}
	for _, o := range opts {
		o(&h.opts)
	}
	if h.opts.log == nil {
		h.opts.log = slog.New(slog.DiscardHandler)
	}
	h.SetAccounts(accounts)
	return h
}

// SetAccounts replaces the accounts (a configuration reload). Accounts whose
// definition is unchanged keep their credentials and clients.
func (h *Hub) SetAccounts(accounts []cloud.AWSAccount) {
	h.mu.Lock()
	defer h.mu.Unlock()
	next := make(map[string]cloud.AWSAccount, len(accounts))
	for _, a := range accounts {
		next[a.Name] = a
	}
	for name, old := range h.accounts {
		if a, ok := next[name]; !ok || !sameAccount(a, old) {
			h.forget(name)
		}
	}
	h.accounts = next
}

func (h *Hub) forget(name string) {
	delete(h.bases, name)
	for r := range h.configs {
		if r.Account == name {
			delete(h.configs, r)
		}
	}
	for k := range h.clients {
		if k.ref.Account == name {
			delete(h.clients, k)
		}
	}
}

func sameAccount(a, b cloud.AWSAccount) bool {
	return fmt.Sprint(a.Regions) == fmt.Sprint(b.Regions) && a.Profile == b.Profile && a.Tenant == b.Tenant &&
		a.AccessKeyID.Reveal() == b.AccessKeyID.Reveal() && a.SecretAccessKey.Reveal() == b.SecretAccessKey.Reveal() &&
		a.SessionToken.Reveal() == b.SessionToken.Reveal() && a.RoleARN == b.RoleARN &&
		a.ExternalID.Reveal() == b.ExternalID.Reveal() && a.SessionName == b.SessionName &&
		a.EndpointURL == b.EndpointURL && a.MaxAttempts == b.MaxAttempts
}

// Accounts lists the configured account names, sorted.
func (h *Hub) Accounts() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, 0, len(h.accounts))
	for n := range h.accounts {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Account returns a configured account's definition.
func (h *Hub) Account(name string) (cloud.AWSAccount, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	a, ok := h.accounts[name]
	return a, ok
}

// Resolve fills a Ref's region and endpoint from its account: what Config
// will use. It fails for an unknown account or when no region is known.
func (h *Hub) Resolve(ctx context.Context, ref Ref) (Ref, error) {
	b, acct, err := h.base(ctx, ref.Account)
	if err != nil {
		return ref, err
	}
	if ref.Region == "" {
		ref.Region = acct.DefaultRegion()
	}
	if ref.Region == "" {
		ref.Region = b.Region
	}
	if ref.Region == "" {
		return ref, fmt.Errorf("%s: no region: set region on the check (--region) or regions on the account (or AWS_REGION)", ref)
	}
	if ref.EndpointURL == "" {
		ref.EndpointURL = acct.EndpointURL
	}
	return ref, nil
}

// Config returns the SDK configuration for ref, built once per account,
// region and endpoint. Clients made from it count their calls in the Hub's
// metrics and retry with the SDK's standard retryer.
func (h *Hub) Config(ctx context.Context, ref Ref) (sdkaws.Config, error) {
	ref, err := h.Resolve(ctx, ref)
	if err != nil {
		return sdkaws.Config{}, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if cfg, ok := h.configs[ref]; ok {
		return cfg, nil
	}
	b := h.bases[ref.Account]
	if b == nil { // forgotten by a reload meanwhile
		return sdkaws.Config{}, fmt.Errorf("%s: %w", ref, ErrUnknownAccount)
	}
	cfg := b.cfg.Copy()
	cfg.Region = ref.Region
	if ref.EndpointURL != "" {
		cfg.BaseEndpoint = sdkaws.String(ref.EndpointURL)
	}
	if h.configs == nil {
		h.configs = map[Ref]sdkaws.Config{}
	}
	h.configs[ref] = cfg
	return cfg, nil
}

// Client returns the client of one service for ref, made by build once and
// shared by every check of that account, region and endpoint.
func Client[T any](ctx context.Context, h *Hub, ref Ref, service string, build func(sdkaws.Config) T) (T, error) {
	var zero T
	ref, err := h.Resolve(ctx, ref)
	if err != nil {
		return zero, err
	}
	k := clientKey{ref, service, reflect.TypeFor[T]()}
	h.mu.Lock()
	c, ok := h.clients[k]
	h.mu.Unlock()
	if ok {
		return c.(T), nil
	}
	cfg, err := h.Config(ctx, ref)
	if err != nil {
		return zero, err
	}
	t := build(cfg)
	h.mu.Lock()
	defer h.mu.Unlock()
	if c, ok := h.clients[k]; ok { // another check built it meanwhile
		return c.(T), nil
	}
	if h.clients == nil {
		h.clients = map[clientKey]any{}
	}
	h.clients[k] = t
	return t, nil
}

// Shared returns the Hub's instance of a facility a check package shares
// across checks (a batcher, a cache), made by mk on first use. key is a
// value of a type the calling package owns.
func Shared[T any](h *Hub, key any, mk func() T) T {
	h.mu.Lock()
	defer h.mu.Unlock()
	if v, ok := h.shared[key]; ok {
		return v.(T)
	}
	v := mk()
	h.shared[key] = v
	return v
}

// base loads an account's credentials and common settings once.
func (h *Hub) base(ctx context.Context, name string) (sdkaws.Config, cloud.AWSAccount, error) {
	h.mu.Lock()
	acct, ok := h.accounts[name]
	if !ok && name != EnvAccount {
		h.mu.Unlock()
		return sdkaws.Config{}, acct, fmt.Errorf("account %q: %w (known: %v)", name, ErrUnknownAccount, h.namesLocked())
	}
	acct.Name = name
	if h.bases == nil {
		h.bases = map[string]*base{}
	}
	b := h.bases[name]
	if b == nil {
		b = &base{}
		h.bases[name] = b
	}
	h.mu.Unlock()
	b.once.Do(func() { b.cfg, b.err = h.load(context.WithoutCancel(ctx), acct) })
	if b.err != nil {
		// Let a later call try again (a profile file fixed, a network back).
		h.mu.Lock()
		if h.bases[name] == b {
			delete(h.bases, name)
		}
		h.mu.Unlock()
	}
	return b.cfg, acct, b.err
}

func (h *Hub) namesLocked() []string {
	out := make([]string, 0, len(h.accounts))
	for n := range h.accounts {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// load builds an account's base configuration: its credentials (static,
// profile or the default chain, then the role assumed on top), its
// retryer and the counting middleware.
func (h *Hub) load(ctx context.Context, acct cloud.AWSAccount) (sdkaws.Config, error) {
	attempts := acct.MaxAttempts
	if attempts <= 0 {
		attempts = DefaultMaxAttempts
	}
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRetryer(func() sdkaws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = attempts
				if h.opts.backoff != nil {
					o.Backoff = h.opts.backoff
				}
			})
		}),
		awsconfig.WithAPIOptions(h.metrics.middleware(acct.Name)),
	}
	if r := acct.DefaultRegion(); r != "" {
		opts = append(opts, awsconfig.WithRegion(r))
	}
	if acct.Profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(acct.Profile))
	}
	if !acct.AccessKeyID.IsZero() {
		opts = append(opts, awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(
			acct.AccessKeyID.Reveal(), acct.SecretAccessKey.Reveal(), acct.SessionToken.Reveal())))
	}
	if acct.EndpointURL != "" {
		opts = append(opts, awsconfig.WithBaseEndpoint(acct.EndpointURL))
	}
	if h.opts.http != nil {
		opts = append(opts, awsconfig.WithHTTPClient(h.opts.http))
	}
	opts = append(opts, h.opts.load...)
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return cfg, fmt.Errorf("account %q: load AWS configuration: %w", acct.Name, err)
	}
	if acct.RoleARN != "" {
		cfg.Credentials = sdkaws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), acct.RoleARN,
			func(o *stscreds.AssumeRoleOptions) {
				o.RoleSessionName = acct.SessionName
				if o.RoleSessionName == "" {
					o.RoleSessionName = "mamori"
				}
				if !acct.ExternalID.IsZero() {
					o.ExternalID = sdkaws.String(acct.ExternalID.Reveal())
				}
				o.Duration = time.Hour
			}))
	}
	return cfg, nil
}
