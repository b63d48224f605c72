// Writes oclif.manifest.json from the built commands, so that running a command loads only that
// command's module instead of scanning and importing every command at start.
import { rmSync, writeFileSync } from 'node:fs';
import { Config } from '@oclif/core';

rmSync('oclif.manifest.json', { force: true });
const config = await Config.load({ root: process.cwd() });
const root = config.getPluginsList().find((plugin) => plugin.isRoot);
if (!root) throw new Error('write-manifest: the root plugin was not found');
writeFileSync('oclif.manifest.json', JSON.stringify(root.manifest, null, 2) + '\n');
console.log(`oclif.manifest.json: ${Object.keys(root.manifest.commands).length} commands`);
