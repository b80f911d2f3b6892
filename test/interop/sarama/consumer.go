// Sarama 1.22.1 partition consumer (no consumer group) used by test/interop/sarama.test.ts.
//
// Consumes every partition of -topic from OffsetOldest until it has seen -n messages
// in total, printing one line per message:
//   <key>=<value>\tpartition=<p>\toffset=<o>\theaders=<k1>:<v1>,<k2>:<v2>
// Exits 0 once n messages were printed, 1 on error or when -timeout elapses first.
//
// Build (no network, GOPATH mode):
//   GO111MODULE=off GOPATH=<tmp>/gopath:/usr/share/gocode go build -o consumer consumer.go
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/Shopify/sarama"
)

func main() {
	brokers := flag.String("brokers", "127.0.0.1:9092", "comma-separated bootstrap servers")
	topic := flag.String("topic", "", "topic to consume")
	n := flag.Int("n", 10, "number of messages to wait for")
	timeout := flag.Duration("timeout", 30*time.Second, "give up after this long")
	flag.Parse()
	if *topic == "" {
		fmt.Fprintln(os.Stderr, "-topic is required")
		os.Exit(2)
	}

	config := sarama.NewConfig()
	config.Version = sarama.V2_2_0_0
	config.ClientID = "brook-interop-sarama-consumer"
	config.Consumer.Return.Errors = true
	config.Metadata.Retry.Max = 10
	config.Metadata.Retry.Backoff = 200 * time.Millisecond
	config.Net.DialTimeout = 5 * time.Second

	consumer, err := sarama.NewConsumer(strings.Split(*brokers, ","), config)
	if err != nil {
		fmt.Fprintf(os.Stderr, "NewConsumer: %v\n", err)
		os.Exit(1)
	}
	partitions, err := consumer.Partitions(*topic)
	if err != nil {
		fmt.Fprintf(os.Stderr, "Partitions: %v\n", err)
		os.Exit(1)
	}

	messages := make(chan *sarama.ConsumerMessage, 256)
	errs := make(chan error, 16)
	var pcs []sarama.PartitionConsumer
	for _, p := range partitions {
		pc, err := consumer.ConsumePartition(*topic, p, sarama.OffsetOldest)
		if err != nil {
			fmt.Fprintf(os.Stderr, "ConsumePartition %d: %v\n", p, err)
			os.Exit(1)
		}
		pcs = append(pcs, pc)
		go func(pc sarama.PartitionConsumer) {
			for m := range pc.Messages() {
				messages <- m
			}
		}(pc)
		go func(pc sarama.PartitionConsumer) {
			for e := range pc.Errors() {
				errs <- e
			}
		}(pc)
	}

	deadline := time.After(*timeout)
	seen := 0
	exit := 0
	for seen < *n {
		select {
		case m := <-messages:
			hs := make([]string, 0, len(m.Headers))
			for _, h := range m.Headers {
				hs = append(hs, string(h.Key)+":"+string(h.Value))
			}
			fmt.Printf("%s=%s\tpartition=%d\toffset=%d\theaders=%s\n",
				string(m.Key), string(m.Value), m.Partition, m.Offset, strings.Join(hs, ","))
			seen++
		case e := <-errs:
			fmt.Fprintf(os.Stderr, "consumer error: %v\n", e)
		case <-deadline:
			fmt.Fprintf(os.Stderr, "timeout: got %d of %d messages\n", seen, *n)
			exit = 1
			seen = *n
		}
	}
	for _, pc := range pcs {
		pc.AsyncClose()
	}
	consumer.Close()
	os.Exit(exit)
}
