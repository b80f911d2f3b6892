# A confluent-kafka-python (librdkafka 2.0.2) consume-transform-produce processor, run as a child
# process by transactions-confluent-kafka.test.ts, which kill -9s it several times. Each poll of up
# to 100 input records becomes one transaction: the transformed records go to the same partition of
# the output topic and the input positions are committed with send_offsets_to_transaction.
# Prints JSON lines {"type": "committed", "count": n}. Env: BOOTSTRAP, INPUT, OUTPUT, GROUP, TXN_ID.
import json, os, sys, time
from confluent_kafka import Consumer, Producer, TopicPartition

env = os.environ
consumer = Consumer({'bootstrap.servers': env['BOOTSTRAP'], 'group.id': env['GROUP'], 'enable.auto.commit': False,
                     'isolation.level': 'read_committed', 'auto.offset.reset': 'earliest',
                     'session.timeout.ms': 6000, 'max.poll.interval.ms': 10000})
producer = Producer({'bootstrap.servers': env['BOOTSTRAP'], 'transactional.id': env['TXN_ID'], 'linger.ms': 5})
producer.init_transactions(30)
consumer.subscribe([env['INPUT']])
while True:
    msgs = [m for m in consumer.consume(100, timeout=0.5) if not m.error()]
    if not msgs:
        continue
    producer.begin_transaction()
    for m in msgs:
        producer.produce(env['OUTPUT'], value=b'out-' + m.value(), partition=m.partition())
    # A pause inside the transaction: the test's kill (it polls every 100 ms) often lands mid-transaction,
    # and a run does not race through the input before the test sees its progress.
    time.sleep(0.02)
    positions = {}
    for m in msgs:
        positions[m.partition()] = m.offset() + 1
    offsets = [TopicPartition(env['INPUT'], p, o) for p, o in positions.items()]
    producer.send_offsets_to_transaction(offsets, consumer.consumer_group_metadata(), 30)
    producer.commit_transaction(30)
    print(json.dumps({'type': 'committed', 'count': len(msgs)}), flush=True)
