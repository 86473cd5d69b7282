// `npm run build`: compiles src/ to dist/ with tsc, copies the console's static files beside the
// compiled console, and writes dist/.build-stamp last (bin/berth runs dist/ only when that stamp is
// newer than every file under src/).
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
rmSync('dist', { recursive: true, force: true });
const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
if (result.status !== 0) process.exit(result.status ?? 1);
cpSync('src/console/public', 'dist/console/public', { recursive: true });
cpSync('src/sites/fence', 'dist/sites/fence', { recursive: true }); // plain JS: preloaded into site processes
writeFileSync('dist/.build-stamp', `${new Date().toISOString()}\n`);
