// Sarama 1.22.1 consumer-group member used by test/interop/groups-sarama.test.ts.
//
// Joins -group with sarama.NewConsumerGroup (Version V2_2_0_0: FindCoordinator v0, JoinGroup v1,
// SyncGroup/Heartbeat/LeaveGroup v0, OffsetFetch/OffsetCommit v1, Fetch v4), subscribes to -topic and
// prints one JSON object per line on stdout:
//   {"ev":"assigned","partitions":[0,1]}            when a session starts (Setup)
//   {"ev":"revoked","partitions":[0,1]}             when a session ends (Cleanup)
//   {"ev":"msg","p":0,"o":12,"v":"value"}            per consumed message (marked for commit at once)
//   {"ev":"closed"}                                 after a clean shutdown (SIGTERM/SIGINT)
// Defaults apart from Version, Offsets.Initial = OffsetOldest and -session (Consumer.Group.Session.Timeout).
// On SIGTERM/SIGINT it ends the session (offsets flushed to the coordinator), then Close() sends LeaveGroup.
//
// Build (no network, GOPATH mode):
//   GO111MODULE=off GOPATH=<tmp>/gopath:/usr/share/gocode go build -o group_consumer group_consumer.go
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/Shopify/sarama"
)

var outMu sync.Mutex

func emit(v map[string]interface{}) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	outMu.Lock()
	os.Stdout.Write(append(b, '\n'))
	outMu.Unlock()
}

type handler struct{}

func claimed(sess sarama.ConsumerGroupSession) []int32 {
	ps := []int32{}
	for _, parts := range sess.Claims() {
		ps = append(ps, parts...)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
	return ps
}

func (handler) Setup(sess sarama.ConsumerGroupSession) error {
	emit(map[string]interface{}{"ev": "assigned", "partitions": claimed(sess), "generation": sess.GenerationID()})
	return nil
}

func (handler) Cleanup(sess sarama.ConsumerGroupSession) error {
	emit(map[string]interface{}{"ev": "revoked", "partitions": claimed(sess)})
	return nil
}

func (handler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for m := range claim.Messages() {
		emit(map[string]interface{}{"ev": "msg", "p": m.Partition, "o": m.Offset, "v": string(m.Value)})
		sess.MarkMessage(m, "")
	}
	return nil
}

func main() {
	brokers := flag.String("brokers", "127.0.0.1:9092", "comma-separated bootstrap servers")
	topic := flag.String("topic", "", "topic to subscribe to")
	group := flag.String("group", "", "consumer group id")
	session := flag.Duration("session", 10*time.Second, "Consumer.Group.Session.Timeout")
	flag.Parse()
	if *topic == "" || *group == "" {
		fmt.Fprintln(os.Stderr, "-topic and -group are required")
		os.Exit(2)
	}
	sarama.Logger = log.New(os.Stderr, "[sarama] ", log.LstdFlags|log.Lmicroseconds)

	config := sarama.NewConfig()
	config.Version = sarama.V2_2_0_0
	config.ClientID = "brook-interop-sarama-group"
	config.Consumer.Offsets.Initial = sarama.OffsetOldest
	config.Consumer.Group.Session.Timeout = *session

	cg, err := sarama.NewConsumerGroup(strings.Split(*brokers, ","), *group, config)
	if err != nil {
		fmt.Fprintf(os.Stderr, "NewConsumerGroup: %v\n", err)
		os.Exit(1)
	}
	go func() {
		for e := range cg.Errors() {
			fmt.Fprintf(os.Stderr, "group error: %v\n", e)
		}
	}()

	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sigs
		cancel()
	}()

	for ctx.Err() == nil {
		// Consume returns at every rebalance; call it again, as sarama's documentation says.
		if err := cg.Consume(ctx, []string{*topic}, handler{}); err != nil {
			fmt.Fprintf(os.Stderr, "Consume: %v\n", err)
			select {
			case <-ctx.Done():
			case <-time.After(500 * time.Millisecond):
			}
		}
	}
	if err := cg.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "Close: %v\n", err)
		os.Exit(1)
	}
	emit(map[string]interface{}{"ev": "closed"})
}
