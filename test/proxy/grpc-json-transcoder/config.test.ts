import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grpcJsonTranscoderFactory } from '../../../src/proxy/http/filters/grpc-json-transcoder/index.js';
import type { FieldError } from '../../../src/proxy/http/filter.js';
import { run, tempDir } from '../../helpers/index.js';
import { FORTUNE_SERVICE, GOOGLEAPIS_DIR, compileFortuneDescriptor, descriptorBase64 } from './fortune.js';

let dir: string;
let cleanup: () => Promise<void>;
let descriptor: string;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('transcoder-config-'));
  descriptor = await compileFortuneDescriptor(dir);
});
afterAll(async () => cleanup());

async function errorsOf(config: Record<string, unknown>, baseDir = dir): Promise<FieldError[]> {
  const result = await grpcJsonTranscoderFactory.create(config, { baseDir });
  if (result.valid) throw new Error('expected the config to be rejected');
  return result.errors;
}

describe('grpcJsonTranscoderFactory config', () => {
  it("is registered under Envoy's name and v3 type URL", () => {
    expect(grpcJsonTranscoderFactory.name).toBe('envoy.filters.http.grpc_json_transcoder');
    expect(grpcJsonTranscoderFactory.typeUrls).toContain('type.googleapis.com/envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder');
  });

  it('accepts the seed config, resolving a relative proto_descriptor against baseDir', async () => {
    const result = await grpcJsonTranscoderFactory.create(
      {
        proto_descriptor: 'fortune.pb',
        services: [FORTUNE_SERVICE],
        print_options: { add_whitespace: true, always_print_primitive_fields: true, always_print_enums_as_ints: false, preserve_proto_field_names: false },
        convert_grpc_status: true,
      },
      { baseDir: dir },
    );
    expect(result.valid).toBe(true);
  });

  it('accepts proto_descriptor_bin and every supported flag', async () => {
    const result = await grpcJsonTranscoderFactory.create(
      {
        proto_descriptor_bin: await descriptorBase64(descriptor),
        services: [FORTUNE_SERVICE],
        match_incoming_request_route: true,
        ignored_query_parameters: ['api_key'],
        ignore_unknown_query_parameters: true,
        auto_mapping: true,
        query_param_unescape_plus: true,
        convert_grpc_status: false,
      },
      { baseDir: '/nonexistent' },
    );
    expect(result.valid).toBe(true);
  });

  it('names a service missing from the descriptor by its index', async () => {
    expect(await errorsOf({ proto_descriptor: descriptor, services: [FORTUNE_SERVICE, 'build.stack.fortune.Missing', 'FortuneTeller'] })).toEqual([
      { path: 'services[1]', message: expect.stringContaining("service 'build.stack.fortune.Missing' is not in the proto descriptor") as string },
      { path: 'services[2]', message: expect.stringContaining("service 'FortuneTeller' is not in the proto descriptor") as string },
    ]);
  });

  it('rejects fields it does not support, at any level', async () => {
    expect(
      await errorsOf({ proto_descriptor: descriptor, services: [FORTUNE_SERVICE], max_request_body_size: 10, print_options: { indent: 2 } }),
    ).toEqual([
      { path: 'max_request_body_size', message: 'unsupported field' },
      { path: 'print_options.indent', message: 'unsupported field' },
    ]);
  });

  it('checks types with field paths', async () => {
    const errors = await errorsOf({
      proto_descriptor: descriptor,
      services: ['ok', 7],
      convert_grpc_status: 'yes',
      print_options: { add_whitespace: 1 },
      ignored_query_parameters: 'api_key',
    });
    expect(errors.map((e) => e.path).sort()).toEqual(['convert_grpc_status', 'ignored_query_parameters', 'print_options.add_whitespace', 'services[1]']);
  });

  it('requires exactly one descriptor source and at least one service', async () => {
    expect(await errorsOf({ services: [FORTUNE_SERVICE] })).toEqual([
      { path: 'proto_descriptor', message: 'one of proto_descriptor or proto_descriptor_bin is required' },
    ]);
    expect((await errorsOf({ proto_descriptor: descriptor, proto_descriptor_bin: 'AAAA', services: [FORTUNE_SERVICE] }))[0]?.path).toBe('proto_descriptor');
    expect(await errorsOf({ proto_descriptor: descriptor, services: [] })).toEqual([{ path: 'services', message: expect.stringContaining('at least one') as string }]);
    expect((await errorsOf({ proto_descriptor: descriptor }))[0]?.path).toBe('services');
  });

  it('reports an unreadable or unparsable descriptor on the field that named it', async () => {
    const missing = await errorsOf({ proto_descriptor: 'nope.pb', services: [FORTUNE_SERVICE] });
    expect(missing).toEqual([{ path: 'proto_descriptor', message: expect.stringContaining(`cannot read descriptor set file ${join(dir, 'nope.pb')} (ENOENT)`) as string }]);

    const garbage = join(dir, 'garbage.pb');
    await writeFile(garbage, Buffer.from([0xff, 0xff, 0xff, 0xff]));
    expect((await errorsOf({ proto_descriptor: garbage, services: [FORTUNE_SERVICE] }))[0]?.message).toContain('not a serialized FileDescriptorSet');

    expect(await errorsOf({ proto_descriptor_bin: 'not base64!', services: [FORTUNE_SERVICE] })).toEqual([
      { path: 'proto_descriptor_bin', message: 'must be the base64 of a serialized FileDescriptorSet' },
    ]);
  });

  it('explains a descriptor compiled without --include_imports', async () => {
    const partial = await compileFortuneDescriptor(dir, { includeImports: false });
    const errors = await errorsOf({ proto_descriptor: partial, services: [FORTUNE_SERVICE] });
    expect(errors).toHaveLength(1);
    expect(errors[0]?.path).toBe('proto_descriptor');
    expect(errors[0]?.message).toContain('--include_imports');
  });

  it('requires google.api.http in the descriptor set unless auto_mapping is on', async () => {
    // A service without annotations: the set then has no google/api/http.proto at all.
    const plainDir = join(dir, 'plain');
    await mkdir(plainDir, { recursive: true });
    await writeFile(join(plainDir, 'plain.proto'), 'syntax = "proto3";\npackage plain;\nmessage M { string a = 1; }\nservice S { rpc Do(M) returns (M); }\n');
    const out = join(plainDir, 'plain.pb');
    expect((await run('protoc', [`-I${plainDir}`, '--include_imports', `--descriptor_set_out=${out}`, 'plain.proto'])).code).toBe(0);

    const errors = await errorsOf({ proto_descriptor: out, services: ['plain.S'] });
    expect(errors).toEqual([{ path: 'proto_descriptor', message: expect.stringContaining('google.api.http') as string }]);
    expect((await grpcJsonTranscoderFactory.create({ proto_descriptor: out, services: ['plain.S'], auto_mapping: true }, { baseDir: dir })).valid).toBe(true);
  });

  it('rejects http rules that name missing fields or clash with another method', async () => {
    const badDir = join(dir, 'bad');
    await mkdir(badDir, { recursive: true });
    await writeFile(
      join(badDir, 'bad.proto'),
      [
        'syntax = "proto3";',
        'package bad;',
        'import "google/api/annotations.proto";',
        'message M { string a = 1; }',
        'service S {',
        '  rpc Get(M) returns (M) { option (google.api.http) = { get: "/v1/{b}" }; }',
        '  rpc Post(M) returns (M) { option (google.api.http) = { post: "/v1/m" body: "c" }; }',
        '  rpc Find(M) returns (M) { option (google.api.http) = { get: "/v1/{a}" }; }',
        '  rpc Dup(M) returns (M) { option (google.api.http) = { get: "/v1/{a}" }; }',
        '}',
      ].join('\n'),
    );
    const out = join(badDir, 'bad.pb');
    const compiled = await run('protoc', [`-I${badDir}`, `-I${GOOGLEAPIS_DIR}`, '--include_imports', `--descriptor_set_out=${out}`, 'bad.proto']);
    expect(compiled.stderr).toBe('');
    const errors = await errorsOf({ proto_descriptor: out, services: ['bad.S'] });
    expect(errors).toEqual([
      { path: 'services[0]', message: "method bad.S.Get, http rule GET /v1/{b}: 'b' is not a field of bad.M" },
      { path: 'services[0]', message: "method bad.S.Post, http rule POST /v1/m: 'c' is not a field of bad.M" },
      { path: 'services[0]', message: 'method bad.S.Dup, http rule GET /v1/{a}: conflicts with /bad.S/Find (GET /v1/{a})' },
    ]);
  });
});
