// Fixed layout of a Kafka record batch header (magic v2), as documented in Kafka's
// implementation notes. Storage, produce validation and fetch all read these fields
// straight out of the bytes the client sent, so that a batch is never re-encoded on the
// hot path: the broker only rewrites baseOffset and partitionLeaderEpoch in place.
//
//   baseOffset: int64            @0
//   batchLength: int32           @8   (bytes after this field)
//   partitionLeaderEpoch: int32  @12
//   magic: int8                  @16
//   crc: uint32                  @17  (CRC-32C of everything from attributes on)
//   attributes: int16            @21
//   lastOffsetDelta: int32       @23
//   baseTimestamp: int64         @27
//   maxTimestamp: int64          @35
//   producerId: int64            @43
//   producerEpoch: int16         @51
//   baseSequence: int32          @53
//   recordsCount: int32          @57
//   records                      @61

export const BATCH_OFFSET_BASE_OFFSET = 0;
export const BATCH_OFFSET_LENGTH = 8;
export const BATCH_OFFSET_LEADER_EPOCH = 12;
export const BATCH_OFFSET_MAGIC = 16;
export const BATCH_OFFSET_CRC = 17;
export const BATCH_OFFSET_ATTRIBUTES = 21;
export const BATCH_OFFSET_LAST_OFFSET_DELTA = 23;
export const BATCH_OFFSET_BASE_TIMESTAMP = 27;
export const BATCH_OFFSET_MAX_TIMESTAMP = 35;
export const BATCH_OFFSET_PRODUCER_ID = 43;
export const BATCH_OFFSET_PRODUCER_EPOCH = 51;
export const BATCH_OFFSET_BASE_SEQUENCE = 53;
export const BATCH_OFFSET_RECORDS_COUNT = 57;
/** Size of the v2 batch header; records start here. */
export const BATCH_HEADER_BYTES = 61;
/** baseOffset + batchLength: the part of the header not counted in batchLength. */
export const BATCH_LOG_OVERHEAD = 12;

/** Bits of the attributes field. */
export const ATTR_COMPRESSION_MASK = 0x07;
export const ATTR_TIMESTAMP_TYPE_LOG_APPEND = 0x08;
export const ATTR_TRANSACTIONAL = 0x10;
export const ATTR_CONTROL = 0x20;
export const ATTR_DELETE_HORIZON = 0x40;

export const enum CompressionType {
  None = 0,
  Gzip = 1,
  Snappy = 2,
  Lz4 = 3,
  Zstd = 4,
}

/** Total size in bytes of the batch starting at `pos` (header included). */
export function batchSizeAt(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos + BATCH_OFFSET_LENGTH) + BATCH_LOG_OVERHEAD;
}

export function baseOffsetAt(buf: Buffer, pos: number): number {
  return Number(buf.readBigInt64BE(pos + BATCH_OFFSET_BASE_OFFSET));
}

export function lastOffsetAt(buf: Buffer, pos: number): number {
  return baseOffsetAt(buf, pos) + buf.readInt32BE(pos + BATCH_OFFSET_LAST_OFFSET_DELTA);
}

export function maxTimestampAt(buf: Buffer, pos: number): number {
  return Number(buf.readBigInt64BE(pos + BATCH_OFFSET_MAX_TIMESTAMP));
}
