package service

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/rs/zerolog"
	"github.com/sivchari/kumo"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/gitsource"
	"github.com/secretsync/secretsync/internal/awstest"
	"github.com/secretsync/secretsync/internal/gittest"
	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/internal/testenv"
	awsprov "github.com/secretsync/secretsync/providers/aws"
	"github.com/secretsync/secretsync/reconciler"
)

// TestAnAWSEventPutsAPushedSecretBack runs the service with an events
// queue (kumo's SQS, behind a proxy that reads the remote secret at every
// DeleteMessage), smserver and the real control plane, with an hour-long
// poll, so that only an event explains a pass. A person changes a pushed
// remote secret in AWS (PutSecretValue); the EventBridge event naming it
// comes through the queue, the PushSecret that pushed it is touched, its
// pass puts the source's value back, and the message is deleted after.
//
// The instance first ran with "ops" not among its own namespaces (its pod
// then lived elsewhere), so a PushSecret there pushed and has rows; now
// "ops" is its pod's namespace, the PushSecret is refused, and an event
// naming what it pushed touches nothing: no pass, no AWS call, the message
// deleted at once.
func TestAnAWSEventPutsAPushedSecretBack(t *testing.T) {
	awstest.Isolate(t)
	dir := t.TempDir()
	kube, err := testenv.Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kube.Stop() })
	ctx := context.Background()
	for _, ns := range []string{"secretsync", "app", "ops"} {
		if _, err := kube.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var seeded leaktest.Canaries
	pushedValue, opsValue, changed := leaktest.Canary(), leaktest.Canary(), leaktest.Canary()
	seeded.Add(pushedValue, opsValue, changed)
	for ns, v := range map[string]string{"app": pushedValue, "ops": opsValue} {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "src", Namespace: ns}, Data: map[string][]byte{"k": []byte(v)}}
		if _, err := kube.Client.CoreV1().Secrets(ns).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	repo, err := gittest.Init(filepath.Join(dir, "repo"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, ns := range []string{"app", "ops"} {
		files[ns+".yaml"] = fmt.Sprintf(`apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: aws, namespace: %[1]s}
spec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: p, namespace: %[1]s}
spec:
  secretStoreRefs: [{name: aws}]
  selector: {secret: {name: src}}
  data: [{match: {secretKey: k, remoteRef: {remoteKey: %[1]s/k}}}]
`, ns)
	}
	if _, err := repo.Commit("push", files); err != nil {
		t.Fatal(err)
	}

	sm := awstest.StartSM(t)
	remote := func(name string) string {
		out, err := sm.Client().GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: awssdk.String(name)})
		if err != nil {
			return ""
		}
		if out.SecretString != nil {
			return *out.SecretString
		}
		return string(out.SecretBinary)
	}
	k := kumo.NewServer()
	t.Cleanup(k.Close)
	kumoURL, err := url.Parse(k.URL)
	if err != nil {
		t.Fatal(err)
	}
	// atDelete records each DeleteMessage and, while readAtDelete is set
	// (its read is an AWS call), whether app/k then held the source's
	// value (never the value itself).
	var mu sync.Mutex
	var atDelete []bool
	var readAtDelete atomic.Bool
	forward := httputil.NewSingleHostReverseProxy(kumoURL)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") == "AmazonSQS.DeleteMessage" {
			held := readAtDelete.Load() && remote("app/k") == pushedValue
			mu.Lock()
			atDelete = append(atDelete, held)
			mu.Unlock()
		}
		forward.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	deletes := func() []bool { mu.Lock(); defer mu.Unlock(); return slices.Clone(atDelete) }
	q := sqs.New(sqs.Options{Region: awstest.Region, BaseEndpoint: awssdk.String(k.URL), Credentials: credentials.NewStaticCredentialsProvider("AKIDSEED", "seed", "")})
	created, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: awssdk.String("secretsync-events")})
	if err != nil {
		t.Fatal(err)
	}
	queue := awssdk.ToString(created.QueueUrl)
	const account = "111122223333"
	send := func(t *testing.T, secretID string) {
		t.Helper()
		body := fmt.Sprintf(`{"account":%q,"source":"aws.secretsmanager","detail-type":"AWS API Call via CloudTrail","time":%q,"detail":{"eventSource":"secretsmanager.amazonaws.com","eventName":"PutSecretValue","requestParameters":{"secretId":%q}}}`,
			account, time.Now().UTC().Format(time.RFC3339), secretID)
		if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: awssdk.String(queue), MessageBody: awssdk.String(body)}); err != nil {
			t.Fatal(err)
		}
	}
	queueEmpty := func() bool {
		out, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: awssdk.String(queue),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
		return err == nil && out.Attributes["ApproximateNumberOfMessages"] == "0" && out.Attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
	}
	waitFor := func(t *testing.T, what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); !ok(); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}

	logs := &lockedLog{}
	pf := awsprov.NewFactory(awsprov.Options{Endpoint: sm.URL, SQSEndpoint: proxy.URL, DefaultRegion: awstest.Region})
	newReconciler := func(own ...string) *reconciler.Reconciler {
		src, err := gitsource.New(gitsource.Options{URL: "file://" + repo.Dir, Ref: "main", Dir: filepath.Join(dir, "work")})
		if err != nil {
			t.Fatal(err)
		}
		rec, err := reconciler.New(reconciler.Config{Instance: "secretsync", InventoryNamespace: "secretsync", Path: ".", OwnNamespaces: own},
			src, kube.Client, pf, zerolog.New(logs).Level(zerolog.DebugLevel))
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	// The earlier process: both PushSecrets push.
	if res := newReconciler("secretsync").Pass(ctx, false); !res.OK() || res.Pushed != 2 {
		t.Fatalf("the earlier process's pass: pushed %d, %v", res.Pushed, res.Errors)
	}

	rec := newReconciler("ops", "secretsync")
	runCtx, cancel := context.WithCancel(ctx)
	s, err := New(runCtx, Config{Instance: "secretsync", InventoryNamespace: "secretsync", Interval: time.Hour, PassTimeout: time.Minute, ShutdownTimeout: time.Second,
		EventsQueueURL: queue, EventsAccounts: account, EventsMinInterval: time.Second}, rec, pf, kube.Client, zerolog.New(logs))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	var passes atomic.Int32
	s.pass = func(ctx context.Context, force bool) reconciler.Result {
		defer passes.Add(1)
		return rec.Pass(ctx, force)
	}
	exited := make(chan int, 1)
	go func() { exited <- s.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		<-exited
		seeded.Check(t, "the service's log", logs.String())
	})
	waitFor(t, "the service's first pass", func() bool { return passes.Load() == 1 })

	t.Run("a change made in AWS to a pushed secret is put back by its event's pass, and the message deleted after", func(t *testing.T) {
		readAtDelete.Store(true)
		defer readAtDelete.Store(false)
		sm.Put(t, "app/k", changed)
		had := len(deletes())
		send(t, "arn:aws:secretsmanager:us-east-1:"+account+":secret:app/k-AbCdEf")
		waitFor(t, "the source's value back in app/k", func() bool { return remote("app/k") == pushedValue })
		waitFor(t, "the message to be deleted", queueEmpty)
		if got := deletes()[had:]; !slices.Equal(got, []bool{true}) {
			t.Fatalf("deletions of the event's message, each whether app/k held the source's value then: %v; want one, after the put-back", got)
		}
	})

	t.Run("an event for what a PushSecret of secretsync's own namespace pushed touches nothing", func(t *testing.T) {
		before, calls, had := passes.Load(), sm.SM.TotalCalls(), len(deletes())
		send(t, "ops/k")
		waitFor(t, "the message to be deleted", queueEmpty)
		if n := len(deletes()) - had; n != 1 {
			t.Fatalf("%d deletions, want the message deleted once", n)
		}
		if n := passes.Load() - before; n != 0 {
			t.Fatalf("%d passes for an event naming only a refused PushSecret's remote secret", n)
		}
		if n := sm.SM.TotalCalls() - calls; n != 0 {
			t.Fatalf("%d AWS calls for an event naming only a refused PushSecret's remote secret", n)
		}
		if remote("ops/k") != opsValue {
			t.Fatal("ops/k changed")
		}
	})
}

// lockedLog is the service's log, written from its goroutines.
type lockedLog struct {
	mu sync.Mutex
	b  []byte
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *lockedLog) String() string { l.mu.Lock(); defer l.mu.Unlock(); return string(l.b) }
