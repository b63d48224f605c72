import { Command, Flags, Errors, type Interfaces } from '@oclif/core';

import { isOutpostError, type OutpostError } from '../core/errors.js';
import { defaultStateDir } from '../core/state/state-dir.js';
import { colorsFor } from './output.js';

/** Exit codes: 1 for an expected failure, 2 for bad usage or configuration (like grep). */
const USAGE_CODES = new Set([
  'USAGE',
  'CONFIG_INVALID',
  'CONFIG_NOT_FOUND',
  'CONFIG_UNREADABLE',
  'RULE_INVALID',
  'UNKNOWN_USER',
]);

/**
 * What every outpost command shares: `--config` and `--state-dir`, and the way failures are
 * shown. An OutpostError prints its message and hint without a stack; anything else is a bug,
 * said as such, with the stack under DEBUG.
 */
export abstract class OutpostCommand extends Command {
  static override baseFlags = {
    config: Flags.string({
      char: 'c',
      summary: 'Config file to read (default: ./outpost.yaml, or $OUTPOST_CONFIG).',
      helpGroup: 'GLOBAL',
    }),
    'state-dir': Flags.string({
      summary: 'Where sessions, certificates and secrets are kept.',
      description:
        'Default: $OUTPOST_STATE_DIR, else $XDG_STATE_HOME/outpost, else ~/.local/state/outpost.',
      helpGroup: 'GLOBAL',
    }),
  };

  protected get stateDir(): string {
    return this.stateDirFrom(undefined);
  }

  protected stateDirFrom(flag: string | undefined): string {
    return flag ?? process.env.OUTPOST_STATE_DIR ?? defaultStateDir(process.env);
  }

  /** Exit code for an expected failure of this command. */
  protected exitCodeFor(error: OutpostError): number {
    return USAGE_CODES.has(error.code) ? 2 : 1;
  }

  protected override async catch(error: Interfaces.CommandError): Promise<unknown> {
    if (isOutpostError(error)) {
      this.printFailure(error);
      return this.exit(this.exitCodeFor(error));
    }
    if (error instanceof Errors.ExitError) throw error;
    if (isParseError(error)) {
      const color = colorsFor(process.stderr);
      const message = error.message.replace(/\nSee more help with --help$/, '').trim();
      process.stderr.write(`${color.red('Error:')} ${message}\n`);
      process.stderr.write(`${color.dim(`See \`outpost ${this.id} --help\`.`)}\n`);
      return this.exit(2);
    }
    const color = colorsFor(process.stderr);
    process.stderr.write(`${color.red('Internal error:')} ${error.message}\n`);
    process.stderr.write(
      'This is a bug in outpost. Run again with DEBUG=outpost* to see the stack.\n',
    );
    if (process.env.DEBUG) process.stderr.write(`${error.stack ?? ''}\n`);
    return this.exit(1);
  }

  protected printFailure(error: OutpostError): void {
    const color = colorsFor(process.stderr);
    process.stderr.write(`${color.red('Error:')} ${error.message}\n`);
    if (error.hint) process.stderr.write(`${color.dim('Hint:')} ${error.hint}\n`);
    if (process.env.DEBUG && error.cause instanceof Error) {
      process.stderr.write(`${color.dim(`Cause: ${error.cause.stack ?? error.cause.message}`)}\n`);
    }
  }
}

/** oclif's own errors are about flags and arguments the user typed; ours are OutpostErrors. */
function isParseError(error: Error): boolean {
  return error instanceof Errors.CLIError;
}
