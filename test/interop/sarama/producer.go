// Sarama 1.22.1 SyncProducer used by test/interop/sarama.test.ts.
//
// Sends -n messages to -topic: key "<prefix>-key-<i>", value "<prefix>-value-<i>",
// headers idx=<i> and src=sarama. For each acknowledged message it prints
//   ack partition=<p> offset=<o> key=<key>
// and exits non-zero on the first error.
//
// Build (no network, GOPATH mode):
//   GO111MODULE=off GOPATH=<tmp>/gopath:/usr/share/gocode go build -o producer producer.go
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/Shopify/sarama"
)

func main() {
	brokers := flag.String("brokers", "127.0.0.1:9092", "comma-separated bootstrap servers")
	topic := flag.String("topic", "", "topic to produce to")
	n := flag.Int("n", 10, "number of messages")
	prefix := flag.String("prefix", "sarama", "key/value prefix")
	flag.Parse()
	if *topic == "" {
		fmt.Fprintln(os.Stderr, "-topic is required")
		os.Exit(2)
	}

	config := sarama.NewConfig()
	config.Version = sarama.V2_2_0_0
	config.ClientID = "brook-interop-sarama-producer"
	config.Producer.Return.Successes = true
	config.Producer.Return.Errors = true
	config.Producer.RequiredAcks = sarama.WaitForAll
	config.Producer.Retry.Max = 5
	config.Producer.Retry.Backoff = 200 * time.Millisecond
	config.Metadata.Retry.Max = 10
	config.Metadata.Retry.Backoff = 200 * time.Millisecond
	config.Net.DialTimeout = 5 * time.Second

	producer, err := sarama.NewSyncProducer(strings.Split(*brokers, ","), config)
	if err != nil {
		fmt.Fprintf(os.Stderr, "NewSyncProducer: %v\n", err)
		os.Exit(1)
	}
	for i := 0; i < *n; i++ {
		key := fmt.Sprintf("%s-key-%d", *prefix, i)
		value := fmt.Sprintf("%s-value-%d", *prefix, i)
		msg := &sarama.ProducerMessage{
			Topic: *topic,
			Key:   sarama.StringEncoder(key),
			Value: sarama.StringEncoder(value),
			Headers: []sarama.RecordHeader{
				{Key: []byte("idx"), Value: []byte(strconv.Itoa(i))},
				{Key: []byte("src"), Value: []byte("sarama")},
			},
		}
		partition, offset, err := producer.SendMessage(msg)
		if err != nil {
			fmt.Fprintf(os.Stderr, "SendMessage %d: %v\n", i, err)
			producer.Close()
			os.Exit(1)
		}
		fmt.Printf("ack partition=%d offset=%d key=%s\n", partition, offset, key)
	}
	if err := producer.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "Close: %v\n", err)
		os.Exit(1)
	}
}
