import { existsSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { createInterface, type Interface } from 'node:readline/promises';

import { Flags } from '@oclif/core';

import { OutpostCommand } from '../cli/base-command.js';
import { colorsFor } from '../cli/output.js';
import {
  DEFAULT_UPSTREAM,
  checkUpstream,
  configExists,
  guessProject,
  renderStarterConfig,
  writeStarterConfig,
  type ProjectGuess,
} from '../core/config/starter-config.js';
import { OutpostError, isOutpostError } from '../core/errors.js';

export default class Init extends OutpostCommand {
  static override summary = 'Write a commented outpost.yaml for the project in this directory.';

  static override description = `Writes outpost.yaml (or the file named by --config or $OUTPOST_CONFIG): your app as the upstream, two dev users (alice, an admin, and bob), one public path, and a comment on every choice. The provider is named after package.json's name, else the directory.

On a terminal, init asks for your app's URL, offering the usual one for the framework found in package.json (Vite 5173, Next.js 3000, ...). Elsewhere, give it with --upstream.

An existing file is never replaced without --force.`;

  static override examples = [
    { description: 'Ask for the app URL', command: '<%= config.bin %> <%= command.id %>' },
    {
      description: 'Without questions',
      command: '<%= config.bin %> <%= command.id %> --upstream http://localhost:5173',
    },
    {
      description: 'Start over',
      command: '<%= config.bin %> <%= command.id %> --upstream http://localhost:3000 --force',
    },
  ];

  static override flags = {
    upstream: Flags.string({
      char: 'u',
      summary: 'Your app, e.g. http://localhost:3000 (internal_host).',
    }),
    name: Flags.string({
      summary: "The provider's name (default: package.json's, else the directory's).",
    }),
    force: Flags.boolean({ char: 'f', summary: 'Replace the file if it exists.' }),
  };

  public async run(): Promise<void> {
    const { flags } = await this.parse(Init);
    const cwd = process.cwd();
    const path = resolve(cwd, flags.config ?? process.env.OUTPOST_CONFIG ?? 'outpost.yaml');
    const shown = relative(cwd, path) || path;
    if (!flags.force && existsSync(path)) throw configExists(shown);

    const guess = guessProject(cwd);
    const upstream = flags.upstream
      ? checkUpstream(flags.upstream)
      : await this.askForUpstream(guess);
    const name = flags.name?.trim() || guess.name;
    try {
      writeStarterConfig(path, renderStarterConfig({ name, upstream }), flags.force);
    } catch (error) {
      // the error names the absolute path; the user typed (or expects) the short one
      if (isOutpostError(error) && error.code === 'CONFIG_EXISTS') throw configExists(shown);
      throw error;
    }
    this.printNextSteps(shown, name, upstream);
  }

  /** Asks on a terminal, offering the guessed URL; anywhere else --upstream is required. */
  private async askForUpstream(guess: ProjectGuess): Promise<string> {
    const offered = guess.upstream ?? DEFAULT_UPSTREAM;
    if (!process.stdin.isTTY) {
      throw new OutpostError('USAGE', 'init needs your app URL and cannot ask for it here', {
        hint: `standard input is not a terminal: pass it, e.g. outpost init --upstream ${offered}`,
      });
    }
    const why = guess.framework ? ` (${guess.framework}'s usual)` : '';
    const prompt = createInterface({ input: process.stdin, output: process.stdout });
    // Ctrl-C or Ctrl-D ends the question, which would otherwise wait for ever
    const ended = new AbortController();
    prompt.once('close', () => ended.abort());
    prompt.once('SIGINT', () => prompt.close());
    try {
      return await askUntilValid(
        prompt,
        `Your app's URL${why} [${offered}]: `,
        offered,
        ended.signal,
      );
    } catch (error) {
      if (!ended.signal.aborted) throw error;
      throw new OutpostError('USAGE', 'no app URL was given; nothing was written', {
        hint: `run it again, or pass --upstream ${offered}`,
      });
    } finally {
      prompt.close();
    }
  }

  private printNextSteps(file: string, name: string, upstream: string): void {
    const color = colorsFor(process.stdout);
    process.stdout.write(
      `${color.green('Wrote')} ${file} for ${name}: ${upstream} behind outpost, dev users alice and bob.
Next: start your app, run ${color.bold('outpost serve')}, then open http://localhost:9000
(the dev panel is at http://localhost:9000/outpost.goauthentik.io/).
`,
    );
  }
}

/** Asks again after an answer that is not an http(s) URL, saying why; Enter takes `offered`. */
async function askUntilValid(
  prompt: Interface,
  question: string,
  offered: string,
  signal: AbortSignal,
): Promise<string> {
  for (;;) {
    const answer = await prompt.question(question, { signal });
    try {
      return checkUpstream(answer.trim() || offered);
    } catch (error) {
      if (!isOutpostError(error)) throw error;
      process.stdout.write(`${error.message}\n`);
    }
  }
}
