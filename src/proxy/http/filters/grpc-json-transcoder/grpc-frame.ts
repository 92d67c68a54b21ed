/**
 * gRPC length-prefixed messages: a 1-byte compressed flag, a 4-byte big-endian length, the message.
 */

export class GrpcFrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GrpcFrameError';
  }
}

const PREFIX = 5;

export function encodeGrpcFrames(messages: readonly Uint8Array[]): Buffer {
  const total = messages.reduce((sum, m) => sum + PREFIX + m.length, 0);
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  for (const message of messages) {
    out[offset] = 0; // uncompressed: we never negotiate grpc-encoding with the upstream
    out.writeUInt32BE(message.length, offset + 1);
    out.set(message, offset + PREFIX);
    offset += PREFIX + message.length;
  }
  return out;
}

/** Splits a whole gRPC body into its messages; throws GrpcFrameError on truncated or compressed data. */
export function decodeGrpcFrames(data: Buffer): Buffer[] {
  const messages: Buffer[] = [];
  let offset = 0;
  while (offset < data.length) {
    if (data.length - offset < PREFIX) throw new GrpcFrameError(`truncated gRPC frame header at byte ${offset}`);
    const flag = data[offset] as number;
    const length = data.readUInt32BE(offset + 1);
    const start = offset + PREFIX;
    if (data.length - start < length) {
      throw new GrpcFrameError(`truncated gRPC message: header says ${length} bytes, ${data.length - start} received`);
    }
    if (flag !== 0) throw new GrpcFrameError('the upstream sent a compressed gRPC message, which cannot be transcoded');
    messages.push(data.subarray(start, start + length));
    offset = start + length;
  }
  return messages;
}
