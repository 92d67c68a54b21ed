/**
 * The HTTP bindings of a method: its google.api.http rule and additional_bindings, or with auto_mapping
 * and no rule, `POST /<package.Service>/<Method>` with the whole message as body.
 */
import type { DescMethod } from '@bufbuild/protobuf';
import type { HttpRuleJson } from './descriptors.js';
import { ANY_HTTP_METHOD } from './path-matcher.js';

export interface HttpBinding {
  readonly httpMethod: string;
  readonly pathTemplate: string;
  /** '' for no body, '*' for the whole request message, else a field path. */
  readonly body: string;
  /** '' for the whole response message, else a field path. */
  readonly responseBody: string;
}

function pattern(rule: HttpRuleJson): { httpMethod: string; pathTemplate: string } | undefined {
  if (rule.get !== undefined) return { httpMethod: 'GET', pathTemplate: rule.get };
  if (rule.put !== undefined) return { httpMethod: 'PUT', pathTemplate: rule.put };
  if (rule.post !== undefined) return { httpMethod: 'POST', pathTemplate: rule.post };
  if (rule.delete !== undefined) return { httpMethod: 'DELETE', pathTemplate: rule.delete };
  if (rule.patch !== undefined) return { httpMethod: 'PATCH', pathTemplate: rule.patch };
  if (rule.custom?.path !== undefined) {
    const kind = rule.custom.kind ?? '';
    return { httpMethod: kind === ANY_HTTP_METHOD ? kind : kind.toUpperCase(), pathTemplate: rule.custom.path };
  }
  return undefined;
}

function binding(rule: HttpRuleJson): HttpBinding | undefined {
  const p = pattern(rule);
  return p && { ...p, body: rule.body ?? '', responseBody: rule.response_body ?? '' };
}

export function httpBindings(method: DescMethod, rule: HttpRuleJson | undefined, autoMapping: boolean): HttpBinding[] {
  if (!rule) {
    if (!autoMapping) return [];
    return [{ httpMethod: 'POST', pathTemplate: `/${method.parent.typeName}/${method.name}`, body: '*', responseBody: '' }];
  }
  // additional_bindings nest only one level deep (HttpRule spec), so theirs are ignored.
  return [rule, ...(rule.additional_bindings ?? [])].map(binding).filter((b): b is HttpBinding => b !== undefined);
}
