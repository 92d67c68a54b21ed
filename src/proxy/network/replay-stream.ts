import { Duplex } from 'node:stream';

/**
 * A Duplex over `socket` that first yields `preread` (bytes already read to detect the protocol).
 * Needed for HTTP/2 prior knowledge: an Http2Session reads a net.Socket's handle directly, so bytes
 * put back with unshift() would never reach it; over a plain Duplex it reads through JavaScript.
 */
export function replayStream(socket: Duplex, preread: Buffer): Duplex {
  const duplex = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      socket.write(chunk, callback);
    },
    final(callback) {
      socket.end();
      callback();
    },
    destroy(err, callback) {
      socket.destroy(err ?? undefined);
      callback(err);
    },
  });
  duplex.push(preread);
  socket.on('data', (chunk: Buffer) => {
    if (!duplex.push(chunk)) socket.pause();
  });
  socket.on('end', () => duplex.push(null));
  socket.on('error', (err) => duplex.destroy(err));
  socket.on('close', () => duplex.destroy());
  return duplex;
}
