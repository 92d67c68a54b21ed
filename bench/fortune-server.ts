/**
 * The seed's fortune-teller gRPC service for the S3 benchmark (grpc-js, plaintext, its own process so that
 * its CPU is not the runner's). Usage: node fortune-server.js <port> <descriptor.pb>; prints "ready" once bound.
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const [port, descriptor] = process.argv.slice(2);
if (!port || !descriptor) throw new Error('usage: fortune-server <port> <descriptor.pb>');
const definition = protoLoader.loadFileDescriptorSetFromBuffer(readFileSync(descriptor), { keepCase: false, longs: String, enums: String, defaults: false });
const pkg = grpc.loadPackageDefinition(definition) as unknown as { build: { stack: { fortune: { FortuneTeller: grpc.ServiceClientConstructor } } } };
type Unary = (call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, cb: grpc.sendUnaryData<unknown>) => void;
const unimplemented: Unary = (_call, cb) => cb({ code: grpc.status.UNIMPLEMENTED, details: 'not in this benchmark' });
const predict: Unary = (call, cb) => {
  const user = String(call.request['user_id'] ?? call.request['userId'] ?? '');
  cb(null, { message: `${user}, a journey across the mesh awaits you`, mood: 'HAPPY', userId: user });
};
const server = new grpc.Server();
server.addService(pkg.build.stack.fortune.FortuneTeller.service, {
  Predict: predict, CreateFortune: unimplemented, GetFortune: unimplemented, ArchiveFortune: unimplemented,
  ListFortunes: unimplemented, ReadScroll: unimplemented, Ping: unimplemented,
  StreamFortunes: (call: grpc.ServerWritableStream<unknown, unknown>) => call.end(),
});
server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) throw err;
  process.stdout.write('ready\n');
});
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
