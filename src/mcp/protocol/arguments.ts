import { AjvJsonSchemaValidator } from '@modelcontextprotocol/server/validators/ajv';
import type { ToolDefinition } from '../types.js';

type Check = (args: unknown) => string | undefined;

/**
 * Validates tool arguments against the tool's inputSchema before anything is sent upstream. The
 * SDK's validator (Ajv 2020-12 with formats, all errors) is reused; each schema is compiled on the
 * first call of its tool, so a 1,200-tool catalog costs nothing until it is used.
 */
export class ArgumentChecker {
  private readonly validator = new AjvJsonSchemaValidator();
  private readonly compiled = new WeakMap<ToolDefinition, Check>();

  /** A message naming every failing field, or undefined when the arguments fit the schema. */
  check(tool: ToolDefinition, args: Record<string, unknown>): string | undefined {
    let check = this.compiled.get(tool);
    if (!check) {
      check = this.compile(tool);
      this.compiled.set(tool, check);
    }
    return check(args);
  }

  private compile(tool: ToolDefinition): Check {
    let validate: ReturnType<AjvJsonSchemaValidator['getValidator']>;
    try {
      validate = this.validator.getValidator(tool.inputSchema);
    } catch {
      // A schema Ajv cannot compile (say an unknown dialect) must not make the tool uncallable;
      // the upstream API still validates what it receives.
      return () => undefined;
    }
    return (args) => {
      const result = validate(args);
      if (result.valid) return undefined;
      // Ajv names the root "data"; callers know it as the tool's arguments.
      return result.errorMessage
        .replace(/(^|, )data(?=[/ ])/g, '$1arguments')
        .replace(/, (?=arguments)/g, '; ');
    };
  }
}
