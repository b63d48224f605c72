import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { resolveOptional } from '../helpers/browser.js';

/** The installed Vite's command-line entry, or null when Vite is not installed. */
export function viteBin(): string | null {
  const packageJson = resolveOptional('vite/package.json');
  return packageJson ? join(dirname(packageJson), 'bin', 'vite.js') : null;
}

export interface ViteApp {
  url: string;
  dir: string;
  /** Rewrites the module that the page accepts hot updates for. */
  setMessage(text: string): void;
  close(): Promise<void>;
}

/**
 * A real Vite dev server on a port of its choosing, serving a page whose `main.js` shows the
 * message exported by `message.js` and accepts hot updates of it. `#loaded` gets a new random
 * value on every full load, so a test can tell a hot update from a reload.
 */
export async function startViteApp(bin: string, message: string): Promise<ViteApp> {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-vite-'));
  writeProject(dir, message);
  const child = spawn(
    process.execPath,
    [bin, '--host', '127.0.0.1', '--port', '0', '--clearScreen', 'false'],
    { cwd: dir, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const url = await readyUrl(child, 20_000);
  return {
    url,
    dir,
    setMessage: (text) => overwriteInPlace(join(dir, 'message.js'), messageModule(text)),
    close: async () => {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function writeProject(dir: string, message: string): void {
  writeFileSync(
    join(dir, 'index.html'),
    `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>HMR through outpost</title></head>
<body>
<p id="message"></p>
<p id="loaded"></p>
<script type="module" src="/main.js"></script>
</body>
</html>
`,
  );
  writeFileSync(
    join(dir, 'main.js'),
    `import { message } from './message.js';

const show = (text) => { document.getElementById('message').textContent = text; };
document.getElementById('loaded').textContent = String(Math.random());
show(message);
if (import.meta.hot) import.meta.hot.accept('./message.js', (next) => next && show(next.message));
`,
  );
  writeFileSync(join(dir, 'message.js'), messageModule(message));
}

/** Every version of `message.js` has this many bytes, so an edit never changes its length. */
const MODULE_BYTES = 256;

function messageModule(text: string): Buffer {
  const source = `export const message = ${JSON.stringify(text)};\n`;
  const padding = MODULE_BYTES - Buffer.byteLength(source) - '//\n'.length;
  if (padding < 0) throw new Error(`message too long for the test module: ${text}`);
  return Buffer.from(`${source}//${' '.repeat(padding)}\n`);
}

/**
 * Writes the new module over the old one without truncating it first. Vite reads a changed file
 * as soon as its watcher fires; a plain write empties the file for a moment, and a read in that
 * moment hot-updates the page with an empty module.
 */
function overwriteInPlace(file: string, content: Buffer): void {
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, content, 0, content.length, 0);
  } finally {
    closeSync(fd);
  }
}

/** Waits for Vite's `Local: http://127.0.0.1:PORT/` line. */
function readyUrl(child: ReturnType<typeof spawn>, timeoutMs: number): Promise<string> {
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`vite was not ready within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const found = /Local:\s+(http:\/\/127\.0\.0\.1:\d+)\//.exec(output);
      if (!found?.[1]) return;
      clearTimeout(timer);
      resolve(found[1]);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`vite exited with ${code} before it was ready:\n${output}`));
    });
  });
}
