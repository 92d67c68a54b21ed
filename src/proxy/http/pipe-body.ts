import type { Readable } from 'node:stream';

/** A downstream response (node:http or the HTTP/2 compatibility API). */
type Destination = NodeJS.WritableStream & { readonly destroyed?: boolean };

/** Stays on both streams, as pipeline's listeners do: a late 'error' (the body destroyed below) is not uncaught. */
function ignore(): void {}

function prematureClose(): Error {
  return Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
}

/**
 * Pipes a response body into the downstream response without ending it, settled when the body has
 * ended: what `pipeline(src, dst, { end: false })` of node:stream/promises does here, without its
 * per-call AbortController (whose abort() on completion builds a DOMException for every request).
 * The body failing or closing early rejects; the downstream closing or failing first rejects and
 * destroys the body, which resets the upstream request.
 */
export function pipeBody(src: Readable, dst: Destination): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const cleanup = (): void => {
      settled = true;
      src.off('end', onEnd);
      src.off('error', onError);
      src.off('close', onSrcClose);
      dst.off('close', onDstClose);
      dst.off('error', onError);
    };
    const fail = (err: Error): void => {
      if (settled) return;
      cleanup();
      src.unpipe(dst);
      if (!src.destroyed) src.destroy(err);
      reject(err);
    };
    function onEnd(): void {
      if (settled) return;
      cleanup();
      resolve();
    }
    function onError(err: Error): void {
      fail(err);
    }
    function onSrcClose(): void {
      if (!src.readableEnded) fail(src.errored ?? prematureClose());
    }
    function onDstClose(): void {
      fail(prematureClose());
    }
    src.on('error', ignore);
    dst.on('error', ignore);
    if (src.readableEnded) return resolve();
    if (src.destroyed) return reject(src.errored ?? prematureClose());
    if (dst.destroyed) return fail(prematureClose());
    src.on('end', onEnd);
    src.on('error', onError);
    src.on('close', onSrcClose);
    dst.on('close', onDstClose);
    dst.on('error', onError);
    src.pipe(dst, { end: false });
  });
}
