package service

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/rs/zerolog"

	"github.com/secretsync/secretsync/events"
	"github.com/secretsync/secretsync/providers/aws"
	"github.com/secretsync/secretsync/reconciler"
)

// maxDeliveries is how often a message is received before it is dropped
// (with a log line), so that an event whose pass keeps failing cannot loop.
const maxDeliveries = 5

// eventConsumer long-polls the SQS queue that an EventBridge rule fills with
// Secrets Manager and Parameter Store change events, and turns each into a
// targeted pass: only the ExternalSecrets that read a changed secret (or
// have a find it can change) fetch their values. A message is deleted
// after the pass that handled it succeeded for those ExternalSecrets, so
// delivery is at least once and a duplicate costs nothing more than an
// unchanged fetch. Only the leader consumes: the loop runs on the leader.
type eventConsumer struct {
	client   *sqs.Client
	queueURL string
	rec      *reconciler.Reconciler
	metrics  *metrics
	log      zerolog.Logger
	batches  chan []received
	// accounts are the AWS accounts whose events act here; others are
	// dropped (eventAccounts).
	accounts events.Accounts
	// visibility hides a received message for the wait of the event bound
	// and a pass after it.
	visibility int32
	// paused holds off receiving (while suspended): messages wait in the
	// queue instead of running out their deliveries on passes that apply
	// nothing.
	paused func() bool
}

// received is one message: its receipt handle, and the change it names.
type received struct {
	id, handle string
	change     events.Change
}

// eventItem is a received change and the ExternalSecrets it touched.
type eventItem struct {
	received
	touched []string
}

func newEventConsumer(ctx context.Context, c Config, pf *aws.Factory, rec *reconciler.Reconciler, m *metrics, log zerolog.Logger) (*eventConsumer, error) {
	client, err := pf.SQS(ctx)
	if err != nil {
		return nil, fmt.Errorf("--events-queue-url: %w", err)
	}
	accounts, err := eventAccounts(c.EventsAccounts, c.EventsQueueURL)
	if err != nil {
		return nil, err
	}
	if c.EventsMinInterval <= 0 || c.EventsMinInterval > time.Hour {
		return nil, fmt.Errorf("--events-min-interval %s: want more than 0 and at most 1h", c.EventsMinInterval)
	}
	return &eventConsumer{client: client, queueURL: c.EventsQueueURL, rec: rec, metrics: m, log: log.With().Str("queue", c.EventsQueueURL).Logger(),
		batches: make(chan []received, 16), accounts: accounts, visibility: int32((c.EventsMinInterval + 120*time.Second).Seconds())}, nil
}

// eventAccounts are the accounts whose events the instance acts on: those
// of --events-accounts, or else the queue's own account (the path's first
// segment of https://sqs.REGION.amazonaws.com/ACCOUNT/NAME), which is where
// an EventBridge rule of the default bus runs. Stores' role ARNs are not
// taken: they come from Git, and a repo writer must not widen the set.
func eventAccounts(list, queueURL string) (events.Accounts, error) {
	if strings.TrimSpace(list) != "" {
		a, err := events.ParseAccounts(list)
		if err != nil {
			return nil, fmt.Errorf("--events-accounts: %w", err)
		}
		return a, nil
	}
	u, err := url.Parse(queueURL)
	if err != nil {
		return nil, fmt.Errorf("--events-queue-url: %w", err)
	}
	first, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	a, err := events.ParseAccounts(first)
	if err != nil || len(a) == 0 {
		return nil, fmt.Errorf("--events-queue-url %s names no account id; list the accounts to act on with --events-accounts", queueURL)
	}
	return a, nil
}

// eventBatches is the channel of received batches; nil (never ready)
// without a consumer.
func (s *Service) eventBatches() <-chan []received {
	if s.events == nil {
		return nil
	}
	return s.events.batches
}

