import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pipeBody } from '../../../src/proxy/http/pipe-body.js';

describe('pipeBody', () => {
  it('copies the body and settles when it ends, leaving the destination open', async () => {
    const dst = new PassThrough();
    const chunks: Buffer[] = [];
    dst.on('data', (c: Buffer) => chunks.push(c));
    await pipeBody(Readable.from([Buffer.from('a'), Buffer.from('b')], { objectMode: false }), dst);
    expect(Buffer.concat(chunks).toString()).toBe('ab');
    expect(dst.writableEnded).toBe(false);
    expect(dst.listenerCount('close')).toBe(0);
  });

  it('rejects when the body fails', async () => {
    const src = new PassThrough();
    const done = pipeBody(src, new PassThrough());
    src.destroy(new Error('upstream reset'));
    await expect(done).rejects.toThrow('upstream reset');
  });

  it('destroys the body when the destination closes first', async () => {
    const src = new PassThrough();
    const dst = new PassThrough();
    const done = pipeBody(src, dst);
    src.write('x');
    dst.destroy();
    await expect(done).rejects.toThrow('Premature close');
    expect(src.destroyed).toBe(true);
  });

  it('settles at once for a body already ended or destroyed, or a destination already gone', async () => {
    const ended = new PassThrough();
    ended.end();
    ended.resume();
    await new Promise((r) => ended.once('end', r));
    await expect(pipeBody(ended, new PassThrough())).resolves.toBeUndefined();
    const broken = new PassThrough();
    broken.destroy(new Error('gone'));
    await expect(pipeBody(broken, new PassThrough())).rejects.toThrow('gone');
    const src = new PassThrough();
    const gone = new PassThrough();
    gone.destroy();
    await expect(pipeBody(src, gone)).rejects.toThrow('Premature close');
    expect(src.destroyed).toBe(true);
  });
});
