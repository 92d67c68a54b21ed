/**
 * Registers every method of the configured services in a PathMatcher, resolving each binding's path
 * variables, body and response_body against the method's message types once, at config time.
 */
import type { DescExtension, DescField, DescMethod, FileRegistry } from '@bufbuild/protobuf';
import type { FieldError } from '../../filter.js';
import { httpRuleOf } from './descriptors.js';
import { resolveFieldPath } from './field-path.js';
import { httpBindings } from './http-bindings.js';
import type { HttpBinding } from './http-bindings.js';
import { PathMatcher } from './path-matcher.js';
import { parsePathTemplate } from './path-template.js';
import type { PathTemplate } from './path-template.js';

export interface MethodRoute {
  readonly method: DescMethod;
  /** The full gRPC path, "/package.Service/Method". */
  readonly grpcPath: string;
  readonly binding: HttpBinding;
  /** undefined: the request has no body; '*': the body is the whole message; else the body field. */
  readonly body: '*' | readonly DescField[] | undefined;
  /** The response field sent as the HTTP body (response_body), or undefined for the whole message. */
  readonly responseBody: readonly DescField[] | undefined;
}

export type MethodRoutes = { valid: true; matcher: PathMatcher<MethodRoute> } | { valid: false; errors: FieldError[] };

function describe(binding: HttpBinding): string {
  return `${binding.httpMethod} ${binding.pathTemplate}`;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Throws PathTemplateError or FieldPathError when the rule does not fit the method's messages. */
function routeFor(method: DescMethod, binding: HttpBinding): { route: MethodRoute; template: PathTemplate } {
  const template = parsePathTemplate(binding.pathTemplate);
  for (const variable of template.variables) resolveFieldPath(method.input, variable.fieldPath);
  const body: MethodRoute['body'] =
    binding.body === '' ? undefined : binding.body === '*' ? '*' : resolveFieldPath(method.input, binding.body.split('.'));
  const responseBody = binding.responseBody === '' ? undefined : resolveFieldPath(method.output, binding.responseBody.split('.'));
  const route: MethodRoute = { method, grpcPath: `/${method.parent.typeName}/${method.name}`, binding, body, responseBody };
  return { route, template };
}

export function buildMethodRoutes(
  registry: FileRegistry,
  services: readonly string[],
  httpRule: DescExtension | undefined,
  autoMapping: boolean,
): MethodRoutes {
  const matcher = new PathMatcher<MethodRoute>();
  const errors: FieldError[] = [];
  services.forEach((serviceName, i) => {
    const path = `services[${i}]`;
    const service = registry.getService(serviceName);
    if (!service) {
      errors.push({ path, message: `service '${serviceName}' is not in the proto descriptor (use its fully qualified name, package.Service)` });
      return;
    }
    for (const method of service.methods) {
      let rule;
      try {
        rule = httpRuleOf(method, httpRule);
      } catch (err) {
        errors.push({ path, message: `method ${service.typeName}.${method.name}: cannot read its google.api.http option: ${message(err)}` });
        continue;
      }
      for (const binding of httpBindings(method, rule, autoMapping)) {
        const where = `method ${service.typeName}.${method.name}, http rule ${describe(binding)}`;
        let resolved: ReturnType<typeof routeFor>;
        try {
          resolved = routeFor(method, binding);
        } catch (err) {
          errors.push({ path, message: `${where}: ${message(err)}` });
          continue;
        }
        const { route, template } = resolved;
        const existing = matcher.register(binding.httpMethod, template, route);
        if (existing) {
          errors.push({ path, message: `${where}: conflicts with ${existing.grpcPath} (${describe(existing.binding)})` });
        }
      }
    }
  });
  return errors.length > 0 ? { valid: false, errors } : { valid: true, matcher };
}
