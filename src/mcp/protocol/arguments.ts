import { ArgumentValidator, describeErrors } from '../validate.js';
import type { ToolDefinition } from '../types.js';

/**
 * Validates tool arguments against the tool's inputSchema before anything is sent upstream (Ajv
 * 2020-12 with formats, every error, own properties only so an argument named `toString` is not found
 * on Object.prototype). Each schema is compiled on the first call of its tool, so a 1,200-tool
 * catalog costs nothing until it is used.
 */
export class ArgumentChecker {
  private readonly validator = new ArgumentValidator();

  /** One line per failing field (`petId: must be integer`), or undefined when the arguments fit. */
  check(tool: ToolDefinition, args: Record<string, unknown>): string[] | undefined {
    let validate: ReturnType<ArgumentValidator['compile']>;
    try {
      validate = this.validator.compile(tool.inputSchema);
    } catch {
      // A schema Ajv cannot compile must not make the tool uncallable; the API still validates.
      return undefined;
    }
    if (validate(args)) return undefined;
    return describeErrors(validate.errors ?? []);
  }
}