// consume receives until ctx ends: up to ten messages a call, waiting up to
// 20 s for the first (long polling, so an idle queue costs three calls a
// minute). Malformed, foreign and poison messages are deleted here.
func (e *eventConsumer) consume(ctx context.Context) {
	for ctx.Err() == nil {
		if e.paused != nil && e.paused() {
			select {
			case <-ctx.Done():
			case <-time.After(2 * time.Second):
			}
			continue
		}
		out, err := e.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: awssdk.String(e.queueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 20, VisibilityTimeout: e.visibility,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount},
		})
		if err != nil {
			if ctx.Err() == nil {
				e.log.Warn().Err(err).Msg("receive events; retrying in 5 s")
				select {
				case <-ctx.Done():
				case <-time.After(5 * time.Second):
				}
			}
			continue
		}
		var batch []received
		for _, m := range out.Messages {
			e.metrics.events.WithLabelValues("received").Inc()
			id := awssdk.ToString(m.MessageId)
			c, err := events.Parse([]byte(awssdk.ToString(m.Body)), e.accounts)
			deliveries, _ := strconv.Atoi(m.Attributes[string(sqstypes.MessageSystemAttributeNameApproximateReceiveCount)])
			outcome := "ignored"
			switch {
			case errors.Is(err, events.ErrForeign):
				e.log.Info().Str("message_id", id).Msg("event ignored: not a change secretsync reads")
			case errors.Is(err, events.ErrOtherAccount):
				// The reason names the account, never the body.
				outcome = "other_account"
				e.log.Warn().Str("message_id", id).Str("reason", err.Error()).Msg("event dropped: not an account this instance reads (--events-accounts)")
			case errors.Is(err, events.ErrFailedCall):
				outcome = "failed_call"
				e.log.Info().Str("message_id", id).Str("reason", err.Error()).Msg("event ignored: the call failed")
			case err != nil:
				// The reason names the JSON problem, not the body.
				e.log.Warn().Str("message_id", id).Str("reason", err.Error()).Msg("event dropped: malformed")
			case deliveries > maxDeliveries:
				e.log.Warn().Str("message_id", id).Int("deliveries", deliveries).Strs("names", c.Names).Msg("event dropped: its passes kept failing")
			default:
				batch = append(batch, received{id: id, handle: awssdk.ToString(m.ReceiptHandle), change: c})
				continue
			}
			e.metrics.events.WithLabelValues(outcome).Inc()
			e.delete(ctx, id, awssdk.ToString(m.ReceiptHandle))
		}
		if len(batch) > 0 {
			select {
			case e.batches <- batch:
			case <-ctx.Done():
			}
		}
	}
}

// take marks the ExternalSecrets each change names for the next pass,
// with every batch already waiting (a burst makes one pass). Changes that
// name none are deleted at once; nil means no pass is needed.
func (e *eventConsumer) take(ctx context.Context, first []received) []eventItem {
	all := first
	for more := true; more; {
		select {
		case b := <-e.batches:
			all = append(all, b...)
		default:
			more = false
		}
	}
	var pending []eventItem
	for _, r := range all {
		touched := e.rec.Touch(r.change.Names, r.change.Listing)
		if len(touched) == 0 {
			e.metrics.events.WithLabelValues("unmatched").Inc()
			e.delete(ctx, r.id, r.handle)
			continue
		}
		e.metrics.events.WithLabelValues("matched").Inc()
		pending = append(pending, eventItem{received: r, touched: touched})
	}
	return pending
}

// settle deletes the messages whose ExternalSecrets the pass applied and
// PushSecrets it pushed (a failed push stays due: its event comes back), and
// records how long each event took to reach the cluster; the others come
// back after their visibility timeout, to be tried again.
func (e *eventConsumer) settle(ctx context.Context, items []eventItem, res *reconciler.Result) {
	for _, it := range items {
		ok := res != nil
		for _, id := range it.touched {
			ok = ok && !res.TouchedFailed(id)
		}
		if !ok {
			e.log.Warn().Str("message_id", it.id).Strs("externalSecrets", it.touched).Msg("event kept for a retry: its pass did not apply every ExternalSecret it names")
			continue
		}
		if !it.change.Time.IsZero() {
			e.metrics.eventLag.Observe(time.Since(it.change.Time).Seconds())
		}
		e.delete(ctx, it.id, it.handle)
	}
}

func (e *eventConsumer) delete(ctx context.Context, id, handle string) {
	if _, err := e.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: awssdk.String(e.queueURL), ReceiptHandle: awssdk.String(handle)}); err != nil {
		e.log.Warn().Err(err).Str("message_id", id).Msg("delete event message; it will be received again")
	}
}
