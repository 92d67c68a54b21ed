/**
 * Envoy's print_options (protobuf's JsonPrintOptions) mapped onto @bufbuild/protobuf's JSON writer.
 */
import type { JsonValue, JsonWriteOptions, Registry } from '@bufbuild/protobuf';

export interface PrintOptions {
  readonly addWhitespace: boolean;
  readonly alwaysPrintPrimitiveFields: boolean;
  readonly alwaysPrintEnumsAsInts: boolean;
  readonly preserveProtoFieldNames: boolean;
}

export const DEFAULT_PRINT_OPTIONS: PrintOptions = {
  addWhitespace: false,
  alwaysPrintPrimitiveFields: false,
  alwaysPrintEnumsAsInts: false,
  preserveProtoFieldNames: false,
};

export function jsonWriteOptions(print: PrintOptions, registry: Registry): JsonWriteOptions {
  return {
    alwaysEmitImplicit: print.alwaysPrintPrimitiveFields,
    enumAsInteger: print.alwaysPrintEnumsAsInts,
    useProtoFieldName: print.preserveProtoFieldNames,
    registry,
  };
}

/** Serialises like protobuf's C++ JSON writer: add_whitespace indents by one space and ends with a newline. */
export function printJson(value: JsonValue, print: PrintOptions): string {
  return print.addWhitespace ? `${JSON.stringify(value, null, 1)}\n` : JSON.stringify(value);
}
