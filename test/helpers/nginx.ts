import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { startProxyProcess, type ProxyProcess } from './proxy-process.js';

/**
 * Starts Debian's nginx in the foreground with a temp prefix: `serverBlocks(port)` gives the
 * server blocks (the printed snippet with the port put in), wrapped in a minimal nginx.conf
 * whose logs and temp files all live in the prefix. With `fixedPort` (already written into
 * outpost's external_host) a port taken meanwhile throws PortTakenError instead of moving.
 */
export function startNginx(
  serverBlocks: (port: number) => string,
  fixedPort?: number,
): Promise<ProxyProcess> {
  return startProxyProcess(
    {
      name: 'nginx',
      prepare(dir, port) {
        mkdirSync(join(dir, 'logs'));
        mkdirSync(join(dir, 'temp'));
        writeFileSync(join(dir, 'nginx.conf'), mainConfig(dir, serverBlocks(port)));
        return {
          command: 'nginx',
          args: ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'logs', 'error.log')],
        };
      },
    },
    fixedPort,
  );
}

function mainConfig(dir: string, serverBlocks: string): string {
  const temp = join(dir, 'temp');
  // as root, nginx would run its workers as nobody, who cannot write the temp prefix
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  return `${user}daemon off;
master_process on;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'logs', 'error.log')} info;
events { worker_connections 128; }
http {
    access_log ${join(dir, 'logs', 'access.log')};
    client_body_temp_path ${temp}/body;
    proxy_temp_path ${temp}/proxy;
    fastcgi_temp_path ${temp}/fastcgi;
    uwsgi_temp_path ${temp}/uwsgi;
    scgi_temp_path ${temp}/scgi;
${serverBlocks}
}
`;
}
