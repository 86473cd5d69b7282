// Times unpacking a deploy package (src/sites/package.ts) as a deploy does, CPU included: a zip and a
// tar.gz of 5,000 files of 1.5 KB in 50 folders (a node_modules-like tree), made with Python.
//   npm run bench:unpack [-- --runs 3]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareVersion } from '../../src/sites/package.js';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 3;
const work = mkdtempSync(join(tmpdir(), 'berth-bench-unpack-'));
try {
  execFileSync('python3', [
    '-c',
    `import io, sys, tarfile, zipfile
files = [(f'app/node_modules/m{i // 100}/f{i}.js', (f'x={i};\\n' * 200).encode()) for i in range(5000)]
with zipfile.ZipFile(sys.argv[1] + '/tree.zip', 'w', zipfile.ZIP_DEFLATED) as z:
    for name, data in files: z.writestr(name, data)
with tarfile.open(sys.argv[1] + '/tree.tar.gz', 'w:gz') as t:
    for name, data in files:
        info = tarfile.TarInfo(name); info.size = len(data); t.addfile(info, io.BytesIO(data))`,
    work,
  ]);
  for (const file of ['tree.zip', 'tree.tar.gz']) {
    for (let run = 1; run <= runs; run++) {
      const out = join(work, 'deployments');
      const cpu = process.cpuUsage();
      const started = performance.now();
      await prepareVersion(out, { kind: 'archive', path: join(work, file) });
      const wall = performance.now() - started;
      const used = process.cpuUsage(cpu);
      console.log(
        `${file} run ${run}: ${wall.toFixed(0)} ms wall, ${((used.user + used.system) / 1000).toFixed(0)} ms CPU (user ${(used.user / 1000).toFixed(0)}, system ${(used.system / 1000).toFixed(0)})`,
      );
      rmSync(out, { recursive: true, force: true });
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
