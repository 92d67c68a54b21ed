import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { ProtoError } from './errors.js';
import { CORE_PROTO_FILES, ON_DEMAND_PROTO_FILES, findProtoFile, protoIncludeDirs } from './files.js';

/**
 * Envoy's message types, parsed from the real .proto files with protobufjs (no protoc at run time).
 * Field names are kept as written in the .proto (snake_case), which is our normalized JSON form.
 * Parsing happens once, on first use; a type outside the core set loads its package's files then.
 */
export class ProtoRegistry {
  private loaded: protobuf.Root | undefined;
  private readonly triedPackages = new Set<string>();

  constructor(private readonly includeDirs: readonly string[] = protoIncludeDirs()) {}

  /** Parses the core files now instead of on the first encode (e.g. when a server starts). */
  preload(): void {
    this.root();
  }

  /** The message type of a type URL ("type.googleapis.com/envoy.config.listener.v3.Listener"). */
  typeForUrl(typeUrl: string, path = ''): protobuf.Type {
    const slash = typeUrl.lastIndexOf('/');
    if (slash < 0 || slash === typeUrl.length - 1) {
      throw new ProtoError('ERR_PROTO_UNKNOWN_TYPE', path, `"${typeUrl}" is not a type URL`, {
        hint: 'write it as type.googleapis.com/<package>.<Message>, e.g. type.googleapis.com/envoy.config.listener.v3.Listener',
      });
    }
    return this.messageType(typeUrl.slice(slash + 1), path);
  }

  /** A message type by its full name ("envoy.config.cluster.v3.Cluster"). */
  messageType(fullName: string, path = ''): protobuf.Type {
    const found = this.lookup(fullName) ?? this.loadFor(fullName);
    if (!found) {
      throw new ProtoError('ERR_PROTO_UNKNOWN_TYPE', path, `unknown message type "${fullName}"`, {
        hint: 'check the spelling of the "@type"; it must name an Envoy v3 (or google.protobuf) message',
      });
    }
    return found;
  }

  private root(): protobuf.Root {
    if (!this.loaded) {
      const root = new protobuf.Root();
      root.resolvePath = (_origin, target) => findProtoFile(this.includeDirs, target) ?? target;
      this.load(root, [...CORE_PROTO_FILES]);
      this.loaded = root;
    }
    return this.loaded;
  }

  private load(root: protobuf.Root, files: string[]): void {
    const paths = files.map((file) => {
      const found = findProtoFile(this.includeDirs, file);
      if (!found) {
        throw new ProtoError('ERR_PROTO_LOAD', '', `${file} is not in ${this.includeDirs.join(', ')}`, {
          hint: 'run npm install: the .proto files come with the @grpc/grpc-js-xds package',
        });
      }
      return found;
    });
    try {
      root.loadSync(paths, { keepCase: true });
      root.resolveAll();
    } catch (err) {
      throw new ProtoError('ERR_PROTO_LOAD', '', `cannot parse Envoy's .proto files: ${(err as Error).message}`, { cause: err });
    }
  }

  private lookup(fullName: string): protobuf.Type | undefined {
    const found = this.root().lookup(`.${fullName}`);
    return found instanceof protobuf.Type ? found : undefined;
  }

  /** Loads the file that defines a type: a known on-demand file, or every file in its package's directory. */
  private loadFor(fullName: string): protobuf.Type | undefined {
    // hasOwn: a type URL is remote input, and "__proto__" must not find Object.prototype.
    const known = Object.hasOwn(ON_DEMAND_PROTO_FILES, fullName) ? ON_DEMAND_PROTO_FILES[fullName] : undefined;
    const pkg = packageOf(fullName);
    if (known) {
      this.load(this.root(), [known]);
    } else if (pkg && !this.triedPackages.has(pkg)) {
      this.triedPackages.add(pkg);
      const dir = pkg.replaceAll('.', '/');
      const files = this.includeDirs.flatMap((include) => {
        try {
          return readdirSync(join(include, dir)).filter((f) => f.endsWith('.proto')).map((f) => `${dir}/${f}`);
        } catch {
          return [];
        }
      });
      if (files.length > 0) this.load(this.root(), files);
    }
    return this.lookup(fullName);
  }
}

/** "envoy.config.core.v3.SocketAddress.Protocol" -> "envoy.config.core.v3" (packages are lower case). */
function packageOf(fullName: string): string | undefined {
  const parts = fullName.split('.');
  const firstType = parts.findIndex((p) => /^[A-Z]/.test(p));
  return firstType > 0 ? parts.slice(0, firstType).join('.') : undefined;
}

let shared: ProtoRegistry | undefined;

/** The process-wide registry: Envoy's .proto files are parsed once. */
export function envoyProtos(): ProtoRegistry {
  shared ??= new ProtoRegistry();
  return shared;
}
