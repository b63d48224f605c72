import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { startProxyProcess, type ProxyProcess } from './proxy-process.js';

/**
 * Starts Debian's caddy with `caddyfile(port)` (the printed snippet with the port put in) after a
 * global block that turns off the admin endpoint, so that parallel runs never share port 2019;
 * caddy's data and config directories are in the temp dir, not the user's home.
 */
export function startCaddy(
  caddyfile: (port: number) => string,
  fixedPort?: number,
): Promise<ProxyProcess> {
  return startProxyProcess(
    {
      name: 'caddy',
      prepare(dir, port) {
        const file = join(dir, 'Caddyfile');
        writeFileSync(file, `{\n\tadmin off\n}\n\n${caddyfile(port)}`);
        return {
          command: 'caddy',
          args: ['run', '--config', file, '--adapter', 'caddyfile'],
          env: {
            PATH: process.env.PATH,
            HOME: dir,
            XDG_DATA_HOME: join(dir, 'data'),
            XDG_CONFIG_HOME: join(dir, 'config'),
          },
        };
      },
    },
    fixedPort,
  );
}
